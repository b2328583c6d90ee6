"""Claimed result documents (``exactsnn-result/1``): reading, layout, and checks of format and shapes.

:func:`check_claimed` runs before any reference work (``exactsnn validate`` refuses a malformed file
in a second, not after the reference): the format tag, the layers and neurons of ``spikes``, every
spike time a number, the keys and shapes of ``grad`` and of each ``jacobian`` entry. A block of the
wrong shape is named with both shapes (a transposed ``weights[0]`` says ``120x5`` against ``5x120``).
The numbers of ``grad`` and ``jacobian`` are parsed later, when they are compared (:mod:`.compare`).
"""

from __future__ import annotations

import json
from pathlib import Path

from mpmath import mp

from ..errors import CaseFormatError
from ..io.result_layout import gradient_blocks
from ._verify import spike_label

RESULT_FORMAT = "exactsnn-result/1"
REFERENCE_FORMAT = "exactsnn-reference/1"
_JAC_BLOCKS = ("d_weights", "d_delays", "d_input_weights", "d_input_delays", "d_inputs", "d_model")


# ----------------------------------------------------------------------------- layout of the blocks
def _layout_blocks(net, input_index, param_names, blocks: dict, prefix: str) -> dict:
    """The blocks in the result layout (``io.result_layout``); ``input_index`` are (channel, index) pairs."""
    return gradient_blocks(net, [c for c, _ in input_index], param_names, blocks, prefix)


# ----------------------------------------------------------------------------- claimed documents
def load_claimed(source) -> dict:
    """A claimed result document from a path, a JSON string or a dict; checks its format tag."""
    doc = source
    if not isinstance(source, dict):
        text = source
        if isinstance(source, Path) or not str(source).lstrip().startswith("{"):
            try:
                text = Path(source).read_text()
            except OSError as exc:
                raise CaseFormatError(f"cannot read claimed results {source}: {exc.strerror}") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CaseFormatError(f"claimed results are not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") not in (RESULT_FORMAT, REFERENCE_FORMAT):
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise CaseFormatError(f"claimed results: format = {got!r}; expected {RESULT_FORMAT!r}")
    return doc


def _number(x, where):
    if isinstance(x, bool) or not isinstance(x, (int, float, str)):
        raise CaseFormatError(f"claimed {where} = {x!r} is not a number")
    try:
        return mp.mpf(x)
    except (ValueError, TypeError):
        raise CaseFormatError(f"claimed {where} = {x!r} is not a number") from None


def _leaves(x, path=""):
    """``(path, value)`` of every leaf of nested lists/dicts, in order."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _leaves(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, x


def _matched_leaves(expected, claimed, where) -> list:
    """``[(path, exact, claimed mpf)]``; raises when the claimed block's shape differs."""
    exp, got = dict(_leaves(expected)), dict(_leaves(claimed))
    if isinstance(expected, dict) and isinstance(claimed, dict):
        unknown = sorted(set(claimed) - set(expected))
        if unknown:
            raise CaseFormatError(f"claimed {where} has unknown name(s) {unknown}; the model has {sorted(expected)}")
    elif exp.keys() != got.keys():
        extra, lack = sorted(set(got) - set(exp)), sorted(set(exp) - set(got))
        detail = f"has no entry {where}{extra[0]} in the case" if extra else f"lacks entry {where}{lack[0]}"
        raise CaseFormatError(f"claimed {where} does not have the case's shape: it is {shape_text(claimed)}, "
                              f"the case needs {shape_text(expected)} (it {detail})")
    return [(p, exp[p], _number(v, where + p)) for p, v in got.items()]


def shape_text(x) -> str:
    """``"5x120"`` for a rectangular nested list of numbers, ``"[5x3, 3x2]"`` for a list of such
    blocks, ``"3"`` for a flat list, ``"a number"`` or the type name for a leaf."""
    if not isinstance(x, list):
        return "a number" if isinstance(x, (int, float, str)) and not isinstance(x, bool) else type(x).__name__
    inner = [shape_text(v) for v in x]
    if not inner or all(v == "a number" for v in inner):
        return str(len(x))
    if len(set(inner)) == 1 and all(isinstance(v, list) for v in x) and "[" not in inner[0]:
        return f"{len(x)}x{inner[0]}"
    return "[" + ", ".join(inner) + "]"


