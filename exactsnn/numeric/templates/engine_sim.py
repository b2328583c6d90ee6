"""Event-driven exact simulator. TEMPLATE: stamped into every generated model module.

The kernels (``psp``, ``reset``, ...) are the generated module's own functions: numba can
only inline and cache them when they are globals of the same module, so codegen copies this
file below the kernels. Lines ending in ``# stamp: drop`` are removed when stamping.

Algorithm (per input pattern):

- pending synaptic arrivals: input arrivals in one pre-sorted stream, arrivals caused by neuron
  spikes in a min-heap keyed by (time, sequence);
- each neuron keeps its *candidate*: the first upward threshold crossing of its potential on
  ``(last event, t_max]`` assuming no further input; a min-tree gives the earliest one;
- the next event is the earlier of the heap top and the earliest candidate (a spike wins a
  tie, since ``psp(0+) = 0`` leaves V continuous at an arrival); only the neuron that
  received an arrival or spiked needs a new candidate.

Candidates are found by the model's strategy: ``expsum`` (closed-form critical point of the
neuron's two-coefficient Newton state, see ``newton_state``; Newton inside the bracket starts from the
model's closed-form spike time where one exists, see ``closed_form_roots``) or ``interval`` (bisection with interval
enclosures of V and dV/dt; a box is discarded only when the enclosure proves it holds no
upward crossing). ``expsum`` spikes are polished on the neuron's O(1) state (constant work per
event; its rounding is bounded in ``proofs/recursive_state.md``); ``interval`` spikes by Newton on
the defining sum ``V(t) = sum w psp(t - t_arr) - sum reset(t - t_own)`` (kernels without a finite
state keep the history path).

The causal record is a persistent linked list: each arrival points to the previous arrival at
the same neuron, each spike stores the arrival-list head and its neuron's previous spike.
"""

import math

import numpy as np
from numba import njit

from exactsnn.numeric.interval import iv_add, iv_scale
from exactsnn.numeric.templates.kernel_stubs import (  # stamp: drop
    dpsp_ds, dreset_ds, iv_dpsp_ds, iv_dreset_ds,  # stamp: drop
    iv_psp, iv_reset, psp, reset,  # stamp: drop
)  # stamp: drop

from exactsnn.numeric.status import ABOVE_AFTER_RESET as ST_ABOVE_AFTER_RESET  # noqa: E402 (the registry)
from exactsnn.numeric.status import BOX_BUDGET as ST_BOX_BUDGET  # noqa: E402
from exactsnn.numeric.status import OK as ST_OK  # noqa: E402
from exactsnn.numeric.status import SPIKE_BUDGET as ST_SPIKE_BUDGET  # noqa: E402
from exactsnn.numeric.status import UNSUPPORTED as ST_UNSUPPORTED  # noqa: E402

MAX_BOXES = 200000
#: interval strategy: sub-threshold maxima closer than MARGIN_REFINE * theta get their margin to within 20 %
MARGIN_REFINE = 1e-5
MAX_REFINE = 4096


@njit(cache=True)
def potential(t, p, theta, j, arr_head, arr_time, arr_syn, arr_prev, syn_w, last_spk, spk_time, spk_prev):
    """(F, dF/dt) at t+ for neuron j, F = V - theta, summed over its whole history.

    Events at exactly t count with their kernels' right limits (s = 0+): at a spike time this
    is the potential just after the reset.
    """
    f = -theta
    d = 0.0
    a = arr_head[j]
    while a >= 0:
        s = t - arr_time[a]
        if s >= 0.0:
            w = syn_w[arr_syn[a]]
            f += w * psp(s, p)
            d += w * dpsp_ds(s, p)
        a = arr_prev[a]
    m = last_spk[j]
    while m >= 0:
        s = t - spk_time[m]
        if s >= 0.0:
            f -= reset(s, p)
            d -= dreset_ds(s, p)
        m = spk_prev[m]
    return f, d


@njit(cache=True)
def enclose(lo, hi, p, theta, j, arr_head, arr_time, arr_syn, arr_prev, syn_w, last_spk, spk_time, spk_prev):
    """Enclosures of F and dF/dt over [lo, hi] (interval strategy)."""
    fl, fh, dl, dh = -theta, -theta, 0.0, 0.0
    a = arr_head[j]
    while a >= 0:
        sh = hi - arr_time[a]
        if sh > 0.0:
            sl = max(lo - arr_time[a], 0.0)
            w = syn_w[arr_syn[a]]
            kl, kh = iv_psp(sl, sh, p)
            kl, kh = iv_scale(w, kl, kh)
            fl, fh = iv_add(fl, fh, kl, kh)
            kl, kh = iv_dpsp_ds(sl, sh, p)
            kl, kh = iv_scale(w, kl, kh)
            dl, dh = iv_add(dl, dh, kl, kh)
        a = arr_prev[a]
    m = last_spk[j]
    while m >= 0:
        sh = hi - spk_time[m]
        if sh > 0.0:
            sl = max(lo - spk_time[m], 0.0)
            kl, kh = iv_reset(sl, sh, p)
            fl, fh = iv_add(fl, fh, -kh, -kl)
            kl, kh = iv_dreset_ds(sl, sh, p)
            dl, dh = iv_add(dl, dh, -kh, -kl)
        m = spk_prev[m]
    return fl, fh, dl, dh


