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

import numpy as np
from numba import njit, prange

from exactsnn.numeric.templates.engine_batch import batch_rows, simulate_pattern  # stamp: drop
from exactsnn.numeric.templates.engine_grad import _scratch, collect  # stamp: drop
from exactsnn.numeric.templates.kernel_stubs import N_PARAMS, dpsp_ds, dreset_ds, p_load, psp  # stamp: drop


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


@njit(cache=True)
def jacobian_core(ptab, pop, n_syn, n_in_sp, in_cols, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr,
                  arr_time, arr_syn, arr_src, arr_prev, syn_w, first, jac, with_dp, with_dd):
    """Fill jac (n_out, n_q): row o = ``adjoint_core`` seeded with 1 at spike first[o].

    Columns as ``batch_adjoint_record``'s: weights | delays (only ``with_dd``, else absent) | ``in_cols``
    input-time slots (the first ``n_in_sp`` used) | model parameters per population (left zero unless
    ``with_dp``); n_q = (2 if with_dd else 1) n_syn + in_cols + n_pop N_PARAMS. Rows of silent outputs
    (first[o] = -1) stay zero.
    """
    n_out = first.size
    adj = np.zeros((n_spk, n_out))
    for o in range(n_out):
        if first[o] >= 0:
            adj[first[o], o] = 1.0
    d_off = n_syn if with_dd else 0  # delay block (empty without with_dd), then inputs at in_base
    in_base = n_syn + d_off
    par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp = _scratch(n_arr, n_spk)
    for k in range(n_spk - 1, -1, -1):
        live = False
        for o in range(n_out):
            live = live or adj[k, o] != 0.0
        if not live:
            continue
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
    for b in prange(n_b):
        jac[b] = 0.0
        res = simulate_pattern(b, ptab, pop, in_times, in_src, in_ptr, n_in, n_neurons, syn_post, syn_w, syn_d,
                               out_ptr, out_syn, t_max, max_spikes, outputs, status, sizes, t_first, first, counts)
        n_spk, n_arr = res[1], res[6]
        hi, lo = in_ptr[b + 1], in_ptr[b]
        if res[0] == 0:
            jacobian_core(ptab, pop, n_syn, hi - lo, max_in_sp, n_spk, res[2], res[3], res[4], res[5], n_arr, res[7],
                          res[8], res[9], res[10], syn_w, first[b], jac[b], with_dp, with_dd)
    return status, sizes, t_first, first, counts, jac
