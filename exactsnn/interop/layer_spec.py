"""The non-differentiable part of an exact layer, shared by the PyTorch and JAX bridges.

A ``LayerSpec`` holds what a bridge does not differentiate: the compiled model, the topology, the
populations, the window and what to record. ``LayerSpec.simulate`` turns float64 arrays of weights,
delays, model parameters and input times into a ``SpikeBatch`` (spikes plus causal records), the one
forward pass both bridges use; its backward is ``SpikeBatch.grads`` (adjoint sweeps over the records).
A differentiated forward that returns only first output spikes asks for ``jacobian=True`` and gets a
``JacobianBatch`` instead when its first-spike Jacobian is small (``jacobian_bytes``): the adjoint sweeps
run while each record is hot, and the backward is one contraction (``jacobian_batch``).

Record capacity: the engine writes each pattern's causal record into arrays allocated before the
batch runs. The spec remembers the largest record it has seen (with headroom), so the next batch is
allocated big enough and does not need a second simulation; ``SpikeBatch.run`` re-simulates only the
patterns that still overflow.

Per-step cost: only the weights (and sometimes the parameters and the batch) change between steps, so
the structure arrays and the input packing indices are built once (``LayerCache``), the checks are one
vectorised pass per array, and a parameter table equal to the last one accepted is not checked again.

The JAX bridge memoises forward records here for its backward callback (``remember``/``recall``),
because a ``jax.pure_callback`` cannot hand Python objects to another.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..compiled import CompiledModel
from ..errors import ModelError, NetworkError
from ..network import Network
from ..resolve import resolve
from ..simulate import DEFAULT_MAX_SPIKES, populations_array
from .layer_cache import LayerCache, PackedInputs
from .jacobian_batch import JacobianBatch, jacobian_bytes
from .spike_batch import SpikeBatch, pack_input_times

HEADROOM = 1.25  # next allocation = HEADROOM x the largest record seen (+ 16)
JACOBIAN_BYTES = 64 << 20  # largest first-spike Jacobian a forward keeps instead of records


@dataclass(frozen=True, eq=False)
class LayerSpec:
    """Model, topology, populations, window and recording of an exact layer.

    Attributes
    ----------
    compiled : CompiledModel
    network : Network
        Topology (and initial weights and delays).
    pop : (n_neurons,) int64
        Population of each neuron; ``n_pop`` populations.
    t_max : float
        End of the simulated window.
    max_spikes : int
        Engine limit on the spikes of one pattern.
    record : (n_record,) int64 or None
        PyTorch: neurons whose every spike is returned, up to ``max_spikes_per_neuron`` each.
    spikes_per_channel : int or None
        JAX: input times are ``(..., n_inputs, K)`` with ``K = spikes_per_channel`` (ascending, +inf
        padding) instead of ``(..., n_inputs)``.
    allow_cast : bool
        PyTorch: accept non-float64 or non-CPU tensors (computed in float64 on the CPU, cast back).
    jacobian_bytes : int
        Largest first-spike Jacobian (``JacobianBatch``) a differentiated forward keeps instead of
        causal records; 0 always keeps records (``SpikeBatch``: one adjoint sweep per pattern).
    """

    compiled: CompiledModel
    network: Network
    pop: np.ndarray
    n_pop: int
    t_max: float
    max_spikes: int = DEFAULT_MAX_SPIKES
    record: np.ndarray | None = None
    max_spikes_per_neuron: int = 4
    spikes_per_channel: int | None = None
    allow_cast: bool = False
    jacobian_bytes: int = JACOBIAN_BYTES
    capacity: list = field(default_factory=lambda: [None], repr=False)  # [(spikes, arrivals)] to allocate next
    memo: dict = field(default_factory=dict, repr=False)
    cache: dict = field(default_factory=dict, repr=False)  # 'layer': LayerCache, 'params': last table accepted
    memo_size: int = 4
    tokens: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    @classmethod
    def build(cls, network: Network, model="lif", t_max: float = 4.0, populations=None,
              max_spikes: int = DEFAULT_MAX_SPIKES, **options) -> "LayerSpec":
        """A spec from a network and a model name or user model; ``options`` are the optional fields
        (``record``, ``max_spikes_per_neuron``, ``spikes_per_channel``, ``allow_cast``,
        ``jacobian_bytes``)."""
        if not isinstance(network, Network):
            raise NetworkError(f"network must be an exactsnn.Network, got {type(network).__name__}")
        pop, n_pop = populations_array(populations, network.n_neurons)
        record = options.pop("record", None)
        if record is not None:
            rec = np.asarray(record, np.int64)
            if rec.ndim != 1 or (rec < 0).any() or (rec >= network.n_neurons).any():
                raise NetworkError(f"record = {record!r} must be neuron indices in [0, {network.n_neurons})")
            record = rec
        return cls(resolve(model), network, pop, n_pop, float(t_max), int(max_spikes), record, **options)

    def initial(self, params=None) -> dict:
        """{'weight', 'delay', 'params'} float64 numpy arrays: the network's values and the model
        parameters (``params`` by name, defaults otherwise) as an ``(n_populations, n_params)`` table."""
        return {"weight": np.array(self.network.weight, np.float64), "delay": np.array(self.network.delay, np.float64),
                "params": self.compiled.param_table(params, self.n_pop)}

    @property
    def input_rank(self) -> int:
        """Trailing dimensions of one pattern's input times: 1 ``(n_inputs,)`` or 2 ``(n_inputs, K)``."""
        return 1 if self.spikes_per_channel is None else 2

    @property
    def layer_cache(self) -> LayerCache:
        """Structure arrays and input packings of this layer, built on first use (``LayerCache``)."""
        cache = self.cache.get("layer")
        if cache is None:
            cache = self.cache["layer"] = LayerCache.of(self.network)
        return cache

    def param_table(self, params) -> np.ndarray:
        """``params`` (n_populations, n_params) checked row by row, as a contiguous float64 copy (the batch
        keeps it for the adjoint; a JAX host call's arguments are XLA's buffers, valid only during the call).
        A table equal (bit for bit) to the last one accepted is not checked again."""
        table = np.array(params, np.float64)
        key = (table.shape, table.tobytes())
        if self.cache.get("params") == key:
            return table
        names = self.compiled.param_names
        for c, row in enumerate(table):
            try:
                self.compiled.param_vector(row)
            except ModelError as exc:
                raise ModelError(f"params[{c}] ({dict(zip(names, row.tolist()))}): {exc}") from None
        self.cache["params"] = key
        return table

    def simulate(self, weight, delay, params, input_times, jacobian: bool = False, param_grads: bool = True,
                 delay_grads: bool = True) -> SpikeBatch | JacobianBatch:
        """Spikes and causal records of every pattern of ``input_times``, simulated in parallel.

        ``weight``, ``delay`` (n_synapses,), ``params`` (n_populations, n_params) and ``input_times``
        (B, n_inputs) or (B, n_inputs, K) are float64 arrays. The record arrays are allocated from
        ``capacity``, which then grows to ``HEADROOM`` times the largest record seen so far. Structure
        arrays and input packings come from ``layer_cache`` (results equal ``SpikeBatch.run``'s).

        With ``jacobian``, when no spikes are recorded (``record`` is None) and the first-spike Jacobian
        fits in ``jacobian_bytes``, returns a ``JacobianBatch`` instead (no records; its backward is a
        contraction): the choice depends only on the spec and the batch's shape. ``param_grads=False``
        leaves its model-parameter columns out, ``delay_grads=False`` its delay columns (cheaper; asking
        it for those gradients then raises).
        """
        layer = self.layer_cache
        topo = layer.topology(weight, delay)
        ptab = self.param_table(params)
        times = np.asarray(input_times)
        packed = layer.pack(times)
        if packed is None:  # padding (+inf), or a bad entry that pack_input_times names
            in_times, in_src, in_ptr, where = pack_input_times(np.asarray(times, np.float64), layer.n_inputs)
            packed = PackedInputs(in_times, in_src, in_ptr, where, False, int(np.diff(in_ptr).max()))
        if jacobian and self.record is None and jacobian_bytes(
                packed.in_ptr.size - 1, layer.outputs.size, topo.syn_w.size, packed.max_in_sp, *ptab.shape) \
                <= self.jacobian_bytes:
            return JacobianBatch.from_packed(self.compiled, layer, topo, ptab, self.pop, packed, times.shape,
                                             self.t_max, self.max_spikes, param_grads, delay_grads)
        batch = SpikeBatch.from_packed(self.compiled, layer, topo, ptab, self.pop, packed, times.shape, self.t_max,
                                       self.max_spikes, self.capacity[0])
        need, have = batch.capacity, self.capacity[0] or (0, 0)
        if need[0] > have[0] or need[1] > have[1]:
            self.capacity[0] = tuple(max(h, int(HEADROOM * n) + 16) for h, n in zip(have, need))
        return batch

    def remember(self, batches: dict) -> int:
        """Memoise a forward pass's batches (records) for a later backward; returns their token.
        At most ``memo_size`` are kept (oldest dropped): a missing one is simulated again, so the memo
        changes the cost, never the result."""
        token = next(self.tokens)  # never reused: a stale residual can only miss, never hit another batch
        self.memo[token] = batches
        while len(self.memo) > self.memo_size:
            self.memo.pop(min(self.memo))
        return token

    def recall(self, token: int) -> dict:
        """The batches memoised under ``token`` (removed from the memo), or {} when they are gone."""
        return self.memo.pop(token, {})


__all__ = ["LayerSpec", "HEADROOM", "JACOBIAN_BYTES"]
