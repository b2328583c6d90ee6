"""Exact second derivatives of spike times and losses (second-order implicit function theorem).

Spike ``k`` solves ``F_k = V(t_k) - theta = 0``. Differentiating ``F_k(t_k(q), q, t_parents(q)) = 0``
twice along a direction ``v`` gives (``proofs/second_order.md``)

    t_ddot_k = -( Q_k(t_dot, v) + sum_parents dF_k/dt_e t_ddot_e ) / Vdot_k,
    Q_k = sum_arr [w psp''(s) u^2 + 2 v_w psp'(s) u] - sum_own reset''(s) u^2,   u = t_dot_k - tau_dot,

where ``t_dot = J v`` is the first-order tangent, ``tau_dot`` the tangent of the arrival (source
spike plus delay) or of the own earlier spike. The own-reset terms (``sum_own``) and the parents'
own second derivatives (``t_ddot_e``: the parent-of-parent chain) are both required.

- ``spike_hessian``: the full ``d2 t_k / dq2`` of chosen spikes (small networks; cost
  ``O(n_edges n_q^2)`` time, ``O(n_spikes n_q^2)`` memory).
- ``hvp``: ``(d2 L / dq2) v`` of a loss by forward-over-adjoint: one tangent sweep, one adjoint sweep
  for the multipliers ``mu``, the Lagrangian's second-order terms, and one more adjoint sweep.
- ``spike_curvature``: ``J v`` and ``v^T (d2 t_k/dq2) v`` of every spike (forward over forward).
- ``batch_hvp`` (``hessian_batch.py``): the HVP of the mean loss over many patterns, every block.

Parameters ``q`` are the weights, delays and input spike times (``[w | d | inputs]``, as the first three
blocks of ``Gradients``); ``hvp`` also covers the model block (thresholds, time constants, ...: the mixed
kernel partials ``d2K/ds dp``, ``d2K/dp2``, ``numeric/second_order_params.py``). The code that calls a
model's kernels is stamped per model (``second_order_kernels.py``) so that numba caches it on disk.
Second derivatives scale like ``1 / Vdot^3`` near a tangential crossing: ``policy`` flags such spikes
exactly as the first-order sweeps do.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .diagnostics import apply_policy
from .errors import InvalidInputError
from .grad import Gradients
from .hessian_batch import batch_hvp as batch_hvp
from .losses import Loss, loss_value_and_dt
from .network import real_array
from .numeric import second_order as so
from .numeric import second_order_params as sop
from .second_order_kernels import second_order_module
from .simulate import SimulationResult

MAX_HESSIAN_ENTRIES = 50_000_000


class Edges(NamedTuple):
    """Causal edges of every spike with the kernel values at their lags (see ``numeric/second_order.py``).

    ptr : (n_spikes + 1,) int64   edges of spike k are ptr[k]:ptr[k+1]
    src, syn : (n_edges,) int64   source-spike id (input id, or n_in + spike); synapse (-1: own spike)
    w, k0, k1, k2 : (n_edges,) float64   weight; psp, psp', psp'' (arrival) or 0, reset', reset'' (own)
    vdot : (n_spikes,) float64
    lag : (n_edges,) float64      the kernel's argument s; keep : (n_spikes,) bool   spikes with edges
    """

    ptr: np.ndarray
    src: np.ndarray
    syn: np.ndarray
    w: np.ndarray
    k0: np.ndarray
    k1: np.ndarray
    k2: np.ndarray
    vdot: np.ndarray
    n_syn: int
    n_in: int
    lag: np.ndarray
    keep: np.ndarray


def edges(result: SimulationResult, seed=None) -> Edges:
    """The causal edges (the same parents as the first-order sweeps) with their kernel values, of every spike
    or, given a boolean ``seed`` (n_spikes,), of the seed spikes and their ancestors only. The other spikes get
    no edges and ``Vdot = 1``: nothing a quantity of the seed spikes depends on (their tangents read 0)."""
    spk_arr_head, spk_prev, _, arr_time, arr_syn, arr_src, arr_prev = result.record
    n_in = result.in_times.size
    keep = np.ones(result.n_spikes, np.bool_) if seed is None else so.ancestors(
        n_in, result.spike_time, spk_arr_head, spk_prev, arr_time, arr_src, arr_prev, np.asarray(seed, np.bool_))
    ptr, src, syn, w, k0, k1, k2, lag = second_order_module(result.model).edges_core(
        result.ptab, result.pop, n_in, result.spike_time, result.spike_neuron, spk_arr_head, spk_prev, arr_time,
        arr_syn, arr_src, arr_prev, result.topology.syn_w, keep)
    vdot = so.vdot_edges(ptr, syn, w, k1)
    vdot[~keep] = 1.0
    return Edges(ptr, src, syn, w, k0, k1, k2, vdot, result.network.n_synapses, n_in, lag, keep)


def n_params(result: SimulationResult) -> int:
    """Length of ``q = [weights | delays | input times]``."""
    return 2 * result.network.n_synapses + result.in_times.size


def _check_result(result, caller):
    if not isinstance(result, SimulationResult):
        raise InvalidInputError(f"{caller}: result must be the SimulationResult that exactsnn.simulate returned, "
                                f"got {type(result).__name__}")


def n_model(result: SimulationResult) -> int:
    """Length of the model-parameter block ``[p_0 | p_1 | ...]`` (``n_pop * N_PARAMS``, as ``Gradients.model``)."""
    return result.ptab.size


def _direction(result, v, model: bool = False) -> np.ndarray:
    """``v`` as a flat ``[w | d | inputs]`` vector (``model=True``: ``[w | d | inputs | model]``, a shorter
    array's model block read as zero): a Gradients or an array. Without ``model`` the model block must be 0."""
    n_q, n_m = n_params(result), n_model(result)
    if isinstance(v, Gradients):
        if not model and np.any(np.asarray(v.model) != 0):
            raise InvalidInputError("v.model: without model=True this function covers weights, delays and input "
                                    "times only; give a direction with a zero model block or pass model=True")
        v = np.concatenate([v.weights, v.delays, v.inputs] + ([np.asarray(v.model, float)] if model and
                                                             np.size(v.model) else []))
    v = real_array(v, "v", InvalidInputError)
    if model and v.shape == (n_q,):
        v = np.concatenate([v, np.zeros(n_m)])
    if v.shape != ((n_q + n_m,) if model else (n_q,)):
        allowed = f"({n_q},) or ({n_q + n_m},) (weights | delays | input times | model)" if model else \
            f"({n_q},) (weights | delays | input times)"
        raise InvalidInputError(f"v must have shape {allowed} or be a Gradients, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise InvalidInputError("v contains non-finite values")
    return v


def spike_hessian(result: SimulationResult, spikes=None, policy: str = "warn", model: bool = False) -> np.ndarray:
    """Full second derivative of spike times with respect to ``q = [weights | delays | input times]``
    (``model=True``: ``[weights | delays | input times | model]``).

    Parameters
    ----------
    result : SimulationResult
    spikes : sequence of int, optional
        Spike ids (time order, as ``result.spike_time``); default all spikes.
    policy : {"raise", "warn", "flag"}
        Degenerate-spike policy (``exactsnn.diagnostics``).
    model : bool
        Also the model-parameter block (thresholds, time constants, ... of every population, ``Gradients.model``'s
        layout): ``n_c = n_q + n_pop N_PARAMS`` columns instead of ``n_q``.

    Returns
    -------
    (len(spikes), n_c, n_c) float64, symmetric: ``H[i, a, b] = d2 t_{spikes[i]} / dq_a dq_b``.

    Notes
    -----
    ``H_k = -( sum_arr [w psp'' U U^T + psp' (e_w U^T + U e_w^T) - w psp' H_src]
    + sum_own [-reset'' U U^T + reset' H_m] + M_k ) / Vdot_k`` with ``U = dt_k/dq - dtau/dq`` and ``M_k`` the
    model block's terms (``numeric/second_order.py``, ``hessian_edges``; ``proofs/second_order.md``).
    """
    _check_result(result, "spike_hessian")
    _check_flag(model, "spike_hessian", "model")
    n_c = n_params(result) + (n_model(result) if model else 0)
    ids = np.arange(result.n_spikes) if spikes is None else np.asarray(spikes)
    if ids.ndim != 1 or ids.dtype.kind not in "iu" or (ids.size and (ids.min() < 0 or ids.max() >= result.n_spikes)):
        raise InvalidInputError(f"spikes must be spike ids in [0, {result.n_spikes}), got {spikes!r}")
    if result.n_spikes * n_c * n_c > MAX_HESSIAN_ENTRIES:
        raise InvalidInputError(f"spike_hessian needs {result.n_spikes} x {n_c} x {n_c} entries (> "
                                f"{MAX_HESSIAN_ENTRIES}); use hvp for large networks")
    apply_policy(result, policy)
    e = edges(result)
    n, n_par = result.n_spikes, result.ptab.shape[1]
    g1, gs = np.zeros((0, n_par)), np.zeros((0, n_par))
    gpp, thpp, cpop, extra = np.zeros((0, n_par, n_par)), np.zeros((0, n_par, n_par)), np.zeros(n, np.int64), \
        np.zeros((n, 0))
    if model:
        gpp, thpp = np.empty((e.ptr[-1], n_par, n_par)), np.empty((n, n_par, n_par))
        for i in range(n_par):  # column i of every d2K/dp2: the contraction with e_i in every population
            vi = np.zeros(n_c)
            vi[n_params(result) + i::n_par] = 1.0
            g1, gs, gpp[:, :, i], dfdp, thpp[:, :, i], cpop = _param_edges(result, e, vi)
        extra = np.zeros((n, n_model(result)))
        extra[np.arange(n)[:, None], cpop[:, None] * n_par + np.arange(n_par)] = dfdp
    jac = so.jacobian_edges(e.ptr, e.src, e.syn, e.w, e.k0, e.k1, e.vdot, e.n_syn, e.n_in, extra)
    hess = so.hessian_edges(e.ptr, e.src, e.syn, e.w, e.k1, e.k2, e.vdot, e.n_syn, e.n_in, jac, g1, gs, gpp, thpp,
                            cpop)
    return hess[ids]


def spike_curvature(result: SimulationResult, v, policy: str = "warn", model: bool = False) -> tuple:
    """``(t_dot, t_ddot)``: ``J v`` and ``v^T (d2 t_k/dq2) v`` for every spike (forward over forward).

    ``v`` as for ``hvp``: without ``model`` over ``[weights | delays | input times]`` (a ``Gradients`` with a
    zero model block); with ``model=True`` also over the model parameters (the model block's terms of the
    second tangent: ``second_order_params.curvature_rhs``)."""
    _check_result(result, "spike_curvature")
    _check_flag(model, "spike_curvature", "model")
    v = _direction(result, v, model=bool(model))
    apply_policy(result, policy)
    e = edges(result)
    rhs1 = rhs2 = np.zeros(e.vdot.size)
    if model:
        g1, gs, gv, dfdp, thv, cpop = _param_edges(result, e, v)
        rhs1 = sop.tangent_rhs(dfdp, cpop, n_params(result), v)
    tdot = so.tangent(e.ptr, e.src, e.syn, e.w, e.k0, e.k1, e.vdot, e.n_syn, e.n_in, v, rhs1)
    if model:
        rhs2 = sop.curvature_rhs(e.ptr, e.src, e.syn, e.w, e.n_syn, e.n_in, g1, gs, gv, thv, cpop, v, tdot)
    return tdot, so.second_tangent(e.ptr, e.src, e.syn, e.w, e.k1, e.k2, e.vdot, e.n_syn, e.n_in, v, tdot, rhs2)


def _param_edges(result, e, v) -> tuple:
    """The stamped ``param_edges`` on every edge of ``e`` with every spike's partials (``mu = 1``): (g1, gs, gv,
    dfdp, thv, cpop) for the direction ``v`` (full layout)."""
    return second_order_module(result.model).param_edges(
        result.ptab.shape[1], result.ptab, result.pop, result.spike_neuron, e.ptr, e.syn, e.w, e.lag, e.keep,
        n_params(result), v, np.ones(e.vdot.size))


def _check_flag(value, caller, name):
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidInputError(f"{caller}: {name} = {value!r} must be True or False")


def loss_derivatives(result: SimulationResult, loss: Loss) -> tuple:
    """``(dL/dt (n_spikes,), d2L/dt2 (n_spikes, n_spikes))`` of a first-spike loss (dense; ``hvp`` uses the
    output block only, ``_loss_block``).

    ``first_spike_sum`` has zero second derivative; ``ttfs_cross_entropy`` with ``p = softmax(-t/tau0)``
    over the outputs has ``(diag(p) - p p^T) / tau0^2 + delta_{o,label} gamma exp(t_label/tau1) / tau1^2``
    (rows of silent outputs are zero: they pass no gradient)."""
    dl_dt, idx, block = _loss_block(result, loss)
    d2 = np.zeros((result.n_spikes, result.n_spikes))
    d2[np.ix_(idx, idx)] = block
    return dl_dt, d2


def _loss_block(result, loss) -> tuple:
    """``(dL/dt, idx, block)``: d2L/dt2 is ``block`` on the spikes ``idx`` (the outputs' first spikes), 0 elsewhere."""
    _, dl_dt, t_first = loss_value_and_dt(result, loss)
    _, ids = result.first_spikes()
    live = np.flatnonzero(ids >= 0)
    h = np.zeros((t_first.size, t_first.size))
    if loss.kind == "ttfs_cross_entropy":
        z = -t_first / loss.tau0
        p = np.exp(z - z.max())
        p /= p.sum()
        h = (np.diag(p) - np.outer(p, p)) / loss.tau0 ** 2
        h[loss.label, loss.label] += loss.gamma * np.exp(t_first[loss.label] / loss.tau1) / loss.tau1 ** 2
    return dl_dt, ids[live], h[np.ix_(live, live)]


def hvp(result: SimulationResult, loss, v, policy: str = "warn", model: bool = True) -> Gradients:
    """Hessian-vector product ``(d2 L / dq2) v`` of a loss, by forward-over-adjoint.

    Parameters
    ----------
    result : SimulationResult
    loss : Loss or (dl_dt, d2l_dt2)
        A first-spike ``Loss``, or the loss's gradient ``(n_spikes,)`` and Hessian ``(n_spikes, n_spikes)``
        with respect to the spike times.
    v : Gradients or array
        Direction in ``[weights | delays | input times | model]`` (``Gradients``' layout; the model block is
        ``n_pop x N_PARAMS``: thresholds, time constants, ... of each population); an array without the
        model block means a zero model direction.
    policy : {"raise", "warn", "flag"}
    model : bool
        False: skip the model block (``v`` without it, ``H v``'s ``model`` empty): the kernels' parameter
        partials at every edge are the larger part of an HVP's cost (``benchmarks/README.md``).

    Returns
    -------
    Gradients
        Every block of ``H v``: ``weights, delays, inputs, model`` (``model=False``: empty).

    Notes
    -----
    With ``G_k = F_k(t, q)``, ``lam = dL/dt``, ``mu = -G_t^{-T} lam`` (adjoint) and ``t_dot = J v``
    (tangent), ``w = d2L/dt2 t_dot + sum_k mu_k d2F_k . (t_dot, v)`` split into spike-time and
    parameter parts ``(w_t, w_q)``; then ``H v = w_q + G_q^T (-G_t^{-T} w_t)``: the second term is one
    more adjoint sweep. Cost: three linear sweeps over the causal edges of the spikes the loss depends on
    (the loss's spikes and their ancestors; the others are skipped, as the first-order adjoint skips them).
    The model block adds the kernels' parameter partials ``dK/dp, d2K/ds dp, d2K/dp2`` at every edge
    (``numeric/second_order_params.py``).
    """
    _check_result(result, "hvp")
    _check_flag(model, "hvp", "model")
    v = _direction(result, v, model=bool(model))
    dl_dt, idx, block = _loss_terms(result, loss)
    apply_policy(result, policy)
    out = hvp_flat(result, dl_dt, idx, block, v)
    n_syn, n_q = result.network.n_synapses, n_params(result)
    return Gradients(out[:n_syn], out[n_syn:2 * n_syn], out[2 * n_syn:n_q], out[n_q:])


def hvp_flat(result, dl_dt, idx, block, v) -> np.ndarray:
    """The sweeps of ``hvp`` on validated inputs: ``(d2L/dq2) v`` for ``dL/dt`` (n_spikes,) and ``d2L/dt2``
    equal to ``block`` on the spikes ``idx`` (0 elsewhere). ``v`` of length ``n_params``: weights, delays and
    input times only; of length ``n_params + n_model``: every block. Only the spikes the loss depends on (its
    spikes and their ancestors) are visited."""
    seed = dl_dt != 0.0
    seed[idx[(block != 0.0).any(axis=0) | (block != 0.0).any(axis=1)]] = True
    e = edges(result, seed)
    mu, _ = so.adjoint_edges(e.ptr, e.src, e.syn, e.w, e.k0, e.k1, e.vdot, e.n_syn, e.n_in, dl_dt)
    return second_order_module(result.model).hvp_core(
        result.ptab, result.pop, result.spike_neuron, e.ptr, e.src, e.syn, e.w, e.k0, e.k1, e.k2, e.lag, e.vdot,
        e.keep, e.n_syn, e.n_in, mu, v, np.asarray(idx, np.int64), np.ascontiguousarray(block, np.float64))


def _loss_terms(result, loss) -> tuple:
    if isinstance(loss, Loss):
        return _loss_block(result, loss)
    try:
        dl_dt, d2l = loss
    except (TypeError, ValueError):
        raise InvalidInputError(f"loss must be an exactsnn.Loss or a pair (dl_dt, d2l_dt2), got "
                                f"{type(loss).__name__}") from None
    n = result.n_spikes
    dl_dt = real_array(dl_dt, "dl_dt", InvalidInputError)
    d2l = real_array(d2l, "d2l_dt2", InvalidInputError)
    if dl_dt.shape != (n,) or d2l.shape != (n, n):
        raise InvalidInputError(f"loss (dl_dt, d2l_dt2) must have shapes ({n},) and ({n}, {n}), got "
                                f"{dl_dt.shape} and {d2l.shape}")
    if not (np.isfinite(dl_dt).all() and np.isfinite(d2l).all()):
        raise InvalidInputError("loss (dl_dt, d2l_dt2) contains non-finite values")
    return dl_dt, np.arange(n), d2l
