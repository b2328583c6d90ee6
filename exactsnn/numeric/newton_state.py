"""A neuron's potential between events in two-node Newton form, and its first upward threshold crossing.

For the ``expsum`` strategy (``derive/newton_state.py``) the potential ``u`` after the state's reference
time, minus the threshold, is

    F(u) = c0 N0(u) + c1 N1(u) - theta,    N0 = exp(-x0 u),   N1 = f[x0, x1](u) = expdd2(u, x0, x1),

where ``f[x0, x1]`` is the divided difference of ``lam -> exp(-lam u)``: smooth in the nodes, equal
nodes included, so the coefficients ``(c0, c1)`` stay bounded however close ``x0`` and ``x1`` are (the
plain coefficients of ``a0 exp(-x0 u) + a1 exp(-x1 u)`` grow like ``1 / (x1 - x0)``).

Moving the reference time by ``du`` (Leibniz's rule for the divided difference of
``exp(-lam (u + du)) = exp(-lam u) exp(-lam du)``):

    c0' = c0 exp(-x0 du) + c1 f[x0, x1](du),     c1' = c1 exp(-x1 du).

Derivative (``d/du f[x0, x1] = -(x1 f[x0, x1] + f[x0])``):

    F'(u) = d0 N0(u) + d1 N1(u),    d0 = -(x0 c0 + c1),   d1 = -x1 c1.

Critical point: ``F'(u) = exp(-x0 u) (d0 - d1 phi(u))`` with ``phi(u) = (1 - exp(-delta u)) / delta``,
``delta = x1 - x0`` (``phi(u) = u`` at ``delta = 0``), strictly increasing from ``phi(0) = 0``. So ``F'``
has at most one zero, ``phi(u*) = r = d0 / d1``, which exists iff ``r > 0`` and ``z = delta r < 1``:

    u* = r L(z),    L(z) = -log1p(-z) / z,   L(0) = 1,

free of cancellation (``log1p``) at every distance of the nodes. ``F`` is monotone on ``(0, u*]`` and on
``[u*, L]``; the sign test at the pieces' ends brackets the first upward crossing, so none is missed
(``state_bracket``), and Newton inside the bracket polishes it (``state_polish``).

``plain`` (a model constant, ``STATE_PLAIN``): the second basis function is ``exp(-x1 u)`` instead, for
two rates whose plain coefficients cannot cancel (``derive/newton_state.py``). Then
``c0' = c0 exp(-x0 du)``, ``c1' = c1 exp(-x1 du)``, ``F' = -x0 c0 exp(-x0 u) - x1 c1 exp(-x1 u)``, and
``F'(u*) = 0`` at ``u* = log(x1 c1 / (-x0 c0)) / (x1 - x0)``.
"""

import math

from numba import njit

from exactsnn.numeric.expdd import _g1


#: ``_other_exp`` uses the identity below this y: there ``y G_1(y) < 1/64`` adds at most ~0.03 ulp to the
#: product's rounding (at y = 1/2 it added ~1.5 ulps, enough to move a polished spike time by 10 ulps).
_OTHER_EXP_IDENTITY = 1.0 / 64.0


@njit(cache=True)
def _other_exp(e_small, g, y, big, u):
    """exp(-big u) from ``e_small = exp(-small u)`` and ``g = G_1(y)``, ``y = (big - small) u``: the identity
    ``exp(-y) = 1 - y G_1(y)`` for small y (the nodes close: near a singular set, every event), else directly."""
    return e_small * (1.0 - y * g) if y < _OTHER_EXP_IDENTITY else math.exp(-big * u)


@njit(cache=True)
def state_basis(u, x0, x1):
    """(N0, N1) = (exp(-x0 u), f[x0, x1](u)) from one exponential and one ``G_1`` (two exponentials when the
    nodes are not close and x0 is the larger): with ``m, M`` the smaller and larger node and
    ``y = (M - m) u``, ``f[x0, x1](u) = -u exp(-m u) G_1(y)`` (``expdd2``) and
    ``exp(-M u) = exp(-m u) (1 - y G_1(y))``.
    """
    small, big = (x0, x1) if x0 <= x1 else (x1, x0)
    y = (big - small) * u
    e_small = math.exp(-small * u)
    g = _g1(y)
    n1 = -u * e_small * g
    if x0 <= x1:
        return e_small, n1
    return _other_exp(e_small, g, y, big, u), n1


