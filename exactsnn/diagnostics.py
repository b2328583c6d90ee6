"""Degenerate spikes: where an exact gradient does not exist or is ill-conditioned.

Per spike, the engine's record gives:

- ``vdot``: dV/dt at the crossing. The IFT divides by it; near 0 the crossing is tangential
  (grazing) and the gradient blows up like ``1/vdot``.
- ``event_gap``: distance to the nearest arrival at the same neuron (before or after). At 0
  the spike coincides with an input and the spike time has a kink (one-sided derivatives).
- ``tmax_gap``: distance to ``t_max``. At 0 the spike is about to leave the window.
- ``simultaneous``: another neuron spiked at the same time (within ``time_tol``).

Per neuron, ``near_margin`` is ``threshold - V`` at the closest sub-threshold maximum: how
far the neuron is from gaining a spike (the loss jumps there).

Policy, for ``forward_propagation``/``adjoint`` (and the CLI): ``"raise"`` raises
``DegenerateSpikeError``; ``"warn"`` (default) issues a ``DegenerateSpikeWarning`` and goes on;
``"flag"`` only records. Gradients at flagged spikes are still the exact one-sided IFT values
of the recorded spike order; they are finite whenever ``vdot > 0``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .errors import DegenerateSpikeError

VDOT_TOL = 1e-6
TIME_TOL = 1e-9
POLICIES = ("raise", "warn", "flag")


class DegenerateSpikeWarning(UserWarning):
    """A spike whose gradient is ill-conditioned or one-sided."""


@dataclass(frozen=True)
class Diagnostics:
    vdot: np.ndarray
    event_gap: np.ndarray
    tmax_gap: np.ndarray
    simultaneous: np.ndarray
    near_margin: np.ndarray
    flags: tuple  # (spike id, kind, margin)

    @property
    def ok(self) -> bool:
        return not self.flags

    def summary(self) -> str:
        if not self.flags:
            return "no degenerate spikes"
        lines = [f"{len(self.flags)} degenerate spike finding(s):"]
        lines += [f"  spike {k}: {kind} (margin {margin:.3g})" for k, kind, margin in self.flags[:20]]
        return "\n".join(lines)


def diagnose(result, vdot_tol: float = VDOT_TOL, time_tol: float = TIME_TOL) -> Diagnostics:
    """Per-spike conditioning of a SimulationResult (see module docstring)."""
    spk_arr_head, spk_prev, n_arr, arr_time, arr_syn, arr_src, arr_prev = result.record
    n = result.n_spikes
    vdot = result.model.module.vdot_core(result.params, result.network.n_synapses, result.in_times.size, n,
                                         result.spike_time, spk_arr_head, spk_prev, n_arr, arr_time, arr_syn,
                                         arr_src, arr_prev, result.topology.syn_w)
    post = result.topology.syn_post[arr_syn] if n_arr else np.zeros(0, np.int64)
    gap = np.full(n, np.inf)
    for k in range(n):
        times = arr_time[post == result.spike_neuron[k]]
        if times.size:
            gap[k] = np.min(np.abs(times - result.spike_time[k]))
    tmax_gap = result.t_max - result.spike_time
    order = np.argsort(result.spike_time, kind="stable")
    simult = np.zeros(n, bool)
    if n > 1:
        close = np.diff(result.spike_time[order]) <= time_tol
        simult[order[1:][close]] = True
        simult[order[:-1][close]] = True
    flags = []
    for k in range(n):
        if not vdot[k] > vdot_tol:
            flags.append((k, "tangential crossing (dV/dt)", float(vdot[k])))
        if gap[k] <= time_tol:
            flags.append((k, "spike on an incoming event", float(gap[k])))
        if tmax_gap[k] <= time_tol:
            flags.append((k, "spike at t_max", float(tmax_gap[k])))
        if simult[k]:
            flags.append((k, "simultaneous spikes", 0.0))
    for j, margin in enumerate(result.near_margin):
        if margin <= vdot_tol:
            flags.append((-1 - j, f"neuron {j}: sub-threshold maximum at threshold (spike about to appear)",
                          float(margin)))
    return Diagnostics(vdot, gap, tmax_gap, simult, result.near_margin.copy(), tuple(flags))


def check_spikes(result, policy: str = "warn") -> Diagnostics:
    """Diagnose and apply ``policy`` (raise / warn / flag)."""
    if policy not in POLICIES:
        raise ValueError(f"policy = {policy!r} is not one of {POLICIES}")
    diag = diagnose(result)
    if diag.flags:
        if policy == "raise":
            raise DegenerateSpikeError(diag.summary(), diag)
        if policy == "warn":
            warnings.warn(diag.summary(), DegenerateSpikeWarning, stacklevel=3)
    return diag
