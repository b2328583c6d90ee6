"""The exactsnn case format, version 1 (docs/case_format.md): load, validate, dump.

A case is one network, one input pattern and optionally one loss. ``load_case`` turns the
JSON into engine objects, raising ``CaseFormatError`` that names the offending key.
``result_document`` writes the ``exactsnn-result/1`` document that ``exactsnn grad`` prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CaseFormatError
from ..losses import Loss
from ..network import Network, validate_inputs, validate_t_max
from .result_layout import gradient_blocks, spike_entry, spikes_by_layer

CASE_FORMAT = "exactsnn-case/1"
RESULT_FORMAT = "exactsnn-result/1"
LIF_KEYS = {"name", "tau_syn", "tau_mem", "threshold"}
KERNEL_KEYS = {"name", "psp", "reset", "threshold", "params"}
#: Built-in models named in a case with their parameters as keys, every one optional (the model's
#: default); ``lif`` has its own branch (``"tau_mem": null`` is ``nonleaky_if``).
CASE_BUILTINS = ("nonleaky_if", "srm_alpha", "lif_dual_exp", "lif_two_synapse", "adaptive_threshold")
MODEL_NAMES = ("lif", "kernel") + CASE_BUILTINS


@dataclass(frozen=True, eq=False)
class Case:
    """A parsed case: ``model`` is a built-in name or a NeuronModel; ``params`` its values."""

    model: object
    params: dict
    network: Network
    inputs: list
    t_max: float
    loss: Loss | None
    document: dict


def load_case(source) -> Case:
    """Parse a case from a path, a JSON string or a dict (a ``Case`` is returned as is)."""
    if isinstance(source, Case):  # a .nir graph + spike file, already read by the CLI
        return source
    doc = _read(source)
    if not isinstance(doc, dict):
        raise CaseFormatError("a case must be a JSON object")
    if doc.get("format") != CASE_FORMAT:
        raise CaseFormatError(f"format = {doc.get('format')!r}; expected {CASE_FORMAT!r}")
    missing = {"model", "network", "inputs", "t_max"} - set(doc)
    if missing:
        raise CaseFormatError(f"case is missing key(s) {sorted(missing)}")
    try:
        model, params = parse_model(doc["model"])
        network = parse_network(doc["network"])
        inputs = validate_inputs(doc["inputs"], network.n_inputs)
        t_max = validate_t_max(doc["t_max"])
        loss = parse_loss(doc.get("loss"))
        if loss is not None:
            loss.check_outputs(network.outputs.size)
        _check_params(model, params)
    except CaseFormatError:
        raise
    except ValueError as exc:  # input errors (InvalidInputError) and the Loss checks
        raise CaseFormatError(str(exc)) from None
    return Case(model, params, network, [x.tolist() for x in inputs], t_max, loss, doc)


def _check_params(model, params):
    if isinstance(model, str):
        from ..compiled import load_builtin

        load_builtin(model).param_vector(params)
    else:
        model.param_values(params)


def _read(source):
    if isinstance(source, dict):
        return source
    text = source
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith(("{", "["))):
        text = read_text_file(source, CaseFormatError)
    return parse_json(text, CaseFormatError, "case")


def read_text_file(path, error) -> str:
    """A UTF-8 text file's content, or ``error`` naming the file and what is wrong with it."""
    shown = str(path) if len(str(path)) <= 200 else str(path)[:200] + "..."
    try:
        return Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise error(f"cannot read {shown}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{shown} is not UTF-8 text (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r})") from None


def parse_json(text, error, what: str):
    """``json.loads`` with every failure as ``error``: bad syntax, nesting too deep, non-text input."""
    if not isinstance(text, (str, bytes)):
        raise error(f"a {what} must be a path, a JSON string or a dict, got {type(text).__name__}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{what}: not valid JSON: {exc}") from None
    except RecursionError:
        raise error(f"{what}: JSON nested too deeply") from None
    except UnicodeDecodeError:
        raise error(f"{what}: not UTF-8 text") from None


def parse_model(spec) -> tuple:
    """(model, params): a built-in name or NeuronModel, and its parameter values."""
    if not isinstance(spec, dict) or "name" not in spec:
        raise CaseFormatError("model must be an object with a 'name'")
    name = spec["name"]
    if name == "lif":
        extra = set(spec) - LIF_KEYS
        if extra:
            raise CaseFormatError(f"model 'lif' has unknown key(s) {sorted(extra)}; allowed {sorted(LIF_KEYS)}")
        values = {k: spec[k] for k in ("tau_syn", "tau_mem", "threshold") if k in spec}
        for k, v in values.items():
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise CaseFormatError(f"model.{k} = {v!r} must be a number")
        if "tau_mem" in spec and spec["tau_mem"] is None:
            values.pop("tau_mem")
            return "nonleaky_if", values
        return "lif", values
    if name == "kernel":
        extra = set(spec) - KERNEL_KEYS
        missing = {"psp", "reset", "threshold", "params"} - set(spec)
        if extra or missing:
            raise CaseFormatError(f"model 'kernel' needs keys {sorted(KERNEL_KEYS - {'name'})}; "
                                  f"missing {sorted(missing)}, unknown {sorted(extra)}")
        from ..model import kernel_model  # symbolic: only for kernel models

        model = kernel_model(spec["psp"], spec["reset"], spec["threshold"], spec["params"])
        return model, dict(spec["params"])
    if isinstance(name, str) and name in CASE_BUILTINS:
        return name, _builtin_values(name, spec)
    raise CaseFormatError(f"model.name = {name!r} is unknown; allowed: {list(MODEL_NAMES)}")


