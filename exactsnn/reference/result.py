"""ReferenceResult: what :func:`exactsnn.reference.reference_solve` returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_BLOCKS = ("d_weights", "d_delays", "d_inputs", "d_model")


@dataclass
class ReferenceResult:
    """High-precision spike times and their Jacobians.

    All numbers are ``mpmath.mpf`` rounded to ``dps`` digits. Rows are spikes in global time order
    (``order``); ``None`` marks a finite-difference entry that was not requested (``fd_subset``).

    Attributes
    ----------
    spikes : list of list of mpf
        ``spikes[j]``: spike times of neuron ``j``, ascending.
    order : list of (int, int)
        ``(neuron, index)`` of each spike in time order; ``index`` is its position in ``spikes[neuron]``.
    times : list of mpf
        Spike times in that order.
    vdot : list of mpf
        ``dV/dt`` at each spike (> 0).
    d_weights, d_delays : list of list of mpf
        ``dts_dw : (n_spikes, n_synapses)``, ``dts_dd : (n_spikes, n_synapses)``.
    d_inputs : list of list of mpf
        ``(n_spikes, n_input_spikes)``: input spikes flattened channel by channel (``input_index``).
    d_model : list of list of mpf
        ``(n_spikes, n_params)`` in ``param_names`` order.
    d_weights_fd, d_delays_fd, d_inputs_fd, d_model_fd : list of list or None
        The same blocks by finite differences, when requested.
    certified : bool
        True when every sub-interval of ``[0, t_max]`` at every neuron was decided rigorously.
    undecided : list of (int, mpf, mpf)
        ``(neuron, t_lo, t_hi)``: where a crossing could be neither proven nor excluded (grazing).
    dps : int
        Decimal digits of the results.
    max_bracket : mpf
        Largest half-width of a certified spike-time bracket (``G`` changes sign across it).
    param_names : tuple of str
    input_index : list of (int, int)
        ``(channel, f)`` of each flattened input spike.
    limits : tuple
        Singular-parameter limits that were taken, ``(parameter, value expression)``.
    t_max : mpf
    n_columns : dict
        Block name -> number of columns (``n_synapses``, ``n_input_spikes``, ``n_params``).
    coincident : list of (int, int)
        ``(neuron, index)`` of spikes that coincide (within their bracket) with an arrival at the same
        neuron. The spike time has a kink there; the row given treats the arrival as not yet active.
    work_dps : int or None
        Decimal digits carried internally (``dps + GUARD_DIGITS`` + digits lost to cancellation).
    """

    spikes: list
    order: list
    times: list
    vdot: list
    d_weights: list
    d_delays: list
    d_inputs: list
    d_model: list
    certified: bool
    undecided: list
    dps: int
    d_weights_fd: list | None = None
    d_delays_fd: list | None = None
    d_inputs_fd: list | None = None
    d_model_fd: list | None = None
    max_bracket: object = 0
    param_names: tuple = ()
    input_index: list = field(default_factory=list)
    limits: tuple = ()
    t_max: object = None
    n_columns: dict = field(default_factory=dict)
    coincident: list = field(default_factory=list)
    work_dps: int | None = None

    @property
    def n_spikes(self) -> int:
        return len(self.times)

    def row(self, neuron: int, index: int) -> int:
        """Row (global time-order position) of spike ``index`` of ``neuron``."""
        return self.order.index((neuron, index))

    def first_spike_times(self, outputs):
        """First spike time of each neuron in ``outputs`` (``None`` for a silent neuron)."""
        return [self.spikes[j][0] if self.spikes[j] else None for j in outputs]

    def as_float(self) -> dict:
        """float64 copies: ``times``, ``vdot`` ``(n_spikes,)``, ``spikes`` (list of arrays), each
        Jacobian block ``(n_spikes, n_columns)`` (``nan`` for entries not computed)."""
        out = {
            "times": _floats(self.times),
            "vdot": _floats(self.vdot),
            "spikes": [_floats(s) for s in self.spikes],
        }
        for name in _BLOCKS:
            for key in (name, name + "_fd"):
                rows = getattr(self, key)
                if rows is not None:
                    arr = np.array([[np.nan if x is None else float(x) for x in r] for r in rows],
                                   dtype=np.float64)
                    out[key] = arr.reshape(len(rows), self.n_columns.get(name, arr.size // max(len(rows), 1)))
        return out


def _floats(values):
    return np.array([float(x) for x in values], dtype=np.float64)
