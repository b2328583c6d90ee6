"""NeuronModel: a spike response model given by SymPy expressions.

The membrane potential of a neuron is

    V(t) = sum_j w_j sum_f psp(t - t_j^f - d_j) - sum_k reset(t - t^k)

and a spike is emitted whenever ``V`` crosses ``threshold`` from below. ``psp`` and
``reset`` are expressions in the time-since-event symbol ``s`` (``s > 0``; both
kernels vanish for ``s <= 0``) and in the model's named parameters.

This module is symbolic: it imports SymPy. The numeric path never imports it.
"""

from __future__ import annotations

import ast
import builtins
import functools
import keyword
import math
from pathlib import Path
from dataclasses import dataclass, field
from typing import Mapping

import sympy

from .errors import ModelError
from .param_check import check_names, param_value

#: The time-since-event variable of every kernel.
S = sympy.Symbol("s", positive=True)

# Names of the generated kernels' own arguments and imports; reserved_names() adds the rest.
_RESERVED = {"s", "p", "math", "np", "numba", "njit", "prange", "t", "w", "out", "status",
             # module metadata that codegen/module.py prints
             "MODEL_NAME", "MODEL_HASH", "INPUT_HASH", "PARAM_NAMES", "PARAM_DEFAULTS", "PARAM_LOWER",
             "PARAM_UPPER", "SINGULAR_SETS", "CLOSED_FORMS", "STRATEGY"}
#: Seconds that validating one model's formulas may take (SymPy's limit at s = 0+).
VALIDATION_SECONDS = 30.0
_NUMERIC_DIR = Path(__file__).resolve().parent / "numeric"


@functools.cache
def reserved_names() -> frozenset:
    """Names no parameter may take: in a generated module a parameter is a local variable of every
    kernel, so it would shadow a module-level name that kernel calls (``expdd2``, ``iv_add``, ``psp``).

    Derived from the sources, not listed by hand: every name bound at the top level of the numeric
    layer and of the engine templates (``numeric/templates/kernel_stubs.py`` declares each printed
    kernel), Python's builtins and keywords, and the names a formula gives a meaning (``exp``, ``pi``).
    A test checks that it covers every top-level name of a generated module.
    """
    from .formula import reserved_formula_names

    names = set(_RESERVED) | set(dir(builtins)) | set(keyword.kwlist) | reserved_formula_names()
    for path in sorted(_NUMERIC_DIR.rglob("*.py")):
        names |= top_level_names(path.read_text())
    return frozenset(names)


def top_level_names(source: str) -> set:
    """Names bound at the top level of a Python source: functions, classes, assignments, imports."""
    out = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out.update(n.id for tgt in targets for n in ast.walk(tgt) if isinstance(n, ast.Name))
    return out


@dataclass(frozen=True)
class Param:
    """A named model parameter with its default and allowed open interval.

    Parameters
    ----------
    name : str
        Python identifier, also the SymPy symbol's name.
    default : float
        Value used when none is given.
    lower, upper : float
        The parameter must satisfy ``lower < value < upper``.
    doc : str
        One line saying what it is.
    """

    name: str
    default: float
    lower: float = 0.0
    upper: float = math.inf
    doc: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier() or keyword.iskeyword(self.name):
            raise ModelError(f"parameter name {self.name!r} is not a valid identifier")
        if self.name.startswith("_") or self.name in reserved_names():
            raise ModelError(
                f"parameter name {self.name!r} is reserved (a name of the generated code, a Python builtin or a "
                f"formula function/constant such as exp, pi); choose another, e.g. {self.name.strip('_')}_"
            )
        self.check(self.default, what=f"default of parameter {self.name!r}")

    @property
    def symbol(self) -> sympy.Symbol:
        """The SymPy symbol; positive when the allowed interval is positive."""
        if self.lower >= 0:
            return sympy.Symbol(self.name, positive=True)
        return sympy.Symbol(self.name, real=True)

    def check(self, value, what=None) -> float:
        """Return ``value`` as float, or raise ``ModelError`` naming it."""
        return param_value(value, self.lower, self.upper, what or f"parameter {self.name!r}")


