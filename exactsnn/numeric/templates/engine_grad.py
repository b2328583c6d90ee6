"""Forward propagation and adjoint sweeps. TEMPLATE: stamped into each generated model module.

For spike k (neuron i, time t) with ``F = V(t) - theta`` the implicit function theorem gives

    dt_k/dq = -( dF/dq + sum_{parents e} dF/dt_e dt_e/dq ) / Vdot_k

Parents are every arrival at i before t (presynaptic or input spikes: ``dF/dt_e = -w psp'(s)``)
and i's own earlier spikes (through the reset: ``dF/dt_m = +reset'(s)``). Sorted by time this
system is lower-triangular:

- ``fp_core`` solves it forward (the paper's FP): a dense row per spike, forward mode;
- ``adjoint_core`` solves the transposed system backward from dL/dt: reverse mode.

Parameter columns, in order: weights (n_syn) | delays (n_syn) | input spike times | model
parameters of population 0 | of population 1 | ... (N_PARAMS each). Neuron j's kernels use the
parameter row ``ptab[pop[j]]``.
"""

import math

import numpy as np
from numba import njit

from exactsnn.numeric.heap import heap_new, heap_pop_latest, heap_push_latest
from exactsnn.numeric.spike_screen import sample_loss_dt, spikes_clean
from exactsnn.numeric.templates.kernel_stubs import (  # stamp: drop
    N_PARAMS, dpsp_dp, dpsp_ds, dreset_dp, dreset_ds, dthreshold_dp, p_load, psp,  # stamp: drop
)  # stamp: drop


@njit(cache=True)
def collect(k, p, n_in_sp, spk_time, spk_arr_head, spk_prev, arr_time, arr_syn, arr_src, arr_prev, syn_w,
            par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp, own_reset=True, with_dp=True):
    """Parents of spike k and the partials of F at its time.

    Fills par_src (source-spike id), par_syn (synapse, -1 for own spikes), par_psp (dF/dw),
    parent_dF_dt (dF/dt_parent) and df_dp (dF/d model params). Returns (n_parents, Vdot).
    ``own_reset=False`` drops the own-spike parents (the coupling through the reset), as the
    paper's public code does: only for demonstrating that error, never for real gradients.
    ``with_dp=False`` leaves df_dp at zero (the kernels' parameter derivatives are not evaluated); every
    other output is computed by the same operations in the same order, so it is the same bits.
    """
    t = spk_time[k]
    n = 0
    vdot = 0.0
    df_dp[:] = 0.0
    a = spk_arr_head[k]
    while a >= 0:
        s = t - arr_time[a]
        if s >= 0.0:
            syn = arr_syn[a]
            w = syn_w[syn]
            dps = dpsp_ds(s, p)
            par_src[n] = arr_src[a]
            par_syn[n] = syn
            par_psp[n] = psp(s, p)
            parent_dF_dt[n] = -w * dps
            n += 1
            vdot += w * dps
            if with_dp:
                dpsp_dp(s, p, kernel_dp)
                for i in range(N_PARAMS):
                    df_dp[i] += w * kernel_dp[i]
        a = arr_prev[a]
    m = spk_prev[k]
    while m >= 0:
        s = t - spk_time[m]
        dr = dreset_ds(s, p)
        if own_reset:
            par_src[n] = n_in_sp + m
            par_syn[n] = -1
            par_psp[n] = 0.0
            parent_dF_dt[n] = dr
            n += 1
        vdot -= dr
        if with_dp:
            dreset_dp(s, p, kernel_dp)
            for i in range(N_PARAMS):
                df_dp[i] -= kernel_dp[i]
        m = spk_prev[m]
    if with_dp:
        dthreshold_dp(p, kernel_dp)
        for i in range(N_PARAMS):
            df_dp[i] -= kernel_dp[i]
    return n, vdot


@njit(cache=True)
def _scratch(n_arr, n_spk):
    size = n_arr + n_spk + 1
    return (np.empty(size, np.int64), np.empty(size, np.int64), np.empty(size), np.empty(size),
            np.zeros(N_PARAMS), np.zeros(N_PARAMS))


