"""The feed-forward path's result in the general engine's order. TEMPLATE: stamped after ``engine_crossing``.

``engine_feedforward`` simulates neuron after neuron, so its spikes come neuron by neuron and each neuron's
arrivals in its own run. ``simulate_feedforward`` then puts spikes, arrivals and the causal record in the order
the general event loop (``engine_loop``) produces them: spikes by time (``_order_spikes``: a merge of the
per-neuron trains), arrivals by time with inputs first at equal times and then by (source spike, synapse)
(``_record``; spike-caused arrivals in heap order by walking the spikes when every synapse from a neuron has one
delay, ``_walk_next``, else by a stable sort, ``_neuron_arrival_stream``).
"""

import math

import numpy as np
from numba import njit

from exactsnn.numeric.sorting import argsort_into, merge_runs


@njit(cache=True)
def _one_delay(n_in, out_ptr, out_syn, syn_d):
    """True when every synapse from a neuron has the same delay (every ``Network.feedforward`` with one delay
    per layer and two layers; deeper nets with equal layer delays)."""
    q0 = out_ptr[n_in]
    for q in range(q0 + 1, out_ptr[out_ptr.size - 1]):
        if syn_d[out_syn[q]] != syn_d[out_syn[q0]]:
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
def _walk_next(n_in, t_max, d, spk_time, spk_neuron, out_ptr, k, q, qe):
    """The spike-caused arrival after synapse q of spike k, with one delay d for all: (k, q, qe, time); time
    inf when there is none up to t_max. Walking spikes in k order, each one's synapses in q order, gives the
    heap order (time, k, q): fl(t_k + d) ascends with t_k (rounding is monotone)."""
    q += 1
    while q == qe:
        k += 1
        if k == spk_time.size:
            return k, q, qe, math.inf
        q, qe = out_ptr[n_in + spk_neuron[k]], out_ptr[n_in + spk_neuron[k] + 1]
    t = spk_time[k] + d
    return k, q, qe, t if t <= t_max else math.inf


@njit(cache=True)
def _order_spikes(n_neurons, spk_lo, spk_hi, pool_t, pool_vdot, pool_gap, pool_head, sorted_ids, n_sorted):
    """Pool spikes in time order: (spk_time, spk_neuron, spk_prev, spk_vdot, spk_gap, spk_head, tie); spk_head:
    the pool's head (index into the arrival pool, or -1); ``tie`` when two spikes share a time (the general
    engine's order then comes from its loop).

    The pool holds each neuron's train in time order, neuron after neuron, and its first n_sorted spikes are
    already sorted (``sorted_ids``): a stable merge of those runs (``merge_runs``) sorts them by (time, pool
    index); one pass then writes every output in that order.
    """
    n_spk = spk_hi[n_neurons - 1] if n_neurons else 0
    order, work = np.empty(n_spk, np.int64), np.empty(n_spk, np.int64)
    bounds = np.empty(n_neurons + 2, np.int64)
    pool_neuron = np.empty(n_spk, np.int64)
    order[:n_sorted] = sorted_ids[:n_sorted]
    bounds[0] = 0
    n_runs = 0
    if n_sorted > 0:
        bounds[1] = n_sorted
        n_runs = 1
    for j in range(n_neurons):
        for p in range(spk_lo[j], spk_hi[j]):
            pool_neuron[p] = j
        if spk_lo[j] >= n_sorted and spk_hi[j] > spk_lo[j]:
            for p in range(spk_lo[j], spk_hi[j]):
                order[p] = p
            n_runs += 1
            bounds[n_runs] = spk_hi[j]
    merge_runs(pool_t, order, work, bounds, n_runs)
    spk_time, spk_vdot, spk_gap = np.empty(n_spk), np.empty(n_spk), np.empty(n_spk)
    spk_neuron, spk_prev, spk_head = np.empty(n_spk, np.int64), np.empty(n_spk, np.int64), np.empty(n_spk, np.int64)
    last = np.full(n_neurons, -1, np.int64)
    tie = False
    for k in range(n_spk):
        p = order[k]
        i = pool_neuron[p]
        spk_time[k], spk_vdot[k], spk_gap[k], spk_head[k] = pool_t[p], pool_vdot[p], pool_gap[p], pool_head[p]
        spk_neuron[k], spk_prev[k] = i, last[i]
        last[i] = k
        tie = tie or (k > 0 and spk_time[k] == spk_time[k - 1])
    return spk_time, spk_neuron, spk_prev, spk_vdot, spk_gap, spk_head, tie


@njit(cache=True)
def _record(n_in, n_neurons, n_in_sp, t_max, input_time, input_syn, input_src, syn_post, syn_d, out_ptr, out_syn,
            spk_time, spk_neuron, arr_lo, at, asyn):
    """The causal record's arrivals in the general engine's order: the input stream merged with the spike
    arrivals (inputs first at equal times). Returns (arr_time, arr_syn, arr_src, arr_prev, local: pool
    position -> arrival index, ok): ``ok`` checks that each neuron's arrivals come in its own run's order.

    With one delay for every synapse from a neuron (``_one_delay``) the spike arrivals are generated in order
    by walking the spikes (``_walk_next``); otherwise they are sorted first (``_neuron_arrival_stream``).
    """
    walk = _one_delay(n_in, out_ptr, out_syn, syn_d)
    d = syn_d[out_syn[out_ptr[n_in]]] if out_ptr[n_in] < out_syn.size else 0.0
    nt, ns, nsrc = (np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64)) if walk else _neuron_arrival_stream(
        n_in, n_in_sp, spk_time, spk_neuron, out_ptr, out_syn, syn_d, t_max)
    k, q, qe, tn = _walk_next(n_in, t_max, d, spk_time, spk_neuron, out_ptr, -1, -1, 0)
    if not walk:
        tn = nt[0] if nt.size else math.inf
    n_arr = arr_lo[n_neurons]  # every neuron's arrivals (ok checks that the record has as many)
    arr_time, arr_syn = np.empty(n_arr), np.empty(n_arr, np.int64)
    arr_src, arr_prev, local = np.empty(n_arr, np.int64), np.empty(n_arr, np.int64), np.empty(n_arr, np.int64)
    last = np.full(n_neurons, -1, np.int64)
    seen = arr_lo[:-1].copy()
    r = h = g = 0
    ok = True
    while r < input_time.size and input_time[r] <= t_max or tn < math.inf:
        if g == n_arr:
            return arr_time, arr_syn, arr_src, arr_prev, local, False
        if r < input_time.size and input_time[r] <= tn and input_time[r] <= t_max:
            arr_time[g], arr_syn[g], arr_src[g] = input_time[r], input_syn[r], input_src[r]
            r += 1
        elif walk:
            arr_time[g], arr_syn[g], arr_src[g] = tn, out_syn[q], n_in_sp + k
            k, q, qe, tn = _walk_next(n_in, t_max, d, spk_time, spk_neuron, out_ptr, k, q, qe)
        else:
            arr_time[g], arr_syn[g], arr_src[g] = tn, ns[h], nsrc[h]
            h += 1
            tn = nt[h] if h < nt.size else math.inf
        j = syn_post[arr_syn[g]]
        p = seen[j]
        ok = ok and p < arr_lo[j + 1] and at[p] == arr_time[g] and asyn[p] == arr_syn[g]
        local[min(p, n_arr - 1)] = g
        seen[j] += 1
        arr_prev[g] = last[j]
        last[j] = g
        g += 1
    for j in range(n_neurons):
        ok = ok and seen[j] == arr_lo[j + 1]
    return arr_time, arr_syn, arr_src, arr_prev, local, ok and g == n_arr