@njit(cache=True)
def newton_polish(t, lo, hi, p, theta, j, arr_head, arr_time, arr_syn, arr_prev, syn_w, last_spk, spk_time,
                  spk_prev):
    """Refine a crossing on the defining sum; Newton steps kept inside [lo, hi]."""
    for _ in range(60):
        f, d = potential(t, p, theta, j, arr_head, arr_time, arr_syn, arr_prev, syn_w, last_spk, spk_time,
                         spk_prev)
        if f == 0.0:
            return t
        if f < 0.0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        nxt = t - f / d if d > 0.0 else 0.5 * (lo + hi)
        if not (lo <= nxt <= hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - t) <= 2.220446049250313e-16 * abs(t) or hi - lo <= 4.440892098500626e-16 * abs(hi):
            return nxt
        t = nxt
    return t


@njit(cache=True)
def interval_search(t0, t_max, p, theta, j, arr_head, arr_time, arr_syn, arr_prev, syn_w, last_spk, spk_time,
                    spk_prev, stack):
    """First upward crossing on (t0, t_max] by bisection on interval enclosures.

    Returns (status, lo, hi, grazing, top_below): a bracket with F(lo) < 0 <= F(hi) and F increasing
    on it, or lo = nan. ``grazing`` counts boxes that shrank to float resolution undecided (a
    tangency within rounding of the threshold). ``top_below`` is an upper bound of F at the
    sub-threshold local maxima before the crossing (-inf if none): boxes that may hold one
    (dF/dt changes sign) and come within ``MARGIN_REFINE * theta`` of threshold are bisected until
    their enclosure is narrow next to their distance from threshold (at most ``MAX_REFINE`` extra
    boxes), so ``-top_below`` is between 0.8 and 1 times the true margin below that scale, and a
    lower bound of it above.
    """
    top = 0
    stack[0, 0] = t0
    stack[0, 1] = t_max
    top = 1
    boxes = 0
    grazing = 0
    refine = MAX_REFINE
    top_below = -math.inf
    delta = MARGIN_REFINE * abs(theta)
    width_tol = 8.0 * 2.220446049250313e-16 * max(abs(t_max), 1.0)
    while top > 0:
        top -= 1
        lo = stack[top, 0]
        hi = stack[top, 1]
        boxes += 1
        if boxes > MAX_BOXES:
            return ST_BOX_BUDGET, math.nan, math.nan, grazing, top_below
        fl, fh, dl, dh = enclose(lo, hi, p, theta, j, arr_head, arr_time, arr_syn, arr_prev, syn_w, last_spk,
                                 spk_time, spk_prev)
        if dh < 0.0:
            continue  # decreasing: no upward crossing, no interior maximum
        if fh < 0.0:  # below threshold throughout
            if dl <= 0.0:  # may hold a local maximum
                if (fh >= -delta and fh - fl > -0.25 * fh and hi - lo > width_tol and refine > 0
                        and top + 2 <= stack.shape[0]):
                    refine -= 1
                    mid = 0.5 * (lo + hi)
                    stack[top, 0] = mid
                    stack[top, 1] = hi
                    stack[top + 1, 0] = lo
                    stack[top + 1, 1] = mid
                    top += 2
                    continue
                top_below = max(top_below, fh)
            continue
        if dl > 0.0 or hi - lo <= width_tol:
            f_lo, _ = potential(lo, p, theta, j, arr_head, arr_time, arr_syn, arr_prev, syn_w, last_spk,
                                spk_time, spk_prev)
            f_hi, _ = potential(hi, p, theta, j, arr_head, arr_time, arr_syn, arr_prev, syn_w, last_spk,
                                spk_time, spk_prev)
            if f_lo < 0.0 <= f_hi:
                return ST_OK, lo, hi, grazing, top_below
            if dl <= 0.0:
                grazing += 1
            continue
        if top + 2 > stack.shape[0]:
            return ST_BOX_BUDGET, math.nan, math.nan, grazing, top_below
        mid = 0.5 * (lo + hi)
        stack[top, 0] = mid
        stack[top, 1] = hi
        stack[top + 1, 0] = lo
        stack[top + 1, 1] = mid
        top += 2
    return ST_OK, math.nan, math.nan, grazing, top_below
