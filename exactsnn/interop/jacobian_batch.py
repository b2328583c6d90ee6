"""A batch forward that keeps first-spike Jacobians instead of causal records (the bridges' fast path).

When a framework only differentiates first output spike times, the forward pass can finish the
gradient work while each pattern's record is still in cache: the engine's ``batch_simulate_jacobian``
simulates every pattern in parallel and runs its adjoint sweeps at once, one per output neuron o seeded
with dL/dt = 1 at o's first spike, keeping

    J[b, o, q] = d t_first(b, o) / d q      (B, n_out, n_q), zero rows for silent outputs.

The backward pass is one contraction with the framework's incoming gradient, no second pass over records:

    dL/dq = sum_{b, o} dL/dt_first(b, o) J[b, o, q]        (summed over the batch),
    dL/dq_b = sum_o dL/dt_first(b, o) J[b, o, q]           (per pattern; input spike times always).

Exactness: row J[b, o] equals ``adjoint_core`` seeded with 1 at o's first spike bit for bit (same
operations, same order); the contraction equals one sweep seeded with every dL/dt_first
(``SpikeBatch.grads``) to rounding (a sum of the same products in another order, ~1e-16 relative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..compiled import CompiledModel
from ..errors import SimulationError
from ..numeric.status import message as status_message
from ..simulate import Topology
from .layer_cache import LayerCache, PackedInputs
from .spike_batch import GRAD_KEYS, BatchSpikes, input_grads

GAP = 64  # columns: closer blocks are contracted in one product


def jacobian_bytes(n_patterns: int, n_out: int, n_syn: int, max_in_sp: int, n_pop: int, n_params: int) -> int:
    """Bytes of the (B, n_out, 2 n_syn + max_in_sp + n_pop n_params) float64 Jacobian of a batch with its
    delay columns (an upper bound: a batch without them is n_syn columns narrower)."""
    return 8 * n_patterns * n_out * (2 * n_syn + max_in_sp + n_pop * n_params)


def column_blocks(slices, gap: int | None = None) -> list:
    """Merge column ``slices`` into (lo, hi) blocks: neighbours closer than ``gap`` columns share one block.

    The contraction reads only these columns of the Jacobian (a weights-and-parameters gradient skips the
    delay half, the largest part of its memory traffic); a small gap is read rather than split into two
    products. ``gap`` defaults to ``GAP``."""
    gap = GAP if gap is None else gap
    blocks = []
    for s in sorted(slices, key=lambda s: s.start):
        if blocks and s.start - blocks[-1][1] < gap:
            blocks[-1][1] = max(blocks[-1][1], s.stop)
        else:
            blocks.append([s.start, s.stop])
    return [tuple(b) for b in blocks]


@dataclass(eq=False)
class JacobianBatch(BatchSpikes):
    """First spikes and their Jacobians of a batch; ``grads`` contracts them with dL/dt_first.

    Attributes: ``BatchSpikes``' (``t_first``, ``first``, ``counts``, ``sizes``, ...), no records, and
    ``jac`` (B, n_out, n_q): weights | delays | ``max_in_sp`` input-time slots | n_pop n_params model
    parameters; ``with_params``: whether its model-parameter columns were computed (a forward that needs
    no parameter gradient skips the kernels' parameter derivatives); ``with_delays``: whether it has the
    delay columns at all (a forward that needs no delay gradient leaves them out: a smaller Jacobian to
    zero, write and read).
    """

    jac: np.ndarray
    with_params: bool = True
    with_delays: bool = True

    @classmethod
    def from_packed(cls, compiled: CompiledModel, layer: LayerCache, topo: Topology, ptab, pop, packed: PackedInputs,
                    input_shape: tuple, t_max: float, max_spikes: int, with_params: bool = True,
                    with_delays: bool = True) -> "JacobianBatch":
        """Simulate packed, already checked inputs on ``topo`` in parallel, with first-spike Jacobians
        (the model-parameter columns only ``with_params``, the delay columns only ``with_delays``)."""
        out = compiled.call("batch_simulate_jacobian", ptab, pop, packed.in_times, packed.in_src, packed.in_ptr,
                            layer.n_inputs, layer.n_neurons, topo.syn_post, topo.syn_w, topo.syn_d, topo.out_ptr,
                            topo.out_syn, float(t_max), int(max_spikes), layer.outputs, int(packed.max_in_sp),
                            bool(with_params), bool(with_delays))
        status = out[0]
        if status.any():
            bad = int(np.flatnonzero(status)[0])
            raise SimulationError(status_message(int(status[bad]), max_spikes=max_spikes, pattern=bad))
        return cls(topo, ptab, float(t_max), input_shape, packed.in_ptr, packed.where, packed.dense, packed.max_in_sp,
                   *out[1:], bool(with_params), bool(with_delays))

    def grads(self, dl_dfirst=None, spike_grads=(), keys=GRAD_KEYS, per_pattern=False) -> dict:
        """``SpikeBatch.grads`` by contraction: gradients ``keys`` from dL/dt_first (B, n_out).

        Silent outputs pass nothing (their rows are zero and their dL/dt_first is ignored, even if not
        finite). ``spike_grads`` must be empty: this batch keeps no record of later spikes.
        """
        if spike_grads:
            raise ValueError("a JacobianBatch holds first-spike Jacobians only; spike_grads need a SpikeBatch")
        if "params" in keys and not self.with_params:
            raise ValueError("this JacobianBatch was computed without model-parameter columns (with_params=False)")
        if "delay" in keys and not self.with_delays:
            raise ValueError("this JacobianBatch was computed without delay columns (with_delays=False)")
        n_b, n_out, n_q = self.jac.shape
        n_syn = self.topology.syn_w.size
        m, i0 = self.max_in_sp, (2 if self.with_delays else 1) * n_syn  # i0: the first input-time column
        g = np.zeros((n_b, n_out)) if dl_dfirst is None else np.where(self.silent, 0.0, dl_dfirst)
        cols = {"weight": slice(0, n_syn), "delay": slice(n_syn, 2 * n_syn), "params": slice(i0 + m, n_q)}
        out = {}
        summed = [k for k in keys if k != "input_times" and not per_pattern]
        flat = self.jac.reshape(n_b * n_out, n_q)
        for lo, hi in column_blocks([cols[k] for k in summed]):  # matrix-vector products over (pattern, output)
            total = g.reshape(-1) @ flat[:, lo:hi]
            out.update({k: total[cols[k].start - lo:cols[k].stop - lo] for k in summed
                        if lo <= cols[k].start and cols[k].stop <= hi})
        for k in keys:
            if k == "input_times":
                block = np.einsum("bo,boi->bi", g, self.jac[:, :, i0:i0 + m])
                out[k] = input_grads(block, self.dense, self.input_shape, self.in_ptr, self.where)
            elif per_pattern:
                out[k] = np.einsum("bo,boq->bq", g, self.jac[:, :, cols[k]])
        if "params" in out:
            out["params"] = out["params"].reshape(out["params"].shape[:-1] + self.ptab.shape)
        return {k: out[k] for k in keys}


__all__ = ["JacobianBatch", "jacobian_bytes", "column_blocks"]
