"""The feed-forward path's result in the general engine's order. TEMPLATE: stamped after ``engine_crossing``.

``engine_feedforward`` simulates neuron after neuron, so its spikes come neuron by neuron and each neuron's
arrivals in its own run. ``simulate_feedforward`` then puts the spikes in the order the general event loop
(``engine_loop``) produces them (``_order_spikes``: a merge of the per-neuron trains) and keeps the arrivals
as the pools hold them, neuron after neuron (``_neuron_major_record``: the same links, one pass). Only when two
arrivals at one neuron share a time does it build the general engine's arrival order, by time with inputs first
at equal times and then by (source spike, synapse) (``_record``; spike-caused arrivals in heap order by walking
the spikes when every synapse from a neuron has one delay, else by a stable sort, ``_neuron_arrival_stream``),
which checks that the pools met those arrivals in that order. The per-arrival and per-spike loops call no function
that takes arrays (``_put`` is inlined): no reference counting per item; they index with ``uidx`` (no
negative-index wraparound).
"""

import math

import numpy as np
from numba import njit

from exactsnn.numeric.sorting import argsort_into, merge_runs, uidx


@njit(cache=True)
def _one_delay(n_in, out_ptr, out_syn, syn_d):
    """True when every synapse from a neuron has the same delay (every ``Network.feedforward`` with one delay
    per layer and two layers; deeper nets with equal layer delays)."""
    q0 = out_ptr[n_in]
    d0 = syn_d[out_syn[q0]] if q0 < out_syn.size else 0.0
    for q in range(q0 + 1, out_ptr[out_ptr.size - 1]):
        if syn_d[uidx(out_syn[uidx(q)])] != d0:
            return False
    return True


@njit(cache=True)
def _neuron_arrival_stream(n_in, n_in_sp, spk_time, spk_neuron, out_ptr, out_syn, syn_d, t_max):
    """Arrivals caused by neuron spikes, in the general engine's heap order: (time, spike k, position q), by a
    stable sort by time of the arrivals written spike by spike, each spike's synapses in q order."""
    n = 0
    for k in range(spk_time.size):
        n += out_ptr[n_in + spk_neuron[k] + 1] - out_ptr[n_in + spk_neuron[k]]
    t, syn, src = np.empty(n), np.empty(n, np.int64), np.empty(n, np.int64)
    n = 0
    for k in range(spk_time.size):
        for q in range(out_ptr[n_in + spk_neuron[k]], out_ptr[n_in + spk_neuron[k] + 1]):
            if spk_time[k] + syn_d[out_syn[q]] <= t_max:
                t[n], syn[n], src[n] = spk_time[k] + syn_d[out_syn[q]], out_syn[q], n_in_sp + k
                n += 1
    order, work = np.empty(n, np.int64), np.empty(n, np.int64)
    argsort_into(t, n, order, work)
    return t[order], syn[order], src[order]


@njit(cache=True)
def _time_order(n_neurons, spk_lo, spk_hi, pool_t, sorted_ids, n_sorted):
    """(order, work): order = the pool's spikes by (time, pool index), a stable merge (``merge_runs``) of the
    first n_sorted, already sorted (``sorted_ids``), and each later neuron's train; work: the merge's scratch."""
    n_spk = spk_hi[n_neurons - 1] if n_neurons else 0
    order, work = np.empty(n_spk, np.int64), np.empty(n_spk, np.int64)
    bounds = np.empty(n_neurons + 2, np.int64)
    order[:n_sorted] = sorted_ids[:n_sorted]
    bounds[0] = 0
    n_runs = 0
    if n_sorted > 0:
        bounds[1] = n_sorted
        n_runs = 1
    for j in range(n_neurons):
        if spk_lo[j] >= n_sorted and spk_hi[j] > spk_lo[j]:
            for p in range(spk_lo[j], spk_hi[j]):
                order[uidx(p)] = p
            n_runs += 1
            bounds[n_runs] = spk_hi[j]
    merge_runs(pool_t, order, work, bounds, n_runs)
    return order, work


