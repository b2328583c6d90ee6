"""TEMPLATE: the second-order numba code that calls a model's kernels, stamped per model into the cache.

``exactsnn.second_order_kernels`` writes this file below one import of the model's generated kernels
(``psp``, ``dpsp_ds``, ``d2psp_ds2``, ``dpsp_dp``, ``d2psp_dsdp``, ``d2psp_dp2``, ... from the model's
stamped module; the ``# stamp: drop`` lines are removed) and imports it. The kernels are then module
globals, not arguments, so numba caches every function here on disk (``cache=True``): a jitted function
taking dispatchers as arguments cannot be cached (its cache index would refer to the dispatchers of an
earlier process). The model-independent sweeps stay in ``second_order.py``, ``second_order_params.py`` and
``second_order_batch.py``.

Per pattern, with ``q = [w | d | inputs | p_0 | p_1 | ...]`` (``Gradients``' layout), ``lam = dL/dt``,
``mu = -G_t^{-T} lam``, ``t_dot = J v``, ``w = d2L/dt2 t_dot + sum_k mu_k d2F_k . (t_dot, v) = (w_t, w_q)``:

    H v = w_q + G_q^T (-G_t^{-T} w_t)        (``proofs/second_order.md``)
"""

import math

import numpy as np
from numba import njit, prange

from exactsnn.numeric.templates.kernel_stubs import d2psp_dp2, d2psp_ds2, d2psp_dsdp, d2reset_dp2  # stamp: drop
from exactsnn.numeric.templates.kernel_stubs import d2reset_ds2, d2reset_dsdp, d2threshold_dp2  # stamp: drop
from exactsnn.numeric.templates.kernel_stubs import dpsp_dp, dpsp_ds, dreset_dp, dreset_ds  # stamp: drop
from exactsnn.numeric.templates.kernel_stubs import dthreshold_dp, p_load, psp  # stamp: drop
from exactsnn.numeric.second_order import adjoint_edges, ancestors, lagrangian_hvp_terms, tangent, vdot_edges
from exactsnn.numeric.second_order_batch import live_loss_block, loss_seed
from exactsnn.numeric.second_order_params import contract, lagrangian_param_terms, model_grad, tangent_rhs


@njit(cache=True)
def edges_core(ptab, pop, n_in, spk_time, spk_neuron, spk_arr_head, spk_prev, arr_time, arr_syn, arr_src, arr_prev,
               syn_w, keep):
    """The causal edges of the spikes with ``keep[k]``: (ptr, src, syn, w, k0, k1, k2, lag) as
    ``exactsnn.hessian.Edges``; other spikes get no edges. The parents are those of the first-order sweeps:
    every arrival at the spiking neuron with lag ``s >= 0`` (``k = psp, psp', psp''`` at ``s``) and every
    earlier own spike (``k = 0, reset', reset''``)."""
    n = spk_time.size
    cap = 0
    for k in range(n):
        if not keep[k]:
            continue
        a = spk_arr_head[k]
        while a >= 0:
            if spk_time[k] - arr_time[a] >= 0.0:
                cap += 1
            a = arr_prev[a]
        m = spk_prev[k]
        while m >= 0:
            cap += 1
            m = spk_prev[m]
    ptr = np.zeros(n + 1, np.int64)
    lag, w, k0, k1, k2 = np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap)
    src, syn = np.empty(cap, np.int64), np.empty(cap, np.int64)
    e = 0
    for k in range(n):
        if keep[k]:
            p = p_load(ptab, pop[spk_neuron[k]])
            t = spk_time[k]
            a = spk_arr_head[k]
            while a >= 0:
                s = t - arr_time[a]
                if s >= 0.0:
                    lag[e], src[e], syn[e], w[e] = s, arr_src[a], arr_syn[a], syn_w[arr_syn[a]]
                    k0[e], k1[e], k2[e] = psp(s, p), dpsp_ds(s, p), d2psp_ds2(s, p)
                    e += 1
                a = arr_prev[a]
            m = spk_prev[k]
            while m >= 0:
                s = t - spk_time[m]
                lag[e], src[e], syn[e], w[e] = s, n_in + m, -1, 0.0
                k0[e], k1[e], k2[e] = 0.0, dreset_ds(s, p), d2reset_ds2(s, p)
                e += 1
                m = spk_prev[m]
        ptr[k + 1] = e
    return ptr, src, syn, w, k0, k1, k2, lag


