"""Second-order sweeps over a network's causal edges (model-independent numba code).

The model enters only through kernel values evaluated beforehand at each edge (``edges_core`` in
``second_order_model.py``, stamped per model, evaluates the generated kernels). Spike ``k`` (time ``t_k``)
has the edges ``ptr[k]:ptr[k+1]``:

- an arrival through synapse ``syn`` (weight ``w``, arrival time ``tau = t_src + d_syn``) at lag
  ``s = t_k - tau``, with ``k0 = psp(s)``, ``k1 = psp'(s)``, ``k2 = psp''(s)``;
- an earlier spike ``m`` of the same neuron (``syn = -1``, ``src = n_in + m``) at lag ``s = t_k - t_m``,
  with ``k1 = reset'(s)``, ``k2 = reset''(s)`` (``k0`` unused).

``src`` is a source-spike id: input spike ``src < n_in``, neuron spike ``src - n_in``. The constraint
of spike ``k`` is ``F_k = sum_arr w psp(t_k - tau) - sum_own reset(t_k - t_m) - theta = 0`` and the
parameter vector is ``q = [weights (n_syn) | delays (n_syn) | input times (n_in)]``
(``proofs/second_order.md`` derives every formula below).
"""

import numpy as np
from numba import njit


@njit(cache=True)
def vdot_edges(ptr, syn, w, k1):
    """``Vdot_k = sum_arr w psp'(s) - sum_own reset'(s)`` (n_spk,)."""
    n = ptr.size - 1
    out = np.zeros(n)
    for k in range(n):
        for e in range(ptr[k], ptr[k + 1]):
            out[k] += w[e] * k1[e] if syn[e] >= 0 else -k1[e]
    return out


@njit(cache=True)
def _src_dot(src, syn_e, n_syn, n_in, v, tdot):
    """Tangent of an edge's event time: ``tau_dot = t_dot_src (or v_input) + v_delay`` (own: ``t_dot_m``)."""
    x = v[2 * n_syn + src] if src < n_in else tdot[src - n_in]
    if syn_e >= 0:
        x += v[n_syn + syn_e]
    return x


@njit(cache=True)
def tangent(ptr, src, syn, w, k0, k1, vdot, n_syn, n_in, v, rhs):
    """First-order tangent ``t_dot = J v`` (n_spk,):
    ``t_dot_k = -( rhs_k + sum_arr [psp v_w - w psp' tau_dot] + sum_own reset' t_dot_m ) / Vdot_k``
    (``rhs_k = dF_k/dp . v_p``, the model-parameter block; zeros without it)."""
    n = ptr.size - 1
    tdot = np.zeros(n)
    for k in range(n):
        acc = rhs[k]
        for e in range(ptr[k], ptr[k + 1]):
            x = _src_dot(src[e], syn[e], n_syn, n_in, v, tdot)
            if syn[e] >= 0:
                acc += k0[e] * v[syn[e]] - w[e] * k1[e] * x
            else:
                acc += k1[e] * x
        tdot[k] = -acc / vdot[k]
    return tdot


@njit(cache=True)
def second_tangent(ptr, src, syn, w, k1, k2, vdot, n_syn, n_in, v, tdot, rhs):
    """Directional second derivative ``t_ddot_k = v^T (d2 t_k / dq2) v`` (n_spk,), forward over forward:

    ``t_ddot_k = -( rhs_k + Q_k + sum_arr (-w psp') t_ddot_src + sum_own reset' t_ddot_m ) / Vdot_k`` with
    ``Q_k = sum_arr [w psp'' u^2 + 2 v_w psp' u] - sum_own reset'' u^2``, ``u = t_dot_k - tau_dot`` (``rhs_k``:
    the model block's terms, ``second_order_params.curvature_rhs``; zeros without it)."""
    n = ptr.size - 1
    tdd = np.zeros(n)
    for k in range(n):
        acc = rhs[k]
        for e in range(ptr[k], ptr[k + 1]):
            u = tdot[k] - _src_dot(src[e], syn[e], n_syn, n_in, v, tdot)
            s_e = src[e]
            dd = tdd[s_e - n_in] if s_e >= n_in else 0.0
            if syn[e] >= 0:
                acc += w[e] * k2[e] * u * u + 2.0 * v[syn[e]] * k1[e] * u - w[e] * k1[e] * dd
            else:
                acc += -k2[e] * u * u + k1[e] * dd
        tdd[k] = -acc / vdot[k]
    return tdd


