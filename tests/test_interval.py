"""Interval arithmetic (exactsnn/numeric/interval.py) against exact ranges computed with mpmath.

For every ``iv_*`` primitive and random and edge intervals (zero-width, touching 0, negative, huge, tiny,
subnormal), the float enclosure ``[lo, hi]`` must contain the true range of the function over the input
box, computed at 60 digits from the exact float inputs: by corner/endpoint evaluation for monotone
pieces (plus 0 for even powers across 0), and for the divided differences of ``exp(-lam s)`` by dense
sampling in ``s`` with golden-section refinement of interior extrema. Containment is checked in mpmath
(no float rounding in the comparison), so outward rounding is what is tested: e.g. ``iv_exp(x, x)``
must contain ``exp(x)`` to 60 digits, not just the float ``math.exp(x)``.
Enclosures must also be tight: for a point input the width is at most a few ulps of the value.
"""

import math

import mpmath
import numpy as np
import pytest
from mpmath import mp, mpf

from exactsnn.numeric.interval import (iv_add, iv_exp, iv_expdd2, iv_expdd3, iv_inv, iv_log, iv_mul, iv_point,
                                       iv_pow, iv_powi, iv_scale, iv_sqrt)

DPS = 60
ULP = 2.220446049250313e-16
TIGHT = 32 * ULP  # point inputs: width <= TIGHT * |value| + 3e-300 (each step widens by 4 ulps + 1e-300 a side;
#                   iv_powi with n < 0 takes two steps: measured 17 ulps for iv_powi(1e150, -1))

EDGE = [(0.0, 0.0), (1.0, 1.0), (-1.0, -1.0), (0.0, 1.0), (-1.0, 0.0), (-2.0, 3.0), (-3.0, -0.5),
        (1e-300, 1e-300), (5e-324, 5e-324), (0.0, 5e-324), (-1e-310, 1e-310), (1e-20, 1e-19),
        (1e150, 1e150), (-1e150, 2e150), (1e300, 1.7e308), (0.1, 0.1), (1.0 / 3.0, 2.0 / 3.0)]


def random_intervals(n, seed, positive=False):
    """Intervals with log-uniform magnitudes from 1e-12 to 1e12, mixed signs, some zero-width."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a, b = (10.0 ** rng.uniform(-12, 12, 2)) * (1 if positive else rng.choice([-1, 1], 2))
        if rng.random() < 0.2:
            b = a
        out.append((float(min(a, b)), float(max(a, b))))
    return out


def encloses(lo, hi, exact_lo, exact_hi, what):
    """``[lo, hi]`` (floats, compared exactly in mpmath) contains ``[exact_lo, exact_hi]``."""
    assert not (math.isnan(lo) or math.isnan(hi)), f"{what}: NaN bound ({lo}, {hi})"
    assert mpf(lo) <= exact_lo, f"{what}: lo = {lo!r} cuts the exact minimum {mpmath.nstr(exact_lo, 25)}"
    assert mpf(hi) >= exact_hi, f"{what}: hi = {hi!r} cuts the exact maximum {mpmath.nstr(exact_hi, 25)}"


def tight(lo, hi, exact, what, factor=1):
    """A point input's enclosure is a few ulps wide (``factor`` times ``TIGHT``)."""
    if math.isfinite(lo) and math.isfinite(hi):
        assert hi - lo <= factor * TIGHT * abs(float(exact)) + 3e-300, f"{what}: width {hi - lo:.3e} for value {exact}"


def check_monotone(iv, f, intervals, what, domain=lambda a, b: True):
    """``iv(al, ah)`` for ``f`` monotone on each interval: the exact range is spanned by the endpoints."""
    with mp.workdps(DPS):
        for al, ah in intervals:
            if not domain(al, ah):
                continue
            lo, hi = iv(al, ah)
            ends = [f(mpf(al)), f(mpf(ah))]
            encloses(lo, hi, min(ends), max(ends), f"{what}[{al!r}, {ah!r}]")
            if al == ah:
                tight(lo, hi, ends[0], f"{what}({al!r})")


def test_point_and_add_are_outward():
    with mp.workdps(DPS):
        for al, ah in EDGE + random_intervals(200, 1):
            lo, hi = iv_point(al)
            encloses(lo, hi, mpf(al), mpf(al), f"iv_point({al!r})")
            assert lo < al < hi or (al == 0 and lo < 0 < hi)  # widened strictly
            for bl, bh in ((al, ah), (-ah, -al), (1.0, 2.0), (-1e-5, 3e7)):
                lo, hi = iv_add(al, ah, bl, bh)
                encloses(lo, hi, mpf(al) + mpf(bl), mpf(ah) + mpf(bh), f"iv_add[{al},{ah}]+[{bl},{bh}]")


