"""First-spike losses with exact dL/dt, single patterns and parallel batches.

Losses read the *first* spike time ``t_o`` of every output neuron; a silent output counts as
``t_max`` and passes no gradient.

- ``first_spike_sum``:     ``L = sum_o t_o``
- ``ttfs_cross_entropy``:  ``L = -log softmax(-t / tau0)[label] + gamma (exp(t_label / tau1) - 1)``
  (Göltz et al. 2021, with their regulariser; any finite ``gamma``, their code uses ``-0.005``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .resolve import resolve
from .diagnostics import POLICIES, TIME_TOL, VDOT_TOL, check_spikes
from .grad import Gradients, adjoint
from .network import Network, validate_t_max
from .numeric.losses_nb import LOSS_FIRST_SPIKE_SUM, LOSS_TTFS_CROSS_ENTROPY, loss_and_grad  # noqa: F401 (interop)
from .numeric.spike_screen import sample_loss_dt
from .numeric.status import message as status_message
from .packing import pack_pattern, pack_patterns
from .simulate import DEFAULT_MAX_SPIKES, SimulationResult, Topology, populations_array
from .errors import InputSpikeError, SimulationError

KINDS = {"first_spike_sum": LOSS_FIRST_SPIKE_SUM, "ttfs_cross_entropy": LOSS_TTFS_CROSS_ENTROPY}


@dataclass(frozen=True)
class Loss:
    """A first-spike loss. ``label`` is required by ``ttfs_cross_entropy``."""

    kind: str = "first_spike_sum"
    label: int = 0
    tau0: float = 0.2
    tau1: float = 1.0
    gamma: float = 0.005

    def __post_init__(self):
        if (type(self.label) is int and self.label >= 0 and self.kind in KINDS and type(self.tau0) is float
                and type(self.tau1) is float and type(self.gamma) is float
                and 0.0 < self.tau0 < math.inf and 0.0 < self.tau1 < math.inf and -math.inf < self.gamma < math.inf):
            return  # the common form, valid: the checks below would all pass
        if self.kind not in KINDS:
            raise ValueError(f"loss kind {self.kind!r} is unknown; allowed: {sorted(KINDS)}")
        for name in ("tau0", "tau1"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"loss {name} = {v!r} must be a finite number > 0")
        # any finite gamma: the seed code of Göltz et al. uses gamma = -0.005 (a negative gamma
        # rewards a later label spike; t is bounded by t_max, so L stays bounded)
        if isinstance(self.gamma, bool) or not (isinstance(self.gamma, (int, float)) and math.isfinite(self.gamma)):
            raise ValueError(f"loss gamma = {self.gamma!r} must be a finite number (negative allowed)")
        if isinstance(self.label, bool) or not isinstance(self.label, (int, np.integer)) or self.label < 0:
            raise ValueError(f"loss label = {self.label!r} must be a non-negative integer")

    def check_outputs(self, n_out: int):
        if self.kind == "ttfs_cross_entropy" and self.label >= n_out:
            raise ValueError(f"loss label = {self.label} must be < the number of outputs ({n_out})")


def _integer_labels(labels) -> np.ndarray:
    """Labels as int64, refusing what int64 would truncate (``0.7 -> 0``), booleans and strings."""
    raw = np.asarray(labels)
    if raw.dtype.kind in "iu":
        return raw.astype(np.int64)
    if raw.dtype.kind == "f" and np.isfinite(raw).all() and (raw == np.round(raw)).all():
        return raw.astype(np.int64)
    raise ValueError(f"labels must be integers (class indices), got {labels!r}")


def _finite_loss(value, what: str):
    """Refuse a loss that overflowed (e.g. ``gamma exp(t_label / tau1)`` with a tiny ``tau1``)."""
    if not np.all(np.isfinite(value)):
        raise ValueError(f"the loss value overflowed ({what}): with tau1 small against the label's spike time "
                         "(or t_max for a silent label), gamma * exp(t / tau1) exceeds float64; raise tau1")
    return value


def loss_value_and_dt(result: SimulationResult, loss: Loss) -> tuple:
    """(L, dL/dt per spike (n_spikes,), first times (n_out,)) for one simulated pattern."""
    net = result.network
    loss.check_outputs(net.outputs.size)
    value, dl_dt, t_first, finite = sample_loss_dt(KINDS[loss.kind], result.spike_time, result.spike_neuron,
                                                   net.n_neurons, net.outputs, float(result.t_max), int(loss.label),
                                                   float(loss.tau0), float(loss.tau1), float(loss.gamma))
    if not finite:
        _finite_loss(np.append(dl_dt, value), f"loss {loss.kind}, tau1 = {loss.tau1}")
    return float(value), dl_dt, t_first


def loss_grad(result: SimulationResult, loss: Loss, policy: str = "warn") -> tuple:
    """(L, Gradients) of one simulated pattern, by the adjoint sweep.

    One engine call (``loss_adjoint``) computes the loss, screens the engine's diagnostics and runs the sweep;
    the checks and their errors are ``loss_value_and_dt`` then ``adjoint``'s, in that order. On a result still
    held as the feed-forward path's pools (``simulate`` on a feed-forward network, nothing read yet) the call is
    ``loss_adjoint_pooled``, the batch's sweep, with the same numbers; the result stays unordered.
    """
    if not (isinstance(result, SimulationResult) and isinstance(loss, Loss) and policy in POLICIES
            and (result._pools is not None or (result.spike_vdot is not None and result.spike_event_gap is not None
                                             and result.spike_vdot.size == result.spike_event_gap.size
                                             == result.n_spikes))):
        value, dl_dt, _ = loss_value_and_dt(result, loss)  # the general route names whatever is wrong
        return value, adjoint(result, dl_dt, policy)
    net = result.network
    loss.check_outputs(net.outputs.size)
    if result._pools is not None:  # still the feed-forward path's pools: sweep them (engine_pooled), no time order
        n_spk, n_arr, f, i, _ = result._pools
        value, finite, clean, ok, g = result.model.call(
            "loss_adjoint_pooled", result.ptab, result.pop, net.n_synapses, result.in_times.size, net.n_neurons, n_spk,
            n_arr, f, i, result.topology.syn_w, KINDS[loss.kind], net.outputs, float(result.t_max), int(loss.label),
            float(loss.tau0), float(loss.tau1), float(loss.gamma), VDOT_TOL, TIME_TOL, VDOT_TOL)
        if ok and finite:
            if not clean:
                check_spikes(result, policy)
            return float(value), Gradients.split(g, net.n_synapses, result.in_times.size)
    value, finite, clean, g = result.model.call(
        "loss_adjoint", *result.engine_args(), KINDS[loss.kind], net.n_neurons, net.outputs, float(result.t_max),
        int(loss.label), float(loss.tau0), float(loss.tau1), float(loss.gamma), result.spike_vdot,
        result.spike_event_gap, result.near_margin, VDOT_TOL, TIME_TOL, VDOT_TOL)
    if not finite:
        value, dl_dt, _ = loss_value_and_dt(result, loss)  # raises: the loss overflowed
    if not clean:
        check_spikes(result, policy)
    return float(value), Gradients.split(g, net.n_synapses, result.in_times.size)


@dataclass(frozen=True)
class BatchResult:
    """Per-pattern losses, first spike times, spike counts and gradients (input block padded)."""

    loss: np.ndarray
    t_first: np.ndarray
    counts: np.ndarray
    grad: Gradients


@dataclass(frozen=True, eq=False)
class Patterns:
    """Many input patterns packed once for repeated batch runs (training epochs).

    Pattern ``b``'s input spikes are ``times[ptr[b]:ptr[b+1]]`` from channels ``src[...]``,
    channel-major, exactly as ``simulate`` packs one pattern.
    """

    n_inputs: int
    times: np.ndarray
    src: np.ndarray
    ptr: np.ndarray

    @classmethod
    def pack(cls, patterns, n_inputs: int) -> "Patterns":
        """From a sequence of patterns, each a list of per-channel spike-time lists (validated)."""
        fast = pack_patterns(patterns, n_inputs)
        if fast is not None:  # a list of lists of lists of plain numbers, all valid: packed in one pass
            return cls(n_inputs, *fast)
        packed = [pack_pattern(x, n_inputs, f"patterns[{b}]") for b, x in enumerate(patterns)]
        if not packed:
            raise ValueError("patterns must hold at least one input pattern")
        ptr = np.zeros(len(packed) + 1, np.int64)
        np.cumsum([t.size for t, _ in packed], out=ptr[1:])
        return cls(n_inputs, np.concatenate([t for t, _ in packed]), np.concatenate([s for _, s in packed]), ptr)

    @classmethod
    def first_spikes(cls, times) -> "Patterns":
        """From an ``(n_patterns, n_inputs)`` array: exactly one spike per channel and pattern."""
        t = np.asarray(times, np.float64)
        if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] < 1:
            raise ValueError(f"times must be a non-empty (n_patterns, n_inputs) array, got shape {t.shape}")
        bad = np.argwhere(~(np.isfinite(t) & (t >= 0)))
        if bad.size:
            b, c = bad[0]
            raise InputSpikeError(f"times[{b}, {c}] = {float(t[b, c])!r}: input spike times must be finite and >= 0")
        n, c = t.shape
        return cls(c, np.ascontiguousarray(t).ravel(), np.tile(np.arange(c, dtype=np.int64), n),
                   np.arange(0, n * c + 1, c, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.ptr.size - 1)

    @property
    def max_in(self) -> int:
        return int(np.max(np.diff(self.ptr)))

    def take(self, idx) -> "Patterns":
        """The patterns ``idx`` (an index array), in that order."""
        idx = np.asarray(idx, np.int64)
        lo, hi = self.ptr[idx], self.ptr[idx + 1]
        lens = hi - lo
        ptr = np.zeros(idx.size + 1, np.int64)
        np.cumsum(lens, out=ptr[1:])
        flat = np.repeat(lo - ptr[:-1], lens) + np.arange(ptr[-1])
        return Patterns(self.n_inputs, self.times[flat], self.src[flat], ptr)


def batch_loss_grad(model, network: Network, patterns, t_max, loss: Loss, labels=None, params=None,
                    want_grad=True, max_spikes=DEFAULT_MAX_SPIKES, populations=None,
                    first_spike_exit=False, model_grad=True) -> BatchResult:
    """Loss and exact gradients for many input patterns, in parallel on all cores (numba prange).

    ``patterns`` is a sequence of patterns (each a list of per-channel spike-time lists) or a
    ``Patterns`` packed once. Each pattern runs the same code as ``simulate`` + ``loss_grad``, so
    results equal serial runs bit for bit. ``labels`` (one per pattern) override ``loss.label``.

    ``first_spike_exit=True`` stops each pattern once every output has fired (the losses read only
    first output spikes): losses, first spike times and gradients are bit-identical to the full run,
    ``counts`` count the spikes up to each pattern's stop. Training uses it; default False.

    ``model_grad=False`` skips the model-parameter gradients (the kernels' parameter derivatives are about a
    third of the adjoint's work): ``grad.model`` is then an empty block (shape (B, 0)); weights, delays and input
    times are the same bits. The trainer asks for them only when it learns thresholds.
    """
    compiled = resolve(model)
    pop, n_pop = populations_array(populations, network.n_neurons)
    ptab = compiled.param_table(params, n_pop)
    t_max = validate_t_max(t_max)
    loss.check_outputs(network.outputs.size)
    if not isinstance(patterns, Patterns):
        patterns = Patterns.pack(patterns, network.n_inputs)
    elif patterns.n_inputs != network.n_inputs:
        raise ValueError(f"patterns have {patterns.n_inputs} input channels; the network has {network.n_inputs}")
    n_b = len(patterns)
    lab = np.full(n_b, loss.label, np.int64) if labels is None else _integer_labels(labels)
    if lab.shape != (n_b,) or (lab < 0).any() or (loss.kind == "ttfs_cross_entropy" and
                                                  (lab >= network.outputs.size).any()):
        raise ValueError(f"labels must be {n_b} integers in [0, {network.outputs.size})")
    times, src, ptr, max_in = patterns.times, patterns.src, patterns.ptr, patterns.max_in
    topo = Topology.of(network)
    if not isinstance(first_spike_exit, (bool, np.bool_)):
        raise ValueError(f"first_spike_exit = {first_spike_exit!r} must be True or False")
    if not isinstance(model_grad, (bool, np.bool_)):
        raise ValueError(f"model_grad = {model_grad!r} must be True or False")
    status, losses, t_first, counts, grads = compiled.call(
        "batch_loss_grad", ptab, pop, times, src, ptr, network.n_inputs, network.n_neurons, topo.syn_post,
        topo.syn_w, topo.syn_d, topo.out_ptr, topo.out_syn, t_max, int(max_spikes), network.outputs.astype(np.int64),
        KINDS[loss.kind], lab, float(loss.tau0), float(loss.tau1), float(loss.gamma), bool(want_grad), max_in,
        bool(first_spike_exit), bool(model_grad))
    bad = np.flatnonzero(status)
    if bad.size:
        raise SimulationError(status_message(int(status[bad[0]]), max_spikes=max_spikes, pattern=int(bad[0])))
    _finite_loss(losses, f"loss {loss.kind}, tau1 = {loss.tau1}, pattern {int(np.argmin(np.isfinite(losses)))}")
    return BatchResult(losses, t_first, counts, Gradients.split(grads, network.n_synapses, max_in))


__all__ = ["Loss", "loss_value_and_dt", "loss_grad", "batch_loss_grad", "BatchResult", "Patterns"]
