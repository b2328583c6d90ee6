"""The simulator's event loop. TEMPLATE: stamped after ``engine_sim`` into each model module.

``simulate_one`` runs one input pattern and returns the spike log and the causal record
(see ``engine_sim`` for the algorithm). Source-spike ids: input spikes are ``0 ..
n_in_spikes-1`` (channel-major), neuron spike ``k`` (in time order) is ``n_in_spikes + k``.

Hot-loop rule: no allocation per event, and few calls that pass arrays (each costs ~100 ns
in numba here); the exponential-sum state travels as tuples.
"""

import math

import numpy as np
from numba import njit

from exactsnn.numeric.templates.engine_sim import (  # stamp: drop
    ST_ABOVE_AFTER_RESET, ST_OK, ST_SPIKE_BUDGET, interval_search, newton_polish, potential,  # stamp: drop
)  # stamp: drop
from exactsnn.numeric.expsum_roots import es_bracket, es_polish, es_value
from exactsnn.numeric.heap import heap_grow, heap_new, heap_sift_down, heap_sift_up, tree_new, tree_set
from exactsnn.numeric.templates.kernel_stubs import (  # stamp: drop
    N_SLOTS, STRATEGY_EXPSUM, closed_form_kind, es_closed_form, es_load, es_shift_add, es_store,  # stamp: drop
    expsum_coeffs, firing_threshold, p_load,  # stamp: drop
)  # stamp: drop


@njit(cache=True)
def _grow_f(x, n):
    y = np.empty(max(2 * x.size, n))
    y[:x.size] = x
    return y


@njit(cache=True)
def _grow_i(x, n):
    y = np.empty(max(2 * x.size, n), np.int64)
    y[:x.size] = x
    return y


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


@njit(cache=True)
def es_next_crossing(cf_kind, rates, a, b, theta, t0, t_max):
    """(status, t, margin, closed) of the state's first upward crossing after t0 (expsum strategy).

    The bracket (closed-form critical point + end signs) decides whether and where a crossing
    exists; a closed form of the model (``cf_kind != 0``, see ``es_closed_form``) supplies Newton's
    start inside it; without one, or when its value is not inside the bracket, Newton starts at the
    bracket's midpoint. ``closed`` tells whether the closed form was used. A potential already at
    threshold at t0 (reached within rounding exactly at an arrival) spikes at t0.
    """
    f0 = es_value(rates, a, b, theta, 0.0)
    if f0 >= 0.0:
        return ST_OK, t0, math.inf, False
    status, lo, hi, margin = es_bracket(rates, a, b, theta, f0, t_max - t0)
    if status != ST_OK or math.isnan(lo):
        return status, math.inf, margin, False
    u = es_closed_form(cf_kind, rates, a, b, theta, f0) if cf_kind != 0 else math.nan
    closed = lo < u <= hi
    t = t0 + es_polish(rates, a, b, theta, lo, hi, u if closed else 0.5 * (lo + hi))
    return ST_OK, (t if t <= t_max else math.inf), margin, closed


@njit(cache=True)
def _push(ht, hs, ha, hb, hn, t, seq, syn, src):
    if hn == ht.size:
        ht, hs, ha, hb = heap_grow(ht, hs, ha, hb)
    ht[hn], hs[hn], ha[hn], hb[hn] = t, seq, syn, src
    heap_sift_up(ht, hs, ha, hb, hn)
    return ht, hs, ha, hb


