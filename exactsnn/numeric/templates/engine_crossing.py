"""Crossing candidates and the tables both simulators share. TEMPLATE: stamped after ``engine_sim``.

Both simulators find a neuron's next spike with the same code: ``state_next_crossing`` (the general
event loop, ``engine_loop``) and ``state_crossing_before`` (the feed-forward path, ``engine_feedforward``)
share the critical point, the bracket and the polish (``numeric/newton_state.py``), so a spike time is
the same float in both.
"""

import math

import numpy as np
from numba import njit

from exactsnn.numeric.templates.engine_sim import ST_OK  # stamp: drop
from exactsnn.numeric.closed_form_roots import cf_newton_state
from exactsnn.numeric.sorting import argsort_into
from exactsnn.numeric.newton_state import (
    state_basis3, state_bracket_given, state_bracket_hi, state_critical, state_root_floor, state_polish, state_polish_lazy,
    state_taylor_root, state_value, state_value0, state_window_max,
)
from exactsnn.numeric.templates.kernel_stubs import (  # stamp: drop
    STATE_PLAIN, closed_form_kind, firing_threshold, newton_state, p_load,  # stamp: drop
)  # stamp: drop

#: The window test polishes a crossing unless F < 0 at the next arrival plus this relative slack: a
#: polished root would have to be off by 1e-6 (the engine's error is ~1e-15) to fall inside it unseen.
WINDOW_SLACK = 1e-6
#: A crossing's polish starts from the model's closed form (``cf_newton_state``) only when the Taylor start is not
#: this close: ``u_T max(|x0|, |x1|) >= CF_TAYLOR_NEAR`` (u_T: the root of F's Taylor quadratic at the segment
#: start, whose relative error grows like (x u_T)^2). Nearer, Halley from u_T takes as long as from the closed form
#: plus the closed form's own cost (benchmarks/README.md, thirteenth pass: per polish, by u_T).
CF_TAYLOR_NEAR = 0.02
#: The same for the Lambert form (equal nodes: tau_syn == tau_mem, the alpha kernel), whose W costs more.
CF_TAYLOR_NEAR_LAMBERT = 0.3
#: ``state_crossing_before`` skips evaluating F at t_max when F(w) > this times (theta + |c0| + |c1| max(L, 1)), a
#: bound on |F|'s terms (N0 <= 1; |N1| <= u, or <= 1 when plain): two evaluations' rounding (a few ulps each) is far
#: below it.
END_ABOVE_TOL = 1e-13
#: F rises through the window when F'(w0) > this times the sum of its terms' sizes (above their rounding); then
#: u* (if any) is past w0 (1 - RISING_TOL): u*'s relative error is a few ulps (``state_critical``, Newton form).
RISING_TOL = 1e-12


@njit(cache=True)
def _population_tables(ptab, closed_form):
    """Per population: threshold, closed-form kind (0: none or not wanted), Newton nodes and the psp's and
    reset's Newton coefficients, each (n_pop, 2)."""
    n_pop = ptab.shape[0]
    theta_pop = np.empty(n_pop)
    cf_kind = np.zeros(n_pop, np.int64)
    nodes, psp_c, reset_c = np.zeros((n_pop, 2)), np.zeros((n_pop, 2)), np.zeros((n_pop, 2))
    for i in range(n_pop):
        params = p_load(ptab, i)
        theta_pop[i] = firing_threshold(params)
        if closed_form:
            cf_kind[i] = closed_form_kind(params)
        (nodes[i, 0], nodes[i, 1]), (psp_c[i, 0], psp_c[i, 1]), (reset_c[i, 0], reset_c[i, 1]) = newton_state(params)
    return theta_pop, cf_kind, nodes, psp_c, reset_c


@njit(cache=True)
def _channel_delay(c, out_ptr, out_syn, syn_d):
    """The one delay of every synapse out of input channel c, or nan when they differ (or there are none)."""
    lo, hi = out_ptr[c], out_ptr[c + 1]
    if hi == lo:
        return math.nan
    d = syn_d[out_syn[lo]]
    for q in range(lo + 1, hi):
        if syn_d[out_syn[q]] != d:
            return math.nan
    return d