@njit(cache=True)
def fp_core(ptab, pop, n_syn, n_in_sp, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr, arr_time,
            arr_syn, arr_src, arr_prev, syn_w, own_reset):
    """Forward propagation: J (n_spk, 2 n_syn + n_in_sp + n_pop N_PARAMS) and Vdot (n_spk,)."""
    n_q = 2 * n_syn + n_in_sp + ptab.shape[0] * N_PARAMS
    jac = np.zeros((n_spk, n_q))
    vdots = np.empty(n_spk)
    par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp = _scratch(n_arr, n_spk)
    for k in range(n_spk):
        c = pop[spk_neuron[k]]
        n, vdot = collect(k, p_load(ptab, c), n_in_sp, spk_time, spk_arr_head, spk_prev, arr_time, arr_syn, arr_src,
                          arr_prev, syn_w, par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp, own_reset)
        vdots[k] = vdot
        row = jac[k]
        for i in range(n):
            e = par_src[i]
            g = parent_dF_dt[i]
            syn = par_syn[i]
            if syn >= 0:
                row[syn] += par_psp[i]
                row[n_syn + syn] += g
            if e < n_in_sp:
                row[2 * n_syn + e] += g
            else:
                parent = jac[e - n_in_sp]
                for q in range(n_q):
                    row[q] += g * parent[q]
        base = 2 * n_syn + n_in_sp + c * N_PARAMS
        for i in range(N_PARAMS):
            row[base + i] += df_dp[i]
        row *= -1.0 / vdot
    return jac, vdots


@njit(cache=True, inline="always")
def _adjoint_visit(k, ptab, pop, n_syn, n_in_sp, spk_time, spk_neuron, spk_arr_head, spk_prev, arr_time, arr_syn,
                   arr_src, arr_prev, syn_w, adj, grad, par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp,
                   with_dp):
    """The adjoint's step at spike k (adj[k] final): its partials (``collect``) times f = -adj[k] / Vdot into grad
    and the parents' adj. Returns the number of parents (par_src holds them). Inlined: no reference counts."""
    c = pop[spk_neuron[k]]
    n, vdot = collect(k, p_load(ptab, c), n_in_sp, spk_time, spk_arr_head, spk_prev, arr_time, arr_syn, arr_src,
                      arr_prev, syn_w, par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp, True, with_dp)
    f = -adj[k] / vdot
    for i in range(n):
        e = par_src[i]
        g = f * parent_dF_dt[i]
        syn = par_syn[i]
        if syn >= 0:
            grad[syn] += f * par_psp[i]
            grad[n_syn + syn] += g
        if e < n_in_sp:
            grad[2 * n_syn + e] += g
        else:
            adj[e - n_in_sp] += g
    if with_dp:
        base = 2 * n_syn + n_in_sp + c * N_PARAMS
        for i in range(N_PARAMS):
            grad[base + i] += f * df_dp[i]
    return n


@njit(cache=True)
def adjoint_core(ptab, pop, n_syn, n_in_sp, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr, arr_time,
                 arr_syn, arr_src, arr_prev, syn_w, dl_dt, with_dp=True):
    """Adjoint sweep: dL/dq (2 n_syn + n_in_sp + n_pop N_PARAMS,) from dL/dt_k (n_spk,), in reverse time order.

    ``with_dp=False``: the model-parameter block is left at zero and its kernel derivatives are not evaluated
    (``collect``); the other blocks are the same bits."""
    grad = np.zeros(2 * n_syn + n_in_sp + ptab.shape[0] * N_PARAMS)
    adj = dl_dt[:n_spk].copy()
    par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp = _scratch(n_arr, n_spk)
    for k in range(n_spk - 1, -1, -1):
        if adj[k] != 0.0:
            _adjoint_visit(k, ptab, pop, n_syn, n_in_sp, spk_time, spk_neuron, spk_arr_head, spk_prev, arr_time,
                           arr_syn, arr_src, arr_prev, syn_w, adj, grad, par_src, par_syn, par_psp, parent_dF_dt,
                           df_dp, kernel_dp, with_dp)
    return grad


