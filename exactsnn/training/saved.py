"""Trained models on disk: ``weights.npz`` + ``model.json`` (no pickle), and ``load(run_dir)``.

``weights.npz`` (read with ``np.load(..., allow_pickle=False)``) holds

- ``w1`` ``(n_channels, hidden)``, ``w2`` ``(hidden, n_classes)`` and, with ``output_bias``,
  ``w_bias_output`` ``(n_classes,)``: the bias channel (the last input) -> each output neuron;
  with ``recurrent``, ``w_hidden_hidden`` ``(hidden, hidden)`` (``exactsnn.training.recurrent``);
- ``delays`` ``(n_synapses,)`` and ``thresholds`` ``(hidden + n_classes,)``;
- the network in flat form, ``pre``, ``post``, ``weight``, ``delay``, ``outputs``
  (see ``exactsnn.network``); ``weight`` is ``w1``, ``w2``, ``w_bias_output`` (, ``w_hidden_hidden``)
  flattened row-major.

``model.json`` (format ``exactsnn-model/1``) holds the neuron model's name, the full training
config (``TrainConfig`` fields), the network's blocks, the neuron parameters and populations as
simulated, and the loss. ``load`` rebuilds the network from the matrices and checks it against the
flat arrays, so a loaded model simulates exactly what was trained.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from ..losses import Patterns, batch_loss_grad
from ..network import Network
from .trainer import Evaluation, State, TrainConfig, params_of, populations_of, predict, task_data

FORMAT = "exactsnn-model/1"
BLOCK_KEYS = ("w1", "w2", "w_bias_output", "w_hidden_hidden")


def block_keys(config: TrainConfig) -> tuple:
    """The names of ``State.weights`` in ``weights.npz``: ``w1, w2`` (+ ``w_bias_output``) (+ ``w_hidden_hidden``)."""
    return ("w1", "w2") + (("w_bias_output",) if config.output_bias else ()) + (
        ("w_hidden_hidden",) if config.recurrent else ())


def save_model(out_dir, config: TrainConfig, state: State) -> Path:
    """Write ``weights.npz`` and ``model.json`` for ``state`` trained under ``config``; returns the folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net = state.network()
    arrays = {k: w for k, w in zip(block_keys(config), state.weights)}
    arrays.update(delays=state.delays, thresholds=state.thresholds, pre=net.pre, post=net.post, weight=net.weight,
                  delay=net.delay, outputs=net.outputs)
    np.savez(out / "weights.npz", **arrays)
    pops = populations_of(config, state.thresholds)
    meta = {
        "format": FORMAT,
        "model": config.model,
        "config": asdict(config),
        "network": {"kind": net.kind, "n_inputs": net.n_inputs, "n_neurons": net.n_neurons,
                    "blocks": [[name, list(shape), start] for name, shape, start in net.blocks],
                    "block_arrays": list(arrays)[:len(state.weights)], "layer_sizes": list(net.layer_sizes)},
        "params": ("per neuron: tau_syn, tau_mem from config, threshold = thresholds" if pops is not None
                   else config.params),
        "populations": "one per neuron" if pops is not None else None,
        "loss": asdict(config.loss),
        "t_max": config.t_max,
    }
    (out / "model.json").write_text(json.dumps(meta, indent=1) + "\n")
    return out


#: TrainConfig fields added after format 1 was written, with the value that older files imply
LATER_FIELDS = {"recurrent": False, "init_recurrent": [1.2, 0.1], "max_recurrent_in": 1.3}


def config_from_dict(d: dict, source: str = "config") -> TrainConfig:
    """A ``TrainConfig`` from its JSON form (lists back to tuples); unknown or missing keys are errors."""
    names = {f.name for f in fields(TrainConfig)}
    if isinstance(d, dict):  # runs saved before these fields existed
        d = {**LATER_FIELDS, **d}
    if not isinstance(d, dict) or set(d) != names:
        got = set(d) if isinstance(d, dict) else type(d).__name__
        raise InvalidInputError(f"{source} must hold exactly the TrainConfig fields {sorted(names)}; got {got}")
    return TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass(frozen=True)