@njit(cache=True)
def adjoint_edges(ptr, src, syn, w, k0, k1, vdot, n_syn, n_in, lam):
    """Adjoint sweep: ``mu = -G_t^{-T} lam`` (n_spk,) and ``G_q^T mu`` (2 n_syn + n_in,), backward in time.

    ``mu_k = -(lam_k + sum_children mu_c dF_c/dt_k) / Vdot_k``; the gradient of a loss with
    ``dL/dt = lam`` is ``G_q^T mu``."""
    n = ptr.size - 1
    grad = np.zeros(2 * n_syn + n_in)
    adj = lam.copy()
    mu = np.zeros(n)
    for k in range(n - 1, -1, -1):
        f = -adj[k] / vdot[k]
        mu[k] = f
        if f == 0.0:
            continue
        for e in range(ptr[k], ptr[k + 1]):
            if syn[e] >= 0:
                grad[syn[e]] += f * k0[e]
                g = -f * w[e] * k1[e]
                grad[n_syn + syn[e]] += g
            else:
                g = f * k1[e]
            if src[e] < n_in:
                grad[2 * n_syn + src[e]] += g
            else:
                adj[src[e] - n_in] += g
    return mu, grad


@njit(cache=True)
def lagrangian_hvp_terms(ptr, src, syn, w, k1, k2, n_syn, n_in, mu, v, tdot):
    """``sum_k mu_k (d2 F_k) . (t_dot, v)``: its spike-time part w_t (n_spk,) and parameter part w_q.

    Per arrival edge (``u = t_dot_k - tau_dot``, ``a = w psp'' u + psp' v_w``): ``+mu a`` to ``t_k``,
    ``-mu a`` to ``tau`` (the source spike or input time, and the delay), ``mu psp' u`` to ``w``.
    Per own edge (``u = t_dot_k - t_dot_m``): ``-mu reset'' u`` to ``t_k``, ``+mu reset'' u`` to ``t_m``."""
    n = ptr.size - 1
    w_t = np.zeros(n)
    w_q = np.zeros(2 * n_syn + n_in)
    for k in range(n):
        c = mu[k]
        if c == 0.0:
            continue
        for e in range(ptr[k], ptr[k + 1]):
            u = tdot[k] - _src_dot(src[e], syn[e], n_syn, n_in, v, tdot)
            if syn[e] >= 0:
                a = c * (w[e] * k2[e] * u + k1[e] * v[syn[e]])
                w_q[syn[e]] += c * k1[e] * u
                w_q[n_syn + syn[e]] -= a
            else:
                a = -c * k2[e] * u
            w_t[k] += a
            if src[e] < n_in:
                w_q[2 * n_syn + src[e]] -= a
            else:
                w_t[src[e] - n_in] -= a
    return w_t, w_q


@njit(cache=True)
def jacobian_edges(ptr, src, syn, w, k0, k1, vdot, n_syn, n_in, extra):
    """Forward propagation over the edges: ``J`` (n_spk, n_q + n_x), ``J[k] = dt_k/dq``, ``n_q = 2 n_syn + n_in``;
    ``extra`` (n_spk, n_x) holds ``dF_k/dp`` in the model columns (n_x = 0: none)."""
    n = ptr.size - 1
    n_q = 2 * n_syn + n_in
    jac = np.zeros((n, n_q + extra.shape[1]))
    for k in range(n):
        row = jac[k]
        row[n_q:] = extra[k]
        for e in range(ptr[k], ptr[k + 1]):
            g = -w[e] * k1[e] if syn[e] >= 0 else k1[e]
            if syn[e] >= 0:
                row[syn[e]] += k0[e]
                row[n_syn + syn[e]] += g
            if src[e] < n_in:
                row[2 * n_syn + src[e]] += g
            else:
                row += g * jac[src[e] - n_in]
        row *= -1.0 / vdot[k]
    return jac


