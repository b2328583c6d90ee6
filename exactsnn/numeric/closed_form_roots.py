"""Closed-form upward threshold crossings of solvable exponential sums (numba only, float64).

Between events the potential of an ``expsum`` model is ``f(u) = sum_r (a_r + b_r u) e^{-rate_r u}
- theta``. Three structures of that sum have closed-form roots; the derivation layer detects them
with SymPy (``exactsnn/derive/closed_form.py``) and each generated module maps its state slots onto
these kernels (``es_closed_form``). With ``c`` the constant-rate part and ``x = e^{-l u}``:

- ``log``:        ``c + A x = theta``                  (non-leaky IF, one exponential)
- ``quadratic``:  ``c + P x + Q x^2 = theta``          (two rates in ratio 2: LIF at tau_mem = 2 tau_syn)
- ``lambert``:    ``c + (A + B u) x = theta``          (one rate with a ``u`` term: alpha PSP,
  LIF at tau_mem = tau_syn)

Each kernel returns the *upward* root (``f'(u) > 0``; the only one that can be a spike, since the
derivation guarantees at most one critical point) if it lies at ``u > 0``, else NaN. The simulator uses
the value only as the start of its bracketed Newton polish, inside the bracket that its sign test
found, so a wrong or inaccurate value can cost iterations, never a spike.

Stability. In ``y = 1 - x = -expm1(-l u)`` the log and quadratic equations have ``f0 = f(0)`` (the
state's distance below threshold at the interval start, which the simulator has computed anyway) as
their constant coefficient; ``u = -log1p(-y) / l`` then keeps full relative accuracy for small ``u``.
Quadratic roots are taken in the form without cancellation (``(beta + sqrt D) / 2Q`` or its Vieta
twin ``2 f0 / (beta - sqrt D)``). The Lambert argument at the branch point ``-1/e`` (a tangential
touch) may round just outside the domain; it is then read as ``-1/e``.
"""

import math

from numba import njit

from exactsnn.numeric.lambertw import NEG_INV_E_HI, STATUS_OK, w0_nonpositive, w0_status, wm1_status

# Arguments this close below -1/e are the branch point rounded outward (a few ulps of the product).
_BRANCH_SLACK = NEG_INV_E_HI * (1.0 + 64.0 * 2.220446049250313e-16)


@njit(cache=True)
def _u_of_y(l, y):
    """``u`` from ``y = 1 - e^{-l u}`` in (0, 1), else NaN."""
    if not (0.0 < y < 1.0):
        return math.nan
    return -math.log1p(-y) / l


@njit(cache=True)
def cf_log(l, a, f0):
    """Upward root of ``c + a e^{-l u} = theta`` given ``f0 = c + a - theta < 0``.

    In ``y``: ``f0 - a y = 0``, so ``y = f0 / a``; ``f'(u) = -l a e^{-l u} > 0`` needs ``a < 0``.
    """
    if not (l > 0.0 and a < 0.0):
        return math.nan
    return _u_of_y(l, f0 / a)


@njit(cache=True)
def cf_quadratic(l, p, q, f0):
    """Upward root of ``c + p x + q x^2 = theta``, ``x = e^{-l u}``, given ``f0 = c + p + q - theta``.

    In ``y``: ``q y^2 - beta y + f0 = 0`` with ``beta = p + 2 q``. ``f'(u) = -l x (p + 2 q x) > 0``
    means ``beta - 2 q y < 0``, which selects ``y = (beta + sqrt D) / (2 q)``, ``D = beta^2 - 4 q f0``
    (written as ``2 f0 / (beta - sqrt D)`` when ``beta <= 0``, where the first form cancels).
    """
    if not l > 0.0:
        return math.nan
    beta = p + 2.0 * q
    disc = beta * beta - 4.0 * q * f0
    if disc < 0.0:
        return math.nan  # no crossing (or a tangency rounded away): the bracket decides
    sq = math.sqrt(disc)
    if beta > 0.0:
        if q == 0.0:
            return math.nan  # decreasing line in y: no upward root
        return _u_of_y(l, (beta + sq) / (2.0 * q))
    den = beta - sq
    if den == 0.0:
        return math.nan
    return _u_of_y(l, 2.0 * f0 / den)


