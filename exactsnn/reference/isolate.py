"""Certified isolation of the first upward threshold crossing on one segment.

Given ``G = V - theta`` on a segment ``(a, b]`` (see :mod:`.potential`), :func:`first_crossing`
finds the earliest ``t`` in ``(a, b]`` with ``G(t) = 0`` and ``G' > 0``, or proves there is none.

Method (recursive bisection, left half first, on ``X = [lo, hi]``):

1. if the enclosure of ``G`` over ``X`` is ``< 0``: no crossing in ``X``;
2. if the enclosure of ``G'`` over ``X`` is ``< 0``: ``G`` decreases, so no upward crossing;
3. if the enclosure of ``G'`` is ``> 0``: ``G`` is strictly increasing, so ``X`` holds at most one
   root; thin enclosures of ``G(lo)`` and ``G(hi)`` decide: ``G(hi) < 0`` none,
   ``G(lo) < 0 < G(hi)`` exactly one, which is then polished;
4. otherwise split ``X`` in two; when ``X`` is narrower than ``min_width`` and still undecided
   (a tangential touch, ``G`` and ``G'`` both ~ 0), record it as *undecided* instead of guessing.

Every discarded piece is discarded by an outward-rounded enclosure, so if no undecided piece is
reported, no upward crossing was missed. A polished root is returned with a certified bracket
``[t - err, t + err]`` on which ``G`` changes sign.

Bounded work: a search tests at most ``ENCLOSURE_BUDGET`` pieces. The depth is bounded by
``min_width``, but when the enclosures do not narrow (every digit of ``G`` lost to cancellation, e.g.
a time constant ``tau >> t_max`` at too few working digits: ``e^{-s/tau_1} - e^{-s/tau_2}`` cancels
``log10(tau / s)`` digits) nothing is ever decided and the tree would grow like ``2^depth``; then
``BisectionBudgetError`` stops the search. Well-posed searches use far fewer pieces (at most 129 in the
first 40 networks of the property suite, tests/property_networks.py).
"""

from __future__ import annotations

from mpmath import iv, mp

from ..errors import SimulationError
from .potential import lower, upper

NONE, ROOT, SPLIT = "none", "root", "split"
#: Largest number of pieces one search may test (16x the most seen in well-posed searches).
ENCLOSURE_BUDGET = 2048


class BisectionBudgetError(SimulationError):
    """A crossing search tested ``ENCLOSURE_BUDGET`` pieces without deciding (``G``'s enclosures do not narrow)."""


def first_crossing(pot, a, b, min_width):
    """Earliest upward crossing of ``G = 0`` in ``(a, b]``.

    Parameters
    ----------
    pot : Potential
    a, b : mpf
        Segment ends, ``a <= b``.
    min_width : mpf
        Sub-intervals narrower than this that are still undecided are reported, not split.

    Returns
    -------
    root : tuple (t, err) or None
        The crossing time and the half-width of its certified bracket.
    undecided : list of (mpf, mpf)
        Merged sub-intervals (before ``root``) where no decision was possible.

    Raises
    ------
    BisectionBudgetError
        After ``ENCLOSURE_BUDGET`` pieces without a decision; the message gives the segment and the
        enclosure of ``G`` at its midpoint (its width shows the digits lost).
    """
    if not a < b:
        return None, []
    stack = [(a, b)]
    undecided = []
    tested = 0
    while stack:
        lo, hi = stack.pop()
        tested += 1
        if tested > ENCLOSURE_BUDGET:
            mid = a + (b - a) / 2
            box = pot.point(iv, mid, 0)
            raise BisectionBudgetError(
                f"the search for a threshold crossing on ({mp.nstr(a, 10)}, {mp.nstr(b, 10)}] tested "
                f"ENCLOSURE_BUDGET = {ENCLOSURE_BUDGET} pieces without a decision: the enclosures of V do not "
                f"narrow at {mp.dps} working digits (V - threshold at t = {mp.nstr(mid, 10)} lies in "
                f"[{mp.nstr(mp.mpf(box.a), 5)}, {mp.nstr(mp.mpf(box.b), 5)}])")
        verdict = _classify(pot, lo, hi, at_start=(lo == a))
        if verdict == ROOT:
            return polish(pot, lo, hi), _merge(undecided)
        if verdict == SPLIT:
            if hi - lo < min_width:
                undecided.append((lo, hi))
                continue
            mid = lo + (hi - lo) / 2
            stack.append((mid, hi))
            stack.append((lo, mid))
    return None, _merge(undecided)


def _classify(pot, lo, hi, at_start):
    if upper(pot.enclose(lo, hi, 0)) < 0:
        return NONE
    slope = pot.enclose(lo, hi, 1)
    if upper(slope) < 0:
        return NONE
    if lower(slope) > 0:
        g_hi = pot.point(iv, hi, 0)
        if upper(g_hi) < 0:
            return NONE
        g_lo = pot.point(iv, lo, 0)
        if upper(g_lo) < 0 and lower(g_hi) > 0:
            return ROOT
        if lower(g_lo) > 0 and not at_start:
            # Already above threshold at lo: the crossing lies to the left (found or undecided there).
            return NONE
    return SPLIT


def _merge(pieces):
    merged = []
    for lo, hi in pieces:
        if merged and merged[-1][1] == lo:
            merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def polish(pot, lo, hi, max_iter: int = 200):
    """Root of ``G`` on ``[lo, hi]`` where ``G' > 0``, ``G(lo) < 0 < G(hi)`` (all certified).

    Safeguarded Newton iteration in ``mp`` at the working precision, keeping the bracket; it stops
    when the step falls below a few ulps, or when steps stop shrinking and the enclosure of ``G(x)``
    contains 0 (the rounding-noise floor). A certificate follows:
    the smallest tried ``err`` with ``G(t - err) < 0 < G(t + err)`` in ``iv``.

    Returns
    -------
    (t, err) : (mpf, mpf)
    """
    x = lo + (hi - lo) / 2
    a, b = lo, hi
    tol = mp.ldexp(max(abs(x), mp.one), 4 - mp.prec)
    last = mp.inf
    for _ in range(max_iter):
        g, dg = pot.value_slope(x)
        if g == 0:
            break
        if g < 0:
            a = x
        else:
            b = x
        newton = g / dg if dg > 0 else mp.inf
        if abs(newton) <= tol:
            x = min(max(x - newton, a), b)
            break
        if abs(newton) > last / 2 and _at_noise_floor(pot, x):
            break
        last = abs(newton)
        x = x - newton
        if not a < x < b:
            x = a + (b - a) / 2
        if b - a <= tol:
            break
    return x, _certify(pot, x, lo, hi)


def _at_noise_floor(pot, x):
    """True when the rigorous enclosure of ``G(x)`` contains 0: no iteration can do better."""
    box = pot.point(iv, x, 0)
    return lower(box) <= 0 <= upper(box)


def _certify(pot, x, lo, hi):
    err = mp.ldexp(max(abs(x), mp.one), 10 - mp.prec)
    while err < hi - lo:
        left, right = max(x - err, lo), min(x + err, hi)
        if upper(pot.point(iv, left, 0)) < 0 and lower(pot.point(iv, right, 0)) > 0:
            return err
        err *= 256
    return hi - lo