def test_add_of_points_contains_the_exact_sum():
    """0.1 + 0.2 rounds to 0.30000000000000004 in float64; the enclosure must still hold the exact sum."""
    with mp.workdps(DPS):
        lo, hi = iv_add(0.1, 0.1, 0.2, 0.2)
        encloses(lo, hi, mpf(0.1) + mpf(0.2), mpf(0.1) + mpf(0.2), "0.1 + 0.2")
        lo, hi = iv_add(1.0, 1.0, 1e-17, 1e-17)  # the float sum is 1.0: the exact 1 + 1e-17 is above it
        encloses(lo, hi, 1 + mpf(1e-17), 1 + mpf(1e-17), "1 + 1e-17")


def test_mul_and_scale():
    ivs = EDGE + random_intervals(120, 2)
    with mp.workdps(DPS):
        for k, (al, ah) in enumerate(ivs):
            bl, bh = ivs[(7 * k + 3) % len(ivs)]
            if max(abs(al), abs(ah)) * max(abs(bl), abs(bh)) > 1e300:
                continue  # products that overflow are covered by test_overflow_gives_infinite_bounds
            corners = [mpf(x) * mpf(y) for x in (al, ah) for y in (bl, bh)]
            lo, hi = iv_mul(al, ah, bl, bh)
            encloses(lo, hi, min(corners), max(corners), f"iv_mul[{al},{ah}]*[{bl},{bh}]")
            if al == ah and bl == bh:
                tight(lo, hi, corners[0], f"iv_mul({al}, {bl})")
            c = bl
            ends = [mpf(c) * mpf(al), mpf(c) * mpf(ah)]
            lo, hi = iv_scale(c, al, ah)
            encloses(lo, hi, min(ends), max(ends), f"iv_scale({c}, [{al},{ah}])")


def test_inv():
    ivs = EDGE + random_intervals(200, 3)
    with mp.workdps(DPS):
        for al, ah in ivs:
            lo, hi = iv_inv(al, ah)
            if al <= 0.0 <= ah:
                assert (lo, hi) == (-math.inf, math.inf), (al, ah)
                continue
            if min(abs(al), abs(ah)) < 1e-307:
                continue  # 1/x overflows
            ends = [1 / mpf(al), 1 / mpf(ah)]
            encloses(lo, hi, min(ends), max(ends), f"iv_inv[{al},{ah}]")
            if al == ah:
                tight(lo, hi, ends[0], f"iv_inv({al})")


@pytest.mark.parametrize("n", [-3, -2, -1, 0, 1, 2, 3, 4, 5])
def test_powi(n):
    def log10(x):
        return math.log10(x) if x > 0 else -math.inf

    ivs = [(a, b) for a, b in EDGE + random_intervals(150, 4 + n) if abs(n) * log10(max(abs(a), abs(b))) < 300
           and (n >= 0 or abs(n) * log10(min(abs(a), abs(b))) > -300 or a <= 0 <= b)]
    with mp.workdps(DPS):
        for al, ah in ivs:
            lo, hi = iv_powi(al, ah, n)
            if n < 0 and al <= 0 <= ah:
                assert lo <= 0 and hi == math.inf, (al, ah, n)  # 1/x is unbounded there
                continue
            vals = [mpf(al) ** n, mpf(ah) ** n] + ([mpf(0)] if al < 0 < ah and n > 0 else [])
            encloses(lo, hi, min(vals), max(vals), f"iv_powi([{al},{ah}], {n})")
            if al == ah:
                # n < 0: the widened 1/x is raised to |n|, which multiplies its relative width by |n|
                # (measured 32 ulps for iv_powi(0.1, -3))
                tight(lo, hi, vals[0], f"iv_powi({al}, {n})", factor=1 if n >= 0 else abs(n))


def test_exp():
    ivs = [(a, b) for a, b in EDGE + random_intervals(200, 5) if b < 700] + [
        (-745.0, -740.0), (-800.0, -700.0), (-1e-300, 1e-300), (700.0, 709.0), (-50.0, 50.0), (1e-16, 1e-16)]
    check_monotone(iv_exp, mpmath.exp, ivs, "iv_exp")