@njit(cache=True)
def param_edges(n_par, ptab, pop, spk_neuron, ptr, syn, w, lag, keep, base, v, mu):
    """Kernel parameter partials at every edge and spike, the second ones contracted with the direction.

    Returns (g1 (n_e, P), gs (n_e, P), gv (n_e, P): dK/dp, d2K/ds dp and (d2K/dp2) v_p of the edge's kernel K
    (psp for an arrival, reset for an own spike); dfdp (n_spk, P) = dF_k/dp; thv (n_spk, P) =
    (d2threshold/dp2) v_p; cpop (n_spk,) the population of each spike's neuron), with ``v_p = v[base + c P:]``
    the direction's block of the spike's population ``c``. Only what a spike's terms use is evaluated: spikes
    without ``keep`` get zeros; with ``mu_k = 0`` (no Lagrangian term) only ``g1`` and ``dfdp``; with a zero
    ``v_p`` no ``gv``, ``thv`` (``second_order_params.py`` states the terms)."""
    n_spk = ptr.size - 1
    n_e = ptr[n_spk]
    g1, gs, gv = np.zeros((n_e, n_par)), np.zeros((n_e, n_par)), np.zeros((n_e, n_par))
    dfdp, thv = np.zeros((n_spk, n_par)), np.zeros((n_spk, n_par))
    cpop = np.zeros(n_spk, np.int64)
    th1, hpp = np.zeros(n_par), np.zeros(n_par * n_par)
    vnz = np.zeros(ptab.shape[0], np.bool_)  # populations with a nonzero direction block
    for c in range(ptab.shape[0]):
        for i in range(n_par):
            vnz[c] = vnz[c] or v[base + c * n_par + i] != 0.0
    for k in range(n_spk):
        cpop[k] = pop[spk_neuron[k]]
        if not keep[k]:
            continue
        p = p_load(ptab, cpop[k])
        vp = v[base + cpop[k] * n_par:base + (cpop[k] + 1) * n_par]
        second = mu[k] != 0.0
        curv = second and vnz[cpop[k]]
        dthreshold_dp(p, th1)
        dfdp[k] -= th1
        if curv:
            d2threshold_dp2(p, hpp)
            contract(hpp, vp, thv[k])
        for e in range(ptr[k], ptr[k + 1]):
            if syn[e] >= 0:
                dpsp_dp(lag[e], p, g1[e])
                for i in range(n_par):
                    dfdp[k, i] += w[e] * g1[e, i]
                if second:
                    d2psp_dsdp(lag[e], p, gs[e])
                if curv:
                    d2psp_dp2(lag[e], p, hpp)
            else:
                dreset_dp(lag[e], p, g1[e])
                for i in range(n_par):
                    dfdp[k, i] -= g1[e, i]
                if second:
                    d2reset_dsdp(lag[e], p, gs[e])
                if curv:
                    d2reset_dp2(lag[e], p, hpp)
            if curv:
                contract(hpp, vp, gv[e])
    return g1, gs, gv, dfdp, thv, cpop


@njit(cache=True)
def hvp_core(ptab, pop, spk_neuron, ptr, src, syn, w, k0, k1, k2, lag, vdot, keep, n_syn, n_in, mu, v, idx, block):
    """``H v`` (n_q + n_m,) from the edges of the loss's spikes and their ancestors, the adjoint ``mu`` of
    ``dL/dt`` and ``d2L/dt2`` equal to ``block`` on the spikes ``idx``; ``v`` of length ``n_q = 2 n_syn + n_in``
    (weights, delays, input times) or ``n_q + n_m`` (and the model block, ``n_m = ptab.size``)."""
    n_q = 2 * n_syn + n_in
    n_m = v.size - n_q
    n_spk = ptr.size - 1
    rhs = np.zeros(n_spk)
    g1 = gs = gv = dfdp = thv = np.zeros((0, 0))
    cpop = np.zeros(0, np.int64)
    if n_m > 0:
        g1, gs, gv, dfdp, thv, cpop = param_edges(ptab.shape[1], ptab, pop, spk_neuron, ptr, syn, w, lag, keep, n_q,
                                                  v, mu)
        rhs = tangent_rhs(dfdp, cpop, n_q, v)
    tdot = tangent(ptr, src, syn, w, k0, k1, vdot, n_syn, n_in, v, rhs)
    w_t, w_q = lagrangian_hvp_terms(ptr, src, syn, w, k1, k2, n_syn, n_in, mu, v, tdot)
    for i in range(idx.size):
        for j in range(idx.size):
            w_t[idx[i]] += block[i, j] * tdot[idx[j]]
    out = np.zeros(n_q + n_m)
    out[:n_q] = w_q
    if n_m > 0:
        lagrangian_param_terms(ptr, src, syn, w, n_syn, n_in, g1, gs, gv, thv, cpop, ptab.shape[0], mu, v, tdot, w_t,
                               out)
    mu2, g = adjoint_edges(ptr, src, syn, w, k0, k1, vdot, n_syn, n_in, w_t)
    out[:n_q] += g
    if n_m > 0:
        out[n_q:] += model_grad(mu2, dfdp, cpop, ptab.shape[0])
    return out


