"""Interval arithmetic primitives for numba (enclosures of elementary functions).

Every primitive returns ``(lo, hi)`` with ``lo <= f(x) <= hi`` for all ``x`` in the input
intervals. Results are widened outward by a few ulps (``_out``) so that the rounding of
``math`` functions (at most one ulp in glibc) cannot shrink an enclosure below the truth.
"""

import math

from numba import njit

from .expdd import _g1, _g2

_REL = 4.0 * 2.220446049250313e-16
_ABS = 1e-300
_DBL_MAX = 1.7976931348623157e308


@njit(cache=True)
def _out(lo, hi):
    """``[lo, hi]`` widened outward: ``lo - |lo| REL - ABS``, ``hi + |hi| REL + ABS``.

    An overflowed endpoint on the inner side is replaced by the largest finite double first: ``lo = +inf``
    (e.g. ``exp(710)``) only says the value exceeds ``DBL_MAX``, and ``hi = -inf`` (e.g. ``log(0)``) that it
    lies below ``-DBL_MAX`` (or is ``-inf``), so ``DBL_MAX`` resp. ``-DBL_MAX`` bound it; without this,
    ``inf - inf * REL`` would be NaN. ``lo = -inf`` and ``hi = +inf`` stay infinite.
    """
    if lo == math.inf:
        lo = _DBL_MAX
    if hi == -math.inf:
        hi = -_DBL_MAX
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


@njit(cache=True)
def iv_expdd2(a, b, s_lo, s_hi):
    """Enclosure of the divided difference f[a, b] of ``f(lam) = exp(-lam s)`` over s in [s_lo, s_hi].

    f[a, b] = (exp(-b s) - exp(-a s)) / (b - a) = -exp(-m s) (1 - exp(-d s)) / d with m = min(a, b),
    d = |b - a|: a product of two monotone factors, each evaluated without cancellation, so the
    enclosure stays as narrow as the range of f[a, b] however close a and b are (the plain
    difference quotient is 1/|b - a| times wider).
    """
    m = min(a, b)
    d = abs(b - a)
    xl, xh = iv_scale(-m, s_lo, s_hi)
    el, eh = iv_exp(xl, xh)
    gl, gh = _out(s_lo * _g1(d * s_lo), s_hi * _g1(d * s_hi))  # (1 - exp(-d s)) / d, increasing in s
    pl, ph = iv_mul(el, eh, gl, gh)
    return -ph, -pl


@njit(cache=True)
def iv_expdd3(a, b, c, s_lo, s_hi):
    """Enclosure of the divided difference f[a, b, c] of ``f(lam) = exp(-lam s)`` over s in [s_lo, s_hi].

    With the rates sorted (m <= b' <= c') and shifted, f[a, b, c] = s**2 exp(-m s) Phi((b' - m) s, (c' - m) s)
    (``expdd._g2``, accurate to a few ulps): three factors monotone in s, each evaluated without
    cancellation, whatever the gaps
    (Hermite-Genocchi alone, s**2 / 2 exp(-xi s) for xi between the rates, does not shrink with the box).
    """
    m = min(a, min(b, c))
    top = max(a, max(b, c))
    x = max(min(a, b), min(max(a, b), c)) - m  # the median's gap to the smallest
    y = top - m
    ql, qh = iv_powi(s_lo, s_hi, 2)
    el, eh = iv_scale(-m, s_lo, s_hi)
    el, eh = iv_exp(el, eh)
    pl = _g2(x * s_hi, y * s_hi) * (1.0 - 64.0 * 2.220446049250313e-16)
    ph = _g2(x * s_lo, y * s_lo) * (1.0 + 64.0 * 2.220446049250313e-16)
    ql, qh = iv_mul(ql, qh, el, eh)
    return iv_mul(ql, qh, pl, ph)