@njit(cache=True)
def _input_stream(in_times, in_src, out_ptr, out_syn, syn_d):
    """The input arrivals (time, synapse, input-spike id), sorted by time (stable: ties keep push order, which
    is input spike by input spike, each in its channel's synapse order).

    When each spiking channel's synapses share one delay, an input spike's arrivals are one block at one
    time: the input spikes are sorted (stable) and their blocks written in that order, the same result as
    sorting every arrival.
    """
    n_sp = in_times.size
    n_input_arr = 0
    blocks = True
    key = np.empty(n_sp)
    for e in range(n_sp):
        n_input_arr += out_ptr[in_src[e] + 1] - out_ptr[in_src[e]]
        d = _channel_delay(in_src[e], out_ptr, out_syn, syn_d)
        blocks = blocks and (not math.isnan(d) or out_ptr[in_src[e] + 1] == out_ptr[in_src[e]])
        key[e] = in_times[e] + d if not math.isnan(d) else in_times[e]
    arr_t, arr_s, arr_e = np.empty(n_input_arr), np.empty(n_input_arr, np.int64), np.empty(n_input_arr, np.int64)
    order_e, work_e = np.empty(n_sp, np.int64), np.empty(n_sp, np.int64)
    if blocks:
        argsort_into(key, n_sp, order_e, work_e)
    else:
        for e in range(n_sp):
            order_e[e] = e
    n_input_arr = 0
    for r in range(n_sp):
        e = order_e[r]
        channel = in_src[e]
        for q in range(out_ptr[channel], out_ptr[channel + 1]):
            arr_t[n_input_arr], arr_s[n_input_arr], arr_e[n_input_arr] = in_times[e] + syn_d[out_syn[q]], out_syn[q], e
            n_input_arr += 1
    if blocks:
        return arr_t, arr_s, arr_e
    order, work = np.empty(n_input_arr, np.int64), np.empty(n_input_arr, np.int64)
    argsort_into(arr_t, n_input_arr, order, work)
    return arr_t[order], arr_s[order], arr_e[order]


@njit(cache=True, inline="always")
def _taylor_near(x0, x1, ut):
    """The Taylor start ut is near enough that the closed form is not worth computing (``CF_TAYLOR_NEAR``)."""
    near = CF_TAYLOR_NEAR_LAMBERT if (x0 == x1 and not STATE_PLAIN) else CF_TAYLOR_NEAR
    return ut * max(abs(x0), abs(x1)) < near


@njit(cache=True)
def state_polish_in(cf_kind, x0, x1, c0, c1, theta, t0, t_max, f0, lo, hi):
    """(t, closed): the crossing in the bracket (lo, hi) of F (F(lo) < 0 <= F(hi), F(0) = f0), polished from the
    model's closed form when the root of F's Taylor quadratic at 0 (``state_taylor_root``, with lo = 0) is not
    near 0 (``_taylor_near``) and the closed form lies in the bracket (``closed``), else from that Taylor root
    when it lies in the bracket, else from the bracket's midpoint; inf past t_max."""
    ut = state_taylor_root(x0, x1, c0, c1, f0, STATE_PLAIN) if lo == 0.0 else math.nan
    taylor = lo < ut < hi
    u = math.nan
    if cf_kind != 0 and not (taylor and _taylor_near(x0, x1, ut)):
        u = cf_newton_state(x0, x1, c0, c1, theta, f0, STATE_PLAIN)
    closed = lo < u <= hi
    start = u if closed else (ut if taylor else 0.5 * (lo + hi))
    t = t0 + state_polish(x0, x1, c0, c1, theta, lo, hi, start, STATE_PLAIN)
    return (t if t <= t_max else math.inf), closed


@njit(cache=True)
def _crossing_from(cf_kind, x0, x1, c0, c1, theta, t0, t_max, f0, ucrit, f_crit, end_above):
    """(t, margin, closed) of the first upward crossing after t0, given F(0) = f0 < 0, the critical point
    and F there, and whether F(t_max - t0) is known to be >= 0 (``state_bracket_given``); see
    ``state_next_crossing``."""
    lo, hi, margin = state_bracket_given(x0, x1, c0, c1, theta, f0, t_max - t0, STATE_PLAIN, ucrit, f_crit,
                                         end_above)
    if math.isnan(lo):
        return math.inf, margin, False
    t, closed = state_polish_in(cf_kind, x0, x1, c0, c1, theta, t0, t_max, f0, lo, hi)
    return t, margin, closed


