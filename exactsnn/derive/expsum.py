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
from functools import lru_cache

import sympy

from ..model import S


@dataclass(frozen=True)
class ExpSum:
    """``k(s) = sum_r (a[r] + b[r] s) exp(-rates[r] s)``; rates are distinct expressions."""

    rates: tuple
    a: tuple
    b: tuple


@lru_cache(maxsize=512)
def decompose(expr):
    """Write ``expr`` as an ``ExpSum``, or return None when it is not of that form.

    Memoized (SymPy expressions are immutable and hashable; ``ExpSum`` is frozen): a derivation asks
    for the same kernels' decomposition many times (branches, Newton forms, printing)."""
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


@dataclass(frozen=True)
class NewtonForm:
    """``k(s) = sum_k coeffs[k] * f[rates[k], ..., rates[-1]]`` with ``f(lam) = exp(-lam s)``.

    ``f[l_k, ..., l_n]`` is the divided difference of ``lam -> exp(-lam s)`` over the tail of the
    rates. By the Hermite-Genocchi formula it equals ``(-s)**m / m! * exp(-xi s)`` for some ``xi``
    between the smallest and largest of its ``m + 1`` rates, so it stays bounded as rates meet,
    while the coefficients ``a_r`` of the plain exponential sum grow like ``1 / (l_r - l_q)``.
    """

    rates: tuple
    coeffs: tuple


def newton_form(expr, params):
    """The pure exponential sum ``expr = sum_r a_r exp(-l_r s)`` in Newton (divided-difference) form,
    when that removes the singular denominators of the ``a_r``; otherwise None.

    With ``v_r = a_r prod_{q != r} (l_r - l_q)``, ``sum_r a_r f(l_r)`` is the divided difference
    ``(v f)[l_1, ..., l_n]`` of the product of ``f`` with any ``v`` interpolating the ``v_r``, and
    Leibniz's rule for divided differences gives

        (v f)[l_1..l_n] = sum_k v[l_1..l_k] f[l_k..l_n].

    The ``v[l_1..l_k]`` are computed symbolically and kept only if none of them has a denominator
    that can vanish (``singular_equalities`` finds none). Sums with ``s``-polynomial terms or a
    single rate are returned as None: they have no cancellation of this kind. Memoized, as ``decompose``.
    """
    return _newton_form(expr, tuple(params))


@lru_cache(maxsize=512)
def _newton_form(expr, params):
    from .singular import singular_equalities

    es = decompose(expr)
    if es is None or len(es.rates) < 2 or any(b != 0 for b in es.b):
        return None
    if not singular_equalities(list(es.a), params):
        return None  # the plain sum has no near-cancellation
    lam = es.rates
    n = len(lam)
    table = [sympy.cancel(es.a[r] * sympy.Mul(*[lam[r] - lam[q] for q in range(n) if q != r]))
             for r in range(n)]
    coeffs = [table[0]]
    for k in range(1, n):
        table = [sympy.cancel((table[i + 1] - table[i]) / (lam[i + k] - lam[i])) for i in range(n - k)]
        coeffs.append(table[0])
    if singular_equalities(coeffs, params):
        return None
    return NewtonForm(tuple(lam), tuple(sympy.factor(c) for c in coeffs))


class ExpDD(sympy.Function):
    """``ExpDD(s, x_0, ..., x_k)``: the divided difference ``f[x_0..x_k]`` of ``f(lam) = exp(-lam s)``.

    Symmetric in the nodes and smooth in them, equal nodes included (Hermite-Genocchi). Its derivatives
    are divided differences again, so SymPy's ``diff`` of a Newton form needs no limits:

        d/ds   f[x_0..x_k] = -(x_0 f[x_0..x_k] + f[x_1..x_k])   (Leibniz, for -lam exp(-lam s))
        d/dx_j f[x_0..x_k] = f[x_0..x_k, x_j]                    (a repeated node)

    Printed as ``expdd{k+1}(s, x_0, ...)`` (numeric/expdd.py).
    """

    def fdiff(self, argindex=1):
        s, *nodes = self.args
        if argindex == 1:
            tail = ExpDD(s, *nodes[1:]) if len(nodes) > 1 else sympy.Integer(0)
            return -(nodes[0] * self + tail)
        return ExpDD(s, *nodes, nodes[argindex - 2])

    def _latex(self, printer):
        s, *nodes = self.args
        return r"f_{%s}\left[%s\right]" % (printer._print(s), ", ".join(printer._print(x) for x in nodes))

    def _eval_evalf(self, prec):
        """Numeric value from the definition (distinct nodes) at a precision that absorbs the cancellation."""
        s, *nodes = self.args
        if any(sympy.simplify(a - b) == 0 for i, a in enumerate(nodes) for b in nodes[i + 1:]):
            return None  # confluent: no definition to evaluate (equal nodes may be written differently)
        terms = [sympy.exp(-x * s) / sympy.Mul(*[x - q for j, q in enumerate(nodes) if j != i])
                 for i, x in enumerate(nodes)]
        return sympy.Add(*terms).evalf(prec)


def newton_expr(expr, params, max_nodes=4):
    """``expr`` as ``sum_k c_k ExpDD(s, l_k, .., l_n)`` (``newton_form``), or None.

    None also when the kernel's derivatives would need more than ``max_nodes`` nodes (the rates plus
    one repeated node), the largest divided difference numeric/expdd.py provides.
    """
    form = newton_form(expr, params)
    if form is None or len(form.rates) + 1 > max_nodes:
        return None
    return sympy.Add(*[c * ExpDD(S, *form.rates[k:]) for k, c in enumerate(form.coeffs) if c != 0])