@njit(cache=True)
def state_value(x0, x1, c0, c1, theta, u, plain):
    """F(u) = c0 exp(-x0 u) + c1 f[x0, x1](u) - theta (plain: c1 exp(-x1 u)).

    Summed as ``(-theta + c0 exp(-x0 u)) + c1 ...``: with a zero rate (``x0 = 0``) the constant part is
    exact first, so a potential that tends to the threshold from below never rounds up onto it.
    """
    if plain:
        return -theta + c0 * math.exp(-x0 * u) + c1 * math.exp(-x1 * u)
    n0, n1 = state_basis(u, x0, x1)
    return -theta + c0 * n0 + c1 * n1


@njit(cache=True)
def state_slope(x0, x1, c0, c1, u, plain):
    """F'(u) = -(x0 c0 + c1) exp(-x0 u) - x1 c1 f[x0, x1](u) (plain: -x0 c0 exp(-x0 u) - x1 c1 exp(-x1 u))."""
    if plain:
        return -x0 * c0 * math.exp(-x0 * u) - x1 * c1 * math.exp(-x1 * u)
    n0, n1 = state_basis(u, x0, x1)
    return -(x0 * c0 + c1) * n0 - x1 * c1 * n1


@njit(cache=True)
def state_shift_add(x0, x1, c0, c1, du, k0, k1, weight, plain):
    """State moved forward by du, plus weight * (k0, k1) (a kernel's coefficients in the same basis):
    ``c0' = c0 N0(du) + c1 N1(du)``, ``c1' = c1 exp(-x1 du)``, from one exponential and one ``G_1``
    (as ``state_basis``; the other exponential by ``_other_exp``)."""
    _, c0n, c1n = state_slope_shift_add(x0, x1, c0, c1, du, k0, k1, weight, plain)
    return c0n, c1n


@njit(cache=True)
def state_basis3(u, x0, x1, plain):
    """(e0, n1, e1) = (exp(-x0 u), N1(u), exp(-x1 u)) from one exponential and one ``G_1`` (``state_basis``;
    plain: N1 = e1). Everything that moves the state by u (``state_slope_shift_add``, ``state_shift_basis``)
    starts from these, so a value cached at u gives the same bits as recomputing it."""
    if plain:
        e0 = math.exp(-x0 * u)
        e1 = math.exp(-x1 * u)
        return e0, e1, e1
    small, big = (x0, x1) if x0 <= x1 else (x1, x0)
    y = (big - small) * u
    e_small = math.exp(-small * u)
    g = _g1(y)
    e_big = _other_exp(e_small, g, y, big, u)
    e0, e1 = (e_small, e_big) if x0 <= x1 else (e_big, e_small)
    return e0, -u * e_small * g, e1


@njit(cache=True)
def state_shift_basis(c0, c1, e0, n1, e1, k0, k1, weight, plain):
    """``state_shift_add`` from the basis at du (``state_basis3``): c0' = c0 e0 + c1 n1 + weight k0,
    c1' = c1 e1 + weight k1 (plain: c0' = c0 e0 + weight k0)."""
    if plain:
        return c0 * e0 + weight * k0, c1 * e1 + weight * k1
    return c0 * e0 + c1 * n1 + weight * k0, c1 * e1 + weight * k1


@njit(cache=True)
def state_slope_shift_add(x0, x1, c0, c1, du, k0, k1, weight, plain):
    """(F'(du), c0', c1'): ``state_slope`` at du and ``state_shift_add`` by du from one set of exponentials,
    bit-identical to the two calls (a spike needs dV/dt before its reset and the reset itself)."""
    e0, n1, e1 = state_basis3(du, x0, x1, plain)
    c0n, c1n = state_shift_basis(c0, c1, e0, n1, e1, k0, k1, weight, plain)
    if plain:
        return -x0 * c0 * e0 - x1 * c1 * e1, c0n, c1n
    return -(x0 * c0 + c1) * e0 - x1 * c1 * n1, c0n, c1n


