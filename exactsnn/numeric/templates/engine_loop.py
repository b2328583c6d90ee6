"""The simulator's event loop. TEMPLATE: stamped after ``engine_sim`` into each model module.

``simulate_one`` runs one input pattern and returns the spike log and the causal record
(see ``engine_sim`` for the algorithm). Source-spike ids: input spikes are ``0 ..
n_in_spikes-1`` (channel-major), neuron spike ``k`` (in time order) is ``n_in_spikes + k``.

Hot-loop rule: no allocation per event, few calls that pass arrays (each costs ~100 ns in numba
here), and no array reassigned inside the loop (numba then updates the reference counts of every
loop-carried array at every event: a quarter of the loop's time when the buffers grew in it; ``_event_loop``
returns instead, and ``simulate_one`` grows the buffer). The two-coefficient Newton state
(``numeric/newton_state.py``) travels as scalars.
"""

import math

import numpy as np
from numba import njit

from exactsnn.numeric.templates.engine_sim import (  # stamp: drop
    ST_ABOVE_AFTER_RESET, ST_OK, ST_SPIKE_BUDGET, interval_search, newton_polish, potential,  # stamp: drop
)  # stamp: drop
from exactsnn.numeric.templates.engine_crossing import (  # stamp: drop
    _input_stream, _population_tables, state_candidate, state_crossing_before, state_polish_in,  # stamp: drop
)  # stamp: drop
from exactsnn.numeric.templates.engine_feedforward import (  # stamp: drop
    FF_FALLBACK, _grown, feedforward_ok, ff_tables, simulate_feedforward,  # stamp: drop
)  # stamp: drop
from exactsnn.numeric.heap import heap_grow, heap_new, heap_sift_down, heap_sift_up, tree_new, tree_set
from exactsnn.numeric.newton_state import (
    state_basis3, state_shift_basis, state_slope_shift_add, state_value0, state_window_max,
)
from exactsnn.numeric.templates.kernel_stubs import (  # stamp: drop
    STATE_PLAIN, STRATEGY_EXPSUM, dreset_ds, p_load,  # stamp: drop
)  # stamp: drop


@njit(cache=True)
def _interval_candidate(j, p, theta, t_max, t0, arr_head, arr_time, arr_syn, arr_prev, syn_w, last_spk, spk_time,
                        spk_prev, stack, near):
    """(status, time) of neuron j's next crossing after t0 by the interval strategy (inf if none)."""
    f0, _ = potential(t0, p, theta, j, arr_head, arr_time, arr_syn, arr_prev, syn_w, last_spk, spk_time, spk_prev)
    if f0 >= 0.0:
        return ST_OK, t0
    status, lo, hi, graze, top_below = interval_search(t0, t_max, p, theta, j, arr_head, arr_time, arr_syn,
                                                       arr_prev, syn_w, last_spk, spk_time, spk_prev, stack)
    margin = 0.0 if graze > 0 else -top_below
    if margin < near[j, 0]:
        near[j, 0] = margin
        near[j, 1] = t0
    if status != ST_OK or math.isnan(lo):
        return status, math.inf
    t = newton_polish(0.5 * (lo + hi), lo, hi, p, theta, j, arr_head, arr_time, arr_syn, arr_prev, syn_w, last_spk,
                      spk_time, spk_prev)
    return ST_OK, (t if t <= t_max else math.inf)


#: ``next_in[j]`` of a neuron that another neuron's spikes reach (its next arrival is not known in advance)
NOT_INPUT_ONLY = -2


@njit(cache=True)
def _input_links(n_in, n_neurons, syn_post, out_ptr, out_syn, input_syn):
    """(in_next, next_in): in_next[r] = the input-stream position of the next input arrival at the neuron of
    arrival r (-1: none); next_in[j] = j's first one (-1: none), or NOT_INPUT_ONLY when a neuron's spikes
    reach j."""
    in_next = np.empty(input_syn.size, np.int64)
    next_in = np.full(n_neurons, -1, np.int64)
    for r in range(input_syn.size - 1, -1, -1):
        j = syn_post[input_syn[r]]
        in_next[r] = next_in[j]
        next_in[j] = r
    for q in range(out_ptr[n_in], out_ptr[out_ptr.size - 1]):
        next_in[syn_post[out_syn[q]]] = NOT_INPUT_ONLY
    return in_next, next_in