@njit(cache=True)
def _order_spikes(n_neurons, spk_lo, spk_hi, pool_t, pool_vdot, pool_gap, pool_head, sorted_ids, n_sorted):
    """Pool spikes in time order: (spk_time, spk_neuron, spk_prev, spk_vdot, spk_gap, spk_head, tie, rank);
    spk_head: the pool's head (index into the arrival pool, or -1); ``tie`` when two spikes share a time (the
    general engine's order then comes from its loop); rank[p]: the time-order position of pool spike p.

    The pool holds each neuron's train in time order, neuron after neuron, and its first n_sorted spikes are
    already sorted (``sorted_ids``): a stable merge of those runs (``merge_runs``) sorts them by (time, pool
    index); one pass then writes every output in that order.
    """
    n_spk = spk_hi[n_neurons - 1] if n_neurons else 0
    order, work = _time_order(n_neurons, spk_lo, spk_hi, pool_t, sorted_ids, n_sorted)
    pool_neuron = np.empty(n_spk, np.int64)
    for j in range(n_neurons):
        for p in range(spk_lo[j], spk_hi[j]):
            pool_neuron[uidx(p)] = j
    spk_time, spk_vdot, spk_gap = np.empty(n_spk), np.empty(n_spk), np.empty(n_spk)
    spk_neuron, spk_prev, spk_head = np.empty(n_spk, np.int64), np.empty(n_spk, np.int64), np.empty(n_spk, np.int64)
    last = np.full(n_neurons, -1, np.int64)
    rank = work  # the merge's scratch, free now
    tie = False
    t_prev = -math.inf
    for k in range(n_spk):
        ku = uidx(k)
        p = uidx(order[ku])
        rank[p] = k
        i = pool_neuron[p]
        t = pool_t[p]
        spk_time[ku], spk_vdot[ku], spk_gap[ku], spk_head[ku] = t, pool_vdot[p], pool_gap[p], pool_head[p]
        spk_neuron[ku], spk_prev[ku] = i, last[uidx(i)]
        last[uidx(i)] = k
        tie |= t == t_prev
        t_prev = t
    return spk_time, spk_neuron, spk_prev, spk_vdot, spk_gap, spk_head, tie, rank


@njit(cache=True)
def _arrival_links(n_neurons, arr_lo, at, arr_prev):
    """Each pool arrival's previous arrival at its neuron (the previous entry of the neuron's block, or -1) into
    arr_prev; returns ok: no two arrivals at one neuron share a time (each neuron's arrival order is then the only
    one, the general engine's too)."""
    ok = True
    for j in range(n_neurons):
        prev = -1
        for a in range(arr_lo[j], arr_lo[j + 1]):
            arr_prev[uidx(a)] = prev
            ok &= prev < 0 or at[uidx(a)] != at[uidx(prev)]
            prev = a
    return ok


@njit(cache=True)
def _neuron_major_record(n_neurons, n_in_sp, arr_lo, at, asrc, rank):
    """The causal record's arrivals as the pools hold them, neuron after neuron (each neuron's by time): arrival
    ids are arrival-pool indices, so the spikes' heads (``_order_spikes``' spk_head) index them as they are.
    Returns (arr_src, arr_prev, ok): sources as input spike ids or n_in_sp + the source spike's time-order
    position (``rank``); ``ok`` as ``_arrival_links``'. Every causal sweep walks a spike's arrivals through
    head and prev links only, so this record gives the same numbers as the time-sorted one (``_record``) that it
    permutes; it costs one pass over the arrivals instead of a merge.
    """
    n_arr = arr_lo[n_neurons]
    arr_src, arr_prev = np.empty(n_arr, np.int64), np.empty(n_arr, np.int64)
    for a in range(n_arr):
        e = asrc[uidx(a)]
        arr_src[uidx(a)] = e if e < n_in_sp else n_in_sp + rank[uidx(e - n_in_sp)]
    ok = _arrival_links(n_neurons, arr_lo, at, arr_prev)
    return arr_src, arr_prev, ok


@njit(cache=True)
def _sources(walk, n_in, t_max, d, spk_time, spk_neuron, out_ptr, n_stream, r_end):
    """(n_src, n_rec): the spikes (walk) or sorted spike arrivals to merge, and the record's length with the
    r_end inputs. Walking, the first spike whose arrivals come after t_max ends it (later ones arrive later)."""
    if not walk:
        return n_stream, r_end + n_stream
    n_rec = r_end
    for k in range(spk_time.size):
        i = uidx(n_in + spk_neuron[uidx(k)])
        q0, q1 = out_ptr[i], out_ptr[i + uidx(1)]
        if q0 < q1:
            if spk_time[uidx(k)] + d > t_max:
                return k, n_rec
            n_rec += q1 - q0
    return spk_time.size, n_rec