@njit(cache=True)
def state_value0(c0, c1, theta, plain):
    """F(0) = c0 - theta (plain: c0 + c1 - theta) without exponentials; equals ``state_value(.., 0.0, ..)``.

    At u = 0: exp(0) = 1 and f[x0, x1](0) = -0.0, so ``state_value`` sums ``(-theta + c0) + c1 * (-0.0)``,
    which is ``-theta + c0`` (a signed zero added to a number leaves it; to +0 it gives +0).
    """
    if plain:
        return -theta + c0 + c1
    return -theta + c0


@njit(cache=True)
def state_value_slope(x0, x1, c0, c1, theta, u, plain):
    """(F(u), F'(u)) from one set of exponentials: bit-identical to ``state_value`` and ``state_slope``.

    Newton's step needs both at the same u; computed apart they would evaluate the basis twice.
    """
    if plain:
        e0 = math.exp(-x0 * u)
        e1 = math.exp(-x1 * u)
        return -theta + c0 * e0 + c1 * e1, -x0 * c0 * e0 - x1 * c1 * e1
    n0, n1 = state_basis(u, x0, x1)
    return -theta + c0 * n0 + c1 * n1, -(x0 * c0 + c1) * n0 - x1 * c1 * n1


@njit(cache=True)
def _plain_critical(x0, x1, c0, c1):
    """u* of F' = P exp(-x0 u) + Q exp(-x1 u), P = -x0 c0, Q = -x1 c1 (distinct rates), or nan."""
    slope0 = -x0 * c0
    slope1 = -x1 * c1
    if slope0 == 0.0 or slope1 == 0.0:
        return math.nan
    ratio = -slope1 / slope0
    if not ratio > 0.0:
        return math.nan
    return math.log(ratio) / (x1 - x0)


#: Below this |z|, ``state_critical`` sums L(z) = sum_k z**k / (k + 1) (6 terms; the first omitted, z**6 / 7, is
#: below 1.5e-19 of L) instead of calling log1p: near a singular set (tau_syn ~ tau_mem) z = (x1 - x0) r is tiny
#: at every event.
_L_SERIES = 1e-3


@njit(cache=True)
def state_critical(x0, x1, c0, c1, plain):
    """u* > 0 with F'(u*) = 0, or nan when F' has no zero on (0, inf)."""
    if plain:
        return _plain_critical(x0, x1, c0, c1)
    if x0 == 0.0 or x1 == 0.0:
        return math.nan  # F' is one exponential: -c1 exp(-x u)
    slope0 = -(x0 * c0 + c1)
    slope1 = -x1 * c1
    if slope1 == 0.0:
        return math.nan
    ratio = slope0 / slope1
    if not ratio > 0.0:
        return math.nan
    z = (x1 - x0) * ratio
    if not z < 1.0:
        return math.nan
    if abs(z) < _L_SERIES:
        return ratio * (1.0 + z * (1.0 / 2.0 + z * (1.0 / 3.0 + z * (1.0 / 4.0 + z * (1.0 / 5.0 + z * (1.0 / 6.0))))))
    return ratio * (-math.log1p(-z) / z)