#: Why ``_event_loop`` returned: done (status set), or which buffer must grow before it resumes.
DONE, GROW_SPIKES, GROW_ARRIVALS, GROW_HEAP = 0, 1, 2, 3


@njit(cache=True)
def _event_loop(ptab, pop, n_in, n_in_sp, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max, max_spikes, theta_pop,
                cf_kind, nodes, psp_c, reset_c, state_time, state_c0, state_c1, near, stack, input_time, input_syn,
                input_src, heap_time, heap_seq, heap_syn, heap_src, spk_time, spk_neuron, spk_arr_head, spk_prev,
                spk_vdot, spk_gap, arr_time, arr_syn, arr_src, arr_prev, arr_head, last_spk, cand_time, cand_neuron,
                touched, is_touched, watching, n_watch, n_spk, n_arr, next_input, heap_size, seq, n_closed,
                cand_closed, pend, bracket, in_next, next_in):
    """The event loop of ``simulate_one``, from the counters it is given, until the run is done or a buffer is full.

    Returns (need, n_spk, n_arr, next_input, heap_size, seq, n_closed, n_watch, status, fail_j, fail_t): ``need``
    is DONE, or the buffer to grow before calling again (checked before an event changes anything, so the
    call resumes at the same event). No array is reassigned in here, which keeps numba from updating the
    reference counts of every loop-carried array at every event (a quarter of the loop's time when the
    buffers grew inside it).
    """
    status = ST_OK
    fail_j, fail_t = -1, math.nan
    while status == ST_OK:
        t_in = input_time[next_input] if next_input < input_time.size else math.inf
        t_arr = min(t_in, heap_time[0] if heap_size > 0 else math.inf)
        t_spk = cand_time[1]
        n_touched = 0
        if t_spk <= t_arr and t_spk <= t_max:
            j = cand_neuron[1]
            if STRATEGY_EXPSUM and not math.isnan(bracket[j, 0]):  # a lower bound at the front: polish it now
                pj = pop[j]
                c0, c1, theta = state_c0[j], state_c1[j], theta_pop[pj]
                t_cand, cand_closed[j] = state_polish_in(cf_kind[pj], nodes[pj, 0], nodes[pj, 1], c0, c1, theta,
                                                         state_time[j], t_max,
                                                         state_value0(c0, c1, theta, STATE_PLAIN), bracket[j, 0],
                                                         bracket[j, 1])
                bracket[j, 0] = math.nan
                tree_set(cand_time, cand_neuron, j, t_cand)
                continue
            pj = pop[j]
            theta = theta_pop[pj]
            if n_spk >= max_spikes:
                status, fail_j, fail_t = ST_SPIKE_BUDGET, j, t_spk
                break
            if n_spk == spk_time.size:
                return GROW_SPIKES, n_spk, n_arr, next_input, heap_size, seq, n_closed, n_watch, status, -1, math.nan
            if heap_size + out_ptr[n_in + j + 1] - out_ptr[n_in + j] > heap_time.size:
                return GROW_HEAP, n_spk, n_arr, next_input, heap_size, seq, n_closed, n_watch, status, -1, math.nan
            k = n_spk
            spk_gap[k] = t_spk - arr_time[arr_head[j]] if arr_head[j] >= 0 else math.inf
            spk_time[k], spk_neuron[k], spk_arr_head[k], spk_prev[k] = t_spk, j, arr_head[j], last_spk[j]
            last_spk[j] = k
            n_spk += 1
            n_closed += cand_closed[j]
            if STRATEGY_EXPSUM:
                x0, x1 = nodes[pj, 0], nodes[pj, 1]
                spk_vdot[k], state_c0[j], state_c1[j] = state_slope_shift_add(
                    x0, x1, state_c0[j], state_c1[j], t_spk - state_time[j], reset_c[pj, 0], reset_c[pj, 1], -1.0,
                    STATE_PLAIN)  # dV/dt just before the reset, and the reset
                f0 = state_value0(state_c0[j], state_c1[j], theta, STATE_PLAIN)
            else:
                params = p_load(ptab, pj)
                f0, slope_after = potential(t_spk, params, theta, j, arr_head, arr_time, arr_syn, arr_prev, syn_w,
                                            last_spk, spk_time, spk_prev)
                spk_vdot[k] = slope_after + dreset_ds(0.0, params)  # dV/dt just before the reset
            if f0 >= 0.0:
                status, fail_j, fail_t = ST_ABOVE_AFTER_RESET, j, t_spk
                break
            if watching[j]:
                watching[j] = False
                n_watch -= 1
                if n_watch == 0:
                    break  # first-spike early exit: every watched neuron has fired
            state_time[j] = t_spk
            src = n_in + j
            for q in range(out_ptr[src], out_ptr[src + 1]):
                t_deliver = t_spk + syn_d[out_syn[q]]
                if t_deliver <= t_max:
                    heap_time[heap_size], heap_seq[heap_size] = t_deliver, seq
                    heap_syn[heap_size], heap_src[heap_size] = out_syn[q], n_in_sp + k
                    heap_sift_up(heap_time, heap_seq, heap_syn, heap_src, heap_size)
                    heap_size += 1
                    seq += 1
            touched[0] = j
            n_touched = 1
        elif t_arr <= t_max:
            if n_arr + heap_size + input_time.size - next_input > arr_time.size:
                return GROW_ARRIVALS, n_spk, n_arr, next_input, heap_size, seq, n_closed, n_watch, status, -1, math.nan
            while ((next_input < input_time.size and input_time[next_input] == t_arr)
                   or (heap_size > 0 and heap_time[0] == t_arr)):
                r_in = -1
                if next_input < input_time.size and input_time[next_input] == t_arr:
                    syn, src_id = input_syn[next_input], input_src[next_input]
                    r_in = next_input
                    next_input += 1
                else:
                    syn, src_id = heap_syn[0], heap_src[0]
                    heap_size -= 1
                    last = heap_size
                    heap_time[0], heap_seq[0], heap_syn[0], heap_src[0] = (heap_time[last], heap_seq[last],
                                                                           heap_syn[last], heap_src[last])
                    heap_sift_down(heap_time, heap_seq, heap_syn, heap_src, heap_size)
                j = syn_post[syn]
                if r_in >= 0 and next_in[j] != NOT_INPUT_ONLY:
                    next_in[j] = in_next[r_in]
                arr_time[n_arr], arr_syn[n_arr], arr_src[n_arr], arr_prev[n_arr] = t_arr, syn, src_id, arr_head[j]
                arr_head[j] = n_arr
                n_arr += 1
                k = last_spk[j]
                while k >= 0 and spk_gap[k] > t_arr - spk_time[k]:  # the first arrival after spike k
                    spk_gap[k] = t_arr - spk_time[k]
                    k = spk_prev[k]
                if STRATEGY_EXPSUM:
                    pj = pop[j]
                    x0, x1, c0, c1 = nodes[pj, 0], nodes[pj, 1], state_c0[j], state_c1[j]
                    e0, n1, e1 = state_basis3(t_arr - state_time[j], x0, x1, STATE_PLAIN)
                    # the segment that ends here: a sub-threshold maximum it reached (the feed-forward path's test)
                    margin, _, _ = state_window_max(x0, x1, c0, c1, theta_pop[pj],
                                                    state_value0(c0, c1, theta_pop[pj], STATE_PLAIN), e0, n1,
                                                    STATE_PLAIN)
                    if margin < near[j, 0]:
                        near[j, 0] = margin
                        near[j, 1] = state_time[j]
                    state_c0[j], state_c1[j] = state_shift_basis(c0, c1, e0, n1, e1, psp_c[pj, 0], psp_c[pj, 1],
                                                                 syn_w[syn], STATE_PLAIN)
                state_time[j] = t_arr
                if not is_touched[j]:
                    is_touched[j] = True
                    touched[n_touched] = j
                    n_touched += 1
        else:
            break
        for q in range(n_touched):  # new candidates of the neurons whose input or state changed
            j = touched[q]
            pj = pop[j]
            is_touched[j] = False
            theta = theta_pop[pj]
            if STRATEGY_EXPSUM and next_in[j] != NOT_INPUT_ONLY:
                # only input spikes reach j: its next arrival is known, so the feed-forward path's window test
                # decides whether a crossing can come first (the same root when it can; none polished otherwise)
                r = next_in[j]
                t_next = input_time[r] if r >= 0 and input_time[r] <= t_max else math.inf
                t_cand, margin, closed, _, _, _, _ = state_crossing_before(
                    cf_kind[pj], nodes[pj, 0], nodes[pj, 1], state_c0[j], state_c1[j], theta, state_time[j], t_max,
                    t_next)
                cand_closed[j] = closed
                bracket[j, 0] = math.nan
                st = ST_OK
                pend[j] = margin if t_next == math.inf else math.inf  # a finite window's margin: at that arrival
            elif STRATEGY_EXPSUM:
                t_cand, exact, lo, hi, margin, closed = state_candidate(cf_kind[pj], nodes[pj, 0], nodes[pj, 1],
                                                                        state_c0[j], state_c1[j], theta,
                                                                        state_time[j], t_max)
                cand_closed[j] = closed
                bracket[j, 0], bracket[j, 1] = (math.nan, math.nan) if exact else (lo, hi)
                st = ST_OK
                pend[j] = margin  # recorded if the segment runs to the end (the next arrival records its own)
            else:
                st, t_cand = _interval_candidate(j, p_load(ptab, pj), theta, t_max, state_time[j], arr_head, arr_time,
                                                 arr_syn, arr_prev, syn_w, last_spk, spk_time, spk_prev, stack, near)
            if st != ST_OK:
                status, fail_j, fail_t = st, j, state_time[j]  # the search from state_time[j] on failed
            tree_set(cand_time, cand_neuron, j, t_cand)
    return DONE, n_spk, n_arr, next_input, heap_size, seq, n_closed, n_watch, status, fail_j, fail_t


