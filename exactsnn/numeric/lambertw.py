"""Lambert W in numba: the principal branch ``W0`` on ``[-1/e, inf]`` and ``W_{-1}`` on ``[-1/e, 0]``.

``W(x)`` solves ``W e^W = x``. Spike times of kernels of the form ``(a + b u) e^{-u/tau}`` (the alpha
PSP, LIF with ``tau_syn == tau_mem``) are Lambert-W expressions: the upward crossing uses ``W0``, the
downward one ``W_{-1}``. numba has no Lambert W, so it is written here (numpy + numba only, float64,
``cache=True``, no fastmath); tests check it against ``mpmath.lambertw`` at 50 digits to within 4 ulps.

Jitted kernels return ``(value, status)``; :data:`STATUS_OK` or :data:`STATUS_DOMAIN` (the argument is
outside the branch's domain or NaN, and the value is NaN). The Python wrappers :func:`lambertw0` and
:func:`lambertwm1` raise ``ValueError`` naming the offending value instead.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Status codes of the jitted kernels.
from .status import DOMAIN as STATUS_DOMAIN  # noqa: E402 (the status registry)
from .status import OK as STATUS_OK  # noqa: E402

#: ``-1/e = NEG_INV_E_HI + NEG_INV_E_LO``; the float ``NEG_INV_E_HI`` (nearest to ``-1/e``) lies
#: ``1.24e-17`` *below* ``-1/e``, i.e. just outside the real domain.
NEG_INV_E_HI = -0.36787944117144233
NEG_INV_E_LO = 1.2428753672788363e-17
#: ``e = E_HI + E_LO``.
E_HI = 2.718281828459045
E_LO = 1.4456468917292502e-16
#: Below this argument the branch-point formulation is used (see Notes of ``w0_status``).
BRANCH_REGION = -0.25

# q = W + 1 as a power series in p = +-sqrt(2 (e x + 1)) (p > 0 for W0, p < 0 for W_{-1}):
# q = sum_k BRANCH_SERIES[k] p^(k+1). Obtained by reverting 1 + (q - 1) e^q = p^2 / 2 in exact
# rational arithmetic: 1, -1/3, 11/72, -43/540, 769/17280, -221/8505, ...
BRANCH_SERIES = np.array([1.0, -0.3333333333333333, 0.1527777777777778, -0.07962962962962963,
                          0.044502314814814814, -0.02598471487360376, 0.01563563253233392,
                          -0.009616892024299432, 0.006014543252956118, -0.0038112980348919993])
# g(q) = q^2 sum_k G_SERIES[k] q^k, G_SERIES[k] = (k + 1) / (k + 2)!, to |q| <= 0.9 within 1e-18.
G_SERIES = np.array([(k + 1) / math.factorial(k + 2) for k in range(22)])
# W0 on [-1/e, 0] as the [10/10] Pade approximant P(p) / Q(p) of the branch series of W = q - 1 in
# p = sqrt(2 (e x + 1)) in [0, sqrt 2], computed in exact rational arithmetic from the 21 first series
# coefficients (the test recomputes them). Q has positive coefficients (no cancellation, poles at p < -1.4);
# the absolute error in float64 is below 1e-15 on the whole interval.
PADE_P = (-1.0, -2.5183965221741933, -2.0893434791852004, -0.13885510596345274, 0.8701058967362778,
          0.6270201327195157, 0.20593292360144214, 0.035761704241177965, 0.0031708638191591853,
          0.00012188778141343986, 1.2881736070427088e-06)
PADE_Q = (1.0, 3.5183965221741933, 5.27440666802606, 4.3932407110425595, 2.2229024306668004,
          0.7016145603009865, 0.13649673819513514, 0.015575884826805718, 0.0009392152818945693,
          2.411145987609921e-05, 1.500707975507968e-07)


@njit(cache=True)
def _branch_distance(x):
    """``r = e x + 1 = e (x + 1/e)`` with ``x + 1/e`` formed exactly (Sterbenz) near the branch point."""
    d = (x - NEG_INV_E_HI) - NEG_INV_E_LO
    return E_HI * d + E_LO * d


@njit(cache=True)
def _g(q):
    """``g(q) = 1 + (q - 1) e^q = q^2 sum_{n >= 2} (n - 1) q^(n-2) / n!``, accurate near ``q = 0``
    (Horner; the direct form cancels there)."""
    if abs(q) > 0.9:
        return 1.0 + (q - 1.0) * math.exp(q)
    acc = 0.0
    for k in range(G_SERIES.size - 1, -1, -1):
        acc = acc * q + G_SERIES[k]
    return q * q * acc


@njit(cache=True)
def _near_branch(r, sign):
    """``W`` from ``r = e x + 1 >= 0``: series in ``p = sign sqrt(2 r)``, then Newton on ``g(q) = r``."""
    p = sign * math.sqrt(2.0 * r)
    q = 0.0
    for k in range(BRANCH_SERIES.size - 1, -1, -1):
        q = (q + BRANCH_SERIES[k]) * p
    if abs(p) < 1e-3:
        return q - 1.0  # series truncation error below p^11
    for _ in range(8):
        step = (_g(q) - r) / (q * math.exp(q))
        q -= step
        if abs(step) <= 1e-16 * abs(q):
            break
    return q - 1.0


@njit(cache=True)
def _fritsch(x, w):
    """Refine ``w ~ W(x)`` by the iteration of Fritsch, Shafer & Crowley (1973), in log form
    (``z = log(x / w) - w``), which never evaluates ``e^w`` and so cannot overflow."""
    for _ in range(6):
        ratio = x / w
        if ratio < 1e-300:  # subnormal quotient: scale to keep its digits
            z = math.log((x * 2.0 ** 100) / w) - 100.0 * math.log(2.0) - w
        else:
            z = math.log(ratio) - w
        q = 2.0 * (1.0 + w) * (1.0 + w + 2.0 / 3.0 * z)
        eps = z / (1.0 + w) * (q - z) / (q - 2.0 * z)
        w = w * (1.0 + eps)
        if abs(eps) <= 2e-16:
            break
    return w


@njit(cache=True)
def w0_status(x):
    """Principal branch ``W0(x)`` and a status code.

    Parameters
    ----------
    x : float
        Argument, ``x >= -1/e`` (the float nearest ``-1/e`` is accepted and gives ``-1``).

    Returns
    -------
    w : float
        ``W0(x)``; NaN when ``status != 0``.
    status : int
        ``STATUS_OK``, or ``STATUS_DOMAIN`` for ``x < -1/e`` or NaN.

    Notes
    -----
    ``W0`` solves ``w e^w = x`` with ``w >= -1``. Regions:

    - ``x < BRANCH_REGION``: with ``q = w + 1`` the equation is ``g(q) = 1 + (q - 1) e^q = e x + 1``,
      where ``e x + 1`` is formed from the two-float split of ``-1/e`` (no cancellation). Start from
      the series ``q = p - p^2/3 + 11 p^3/72 - ...``, ``p = sqrt(2 (e x + 1))``, refine by Newton with
      ``g`` summed as ``sum (n - 1) q^n / n!``. The float nearest ``-1/e`` lies below ``-1/e``; it is
      taken to mean ``-1/e`` and gives exactly ``-1``.
    - otherwise: start ``w = L (1 - log(1 + L) / (2 + L))``, ``L = log1p(x)`` (Winitzki), refine by
      the Fritsch iteration; ``W0(0) = 0`` (sign kept), ``W0(inf) = inf``.
    """
    if not x >= NEG_INV_E_HI:  # also NaN
        return math.nan, STATUS_DOMAIN
    if x < BRANCH_REGION:
        r = _branch_distance(x)
        return (-1.0, STATUS_OK) if r <= 0.0 else (_near_branch(r, 1.0), STATUS_OK)
    if x == 0.0 or x == math.inf:
        return x, STATUS_OK
    lg = math.log1p(x)
    return _fritsch(x, lg * (1.0 - math.log1p(lg) / (2.0 + lg))), STATUS_OK


@njit(cache=True)
def wm1_status(x):
    """Lower branch ``W_{-1}(x)`` and a status code.

    Parameters
    ----------
    x : float
        Argument, ``-1/e <= x <= 0`` (the float nearest ``-1/e`` gives ``-1``; ``x = 0`` gives ``-inf``).

    Returns
    -------
    w : float
        ``W_{-1}(x)``; NaN when ``status != 0``.
    status : int
        ``STATUS_OK``, or ``STATUS_DOMAIN`` for ``x < -1/e``, ``x > 0`` or NaN.

    Notes
    -----
    ``W_{-1}`` solves ``w e^w = x`` with ``w <= -1``. Near the branch point as for ``W0`` with
    ``p = -sqrt(2 (e x + 1))``; for ``x >= BRANCH_REGION`` the start is ``L1 - L2 + L2 / L1``,
    ``L1 = log(-x)``, ``L2 = log(-L1)`` (de Bruijn's asymptotic series), refined by Fritsch's iteration.
    """
    if not (x >= NEG_INV_E_HI and x <= 0.0):
        return math.nan, STATUS_DOMAIN
    if x == 0.0:
        return -math.inf, STATUS_OK
    if x < BRANCH_REGION:
        r = _branch_distance(x)
        return (-1.0, STATUS_OK) if r <= 0.0 else (_near_branch(r, -1.0), STATUS_OK)
    l1 = math.log(-x)
    l2 = math.log(-l1)
    return _fritsch(x, l1 - l2 + l2 / l1), STATUS_OK


@njit(cache=True)
def w0_nonpositive(x):
    """``W0(x)`` for ``-1/e <= x <= 0`` without iteration, to an absolute error below ``1e-15``.

    Returns ``(w, status)`` like ``w0_status``. ``P(p) / Q(p)`` with ``p = sqrt(2 (e x + 1))`` (see
    ``PADE_P``): about a fifth of the cost of ``w0_status``, for callers that need ``w`` to absolute
    rather than relative accuracy (near ``x = 0``, where ``W0(x) ~ x``, the relative error grows).
    """
    if not (x >= NEG_INV_E_HI and x <= 0.0):
        return math.nan, STATUS_DOMAIN
    r = _branch_distance(x)
    p = math.sqrt(2.0 * r) if r > 0.0 else 0.0
    num = PADE_P[10]
    den = PADE_Q[10]
    for k in range(9, -1, -1):
        num = num * p + PADE_P[k]
        den = den * p + PADE_Q[k]
    return num / den, STATUS_OK


@njit(cache=True)
def w0(x):
    """``W0(x)``, NaN outside ``[-1/e, inf]`` (see ``w0_status``)."""
    return w0_status(x)[0]


@njit(cache=True)
def wm1(x):
    """``W_{-1}(x)``, NaN outside ``[-1/e, 0]`` (see ``wm1_status``)."""
    return wm1_status(x)[0]


@njit(cache=True)
def _map(kernel_is_w0, xs, out):
    """Apply a branch elementwise; return the index of the first out-of-domain entry, or -1."""
    bad = -1
    for i in range(xs.size):
        if kernel_is_w0:
            w, status = w0_status(xs[i])
        else:
            w, status = wm1_status(xs[i])
        out[i] = w
        if status != STATUS_OK and bad < 0:
            bad = i
    return bad


def _wrapper(x, is_w0: bool, domain: str, name: str):
    arr = np.asarray(x, dtype=np.float64)
    flat = np.ascontiguousarray(arr).ravel()
    out = np.empty_like(flat)
    bad = _map(is_w0, flat, out)
    if bad >= 0:
        raise ValueError(f"{name}: x = {float(flat[bad])!r} is outside the domain {domain} of the branch "
                         f"(the float nearest -1/e, {NEG_INV_E_HI!r}, is accepted)")
    return float(out[0]) if arr.ndim == 0 else out.reshape(arr.shape)


def lambertw0(x):
    """Principal branch of the Lambert W function, ``W0(x)``, elementwise.

    Parameters
    ----------
    x : float or array_like
        ``x >= -1/e``.

    Returns
    -------
    float or ndarray
        ``w`` with ``w e^w = x`` and ``w >= -1``.

    Raises
    ------
    ValueError
        If any entry is below ``-1/e`` or NaN; the message names the value.

    Notes
    -----
    Accurate to a few ulps (measured against ``mpmath.lambertw`` in ``tests/test_lambertw.py``),
    also at the branch point ``-1/e`` (see ``w0_status``).
    """
    return _wrapper(x, True, "[-1/e, inf]", "lambertw0")


def lambertwm1(x):
    """Lower branch of the Lambert W function, ``W_{-1}(x)``, elementwise.

    Parameters
    ----------
    x : float or array_like
        ``-1/e <= x <= 0``.

    Returns
    -------
    float or ndarray
        ``w`` with ``w e^w = x`` and ``w <= -1`` (``-inf`` at ``x = 0``).

    Raises
    ------
    ValueError
        If any entry is outside ``[-1/e, 0]`` or NaN; the message names the value.

    Notes
    -----
    ``W_{-1}(x) <= W0(x)``; at ``x = -1/e`` both are ``-1``. See ``wm1_status``.
    """
    return _wrapper(x, False, "[-1/e, 0]", "lambertwm1")