@njit(cache=True)
def _crossing_lazy(cf_kind, x0, x1, c0, c1, theta, t0, t_max, f0, hi_floor):
    """``_crossing_from``'s (t, closed) when the bracket is (0, hi), hi = ``state_bracket_hi`` (u* or length),
    known to be at least hi_floor: hi is computed only when a comparison needs it (``state_polish_lazy``), with
    every comparison's outcome, and so the root, unchanged."""
    length = t_max - t0
    hi = math.nan
    ut = state_taylor_root(x0, x1, c0, c1, f0, STATE_PLAIN)
    u = math.nan
    if cf_kind != 0:
        near = 0.0 < ut and _taylor_near(x0, x1, ut)
        if near and not ut < hi_floor:  # state_polish_in's test lo < ut < hi, hi computed only when it decides
            hi = state_bracket_hi(x0, x1, c0, c1, length, STATE_PLAIN)
            near = ut < hi
        if not near:
            u = cf_newton_state(x0, x1, c0, c1, theta, f0, STATE_PLAIN)
    closed = False
    if u > 0.0:  # lo < u <= hi
        if u < hi_floor:
            closed = True
        else:
            hi = state_bracket_hi(x0, x1, c0, c1, length, STATE_PLAIN) if math.isnan(hi) else hi
            closed = u <= hi
    if not closed:  # the Taylor root, or the midpoint
        u = ut
        if not (0.0 < u < hi_floor):
            hi = state_bracket_hi(x0, x1, c0, c1, length, STATE_PLAIN) if math.isnan(hi) else hi
            u = u if 0.0 < u < hi else 0.5 * (0.0 + hi)
    t = t0 + state_polish_lazy(x0, x1, c0, c1, theta, 0.0, hi, u, STATE_PLAIN, hi_floor, length)
    return (t if t <= t_max else math.inf), closed


@njit(cache=True)
def state_next_crossing(cf_kind, x0, x1, c0, c1, theta, t0, t_max):
    """(status, t, margin, closed) of the Newton state's first upward crossing after t0 (expsum strategy).

    The bracket (closed-form critical point + end signs, ``state_bracket``) decides whether and where a
    crossing exists; a closed form of the model (``cf_kind != 0``, read off the nodes by
    ``cf_newton_state``) supplies Newton's start inside it when the crossing is not near t0; without one, or
    when its value is not inside the bracket, Newton starts from the root of F's Taylor quadratic at t0
    (``state_polish_in``). ``closed`` tells
    whether the closed form was used. A potential already at threshold at t0 (reached within rounding
    exactly at an arrival) spikes at t0.
    """
    f0 = state_value0(c0, c1, theta, STATE_PLAIN)
    if f0 >= 0.0:
        return ST_OK, t0, math.inf, False
    ucrit = state_critical(x0, x1, c0, c1, STATE_PLAIN)
    f_crit = state_value(x0, x1, c0, c1, theta, ucrit, STATE_PLAIN) if 0.0 < ucrit < t_max - t0 else math.nan
    t, margin, closed = _crossing_from(cf_kind, x0, x1, c0, c1, theta, t0, t_max, f0, ucrit, f_crit, False)
    return ST_OK, t, margin, closed


@njit(cache=True)
def state_candidate(cf_kind, x0, x1, c0, c1, theta, t0, t_max):
    """The general loop's candidate, with the polish deferred: (t, exact, lo, hi, margin, closed).

    ``exact``: t is ``state_next_crossing``'s time (a spike at t0, or inf: no crossing). Otherwise t is a lower
    bound of it (``state_root_floor``) and (lo, hi) its bracket: ``state_polish_in`` with these gives
    ``state_next_crossing``'s time bit for bit, from the same state, whenever the loop asks for it (the bound
    reaches the front of the queue). Most candidates are replaced by the neuron's next arrival before that:
    their roots are never polished. ``margin`` is ``state_next_crossing``'s.
    """
    f0 = state_value0(c0, c1, theta, STATE_PLAIN)
    if f0 >= 0.0:
        return t0, True, math.nan, math.nan, math.inf, False
    length = t_max - t0
    ucrit = state_critical(x0, x1, c0, c1, STATE_PLAIN)
    f_crit = state_value(x0, x1, c0, c1, theta, ucrit, STATE_PLAIN) if 0.0 < ucrit < length else math.nan
    lo, hi, margin = state_bracket_given(x0, x1, c0, c1, theta, f0, length, STATE_PLAIN, ucrit, f_crit, False)
    if math.isnan(lo):
        return math.inf, True, lo, hi, margin, False
    floor = state_root_floor(x0, x1, c0, c1, theta, f0, lo, hi, STATE_PLAIN)
    if floor > 0.0:
        return t0 + floor, False, lo, hi, margin, False
    t, closed = state_polish_in(cf_kind, x0, x1, c0, c1, theta, t0, t_max, f0, lo, hi)
    return t, True, lo, hi, margin, closed


@njit(cache=True)
def _slope_bound(x0, x1, c0, c1, u_end):
    """An upper bound on |F'| over [0, u_end] (nonnegative rates: N0 <= 1, |N1| <= u, plain N1 <= 1), or inf."""
    if not (x0 >= 0.0 and x1 >= 0.0):
        return math.inf
    if STATE_PLAIN:
        return x0 * abs(c0) + x1 * abs(c1)
    return abs(x0 * c0 + c1) + x1 * abs(c1) * u_end