@njit(cache=True)
def simulate_one(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
                 max_spikes, closed_form, watch, path=0):
    """Simulate one pattern. Neuron j uses parameter row ``ptab[pop[j]]`` (its population).

    ``path``: 0 takes the feed-forward path (``engine_feedforward.simulate_feedforward``: same results bit
    for bit) when the network has no recurrent synapse, the model has a Newton state and there is no early
    exit, and the general event loop otherwise; 1 always runs the general event loop (tests compare them).

    ``closed_form``: start the crossing polish from the model's closed form where one applies
    (False: from the root of the state's Taylor quadratic, ``state_taylor_root``, the generic root finder).

    ``watch`` (int64 neuron ids; empty: run to t_max): first-spike early exit. The run stops right after
    the spike that completes the set of watched neurons that have fired (all of them): no later event can
    change an earlier spike, so every spike up to there, its causal record, and each watched neuron's
    first spike are those of the full run, bit for bit. Arrivals after the stop are not seen, so
    ``spk_gap`` of the last spikes counts only arrivals before it.

    Returns (status, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr, arr_time, arr_syn,
    arr_src, arr_prev, near, n_closed, fail_j, fail_t, spk_vdot, spk_gap): arrays are over-allocated, valid
    up to n_spk / n_arr; near[j] = (smallest sub-threshold margin theta - V at a local maximum, its segment
    start): with a Newton state, maxima the potential reaches before the neuron's next arrival
    (``state_window_max``) or in its last segment up to t_max (extrapolated to t_max after an early exit); n_closed = number of spikes whose polish started from a closed form;
    (fail_j, fail_t) = the neuron and time at which a run with status != ST_OK stopped (-1, nan otherwise);
    spk_vdot[k] = dV/dt just before spike k (from the state, or the history for the interval strategy);
    spk_gap[k] = distance from spike k to the nearest arrival at its neuron, before or after (inf if none).
    These two are the diagnostics' numbers (``diagnostics.diagnose``), recorded at O(1) per event.
    """
    ff = path == 0 and STRATEGY_EXPSUM and watch.size == 0 and feedforward_ok(n_in, n_neurons, syn_post, out_ptr,
                                                                              out_syn)
    e = np.empty(0, np.int64)
    tables = ff_tables(n_in, n_neurons, syn_post, out_ptr, out_syn) if ff else (e, e, e, e)
    return simulate_tabled(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn,
                           t_max, max_spikes, closed_form, watch, ff, tables)


