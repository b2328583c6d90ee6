"""Interval arithmetic primitives for numba (enclosures of elementary functions).

Every primitive returns ``(lo, hi)`` with ``lo <= f(x) <= hi`` for all ``x`` in the input
intervals. Results are widened outward by a few ulps (``_out``) so that the rounding of
``math`` functions (at most one ulp in glibc) cannot shrink an enclosure below the truth.
"""

import math

from numba import njit

_REL = 4.0 * 2.220446049250313e-16
_ABS = 1e-300


@njit(cache=True)
def _out(lo, hi):
    return lo - abs(lo) * _REL - _ABS, hi + abs(hi) * _REL + _ABS


@njit(cache=True)
def iv_point(x):
    return _out(x, x)


@njit(cache=True)
def iv_add(al, ah, bl, bh):
    return _out(al + bl, ah + bh)


@njit(cache=True)
def iv_mul(al, ah, bl, bh):
    a = al * bl
    b = al * bh
    c = ah * bl
    d = ah * bh
    return _out(min(min(a, b), min(c, d)), max(max(a, b), max(c, d)))


@njit(cache=True)
def iv_scale(c, al, ah):
    """c * [al, ah] for a point c."""
    if c >= 0.0:
        return _out(c * al, c * ah)
    return _out(c * ah, c * al)


@njit(cache=True)
def iv_inv(al, ah):
    if al <= 0.0 <= ah:
        return -math.inf, math.inf
    return _out(1.0 / ah, 1.0 / al)


@njit(cache=True)
def iv_powi(al, ah, n):
    """[al, ah] ** n for an integer n."""
    if n == 0:
        return 1.0, 1.0
    if n < 0:
        il, ih = iv_inv(al, ah)
        return iv_powi(il, ih, -n)
    if n % 2 == 1 or al >= 0.0:
        return _out(min(al ** n, ah ** n), max(al ** n, ah ** n))
    if ah <= 0.0:
        return _out(ah ** n, al ** n)
    return _out(0.0, max(al ** n, ah ** n))


@njit(cache=True)
def iv_exp(al, ah):
    return _out(math.exp(al), math.exp(ah))


@njit(cache=True)
def iv_log(al, ah):
    lo = math.log(al) if al > 0.0 else -math.inf
    hi = math.log(ah) if ah > 0.0 else -math.inf
    return _out(lo, hi)


@njit(cache=True)
def iv_sqrt(al, ah):
    return _out(math.sqrt(max(al, 0.0)), math.sqrt(max(ah, 0.0)))


@njit(cache=True)
def iv_pow(al, ah, el, eh):
    """[al, ah] ** [el, eh] for a positive base, as exp(e * log(a))."""
    ll, lh = iv_log(al, ah)
    ml, mh = iv_mul(el, eh, ll, lh)
    return iv_exp(ml, mh)