@njit(cache=True)
def hessian_edges(ptr, src, syn, w, k1, k2, vdot, n_syn, n_in, jac, g1, gs, gpp, thpp, cpop):
    """Every spike's full Hessian ``H[k] = d2 t_k / dq2`` (n_spk, n_c, n_c), ``n_c = jac.shape[1]``:

    ``H_k = -( sum_arr [w psp'' U U^T + psp' (e_w U^T + U e_w^T) - w psp' H_src]
              + sum_own [-reset'' U U^T + reset' H_m] + M_k ) / Vdot_k``, ``U = J_k - dtau/dq``.

    With the model block (``g1``, ``gs`` (n_e, P): dK/dp, d2K/ds dp; ``gpp`` (n_e, P, P): d2K/dp2; ``thpp``
    (n_spk, P, P): d2threshold/dp2; ``cpop`` the spike's population, ``E`` its columns ``n_q + c P + i``):
    ``M_k = sum_arr [w (U gs^T E + E^T gs U^T) + e_w g1^T E + E^T g1 e_w^T + w E^T gpp E]
    - sum_own [U gs^T E + E^T gs U^T + E^T gpp E] - E^T thpp E``; without it ``g1`` has no rows."""
    n, n_c = jac.shape
    n_q, n_par = 2 * n_syn + n_in, g1.shape[1]
    model = g1.shape[0] > 0
    hess = np.zeros((n, n_c, n_c))
    u = np.empty(n_c)
    for k in range(n):
        h = hess[k]
        b0 = n_q + cpop[k] * n_par if model else 0
        for e in range(ptr[k], ptr[k + 1]):
            u[:] = jac[k]
            s_e = src[e]
            if s_e < n_in:
                u[2 * n_syn + s_e] -= 1.0
            else:
                u -= jac[s_e - n_in]
            if syn[e] >= 0:
                u[n_syn + syn[e]] -= 1.0
                a, g, sgn = w[e] * k2[e], -w[e] * k1[e], w[e]
                for i in range(n_c):
                    h[syn[e], i] += k1[e] * u[i]
                    h[i, syn[e]] += k1[e] * u[i]
            else:
                a, g, sgn = -k2[e], k1[e], -1.0
            for i in range(n_c):
                for j in range(n_c):
                    h[i, j] += a * u[i] * u[j]
            if s_e >= n_in:
                h += g * hess[s_e - n_in]
            if model:
                for i in range(n_par):
                    for j in range(n_c):
                        h[b0 + i, j] += sgn * gs[e, i] * u[j]
                        h[j, b0 + i] += sgn * gs[e, i] * u[j]
                    for j in range(n_par):
                        h[b0 + i, b0 + j] += sgn * gpp[e, i, j]
                    if syn[e] >= 0:
                        h[syn[e], b0 + i] += g1[e, i]
                        h[b0 + i, syn[e]] += g1[e, i]
        if model:
            h[b0:b0 + n_par, b0:b0 + n_par] -= thpp[k]
        h *= -1.0 / vdot[k]
    return hess


@njit(cache=True)
def ancestors(n_in, spk_time, spk_arr_head, spk_prev, arr_time, arr_src, arr_prev, seed):
    """``seed`` closed under causal parents (backward in time): the spikes a loss on ``seed`` depends on."""
    keep = seed.copy()
    for k in range(spk_time.size - 1, -1, -1):
        if not keep[k]:
            continue
        a = spk_arr_head[k]
        while a >= 0:
            if spk_time[k] - arr_time[a] >= 0.0 and arr_src[a] >= n_in:
                keep[arr_src[a] - n_in] = True
            a = arr_prev[a]
        if spk_prev[k] >= 0:
            keep[spk_prev[k]] = True
    return keep