@njit(cache=True, inline="always")
def _put(g, t, syn, src, arr_time, arr_syn, arr_src, arr_prev, local, seen, last, syn_post, arr_lo, at, asyn):
    """Write arrival g = (t, syn, src) and its bookkeeping (inlined: no reference counts per arrival). Returns
    whether it is the next arrival of its neuron's own run (position seen[j] of the arrival pool)."""
    gu = uidx(g)
    arr_time[gu], arr_syn[gu], arr_src[gu] = t, syn, src
    j = uidx(syn_post[uidx(syn)])
    p = seen[j]
    pc = uidx(min(p, at.size - 1))  # at[p] only when p is in the pool: the test is branch-free
    good = (p < arr_lo[j + uidx(1)]) & (at[pc] == t) & (asyn[pc] == syn)
    local[uidx(min(p, local.size - 1))] = g
    seen[j] = p + 1
    arr_prev[gu] = last[j]
    last[j] = g
    return good


@njit(cache=True)
def _record(n_in, n_neurons, n_in_sp, t_max, input_time, input_syn, input_src, syn_post, syn_d, out_ptr, out_syn,
            spk_time, spk_neuron, arr_lo, at, asyn):
    """The causal record's arrivals in the general engine's order: the input stream merged with the spike
    arrivals (inputs first at equal times). Returns (arr_time, arr_syn, arr_src, arr_prev, local: pool
    position -> arrival index, ok): ``ok`` checks that each neuron's arrivals come in its own run's order.

    With one delay d for every synapse from a neuron (``_one_delay``) the spike arrivals are generated in heap
    order (time, spike k, position q) by walking the spikes in k order, each one's synapses in q order:
    fl(t_k + d) ascends with t_k (rounding is monotone), and the first beyond t_max ends the walk. Otherwise
    they are sorted first (``_neuron_arrival_stream``). Before each spike arrival come the inputs at or before
    its time. A record whose length differs from the runs' (``_sources``) is not ok before anything is written.
    """
    walk = _one_delay(n_in, out_ptr, out_syn, syn_d)
    d = syn_d[out_syn[out_ptr[n_in]]] if out_ptr[n_in] < out_syn.size else 0.0
    nt, ns, nsrc = (np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64)) if walk else _neuron_arrival_stream(
        n_in, n_in_sp, spk_time, spk_neuron, out_ptr, out_syn, syn_d, t_max)
    n_arr = arr_lo[n_neurons]  # every neuron's arrivals (ok checks that the record has as many)
    arr_time, arr_syn = np.empty(n_arr), np.empty(n_arr, np.int64)
    arr_src, arr_prev, local = np.empty(n_arr, np.int64), np.empty(n_arr, np.int64), np.empty(n_arr, np.int64)
    last = np.full(n_neurons, -1, np.int64)
    seen = arr_lo[:-1].copy()
    r_end = 0  # the inputs up to t_max (the stream is in time order)
    while r_end < input_time.size and input_time[r_end] <= t_max:
        r_end += 1
    n_src, n_rec = _sources(walk, n_in, t_max, d, spk_time, spk_neuron, out_ptr, nt.size, r_end)
    if n_rec != n_arr:
        return arr_time, arr_syn, arr_src, arr_prev, local, False
    r = g = 0
    ok = True
    for k in range(n_src + 1):  # k = n_src: the inputs after the last spike arrival
        q0 = q1 = 0
        t = math.inf
        if k < n_src:
            ku = uidx(k)
            if walk:
                i = uidx(n_in + spk_neuron[ku])
                q0, q1, t = out_ptr[i], out_ptr[i + uidx(1)], spk_time[ku] + d
                if q0 == q1:
                    continue
            else:
                q0, q1, t = k, k + 1, nt[ku]
        while r < r_end and input_time[uidx(r)] <= t:
            ru = uidx(r)
            ok &= _put(g, input_time[ru], input_syn[ru], input_src[ru], arr_time, arr_syn, arr_src, arr_prev, local,
                       seen, last, syn_post, arr_lo, at, asyn)
            r += 1
            g += 1
        for q in range(q0, q1):
            qu = uidx(q)
            syn, src = (out_syn[qu], n_in_sp + k) if walk else (ns[qu], nsrc[qu])
            ok &= _put(g, t, syn, src, arr_time, arr_syn, arr_src, arr_prev, local, seen, last, syn_post, arr_lo,
                       at, asyn)
            g += 1
    for j in range(n_neurons):
        ok = ok and seen[j] == arr_lo[j + 1]
    return arr_time, arr_syn, arr_src, arr_prev, local, ok
