"""Print derived SymPy expressions as numba-compilable Python (float64 scalars).

One expression tree is printed two ways: scalar kernels here, interval enclosures in
``interval_printer``. (The reference evaluates the model's own SymPy expressions with mpmath,
``exactsnn.reference.expressions``; it never sees these rewrites.)

Before printing, :data:`STABLE` rewrites each expression where float64 would lose digits: SymPy's
C99 optimisations (``exp(x) - 1 -> expm1(x)``, ``log(1 + x) -> log1p(x)``, ``2**x -> exp2(x)``) and
three of our own, each a named SymPy ``Optimization`` with its docstring example, composed in order by
``sympy.codegen.rewriting.optimize``. A rewrite that raises is a bug and is not swallowed.
"""

from __future__ import annotations

import sympy
from sympy.codegen.cfunctions import expm1
from sympy.codegen.rewriting import Optimization, ReplaceOptim, optimize, optims_c99
from sympy.printing.pycode import PythonCodePrinter

from ..derive.singular import combine_exponentials
from ..model import S


class KernelPrinter(PythonCodePrinter):
    """``math.*`` calls, plain float literals (numba folds them), no ``mpmath``."""

    def _print_Rational(self, expr):
        """``0.5``, ``0.3333333333333333``: the correctly rounded double (SymPy rounds p/q exactly once)."""
        return repr(float(expr))

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Exp1(self, expr):
        return "math.e"

    def _print_Pi(self, expr):
        return "math.pi"

    def _print_exp2(self, expr):
        """SymPy's C99 rewrite turns ``2**x`` into ``exp2(x)``, which ``math`` lacks before 3.11 and numba
        does not type: print the power."""
        return f"(2.0 ** ({self._print(expr.args[0])}))"

    def _print_ExpDD(self, expr):
        """``expdd3(s, a, b, c)``: a divided difference of exp(-lam s) (numeric/expdd.py)."""
        return f"expdd{len(expr.args) - 1}(" + ", ".join(self._print(a) for a in expr.args) + ")"


_PRINTER = KernelPrinter({"standard": "python3"})


class FunctionOptim(Optimization):
    """An ``Optimization`` that applies a function to the whole expression."""

    def __init__(self, func, **kwargs):
        super().__init__(**kwargs)
        self.func = func
        self.__doc__ = func.__doc__

    def __call__(self, expr):
        return self.func(expr)


#: ``exp(-s/a) * exp(-s/b) -> exp(-s/a - s/b)`` per term, so no factor ``exp(+s/a)`` overflows against a
#: small ``exp(-2 s/a)`` (the C99 ``expm1`` search factors exponentials out of sums and leaves such pairs).
combine_exponentials_opt = FunctionOptim(combine_exponentials)


def _is_add(e):
    return e.is_Add


def _is_parameter_sum(e):
    return e.is_Add and not e.has(S) and bool(e.free_symbols)


#: ``c exp(u) - c exp(v) -> c sign(u - v) e^max(u, v) (-expm1(-|u - v|))`` where ``u - v`` vanishes on a
#: singular parameter set (see ``_exp_difference``).
exp_difference_opt = ReplaceOptim(_is_add, lambda add: _exp_difference(add))

#: ``1/a - 1/b -> (b - a)/(a b)`` where the sum vanishes at ``a == b`` (see ``_exact_difference``).
exact_difference_opt = ReplaceOptim(_is_parameter_sum, lambda add: _exact_difference(add))

#: The rewrites applied before printing, in order.
STABLE = (*optims_c99, combine_exponentials_opt, exp_difference_opt, exact_difference_opt)


def stable(expr):
    """Rewrite ``expr`` with :data:`STABLE` where it avoids cancellation or overflow.

    Besides SymPy's C99 rewrites (``exp(x) - 1 -> expm1(x)``), a difference of two
    exponentials with opposite coefficients, ``c exp(u) - c exp(v)``, becomes
    ``c exp(v) expm1(u - v)``: the LIF kernel ``(exp(-s/tau_syn) - exp(-s/tau_mem)) / (...)``
    otherwise loses ``log10(1 / (s |1/tau_syn - 1/tau_mem|))`` digits at small ``s``. Exponentials
    are kept combined per term (``derive.singular.combine_exponentials``), so no factor
    ``exp(+s/tau)`` can overflow against a small ``exp(-2 s/tau)``.

    Examples
    --------
    >>> a, b = sympy.symbols("a b", positive=True)
    >>> stable(1/a - 1/b)
    -(a - b)/(a*b)
    """
    return optimize(expr, STABLE)