def _builtin_values(name: str, spec: dict) -> dict:
    """The parameter keys of built-in model ``name`` (ranges are checked by the compiled model)."""
    from ..compiled import load_builtin  # parameter metadata of the shipped kernels; no SymPy

    known = load_builtin(name).param_names
    extra = set(spec) - {"name"} - set(known)
    if extra:
        raise CaseFormatError(f"model {name!r} has unknown key(s) {sorted(extra)}; its parameters (each optional, "
                              f"default if absent) are {list(known)}")
    values = {k: spec[k] for k in known if k in spec}
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise CaseFormatError(f"model.{k} = {v!r} must be a number")
    return values


def parse_network(spec) -> Network:
    if not isinstance(spec, dict):
        raise CaseFormatError("network must be an object")
    kind = spec.get("kind")
    if kind == "feedforward":
        _keys(spec, {"kind", "weights"}, {"delays"}, "network")
        return Network.feedforward(spec["weights"], spec.get("delays"))
    if kind == "recurrent":
        _keys(spec, {"kind", "input_weights", "weights", "outputs"}, {"input_delays", "delays"}, "network")
        return Network.recurrent(spec["input_weights"], spec["weights"], spec["outputs"],
                                 spec.get("input_delays"), spec.get("delays"))
    raise CaseFormatError(f"network.kind = {kind!r} is unknown; allowed: 'feedforward', 'recurrent'")


def _keys(spec, required, optional, where):
    missing = required - set(spec)
    extra = set(spec) - required - optional
    if missing or extra:
        raise CaseFormatError(f"{where}: missing key(s) {sorted(missing)}, unknown key(s) {sorted(extra)}")


def parse_loss(spec) -> Loss | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or "kind" not in spec:
        raise CaseFormatError("loss must be an object with a 'kind'")
    kind = spec["kind"]
    if kind == "first_spike_sum":
        _keys(spec, {"kind"}, set(), "loss")
        return Loss(kind)
    if kind == "ttfs_cross_entropy":
        _keys(spec, {"kind", "label"}, {"tau0", "tau1", "gamma"}, "loss")
        args = {k: spec[k] for k in ("label", "tau0", "tau1", "gamma") if k in spec}
        return Loss(kind, **args)
    raise CaseFormatError(f"loss.kind = {kind!r} is unknown; allowed: 'first_spike_sum', 'ttfs_cross_entropy'")


# ------------------------------------------------------------------ result document
def spikes_document(network: Network, result) -> list:
    return spikes_by_layer(network, [s.tolist() for s in result.spikes])


def grad_document(network: Network, grads, result, param_names) -> dict:
    blocks = {"weights": grads.weights.tolist(), "delays": grads.delays.tolist(), "inputs": grads.inputs.tolist(),
              "model": [float(v) for v in grads.model]}
    return gradient_blocks(network, result.in_src, param_names, blocks)


def jacobian_document(network: Network, result, jac, param_names) -> list:
    rows = []
    for k in range(result.n_spikes):
        entry = spike_entry(network, int(result.spike_neuron[k]), int(result.spike_index[k]),
                            float(result.spike_time[k]))
        blocks = {"weights": jac.dts_dq.weights[k].tolist(), "delays": jac.dts_dq.delays[k].tolist(),
                  "inputs": jac.dts_dq.inputs[k].tolist(), "model": [float(v) for v in jac.dts_dq.model[k]]}
        entry.update(gradient_blocks(network, result.in_src, param_names, blocks, prefix="d_"))
        rows.append(entry)
    return rows


def result_document(case: Case, result, loss_value=None, grads=None, jacobian=None) -> dict:
    """The ``exactsnn-result/1`` document (docs/case_format.md)."""
    names = result.model.param_names
    doc = {"format": RESULT_FORMAT, "params": {n: float(v) for n, v in zip(names, np.asarray(result.ptab)[0])},
           "spikes": spikes_document(case.network, result)}
    if case.loss is not None and grads is not None:
        doc["loss"] = float(loss_value)
        doc["grad"] = grad_document(case.network, grads, result, names)
    if jacobian is not None:
        doc["jacobian"] = jacobian_document(case.network, result, jacobian, names)
    return doc


def dumps(doc: dict) -> str:
    """JSON with round-trip-exact floats (repr) and no NaN/inf (they are errors here)."""
    return json.dumps(doc, allow_nan=False)
