"""The loss terms of batch Hessian-vector products (the per-pattern sweeps run in parallel, numba ``prange``).

Pattern ``b`` arrives as the causal record of the engine's ``batch_simulate_record``; per pattern the code
(``sample_hvp`` and ``batch_hvp_records`` in ``second_order_model.py``, stamped per model) is the serial
``exactsnn.hessian.hvp_flat``:

    lam = dL/dt,   t_dot = J v,   mu = -G_t^{-T} lam,
    w = d2L/dt2 t_dot + sum_k mu_k d2F_k . (t_dot, v) = (w_t, w_q),   H v = w_q + G_q^T (-G_t^{-T} w_t),

visiting only the loss's spikes and their ancestors. The loss derivatives are those of
``exactsnn.hessian.loss_derivatives``: for ``ttfs_cross_entropy`` with ``p = softmax(-t/tau0)`` over the
outputs, ``d2L/dt_o dt_o' = (delta_oo' p_o - p_o p_o') / tau0^2 + delta_o,label delta_o',label
gamma exp(t_label/tau1) / tau1^2`` (silent outputs: 0); ``first_spike_sum`` has none.
"""

import math

import numpy as np
from numba import njit

from .losses_nb import LOSS_TTFS_CROSS_ENTROPY, loss_and_grad


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


@njit(cache=True)
def live_loss_block(first, h):
    """``(idx, block)``: the outputs' first spikes that fired and ``d2L/dt2`` among them (rows of ``h``, the
    (n_out, n_out) loss Hessian of ``loss_seed``, at the live outputs)."""
    n_live = 0
    for o in range(first.size):
        if first[o] >= 0:
            n_live += 1
    idx = np.empty(n_live, np.int64)
    rows = np.empty(n_live, np.int64)
    i = 0
    for o in range(first.size):
        if first[o] >= 0:
            idx[i], rows[i] = first[o], o
            i += 1
    block = np.empty((n_live, n_live))
    for i in range(n_live):
        for j in range(n_live):
            block[i, j] = h[rows[i], rows[j]]
    return idx, block
