"""Hessian-vector products of the mean first-spike loss over a batch of input patterns, in parallel.

With the parameters ``q = [w | d | x_1 | ... | x_B | p]`` (shared weights, delays and model parameters,
pattern ``b``'s input spike times ``x_b``) the mean loss ``L = (1/B) sum_b L_b(w, d, x_b, p)`` has

    (H v)_shared = (1/B) sum_b (H_b v_b)_shared,    (H v)_{x_b} = (1/B) (H_b v_b)_x,

with ``v_b = (v_w, v_d, v_{x_b}, v_p)`` and ``H_b v_b`` the single-pattern HVP of ``exactsnn.hvp``. The
engine's ``batch_simulate_record`` simulates every pattern, then ``batch_hvp_records`` (stamped per model,
``numeric/second_order_model.py``) runs each pattern's sweeps in parallel (numba ``prange``) and sums the
shared blocks in pattern order, so any thread count gives the same bits.
"""

from __future__ import annotations

import warnings

import numpy as np

from .diagnostics import POLICIES, VDOT_TOL, DegenerateSpikeWarning
from .errors import DegenerateSpikeError, InvalidInputError, SimulationError
from .grad import Gradients
from .losses import KINDS, Loss, Patterns, _integer_labels
from .network import real_array, validate_t_max
from .numeric.status import message as status_message
from .resolve import resolve
from .second_order_kernels import second_order_module
from .simulate import DEFAULT_MAX_SPIKES, Topology, populations_array


def batch_hvp(model, network, patterns, t_max, loss: Loss, v, labels=None, params=None, policy: str = "warn",
              populations=None, max_spikes: int = DEFAULT_MAX_SPIKES, model_block: bool = True) -> tuple:
    """Hessian-vector product of the mean loss over many input patterns, over every parameter block.

    Parameters
    ----------
    model, network, t_max, params, populations, max_spikes
        As for ``exactsnn.simulate``.
    patterns : sequence of patterns (each a list of per-channel spike-time lists) or a ``Patterns``
    loss : Loss
        ``labels`` (one per pattern) override ``loss.label``.
    v : Gradients or array
        The direction. An array: ``[weights | delays]`` (2 n_synapses,) or ``[weights | delays | model]``
        (2 n_synapses + n_pop N_PARAMS,). A ``Gradients``: ``weights``, ``delays``; ``model`` empty or
        (n_pop N_PARAMS,); ``inputs`` empty or (n_patterns, max_in) as ``batch_loss_grad``'s ``grad.inputs``
        (pattern ``b``'s input spikes channel-major in ``inputs[b, :n_b]``, zeros after). Missing blocks are 0.
    policy : {"raise", "warn", "flag"}
        Applied to the smallest ``Vdot`` among each pattern's visited spikes (below ``VDOT_TOL`` the second
        derivative, which scales like ``1 / Vdot^3``, is untrustworthy); ``hvp`` on one result runs the full
        per-spike diagnostics.
    model_block : bool
        False: skip the model-parameter block (``v``'s must be zero; ``H v``'s ``model`` is empty); its
        kernel partials at every edge are the larger part of the cost.

    Returns
    -------
    (losses (n_patterns,), Gradients)
        The per-pattern losses and ``H v`` of the mean loss (module docstring): ``weights``, ``delays`` and
        ``model`` ``mean_b (H_b v_b)``; ``inputs`` (n_patterns, max_in) the blocks ``(H_b v_b)_x / B``.
    """
    if not isinstance(model_block, (bool, np.bool_)):
        raise InvalidInputError(f"batch_hvp: model_block = {model_block!r} must be True or False")
    if policy not in POLICIES:
        raise InvalidInputError(f"policy = {policy!r} is not one of {POLICIES}")
    compiled = resolve(model)
    pop, n_pop = populations_array(populations, network.n_neurons)
    ptab = compiled.param_table(params, n_pop)
    loss.check_outputs(network.outputs.size)
    packed = patterns if isinstance(patterns, Patterns) else Patterns.pack(list(patterns), network.n_inputs)
    if len(packed) == 0:
        raise InvalidInputError("patterns must hold at least one input pattern")
    n_syn = network.n_synapses
    v_shared, v_in = _batch_direction(v, n_syn, ptab.size if model_block else 0, packed)
    lab = _batch_labels(labels, loss, len(packed), network.outputs.size)
    rec = _records(compiled, network, packed, ptab, pop, validate_t_max(t_max), int(max_spikes))
    losses, total, hv_in, min_vdot = second_order_module(compiled).batch_hvp_records(
        ptab, pop, n_syn, packed.ptr, *rec, Topology.of(network).syn_w,
        (float(KINDS[loss.kind]), float(loss.tau0), float(loss.tau1), float(loss.gamma)), lab, v_shared, v_in)
    _vdot_policy(min_vdot, policy)
    return losses, Gradients(total[:n_syn], total[n_syn:2 * n_syn], hv_in, total[2 * n_syn:])