@njit(cache=True)
def sample_hvp(ptab, pop, n_in, n_syn, n_spk, spk_time, spk_nrn, spk_head, spk_prev, arr_time, arr_syn, arr_src,
               arr_prev, syn_w, first, t_first, loss, label, v):
    """One pattern of a batch: (loss, H v (v.size,), min Vdot over the spikes visited); ``loss`` = (kind, tau0,
    tau1, gamma), ``v`` over ``[w | d | this pattern's inputs]`` or also the model block (``hvp_core``)."""
    kind, tau0, tau1, gamma = loss
    value, dl_dt, seed, h = loss_seed(first, int(kind), t_first, label, tau0, tau1, gamma, n_spk)
    keep = ancestors(n_in, spk_time, spk_head, spk_prev, arr_time, arr_src, arr_prev, seed)
    ptr, src, syn, w, k0, k1, k2, lag = edges_core(ptab, pop, n_in, spk_time, spk_nrn, spk_head, spk_prev, arr_time,
                                                   arr_syn, arr_src, arr_prev, syn_w, keep)
    vdot = vdot_edges(ptr, syn, w, k1)
    min_vdot = math.inf
    for k in range(n_spk):
        if keep[k]:
            min_vdot = min(min_vdot, vdot[k])
        else:
            vdot[k] = 1.0
    mu, _ = adjoint_edges(ptr, src, syn, w, k0, k1, vdot, n_syn, n_in, dl_dt)
    idx, block = live_loss_block(first, h)
    hv = hvp_core(ptab, pop, spk_nrn, ptr, src, syn, w, k0, k1, k2, lag, vdot, keep, n_syn, n_in, mu, v, idx, block)
    return value, hv, min_vdot


@njit(cache=True, parallel=True)
def batch_hvp_records(ptab, pop, n_syn, in_ptr, sizes, t_first, first, spk_f, spk_i, arr_f, arr_i, syn_w, loss, labels,
                      v_shared, v_in):
    """``sample_hvp`` for every pattern of a ``batch_simulate_record`` output, in parallel (``prange``).

    ``v_shared`` = ``[w | d]`` or ``[w | d | model]`` (shared by the patterns), ``v_in`` (B, max_in) each
    pattern's input-time direction (padded). Returns (losses (B,), the shared blocks of ``mean_b H_b v_b``
    (summed in pattern order), ``hv_in`` (B, max_in): the input blocks ``H_b v_b / B`` of the mean loss,
    min_vdot (B,))."""
    n_b = in_ptr.size - 1
    n_m = v_shared.size - 2 * n_syn
    losses, min_vdot = np.zeros(n_b), np.zeros(n_b)
    hv = np.zeros((n_b, v_shared.size))
    hv_in = np.zeros(v_in.shape)
    for b in prange(n_b):
        n_spk, n_arr, n_in = sizes[b, 0], sizes[b, 1], in_ptr[b + 1] - in_ptr[b]
        q = 2 * n_syn + n_in
        v = np.empty(q + n_m)
        v[:2 * n_syn] = v_shared[:2 * n_syn]
        v[2 * n_syn:q] = v_in[b, :n_in]
        v[q:] = v_shared[2 * n_syn:]
        val, h, mv = sample_hvp(ptab, pop, n_in, n_syn, n_spk, spk_f[b, :n_spk], spk_i[b, 0, :n_spk],
                                spk_i[b, 1, :n_spk], spk_i[b, 2, :n_spk], arr_f[b, :n_arr], arr_i[b, 0, :n_arr],
                                arr_i[b, 1, :n_arr], arr_i[b, 2, :n_arr], syn_w, first[b], t_first[b], loss, labels[b],
                                v)
        losses[b], min_vdot[b] = val, mv
        hv[b, :2 * n_syn] = h[:2 * n_syn]
        hv[b, 2 * n_syn:] = h[q:]
        hv_in[b, :n_in] = h[2 * n_syn:q] / n_b
    total = np.zeros(v_shared.size)
    for b in range(n_b):
        total += hv[b]
    return losses, total / n_b, hv_in, min_vdot
