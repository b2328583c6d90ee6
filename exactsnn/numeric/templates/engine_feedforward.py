"""The feed-forward fast path. TEMPLATE: stamped after ``engine_crossing``.

When every synapse between neurons runs from a lower to a higher neuron index (no recurrence; every
``Network.feedforward`` qualifies), neuron ``j``'s arrivals are known once neurons ``0 .. j-1`` are
simulated. ``simulate_feedforward`` runs each neuron alone over its merged, sorted arrivals: no global
event heap, no min-tree of candidates, and a crossing is polished only when it can come before the
neuron's next arrival (``state_crossing_before``). The per-neuron arithmetic is the general event loop's
(``engine_loop._event_loop``), step for step: the same state updates in the same order, the same
candidate code. The spikes, the causal record, ``near`` and the counters are then put in the general
engine's order (spikes by time; arrivals by time, input arrivals first in the input stream's order, then
by source spike and synapse), so the result equals the general engine's bit for bit.

A pattern whose order the general engine settles by its event interleaving (two spikes at the same time,
a spike at the time of its own neuron's last arrival), a run over the spike budget, or any failure is
handed back (status ``FF_FALLBACK``) and ``simulate_one`` runs the general engine on it.
"""

import math

import numpy as np
from numba import njit

from exactsnn.numeric.templates.engine_sim import ST_OK  # stamp: drop
from exactsnn.numeric.templates.engine_crossing import (  # stamp: drop
    _input_stream, _population_tables, state_crossing_before,  # stamp: drop
)  # stamp: drop
from exactsnn.numeric.newton_state import state_shift_add, state_shift_basis, state_slope_shift_add, state_value0
from exactsnn.numeric.sorting import argsort_into, argsort_spread, uidx
from exactsnn.numeric.templates.kernel_stubs import STATE_PLAIN  # stamp: drop
from exactsnn.numeric.templates.engine_record import (  # stamp: drop
    _arrival_links, _neuron_major_record, _order_spikes, _record,  # stamp: drop
)  # stamp: drop

#: ``simulate_feedforward``: hand the pattern to the general engine.
FF_FALLBACK = -1
#: ``_neurons_run``: the spike pool is full (grow it and run the neuron again).
FF_GROW = -2


@njit(cache=True)
def feedforward_ok(n_in, n_neurons, syn_post, out_ptr, out_syn):
    """True when every synapse between neurons runs from a lower to a higher index (no recurrence)."""
    for i in range(n_neurons):
        for q in range(out_ptr[n_in + i], out_ptr[n_in + i + 1]):
            if syn_post[out_syn[q]] <= i:
                return False
    return True


@njit(cache=True)
def _before(t, kf, ki, a, b):
    """Arrival a sorts before arrival b: by time, then key (input: -inf, then stream position; neuron
    spike: its time, then the synapse's position in the source's out list)."""
    if t[a] != t[b]:
        return t[a] < t[b]
    if kf[a] != kf[b]:
        return kf[a] < kf[b]
    return ki[a] < ki[b]


@njit(cache=True)
def _sort_arrivals(at, kf, ki, n, order, work):
    """order[:n] = the arrivals 0..n-1 by (time, kf, ki): a stable sort by time (``argsort_into``; work: its
    scratch), then an insertion pass that also puts runs of equal times in key order (such runs are short)."""
    argsort_into(at, n, order, work)
    for r in range(1, n):
        p = order[r]
        m = r - 1
        while m >= 0 and _before(at, kf, ki, p, order[m]):
            order[m + 1] = order[m]
            m -= 1
        order[m + 1] = p