@dataclass(frozen=True)
class NeuronModel:
    """A spike response neuron model, validated on construction.

    Parameters
    ----------
    name : str
        Identifier of the model (used in generated file names).
    psp : sympy.Expr
        Postsynaptic potential kernel ``psp(s)`` for unit weight, ``s > 0``.
    reset : sympy.Expr
        Reset kernel ``reset(s)`` subtracted after each own spike, ``s > 0``.
    threshold : sympy.Expr
        Firing threshold, a number or an expression of the parameters.
    params : tuple of Param
        Named parameters, in the order the numeric code receives them.
    citation, description : str
        Where the model comes from, and what it is.

    Notes
    -----
    Validation checks that ``psp(0+) == 0`` (an input cannot make ``V`` jump),
    that the free symbols of every expression are ``s`` or parameters, and that
    parameter defaults lie in their ranges.
    """

    name: str
    psp: sympy.Expr
    reset: sympy.Expr
    threshold: sympy.Expr
    params: tuple = ()
    citation: str = ""
    description: str = ""
    _symbols: dict = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ModelError(f"model name {self.name!r} must be a Python identifier")
        params = tuple(self.params)
        object.__setattr__(self, "params", params)
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise ModelError(f"model {self.name!r}: duplicate parameter names {names}")
        syms = {p.name: p.symbol for p in params}
        object.__setattr__(self, "_symbols", syms)
        for label in ("psp", "reset", "threshold"):
            expr = _as_expression(getattr(self, label), {**syms, "s": S}, f"model {self.name!r}: {label}")
            expr = _canonical_symbols(expr, syms)
            object.__setattr__(self, label, expr)
            allowed = set(syms.values()) | ({S} if label != "threshold" else set())
            unknown = {str(x) for x in expr.free_symbols} - {str(x) for x in allowed}
            if unknown:
                raise ModelError(
                    f"model {self.name!r}: {label} = {expr} uses unknown symbols {sorted(unknown)}; "
                    f"allowed are {sorted(str(x) for x in allowed)}"
                )
            if expr.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
                raise ModelError(f"model {self.name!r}: {label} = {expr} is not finite")
            _check_supported(expr, f"model {self.name!r}: {label} = {expr}")
        self._check_psp_at_zero()
        self._check_finite_and_bounded()

    def _check_psp_at_zero(self):
        from .time_bound import time_bound

        with time_bound(VALIDATION_SECONDS, f"model {self.name!r}: checking psp(0+) = 0"):
            at0 = sympy.simplify(sympy.limit(self.psp, S, 0, "+"))
        if isinstance(at0, sympy.Limit) or at0.has(sympy.Limit):
            raise ModelError(f"model {self.name!r}: psp(0+) of {self.psp} cannot be decided symbolically; "
                             "psp must be built from + - * / ** exp log sqrt and tend to 0 as s -> 0+")
        if at0 != 0:
            # Not provably zero symbolically: decide with the default values.
            val = at0.subs(self.defaults_sym())
            if not (val.is_number and abs(complex(val)) < 1e-14):
                raise ModelError(
                    f"model {self.name!r}: psp(0+) = {at0} must be 0 (an input may not make V jump)"
                )

    def _check_finite_and_bounded(self):
        """At the default parameter values every formula is finite (a parameter 0 in a denominator is
        refused here, not met as a ZeroDivisionError in a kernel), and neither kernel grows without bound
        as ``s -> oo`` (``s exp(s/tau)`` would make the simulation's work grow with time, not with spikes)."""
        from .time_bound import time_bound

        values = self.defaults_sym()
        for label in ("psp", "reset", "threshold"):
            expr = getattr(self, label).subs(values)
            if expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
                raise ModelError(f"model {self.name!r}: {label} = {getattr(self, label)} is not finite at the "
                                 f"parameter values {self.defaults} (a parameter that divides is 0?)")
            if label == "threshold":
                continue
            with time_bound(VALIDATION_SECONDS, f"model {self.name!r}: checking that {label} stays bounded"):
                at_inf = sympy.limit(expr, S, sympy.oo)
            if at_inf in (sympy.oo, -sympy.oo, sympy.zoo):
                raise ModelError(f"model {self.name!r}: {label} = {getattr(self, label)} grows without bound as "
                                 f"s -> oo at {self.defaults}; kernels must stay bounded (decay, or tend to a "
                                 "constant as the non-leaky model's psp does)")

    # ----------------------------------------------------------------- access
    @property
    def param_names(self) -> tuple:
        return tuple(p.name for p in self.params)

    @property
    def symbols(self) -> dict:
        """Parameter name -> SymPy symbol."""
        return dict(self._symbols)

    @property
    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def defaults_sym(self) -> dict:
        return {self._symbols[p.name]: p.default for p in self.params}

    def param_values(self, values: Mapping[str, float] | None = None) -> tuple:
        """Validated parameter values in model order; missing ones take defaults."""
        values = dict(values or {})
        check_names(self.name, values, self.param_names)
        return tuple(p.check(values.get(p.name, p.default)) for p in self.params)

    def potential_terms(self):
        """(psp, reset, threshold) as SymPy expressions."""
        return self.psp, self.reset, self.threshold


