"""Exponential-sum structure of kernels.

Many neuron models have kernels of the form

    k(s) = sum_r (A_r + B_r s) exp(-lambda_r s)

(LIF, non-leaky IF, alpha PSPs with matching reset). On an interval without events the
membrane potential is then itself such a sum, and its derivative has a known number of
basis functions. When that derivative has at most two basis functions, V has at most one
critical point per interval, in closed form, so every upward threshold crossing can be
bracketed exactly (the simulator's ``expsum`` strategy). Otherwise the simulator uses
interval bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from ..model import S


@dataclass(frozen=True)
class ExpSum:
    """``k(s) = sum_r (a[r] + b[r] s) exp(-rates[r] s)``; rates are distinct expressions."""

    rates: tuple
    a: tuple
    b: tuple


def decompose(expr):
    """Write ``expr`` as an ``ExpSum``, or return None when it is not of that form."""
    terms = _terms(expr)
    if terms is None or any(deg > 1 for (_, deg) in terms):
        return None
    rates = []
    for rate, _ in terms:
        if not any(_equal(rate, r) for r in rates):
            rates.append(rate)
    a = {r: sympy.Integer(0) for r in rates}
    b = {r: sympy.Integer(0) for r in rates}
    for (rate, deg), coeff in terms.items():
        key = next(r for r in rates if _equal(r, rate))
        (a if deg == 0 else b)[key] += coeff
    keep = [r for r in rates if sympy.simplify(a[r]) != 0 or sympy.simplify(b[r]) != 0]
    return ExpSum(tuple(keep), tuple(sympy.simplify(a[r]) for r in keep),
                  tuple(sympy.simplify(b[r]) for r in keep))


def _equal(x, y) -> bool:
    return sympy.simplify(x - y) == 0


def _terms(expr):
    """{(rate, degree): coefficient} with expr = sum coeff * s**degree * exp(-rate*s), or None."""
    if not expr.has(S):
        return {(sympy.Integer(0), 0): expr}
    if expr == S:
        return {(sympy.Integer(0), 1): sympy.Integer(1)}
    if isinstance(expr, sympy.exp):
        arg = sympy.expand(expr.args[0])
        if not arg.is_polynomial(S) or sympy.Poly(arg, S).degree() > 1:
            return None
        poly = sympy.Poly(arg, S)
        return {(sympy.simplify(-poly.coeff_monomial(S)), 0): sympy.exp(poly.coeff_monomial(1))}
    if expr.is_Add:
        out = {}
        for arg in expr.args:
            sub = _terms(arg)
            if sub is None:
                return None
            _accumulate(out, sub)
        return out
    if expr.is_Mul:
        out = {(sympy.Integer(0), 0): sympy.Integer(1)}
        for arg in expr.args:
            sub = _terms(arg)
            if sub is None:
                return None
            out = _product(out, sub)
        return out
    if expr.is_Pow and expr.exp.is_Integer:
        if isinstance(expr.base, sympy.exp):
            return _terms(sympy.exp(expr.base.args[0] * expr.exp))
        if expr.exp > 0:
            return _terms(sympy.Mul(*([expr.base] * int(expr.exp)), evaluate=False))
    return None


def _accumulate(out, sub):
    for (rate, deg), coeff in sub.items():
        key = next(((r, d) for (r, d) in out if d == deg and _equal(r, rate)), (rate, deg))
        out[key] = out.get(key, sympy.Integer(0)) + coeff


def _product(x, y):
    out = {}
    for (r1, d1), c1 in x.items():
        for (r2, d2), c2 in y.items():
            _accumulate(out, {(sympy.simplify(r1 + r2), d1 + d2): c1 * c2})
    return out


def merge(*sums):
    """Common rate slots for several ExpSums: (rates, [(a, b) per sum])."""
    rates = []
    for es in sums:
        for r in es.rates:
            if not any(sympy.simplify(r - q) == 0 for q in rates):
                rates.append(r)
    out = []
    for es in sums:
        a = [sympy.Integer(0)] * len(rates)
        b = [sympy.Integer(0)] * len(rates)
        for r, ar, br in zip(es.rates, es.a, es.b):
            i = next(i for i, q in enumerate(rates) if sympy.simplify(r - q) == 0)
            a[i] += ar
            b[i] += br
        out.append((tuple(a), tuple(b)))
    return tuple(rates), out


def derivative_basis_count(rates, coeff_pairs) -> int:
    """Number of basis functions of ``d/du V`` for a potential built from these kernels.

    Slot r contributes ``(p + q u) exp(-rate u)``: a constant-rate slot with only A terms
    contributes nothing; any B term adds the ``u`` function; a nonzero rate adds ``exp``.
    """
    count = 0
    for i, rate in enumerate(rates):
        has_a = any(pair[0][i] != 0 for pair in coeff_pairs)
        has_b = any(pair[1][i] != 0 for pair in coeff_pairs)
        if rate == 0:
            count += 1 if has_b else 0
        else:
            count += (1 if has_a or has_b else 0) + (1 if has_b else 0)
    return count