def test_log():
    ivs = [(a, b) for a, b in EDGE + random_intervals(200, 6, positive=True) if a > 0] + [
        (1.0 - 1e-16, 1.0 + 2e-16), (5e-324, 1.0), (1e-300, 1e300), (0.5, 0.5), (2.0, 2.0)]
    check_monotone(iv_log, mpmath.log, ivs, "iv_log")
    with mp.workdps(DPS):
        for ah in (1e-300, 1.0, 10.0):  # touching 0: the range is (-inf, log ah]
            lo, hi = iv_log(0.0, ah)
            assert lo == -math.inf
            encloses(lo, hi, mpf(-10) ** 9, mpmath.log(ah), f"iv_log[0, {ah}]")


def test_sqrt():
    ivs = [(a, b) for a, b in EDGE + random_intervals(200, 7, positive=True) if a >= 0] + [(2.0, 2.0), (0.0, 2.0)]
    check_monotone(iv_sqrt, mpmath.sqrt, ivs, "iv_sqrt")
    with mp.workdps(DPS):
        lo, hi = iv_sqrt(-1.0, 4.0)  # the part of [-1, 4] in the domain
        encloses(lo, hi, mpf(0), mpf(2), "iv_sqrt[-1, 4]")


def test_pow():
    """a ** e for a positive base box and any exponent box: monotone in each argument, so the corners."""
    bases = [(a, b) for a, b in random_intervals(60, 8, positive=True) if 1e-6 < a and b < 1e6] + [
        (1.0, 1.0), (0.5, 2.0), (2.0, 2.0), (1e-3, 1e-3)]
    exps = [(-2.0, 3.0), (0.5, 0.5), (-1.5, -1.5), (0.0, 0.0), (2.0, 2.0), (0.1, 0.2), (-7.0, -3.0)]
    with mp.workdps(DPS):
        for al, ah in bases:
            for el, eh in exps:
                corners = [mpf(a) ** mpf(e) for a in (al, ah) for e in (el, eh)]
                lo, hi = iv_pow(al, ah, el, eh)
                encloses(lo, hi, min(corners), max(corners), f"iv_pow([{al},{ah}], [{el},{eh}])")


# ---------------------------------------------------------------------- divided differences of exp(-lam s)
def dd_exact(rates, s):
    """f[rates] of f(lam) = exp(-lam s), exactly (confluent cases by the derivative formulas).

    The difference quotients cancel ``-log10(s * gap)`` digits per order: the precision is raised by that.
    """
    gaps = [abs(x - y) for x in rates for y in rates if x != y]
    t = float(s) * min(gaps) if gaps and s > 0 else 1.0
    extra = int(max(0.0, -math.log10(t) if t > 0 else 700.0)) * (len(rates) - 1) + 20
    with mp.workdps(mp.dps + extra):
        return +_dd(rates, s)


def _dd(rates, s):
    s = mpf(s)
    f = [lambda x: mpmath.exp(-x * s), lambda x: -s * mpmath.exp(-x * s), lambda x: s * s * mpmath.exp(-x * s)]
    r = sorted(mpf(x) for x in rates)
    if len(r) == 2:
        return f[1](r[0]) if r[0] == r[1] else (f[0](r[1]) - f[0](r[0])) / (r[1] - r[0])
    a, b, c = r
    if a == c:
        return f[2](a) / 2
    return (_dd((b, c), s) - _dd((a, b), s)) / (c - a)


def range_over_s(g, s_lo, s_hi, n=48):
    """(min, max) of g on [s_lo, s_hi]: endpoints, n samples, golden-section refinement of interior extrema."""
    if s_lo == s_hi:
        v = g(mpf(s_lo))
        return v, v
    xs = [mpf(s_lo) + (mpf(s_hi) - mpf(s_lo)) * k / n for k in range(n + 1)]
    ys = [g(x) for x in xs]
    out = []
    for sign in (1, -1):
        k = min(range(n + 1), key=lambda i: sign * ys[i])
        best = ys[k]
        if 0 < k < n:
            a, b = xs[k - 1], xs[k + 1]
            phi = (mpmath.sqrt(5) - 1) / 2
            for _ in range(120):
                c, d = b - phi * (b - a), a + phi * (b - a)
                if sign * g(c) < sign * g(d):
                    b = d
                else:
                    a = c
            best = min(best, g((a + b) / 2), key=lambda v: sign * v)
        out.append(best)
    return out[0], out[1]


