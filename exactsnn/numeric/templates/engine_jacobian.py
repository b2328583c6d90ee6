"""First-spike Jacobians of whole batches. TEMPLATE: stamped after ``engine_batch`` into each model module.

The framework bridges hand back dL/dt_first (one number per output neuron and pattern) only after the
forward pass. Instead of keeping each pattern's causal record for a later adjoint sweep, the forward
pass can run the sweep while the record is still in cache, once per output neuron o with the seed
dL/dt = 1 at o's first spike, and keep the rows

    J[b, o, q] = d t_first(b, o) / d q     (zero when output o is silent in pattern b).

The backward pass is then one contraction, dL/dq = sum_{b, o} dL/dt_first(b, o) J[b, o, q].

``jacobian_core`` runs the n_out sweeps together: one ``collect`` per spike (the kernel evaluations, the
expensive part) serves every output whose adjoint reaches that spike. Row o is computed with exactly the
operations, in exactly the order, of ``adjoint_core`` seeded with 1 at o's first spike, so each row equals
that sweep bit for bit; the contraction equals a single sweep seeded with every dL/dt_first to rounding.
"""

import math

import numpy as np
from numba import njit, prange

from exactsnn.numeric.heap import heap_new, heap_pop_latest, heap_push_latest
from exactsnn.numeric.templates.engine_batch import _pool_sim, batch_rows, simulate_pattern  # stamp: drop
from exactsnn.numeric.templates.engine_feedforward import feedforward_ok, ff_tables  # stamp: drop
from exactsnn.numeric.templates.engine_grad import _reach_parents, _scratch, collect  # stamp: drop
from exactsnn.numeric.templates.kernel_stubs import (  # stamp: drop
    N_PARAMS, STRATEGY_EXPSUM, dpsp_ds, dreset_ds, p_load, psp,  # stamp: drop
)  # stamp: drop


@njit(cache=True)
def collect_no_dp(k, p, n_in_sp, spk_time, spk_arr_head, spk_prev, arr_time, arr_syn, arr_src, arr_prev, syn_w,
                  par_src, par_syn, par_psp, parent_dF_dt):
    """``collect`` without the model-parameter partials dF/dp (the kernels' parameter derivatives, about a
    third of its kernel evaluations): the same parents, the same dF/dw, dF/dt_parent and Vdot, computed
    with the same operations in the same order. Returns (n_parents, Vdot)."""
    t = spk_time[k]
    n = 0
    vdot = 0.0
    a = spk_arr_head[k]
    while a >= 0:
        s = t - arr_time[a]
        if s >= 0.0:
            dps = dpsp_ds(s, p)
            par_src[n], par_syn[n], par_psp[n] = arr_src[a], arr_syn[a], psp(s, p)
            parent_dF_dt[n] = -syn_w[arr_syn[a]] * dps
            vdot += syn_w[arr_syn[a]] * dps
            n += 1
        a = arr_prev[a]
    m = spk_prev[k]
    while m >= 0:
        dr = dreset_ds(t - spk_time[m], p)
        par_src[n], par_syn[n], par_psp[n], parent_dF_dt[n] = n_in_sp + m, -1, 0.0, dr
        vdot -= dr
        n += 1
        m = spk_prev[m]
    return n, vdot


@njit(cache=True, inline="always")
def _jacobian_visit(k, ptab, pop, n_syn, n_in_sp, in_cols, spk_time, spk_neuron, spk_arr_head, spk_prev, arr_time,
                    arr_syn, arr_src, arr_prev, syn_w, adj, jac, with_dp, with_dd, par_src, par_syn, par_psp,
                    parent_dF_dt, df_dp, kernel_dp):
    """``jacobian_core``'s step at spike k (every adj[k, o] final): one ``collect``, then each live output's
    ``adjoint_core`` step into its row. Returns the number of parents, or -1 when no output reaches k."""
    n_out = adj.shape[1]
    live = False
    for o in range(n_out):
        live = live or adj[k, o] != 0.0
    if not live:
        return -1
    d_off = n_syn if with_dd else 0  # delay block (empty without with_dd), then inputs at in_base
    in_base = n_syn + d_off
    c = pop[spk_neuron[k]]
    if with_dp:
        n, vdot = collect(k, p_load(ptab, c), n_in_sp, spk_time, spk_arr_head, spk_prev, arr_time, arr_syn,
                          arr_src, arr_prev, syn_w, par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp)
    else:
        n, vdot = collect_no_dp(k, p_load(ptab, c), n_in_sp, spk_time, spk_arr_head, spk_prev, arr_time, arr_syn,
                                arr_src, arr_prev, syn_w, par_src, par_syn, par_psp, parent_dF_dt)
    base = in_base + in_cols + c * N_PARAMS
    for o in range(n_out):
        if adj[k, o] == 0.0:
            continue
        f = -adj[k, o] / vdot
        row = jac[o]
        for i in range(n):
            e = par_src[i]
            g = f * parent_dF_dt[i]
            syn = par_syn[i]
            if syn >= 0:
                row[syn] += f * par_psp[i]
                if with_dd:
                    row[d_off + syn] += g
            if e < n_in_sp:
                row[in_base + e] += g
            else:
                adj[e - n_in_sp, o] += g
        for i in range(N_PARAMS if with_dp else 0):
            row[base + i] += f * df_dp[i]
    return n