@njit(cache=True)
def _incoming(n_in, n_neurons, syn_post, out_ptr, out_syn):
    """Synapses by target neuron: (in_ptr (n_neurons + 1,), in_q: positions q in ``out_syn``, grouped by
    target, ascending within each; q_src[q] = the source (input channel c, or n_in + neuron))."""
    n_src = out_ptr.size - 1
    q_src = np.empty(out_syn.size, np.int64)
    in_ptr = np.zeros(n_neurons + 1, np.int64)
    for src in range(n_src):
        for q in range(out_ptr[src], out_ptr[src + 1]):
            q_src[q] = src
            in_ptr[syn_post[out_syn[q]] + 1] += 1
    for j in range(n_neurons):
        in_ptr[j + 1] += in_ptr[j]
    fill = in_ptr[:-1].copy()
    in_q = np.empty(out_syn.size, np.int64)
    for q in range(out_syn.size):
        j = syn_post[out_syn[q]]
        in_q[fill[j]] = q
        fill[j] += 1
    return in_ptr, in_q, q_src


@njit(cache=True)
def _input_buckets(n_neurons, input_time, input_syn, syn_post, t_max):
    """Positions in the input stream of each neuron's input arrivals up to t_max, in stream order (CSR)."""
    ptr = np.zeros(n_neurons + 1, np.int64)
    for r in range(input_time.size):
        if input_time[r] <= t_max:
            ptr[syn_post[input_syn[r]] + 1] += 1
    for j in range(n_neurons):
        ptr[j + 1] += ptr[j]
    fill = ptr[:-1].copy()
    idx = np.empty(ptr[-1], np.int64)
    for r in range(input_time.size):
        if input_time[r] <= t_max:
            j = syn_post[input_syn[r]]
            idx[fill[j]] = r
            fill[j] += 1
    return ptr, idx


@njit(cache=True)
def _gather(j, n_in, t_max, in_ptr, in_q, q_src, out_syn, syn_d, inb_ptr, inb_idx, input_time, input_syn,
            input_src, n_in_sp, spk_lo, spk_hi, pool_t, at, asyn, asrc, lo, t, kf, ki, syn, src, order, work):
    """Neuron j's arrivals up to t_max, sorted (``_sort_arrivals``), written to at/asyn/asrc from lo on (asrc: the
    source spike's id, ``_run_all``); returns the end. t, kf, ki, syn, src, order, work: scratch, at least as long
    as j's arrivals."""
    n = 0
    for r in inb_idx[inb_ptr[j]:inb_ptr[j + 1]]:
        t[n], kf[n], ki[n], syn[n], src[n] = input_time[r], -math.inf, r, input_syn[r], input_src[r]
        n += 1
    for q in in_q[in_ptr[j]:in_ptr[j + 1]]:
        i = q_src[q] - n_in
        if i >= 0:
            d = syn_d[out_syn[q]]
            for p in range(spk_lo[i], spk_hi[i]):
                if pool_t[p] + d <= t_max:
                    t[n], kf[n], ki[n], syn[n], src[n] = pool_t[p] + d, pool_t[p], q, out_syn[q], n_in_sp + p
                    n += 1
    _sort_arrivals(t, kf, ki, n, order, work)
    for r in range(n):
        at[lo + r], asyn[lo + r], asrc[lo + r] = t[order[r]], syn[order[r]], src[order[r]]
    return lo + n


