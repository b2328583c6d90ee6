"""Singular parameter sets: parameter values at which a kernel formula divides by zero.

For the LIF kernel ``(exp(-s/tau_syn) - exp(-s/tau_mem)) / (1/tau_mem - 1/tau_syn)`` the set
``tau_syn == tau_mem`` is singular. It is found here symbolically, from the factors of the
expression's denominator that can vanish, in the spirit of ODE-toolbox's singularity detection.
The correct special form there is the limit of the generic expression: by L'Hopital's rule on the
expression's numerator and denominator where that settles it (``lhopital_limit``), else with
``sympy.limit`` (whose series expansions are the slow part of ``exactsnn derive``).
"""

from __future__ import annotations

from functools import lru_cache

import sympy

from ..model import S


def singular_equalities(exprs, params) -> list:
    """Equalities ``param_a == f(other params)`` at which some expression's denominator vanishes.

    Returns a list of ``(symbol, replacement)`` pairs, at most one per distinct condition.
    Only factors free of ``s`` count (a vanishing factor in ``s`` is a kernel singularity,
    which model validation rejects elsewhere). Factors that are positive by the parameters'
    assumptions (e.g. ``tau_mem * tau_syn``) never vanish and are skipped.
    """
    found = []
    for expr in exprs:
        _, den = sympy.fraction(sympy.together(expr))
        for factor in sympy.Mul.make_args(sympy.factor(den)):
            base = factor.base if factor.is_Pow else factor
            if base.has(S) or base.is_number or base.is_positive or base.is_negative:
                continue
            for sym in sorted(base.free_symbols & set(params), key=lambda x: x.name):
                for sol in sympy.solve(base, sym):
                    if not _same_condition(found, sym, sol):
                        found.append((sym, sol))
                break  # one solved form per factor
    return found


def _same_condition(found, sym, sol) -> bool:
    """``sym == sol`` restates an equality already found (e.g. b == a after a == b)."""
    return any(sympy.simplify((sym - sol).subs(other, other_sol)) == 0 for other, other_sol in found)


@lru_cache(maxsize=4096)
def limit_form(expr, sym, value):
    """``lim_{sym -> value} expr``, simplified; ``expr`` itself when it does not involve ``sym``.

    Kept per ``(expr, sym, value)``: the same limit recurs (``d2K/dp_i dp_j == d2K/dp_j dp_i``)."""
    if sym not in expr.free_symbols:
        return expr
    direct = _safe_subs(expr, sym, value)
    if direct is not None:
        return direct
    ratio = lhopital_limit(expr, sym, value)
    if ratio is not None:
        return combine_exponentials(sympy.simplify(sympy.expand(ratio)))
    return combine_exponentials(sympy.simplify(sympy.limit(expr, sym, value)))


def lhopital_limit(expr, sym, value, max_order: int = 4):
    """``lim_{sym -> value} expr`` by L'Hopital's rule, or None when the rule does not settle it.

    With ``expr = N / D`` (``sympy.together``), both analytic in ``sym`` at ``value`` (sums of
    exponentials and powers of positive parameters), and ``k`` the first order at which
    ``D^(k)(value) != 0``: if ``N^(j)(value) == 0`` for every ``j < k``, then

        lim expr = N^(k)(value) / D^(k)(value)

    (Taylor expansion of both about ``value``). None, to fall back on ``sympy.limit``, when some
    ``N^(j)(value) != 0`` first (the limit is infinite), when ``k > max_order``, or when a
    denominator value SymPy does not simplify to 0 is numerically 0 at a sample point (a zero
    ``simplify`` missed). The caller simplifies the result (``sympy.expand`` first: it then comes
    out as ``simplify(sympy.limit(expr))`` does for every built-in model).
    """
    num, den = sympy.fraction(sympy.together(expr))
    for _ in range(max_order + 1):
        d0 = sympy.simplify(den.subs(sym, value))
        n0 = sympy.simplify(num.subs(sym, value))
        if d0 != 0:
            return None if _numerically_zero(d0) else n0 / d0
        if n0 != 0:
            return None
        num, den = sympy.diff(num, sym), sympy.diff(den, sym)
    return None


def _sample(expr):
    """``expr`` evaluated to 30 digits with its free symbols at fixed positive rational sample values."""
    point = {x: sympy.Rational(7 + 3 * k, 5 + 2 * k) for k, x in enumerate(sorted(expr.free_symbols, key=str))}
    return sympy.N(expr.subs(point), 30)


def _numerically_zero(expr) -> bool:
    """``expr`` evaluates to (almost) 0 at the sample point (or to no number)."""
    value = _sample(expr)
    return not value.is_number or abs(value) < sympy.Float("1e-20", 30)


def _numerically_nonzero(expr) -> bool:
    """``expr`` is certainly not identically 0: its value at the sample point is far from 0 (this
    skips a ``simplify`` that would prove a zero; False only means "not shown nonzero")."""
    value = _sample(expr)
    return bool(value.is_number and value.is_finite and abs(value) > sympy.Float("1e-10", 30))


def combine_exponentials(expr):
    """Every exponential of a term in one piece: ``exp(a) (x exp(b) + y) -> x exp(a + b) + y exp(a)``,
    then ``exp(s/tau) exp(-2 s/tau) -> exp(-s/tau)``.

    SymPy's limits come out as ``exp(-s/tau_r - s/tau_m) (c1 exp(s/tau_r) + ...)``; evaluated as
    written, ``exp(s/tau_r)`` overflows for ``s > 709 tau_r`` and the kernel is NaN (``inf * 0``).
    """
    def distribute(mul):
        exps = [f for f in mul.args if isinstance(f, sympy.exp)]
        sums = [f for f in mul.args if f.is_Add and f.has(sympy.exp)]
        if not exps or not sums:
            return mul
        rest = [f for f in mul.args if f not in exps and f is not sums[0]]
        return sympy.Mul(*rest) * sympy.Add(*[sympy.Mul(t, *exps) for t in sums[0].args])

    previous = None
    while expr != previous:  # an exponential pushed into a term may meet a sum there: repeat
        previous = expr
        expr = sympy.powsimp(expr.replace(lambda e: e.is_Mul, distribute), combine="exp")
    return expr


def _safe_subs(expr, sym, value):
    """Plain substitution, when it is well defined (no 0/0 appears)."""
    sub = expr.subs(sym, value)
    if sub.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return None
    _, den = sympy.fraction(sympy.together(expr))
    den = den.subs(sym, value)
    if not _numerically_nonzero(den) and sympy.simplify(den) == 0:
        return None
    return combine_exponentials(sympy.simplify(sub))
