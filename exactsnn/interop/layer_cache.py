"""What an exact layer prepares once per structure, and its per-step checks in one vectorised pass.

A training loop calls a bridge every step with new weights but the same topology, mostly the same
batch shape and often the same model parameters. ``LayerCache`` keeps what only the structure decides:

- the engine's topology arrays except the weights (target of each synapse, synapses grouped by source:
  ``out_ptr``, ``out_syn``) and the output neurons; a step's ``Topology`` is these plus its own weight
  and delay vectors (copied: the adjoint reads them after the framework may have updated its tensors);
- for dense input times without padding (every entry finite), the packing indices of each batch shape:
  source channel of every packed spike and the pattern pointers. Such an array packs channel-major as
  itself, flattened: packed spike ``j`` of pattern ``b`` is entry ``b * M + j`` (``M = n_inputs * K``).

The checks of one step are reductions over each array (NaN fails every comparison, so one ``min``/``max``
per array covers NaN, infinities, negative delays and magnitudes). Only when one fails, or for inputs
with ``+inf`` padding, does the general path run (``Network.with_weights``, ``pack_input_times``),
which names the offending entry; so errors are the same as before, and so are the results (the packed
arrays are equal element by element).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..network import MAX_ABS_WEIGHT, MAX_TIME, Network
from ..simulate import Topology

MAX_SHAPES = 8  # packings kept per layer (a training run sees one or two batch shapes)


class PackedInputs(NamedTuple):
    """Input spikes in the engine's layout (see ``spike_batch.pack_input_times``).

    in_times, in_src : (n_spikes,) float64, int64; channel-major per pattern.
    in_ptr : (B + 1,) int64; pattern b's spikes are ``in_ptr[b]:in_ptr[b + 1]``.
    where : (n_spikes,) int64; flat index of each packed spike in the dense input array.
    dense : bool; every entry was a spike, so ``where`` is ``arange`` and every pattern has ``M`` spikes.
    max_in_sp : int; most input spikes in one pattern.
    """

    in_times: np.ndarray
    in_src: np.ndarray
    in_ptr: np.ndarray
    where: np.ndarray
    dense: bool
    max_in_sp: int


@dataclass(eq=False)
class LayerCache:
    """Structure arrays of ``network`` and packing indices per batch shape (see the module docstring)."""

    network: Network
    syn_post: np.ndarray
    out_ptr: np.ndarray
    out_syn: np.ndarray
    outputs: np.ndarray
    packings: dict = field(default_factory=dict)

    @classmethod
    def of(cls, network: Network) -> "LayerCache":
        topo = Topology.of(network)
        return cls(network, topo.syn_post, topo.out_ptr, topo.out_syn, network.outputs.astype(np.int64))

    @property
    def n_inputs(self) -> int:
        return self.network.n_inputs

    @property
    def n_neurons(self) -> int:
        return self.network.n_neurons

    def topology(self, weight, delay) -> Topology:
        """The engine's topology with ``weight`` and ``delay`` (n_synapses,), checked.

        Accepted in one pass when both are float64 of the right shape, ``|w| <= MAX_ABS_WEIGHT`` and
        ``0 <= d <= MAX_TIME`` (NaN fails both); anything else goes through ``Network.with_weights``,
        which converts what it can and raises a ``NetworkError`` naming the entry otherwise.
        """
        w, d = np.asarray(weight), np.asarray(delay)
        n = self.network.n_synapses
        if not (w.dtype == np.float64 and d.dtype == np.float64 and w.shape == (n,) and d.shape == (n,)
                and np.abs(w).max(initial=0.0) <= MAX_ABS_WEIGHT
                and d.min(initial=0.0) >= 0.0 and d.max(initial=0.0) <= MAX_TIME):
            net = self.network.with_weights(weight, delay)
            w, d = net.weight, net.delay
        # copies: the adjoint reads the weights later, and a framework may update its tensors in place
        return Topology(self.syn_post, np.array(w, np.float64), np.array(d, np.float64), self.out_ptr, self.out_syn)

    def pack(self, times) -> PackedInputs | None:
        """``times`` (B, n_inputs) or (B, n_inputs, K) packed with cached indices, or None when the fast
        path does not apply (wrong dtype or shape, NaN, negative, infinite or unsorted entries): then
        the caller packs with ``pack_input_times``, which names the bad entry or handles the padding."""
        t = np.asarray(times)
        if t.dtype != np.float64 or t.ndim not in (2, 3) or t.shape[0] < 1 or t.shape[1] != self.n_inputs \
                or t.size == 0:
            return None
        if not (t.min() >= 0.0 and t.max() < np.inf):
            return None
        if t.ndim == 3 and t.shape[2] > 1 and not (t[:, :, 1:] >= t[:, :, :-1]).all():
            return None
        index = self.packings.get(t.shape)
        if index is None:
            if len(self.packings) >= MAX_SHAPES:
                self.packings.clear()
            index = self.packings[t.shape] = self._index(t.shape)
        per = t.size // t.shape[0]
        return PackedInputs(np.ascontiguousarray(t).reshape(-1), index[0], index[1], index[2], True, per)

    def _index(self, shape: tuple) -> tuple:
        """(in_src, in_ptr, where) of a dense batch of ``shape``: channel c of spike j is ``j // K``."""
        k = shape[2] if len(shape) == 3 else 1
        per = self.n_inputs * k
        in_src = np.tile(np.repeat(np.arange(self.n_inputs, dtype=np.int64), k), shape[0])
        in_ptr = np.arange(shape[0] + 1, dtype=np.int64) * per
        return in_src, in_ptr, np.arange(shape[0] * per, dtype=np.int64)


__all__ = ["LayerCache", "PackedInputs", "MAX_SHAPES"]