@njit(cache=True)
def state_window_max(x0, x1, c0, c1, theta, f0, e0, n1, plain):
    """(margin, u*, F(u*)) of a sub-threshold maximum of F inside the window (0, du), given F(0) = f0 and the
    basis at du (``state_basis3``'s e0 and n1), or (inf, nan, nan) when F has no maximum there.

    F' = a N0 + b N1 with ``a = -(x0 c0 + c1)`` (plain: ``-x0 c0``), ``b = -x1 c1``; F' has at most one zero, so a
    maximum lies in (0, du) exactly when F'(0) > 0 > F'(du) (``F'(0) = a``; plain: ``a + b``). Only then are u*
    (``state_critical``) and F(u*) computed; margin = -F(u*) when F(u*) < 0 and F(u*) > f0, else inf.

    This is the near-miss that the potential actually reaches before the neuron's next event: a maximum of the
    current segment's extrapolation past that event (which changes the state) is never reached. Both simulators
    call it at every arrival with the same state and the same basis, so they record the same margins.
    """
    a = -x0 * c0 if plain else -(x0 * c0 + c1)
    b = -x1 * c1
    slope0 = a + b if plain else a
    if not (slope0 > 0.0 and a * e0 + b * n1 < 0.0):
        return math.inf, math.nan, math.nan
    ucrit = state_critical(x0, x1, c0, c1, plain)
    if not ucrit > 0.0:
        return math.inf, math.nan, math.nan
    f_crit = state_value(x0, x1, c0, c1, theta, ucrit, plain)
    return (-f_crit if f_crit < 0.0 and f_crit > f0 else math.inf), ucrit, f_crit


@njit(cache=True)
def state_bracket(x0, x1, c0, c1, theta, f_lo, length, plain):
    """The piece of (0, length] that holds the first upward zero of F, given f_lo = F(0) < 0.

    Returns (lo, hi, margin): F is increasing on [lo, hi] with F(lo) < 0 <= F(hi), or lo = hi = nan
    when there is no upward zero; margin = theta - V at an interior sub-threshold maximum before it
    (inf when there is none), the distance by which a spike was missed.
    """
    ucrit = state_critical(x0, x1, c0, c1, plain)
    f_crit = state_value(x0, x1, c0, c1, theta, ucrit, plain) if 0.0 < ucrit < length else math.nan
    return state_bracket_given(x0, x1, c0, c1, theta, f_lo, length, plain, ucrit, f_crit, False)


@njit(cache=True)
def state_bracket_hi(x0, x1, c0, c1, length, plain):
    """The bracket's upper end when it starts at 0 on a rising F: u* if ``0 < u* < length`` (F's maximum),
    else ``length`` (``state_bracket_given``'s (0, u*) and (0, length)). The polish asks for it only when a
    known lower bound of it does not settle a comparison (``state_polish``'s ``hi_floor``)."""
    ucrit = state_critical(x0, x1, c0, c1, plain)
    return ucrit if 0.0 < ucrit < length else length


#: ``state_root_floor`` keeps this relative distance below the linear bound, far more than the polished root's
#: rounding (a few ulps of the state's terms over F', checked below), so the floor never passes that root.
_FLOOR_SHRINK = 1e-9


@njit(cache=True)
def state_root_floor(x0, x1, c0, c1, theta, f0, lo, hi, plain):
    """A lower bound u_lb > 0 of the first crossing in the bracket (0, hi] (F(0) = f0 < 0), or 0 when none is
    offered (a bracket not starting at 0, a growing exponential, F(0) within rounding of the threshold).

    F(u) <= f0 + B u with B >= max F' on [0, hi], so the crossing is past -f0 / B. Nonnegative rates:
    ``F' = exp(-x0 u) (a - b phi(u))`` with ``phi(u) = u G_1((x1 - x0) u)`` increasing, so
    ``B = max(|a|, |a - b phi(hi)|)`` (plain: ``|x0 c0| + |x1 c1|``); the bound is shrunk by ``_FLOOR_SHRINK``
    (and B raised by 1e-12) so that rounding of the polished root cannot put it below.
    """
    if lo != 0.0 or not (x0 >= 0.0 and x1 >= 0.0):
        return 0.0
    if plain:
        bound = abs(x0 * c0) + abs(x1 * c1)
    else:
        a = -(x0 * c0 + c1)
        b = -x1 * c1
        bound = max(abs(a), abs(a - b * hi * _g1((x1 - x0) * hi)))
    if not (bound > 0.0 and -f0 > 1e-6 * (theta + abs(c0) + abs(c1) * max(hi, 1.0))):
        return 0.0
    u = -f0 / (bound * (1.0 + 1e-12)) * (1.0 - _FLOOR_SHRINK)
    return u if u < hi else 0.0