@njit(cache=True)
def simulate_tabled(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
                    max_spikes, closed_form, watch, ff, tables):
    """``simulate_one`` given whether it takes the feed-forward path (``ff``: path 0, a model with a Newton
    state, no early exit, a feed-forward net) and, if so, the network's ``ff_tables`` (``simulate()`` keeps
    both with the network, so a call does not recompute them)."""
    if ff:
        res = simulate_feedforward(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr,
                                   out_syn, t_max, max_spikes, closed_form, tables)
        if res[0] != FF_FALLBACK:
            return res
    n_in_sp = in_times.size
    theta_pop, cf_kind, nodes, psp_c, reset_c = _population_tables(ptab, closed_form)
    # expsum strategy: neuron j's potential after state_time[j] is c0 N0 + c1 N1 (numeric/newton_state.py)
    state_time = np.zeros(n_neurons)
    state_c0 = np.zeros(n_neurons)
    state_c1 = np.zeros(n_neurons)
    near = np.full((n_neurons, 2), math.inf)
    stack = np.empty((256, 2))
    # Input arrivals are known in advance: one sorted stream, merged with the heap of arrivals caused by
    # neuron spikes. Inputs win ties, as if pushed first.
    input_time, input_syn, input_src = _input_stream(in_times, in_src, out_ptr, out_syn, syn_d)
    n_input_arr = input_time.size
    heap_time, heap_seq, heap_syn, heap_src = heap_new(64)
    spk_time, spk_neuron = np.empty(16), np.empty(16, np.int64)
    spk_arr_head, spk_prev = np.empty(16, np.int64), np.empty(16, np.int64)
    spk_vdot, spk_gap = np.empty(16), np.empty(16)
    cap_a = max(n_input_arr, 16)
    arr_time, arr_syn = np.empty(cap_a), np.empty(cap_a, np.int64)
    arr_src, arr_prev = np.empty(cap_a, np.int64), np.empty(cap_a, np.int64)
    arr_head = np.full(n_neurons, -1, np.int64)
    last_spk = np.full(n_neurons, -1, np.int64)
    cand_time, cand_neuron = tree_new(n_neurons)  # min-tree of the neurons' next crossing candidates
    touched = np.empty(n_neurons, np.int64)
    is_touched = np.zeros(n_neurons, np.bool_)
    watching = np.zeros(n_neurons, np.bool_)
    n_watch = 0  # watched neurons that have not fired yet
    for q in range(watch.size):
        if not watching[watch[q]]:
            watching[watch[q]] = True
            n_watch += 1
    cand_closed = np.zeros(n_neurons, np.bool_)  # the current candidate's polish started from a closed form
    pend = np.full(n_neurons, math.inf)  # the current candidate's margin over its segment to t_max
    bracket = np.full((n_neurons, 2), math.nan)  # a deferred candidate's bracket (nan: its time is exact)
    in_next, next_in = _input_links(n_in, n_neurons, syn_post, out_ptr, out_syn, input_syn)
    n_spk = n_arr = n_closed = next_input = heap_size = seq = 0
    status, fail_j, fail_t = ST_OK, -1, math.nan  # where the run stopped, when status != ST_OK
    while True:  # the event loop runs until it is done or a buffer is full; then the buffer grows
        (need, n_spk, n_arr, next_input, heap_size, seq, n_closed, n_watch, status, fail_j,
         fail_t) = _event_loop(ptab, pop, n_in, n_in_sp, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max, max_spikes,
                               theta_pop, cf_kind, nodes, psp_c, reset_c, state_time, state_c0, state_c1, near, stack,
                               input_time, input_syn, input_src, heap_time, heap_seq, heap_syn, heap_src, spk_time,
                               spk_neuron, spk_arr_head, spk_prev, spk_vdot, spk_gap, arr_time, arr_syn, arr_src,
                               arr_prev, arr_head, last_spk, cand_time, cand_neuron, touched, is_touched, watching,
                               n_watch, n_spk, n_arr, next_input, heap_size, seq, n_closed, cand_closed, pend,
                               bracket, in_next, next_in)
        if need == GROW_SPIKES:
            spk_time, spk_neuron = _grown(spk_time, 0), _grown(spk_neuron, 0)
            spk_arr_head, spk_prev = _grown(spk_arr_head, 0), _grown(spk_prev, 0)
            spk_vdot, spk_gap = _grown(spk_vdot, 0), _grown(spk_gap, 0)
        elif need == GROW_ARRIVALS:  # room for every pending arrival
            size = n_arr + heap_size + n_input_arr - next_input
            arr_time, arr_syn = _grown(arr_time, size), _grown(arr_syn, size)
            arr_src, arr_prev = _grown(arr_src, size), _grown(arr_prev, size)
        elif need == GROW_HEAP:
            heap_time, heap_seq, heap_syn, heap_src = heap_grow(heap_time, heap_seq, heap_syn, heap_src)
        else:
            break
    if STRATEGY_EXPSUM:
        for j in range(n_neurons):  # the last segments' margins (up to t_max; after an early exit, extrapolated)
            if pend[j] < near[j, 0]:
                near[j, 0] = pend[j]
                near[j, 1] = state_time[j]
    return (status, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr, arr_time, arr_syn, arr_src,
            arr_prev, near, n_closed, fail_j, fail_t, spk_vdot, spk_gap)


