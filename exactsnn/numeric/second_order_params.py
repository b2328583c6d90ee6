"""The model-parameter block of the Hessian-vector product (thresholds, time constants, every model parameter).

Spike ``k`` of a neuron of population ``c`` (parameters ``p = ptab[c]``, ``P`` of them) solves

    F_k = sum_arr w psp(s; p) - sum_own reset(s; p) - threshold(p) = 0.

With the parameter vector extended to ``q = [w | d | inputs | p_0 | p_1 | ...]`` (the layout of
``Gradients``) the HVP sweeps of ``numeric/second_order.py`` gain (``proofs/second_order.md``, "Model
parameters"), with ``v_p`` the direction's block of population ``c`` and ``u = t_dot_k - tau_dot``:

- first order: ``dF_k/dp = sum_arr w psp_p - sum_own reset_p - threshold_p`` (``dfdp``), entering the
  tangent as ``+dF_k/dp . v_p`` and the gradient as ``mu_k dF_k/dp``;
- the Lagrangian ``mu_k d2F_k . (t_dot, v)`` per arrival edge: ``+mu w psp_sp.v_p`` to ``t_k`` and ``-`` to
  the arrival (source spike or input, and delay), ``mu psp_p.v_p`` to ``w``, and
  ``mu (w psp_sp u + v_w psp_p + w psp_pp v_p)`` to ``p``; per own edge ``-mu reset_sp.v_p`` to ``t_k``,
  ``+`` to ``t_m``, ``-mu (reset_sp u + reset_pp v_p)`` to ``p``; per spike ``-mu threshold_pp v_p`` to ``p``.

``psp_p = dpsp/dp``, ``psp_sp = d2psp/ds dp``, ``psp_pp = d2psp/dp2`` (likewise reset, threshold) are the
generated kernels ``dpsp_dp, d2psp_dsdp, d2psp_dp2, ...`` evaluated at each edge's lag (``param_edges`` in
``second_order_model.py``, stamped per model so that numba caches it).
"""

import numpy as np
from numba import njit


@njit(cache=True)
def contract(hpp, vp, out):
    """``out = H vp`` for the row-major P x P matrix ``hpp``."""
    n_par = vp.size
    for i in range(n_par):
        acc = 0.0
        for j in range(n_par):
            acc += hpp[i * n_par + j] * vp[j]
        out[i] = acc


@njit(cache=True)
def tangent_rhs(dfdp, cpop, base, v):
    """``dF_k/dp . v_p`` (n_spk,): the model block's term of the tangent ``t_dot_k`` (added before ``/ Vdot``)."""
    n_spk, n_par = dfdp.shape
    out = np.zeros(n_spk)
    for k in range(n_spk):
        off = base + cpop[k] * n_par
        for i in range(n_par):
            out[k] += dfdp[k, i] * v[off + i]
    return out


@njit(cache=True)
def model_grad(mu, dfdp, cpop, n_pop):
    """``sum_k mu_k dF_k/dp`` into the model block (n_pop * P,)."""
    n_spk, n_par = dfdp.shape
    out = np.zeros(n_pop * n_par)
    for k in range(n_spk):
        if mu[k] != 0.0:
            for i in range(n_par):
                out[cpop[k] * n_par + i] += mu[k] * dfdp[k, i]
    return out


@njit(cache=True)
def lagrangian_param_terms(ptr, src, syn, w, n_syn, n_in, g1, gs, gv, thv, cpop, n_pop, mu, v, tdot, w_t, w_q):
    """Add the model-parameter terms of ``sum_k mu_k d2F_k . (t_dot, v)`` (module docstring) to ``w_t``
    (n_spk,) and ``w_q`` (2 n_syn + n_in + n_pop P,) in place, from ``param_edges``' arrays (``gv``, ``thv``:
    the second partials already contracted with ``v_p``). ``v`` and ``w_q`` have the full layout."""
    n_spk = ptr.size - 1
    n_par = g1.shape[1]
    base = 2 * n_syn + n_in
    for k in range(n_spk):
        c = mu[k]
        if c == 0.0:
            continue
        off = base + cpop[k] * n_par
        for i in range(n_par):
            w_q[off + i] -= c * thv[k, i]
        for e in range(ptr[k], ptr[k + 1]):
            s_e = src[e]
            tau_dot = v[2 * n_syn + s_e] if s_e < n_in else tdot[s_e - n_in]
            arrival = syn[e] >= 0
            if arrival:
                tau_dot += v[n_syn + syn[e]]
            u = tdot[k] - tau_dot
            x_s = 0.0
            x_1 = 0.0
            for i in range(n_par):
                x_s += gs[e, i] * v[off + i]
                x_1 += g1[e, i] * v[off + i]
            vw = v[syn[e]] if arrival else 0.0
            for i in range(n_par):
                if arrival:
                    w_q[off + i] += c * (w[e] * gs[e, i] * u + vw * g1[e, i] + w[e] * gv[e, i])
                else:
                    w_q[off + i] -= c * (gs[e, i] * u + gv[e, i])
            if arrival:
                a = c * w[e] * x_s
                w_q[syn[e]] += c * x_1
                w_q[n_syn + syn[e]] -= a
            else:
                a = -c * x_s
            w_t[k] += a
            if s_e < n_in:
                w_q[2 * n_syn + s_e] -= a
            else:
                w_t[s_e - n_in] -= a


@njit(cache=True)
def curvature_rhs(ptr, src, syn, w, n_syn, n_in, g1, gs, gv, thv, cpop, v, tdot):
    """The model block's terms of ``Q_k`` in ``second_order.second_tangent`` (n_spk,): the second directional
    derivative of ``F_k`` along ``(t_dot, v)`` beyond the weight, delay and input terms,

    ``sum_arr [2 v_w psp_p.v_p + 2 w u psp_sp.v_p + w v_p.psp_pp v_p] - sum_own [2 u reset_sp.v_p
    + v_p.reset_pp v_p] - v_p.threshold_pp v_p``, ``u = t_dot_k - tau_dot``,

    from ``param_edges``' arrays computed with every ``mu_k != 0`` (``gv``, ``thv``: contracted with ``v_p``)."""
    n_spk = ptr.size - 1
    n_par = g1.shape[1]
    base = 2 * n_syn + n_in
    out = np.zeros(n_spk)
    for k in range(n_spk):
        off = base + cpop[k] * n_par
        acc = 0.0
        for i in range(n_par):
            acc -= thv[k, i] * v[off + i]
        for e in range(ptr[k], ptr[k + 1]):
            s_e = src[e]
            tau_dot = v[2 * n_syn + s_e] if s_e < n_in else tdot[s_e - n_in]
            if syn[e] >= 0:
                tau_dot += v[n_syn + syn[e]]
            u = tdot[k] - tau_dot
            x_s, x_1, x_pp = 0.0, 0.0, 0.0
            for i in range(n_par):
                x_s += gs[e, i] * v[off + i]
                x_1 += g1[e, i] * v[off + i]
                x_pp += gv[e, i] * v[off + i]
            if syn[e] >= 0:
                acc += 2.0 * v[syn[e]] * x_1 + w[e] * (2.0 * u * x_s + x_pp)
            else:
                acc -= 2.0 * u * x_s + x_pp
        out[k] = acc
    return out
