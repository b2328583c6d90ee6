"""The layout of an ``exactsnn-result/1`` document, in one place: how per-neuron spikes, per-synapse
values, per-input-spike values and per-parameter values are arranged (``docs/case_format.md``).

Used to write result documents (``io.case.result_document``), the reference's answers in the same
layout (``verification.reference_document``) and the skeleton a claimed document is checked against
(``verification.claims``). The functions work on any numbers (floats, or mpmath's ``mpf``).
"""

from __future__ import annotations

import numpy as np


def spikes_by_layer(network, per_neuron: list) -> list:
    """``spikes``: one list per neuron, grouped by layer for feed-forward networks."""
    if network.kind == "recurrent":
        return list(per_neuron)
    out, start = [], 0
    for size in network.layer_sizes[1:]:
        out.append(list(per_neuron[start:start + size]))
        start += size
    return out


def synapse_blocks(network, flat, delays: bool = False) -> dict:
    """Per-synapse values in the case format's shapes: ``{"weights": [matrix per layer]}`` (feed-forward) or
    ``{"input_weights": ..., "weights": ...}`` (recurrent); ``delays`` names them ``delays``."""
    values = np.empty(len(flat), dtype=object)
    values[:] = list(flat)
    parts = network.unflatten(values)
    name = "delays" if delays else "weights"
    if network.kind == "feedforward":
        return {name: [parts[f"weights[{l}]"].tolist() for l in range(len(network.layer_sizes) - 1)]}
    return {f"input_{name}": parts["input_weights"].tolist(), name: parts["weights"].tolist()}


def per_channel(values, channels, n_inputs: int) -> list:
    """Per-input-spike values as one list per input channel; ``channels[k]`` is the channel of spike ``k``."""
    out = [[] for _ in range(n_inputs)]
    for c, v in zip(channels, values):
        out[int(c)].append(v)
    return out


def gradient_blocks(network, channels, param_names, blocks: dict, prefix: str = "") -> dict:
    """``grad`` (or, with ``prefix="d_"``, one Jacobian entry's blocks) from flat ``blocks["weights"]``,
    ``["delays"]``, ``["inputs"]``, ``["model"]``."""
    doc = {**synapse_blocks(network, blocks["weights"]), **synapse_blocks(network, blocks["delays"], delays=True)}
    doc["inputs"] = per_channel(blocks["inputs"], channels, network.n_inputs)
    doc["model"] = dict(zip(param_names, blocks["model"]))
    return {prefix + k: v for k, v in doc.items()}


def spike_entry(network, neuron: int, index: int, time) -> dict:
    """The identifying keys of a Jacobian entry: ``layer`` (feed-forward only), ``neuron``, ``index``, ``time``."""
    layer, n = network.neuron_layer(neuron)
    entry = {"neuron": n, "index": index} if layer is None else {"layer": layer, "neuron": n, "index": index}
    entry["time"] = time
    return entry