@njit(cache=True, inline="always")
def _gather_walk(j, t_max, d, out_syn, qmap, sorted_ids, n_sorted, pool_neuron, pool_t, inb_ptr, inb_idx, input_time,
                 input_syn, input_src, n_in_sp, at, asyn, asrc, lo):
    """``_gather``'s result without a sort, when every synapse into j from a neuron has the same delay d and no
    two come from the same neuron (qmap[i]: the position q of i's synapse to j, or -1).

    Walks the time-sorted spikes of neurons 0..j-1 (``sorted_ids``: pool indices by (time, pool index), the
    pool being neuron-major) and merges j's input arrivals in (inputs first at equal times). With one delay,
    arrival order is spike order, and equal spike times come in neuron order, which is q order: the order
    (time, spike time, q) that ``_sort_arrivals`` gives. With n_sorted = 0 it copies j's input arrivals, in
    stream order: the sorted list of a neuron that no neuron reaches (the first layer). Writes asrc as ``_gather``
    does. Returns the end.
    """
    r_in, e_in = inb_ptr[j], inb_ptr[j + 1]
    out = lo
    r = 0
    while r < n_sorted:  # no break in the loop: the arrays' reference counts are pruned (one exit)
        p = sorted_ids[r]
        r += 1
        q = qmap[pool_neuron[p]]
        if q < 0:
            continue
        ta = pool_t[p] + d
        if ta > t_max:
            r = n_sorted  # later spikes arrive later
            continue
        while r_in < e_in and input_time[inb_idx[r_in]] <= ta:
            e = inb_idx[r_in]
            at[out], asyn[out], asrc[out] = input_time[e], input_syn[e], input_src[e]
            out += 1
            r_in += 1
        at[out], asyn[out], asrc[out] = ta, out_syn[q], n_in_sp + p
        out += 1
    while r_in < e_in:
        e = inb_idx[r_in]
        at[out], asyn[out], asrc[out] = input_time[e], input_syn[e], input_src[e]
        out += 1
        r_in += 1
    return out


@njit(cache=True, inline="always")
def _walk_plan(j, n_in, in_ptr, in_q, q_src, out_syn, syn_d, spk_lo, spk_hi, qmap):
    """Fill qmap for j's synapses from neurons. Returns (arrivals from neurons, largest source neuron or -1,
    their common delay, usable): usable when all have one delay and no neuron has two synapses to j."""
    n_nrn, max_src, d0, usable, first = 0, -1, 0.0, True, True
    for q in in_q[in_ptr[j]:in_ptr[j + 1]]:
        i = q_src[q] - n_in
        if i >= 0:
            n_nrn += spk_hi[i] - spk_lo[i]
            max_src = max(max_src, i)
            d = syn_d[out_syn[q]]
            if first:
                d0, first = d, False
            elif d != d0:
                usable = False
            if qmap[i] >= 0:
                usable = False
            qmap[i] = q
    return n_nrn, max_src, d0, usable and max_src >= 0


@njit(cache=True)
def _last_sources(n_in, n_neurons, in_ptr, in_q, q_src):
    """The highest source neuron of each neuron's synapses (-1: inputs only): neuron j can run once that one has."""
    last = np.full(n_neurons, -1, np.int64)
    for j in range(n_neurons):
        for q in in_q[in_ptr[j]:in_ptr[j + 1]]:
            last[j] = max(last[j], q_src[q] - n_in)
    return last


@njit(cache=True, inline="always")
def _clear_plan(j, n_in, in_ptr, in_q, q_src, qmap):
    for q in in_q[in_ptr[j]:in_ptr[j + 1]]:
        if q_src[q] >= n_in:
            qmap[q_src[q] - n_in] = -1