def _batch_direction(v, n_syn, n_m, packed) -> tuple:
    """``(v_shared, v_in)``: ``[w | d | model]`` (model only if ``n_m``) and (B, max_in) input directions."""
    n_b, max_in = len(packed), packed.max_in
    v_in = np.zeros((n_b, max_in))
    if isinstance(v, Gradients):
        model = real_array(v.model, "v.model", InvalidInputError).ravel()
        if model.size and not n_m and np.any(model != 0):
            raise InvalidInputError("v.model: batch_hvp(..., model_block=False) needs a zero model block")
        if model.size and n_m and model.shape != (n_m,):
            raise InvalidInputError(f"v.model must have shape ({n_m},) (n_populations x N_PARAMS) or be empty, "
                                    f"got {model.shape}")
        inputs = real_array(v.inputs, "v.inputs", InvalidInputError)
        if inputs.size:
            if inputs.shape != (n_b, max_in):
                raise InvalidInputError(f"v.inputs must be empty or have shape ({n_b}, {max_in}) (patterns x "
                                        f"their most input spikes, as batch_loss_grad's grad.inputs), got "
                                        f"{inputs.shape}")
            v_in[:] = inputs
        v = np.concatenate([np.ravel(v.weights), np.ravel(v.delays)] + ([model if model.size else np.zeros(n_m)]
                                                                         if n_m else []))
    v = real_array(v, "v", InvalidInputError)
    if v.shape == (2 * n_syn,) and n_m:
        v = np.concatenate([v, np.zeros(n_m)])
    if v.shape != (2 * n_syn + n_m,):
        allowed = f"({2 * n_syn},)" + (f" or ({2 * n_syn + n_m},) (weights | delays | model)" if n_m else "")
        raise InvalidInputError(f"v must have shape {allowed} or be a Gradients, got shape {v.shape}")
    padding = np.arange(max_in)[None, :] >= np.diff(packed.ptr)[:, None]
    if np.any(v_in[padding] != 0):
        raise InvalidInputError("v.inputs is nonzero past a pattern's input spikes (those entries are padding)")
    if not (np.isfinite(v).all() and np.isfinite(v_in).all()):
        raise InvalidInputError("v contains non-finite values")
    return v, v_in


def _batch_labels(labels, loss, n_b, n_out) -> np.ndarray:
    """Per-pattern labels (int64) or ``loss.label`` for all."""
    if labels is None:
        return np.full(n_b, loss.label, np.int64)
    try:
        lab = _integer_labels(labels)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    if lab.shape != (n_b,) or (lab < 0).any() or (lab >= n_out).any():
        raise InvalidInputError(f"labels must be {n_b} integers in [0, {n_out}), got {labels!r}")
    return lab


def _records(compiled, network, packed, ptab, pop, t_max, max_spikes) -> tuple:
    """``batch_simulate_record``'s (sizes, t_first, first, spk_f, spk_i, arr_f, arr_i); a batch whose records
    overflow the first capacities (spikes ``2 n_neurons + 16``) runs again with the sizes it needed."""
    topo = Topology.of(network)
    args = (ptab, pop, packed.times, packed.src, packed.ptr, network.n_inputs, network.n_neurons, topo.syn_post,
            topo.syn_w, topo.syn_d, topo.out_ptr, topo.out_syn, t_max, max_spikes, network.outputs.astype(np.int64))
    fan = np.diff(topo.out_ptr)
    cap = (2 * network.n_neurons + 16, int(fan.max(initial=0)) * (packed.max_in + 2 * network.n_neurons + 16) + 16)
    for _ in range(2):
        status, sizes, t_first, first, _, spk_f, spk_i, arr_f, arr_i = compiled.call("batch_simulate_record", *args,
                                                                                     *cap)
        bad = np.flatnonzero(status)
        if bad.size:
            raise SimulationError(status_message(int(status[bad[0]]), max_spikes=max_spikes, pattern=int(bad[0])))
        if (sizes[:, 0] <= cap[0]).all() and (sizes[:, 1] <= cap[1]).all():
            break
        cap = (int(sizes[:, 0].max()), int(sizes[:, 1].max()))
    return sizes, t_first, first, spk_f, spk_i, arr_f, arr_i


def _vdot_policy(min_vdot, policy):
    """Apply the degenerate-spike ``policy`` to each pattern's smallest ``Vdot`` (threshold ``VDOT_TOL``)."""
    bad = np.flatnonzero(min_vdot < VDOT_TOL)
    if not bad.size or policy == "flag":
        return
    msg = (f"batch_hvp: pattern {int(bad[0])} has a spike with dV/dt = {min_vdot[bad[0]]:.3g} < {VDOT_TOL:g} "
           f"({bad.size} such patterns); its second derivatives (~ 1/Vdot^3) are not trustworthy")
    if policy == "raise":
        raise DegenerateSpikeError(msg)
    warnings.warn(msg, DegenerateSpikeWarning, stacklevel=3)
