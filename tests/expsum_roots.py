"""Test oracle: first upward threshold crossing of a plain exponential sum, correct by construction.

The engine used this on its plain-coefficient state until it moved to the Newton-form state
(``exactsnn/numeric/newton_state.py``); the closed-form tests still use it as an independent bracket.

On an interval without events, for models whose kernels are exponential sums,

    f(u) = sum_r (a_r + b_r u) exp(-rate_r u) - theta,      u in (0, L],

and ``f'(u) = sum_r (p_r + q_r u) exp(-rate_r u)`` with ``p_r = b_r - rate_r a_r`` and
``q_r = -rate_r b_r``. After merging equal rates, the derivation layer guarantees that ``f'``
has at most two basis functions, so ``f'`` has at most one zero, in closed form:

- one term ``(p + q u) e^{-l u}``:          ``u* = -p / q``;
- two terms ``P e^{-l1 u} + Q e^{-l2 u}``:  ``u* = log(-Q / P) / (l2 - l1)`` when ``-Q/P > 0``.

``f`` is monotone on ``(0, u*]`` and ``[u*, L]``; each piece holds at most one upward crossing,
detected by the signs at its ends (``es_bracket``). No crossing can be missed, whatever the interval
length. The crossing is then polished by Newton inside its piece (``es_polish``), started at the
piece's midpoint, or, in the simulator, at the model's closed-form root where it has one
(``closed_form_roots``); the start changes the iteration count, not which root is found.

``rates``, ``a`` and ``b`` are tuples (one entry per slot): numba passes tuples by value, while
every call that passes arrays costs ~100 ns here, which dominated the event loop.
"""

import math

from numba import njit

from exactsnn.numeric.status import OK as STATUS_OK
from exactsnn.numeric.status import UNSUPPORTED as STATUS_UNSUPPORTED


@njit(cache=True)
def es_value(rates, a, b, theta, u):
    """f(u) = sum_r (a_r + b_r u) exp(-rate_r u) - theta."""
    acc = -theta
    for r in range(len(rates)):
        if a[r] != 0.0 or b[r] != 0.0:
            acc += (a[r] + b[r] * u) * math.exp(-rates[r] * u)
    return acc


@njit(cache=True)
def es_slope(rates, a, b, u):
    """f'(u) = sum_r (b_r - rate_r a_r - rate_r b_r u) exp(-rate_r u)."""
    acc = 0.0
    for r in range(len(rates)):
        if a[r] != 0.0 or b[r] != 0.0:
            acc += (b[r] - rates[r] * a[r] - rates[r] * b[r] * u) * math.exp(-rates[r] * u)
    return acc


@njit(cache=True)
def es_critical(rates, a, b):
    """(status, u*) of the unique zero of f' (u* = nan when f' has no zero). No allocation."""
    l0 = l1 = p0 = p1 = q0 = q1 = 0.0
    m = 0
    for r in range(len(rates)):
        p = b[r] - rates[r] * a[r]
        q = -rates[r] * b[r]
        if p == 0.0 and q == 0.0:
            continue
        if m >= 1 and rates[r] == l0:
            p0 += p
            q0 += q
        elif m == 2 and rates[r] == l1:
            p1 += p
            q1 += q
        elif m == 0:
            l0, p0, q0, m = rates[r], p, q, 1
        elif m == 1:
            l1, p1, q1, m = rates[r], p, q, 2
        else:
            return STATUS_UNSUPPORTED, math.nan
    if m == 1:
        if q0 == 0.0:
            return STATUS_OK, math.nan
        return STATUS_OK, -p0 / q0
    if m == 2:
        if q0 != 0.0 or q1 != 0.0:
            return STATUS_UNSUPPORTED, math.nan
        ratio = -p1 / p0
        if ratio > 0.0 and l1 != l0:
            return STATUS_OK, math.log(ratio) / (l1 - l0)
    return STATUS_OK, math.nan


@njit(cache=True)
def es_polish(rates, a, b, theta, lo, hi, u):
    """Root of an increasing f on [lo, hi] with f(lo) < 0 <= f(hi): Newton from u, kept inside the bracket.

    Stops when a step is zero or at most 4 ulps of u (quadratic convergence: the error left after
    such a step is at rounding level), or when the bracket is 2 ulps wide.
    """
    for _ in range(200):
        fu = es_value(rates, a, b, theta, u)
        if fu == 0.0:
            return u
        if fu < 0.0:
            lo = u
        else:
            hi = u
        d = es_slope(rates, a, b, u)
        nxt = u - fu / d if d > 0.0 else 0.5 * (lo + hi)
        if not (lo < nxt < hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - u) <= 8.881784197001252e-16 * abs(u) or hi - lo <= 4.440892098500626e-16 * max(abs(lo), abs(hi)):
            return nxt
        u = nxt
    return u


@njit(cache=True)
def es_bracket(rates, a, b, theta, f_lo, length):
    """The piece of (0, length] that holds the first upward zero of f, given f_lo = f(0) < 0.

    Returns (status, lo, hi, margin): f is increasing on [lo, hi] with f(lo) < 0 <= f(hi), or
    lo = hi = nan when there is no upward zero; margin = theta - max f-value reached at an
    interior sub-threshold maximum (inf when there is none), the distance by which a spike was missed.
    """
    status, ucrit = es_critical(rates, a, b)
    if status != STATUS_OK:
        return status, math.nan, math.nan, math.inf
    margin = math.inf
    lo = 0.0
    ends = (ucrit, length) if (ucrit > 0.0 and ucrit < length) else (length, length)
    for piece in range(2):
        hi = ends[piece]
        if piece == 1 and ends[0] == ends[1]:
            break
        f_hi = es_value(rates, a, b, theta, hi)
        if f_lo < 0.0 <= f_hi:
            return STATUS_OK, lo, hi, margin
        if piece == 0 and hi < length and f_hi < 0.0 and f_hi > f_lo:
            margin = -f_hi  # sub-threshold maximum at u*
        lo = hi
        f_lo = f_hi
    return STATUS_OK, math.nan, math.nan, margin