@njit(cache=True)
def simulate_one(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
                 max_spikes, closed_form):
    """Simulate one pattern. Neuron j uses parameter row ``ptab[pop[j]]`` (its population).

    ``closed_form``: start the crossing polish from the model's closed form where one applies
    (False: always from the bracket's midpoint, the generic root finder).

    Returns (status, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr, arr_time, arr_syn,
    arr_src, arr_prev, near, n_closed, fail_j, fail_t): arrays are over-allocated, valid up to n_spk / n_arr;
    near[j] = (smallest sub-threshold margin theta - V at a local maximum, its segment start);
    n_closed = number of crossing candidates whose polish started from a closed form;
    (fail_j, fail_t) = the neuron and time at which a run with status != ST_OK stopped (-1, nan otherwise).
    """
    n_in_sp = in_times.size
    n_pop = ptab.shape[0]
    theta_pop = np.empty(n_pop)
    es_tab = np.zeros((n_pop, 5, N_SLOTS))  # per population: rates, psp_a, psp_b, reset_a, reset_b
    cf_kind = np.zeros(n_pop, np.int64)  # per population: the closed form that applies (0: none)
    n_closed = 0
    for i in range(n_pop):
        pi = p_load(ptab, i)
        theta_pop[i] = firing_threshold(pi)
        if closed_form:
            cf_kind[i] = closed_form_kind(pi)
        coeffs = expsum_coeffs(pi)
        for g in range(5):
            es_store(es_tab[i], g, coeffs[g])
    st_t = np.zeros(n_neurons)
    st_a = np.zeros((n_neurons, N_SLOTS))
    st_b = np.zeros((n_neurons, N_SLOTS))
    near = np.full((n_neurons, 2), math.inf)
    stack = np.empty((256, 2))
    # Input arrivals are known in advance: one sorted stream (stable: ties keep push order), merged
    # with the heap of arrivals caused by neuron spikes. Inputs win ties, as if pushed first.
    n_ia = 0
    for e in range(n_in_sp):
        n_ia += out_ptr[in_src[e] + 1] - out_ptr[in_src[e]]
    ia_time, ia_syn, ia_src = np.empty(n_ia), np.empty(n_ia, np.int64), np.empty(n_ia, np.int64)
    n_ia = 0
    for e in range(n_in_sp):
        c = in_src[e]
        for q in range(out_ptr[c], out_ptr[c + 1]):
            ia_time[n_ia], ia_syn[n_ia], ia_src[n_ia] = in_times[e] + syn_d[out_syn[q]], out_syn[q], e
            n_ia += 1
    order = np.argsort(ia_time, kind="mergesort")
    ia_time, ia_syn, ia_src = ia_time[order], ia_syn[order], ia_src[order]
    ia = 0
    ht, hs, ha, hb = heap_new(64)
    hn = 0
    seq = 0
    spk_time, spk_neuron = np.empty(16), np.empty(16, np.int64)
    spk_arr_head, spk_prev = np.empty(16, np.int64), np.empty(16, np.int64)
    cap_a = max(n_ia, 16)
    arr_time, arr_syn = np.empty(cap_a), np.empty(cap_a, np.int64)
    arr_src, arr_prev = np.empty(cap_a, np.int64), np.empty(cap_a, np.int64)
    arr_head = np.full(n_neurons, -1, np.int64)
    last_spk = np.full(n_neurons, -1, np.int64)
    tval, tidx = tree_new(n_neurons)
    touched = np.empty(n_neurons, np.int64)
    is_touched = np.zeros(n_neurons, np.bool_)
    polished = np.zeros(n_neurons, np.bool_)
    n_spk = 0
    n_arr = 0
    status = ST_OK
    fail_j, fail_t = -1, math.nan  # where the run stopped, when status != ST_OK
    while status == ST_OK:
        t_in = ia_time[ia] if ia < n_ia else math.inf
        t_arr = min(t_in, ht[0] if hn > 0 else math.inf)
        t_spk = tval[1]
        n_touched = 0
        if t_spk <= t_arr and t_spk <= t_max:
            j = tidx[1]
            p = p_load(ptab, pop[j])
            theta = theta_pop[pop[j]]
            if STRATEGY_EXPSUM and not polished[j]:
                # refine on the defining sum; if that moves it past the next arrival, the arrival goes first
                polished[j] = True
                t_pol = newton_polish(t_spk, st_t[j], t_max, p, theta, j, arr_head, arr_time, arr_syn, arr_prev,
                                      syn_w, last_spk, spk_time, spk_prev)
                tree_set(tval, tidx, j, t_pol if t_pol <= t_max else math.inf)
                continue
            if n_spk >= max_spikes:
                status, fail_j, fail_t = ST_SPIKE_BUDGET, j, t_spk
                break
            if n_spk == spk_time.size:
                spk_time, spk_neuron = _grow_f(spk_time, 0), _grow_i(spk_neuron, 0)
                spk_arr_head, spk_prev = _grow_i(spk_arr_head, 0), _grow_i(spk_prev, 0)
            k = n_spk
            spk_time[k], spk_neuron[k], spk_arr_head[k], spk_prev[k] = t_spk, j, arr_head[j], last_spk[j]
            last_spk[j] = k
            n_spk += 1
            if STRATEGY_EXPSUM:
                tab = es_tab[pop[j]]
                rates = es_load(tab, 0)
                a, b = es_shift_add(rates, es_load(st_a, j), es_load(st_b, j), t_spk - st_t[j], es_load(tab, 3),
                                    es_load(tab, 4), -1.0)
                es_store(st_a, j, a)
                es_store(st_b, j, b)
                f0 = es_value(rates, a, b, theta, 0.0)
            else:
                f0, _ = potential(t_spk, p, theta, j, arr_head, arr_time, arr_syn, arr_prev, syn_w, last_spk,
                                  spk_time, spk_prev)
            if f0 >= 0.0:
                status, fail_j, fail_t = ST_ABOVE_AFTER_RESET, j, t_spk
                break
            st_t[j] = t_spk
            src = n_in + j
            for q in range(out_ptr[src], out_ptr[src + 1]):
                ta = t_spk + syn_d[out_syn[q]]
                if ta <= t_max:
                    ht, hs, ha, hb = _push(ht, hs, ha, hb, hn, ta, seq, out_syn[q], n_in_sp + k)
                    hn += 1
                    seq += 1
            touched[0] = j
            n_touched = 1
        elif t_arr <= t_max:
            while (ia < n_ia and ia_time[ia] == t_arr) or (hn > 0 and ht[0] == t_arr):
                if ia < n_ia and ia_time[ia] == t_arr:
                    syn, src_id = ia_syn[ia], ia_src[ia]
                    ia += 1
                else:
                    syn, src_id = ha[0], hb[0]
                    hn -= 1
                    ht[0], hs[0], ha[0], hb[0] = ht[hn], hs[hn], ha[hn], hb[hn]
                    heap_sift_down(ht, hs, ha, hb, hn)
                j = syn_post[syn]
                if n_arr == arr_time.size:
                    arr_time, arr_syn = _grow_f(arr_time, 0), _grow_i(arr_syn, 0)
                    arr_src, arr_prev = _grow_i(arr_src, 0), _grow_i(arr_prev, 0)
                arr_time[n_arr], arr_syn[n_arr], arr_src[n_arr], arr_prev[n_arr] = t_arr, syn, src_id, arr_head[j]
                arr_head[j] = n_arr
                n_arr += 1
                if STRATEGY_EXPSUM:
                    tab = es_tab[pop[j]]
                    a, b = es_shift_add(es_load(tab, 0), es_load(st_a, j), es_load(st_b, j), t_arr - st_t[j],
                                        es_load(tab, 1), es_load(tab, 2), syn_w[syn])
                    es_store(st_a, j, a)
                    es_store(st_b, j, b)
                st_t[j] = t_arr
                if not is_touched[j]:
                    is_touched[j] = True
                    touched[n_touched] = j
                    n_touched += 1
        else:
            break
        for q in range(n_touched):  # new candidates of the neurons whose input or state changed
            j = touched[q]
            is_touched[j] = False
            polished[j] = False
            theta = theta_pop[pop[j]]
            if STRATEGY_EXPSUM:
                st, tc, margin, closed = es_next_crossing(cf_kind[pop[j]], es_load(es_tab[pop[j]], 0), es_load(st_a, j),
                                                          es_load(st_b, j), theta, st_t[j], t_max)
                n_closed += closed
                if margin < near[j, 0]:
                    near[j, 0] = margin
                    near[j, 1] = st_t[j]
            else:
                st, tc = _interval_candidate(j, p_load(ptab, pop[j]), theta, t_max, st_t[j], arr_head, arr_time, arr_syn, arr_prev,
                                             syn_w, last_spk, spk_time, spk_prev, stack, near)
            if st != ST_OK:
                status, fail_j, fail_t = st, j, st_t[j]  # the search from st_t[j] on failed
            tree_set(tval, tidx, j, tc)
    return (status, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr, arr_time, arr_syn, arr_src,
            arr_prev, near, n_closed, fail_j, fail_t)