@njit(cache=True)
def loss_adjoint(ptab, pop, n_syn, n_in_sp, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr, arr_time,
                 arr_syn, arr_src, arr_prev, syn_w, kind, n_neurons, outputs, t_max, label, tau0, tau1, gamma,
                 spk_vdot, spk_gap, near, vdot_tol, time_tol, margin_tol):
    """The per-sample ``loss_grad`` in one call: (L, finite, clean, dL/dq). L and dL/dt as ``sample_loss_dt``
    (``finite``: both are), ``clean`` as ``spikes_clean`` on the engine's diagnostics (False: the caller runs
    ``check_spikes``), dL/dq by ``adjoint_core`` (zeros when not finite). The same numbers as the three calls."""
    value, dl_dt, _, finite = sample_loss_dt(kind, spk_time, spk_neuron, n_neurons, outputs, t_max, label, tau0,
                                             tau1, gamma)
    clean = spikes_clean(spk_time, spk_vdot, spk_gap, t_max, near, vdot_tol, time_tol, margin_tol)
    if not finite:
        return value, finite, clean, np.zeros(2 * n_syn + n_in_sp + ptab.shape[0] * N_PARAMS)
    grad = adjoint_core(ptab, pop, n_syn, n_in_sp, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr,
                        arr_time, arr_syn, arr_src, arr_prev, syn_w, dl_dt, True)
    return value, finite, clean, grad


@njit(cache=True, inline="always")
def _reach_parents(n, par_src, n_in_sp, spk_time, reached, ht, hs, ha, hb, n_heap):
    """Push the spike parents among par_src[:n] not reached before (``heap_push_latest``); returns the count."""
    for i in range(n):
        m = par_src[i] - n_in_sp
        if m >= 0 and not reached[m]:
            reached[m] = True
            n_heap = heap_push_latest(ht, hs, ha, hb, n_heap, spk_time[m], m)
    return n_heap


@njit(cache=True)
def adjoint_cone(ptab, pop, n_syn, n_in_sp, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr, arr_time,
                 arr_syn, arr_src, arr_prev, syn_w, dl_dt, with_dp):
    """``adjoint_core`` on a record whose spikes are in a causal order that need not be time order (every spike
    after its parents: the feed-forward path's pools, ``_pool_record``). Returns (grad, ok).

    Only the spikes that the sweep reaches are visited, by decreasing time: a max-heap keyed by time holds the
    spikes seeded by dl_dt and each parent when first reached. A spike's children all come later, so its adj is
    final when it is popped, and the visits (those with adj != 0) come in ``adjoint_core``'s order on the
    time-sorted record: the gradient is the same bits. ``ok`` is False when two visited spikes share a time (the
    time-sorted record then has the event loop's order for them, which the caller must use).
    """
    grad = np.zeros(2 * n_syn + n_in_sp + ptab.shape[0] * N_PARAMS)
    adj = dl_dt[:n_spk].copy()
    par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp = _scratch(n_arr, n_spk)
    ht, hs, ha, hb = heap_new(n_spk)
    reached = np.zeros(n_spk, np.bool_)
    n_heap = 0
    for k in range(n_spk):
        if adj[k] != 0.0:
            reached[k] = True
            n_heap = heap_push_latest(ht, hs, ha, hb, n_heap, spk_time[k], k)
    t_last = math.inf
    while n_heap > 0:
        k, n_heap = heap_pop_latest(ht, hs, ha, hb, n_heap)
        if adj[k] == 0.0:
            continue
        if spk_time[k] == t_last:
            return grad, False
        t_last = spk_time[k]
        n = _adjoint_visit(k, ptab, pop, n_syn, n_in_sp, spk_time, spk_neuron, spk_arr_head, spk_prev, arr_time,
                           arr_syn, arr_src, arr_prev, syn_w, adj, grad, par_src, par_syn, par_psp, parent_dF_dt,
                           df_dp, kernel_dp, with_dp)
        n_heap = _reach_parents(n, par_src, n_in_sp, spk_time, reached, ht, hs, ha, hb, n_heap)
    return grad, True


@njit(cache=True)
def vdot_core(ptab, pop, n_syn, n_in_sp, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev, n_arr, arr_time,
              arr_syn, arr_src, arr_prev, syn_w):
    """dV/dt at every spike (the IFT denominator), from the same partials as the sweeps."""
    out = np.empty(n_spk)
    par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp = _scratch(n_arr, n_spk)
    for k in range(n_spk):
        _, out[k] = collect(k, p_load(ptab, pop[spk_neuron[k]]), n_in_sp, spk_time, spk_arr_head, spk_prev, arr_time, arr_syn, arr_src, arr_prev,
                            syn_w, par_src, par_syn, par_psp, parent_dF_dt, df_dp, kernel_dp)
    return out
