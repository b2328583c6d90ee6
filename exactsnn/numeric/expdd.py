"""Divided differences of ``f(lam) = exp(-lam s)`` over 1 to 5 rates, accurate however close the rates are.

A kernel that is an exponential sum with coefficients ``1 / (lam_r - lam_q)`` (the generic LIF kernel
``(exp(-s/tau_syn) - exp(-s/tau_mem)) / (1/tau_mem - 1/tau_syn)``) loses ``log10(1 / gap)`` digits when
evaluated as written, and its parameter derivatives lose twice that. Written in Newton form
(``derive.expsum.newton_expr``) it is a sum of regular coefficients times divided differences
``f[x_0, ..., x_k]``, which are smooth functions of the rates, equal rates included
(``f[x, x] = -s exp(-x s)``: the confluent limit). Their derivatives are divided differences again
(``d/dx_j f[x_0..x_k] = f[x_0..x_k, x_j]``), so one primitive per number of nodes serves the kernels
and all their derivatives.

With the nodes sorted, ``m = x_0`` the smallest and ``y_i = (x_i - m) s >= 0``,

    f[x_0..x_k] = (-s)**k exp(-m s) G_k(y_1..y_k),
    G_k(y) = integral over the k-simplex of exp(-sum_i u_i y_i)   (positive, decreasing in every y_i),

the Hermite-Genocchi formula. ``G_k`` is evaluated by its Taylor series
``sum_n (-1)**n h_n(y) / (n + k)!`` (``h_n`` complete homogeneous polynomials) when the largest ``y``
is below 1, and otherwise by the recursion

    G_k(y_1..y_k) = (G_{k-1}(y_1..y_{k-1}) - exp(-y_1) G_{k-1}(y_2 - y_1, .., y_k - y_1)) / y_k,

whose subtraction magnifies the relative error of its inputs by at most ~4.4 (G_2) and ~6.6 (G_3) for
``y_k >= 1`` (proofs/divided_differences.md, Lemma 4); nested for four nodes, at most ~29 in theory.
Measured worst over random nodes, in ulps times ``1 + m s``: 1.3, 2.2 and 20 for two, three and four
nodes (tests/test_codegen.py). No allocation: the numba hot loop calls these per event.
"""

import math

from numba import njit

#: Taylor terms of G_k for max(y) < 1, at most: the first omitted term is below 1 / 30! * C(30 + k, k) < 1e-26.
#: The sum stops earlier once a term no longer changes it (the terms shrink: |h_n| / (n + k)! with max y < 1),
#: after 2-6 terms when the rates are close, the case this form is for.
_TERMS = 30
_NEGLIGIBLE = 1e-17


#: Below this |y|, ``_g1`` sums its Taylor series (7 terms; the first omitted, y**7 / 8!, is below 3e-19 of it):
#: cheaper than ``expm1``, and it is the branch every state update takes near a singular set (tau_syn ~ tau_mem).
_G1_SERIES = 0.01


@njit(cache=True)
def _g1(y):
    """G_1(y) = (1 - exp(-y)) / y = sum_n (-y)**n / (n + 1)!, G_1(0) = 1."""
    if abs(y) < _G1_SERIES:
        return 1.0 + y * (-1 / 2 + y * (1 / 6 + y * (-1 / 24 + y * (1 / 120 + y * (-1 / 720 + y * (1 / 5040))))))
    return -math.expm1(-y) / y


@njit(cache=True)
def _g2(a, b):
    """G_2(a, b) for 0 <= a <= b."""
    if b < 1.0:
        total, fact, sign, pa, h2 = 0.0, 2.0, 1.0, 1.0, 1.0
        for n in range(_TERMS):
            if n > 0:
                pa *= a
                h2 = b * h2 + pa
                fact *= n + 2
                sign = -sign
            term = h2 / fact
            total += sign * term
            if term <= _NEGLIGIBLE * total:
                break
        return total
    return (_g1(a) - math.exp(-a) * _g1(b - a)) / b