@njit(cache=True)
def _neurons_run(j0, j1, pop, cf_kind, nodes, psp_c, reset_c, theta_pop, t_max, max_spikes, syn_w, at, asyn, arr_lo,
                 pool_t, pool_vdot, pool_gap, pool_head, s, spk_lo, spk_hi, near):
    """Neurons j0 .. j1-1, each over its sorted arrivals at[arr_lo[j]:arr_lo[j + 1]]: ``_event_loop``'s steps for
    that neuron, in order. One call runs a whole block of neurons (those whose inputs have run), so the arrays'
    reference counts are paid once per block, not per neuron.

    Spikes go to the pool from s on (time, dV/dt before the reset, gap to the nearest arrival, index of the last
    arrival before it or -1); each finished neuron's range goes to spk_lo / spk_hi, its near margin and its time
    to near. Indices known to be >= 0 go through ``uidx`` (no wraparound code). Returns (status, j, s, n_closed):
    ST_OK (every neuron run, j = j1), FF_GROW (neuron j found the pool full: grow it and call again from j; s is
    the end of the neurons before it) or FF_FALLBACK (neuron j spiked at the time of its last arrival - the
    general engine settles its order -, had its potential above threshold after a reset - the general engine
    reports it -, or the spikes passed max_spikes).
    """
    status, j, n_closed = ST_OK, j0, 0
    while j < j1 and status == ST_OK:
        pj = pop[j]
        cfk, x0, x1, k0, k1 = cf_kind[pj], nodes[pj, 0], nodes[pj, 1], psp_c[pj, 0], psp_c[pj, 1]
        r0, r1, theta = reset_c[pj, 0], reset_c[pj, 1], theta_pop[pj]
        a_lo, a_hi, s_lo = arr_lo[j], arr_lo[j + 1], s
        c0 = c1 = st = 0.0
        cand, cand_closed = math.inf, False
        have, e0, n1, e1 = False, 0.0, 0.0, 0.0  # the basis at the next arrival, from the window test
        near_m, near_t = math.inf, math.inf
        a, nc, run = a_lo, 0, ST_OK
        while True:
            t_arr = at[uidx(a)] if a < a_hi else math.inf
            if cand <= t_arr and cand <= t_max:
                if s == pool_t.size:
                    run = FF_GROW
                    break
                if a > a_lo and cand == at[uidx(a - 1)]:
                    run = FF_FALLBACK
                    break
                us = uidx(s)
                pool_gap[us] = cand - at[uidx(a - 1)] if a > a_lo else math.inf
                pool_t[us], pool_head[us] = cand, a - 1 if a > a_lo else -1
                nc += cand_closed
                pool_vdot[us], c0, c1 = state_slope_shift_add(x0, x1, c0, c1, cand - st, r0, r1, -1.0, STATE_PLAIN)
                have = False
                s += 1
                if state_value0(c0, c1, theta, STATE_PLAIN) >= 0.0:
                    run = FF_FALLBACK
                    break
                st = cand
            elif t_arr <= t_max:
                while a < a_hi and at[uidx(a)] == t_arr:
                    m = s - 1
                    while m >= s_lo and pool_gap[uidx(m)] > t_arr - pool_t[uidx(m)]:  # the first arrival after m
                        pool_gap[uidx(m)] = t_arr - pool_t[uidx(m)]
                        m -= 1
                    if have:  # the window test's basis at du = t_arr - st: the same bits as computing it here
                        c0, c1 = state_shift_basis(c0, c1, e0, n1, e1, k0, k1, syn_w[asyn[uidx(a)]], STATE_PLAIN)
                        have = False
                    else:
                        c0, c1 = state_shift_add(x0, x1, c0, c1, t_arr - st, k0, k1, syn_w[asyn[uidx(a)]],
                                                 STATE_PLAIN)
                    st = t_arr
                    a += 1
            else:
                break
            t_next = at[uidx(a)] if a < a_hi else math.inf
            cand, margin, cand_closed, have, e0, n1, e1 = state_crossing_before(cfk, x0, x1, c0, c1, theta, st,
                                                                                t_max, t_next)
            if margin < near_m:
                near_m, near_t = margin, st
        if run == FF_GROW:
            status, s = FF_GROW, s_lo  # the neuron runs again once the pool has grown
        elif run != ST_OK or s > max_spikes:
            status = FF_FALLBACK
        else:
            spk_lo[j], spk_hi[j] = s_lo, s
            n_closed += nc
            near[j, 0], near[j, 1] = near_m, near_t
            j += 1
    return status, j, s, n_closed


@njit(cache=True)
def _grow_pool(pool_t, pool_vdot, pool_gap, pool_head, n):
    return _grown(pool_t, n), _grown(pool_vdot, n), _grown(pool_gap, n), _grown(pool_head, n)