@njit(cache=True)
def state_bracket_given(x0, x1, c0, c1, theta, f_lo, length, plain, ucrit, f_crit, end_above):
    """``state_bracket`` with the critical point ``ucrit`` (``state_critical``) and ``f_crit = F(ucrit)``
    (nan unless ``0 < ucrit < length``) already computed: the feed-forward path's window test computes
    them first and passes them on, so both paths run the same arithmetic.

    ``end_above``: the caller knows that F(length) evaluates >= 0 (``state_crossing_before``: F(w) clearly
    positive at some w < length on the increasing piece), so F(length) is not evaluated; only its sign is used.
    """
    margin = math.inf
    lo = 0.0
    if ucrit > 0.0 and ucrit < length:
        if f_lo < 0.0 <= f_crit:
            return lo, ucrit, margin
        if f_crit < 0.0 and f_crit > f_lo:
            margin = -f_crit  # sub-threshold maximum at u*
        lo = ucrit
        f_lo = f_crit
    f_hi = 0.0 if end_above else state_value(x0, x1, c0, c1, theta, length, plain)
    if f_lo < 0.0 <= f_hi:
        return lo, length, margin
    return math.nan, math.nan, margin


@njit(cache=True)
def state_taylor_root(x0, x1, c0, c1, f0, plain):
    """Newton's usual start for the first crossing after 0: the root of F's Taylor quadratic at 0, or nan when
    F'(0) <= 0.

    With ``a = F'(0)`` and ``b = F''(0)`` (no exponentials at u = 0: ``N0 = 1, N0' = -x0, N0'' = x0^2``,
    ``N1 = 0, N1' = -1, N1'' = x0 + x1``; plain: ``N1 = exp(-x1 u)``), the root of
    ``f0 + a u + b u^2 / 2`` is ``u = -2 f0 / (a + sqrt(a^2 - 2 b f0))`` (no cancellation: ``a > 0``,
    ``f0 < 0``), or ``-f0 / a`` (Newton's step from 0) when the quadratic has none. A crossing is usually
    near 0 against the state's time scale, where this start is within ``O(F''' u^3)`` of the root and
    Halley needs one or two steps (from the bracket's midpoint Newton needed about 7). The engine
    (``engine_crossing.state_polish_in``) starts from the bracket's midpoint when the bracket does not start
    at 0 or this root is outside it, and from the model's closed form when the root is far from 0. The start
    costs iterations, never correctness: ``state_polish`` keeps its iterates in the bracket.
    """
    if plain:
        a = -x0 * c0 - x1 * c1
        b = x0 * x0 * c0 + x1 * x1 * c1
    else:
        a = -(x0 * c0 + c1)
        b = x0 * x0 * c0 + (x0 + x1) * c1
    if not a > 0.0:
        return math.nan
    disc = a * a - 2.0 * b * f0
    return -2.0 * f0 / (a + math.sqrt(disc)) if disc >= 0.0 else -f0 / a


@njit(cache=True)
def state_derivatives(x0, x1, c0, c1, theta, u, plain):
    """(F, F', F'', F''') at u from one set of exponentials.

    A sum ``a N0 + b N1`` differentiates to ``-(x0 a + b) N0 - x1 b N1`` (plain: ``-x0 a N0 - x1 b N1``):
    each derivative is the previous one's coefficients pushed through that map, on the same ``N0, N1``.
    """
    if plain:
        n0, n1 = math.exp(-x0 * u), math.exp(-x1 * u)
        a1, b1 = -x0 * c0, -x1 * c1
        a2, b2 = -x0 * a1, -x1 * b1
        a3, b3 = -x0 * a2, -x1 * b2
    else:
        n0, n1 = state_basis(u, x0, x1)
        a1, b1 = -(x0 * c0 + c1), -x1 * c1
        a2, b2 = -(x0 * a1 + b1), -x1 * b1
        a3, b3 = -(x0 * a2 + b2), -x1 * b2
    return -theta + c0 * n0 + c1 * n1, a1 * n0 + b1 * n1, a2 * n0 + b2 * n1, a3 * n0 + b3 * n1