@njit(cache=True)
def cf_lambert(l, a, b, theta_eff, f0):
    """Upward root of ``(a + b u) e^{-l u} = theta_eff`` (``theta_eff = theta - c``, ``f0 = a - theta_eff``).

    With ``r = l a / b`` and ``w = -l (u + a / b)`` the equation is ``w e^w = X``,
    ``X = -(theta_eff l / b) e^{-r}``, so ``u = -(w + r) / l``. ``f'(u) = b (1 + w) e^{-l u}``: the upward
    root is on ``W0`` (``w >= -1``) when ``b > 0`` and on ``W_{-1}`` (``w <= -1``) when ``b < 0``.
    ``b == 0`` is the log form. In the spiking case (``theta_eff > 0 < b``, so ``-1/e <= X < 0``) ``W0``
    is the non-iterative ``w0_nonpositive`` (absolute error below 1e-15, which is what ``u`` needs).
    Forming ``u`` costs an absolute error of about ``eps |a / b|``; it does not cancel in the usual
    case ``a < 0`` (after a reset).
    """
    if not l > 0.0:
        return math.nan
    if b == 0.0:
        return cf_log(l, a, f0)
    r = l * a / b
    x = -(theta_eff * l / b) * math.exp(-r)
    if not math.isfinite(x):
        return math.nan
    if b > 0.0:
        w, status = w0_nonpositive(x) if x <= 0.0 else w0_status(x)
    else:
        w, status = wm1_status(x)
    if status != STATUS_OK:
        if not (_BRANCH_SLACK <= x < NEG_INV_E_HI):
            return math.nan
        w = -1.0  # the branch point, rounded outward: a tangential touch
    u = -(w + r) / l
    return u if u > 0.0 else math.nan


@njit(cache=True)
def cf_newton_state(x0, x1, c0, c1, theta, f0, plain):
    """Upward root of the two-node Newton state ``c0 e^{-x0 u} + c1 f[x0, x1](u) = theta`` where the
    nodes' relation gives a closed form, else NaN (see ``numeric/newton_state.py``).

    With ``delta = x1 - x0`` the plain sum is ``(c0 - c1/delta) e^{-x0 u} + (c1/delta) e^{-x1 u}``
    (``(c0 - c1 u) e^{-x u}`` when ``delta = 0``); its coefficients are bounded wherever a closed form
    applies (equal nodes, a zero node, or nodes in ratio 2):

    - ``x0 == x1``: Lambert, ``a = c0``, ``b = -c1``;
    - a zero node: log in the other exponential;
    - ``x1 == 2 x0`` or ``x0 == 2 x1``: quadratic in the slower exponential.

    ``plain``: the state is ``c0 e^{-x0 u} + c1 e^{-x1 u}`` (distinct rates) and is used as it is.
    """
    if plain:
        if x0 == 0.0:
            return cf_log(x1, c1, f0)
        if x1 == 0.0:
            return cf_log(x0, c0, f0)
        if x1 == 2.0 * x0:
            return cf_quadratic(x0, c0, c1, f0)
        if x0 == 2.0 * x1:
            return cf_quadratic(x1, c1, c0, f0)
        return math.nan
    if x0 == x1:
        return cf_lambert(x0, c0, -c1, theta, f0)
    delta = x1 - x0
    if x0 == 0.0:
        return cf_log(x1, c1 / delta, f0)
    if x1 == 0.0:
        return cf_log(x0, c0 - c1 / delta, f0)
    if x1 == 2.0 * x0:
        return cf_quadratic(x0, c0 - c1 / delta, c1 / delta, f0)
    if x0 == 2.0 * x1:
        return cf_quadratic(x1, c1 / delta, c0 - c1 / delta, f0)
    return math.nan