#: ``_gather_loop``'s stops: every neuron run, or the pattern handed back, or an array to grow before it goes on.
_LOOP_DONE, _LOOP_FALLBACK, _LOOP_GROW_POOL, _LOOP_GROW_ARR, _LOOP_GROW_SORT, _LOOP_GROW_SCRATCH = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def _gather_loop(j, j0, need, s, n_closed, n_sorted, sorted_upto, pop, cf_kind, nodes, psp_c, reset_c, theta_pop,
                 t_max, max_spikes, n_in, n_neurons, syn_w, syn_d, out_syn, in_ptr, in_q, q_src, last_src, inb_ptr,
                 inb_idx, input_time, input_syn, input_src, n_in_sp, qmap, spk_lo, spk_hi, arr_lo, near, pool_t,
                 pool_vdot, pool_gap, pool_head, at, asyn, asrc, t, kf, ki, syn, src, order, work, sorted_ids,
                 pool_neuron, sort_work):
    """``_run_all``'s loop over the neurons from j on, until every neuron has run or an array is too small.

    Neuron j's arrivals are gathered once neurons 0 .. j-1 have spiked; neurons j0 .. j-1 wait with their arrivals
    and run as a block (``_neurons_run``) when j reads one of their spikes (``last_src``). None of the arrays is
    reassigned here: numba would copy every reassigned array's reference at each iteration (two atomic operations
    per array and neuron). When one must grow, the loop stops before touching it (qmap clean) and returns
    (code, j, j0, need, s, n_closed, n_sorted, sorted_upto, size): ``_run_all`` grows it to at least size and calls
    again from iteration j, which then redoes only the steps it had not done (the block whose inputs have run is
    run, or not, as before: its neurons' runs do not depend on when they happen).
    """
    while j <= n_neurons:
        if j == n_neurons or last_src[j] >= j0:  # j reads a waiting neuron's spikes (or all are gathered): run them
            if s + need > pool_t.size:  # room for twice their arrivals: a full pool would run a neuron again
                return _LOOP_GROW_POOL, j, j0, need, s, n_closed, n_sorted, sorted_upto, s + need
            st, j0, s, nc = _neurons_run(j0, j, pop, cf_kind, nodes, psp_c, reset_c, theta_pop, t_max, max_spikes,
                                         syn_w, at, asyn, arr_lo, pool_t, pool_vdot, pool_gap, pool_head, s, spk_lo,
                                         spk_hi, near)
            n_closed += nc
            if st == FF_GROW:  # neurons before j0 have run; the rest runs again once the pool has grown
                return _LOOP_GROW_POOL, j, j0, need, s, n_closed, n_sorted, sorted_upto, 0
            need = 0
            if st != ST_OK:
                return _LOOP_FALLBACK, j, j0, need, s, n_closed, n_sorted, sorted_upto, 0
            if j == n_neurons:
                return _LOOP_DONE, j, j0, need, s, n_closed, n_sorted, sorted_upto, 0
        n_nrn, max_src, d0, usable = _walk_plan(j, n_in, in_ptr, in_q, q_src, out_syn, syn_d, spk_lo, spk_hi, qmap)
        n_j = inb_ptr[j + 1] - inb_ptr[j] + n_nrn
        if arr_lo[j] + n_j > at.size:
            _clear_plan(j, n_in, in_ptr, in_q, q_src, qmap)
            return _LOOP_GROW_ARR, j, j0, need, s, n_closed, n_sorted, sorted_upto, arr_lo[j] + n_j
        # Walk the sorted spikes when they are mostly j's inputs (a layer's target: every neuron of the layer
        # below); re-sort them when a source is not covered yet and that pays (the first target of a layer).
        # Sorted are the spikes of neurons 0 .. j0-1, all of them run.
        walk = usable and max_src < sorted_upto and n_sorted <= 4 * n_nrn + 16
        if usable and not walk and max_src >= sorted_upto and s <= 4 * n_nrn + 16:
            if sorted_ids.size < s:
                _clear_plan(j, n_in, in_ptr, in_q, q_src, qmap)
                return _LOOP_GROW_SORT, j, j0, need, s, n_closed, n_sorted, sorted_upto, s
            argsort_spread(pool_t, s, sorted_ids, sort_work)
            for i in range(j0):
                pool_neuron[spk_lo[i]:spk_hi[i]] = i
            n_sorted, sorted_upto, walk = s, j0, True
        if walk or max_src < 0:  # no synapse from a neuron: the input arrivals, already in stream order
            arr_lo[j + 1] = _gather_walk(j, t_max, d0, out_syn, qmap, sorted_ids, n_sorted if walk else 0,
                                         pool_neuron, pool_t, inb_ptr, inb_idx, input_time, input_syn, input_src,
                                         n_in_sp, at, asyn, asrc, arr_lo[j])
        else:
            if n_j > t.size:
                _clear_plan(j, n_in, in_ptr, in_q, q_src, qmap)
                return _LOOP_GROW_SCRATCH, j, j0, need, s, n_closed, n_sorted, sorted_upto, n_j
            arr_lo[j + 1] = _gather(j, n_in, t_max, in_ptr, in_q, q_src, out_syn, syn_d, inb_ptr, inb_idx,
                                    input_time, input_syn, input_src, n_in_sp, spk_lo, spk_hi, pool_t, at, asyn, asrc,
                                    arr_lo[j], t, kf, ki, syn, src, order, work)
        _clear_plan(j, n_in, in_ptr, in_q, q_src, qmap)
        need += 2 * n_j + 16
        j += 1
    return _LOOP_DONE, j, j0, need, s, n_closed, n_sorted, sorted_upto, 0