@njit(cache=True)
def state_crossing_before(cf_kind, x0, x1, c0, c1, theta, t0, t_max, t_next):
    """``state_next_crossing``'s (t, margin, closed), except that t = inf when the crossing surely comes
    after t_next (the neuron's next arrival, which recomputes the candidate anyway): then no root is polished.
    Also returns (have, e0, n1, e1): the basis at ``du = t_next - t0`` when it was evaluated
    (``state_basis3``), which the state update at that arrival then reuses (the same bits).

    With ``w = (t_next - t0) + s``, ``s = WINDOW_SLACK (1 + |t0| + t_next - t0)``: F has at most one critical
    point u*, so a crossing in (0, w] needs a maximum inside (0, t_next - t0) with F(u*) >= 0, or F(w) >= 0.
    F(w) is bounded from F(t_next - t0) and a bound B on |F'| (``_slope_bound``): F(w) <= F(t_next - t0) + s B.
    The test may say "possible" more often than the exact one, never less; a root past t_next is polished and
    discarded. u* and F(u*) are computed only when the window holds the maximum or a root is polished, and
    then with the general loop's arithmetic, so the polished root is the same float.

    ``margin``: with a finite t_next, the window's (``state_window_max``: the maximum reached before the next
    arrival; inf when the neuron spikes first), which the general loop records at that arrival; after the last
    arrival, ``state_bracket``'s over (0, t_max - t0], which it records at the end of the run.
    """
    f0 = state_value0(c0, c1, theta, STATE_PLAIN)
    if f0 >= 0.0:
        return t0, math.inf, False, False, math.nan, math.nan, math.nan
    length = t_max - t0
    if not t_next < math.inf:
        st, t, margin, closed = state_next_crossing(cf_kind, x0, x1, c0, c1, theta, t0, t_max)
        return t, margin, closed, False, math.nan, math.nan, math.nan
    w0 = t_next - t0
    e0, n1, e1 = state_basis3(w0, x0, x1, STATE_PLAIN)
    margin, ucrit, f_crit = state_window_max(x0, x1, c0, c1, theta, f0, e0, n1, STATE_PLAIN)
    f_w0 = -theta + c0 * e0 + c1 * n1
    slack = WINDOW_SLACK * (1.0 + abs(t0) + w0)
    w = w0 + slack
    if w < length and not (f_crit >= 0.0 or f_w0 + slack * _slope_bound(x0, x1, c0, c1, w) >= 0.0):
        return math.inf, margin, False, True, e0, n1, e1
    # A root is polished: the general loop's bracket, from its u* and F(u*) (or their sign, when it is certain).
    clear = f_w0 > END_ABOVE_TOL * (theta + abs(c0) + abs(c1) * max(length, 1.0))
    if not STATE_PLAIN and clear and math.isnan(ucrit):
        a, b = -(x0 * c0 + c1), -x1 * c1
        if a > 0.0 and a * e0 + b * n1 > RISING_TOL * (a * e0 + abs(b * n1)):
            # F rises through the window: its bracket is (0, u*) or (0, length), whose end is past the window
            t, closed = _crossing_lazy(cf_kind, x0, x1, c0, c1, theta, t0, t_max, f0, w0 * (1.0 - RISING_TOL))
            return t, (math.inf if t <= t_next else margin), closed, True, e0, n1, e1
    if math.isnan(ucrit):
        ucrit = state_critical(x0, x1, c0, c1, STATE_PLAIN)
    inside = 0.0 < ucrit < length
    # clear: F(w0) above the rounding of two evaluations (END_ABOVE_TOL): F(u*) >= F(w0) at a maximum, and
    # F(length) >= F(w0) when F increases on [w0, length], both then evaluate >= 0.
    end_above = False
    if inside:
        if math.isnan(f_crit):
            rising = (-x0 * c0 - x1 * c1 if STATE_PLAIN else -(x0 * c0 + c1)) > 0.0
            # F'(0) > 0 and u* >= w0: u* is F's maximum, past the window, so F(u*) >= F(w0) > 0.
            f_crit = 0.0 if rising and ucrit >= w0 and clear else state_value(x0, x1, c0, c1, theta, ucrit,
                                                                               STATE_PLAIN)
        end_above = ucrit < w0 and f_crit < 0.0 and clear  # a minimum in the window: F increases after it
    else:
        f_crit = math.nan
        end_above = clear  # no critical point: F increases on (0, length]
    t, _, closed = _crossing_from(cf_kind, x0, x1, c0, c1, theta, t0, t_max, f0, ucrit, f_crit, end_above)
    return t, (math.inf if t <= t_next else margin), closed, True, e0, n1, e1