@njit(cache=True)
def _seeded(n_spk, first):
    """adj (n_spk, n_out): 1 at each output's first spike (silent outputs: first[o] = -1, no seed)."""
    adj = np.zeros((n_spk, first.size))
    for o in range(first.size):
        if first[o] >= 0:
            adj[first[o], o] = 1.0
    return adj


@njit(cache=True)
def jacobian_core(ptab, pop, n_syn, n_in_sp, in_cols, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr,
                  arr_time, arr_syn, arr_src, arr_prev, syn_w, first, jac, with_dp, with_dd):
    """Fill jac (n_out, n_q): row o = ``adjoint_core`` seeded with 1 at spike first[o].

    Columns as ``batch_adjoint_record``'s: weights | delays (only ``with_dd``, else absent) | ``in_cols``
    input-time slots (the first ``n_in_sp`` used) | model parameters per population (left zero unless
    ``with_dp``); n_q = (2 if with_dd else 1) n_syn + in_cols + n_pop N_PARAMS. Rows of silent outputs
    (first[o] = -1) stay zero.
    """
    adj = _seeded(n_spk, first)
    par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp = _scratch(n_arr, n_spk)
    for k in range(n_spk - 1, -1, -1):
        _jacobian_visit(k, ptab, pop, n_syn, n_in_sp, in_cols, spk_time, spk_neuron, spk_arr_head, spk_prev, arr_time,
                        arr_syn, arr_src, arr_prev, syn_w, adj, jac, with_dp, with_dd, par_src, par_syn, par_psp,
                        parent_dF_dt, df_dp, kernel_dp)


@njit(cache=True)
def jacobian_cone(ptab, pop, n_syn, n_in_sp, in_cols, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr,
                  arr_time, arr_syn, arr_src, arr_prev, syn_w, first, jac, with_dp, with_dd):
    """``jacobian_core`` on a record in a causal order that need not be time order (``_pool_record``), visiting
    only the spikes the sweeps reach, by decreasing time (``adjoint_cone``'s max-heap): the same rows bit for
    bit. Returns ok: False when two visited spikes share a time (then use the time-sorted record)."""
    adj = _seeded(n_spk, first)
    par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp = _scratch(n_arr, n_spk)
    ht, hs, ha, hb = heap_new(n_spk)
    reached = np.zeros(n_spk, np.bool_)
    n_heap = 0
    for o in range(first.size):
        k = first[o]
        if k >= 0 and not reached[k]:
            reached[k] = True
            n_heap = heap_push_latest(ht, hs, ha, hb, n_heap, spk_time[k], k)
    t_last = math.inf
    while n_heap > 0:
        k, n_heap = heap_pop_latest(ht, hs, ha, hb, n_heap)
        n = _jacobian_visit(k, ptab, pop, n_syn, n_in_sp, in_cols, spk_time, spk_neuron, spk_arr_head, spk_prev,
                            arr_time, arr_syn, arr_src, arr_prev, syn_w, adj, jac, with_dp, with_dd, par_src, par_syn,
                            par_psp, parent_dF_dt, df_dp, kernel_dp)
        if n < 0:
            continue
        if spk_time[k] == t_last:
            return False
        t_last = spk_time[k]
        n_heap = _reach_parents(n, par_src, n_in_sp, spk_time, reached, ht, hs, ha, hb, n_heap)
    return True


@njit(cache=True)
def _time_rank(spk_time, n_spk, k):
    """(index of spike k in the time-sorted record, unique): the spikes before it, when no other has its time."""
    before, same = 0, 0
    for q in range(n_spk):
        before += spk_time[q] < spk_time[k]
        same += spk_time[q] == spk_time[k]
    return before, same == 1