def rate_cases(seed, k):
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(30):
        base = float(10 ** rng.uniform(-2, 1.5))
        gaps = [0.0, 1e-14, 1e-9, 1e-4, 0.3, 5.0]
        cases.append(tuple(base + base * float(rng.choice(gaps)) * float(rng.random()) for _ in range(k)))
    cases += [(0.0,) * k, (1.0,) * k, (0.0, 2.0, 1.0)[:k], (1.0, 1.0 + 1e-15, 1.0 + 2e-15)[:k], (2.0, 0.5, 2.0)[:k]]
    return cases


S_BOXES = [(0.0, 0.0), (0.0, 0.1), (0.3, 0.3), (0.5, 0.5000001), (0.2, 3.0), (1.0, 1.0 + 1e-12), (4.0, 20.0),
           (1e-300, 1e-300), (0.0, 60.0)]


@pytest.mark.parametrize("k", [2, 3])
def test_expdd_encloses_the_divided_difference(k):
    iv = iv_expdd2 if k == 2 else iv_expdd3
    with mp.workdps(DPS):
        for rates in rate_cases(10 + k, k):
            for s_lo, s_hi in S_BOXES:
                lo, hi = iv(*rates, s_lo, s_hi)
                exact_lo, exact_hi = range_over_s(lambda s: dd_exact(rates, s), s_lo, s_hi)
                what = f"iv_expdd{k}{rates} over s in [{s_lo}, {s_hi}]"
                encloses(lo, hi, exact_lo, exact_hi, what)
                if s_lo == s_hi:
                    # accurate however close the rates are: a few dozen ulps (expdd3 widens by 64 ulps)
                    assert hi - lo <= 300 * ULP * abs(float(exact_lo)) + 1e-290, (what, lo, hi, exact_lo)


def test_expdd_point_boxes_are_narrow_when_rates_nearly_meet():
    """The naive difference quotient would be ~1/gap times wider; the enclosure is not."""
    with mp.workdps(DPS):
        for gap in (1e-6, 1e-10, 1e-14):
            lo, hi = iv_expdd2(1.0, 1.0 + gap, 0.7, 0.7)
            exact = dd_exact((1.0, 1.0 + gap), 0.7)
            encloses(lo, hi, exact, exact, f"gap {gap}")
            assert hi - lo < 1e-13 * abs(float(exact))


def test_overflow_gives_infinite_bounds():
    """Bounds that overflow become +-inf (still enclosures), never NaN."""
    assert iv_exp(700.0, 800.0)[1] == math.inf
    lo, hi = iv_mul(1e200, 1e200, -1e200, 1e200)
    assert lo == -math.inf and hi == math.inf
    assert iv_powi(1e200, 1e200, 2)[1] == math.inf


@pytest.mark.parametrize("func, args, exact", [
    (iv_exp, (710.0, 720.0), (mpmath.exp(710), mpmath.exp(720))),        # both bounds overflow
    (iv_exp, (709.0, 710.0), (mpmath.exp(709), mpmath.exp(710))),        # the upper one overflows
    (iv_exp, (-math.inf, 800.0), (mpf(0), mpmath.exp(800))),
    (iv_log, (0.0, 0.0), (mpmath.ninf, mpmath.ninf)),                   # log(0) = -inf at both ends
    (iv_log, (0.0, 2.0), (mpmath.ninf, mpmath.log(2))),
    (iv_log, (1e308, math.inf), (mpmath.log(mpf(1e308)), mpmath.inf)),
], ids=["exp-both-overflow", "exp-upper-overflows", "exp-from-minus-inf", "log-of-zero", "log-from-zero",
        "log-to-inf"])
def test_infinite_endpoints_are_enclosures_not_nan(func, args, exact):
    """An overflowed bound is an infinity or +-DBL_MAX (still an enclosure of the mpmath value), never NaN:
    ``iv_exp(710, 720)`` has ``lo <= e^710`` (lo is DBL_MAX widened, since e^710 > DBL_MAX) and ``hi = inf``."""
    lo, hi = func(*args)
    with mp.workdps(DPS):
        encloses(lo, hi, exact[0], exact[1], f"{func.__name__}{args}")
    assert lo <= hi
    if func is iv_exp and args[0] >= 710.0:
        assert math.isfinite(lo) and lo > 1e307 and hi == math.inf  # as tight as float64 allows
