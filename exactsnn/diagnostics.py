"""Degenerate spikes: where an exact gradient does not exist or is ill-conditioned.

Per spike, the engine's record gives:

- ``vdot``: dV/dt at the crossing. The IFT divides by it; near 0 the crossing is tangential
  (grazing) and the gradient blows up like ``1/vdot``.
- ``event_gap``: distance to the nearest arrival at the same neuron (before or after). At 0
  the spike coincides with an input and the spike time has a kink (one-sided derivatives).
- ``tmax_gap``: distance to ``t_max``. At 0 the spike is about to leave the window.
- ``simultaneous``: another neuron spiked at the same time (within ``time_tol``).

Per neuron, ``near_margin`` is ``threshold - V`` at the closest sub-threshold maximum that the
potential reaches (before the next event changes it): how far the neuron is from gaining a spike
(the loss jumps there).

Policy, for ``forward_propagation``/``adjoint`` (and the CLI): ``"raise"`` raises
``DegenerateSpikeError``; ``"warn"`` (default) issues a ``DegenerateSpikeWarning`` and goes on;
``"flag"`` only records. Gradients at flagged spikes are still the exact one-sided IFT values
of the recorded spike order; they are finite whenever ``vdot > 0``.

Two levels of tolerance
-----------------------
``diagnose`` with its defaults (``VDOT_TOL``, ``TIME_TOL``) finds *degenerate* spikes, where the
gradient does not exist or is one-sided. ``conditioning`` applies the same tests with the stricter
``WELL_*`` tolerances and finds spikes that are merely *ill-conditioned*: a float64 spike time
carries an error of about ``eps * sum|terms| / vdot``, so below ``WELL_VDOT_TOL`` the 1e-11
accuracy that ``exactsnn.verify`` checks is no longer promised. The verifier (``exactsnn.verify``)
reports both, per spike, with their margins; its policy is always ``"flag"`` (it reports, never
raises).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .errors import DegenerateSpikeError
from .numeric.spike_screen import spikes_clean

VDOT_TOL = 1e-6
TIME_TOL = 1e-9
POLICIES = ("raise", "warn", "flag")
#: Stricter tolerances of ``conditioning``: dV/dt, time gaps, and threshold - V at a sub-threshold maximum.
WELL_VDOT_TOL = 1e-3
WELL_TIME_TOL = 1e-6
WELL_MARGIN_TOL = 1e-6


class DegenerateSpikeWarning(UserWarning):
    """A spike whose gradient is ill-conditioned or one-sided."""


@dataclass(frozen=True)
class Diagnostics:
    """Per-spike conditioning of one simulation (spikes in time order, as ``result.spike_time``).

    Attributes
    ----------
    vdot : (n_spikes,) float64
        ``dV/dt`` at each crossing; the IFT divides by it.
    event_gap : (n_spikes,) float64
        ``min_e |t_k - tau_e|`` over arrivals ``tau_e`` at the spiking neuron (inf if none).
    tmax_gap : (n_spikes,) float64
        ``t_max - t_k``.
    simultaneous : (n_spikes,) bool
        Another spike lies within ``time_tol``.
    near_margin : (n_neurons,) float64
        ``threshold - V`` at the neuron's highest sub-threshold maximum (inf if none was seen).
    flags : tuple of (int, str, float)
        ``(spike id, kind, margin)``; a neuron-level finding has spike id ``-1 - neuron``.

    ``vdot``, ``event_gap`` and ``near_margin`` are read-only views of the result's recorded numbers.
    """

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

    def spike_findings(self, k: int) -> tuple:
        """``(kind, margin)`` of every finding at spike ``k`` (time order)."""
        return tuple((kind, margin) for s, kind, margin in self.flags if s == k)

    def neuron_findings(self, j: int) -> tuple:
        """``(kind, margin)`` of every neuron-level finding at neuron ``j`` (near-threshold maxima)."""
        return tuple((kind, margin) for s, kind, margin in self.flags if s == -1 - j)


def diagnose(result, vdot_tol: float = VDOT_TOL, time_tol: float = TIME_TOL,
             margin_tol: float | None = None) -> Diagnostics:
    """Per-spike conditioning of a SimulationResult (see module docstring).

    Parameters
    ----------
    result : SimulationResult
    vdot_tol : float
        Flag a crossing with ``dV/dt <= vdot_tol`` (tangential).
    time_tol : float
        Flag a spike within ``time_tol`` of an arrival at its neuron, of ``t_max`` or of another spike.
    margin_tol : float, optional
        Flag a neuron whose sub-threshold maximum is within ``margin_tol`` of threshold
        (default: ``vdot_tol``: a maximum that close to threshold is as fragile as a crossing that slow).

    Returns
    -------
    Diagnostics
    """
    margin_tol = vdot_tol if margin_tol is None else margin_tol
    if result.spike_vdot is not None and result.spike_event_gap is not None:
        vdot, gap = result.spike_vdot, result.spike_event_gap  # recorded by the engine during the run
    else:
        vdot, gap = _recompute(result)
    vdot, gap = np.asarray(vdot, float), np.asarray(gap, float)
    tmax_gap = result.t_max - result.spike_time
    same_size = vdot.size == gap.size == result.spike_time.size
    if same_size and spikes_clean(result.spike_time, vdot, gap, float(result.t_max), result.near_margin,
                                  float(vdot_tol), float(time_tol), float(margin_tol)):  # one pass: the common case
        simult, flags = np.zeros(result.n_spikes, bool), ()
    else:
        simult, flags = _findings(result, vdot, gap, tmax_gap, vdot_tol, time_tol, margin_tol)
    return Diagnostics(_read_only(vdot), _read_only(gap), tmax_gap, simult, _read_only(result.near_margin), flags)


def _read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view: the diagnostics share the result's recorded numbers without copying them."""
    v = a.view()
    v.flags.writeable = False
    return v