def _as_expression(value, symbols: dict, label: str):
    """A SymPy expression from an expression, a finite number or a formula string (parsed without eval).

    ``sympy.sympify`` is not used: on a string, or on an object it does not know, it runs ``eval``.
    """
    if isinstance(value, sympy.Expr):
        return value
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        from .formula import parse_formula as _parse

        return _parse(value, symbols, label)
    raise ModelError(f"{label} must be a SymPy expression, a number or a formula string, got {type(value).__name__}")


def _check_supported(expr, label):
    """Refuse what the code generator cannot print or enclose: functions other than exp and log (sqrt
    and powers are ``Pow``), imaginary numbers, and anything that is not a plain expression."""
    bad = {type(f).__name__ for f in expr.atoms(sympy.Function) if not isinstance(f, (sympy.exp, sympy.log))}
    bad |= {type(x).__name__ for x in sympy.preorder_traversal(expr)
            if isinstance(x, (sympy.Piecewise, sympy.core.relational.Relational, sympy.logic.boolalg.BooleanFunction,
                              sympy.logic.boolalg.BooleanAtom, sympy.Derivative,
                              sympy.Integral, sympy.Sum))}
    if bad or expr.has(sympy.I):
        raise ModelError(f"{label} uses {sorted(bad) or ['I (imaginary unit)']}, which exactsnn cannot compile "
                         "or enclose; supported are numbers, parameters, s, + - * / **, exp, log and sqrt")


def _canonical_symbols(expr, syms: dict):
    """Replace symbols by name with the model's own symbols (with assumptions)."""
    repl = {}
    for x in expr.free_symbols:
        if x.name == "s" and x != S:
            repl[x] = S
        elif x.name in syms and x != syms[x.name]:
            repl[x] = syms[x.name]
    return expr.xreplace(repl) if repl else expr


def parse_formula(text, params, label: str):
    """Parse a user's formula string once, at the edge, into a SymPy expression (no ``eval``).

    ``params`` are the model's ``Param`` objects; the formula may use their names and ``s``.
    Raises ``ModelError`` naming the formula when it does not parse or uses anything not allowed
    (see ``exactsnn.formula``).
    """
    from .formula import parse_formula as _parse

    return _parse(text, {**{p.name: p.symbol for p in params}, "s": S}, label)


def kernel_model(psp: str, reset: str, threshold, params: Mapping[str, float], name: str = "kernel"):
    """Build a NeuronModel from formula strings (the case format's ``"kernel"`` model).

    Every parameter is taken as positive, with its given value as default.
    """
    if not isinstance(params, Mapping):
        raise ModelError(f"kernel model params must be a mapping of name -> value, got {params!r}")
    plist = []
    for key, value in params.items():
        if not isinstance(key, str):
            raise ModelError(f"kernel model parameter name {key!r} must be a string")
        v = _finite(value, f"kernel model parameter {key!r}")
        # Positive values get a positive symbol, which lets SymPy simplify more.
        plist.append(Param(key, v, lower=0.0 if v > 0 else -math.inf))
    plist = tuple(plist)
    expr_psp = parse_formula(psp, plist, "psp")
    expr_reset = parse_formula(reset, plist, "reset")
    if isinstance(threshold, str) and threshold in params:
        expr_th = next(p.symbol for p in plist if p.name == threshold)
    else:
        expr_th = parse_formula(threshold, plist, "threshold")
    return NeuronModel(name=name, psp=expr_psp, reset=expr_reset, threshold=expr_th, params=plist)


def _finite(value, what):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ModelError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ModelError(f"{what} = {value!r} must be finite")
    return v
