"""Hessian-vector products of first-spike losses over a batch of patterns, in parallel (numba ``prange``).

Pattern ``b`` arrives as the causal record of the engine's ``batch_simulate_record``; per pattern the code
is the serial ``exactsnn.hessian.hvp_flat`` (``numeric/second_order.py``):

    lam = dL/dt,   t_dot = J v,   mu = -G_t^{-T} lam,
    w = d2L/dt2 t_dot + sum_k mu_k d2F_k . (t_dot, v) = (w_t, w_q),   H v = w_q + G_q^T (-G_t^{-T} w_t),

visiting only the loss's spikes and their ancestors. The loss derivatives are those of
``exactsnn.hessian.loss_derivatives``: for ``ttfs_cross_entropy`` with ``p = softmax(-t/tau0)`` over the
outputs, ``d2L/dt_o dt_o' = (delta_oo' p_o - p_o p_o') / tau0^2 + delta_o,label delta_o',label
gamma exp(t_label/tau1) / tau1^2`` (silent outputs: 0); ``first_spike_sum`` has none.
"""

import math

import numpy as np
from numba import njit, prange

from .losses_nb import LOSS_TTFS_CROSS_ENTROPY, loss_and_grad
from .second_order import adjoint_edges, ancestors, edges_core, lagrangian_hvp_terms, tangent, vdot_edges


@njit(cache=True)
def loss_hessian_block(kind, t_first, label, tau0, tau1, gamma):
    """``d2L / dt_o dt_o'`` over all outputs (n_out, n_out), silent ones included (the caller drops them)."""
    n = t_first.size
    h = np.zeros((n, n))
    if kind != LOSS_TTFS_CROSS_ENTROPY:
        return h
    z_max = -np.inf
    for o in range(n):
        z_max = max(z_max, -t_first[o] / tau0)
    p = np.empty(n)
    for o in range(n):
        p[o] = math.exp(-t_first[o] / tau0 - z_max)
    p /= p.sum()
    for o in range(n):
        for o2 in range(n):
            h[o, o2] = -p[o] * p[o2] / tau0 ** 2
        h[o, o] += p[o] / tau0 ** 2
    h[label, label] += gamma * math.exp(t_first[label] / tau1) / tau1 ** 2
    return h


@njit(cache=True)
def loss_seed(first, kind, t_first, label, tau0, tau1, gamma, n_spk):
    """(value, dL/dt (n_spk,), seed (n_spk,) bool, h (n_out, n_out)): the loss and the spikes its first or
    second derivative reaches (live outputs' first spikes with a nonzero gradient or Hessian row)."""
    n_out = t_first.size
    silent = first < 0
    dl_do = np.zeros(n_out)
    value = loss_and_grad(kind, t_first, silent, label, tau0, tau1, gamma, dl_do)
    h = loss_hessian_block(kind, t_first, label, tau0, tau1, gamma)
    dl_dt = np.zeros(n_spk)
    seed = np.zeros(n_spk, np.bool_)
    for o in range(n_out):
        if silent[o]:
            continue
        dl_dt[first[o]] += dl_do[o]
        hit = dl_do[o] != 0.0
        for o2 in range(n_out):
            if not silent[o2] and (h[o, o2] != 0.0 or h[o2, o] != 0.0):
                hit = True
        if hit:
            seed[first[o]] = True
    return value, dl_dt, seed, h


@njit(cache=False)
def sample_hvp(psp, dpsp, d2psp, dreset, d2reset, p_load, ptab, pop, n_in, n_syn, n_spk, spk_time, spk_nrn,
               spk_head, spk_prev, arr_time, arr_syn, arr_src, arr_prev, syn_w, first, t_first, loss, label, v):
    """One pattern: (loss, (H v)[:2 n_syn] in weights and delays, min Vdot over the spikes visited).

    The model's jitted kernels come first (as for ``edges_core``); ``loss`` = (kind, tau0, tau1, gamma)."""
    kind, tau0, tau1, gamma = loss
    value, dl_dt, seed, h = loss_seed(first, int(kind), t_first, label, tau0, tau1, gamma, n_spk)
    keep = ancestors(n_in, spk_time, spk_head, spk_prev, arr_time, arr_src, arr_prev, seed)
    ptr, src, syn, w, k0, k1, k2, _ = edges_core(psp, dpsp, d2psp, dreset, d2reset, p_load, ptab, pop, n_in,
                                              spk_time, spk_nrn, spk_head, spk_prev, arr_time, arr_syn, arr_src,
                                              arr_prev, syn_w, keep)
    vdot = vdot_edges(ptr, syn, w, k1)
    min_vdot = np.inf
    for k in range(n_spk):
        if keep[k]:
            min_vdot = min(min_vdot, vdot[k])
        else:
            vdot[k] = 1.0
    vb = np.zeros(2 * n_syn + n_in)
    vb[:2 * n_syn] = v
    tdot = tangent(ptr, src, syn, w, k0, k1, vdot, n_syn, n_in, vb, np.zeros(n_spk))
    mu, _ = adjoint_edges(ptr, src, syn, w, k0, k1, vdot, n_syn, n_in, dl_dt)
    w_t, w_q = lagrangian_hvp_terms(ptr, src, syn, w, k1, k2, n_syn, n_in, mu, vb, tdot)
    for o in range(first.size):
        if first[o] < 0:
            continue
        for o2 in range(first.size):
            if first[o2] >= 0:
                w_t[first[o]] += h[o, o2] * tdot[first[o2]]
    g = adjoint_edges(ptr, src, syn, w, k0, k1, vdot, n_syn, n_in, w_t)[1]
    return value, (w_q + g)[:2 * n_syn], min_vdot


@njit(cache=False, parallel=True)
def batch_hvp_records(psp, dpsp, d2psp, dreset, d2reset, p_load, ptab, pop, n_syn, in_ptr, sizes, t_first, first,
                      spk_f, spk_i, arr_f, arr_i, syn_w, loss, labels, v):
    """``sample_hvp`` (the model's jitted kernels first) for every pattern of a ``batch_simulate_record``
    output, in parallel.

    Returns (losses (B,), hv (B, 2 n_syn) per-pattern H v in weights and delays, min_vdot (B,))."""
    n_b = in_ptr.size - 1
    losses = np.zeros(n_b)
    hv = np.zeros((n_b, 2 * n_syn))
    min_vdot = np.zeros(n_b)
    for b in prange(n_b):
        n_spk, n_arr = sizes[b, 0], sizes[b, 1]
        val, h, mv = sample_hvp(psp, dpsp, d2psp, dreset, d2reset, p_load, ptab, pop, in_ptr[b + 1] - in_ptr[b],
                                n_syn, n_spk, spk_f[b, :n_spk], spk_i[b, 0, :n_spk], spk_i[b, 1, :n_spk],
                                spk_i[b, 2, :n_spk], arr_f[b, :n_arr], arr_i[b, 0, :n_arr], arr_i[b, 1, :n_arr],
                                arr_i[b, 2, :n_arr], syn_w, first[b], t_first[b], loss, labels[b], v)
        losses[b] = val
        hv[b] = h
        min_vdot[b] = mv
    return losses, hv, min_vdot