def _exact_difference(add):
    """``1/a - 1/b -> (b - a)/(a b)``: the difference of two nearby parameters is exact in float64
    (Sterbenz), the difference of their rounded reciprocals is not."""
    together = sympy.factor(sympy.together(add))
    return together if _vanishes_on_parameter_equality(together) else add


def _split_exp(term):
    """(coefficient, exponent) of ``coefficient * exp(exponent)``, or None."""
    exps = [f for f in sympy.Mul.make_args(term) if isinstance(f, sympy.exp)]
    if len(exps) != 1:
        return None
    return sympy.Mul(*[f for f in sympy.Mul.make_args(term) if f is not exps[0]]), exps[0].args[0]


def _exp_difference(add):
    """``c1 e^u + c2 e^v -> c1 (e^u - e^v) + (c1 + c2) e^v`` for exponents that meet on a singular
    parameter set (``u - v`` has a factor ``a - b`` of two parameters) and coefficients whose sum
    vanishes there too (so the pair really cancels).

    ``e^u - e^v = sign(u - v) e^max(u, v) (-expm1(-|u - v|))``: the cancellation moves into
    ``expm1`` of a non-positive argument, which neither loses digits nor overflows for large s;
    ``c1 + c2`` is simplified symbolically (``tau_mem - tau_syn`` is exact in float64 when the two
    are within a factor 2, by Sterbenz's lemma).
    """
    terms = list(add.args)
    for i, ti in enumerate(terms):
        si = _split_exp(ti)
        if si is None:
            continue
        for j in range(i + 1, len(terms)):
            sj = _split_exp(terms[j])
            if sj is None:
                continue
            gap = sympy.factor(sympy.together(si[1] - sj[1]))
            if not _vanishes_on_parameter_equality(gap):
                continue
            rest_coeff = sympy.factor(sympy.together(si[0] + sj[0]))
            if rest_coeff != 0 and not _vanishes_on_parameter_equality(rest_coeff):
                continue
            diff = sympy.sign(gap) * sympy.exp(sympy.Max(si[1], sj[1])) * (-expm1(-sympy.Abs(gap)))
            merged = si[0] * diff + rest_coeff * sympy.exp(sj[1])
            rest = [t for k, t in enumerate(terms) if k not in (i, j)]
            return sympy.Add(merged, *rest)
    return add


def _vanishes_on_parameter_equality(expr) -> bool:
    num, _ = sympy.fraction(expr)
    for factor in sympy.Mul.make_args(num):
        base = factor.base if factor.is_Pow else factor
        if base.is_Add and len(base.args) == 2 and base.free_symbols and not base.has(S) and \
                sympy.expand(base.subs({x: 1 for x in base.free_symbols})) == 0:
            return True
    return False
def print_expr(expr) -> str:
    return _PRINTER.doprint(expr)


def cse_lines(exprs, indent: str = "    ", prefix: str = "_c"):
    """Common-subexpression-eliminated assignments and the printed results.

    Returns (lines, results): ``lines`` assign ``_c0, _c1, ...``; ``results[i]`` is the
    printed form of ``exprs[i]`` in terms of them.
    """
    exprs = [stable(sympy.sympify(e, strict=True)) for e in exprs]
    repl, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols(prefix))
    lines = [f"{indent}{sym} = {print_expr(val)}" for sym, val in repl]
    return lines, [print_expr(r) for r in reduced]


def unpack_params(param_names, indent="    ") -> list:
    """``tau_syn = p[0]`` lines."""
    return [f"{indent}{name} = p[{i}]" for i, name in enumerate(param_names)]


def condition_text(condition) -> str:
    """``tau_mem == tau_syn`` for a branch condition (symbol, replacement)."""
    sym, sol = condition
    return f"{print_expr(sym)} == {print_expr(sol)}"