def check_claimed(case, doc) -> None:
    """Format, keys and shapes of a claimed document against the case, before any reference work.

    Raises ``CaseFormatError`` naming the key and, for a block of the wrong shape, both shapes (a
    transposed ``weights[0]`` says ``120x5`` against ``5x120``). Numbers are checked later, one by one.
    """
    from ._truth import symbolic_model

    net = case.network
    names = symbolic_model(case.model).param_names
    index = [(c, f) for c, ts in enumerate(case.inputs) for f in range(len(ts))]
    zeros = {"weights": [0] * net.n_synapses, "delays": [0] * net.n_synapses, "inputs": [0] * len(index),
             "model": [0] * len(names)}
    if "spikes" not in doc:
        raise CaseFormatError("claimed results have no 'spikes'")
    _spike_layout(doc["spikes"], net)
    if case.loss is None and ("loss" in doc or "grad" in doc):
        raise CaseFormatError("claimed results have 'loss'/'grad' but the case defines no loss")
    if "loss" in doc:
        _number(doc["loss"], "loss")
    grad, skel = doc.get("grad", {}), _layout_blocks(net, index, names, zeros, "")
    if not isinstance(grad, dict):
        raise CaseFormatError("claimed grad must be an object of gradient blocks")
    for key, block in grad.items():
        if key not in skel:
            raise CaseFormatError(f"claimed grad.{key} is unknown; a {net.kind} network has {sorted(skel)}")
        _check_shape(skel[key], block, f"grad.{key}")
    if "jacobian" in doc:
        _check_jacobian_shapes(doc["jacobian"], net, _layout_blocks(net, index, names, zeros, "d_"))


def _check_shape(expected, claimed, where):
    if isinstance(expected, dict):
        if not isinstance(claimed, dict):
            raise CaseFormatError(f"claimed {where} must be an object with keys {sorted(expected)}")
        unknown = sorted(set(claimed) - set(expected))
        if unknown:
            raise CaseFormatError(f"claimed {where} has unknown name(s) {unknown}; the model has {sorted(expected)}")
        return
    if shape_text(expected) != shape_text(claimed):
        raise CaseFormatError(f"claimed {where} does not have the case's shape: it is {shape_text(claimed)}, "
                              f"the case needs {shape_text(expected)}")


def _check_jacobian_shapes(claimed, network, skel):
    key_names = ("layer", "neuron", "index") if network.kind == "feedforward" else ("neuron", "index")
    if not isinstance(claimed, list):
        raise CaseFormatError("claimed jacobian must be a list of per-spike entries")
    for n, entry in enumerate(claimed):
        if not isinstance(entry, dict) or any(not isinstance(entry.get(k), int) for k in key_names):
            raise CaseFormatError(f"claimed jacobian[{n}] must be an object with integer {list(key_names)}")
        if "time" in entry:
            _number(entry["time"], f"jacobian[{n}].time")
        unknown = sorted(set(entry) - set(key_names) - {"time"} - set(_JAC_BLOCKS))
        if unknown:  # a misspelt block would otherwise be skipped without a word
            raise CaseFormatError(f"claimed jacobian[{n}] has unknown key(s) {unknown}; an entry holds "
                                  f"{list(key_names) + ['time']} and blocks {sorted(_JAC_BLOCKS)}")
        for b in _JAC_BLOCKS:
            if b in entry:
                if b not in skel:
                    raise CaseFormatError(f"claimed jacobian[{n}] has block {b!r}, which a {network.kind} network "
                                          "lacks")
                _check_shape(skel[b], entry[b], f"jacobian[{n}].{b}")


def _spike_layout(claimed, network):
    """The structure of claimed ``spikes`` (layers, neurons, lists); returns them flat per neuron."""
    if network.kind == "feedforward":
        sizes = list(network.layer_sizes[1:])
        if not (isinstance(claimed, list) and [len(x) if isinstance(x, list) else -1 for x in claimed] == sizes):
            raise CaseFormatError(f"claimed spikes must hold one list per layer of neurons with {sizes} neurons")
        claimed = [n for layer in claimed for n in layer]
    elif not (isinstance(claimed, list) and len(claimed) == network.n_neurons):
        raise CaseFormatError(f"claimed spikes must hold one list per neuron ({network.n_neurons} neurons)")
    for j, got in enumerate(claimed):
        if not isinstance(got, list):
            raise CaseFormatError(f"claimed spikes of neuron {j} must be a list, got {got!r}")
        for i, g in enumerate(got):
            _number(g, f"spikes[{spike_label(network, j, i)}]")
    return claimed