@njit(cache=True)
def simulate_packed(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
                    max_spikes, closed_form, watch, ff, tables):
    """``simulate_tabled`` for a caller in Python: the used parts of its eleven arrays copied into two.

    Returns (status, n_spk, n_arr, n_closed, fail_j, fail_t, f, i), laid out as
    ``f = [spk_time, spk_vdot, spk_gap | arr_time | near margin]`` (n_spk, n_spk, n_spk, n_arr, n_neurons) and
    ``i = [spk_neuron, spk_arr_head, spk_prev | arr_syn, arr_src, arr_prev]`` (n_spk x 3, n_arr x 3); both empty
    when status != ST_OK. Numba boxes each returned array into a Python object (~0.8 us apiece, more than copying
    a pattern's ~13,000 numbers), and ``simulate()`` keeps views of these two.
    """
    return packed_result(simulate_tabled(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr,
                                         out_syn, t_max, max_spikes, closed_form, watch, ff, tables), n_neurons)


@njit(cache=True)
def packed_result(res, n_neurons):
    """``simulate_one``'s result ``res`` in ``simulate_packed``'s two buffers."""
    (status, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr, arr_time, arr_syn, arr_src, arr_prev, near,
     n_closed, fail_j, fail_t, spk_vdot, spk_gap) = res
    if status != ST_OK:
        return status, 0, 0, n_closed, fail_j, fail_t, np.empty(0), np.empty(0, np.int64)
    ns, na = n_spk, n_arr
    f = np.empty(3 * ns + na + n_neurons)
    i = np.empty(3 * ns + 3 * na, np.int64)
    f[:ns], f[ns:2 * ns], f[2 * ns:3 * ns] = spk_time[:ns], spk_vdot[:ns], spk_gap[:ns]
    f[3 * ns:3 * ns + na] = arr_time[:na]
    f[3 * ns + na:] = near[:, 0]
    i[:ns], i[ns:2 * ns], i[2 * ns:3 * ns] = spk_neuron[:ns], spk_arr_head[:ns], spk_prev[:ns]
    a0, a1, a2 = 3 * ns, 3 * ns + na, 3 * ns + 2 * na
    i[a0:a1], i[a1:a2], i[a2:] = arr_syn[:na], arr_src[:na], arr_prev[:na]
    return status, ns, na, n_closed, fail_j, fail_t, f, i