@njit(cache=True)
def _grown(a, size):
    """a copied into a new array of max(2 a.size, size) elements."""
    b = np.empty(max(2 * a.size, size), a.dtype)
    b[:a.size] = a
    return b


@njit(cache=True)
def ff_tables(n_in, n_neurons, syn_post, out_ptr, out_syn):
    """What the feed-forward path needs of the network alone, computed once per batch: (in_ptr, in_q, q_src) =
    ``_incoming``, and ``_last_sources``."""
    in_ptr, in_q, q_src = _incoming(n_in, n_neurons, syn_post, out_ptr, out_syn)
    return in_ptr, in_q, q_src, _last_sources(n_in, n_neurons, in_ptr, in_q, q_src)


@njit(cache=True)
def _run_all(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
             max_spikes, closed_form, input_time, input_syn, input_src):
    """``_run_tables`` with the network's tables computed here (``ff_tables``)."""
    return _run_tables(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
                       max_spikes, closed_form, input_time, input_syn, input_src,
                       ff_tables(n_in, n_neurons, syn_post, out_ptr, out_syn))


@njit(cache=True)
def _run_tables(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
                max_spikes, closed_form, input_time, input_syn, input_src, tables):
    """Every neuron in index order (``_gather_loop``, which runs a block of neurons at a time); tables:
    ``ff_tables``' of this network. Returns (status,
    spike pool (t, vdot, gap, head), spike ranges (spk_lo, spk_hi), arrival pool (at, asyn) with ranges arr_lo
    (n_neurons + 1,), near, n_closed, sorted_ids, n_sorted: the pool's first n_sorted spikes by time,
    ``_gather_walk``; asrc: each arrival's source, the input spike id e (< in_times.size) or in_times.size + the
    source spike's pool index)."""
    theta_pop, cf_kind, nodes, psp_c, reset_c = _population_tables(ptab, closed_form)
    in_ptr, in_q, q_src, last_src = tables
    inb_ptr, inb_idx = _input_buckets(n_neurons, input_time, input_syn, syn_post, t_max)
    cap = max(16, 2 * input_time.size)
    pool_t, pool_vdot, pool_gap, pool_head = np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap, np.int64)
    at, asyn, asrc = np.empty(cap), np.empty(cap, np.int64), np.empty(cap, np.int64)
    t, kf, ki = np.empty(0), np.empty(0), np.empty(0, np.int64)  # _gather's scratch, allocated when needed
    syn, src, order, work = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    spk_lo, spk_hi = np.zeros(n_neurons, np.int64), np.zeros(n_neurons, np.int64)
    arr_lo = np.zeros(n_neurons + 1, np.int64)
    near = np.full((n_neurons, 2), math.inf)
    qmap = np.full(n_neurons, -1, np.int64)  # _walk_plan's scratch
    # the time-sorted spikes of neurons 0 .. sorted_upto - 1 (pool indices), for _gather_walk
    sorted_ids, pool_neuron, sort_work = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    j = j0 = need = s = n_closed = n_sorted = sorted_upto = 0
    code = _LOOP_GROW_POOL
    while code >= _LOOP_GROW_POOL:  # a few times per pattern: the arrays are reassigned only here
        code, j, j0, need, s, n_closed, n_sorted, sorted_upto, size = _gather_loop(
            j, j0, need, s, n_closed, n_sorted, sorted_upto, pop, cf_kind, nodes, psp_c, reset_c, theta_pop, t_max,
            max_spikes, n_in, n_neurons, syn_w, syn_d, out_syn, in_ptr, in_q, q_src, last_src, inb_ptr, inb_idx,
            input_time, input_syn, input_src, in_times.size, qmap, spk_lo, spk_hi, arr_lo, near, pool_t, pool_vdot,
            pool_gap, pool_head, at, asyn, asrc, t, kf, ki, syn, src, order, work, sorted_ids, pool_neuron, sort_work)
        if code == _LOOP_GROW_POOL:
            pool_t, pool_vdot, pool_gap, pool_head = _grow_pool(pool_t, pool_vdot, pool_gap, pool_head, size)
        elif code == _LOOP_GROW_ARR:
            at, asyn, asrc = _grown(at, size), _grown(asyn, size), _grown(asrc, size)
        elif code == _LOOP_GROW_SORT:
            sorted_ids, pool_neuron, sort_work = np.empty(size, np.int64), np.empty(size, np.int64), np.empty(size, np.int64)
        elif code == _LOOP_GROW_SCRATCH:
            t, kf, ki = np.empty(size), np.empty(size), np.empty(size, np.int64)
            syn, src = np.empty(size, np.int64), np.empty(size, np.int64)
            order, work = np.empty(size, np.int64), np.empty(size, np.int64)
    status = ST_OK if code == _LOOP_DONE else FF_FALLBACK
    return (status, pool_t, pool_vdot, pool_gap, pool_head, spk_lo, spk_hi, at, asyn, arr_lo, near, n_closed,
            sorted_ids, n_sorted, asrc)


