"""Framework-neutral core of the PyTorch and JAX bridges: a batch forward that keeps its causal records.

``SpikeBatch.run`` simulates every pattern of a batch in parallel (numba ``prange``, the engine's
``batch_simulate_record``) and keeps each pattern's causal record; ``SpikeBatch.adjoint`` runs the
adjoint sweeps over those records, in parallel, for any ``dL/dt`` a framework hands back:

    dL/dq_b = sum_k dL/dt_bk dt_bk/dq          (one adjoint sweep per pattern b, no re-simulation)

with ``q`` the weights, delays, input spike times and model parameters. The sweep is the engine's
``adjoint_core``, the function ``exactsnn.adjoint`` and ``batch_loss_grad`` call, so per-pattern
gradients are bit-identical to theirs for the same ``dL/dt``.

Input times are a dense array ``(B, n_inputs)`` (one spike per channel) or ``(B, n_inputs, K)``
(up to K ascending spikes per channel); ``+inf`` marks "no spike" (padding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..compiled import CompiledModel
from ..errors import InputSpikeError, SimulationError
from ..network import Network
from ..numeric.status import message as status_message
from ..simulate import DEFAULT_MAX_SPIKES, Topology
from .layer_cache import LayerCache, PackedInputs

GRAD_KEYS = ("weight", "delay", "params", "input_times")


def pack_input_times(times: np.ndarray, n_inputs: int, name: str = "input_times") -> tuple:
    """Validate dense input times and pack them channel-major per pattern.

    Returns (in_times, in_src, in_ptr, where): ``where`` (n_spikes,) is each packed spike's flat
    index into ``times``, so gradients can be scattered back.
    """
    t = np.asarray(times)
    if t.ndim == 2:
        t = t[:, :, None]
    if t.ndim != 3 or t.shape[0] < 1 or t.shape[1] != n_inputs or t.shape[2] < 1:
        raise InputSpikeError(f"{name} must have shape (batch, {n_inputs}) or (batch, {n_inputs}, K) with "
                              f"batch, K >= 1, got {np.shape(times)}")
    bad = np.argwhere(np.isnan(t) | (t < 0))
    if bad.size:
        idx = tuple(int(i) for i in bad[0])
        raise InputSpikeError(f"{name}[{idx}] = {float(t[idx])!r}: input spike times must be >= 0 and not NaN "
                              "(+inf means no spike)")
    unsorted = np.argwhere(t[:, :, 1:] < t[:, :, :-1])
    if unsorted.size:
        b, c, k = (int(i) for i in unsorted[0])
        raise InputSpikeError(f"{name}[{b}, {c}] is not ascending at position {k} ({t[b, c, k]!r} > "
                              f"{t[b, c, k + 1]!r}); pad with +inf at the end")
    flat = t.reshape(-1)
    where = np.flatnonzero(np.isfinite(flat))
    per_pattern = np.isfinite(t).reshape(t.shape[0], -1).sum(axis=1)
    in_ptr = np.zeros(t.shape[0] + 1, np.int64)
    np.cumsum(per_pattern, out=in_ptr[1:])
    in_src = (where // t.shape[2]) % n_inputs
    return np.ascontiguousarray(flat[where], np.float64), in_src.astype(np.int64), in_ptr, where


def default_capacity(network, topo: Topology, max_in_sp: int) -> tuple:
    """(spikes, arrivals) per pattern to allocate first: ``2 n_neurons + 16`` spikes; arrivals bound
    the input fan-out exactly and allow the largest neuron fan-out for every spike. ``network`` is a
    ``Network`` or a ``LayerCache`` (``n_inputs``, ``n_neurons``)."""
    fanout = np.diff(topo.out_ptr)
    cap_spk = 2 * network.n_neurons + 16
    in_fan = int(fanout[:network.n_inputs].max()) if network.n_inputs else 0
    nrn_fan = int(fanout[network.n_inputs:].max()) if network.n_neurons else 0
    return cap_spk, max_in_sp * in_fan + cap_spk * nrn_fan + 16


def _rerun_overflow(compiled: CompiledModel, args: tuple, out: tuple, over: np.ndarray) -> tuple:
    """``batch_simulate_record``'s outputs with the records of patterns ``over`` simulated again into larger arrays.

    The first run kept every pattern's spikes, counts and record sizes but not the records that exceeded
    the capacities; the patterns ``over`` run again (bit-identical spikes) with capacities equal to their
    largest sizes, and every record array is widened to hold them.
    """
    in_times, in_src, in_ptr = args[2], args[3], args[4]
    pieces = [np.arange(in_ptr[b], in_ptr[b + 1]) for b in over]
    take = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
    sub_ptr = np.zeros(over.size + 1, np.int64)
    np.cumsum([p.size for p in pieces], out=sub_ptr[1:])
    sizes = out[1]
    need = (int(sizes[over, 0].max()), int(sizes[over, 1].max()))
    sub = compiled.call("batch_simulate_record", *args[:2], in_times[take], in_src[take], sub_ptr, *args[5:],
                        need[0], need[1])
    merged = list(out)
    for k in (5, 6, 7, 8):  # spk_f, spk_i, arr_f, arr_i: widen the last axis, then write the rerun records
        old = out[k]
        width = max(old.shape[-1], sub[k].shape[-1])
        wide = np.full(old.shape[:-1] + (width,), 0.0 if old.dtype.kind == "f" else -1, old.dtype)
        wide[..., :old.shape[-1]] = old
        wide[over] = -1 if old.dtype.kind == "i" else 0.0
        wide[over, ..., :sub[k].shape[-1]] = sub[k]
        merged[k] = wide
    return tuple(merged)


@dataclass(eq=False)
class BatchSpikes:
    """What a batch forward returns to a framework: first output spikes and spike counts, with the
    weights and input packing it ran with (``SpikeBatch`` adds causal records, ``JacobianBatch`` first-spike
    Jacobians).

    Attributes
    ----------
    topology : Topology
        The weights and delays this batch ran with (the adjoint reads ``syn_w``).
    dense, max_in_sp : bool, int
        Every input entry was a spike (input gradients need no scatter); most input spikes per pattern.
    sizes : (B, 2) int64
        Spikes and arrivals of each pattern's record.
    t_first : (B, n_out) float64
        First spike time of each output neuron; ``t_max`` when it is silent (see ``silent``).
    first : (B, n_out) int64
        Index of that spike in the pattern's spike list, -1 when silent.
    counts : (B, n_neurons) int64
        Spikes per neuron.
    """

    topology: Topology
    ptab: np.ndarray
    t_max: float
    input_shape: tuple
    in_ptr: np.ndarray
    where: np.ndarray
    dense: bool
    max_in_sp: int
    sizes: np.ndarray
    t_first: np.ndarray
    first: np.ndarray
    counts: np.ndarray

    @property
    def silent(self) -> np.ndarray:
        return self.first < 0

    @property
    def capacity(self) -> tuple:
        """(spikes, arrivals) per pattern this batch needed: a good first allocation for the next one."""
        return tuple(self.sizes.max(axis=0, initial=1).tolist())


@dataclass(eq=False)
class SpikeBatch(BatchSpikes):
    """Spikes and causal records of a batch; ``adjoint`` turns dL/dt into dL/dq per pattern.

    Attributes (besides ``BatchSpikes``')
    ----------
    spike_time, spike_neuron : (B, cap) float64, int64
        All spikes in time order (``sizes[b, 0]`` valid entries; the rest is padding, neuron -1).
    spk_i, arr_f, arr_i : the rest of the causal records (``batch_simulate_record``).
    """

    compiled: CompiledModel
    n_neurons: int
    pop: np.ndarray
    spike_time: np.ndarray
    spk_i: np.ndarray
    arr_f: np.ndarray
    arr_i: np.ndarray

    @property
    def spike_neuron(self) -> np.ndarray:
        return self.spk_i[:, 0]

    @classmethod
    def run(cls, compiled: CompiledModel, network: Network, ptab, pop, input_times, t_max: float,
            max_spikes: int = DEFAULT_MAX_SPIKES, capacity=None, name: str = "input_times") -> "SpikeBatch":
        """Simulate every pattern of ``input_times`` (dense, see the module docstring) in parallel."""
        times = np.asarray(input_times)
        in_times, in_src, in_ptr, where = pack_input_times(times, network.n_inputs, name)
        packed = PackedInputs(in_times, in_src, in_ptr, where, False, int(np.diff(in_ptr).max()))
        return cls.from_packed(compiled, LayerCache.of(network), Topology.of(network), ptab, pop, packed, times.shape,
                               t_max, max_spikes, capacity)

    @classmethod
    def from_packed(cls, compiled: CompiledModel, layer: LayerCache, topo: Topology, ptab, pop, packed: PackedInputs,
                    input_shape: tuple, t_max: float, max_spikes: int = DEFAULT_MAX_SPIKES,
                    capacity=None) -> "SpikeBatch":
        """Simulate packed, already checked inputs (``LayerCache.pack``) on ``topo`` in parallel."""
        cap = default_capacity(layer, topo, packed.max_in_sp) if capacity is None else capacity
        args = (ptab, pop, packed.in_times, packed.in_src, packed.in_ptr, layer.n_inputs, layer.n_neurons,
                topo.syn_post, topo.syn_w, topo.syn_d, topo.out_ptr, topo.out_syn, float(t_max), int(max_spikes),
                layer.outputs)
        out = compiled.call("batch_simulate_record", *args, int(cap[0]), int(cap[1]))
        status, sizes = out[0], out[1]
        if status.any():
            bad = int(np.flatnonzero(status)[0])
            raise SimulationError(status_message(int(status[bad]), max_spikes=max_spikes, pattern=bad))
        most = sizes.max(axis=0)
        if most[0] > cap[0] or most[1] > cap[1]:  # rare: rerun only the patterns whose records did not fit
            out = _rerun_overflow(compiled, args, out, np.flatnonzero((sizes[:, 0] > cap[0]) | (sizes[:, 1] > cap[1])))
        return cls(topo, ptab, float(t_max), input_shape, packed.in_ptr, packed.where, packed.dense, packed.max_in_sp,
                   *out[1:5], compiled, layer.n_neurons, pop, *out[5:])

    def spikes_of(self, neurons, max_spikes_per_neuron: int) -> tuple:
        """All spikes of ``neurons``, padded: (times (B, n, K) with t_max padding, mask (B, n, K) bool,
        spike index (B, n, K) int64, -1 on padding). Spikes beyond K per neuron are left out."""
        neurons = np.asarray(neurons, np.int64)
        n_b, cap = self.spike_time.shape
        slot = np.full(self.n_neurons + 1, -1, np.int64)
        slot[neurons] = np.arange(neurons.size)
        nrn = self.spike_neuron
        s = slot[nrn]  # padding has neuron -1 -> slot[-1] = -1
        rank = np.zeros_like(nrn)
        for j in neurons:  # position of each spike in its neuron's list, per pattern
            mine = nrn == j
            rank[mine] = (np.cumsum(mine, axis=1) - 1)[mine]
        keep = (s >= 0) & (rank < max_spikes_per_neuron)
        b_idx, k_idx = np.nonzero(keep)
        index = np.full((n_b, neurons.size, max_spikes_per_neuron), -1, np.int64)
        index[b_idx, s[b_idx, k_idx], rank[b_idx, k_idx]] = k_idx
        mask = index >= 0
        times = np.where(mask, np.take_along_axis(self.spike_time, np.maximum(index, 0).reshape(n_b, -1), 1).reshape(
            index.shape), self.t_max)
        return times, mask, index

    def dl_dt(self, dl_dfirst=None, spike_grads=()) -> np.ndarray:
        """dL/dt per spike (B, cap) from dL/dt_first (B, n_out) and ``(index, grad)`` pairs of ``spikes_of``.

        Silent outputs and padding pass nothing (a spike that does not exist has no time to move).
        """
        n_b, cap = self.spike_time.shape
        out = np.zeros((n_b, cap))
        if dl_dfirst is not None:  # distinct outputs have distinct first spikes: plain assignment
            hit = self.first >= 0
            flat = self.first + cap * np.arange(n_b)[:, None]
            out.reshape(-1)[flat[hit]] = np.asarray(dl_dfirst, np.float64)[hit]
        for index, grad in spike_grads:
            hit = index >= 0
            r = np.broadcast_to(np.arange(n_b)[:, None, None], index.shape)
            np.add.at(out, (r[hit], index[hit]), np.asarray(grad, np.float64)[hit])
        return out

    def adjoint(self, dl_dt: np.ndarray, inputs: bool = True) -> dict:
        """Per-pattern gradients from dL/dt per spike (B, cap): {'weight': (B, n_syn), 'delay': (B, n_syn),
        'params': (B, n_pop, n_params)} and, with ``inputs``, 'input_times': input_shape (0 where no spike)."""
        n_syn = self.topology.syn_w.size
        m = self.max_in_sp
        g = self.compiled.call("batch_adjoint_record", self.ptab, self.pop, n_syn, self.in_ptr, m,
                               self.sizes, self.spike_time, self.spk_i, self.arr_f, self.arr_i, self.topology.syn_w,
                               np.ascontiguousarray(dl_dt, np.float64))
        out = {"weight": g[:, :n_syn], "delay": g[:, n_syn:2 * n_syn],
               "params": g[:, 2 * n_syn + m:].reshape(g.shape[0], *self.ptab.shape)}
        if inputs:
            out["input_times"] = self._input_grads(g, 2 * n_syn)
        return out

    def _input_grads(self, g: np.ndarray, start: int) -> np.ndarray:
        """dL/d(input times) in the dense input layout, from the adjoint's padded per-pattern block."""
        return input_grads(g[:, start:start + self.max_in_sp], self.dense, self.input_shape, self.in_ptr, self.where)

    def grads(self, dl_dfirst=None, spike_grads=(), keys=GRAD_KEYS, per_pattern=False) -> dict:
        """Gradients ``keys`` (of 'weight', 'delay', 'params', 'input_times') from dL/dt_first and
        ``spike_grads`` (see ``dl_dt``): one adjoint sweep per pattern. 'weight', 'delay', 'params' are
        summed over the batch unless ``per_pattern``; 'input_times' is per pattern, in the input layout."""
        g = self.adjoint(self.dl_dt(dl_dfirst, spike_grads), inputs="input_times" in keys)
        return {k: g[k] if per_pattern or k == "input_times" else g[k].sum(axis=0) for k in keys}


def input_grads(block: np.ndarray, dense: bool, input_shape: tuple, in_ptr: np.ndarray, where: np.ndarray):
    """dL/d(input times) in the dense input layout from a padded (B, max_in_sp) block of packed input spikes
    (zero where an entry held no spike)."""
    if dense:  # every entry a spike: pattern b's j-th packed spike is entry b * M + j
        return block.reshape(input_shape)
    n_b = block.shape[0]
    g_in = np.zeros(int(np.prod(input_shape)))
    n_per = np.diff(in_ptr)
    col = np.arange(where.size) - np.repeat(in_ptr[:-1], n_per)
    g_in[where] = block[np.repeat(np.arange(n_b), n_per), col]
    return g_in.reshape(input_shape)


__all__ = ["BatchSpikes", "SpikeBatch", "pack_input_times", "default_capacity", "input_grads", "GRAD_KEYS"]