#: ``state_polish`` stops once the predicted error of its last step is below this fraction of the iterate
#: (a quarter of the unit roundoff 2**-53): what is left is the rounding of F itself.
_POLISH_REL = 2.0 ** -55
#: Safety factor on the predicted error (the derivatives are taken at the iterate, not between it and the root).
_POLISH_SAFETY = 8.0


@njit(cache=True)
def state_polish(x0, x1, c0, c1, theta, lo, hi, u, plain):
    """Root of an increasing F on [lo, hi] with F(lo) < 0 <= F(hi): Halley's iteration from u, kept in the bracket.

    Halley's step ``s = -h / (1 - h F'' / (2 F'))``, ``h = F / F'``, converges cubically: the error after it is
    ``e' = A e^3 + O(e^4)`` with ``A = (F''/(2F'))**2 - F'''/(6F')`` and ``e ~ |s|``. The iteration stops when
    ``_POLISH_SAFETY |A| |s|**3 <= _POLISH_REL |u + s|`` (what remains is below the rounding of F itself), or, as
    before, when a step is at most 4 ulps of u or the bracket is 2 ulps wide. From the usual start (the root of
    F's Taylor quadratic, ``state_taylor_root``) that is two evaluations where Newton with a confirming step needed
    three or more. A step that leaves the bracket, or a non-positive slope, bisects instead (and never stops early).
    """
    return state_polish_lazy(x0, x1, c0, c1, theta, lo, hi, u, plain, hi, hi)


@njit(cache=True)
def _need_hi(x0, x1, c0, c1, hi, length, plain):
    """hi, or ``state_bracket_hi`` when it stands for that (nan)."""
    return state_bracket_hi(x0, x1, c0, c1, length, plain) if math.isnan(hi) else hi


@njit(cache=True)
def state_polish_lazy(x0, x1, c0, c1, theta, lo, hi, u, plain, hi_floor, length):
    """``state_polish`` where ``hi = nan`` stands for ``state_bracket_hi(.., length, ..)``, known to be at least
    ``hi_floor``: it is computed only when a comparison needs more than that bound (a step at or past hi_floor, a
    bisection, a bracket that may be down to 2 ulps). Each comparison has the outcome it has with hi given, so
    the iterates and the root are the same floats (the feed-forward path saves u*'s logarithm per spike).
    """
    for _ in range(200):
        f_u, d1, d2, d3 = state_derivatives(x0, x1, c0, c1, theta, u, plain)
        if f_u == 0.0:
            return u
        if f_u < 0.0:
            lo = u
        else:
            hi = hi_floor = u
        converged = False
        if d1 > 0.0:
            # Halley's step -h / denom with h = F / F', denom = 1 - h F'' / (2 F'), written with one division:
            # -F F' / (F'^2 - F F'' / 2); the predicted error |A| |s|^3 is compared times F'^2 (> 0).
            sq = d1 * d1
            dd = sq - 0.5 * f_u * d2  # denom F'^2
            if 0.5 * sq <= dd <= 2.0 * sq:
                nxt = u - f_u * d1 / dd
                step = abs(nxt - u)
                converged = (_POLISH_SAFETY * abs(0.25 * d2 * d2 - d1 * d3 / 6.0) * step * step * step
                             <= _POLISH_REL * abs(nxt) * sq)
            else:
                nxt = u - f_u / d1
        else:
            hi = _need_hi(x0, x1, c0, c1, hi, length, plain)
            nxt = 0.5 * (lo + hi)
        if not (lo < nxt and nxt < hi_floor):  # else lo < nxt < hi_floor <= hi
            hi = _need_hi(x0, x1, c0, c1, hi, length, plain)
            if not (lo < nxt < hi):
                nxt = 0.5 * (lo + hi)
                converged = False
        if converged or abs(nxt - u) <= 8.881784197001252e-16 * abs(u):
            return nxt
        if not (math.isnan(hi) and lo < 0.5 * hi_floor):  # else hi - lo > hi_floor / 2 > 2 ulps of hi
            hi = _need_hi(x0, x1, c0, c1, hi, length, plain)
            if hi - lo <= 4.440892098500626e-16 * max(abs(lo), abs(hi)):
                return nxt
        u = nxt
    return u