@njit(cache=True)
def _pool_record(n_neurons, spk_lo, spk_hi, arr_lo, at):
    """``_run_all``'s pools as a causal record for ``collect``, without putting it in time order: spike ids are
    pool indices (neuron after neuron, each train in time order), arrival ids arrival-pool indices, so every
    spike comes after its parents (a feed-forward net's synapses run from lower to higher neurons). Each spike's
    previous spike and each arrival's previous arrival at its neuron are the previous entries of that neuron's
    block. Returns (spk_neuron, spk_prev, arr_prev, ok); ``ok``: no two arrivals at one neuron share a time, so
    each neuron's arrival order is the only one (the general engine's too, and ``_record``'s check holds).
    """
    n_spk = spk_hi[n_neurons - 1] if n_neurons else 0
    spk_neuron, spk_prev = np.empty(n_spk, np.int64), np.empty(n_spk, np.int64)
    arr_prev = np.empty(arr_lo[n_neurons], np.int64)
    for j in range(n_neurons):
        prev = -1
        for p in range(spk_lo[j], spk_hi[j]):
            spk_neuron[uidx(p)], spk_prev[uidx(p)] = j, prev
            prev = p
    ok = _arrival_links(n_neurons, arr_lo, at, arr_prev)
    return spk_neuron, spk_prev, arr_prev, ok


