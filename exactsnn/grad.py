"""Exact spike-time gradients: forward propagation (FP) and the adjoint.

For spike k of neuron i at time t, with ``F = V_i(t) - threshold``, the implicit function
theorem gives

    dt_k = -( dF/dq  +  sum_{parents e} dF/dt_e dt_e  +  sum_{k' < k} dF/dt_i^k' dt_i^k' ) / Vdot_k

The last sum is the neuron's own earlier spikes acting through the reset kernel
(``dF/dt_i^k' = reset'(t - t_i^k')``): dropping it, as the paper's public code does, makes
every later spike of a multi-spike neuron wrong. Sorted by time the system is lower
triangular; ``forward_propagation`` solves it forward (full Jacobian), ``adjoint`` solves
the transpose backward (dL/dq in one sweep). Both cover weights, delays, input spike times and
model parameters, and agree to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .diagnostics import apply_policy
from .errors import InvalidInputError
from .network import real_array
from .numeric.spike_screen import all_finite
from .simulate import SimulationResult


@dataclass(frozen=True)
class Gradients:
    """Derivatives with respect to every parameter, as flat blocks.

    weights, delays : (..., n_synapses)   (``network.unflatten`` gives the user's shapes)
    inputs : (..., n_input_spikes)        channel-major, as ``result.in_times``
    model : (..., n_populations * n_params) in ``result.model.param_names`` order, population-major
                                          (just ``n_params`` entries with one population)
    """

    weights: np.ndarray
    delays: np.ndarray
    inputs: np.ndarray
    model: np.ndarray

    @classmethod
    def split(cls, flat, n_syn: int, n_in_sp: int) -> "Gradients":
        flat = np.asarray(flat)
        a, b = 2 * n_syn, 2 * n_syn + n_in_sp
        if flat.ndim == 1:  # one pattern (the per-sample API): plain slices, cheaper than with an Ellipsis
            return cls(flat[:n_syn], flat[n_syn:a], flat[a:b], flat[b:])
        return cls(flat[..., :n_syn], flat[..., n_syn:a], flat[..., a:b], flat[..., b:])

    def flat(self) -> np.ndarray:
        return np.concatenate([self.weights, self.delays, self.inputs, self.model], axis=-1)


@dataclass(frozen=True)
class Jacobian:
    """Forward-propagation result: one row per spike, in time order.

    dts_dq : Gradients whose blocks have shape (n_spikes, ...): the derivative of every spike time with
        respect to every quantity, ``dts_dq.weights[k, s] = dt_k / dw_s`` (likewise ``delays``, ``inputs``
        (input spike times) and ``model`` (parameters)).
    vdot : (n_spikes,) dV/dt at each spike.

    ``d`` is the former name of ``dts_dq``, kept as a deprecated alias.
    """

    dts_dq: Gradients
    vdot: np.ndarray

    @property
    def d(self) -> Gradients:
        """Deprecated alias of ``dts_dq``."""
        import warnings

        warnings.warn("Jacobian.d is deprecated; use Jacobian.dts_dq", DeprecationWarning, stacklevel=2)
        return self.dts_dq

    def contract(self, dl_dt) -> Gradients:
        """``dL/dq = sum_k dL/dt_k dt_k/dq``."""
        g = np.asarray(dl_dt, np.float64) @ self.dts_dq.flat()
        return Gradients.split(g, self.dts_dq.weights.shape[1], self.dts_dq.inputs.shape[1])


def _check_result(result, caller):
    if not isinstance(result, SimulationResult):
        raise InvalidInputError(f"{caller}: result must be the SimulationResult that exactsnn.simulate returned, "
                                f"got {type(result).__name__}")


def forward_propagation(result: SimulationResult, policy: str = "warn", _own_reset: bool = True) -> Jacobian:
    """The paper's FP, with the own-reset term: ``dt_k/dq`` for every spike and parameter.

    Parameters
    ----------
    result : SimulationResult
    policy : {"raise", "warn", "flag"}
        What to do about degenerate spikes (tangential crossings, spikes on an event or at
        ``t_max``); see ``exactsnn.diagnostics``.
    _own_reset : bool
        Private. False reproduces the paper's public code, which drops the coupling of a
        spike to its neuron's earlier spikes through the reset; used to show that error.

    Returns
    -------
    Jacobian
        Cost ``O(sum_k parents_k * n_q)`` time and ``O(n_spikes * n_q)`` memory, with
        ``n_q = 2 n_synapses + n_input_spikes + n_params``.
    """
    _check_result(result, "forward_propagation")
    apply_policy(result, policy)
    jac, vdot = result.model.call("fp_core", *result.engine_args(), bool(_own_reset))
    return Jacobian(Gradients.split(jac, result.network.n_synapses, result.in_times.size), vdot)


def adjoint(result: SimulationResult, dl_dt, policy: str = "warn") -> Gradients:
    """Reverse sweep: ``dL/dq`` from ``dL/dt_k`` (one number per spike, time order).

    Cost ``O(sum_k parents_k + n_q)``: the reverse-mode cost of EventProp.
    """
    _check_result(result, "adjoint")
    if not (type(dl_dt) is np.ndarray and dl_dt.dtype == np.float64 and dl_dt.flags.c_contiguous):
        dl_dt = real_array(dl_dt, "dl_dt", ValueError)  # a copy as float64 (or a clear error)
    if dl_dt.shape != (result.n_spikes,):
        raise ValueError(f"dl_dt must have shape ({result.n_spikes},) (one entry per spike), got {dl_dt.shape}")
    if not all_finite(dl_dt):
        raise ValueError("dl_dt contains non-finite values")
    apply_policy(result, policy)
    g = result.model.call("adjoint_core", *result.engine_args(), dl_dt)
    return Gradients.split(g, result.network.n_synapses, result.in_times.size)