class TrainedModel:
    """A trained classifier as loaded from a run folder.

    Attributes: ``config`` (the training recipe), ``network`` (every trained block, delays),
    ``thresholds`` (per neuron), ``model`` (neuron model name), ``params`` and ``populations``
    (as passed to the simulator), ``loss``.
    """

    config: TrainConfig
    network: Network
    thresholds: np.ndarray
    model: str

    @property
    def params(self) -> dict:
        return params_of(self.config, self.thresholds)

    @property
    def populations(self):
        return populations_of(self.config, self.thresholds)

    @property
    def loss(self):
        return self.config.loss

    def run(self, times, labels):
        """Simulate input spike times ``(n_samples, n_channels)`` (bias channel last); the batch result."""
        return batch_loss_grad(self.model, self.network, Patterns.first_spikes(times), self.config.t_max, self.loss,
                               labels=np.asarray(labels), params=self.params, want_grad=False,
                               populations=self.populations)

    def predict(self, times) -> np.ndarray:
        """Predicted class per sample (first output to fire; -1 if all outputs are silent)."""
        times = np.asarray(times, np.float64)
        res = self.run(times, np.zeros(times.shape[0], np.int64))
        return predict(res.t_first, res.counts[:, self.network.outputs] == 0)

    def evaluate(self, split: str = "test") -> Evaluation:
        """Loss and accuracy on the task's ``split`` (``train``, ``validation`` if any, ``test``)."""
        data = task_data(self.config)
        if split not in data:
            raise InvalidInputError(f"split {split!r} is unknown for task {self.config.task!r}; "
                                    f"allowed: {sorted(data)}")
        d = data[split]
        res = self.run(d.times, d.labels)
        silent = res.counts[:, self.network.outputs] == 0
        pred = predict(res.t_first, silent)
        return Evaluation(float(res.loss.mean()), float((pred == d.labels).mean()), pred, res.t_first, silent)


def read_run_files(run: Path, json_name: str, npz_name: str, fmt: str, what: str) -> tuple:
    """``(metadata dict, {name: array})`` from a run folder's JSON + npz pair (no pickle), or
    ``InvalidInputError`` naming the folder, the files and the format expected."""
    try:
        meta = json.loads((run / json_name).read_text())
        with np.load(run / npz_name, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise InvalidInputError(f"run folder {str(run)!r} holds no readable {json_name} + {npz_name} {what}: "
                                f"{e}") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise InvalidInputError(f"{run / json_name}: format must be {fmt!r}")
    return meta, arrays


def load(run_dir) -> TrainedModel:
    """Load the model that ``exactsnn train`` (or ``train_to_folder``) wrote into ``run_dir``."""
    run = Path(run_dir)
    meta, arrays = read_run_files(run, "model.json", "weights.npz", FORMAT, "(a trained model)")
    config = config_from_dict(meta.get("config"), f"{run / 'model.json'} config")
    keys = block_keys(config)
    missing = [k for k in keys + ("delays", "thresholds", "pre", "post", "outputs") if k not in arrays]
    if missing:
        raise InvalidInputError(f"{run / 'weights.npz'} lacks arrays {missing}")
    state = State([np.asarray(arrays[k], np.float64) for k in keys], np.asarray(arrays["delays"], np.float64),
                  np.asarray(arrays["thresholds"], np.float64))
    net = state.network()
    for k in ("pre", "post", "outputs"):
        if not np.array_equal(getattr(net, k), arrays[k]):
            raise InvalidInputError(f"{run / 'weights.npz'}: {k} disagrees with the network built from {list(keys)}")
    if state.thresholds.size != net.n_neurons:
        raise InvalidInputError(f"{run / 'weights.npz'}: thresholds has {state.thresholds.size} entries, the network "
                                f"{net.n_neurons} neurons")
    return TrainedModel(config, net, state.thresholds, str(meta.get("model", config.model)))
