"""The text front end of the linear-ODE models: states, equations, jumps, membrane, threshold and
parameters as a user writes them (strings or SymPy), checked and turned into SymPy matrices.

Formula strings go through ``exactsnn.formula`` (an ``ast`` whitelist, never ``eval``); each helper names
the entry it refuses. ``exactsnn.models.ode`` builds the system from these pieces.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import sympy

from ..errors import ModelError
from ..formula import parse_formula
from ..model import Param

#: The input weight symbol of jump formulas (``I += w``).
W = sympy.Symbol("w", real=True)
_W = W
_EQUATION = re.compile(r"^\s*d\s*([A-Za-z_]\w*)\s*/\s*dt\s*=(.+)$", re.S)
_ASSIGN = re.compile(r"^\s*([A-Za-z_]\w*)\s*([+-])=(.+)$", re.S)


def params_of(params) -> tuple:
    if isinstance(params, Mapping):
        return tuple(_param(k, v) for k, v in params.items())
    if isinstance(params, Sequence) and all(isinstance(p, Param) for p in params):
        return tuple(params)
    raise ModelError(f"params must be a mapping name -> value or a sequence of Param, got {params!r}")


def _param(name, value) -> Param:
    if isinstance(value, Mapping):
        extra = set(value) - {"default", "lower", "upper", "doc"}
        if "default" not in value or extra:
            raise ModelError(f"parameter {name!r} = {dict(value)!r} needs 'default' and may have only "
                             "'lower', 'upper', 'doc' besides")
        return Param(name, _number(value["default"], name), **{k: v for k, v in value.items() if k != "default"})
    v = _number(value, name)
    return Param(name, v, lower=0.0 if v > 0 else -math.inf)


def _number(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ModelError(f"parameter {name!r} = {value!r} must be a finite number")
    return float(value)


def state_names(states, psyms) -> tuple:
    if isinstance(states, str) or not isinstance(states, Sequence) or not states:
        raise ModelError(f"states must be a non-empty list of names, got {states!r}")
    for n in states:
        if not isinstance(n, str) or not n.isidentifier() or n in ("s", "t", "w") or n in psyms:
            raise ModelError(f"state name {n!r} must be an identifier other than s, t, w and the parameter "
                             f"names {sorted(psyms)}")
    if len(set(states)) != len(states):
        raise ModelError(f"state names {list(states)} are not unique")
    return tuple(states)


def _parse(text, scope, label):
    """Parse one formula (number, SymPy expression or string) in the names of ``scope``."""
    if isinstance(text, sympy.Expr):
        expr = text.xreplace({x: scope[x.name] for x in text.free_symbols if x.name in scope})
    elif isinstance(text, (str, int, float)) and not isinstance(text, bool):
        expr = parse_formula(text, scope, label)
    else:
        raise ModelError(f"{label} must be a formula string or a number, got {text!r}")
    if not isinstance(expr, sympy.Expr):
        raise ModelError(f"{label} = {text!r} is not an expression")
    unknown = sorted({str(x) for x in expr.free_symbols} - set(scope))
    if unknown or expr.atoms(sympy.Function) - expr.atoms(sympy.exp, sympy.log):
        raise ModelError(f"{label} = {text!r} uses unknown names {unknown or expr.atoms(sympy.Function)}; "
                         f"known are {sorted(scope)}")
    return expr


def equations_of(equations, names, scope) -> dict:
    if isinstance(equations, Mapping):
        items = list(equations.items())
    elif isinstance(equations, Sequence) and not isinstance(equations, str):
        items = []
        for text in equations:
            m = _EQUATION.match(text) if isinstance(text, str) else None
            if m is None:
                raise ModelError(f"equation {text!r} must read 'dX/dt = right-hand side'")
            items.append((m.group(1), m.group(2)))
    else:
        raise ModelError(f"equations must be a mapping state -> right-hand side or a list of "
                         f"'dX/dt = ...' strings, got {equations!r}")
    keys = [k for k, _ in items]
    if sorted(keys) != sorted(names):
        raise ModelError(f"equations are given for {keys}; exactly one per state {list(names)} is needed")
    return {k: _parse(v, scope, f"equation d{k}/dt") for k, v in items}


def jumps_of(spec, names, scope, label, per_weight) -> sympy.Matrix:
    """Column vector of increments; per unit weight for inputs (must be ``w`` times a constant)."""
    vec = sympy.zeros(len(names), 1)
    for key, inc in _assignments([spec] if isinstance(spec, str) else spec, scope, label):
        if key not in names:
            raise ModelError(f"{label} names {key!r}, which is not a state; states are {list(names)}")
        if inc.has(*[scope[n] for n in names]):
            raise ModelError(f"{label} of {key} = {inc} may not depend on the states")
        if per_weight:
            unit = sympy.diff(inc, _W)
            if unit.has(_W) or sympy.simplify(inc - unit * _W) != 0:
                raise ModelError(f"jump of {key} = {inc} must be proportional to the weight w")
            inc = unit
        elif inc.has(_W):
            raise ModelError(f"reset of {key} = {inc} may not depend on the input weight w")
        vec[names.index(key)] += inc
    return vec


def _assignments(spec, scope, label) -> list:
    """``[(state, increment)]`` from ``{state: formula}`` or ``["X += formula", "Y -= formula"]``."""
    if isinstance(spec, Mapping):
        return [(k, _parse(v, scope, f"{label} of {k}")) for k, v in spec.items()]
    if not isinstance(spec, Sequence):
        raise ModelError(f"{label} must be a mapping state -> increment or 'X += ...' strings, got {spec!r}")
    out = []
    for text in spec:
        m = _ASSIGN.match(text) if isinstance(text, str) else None
        if m is None:
            raise ModelError(f"{label} {text!r} must read 'X += expression' or 'X -= expression'")
        sign = 1 if m.group(2) == "+" else -1
        out.append((m.group(1), sign * _parse(m.group(3), scope, f"{label} of {m.group(1)}")))
    return out


def membrane_row(membrane, names, xs, scope) -> sympy.Matrix:
    expr = _parse(membrane, scope, "membrane")
    row = sympy.Matrix([[sympy.diff(expr, x) for x in xs]])
    linear = sympy.simplify(expr - (row * sympy.Matrix(xs))[0]) == 0
    if not linear or row.is_zero_matrix or any(e.has(*xs, _W) for e in row):
        raise ModelError(f"membrane = {membrane!r} must be a state or a linear combination of the states "
                         f"{list(names)}")
    return row


def threshold_of(threshold, psyms, scope):
    expr = _parse(threshold, scope, "threshold")
    if expr.free_symbols - set(psyms.values()):
        raise ModelError(f"threshold = {threshold!r} may use only the parameters {sorted(psyms)}")
    return expr
