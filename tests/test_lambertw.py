"""Kernel tier: the numba Lambert W (both real branches) vs mpmath.lambertw at 50 digits."""

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from exactsnn.numeric import lambertw as lw

MAX_ULPS = 4.0
NEG_INV_E = -1 / math.e  # the float nearest -1/e; it lies just below -1/e
ABOVE_BRANCH = [NEG_INV_E + 10.0 ** -k for k in range(1, 17)] + [math.nextafter(NEG_INV_E, 0.0)]


def _worst_ulps(kernel, xs, branch):
    """Largest |kernel(x) - W_branch(x)| in ulps of the exact value, and where."""
    worst, where = 0.0, None
    with mpmath.workdps(50):
        for x in xs:
            ref = mpmath.lambertw(mpmath.mpf(float(x)), branch)
            assert mpmath.im(ref) == 0, x
            ref = mpmath.re(ref)
            got = kernel(float(x))
            if mpmath.isinf(ref):
                assert got == float(ref), x
                continue
            err = float(abs(mpmath.mpf(got) - ref) / np.spacing(abs(float(ref))))
            if err > worst:
                worst, where = err, float(x)
    return worst, where


def _grid_w0():
    rng = np.random.default_rng(7)
    xs = np.concatenate([
        ABOVE_BRANCH,
        np.linspace(math.nextafter(NEG_INV_E, 0.0), 0.0, 1500),
        -np.logspace(-310, math.log10(0.36), 600),  # tiny negative arguments, subnormals included
        np.logspace(-310, 300, 1200),  # tiny to large positive arguments
        rng.uniform(-0.3679, -0.2, 500), rng.uniform(0.0, 20.0, 300),
        [1e300, 1.7e308, 5e-324, -5e-324, 1.0, math.e],
    ])
    return xs[xs > NEG_INV_E]


def _grid_wm1():
    rng = np.random.default_rng(8)
    xs = np.concatenate([
        ABOVE_BRANCH,
        np.linspace(math.nextafter(NEG_INV_E, 0.0), -1e-6, 1500),
        -np.logspace(-320, math.log10(0.36), 1200),
        rng.uniform(-0.3679, -0.2, 500), [-5e-324, -1e-300],
    ])
    return xs[(xs > NEG_INV_E) & (xs < 0)]


def test_w0_within_4_ulps_of_mpmath():
    worst, where = _worst_ulps(lw.w0, _grid_w0(), 0)
    print(f"W0 worst {worst:.2f} ulps at x = {where!r}")
    assert worst <= MAX_ULPS, (worst, where)


def test_wm1_within_4_ulps_of_mpmath():
    worst, where = _worst_ulps(lw.wm1, _grid_wm1(), -1)
    print(f"W-1 worst {worst:.2f} ulps at x = {where!r}")
    assert worst <= MAX_ULPS, (worst, where)


@pytest.mark.parametrize("k", range(1, 17))
def test_approach_to_branch_point_from_above(k):
    """x = -1/e + 10^-k: both branches within 4 ulps, W0 > -1 > W_{-1} while x > -1/e."""
    x = NEG_INV_E + 10.0 ** -k
    with mpmath.workdps(50):
        for kernel, branch in ((lw.w0, 0), (lw.wm1, -1)):
            ref = mpmath.lambertw(mpmath.mpf(x), branch).real
            assert abs(kernel(x) - ref) <= MAX_ULPS * np.spacing(1.0), (k, branch)
    if x > NEG_INV_E:
        assert lw.w0(x) >= -1.0 >= lw.wm1(x)


def test_float_nearest_minus_inv_e_is_the_branch_point():
    """fl(-1/e) lies 1.24e-17 below -1/e (its exact W is complex); it is taken to mean -1/e: W = -1."""
    with mpmath.workdps(50):
        assert mpmath.mpf(NEG_INV_E) < -1 / mpmath.e
        assert abs(mpmath.mpf(NEG_INV_E) + lw.NEG_INV_E_LO + 1 / mpmath.e) < mpmath.mpf(10) ** -32
        assert abs(mpmath.mpf(lw.E_HI) + lw.E_LO - mpmath.e) < mpmath.mpf(10) ** -31
    assert lw.w0_status(NEG_INV_E) == (-1.0, lw.STATUS_OK)
    assert lw.wm1_status(NEG_INV_E) == (-1.0, lw.STATUS_OK)
    assert lw.lambertw0(NEG_INV_E) == -1.0 and lw.lambertwm1(NEG_INV_E) == -1.0


def test_special_values():
    assert lw.w0(0.0) == 0.0 and math.copysign(1.0, lw.w0(-0.0)) == -1.0
    assert lw.w0(math.inf) == math.inf
    assert lw.wm1(0.0) == -math.inf
    assert lw.w0(math.e) == pytest.approx(1.0, rel=0, abs=2 * np.spacing(1.0))
    assert lw.wm1(-2 * math.exp(-2)) == pytest.approx(-2.0, rel=0, abs=4 * np.spacing(2.0))


@pytest.mark.parametrize("x", [math.nextafter(NEG_INV_E, -1.0), -1.0, -math.inf, math.nan])
def test_below_branch_point_is_nan_with_status(x):
    for kernel in (lw.w0_status, lw.wm1_status):
        w, status = kernel(x)
        assert math.isnan(w) and status == lw.STATUS_DOMAIN
    assert math.isnan(lw.w0(x)) and math.isnan(lw.wm1(x))


def test_wm1_rejects_positive_arguments():
    w, status = lw.wm1_status(0.5)
    assert math.isnan(w) and status == lw.STATUS_DOMAIN
    with pytest.raises(ValueError, match=r"x = 0\.5 is outside the domain \[-1/e, 0\]"):
        lw.lambertwm1(0.5)


def test_python_wrappers_name_the_value_and_map_arrays():
    with pytest.raises(ValueError, match=r"lambertw0: x = -0\.5 is outside the domain \[-1/e, inf\]"):
        lw.lambertw0(-0.5)
    with pytest.raises(ValueError, match="nan"):
        lw.lambertw0([1.0, math.nan])
    xs = np.array([[0.0, 1.0], [math.e, 10.0]])
    out = lw.lambertw0(xs)
    assert out.shape == (2, 2) and isinstance(lw.lambertw0(1.0), float)
    np.testing.assert_allclose(out * np.exp(out), xs, rtol=4e-16, atol=0)


def test_branch_series_coefficients_are_the_reversion_of_g():
    """q = W + 1 = sum c_k p^k solves 1 + (q - 1) e^q = p^2 / 2; check the first coefficients exactly
    by substituting the truncated series (all orders p^2 .. p^7 must match)."""
    n = 7
    c = [Fraction(0)] + [Fraction(x).limit_denominator(10 ** 8) for x in lw.BRANCH_SERIES[:n]]
    assert c[1:5] == [1, Fraction(-1, 3), Fraction(11, 72), Fraction(-43, 540)]

    def mul(a, b):
        out = [Fraction(0)] * (n + 1)
        for i, ai in enumerate(a):
            for j, bj in enumerate(b[:n + 1 - i]):
                out[i + j] += ai * bj
        return out

    # g(q) = sum_{m >= 2} (m - 1) q^m / m!
    g, power = [Fraction(0)] * (n + 1), [Fraction(1)] + [Fraction(0)] * n
    for m in range(1, n + 1):
        power = mul(power, c[:n + 1])
        if m >= 2:
            g = [gi + Fraction(m - 1, math.factorial(m)) * pi for gi, pi in zip(g, power)]
    assert g[2] == Fraction(1, 2) and all(x == 0 for x in g[3:])