def _findings(result, vdot, gap, tmax_gap, vdot_tol, time_tol, margin_tol) -> tuple:
    """(simultaneous (n_spikes,) bool, flags): every test on every spike and neuron."""
    n = result.n_spikes
    order = np.argsort(result.spike_time, kind="stable")
    simult = np.zeros(n, bool)
    if n > 1:
        close = np.diff(result.spike_time[order]) <= time_tol
        simult[order[1:][close]] = True
        simult[order[:-1][close]] = True
    tests = ((~(vdot > vdot_tol), "tangential crossing (dV/dt)", vdot),
             (gap <= time_tol, "spike on an incoming event", gap),
             (tmax_gap <= time_tol, "spike at t_max", tmax_gap),
             (simult, "simultaneous spikes", np.zeros(n)))
    hits = sorted((int(k), i) for i, (mask, _, _) in enumerate(tests) for k in np.flatnonzero(mask))
    flags = [(k, tests[i][1], float(tests[i][2][k])) for k, i in hits]
    for j in np.flatnonzero(result.near_margin <= margin_tol):
        flags.append((-1 - int(j), f"neuron {j}: sub-threshold maximum at threshold (spike about to appear)",
                      float(result.near_margin[j])))
    return simult, tuple(flags)


def _recompute(result) -> tuple:
    """(vdot, event_gap) from the causal record, for a result whose engine did not record them."""
    spk_arr_head, spk_prev, n_arr, arr_time, arr_syn, arr_src, arr_prev = result.record
    n = result.n_spikes
    vdot = result.model.module.vdot_core(result.ptab, result.pop, result.network.n_synapses, result.in_times.size,
                                         n, result.spike_time, result.spike_neuron, spk_arr_head, spk_prev, n_arr,
                                         arr_time, arr_syn, arr_src, arr_prev, result.topology.syn_w)
    post = result.topology.syn_post[arr_syn] if n_arr else np.zeros(0, np.int64)
    gap = np.full(n, np.inf)
    for k in range(n):
        times = arr_time[post == result.spike_neuron[k]]
        if times.size:
            gap[k] = np.min(np.abs(times - result.spike_time[k]))
    return vdot, gap


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


def apply_policy(result, policy: str = "warn") -> None:
    """``check_spikes`` for the gradient sweeps, which do not read the diagnostics: when the one-pass screen
    (``spikes_clean``) finds nothing, nothing is built; otherwise ``check_spikes`` decides."""
    if policy not in POLICIES:
        raise ValueError(f"policy = {policy!r} is not one of {POLICIES}")
    vdot, gap = result.spike_vdot, result.spike_event_gap
    if (vdot is not None and gap is not None and vdot.size == gap.size == result.spike_time.size
            and spikes_clean(result.spike_time, vdot, gap, float(result.t_max), result.near_margin, VDOT_TOL,
                             TIME_TOL, VDOT_TOL)):
        return
    check_spikes(result, policy)


def conditioning(result) -> Diagnostics:
    """``diagnose`` with the stricter ``WELL_*`` tolerances: an empty ``flags`` means well-conditioned.

    Notes
    -----
    A float64 spike time has an error of about ``eps * sum_e |w_e psp(s_e)| / vdot``; with
    ``vdot > WELL_VDOT_TOL = 1e-3`` and potentials of order 10 that is below 1e-11. Spikes farther
    than ``WELL_TIME_TOL`` from events and ``t_max``, and maxima farther than ``WELL_MARGIN_TOL``
    below threshold, keep the float64 spike pattern equal to the exact one.
    """
    return diagnose(result, WELL_VDOT_TOL, WELL_TIME_TOL, WELL_MARGIN_TOL)