@njit(cache=True)
def simulate_feedforward(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn,
                         t_max, max_spikes, closed_form, tables):
    """``simulate_one`` (no early exit) by the feed-forward path; the same outputs, bit for bit, or status
    FF_FALLBACK (run the general engine instead). The network must pass ``feedforward_ok``; tables: its
    ``ff_tables``."""
    input_time, input_syn, input_src = _input_stream(in_times, in_src, out_ptr, out_syn, syn_d)
    (status, pool_t, pool_vdot, pool_gap, pool_head, spk_lo, spk_hi, at, asyn, arr_lo, near, n_closed, sorted_ids,
     n_sorted, asrc) = _run_tables(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr,
                                   out_syn, t_max, max_spikes, closed_form, input_time, input_syn, input_src, tables)
    if status == ST_OK:
        return _ff_ordered(n_in, n_neurons, in_times.size, t_max, input_time, input_syn, input_src, syn_post, syn_d,
                           out_ptr, out_syn, pool_t, pool_vdot, pool_gap, pool_head, spk_lo, spk_hi, at, asyn, asrc,
                           arr_lo, near, n_closed, sorted_ids, n_sorted)
    return _ff_fallback(near)


@njit(cache=True)
def _ff_fallback(near):
    """``simulate_feedforward``'s result when the general engine must run the pattern."""
    e_f, e_i = np.empty(0), np.empty(0, np.int64)
    return FF_FALLBACK, 0, e_f, e_i, e_i, e_i, 0, e_f, e_i, e_i, e_i, near, 0, -1, math.nan, e_f, e_i.astype(np.float64)


@njit(cache=True)
def _ff_ordered(n_in, n_neurons, n_in_sp, t_max, input_time, input_syn, input_src, syn_post, syn_d, out_ptr, out_syn,
                pool_t, pool_vdot, pool_gap, pool_head, spk_lo, spk_hi, at, asyn, asrc, arr_lo, near, n_closed,
                sorted_ids, n_sorted):
    """The feed-forward path's finished pools (``_run_tables``) as ``simulate_one``'s result: spikes in time order
    (``_order_spikes``), the causal record neuron-major (``_neuron_major_record``) or, when spikes or arrivals
    tie, time-sorted (``_record``); status FF_FALLBACK when the general engine must settle the order."""
    spk_time, spk_neuron, spk_prev, spk_vdot, spk_gap, spk_arr_head, tie, rank = _order_spikes(
        n_neurons, spk_lo, spk_hi, pool_t, pool_vdot, pool_gap, pool_head, sorted_ids, n_sorted)
    if not tie:  # arrivals neuron-major, as the pools hold them
        arr_src, arr_prev, ok = _neuron_major_record(n_neurons, n_in_sp, arr_lo, at, asrc, rank)
        if ok:
            return (ST_OK, spk_time.size, spk_time, spk_neuron, spk_arr_head, spk_prev, arr_lo[n_neurons], at,
                    asyn, arr_src, arr_prev, near, n_closed, -1, math.nan, spk_vdot, spk_gap)
    # Two arrivals at one neuron at one time: the pools' order of them must be the general engine's, which
    # the time-sorted record checks (``_record``'s ok), else the general engine runs the pattern.
    arr_time, arr_syn, arr_src, arr_prev, local, ok = _record(
        n_in, n_neurons, n_in_sp, t_max, input_time, input_syn, input_src, syn_post, syn_d, out_ptr,
        out_syn, spk_time, spk_neuron, arr_lo, at, asyn)
    if ok and not tie:
        for k in range(spk_time.size):  # the head as an index into the record
            if spk_arr_head[k] >= 0:
                spk_arr_head[k] = local[spk_arr_head[k]]
        return (ST_OK, spk_time.size, spk_time, spk_neuron, spk_arr_head, spk_prev, arr_time.size, arr_time,
                arr_syn, arr_src, arr_prev, near, n_closed, -1, math.nan, spk_vdot, spk_gap)
    return _ff_fallback(near)