@njit(cache=True)
def _g3(a, b, c):
    """G_3(a, b, c) for 0 <= a <= b <= c."""
    if c < 1.0:
        total, fact, sign, pa, h2, h3 = 0.0, 6.0, 1.0, 1.0, 1.0, 1.0
        for n in range(_TERMS):
            if n > 0:
                pa *= a
                h2 = b * h2 + pa
                h3 = c * h3 + h2
                fact *= n + 3
                sign = -sign
            term = h3 / fact
            total += sign * term
            if term <= _NEGLIGIBLE * total:
                break
        return total
    return (_g2(a, b) - math.exp(-a) * _g2(b - a, c - a)) / c


@njit(cache=True)
def _g4(a, b, c, d):
    """G_4(a, b, c, d) for 0 <= a <= b <= c <= d (the second parameter derivatives of three-rate kernels)."""
    if d < 1.0:
        total, fact, sign, pa, h2, h3, h4 = 0.0, 24.0, 1.0, 1.0, 1.0, 1.0, 1.0
        for n in range(_TERMS):
            if n > 0:
                pa *= a
                h2 = b * h2 + pa
                h3 = c * h3 + h2
                h4 = d * h4 + h3
                fact *= n + 4
                sign = -sign
            term = h4 / fact
            total += sign * term
            if term <= _NEGLIGIBLE * total:
                break
        return total
    return (_g3(a, b, c) - math.exp(-a) * _g3(b - a, c - a, d - a)) / d


@njit(cache=True)
def expdd1(s, x0):
    """f[x0] = exp(-x0 s)."""
    return math.exp(-x0 * s)


@njit(cache=True)
def expdd2(s, x0, x1):
    """f[x0, x1] = (exp(-x1 s) - exp(-x0 s)) / (x1 - x0); -s exp(-x0 s) when x0 == x1."""
    m = min(x0, x1)
    return -s * math.exp(-m * s) * _g1((max(x0, x1) - m) * s)


@njit(cache=True)
def expdd3(s, x0, x1, x2):
    """f[x0, x1, x2]; s**2 / 2 exp(-x s) when all three equal x."""
    m = min(x0, min(x1, x2))
    top = max(x0, max(x1, x2))
    mid = max(min(x0, x1), min(max(x0, x1), x2))
    return s * s * math.exp(-m * s) * _g2((mid - m) * s, (top - m) * s)


@njit(cache=True)
def expdd4(s, x0, x1, x2, x3):
    """f[x0, x1, x2, x3]; -s**3 / 6 exp(-x s) when all four equal x."""
    a, b = min(x0, x1), max(x0, x1)  # sorting network for four values
    c, d = min(x2, x3), max(x2, x3)
    a, c = min(a, c), max(a, c)
    b, d = min(b, d), max(b, d)
    b, c = min(b, c), max(b, c)
    return -s * s * s * math.exp(-a * s) * _g3((b - a) * s, (c - a) * s, (d - a) * s)


@njit(cache=True)
def _cs(a, b):
    return min(a, b), max(a, b)


@njit(cache=True)
def expdd5(s, x0, x1, x2, x3, x4):
    """f[x0, .., x4]; s**4 / 24 exp(-x s) when all five equal x (used by second parameter derivatives only)."""
    x0, x1 = _cs(x0, x1)  # bubble network for five values
    x1, x2 = _cs(x1, x2)
    x2, x3 = _cs(x2, x3)
    x3, x4 = _cs(x3, x4)
    x0, x1 = _cs(x0, x1)
    x1, x2 = _cs(x1, x2)
    x2, x3 = _cs(x2, x3)
    x0, x1 = _cs(x0, x1)
    x1, x2 = _cs(x1, x2)
    x0, x1 = _cs(x0, x1)
    return s ** 4 * math.exp(-x0 * s) * _g4((x1 - x0) * s, (x2 - x0) * s, (x3 - x0) * s, (x4 - x0) * s)