@njit(cache=True)
def _pool_jacobian(b, ptab, pop, in_times, in_src, in_ptr, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn,
                   t_max, max_spikes, outputs, max_in_sp, with_dp, with_dd, status, sizes, t_first, first, counts, jac,
                   tables):
    """Pattern b of ``batch_simulate_jacobian`` from ``_pool_sim`` and ``jacobian_cone``: the same rows and row
    entries bit for bit (``first``: each first spike's index in the time-sorted record). Returns False, with
    nothing written but jac, when the pattern needs the record path (``_pool_sim`` not ok, a tie)."""
    lo, hi = in_ptr[b], in_ptr[b + 1]
    ok, rec, tf, idx, cnt = _pool_sim(ptab, pop, in_times[lo:hi], in_src[lo:hi], n_in, n_neurons, syn_post, syn_w,
                                      syn_d, out_ptr, out_syn, t_max, max_spikes, outputs, tables)
    if not ok:
        return False
    n_spk, spk_time = rec[0], rec[1]
    rank = np.full(outputs.size, -1, np.int64)
    for o in range(outputs.size):
        if idx[o] >= 0:
            rank[o], unique = _time_rank(spk_time, n_spk, idx[o])
            if not unique:
                return False
    if not jacobian_cone(ptab, pop, syn_w.size, hi - lo, max_in_sp, *rec, syn_w, idx, jac, with_dp, with_dd):
        return False
    status[b], sizes[b, 0], sizes[b, 1] = 0, n_spk, rec[5]
    t_first[b], first[b], counts[b] = tf, rank, cnt
    return True


@njit(cache=True, parallel=True)
def batch_simulate_jacobian(ptab, pop, in_times, in_src, in_ptr, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr,
                            out_syn, t_max, max_spikes, outputs, max_in_sp, with_dp, with_dd):
    """Many patterns in parallel: simulate each, then its first-spike Jacobian while the record is hot
    (the model-parameter columns only ``with_dp``, else zero; the delay columns only ``with_dd``, else absent).

    Returns (status (B,), sizes (B, 2) = (n_spk, n_arr), t_first (B, n_out), first (B, n_out) spike index
    or -1, counts (B, n_neurons), jac (B, n_out, n_q) with n_q = (2 if with_dd else 1) n_syn + max_in_sp +
    n_pop N_PARAMS), the first five as ``batch_simulate_record``'s; no record is kept.
    """
    n_b = in_ptr.size - 1
    n_syn = syn_w.size
    status, sizes, t_first, first, counts = batch_rows(n_b, outputs.size, n_neurons)
    # zeroed pattern by pattern inside the parallel loop: np.zeros of the whole batch ran serially before it
    # (2.3 MB for 50 Yin-Yang patterns: ~180 us against ~30 us for np.empty, measured by the bridges3 helper)
    jac = np.empty((n_b, outputs.size, (2 if with_dd else 1) * n_syn + max_in_sp + ptab.shape[0] * N_PARAMS))
    pools = STRATEGY_EXPSUM and feedforward_ok(n_in, n_neurons, syn_post, out_ptr, out_syn)
    tables = ff_tables(n_in, n_neurons, syn_post, out_ptr, out_syn)
    for b in prange(n_b):
        jac[b] = 0.0
        done = pools and _pool_jacobian(b, ptab, pop, in_times, in_src, in_ptr, n_in, n_neurons, syn_post, syn_w,
                                        syn_d, out_ptr, out_syn, t_max, max_spikes, outputs, max_in_sp, with_dp,
                                        with_dd, status, sizes, t_first, first, counts, jac[b], tables)
        if not done:  # the time-sorted record (jac[b] may hold a partial sweep)
            jac[b] = 0.0
            res = simulate_pattern(b, ptab, pop, in_times, in_src, in_ptr, n_in, n_neurons, syn_post, syn_w, syn_d,
                                   out_ptr, out_syn, t_max, max_spikes, outputs, status, sizes, t_first, first, counts)
            n_spk, n_arr = res[1], res[6]
            hi, lo = in_ptr[b + 1], in_ptr[b]
            if res[0] == 0:
                jacobian_core(ptab, pop, n_syn, hi - lo, max_in_sp, n_spk, res[2], res[3], res[4], res[5], n_arr,
                              res[7], res[8], res[9], res[10], syn_w, first[b], jac[b], with_dp, with_dd)
    return status, sizes, t_first, first, counts, jac
