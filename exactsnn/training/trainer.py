"""Train spiking classifiers with exact gradients (or surrogate gradients, to compare).

With ``recurrent=True`` the hidden layer also has hidden -> hidden synapses (``training.recurrent``;
the ``memory`` task, ``training.memory_task``, needs them); everything below applies unchanged.

Network: ``n_channels - hidden - n_classes``; the last input channel is a bias spike, which
feeds the output layer too (as in Göltz et al. 2021). The ``lif`` model by default. Each sample is one spike per input channel; the predicted class is the
output neuron that fires first. Loss: the TTFS cross-entropy of Göltz et al. (2021),
``L = -log softmax(-t / tau0)[label] + gamma (exp(t_label / tau1) - 1)``, averaged over the batch.

Step: minibatch exact gradients (``batch_loss_grad``: simulation + adjoint in parallel over the
batch), Adam, a per-epoch learning-rate schedule. With a validation split (Yin-Yang) and
``select_best``, the returned weights are those of the epoch with the best validation accuracy.
With ``ema > 0`` evaluation (and the returned weights) use the exponential moving average of the
weights over steps (Polyak averaging), which removes most of the step-to-step noise of the
test accuracy late in training.

Silent neurons pass no gradient (a spike that does not exist has no time to move). The remedy is
*weight bumping* (after Göltz et al. 2021): after each step, a hidden neuron that fired for no
sample of the batch, and an output neuron that stayed silent for a sample of its own class, get
``bump`` (scaled like the learning rate by its schedule) added to all their incoming weights. It
stops once the neuron fires. A sample whose label
neuron is silent passes no gradient: the loss could only push the other outputs later, towards
silence as well, which left whole batches without output spikes in our runs.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..losses import Loss, Patterns, batch_loss_grad
from . import datasets
from .optim import SCHEDULES, Adam, learning_rate
from .memory_task import memory_splits
from .progress import Progress
from .recurrent import check_init_recurrent, hidden_network, limit_recurrent
from .state import State, initial_state, params_of, populations_of

TASKS = ("xor", "iris", "yinyang", "digits", "memory")
GRADIENTS = ("exact", "surrogate")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (stored in the metrics file)."""

    task: str = "yinyang"
    hidden: int = 120
    epochs: int = 60
    batch_size: int = 50
    lr: float = 0.002
    lr_schedule: str = "cosine"
    lr_decay: float = 0.01
    lr_step: int = 20
    seed: int = 0
    model: str = "lif"
    tau_syn: float = 1.0
    tau_mem: float = 1.0
    threshold: float = 1.0
    t_max: float = 4.0
    tau0: float = 0.05
    tau1: float = 6.4
    gamma: float = 0.003
    init_hidden: tuple = (0.7, 0.5)
    init_output: tuple = (0.05, 0.1)
    clip: float = 0.0
    bump: float = 0.005
    learn_thresholds: bool = False
    learn_delays: bool = False
    output_bias: bool = True
    select_best: bool = True
    ema: float = 0.0
    gradient: str = "exact"
    surrogate_dt: float = 0.01
    surrogate_slope: float = 5.0
    train_size: int | None = None
    eval_every: int = 1
    recurrent: bool = False
    init_recurrent: tuple = (1.2, 0.1)
    max_recurrent_in: float = 1.3

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task {self.task!r} is unknown; allowed: {TASKS}")
        if self.gradient not in GRADIENTS:
            raise ValueError(f"gradient {self.gradient!r} is unknown; allowed: {GRADIENTS}")
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule {self.lr_schedule!r} is unknown; allowed: {SCHEDULES}")
        for name in ("hidden", "epochs", "batch_size", "lr_step", "eval_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} = {v!r} must be a positive integer")
        for name in ("lr", "tau_syn", "tau_mem", "threshold", "t_max", "surrogate_dt", "surrogate_slope",
                     "max_recurrent_in"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} = {v!r} must be a finite number > 0")
        if self.gradient == "surrogate" and (self.output_bias or self.learn_delays or self.learn_thresholds):
            raise ValueError("gradient = 'surrogate' trains layer weights only: set output_bias, learn_delays and "
                             "learn_thresholds to False")
        if not isinstance(self.recurrent, (bool, np.bool_)):
            raise ValueError(f"recurrent = {self.recurrent!r} must be True or False")
        check_init_recurrent(self.init_recurrent)
        if self.recurrent and self.gradient == "surrogate":
            raise ValueError("recurrent = True needs gradient = 'exact' (the surrogate trainer is feed-forward)")
        if not (isinstance(self.ema, (int, float)) and 0 <= self.ema < 1):
            raise ValueError(f"ema = {self.ema!r} must be a number in [0, 1)")
        self.loss  # validates tau0, tau1, gamma (any finite gamma)
        for name in ("lr_decay", "bump", "clip"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} = {v!r} must be a finite number >= 0")

    @property
    def params(self) -> dict:
        return {"tau_syn": self.tau_syn, "tau_mem": self.tau_mem, "threshold": self.threshold}

    @property
    def loss(self) -> Loss:
        return Loss("ttfs_cross_entropy", tau0=self.tau0, tau1=self.tau1, gamma=self.gamma)


TASK_DEFAULTS = {
    "xor": dict(hidden=20, epochs=300, batch_size=4, lr=0.01, init_hidden=(1.5, 1.0), init_output=(0.5, 0.3)),
    "iris": dict(hidden=60, epochs=300, batch_size=25, lr=0.005, init_hidden=(0.6, 0.4), init_output=(0.3, 0.2)),
    "yinyang": dict(eval_every=2, ema=0.99),
    # 65 inputs (64 pixels + bias): hidden weights scaled down so that the summed drive is like Yin-Yang's
    "digits": dict(hidden=100, epochs=30, batch_size=50, lr=0.005, init_hidden=(0.06, 0.08), ema=0.9),
    # delayed match-to-sample (training.memory_task): recurrent by default (--no-recurrent to compare)
    "memory": dict(hidden=20, epochs=40, batch_size=20, lr=0.005, t_max=12.0, recurrent=True, init_hidden=(2.0, 1.0),
                   init_output=(0.2, 0.1)),
}


def config_for(task: str, **overrides) -> TrainConfig:
    """The default configuration of ``task`` with ``overrides`` (None values are ignored)."""
    if task not in TASKS:
        raise ValueError(f"task {task!r} is unknown; allowed: {TASKS}")
    kw = dict(TASK_DEFAULTS[task])
    kw.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(task=task, **kw)


def task_data(config: TrainConfig) -> dict:
    """{'train', ['validation',] 'test'} datasets of the task.

    XOR: train and test are the same four patterns. Iris has no validation split (150 samples).
    """
    if config.task == "xor":
        d = datasets.xor()
        return {"train": d, "test": d}
    if config.task == "iris":
        return {"train": datasets.iris("train", config.seed), "test": datasets.iris("test", config.seed)}
    if config.task == "digits":
        return {s: datasets.digits(s, config.seed) for s in datasets.DIGITS_SPLITS}
    if config.task == "memory":
        return memory_splits(config)
    return {"train": datasets.yinyang("train", size=config.train_size), "validation": datasets.yinyang("validation"),
            "test": datasets.yinyang("test")}


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    predictions: np.ndarray
    t_first: np.ndarray
    silent: np.ndarray


def predict(t_first, silent) -> np.ndarray:
    """Class = first output to fire; -1 when every output is silent."""
    t = np.where(silent, np.inf, t_first)
    pred = np.argmin(t, axis=1)
    pred[silent.all(axis=1)] = -1
    return pred


class Trainer:
    """Holds the data, the state and the optimiser of one run; ``run()`` trains and returns the result."""

    def __init__(self, config: TrainConfig, progress: bool = True):
        self.config = config
        self.data = task_data(config)
        self.patterns = {k: Patterns.first_spikes(d.times) for k, d in self.data.items()}
        n_in, n_out = self.data["train"].n_channels, self.data["train"].n_classes
        self.state = initial_state(config, n_in, n_out)
        self.eval_state = self.state.copy() if config.ema > 0 else self.state
        self.n_out = n_out
        trainable = list(self.state.weights)
        if config.learn_delays:
            trainable.append(self.state.delays)
        if config.learn_thresholds:
            trainable.append(self.state.thresholds)
        self.opt = Adam(trainable)
        self.rng = np.random.default_rng(config.seed + 1_000_003)
        self.progress = progress
        self.history = []
        self.bumps = 0
        self.best_val, self.best_state = -1.0, None
        # evaluations of best_state and of the last epoch's eval_state, reused for run()'s final result
        self.best_evals, self.epoch_evals = {}, {}
        self.elapsed = 0.0  # seconds trained before (non-zero after resuming from a checkpoint)

    # --------------------------------------------------------------- one batch
    def _populations(self):
        return populations_of(self.config, self.state.thresholds)

    def _params(self):
        return params_of(self.config, self.state.thresholds)

    def batch(self, patterns, labels, want_grad=True):
        """Loss, first spikes and gradients of a batch, with the first-spike early exit: each pattern stops once
        every output has fired. Losses, first spikes and gradients are bit-identical to the full run; ``counts``
        are spikes up to each pattern's stop (weight bumping corrects them, ``_hidden_counts``). Model-parameter
        gradients are computed only when thresholds are learned (``grad.model`` is empty otherwise)."""
        return batch_loss_grad(self.config.model, self.state.network(), patterns, self.config.t_max, self.config.loss,
                               labels=labels, params=self._params(), want_grad=want_grad,
                               populations=self._populations(), first_spike_exit=True,
                               model_grad=self.config.learn_thresholds)

    def _hidden_counts(self, patterns, counts):
        """``counts`` whose hidden columns say, as the full run would, whether a hidden neuron fired at all.

        Weight bumping treats a hidden neuron that fired for no sample of the batch as dead. Counts up to
        an early stop settle that for every neuron that fired before it; the hidden neurons that did not
        (the candidates, typically a tenth of the layer) are simulated alone with the first-spike exit (a
        pattern stops once every candidate has fired) and their columns replaced. A hidden neuron receives
        only input channels and the engine finds each neuron's crossings from its own state, so its spikes
        are those of the whole network.
        """
        c = self.config
        cand = np.flatnonzero((counts[:, :c.hidden] == 0).all(axis=0)) if c.bump > 0 else ()
        if len(cand) == 0:
            return counts
        if c.recurrent:  # hidden neurons drive each other: the whole hidden layer, until every one has fired
            cand = np.arange(c.hidden)
            hidden_net = hidden_network(self.state.weights, self.state.delays)
        else:
            hidden_net = self.state.hidden_subnetwork(cand)
        theta = self.state.thresholds[cand]
        res = batch_loss_grad(c.model, hidden_net, patterns, c.t_max, Loss("first_spike_sum"),
                              params=params_of(c, theta), want_grad=False, populations=populations_of(c, theta),
                              first_spike_exit=True)
        counts = counts.copy()
        counts[:, cand] = res.counts
        return counts

    def surrogate_step(self, idx, lr):
        """One Adam step with surrogate gradients (time-stepped BPTT); returns (mean loss, n correct)."""
        from ..surrogate import surrogate_batch_loss_grad

        c = self.config
        labels = self.data["train"].labels[idx]
        res = surrogate_batch_loss_grad(self.state.weights, self.data["train"].times[idx], labels, c.params, c.t_max,
                                        c.surrogate_dt, c.surrogate_slope, c.loss)
        self.opt.step([g / idx.size for g in res.grad_weights], lr)
        self._average()
        correct = int((predict(res.t_first, res.t_first >= c.t_max) == labels).sum())
        return float(res.loss.mean()), correct

    def step(self, idx, lr):
        """One Adam step on the samples ``idx``; returns (mean loss, n correct)."""
        if self.config.gradient == "surrogate":
            return self.surrogate_step(idx, lr)
        labels = self.data["train"].labels[idx]
        patterns = self.patterns["train"].take(idx)
        res = self.batch(patterns, labels)
        counts = self._hidden_counts(patterns, res.counts)  # before the step changes the weights
        net = self.state.layout()  # synapse count, blocks and outputs only
        blocks = [res.grad.weights]
        if self.config.learn_delays:
            blocks.append(res.grad.delays)
        if self.config.learn_thresholds:
            blocks.append(res.grad.model.reshape(len(idx), -1, 3)[:, :, 2])
        per_sample = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]  # res is not read again
        # A sample whose label neuron is silent could only push the other outputs later, towards
        # silence too; it passes no gradient and bumps the label neuron instead (see _bump).
        label_silent = res.counts[np.arange(labels.size), self.config.hidden + labels] == 0
        per_sample[label_silent] = 0.0
        if self.config.clip > 0:
            norm = np.linalg.norm(per_sample, axis=1, keepdims=True)
            per_sample = per_sample * np.minimum(1.0, self.config.clip / np.maximum(norm, 1e-300))
        mean = per_sample.mean(axis=0)
        n_syn = net.n_synapses
        grads = list(net.unflatten(mean[:n_syn]).values())
        if self.config.learn_delays:
            grads.append(mean[n_syn:2 * n_syn])
        if self.config.learn_thresholds:
            grads.append(mean[-self.state.thresholds.size:])
        self.opt.step(grads, lr)
        np.maximum(self.state.delays, 0.0, out=self.state.delays)
        np.maximum(self.state.thresholds, 1e-3 * self.config.threshold, out=self.state.thresholds)
        if self.config.recurrent:
            limit_recurrent(self.state.weights[-1], self.config.max_recurrent_in)
        self._bump(counts, labels, lr / self.config.lr)
        self._average()
        silent = res.counts[:, net.outputs] == 0
        correct = int((predict(res.t_first, silent) == labels).sum())
        return float(res.loss.mean()), correct

    def _average(self):
        """Exponential moving average of the parameters (``ema`` per step); evaluation uses it."""
        d = self.config.ema
        if d <= 0:
            return
        cur, avg = self.state, self.eval_state
        for a, x in zip(avg.weights + [avg.delays, avg.thresholds], cur.weights + [cur.delays, cur.thresholds]):
            a *= d
            a += (1.0 - d) * x

    def _bump(self, counts, labels, scale=1.0):
        """Weight bumping for silent neurons (see the module docstring); ``scale`` follows the lr schedule."""
        c = self.config
        if c.bump <= 0:
            return
        bump = c.bump * scale
        w = self.state.weights
        dead = (counts[:, :c.hidden] == 0).all(axis=0)
        out_silent = counts[np.arange(labels.size), c.hidden + labels] == 0
        label_silent = np.zeros(self.n_out, bool)
        label_silent[labels[out_silent]] = True
        w[0][:, dead] += bump
        w[1][:, label_silent] += bump
        if c.output_bias:
            w[2][label_silent] += bump
        self.bumps += int(dead.sum() + label_silent.sum())

    # --------------------------------------------------------------- evaluation
    def evaluate(self, split: str) -> Evaluation:
        """Loss and accuracy of the evaluation weights (the moving average if ``ema``) on ``split``."""
        d = self.data[split]
        current, self.state = self.state, self.eval_state
        try:
            res = self.batch(self.patterns[split], d.labels, want_grad=False)
        finally:
            self.state = current
        silent = res.counts[:, self.config.hidden:] == 0
        pred = predict(res.t_first, silent)
        return Evaluation(float(res.loss.mean()), float((pred == d.labels).mean()), pred, res.t_first, silent)

    # --------------------------------------------------------------- the run
    def train_epoch(self, epoch: int, t0: float, bar) -> dict:
        """One pass over the shuffled training set, then evaluation; returns the history row."""
        c = self.config
        n = len(self.data["train"])
        lr = learning_rate(c.lr_schedule, c.lr, epoch, c.epochs, c.lr_decay, c.lr_step)
        perm = self.rng.permutation(n)
        losses, correct = [], 0
        for start in range(0, n, c.batch_size):
            loss, ok = self.step(perm[start:start + c.batch_size], lr)
            losses.append(loss)
            correct += ok
            bar.batch()
        row = {"epoch": epoch + 1, "lr": lr, "train_loss": float(np.mean(losses)), "train_accuracy": correct / n,
               "bumps": self.bumps, "wall_time_s": time.perf_counter() - t0}
        self.epoch_evals = {}
        if (epoch + 1) % c.eval_every == 0 or epoch + 1 == c.epochs:
            for split in ("validation", "test"):
                if split in self.data:
                    ev = self.epoch_evals[split] = self.evaluate(split)
                    row[f"{split}_loss"], row[f"{split}_accuracy"] = ev.loss, ev.accuracy
        return row

    def run(self, on_epoch=None) -> "TrainResult":
        """Train the remaining epochs (all, unless restored from a checkpoint); return the result.

        ``on_epoch(trainer, row)`` is called after each epoch (the run's files are written there).
        """
        c = self.config
        n_batches = -(-len(self.data["train"]) // c.batch_size)
        bar = Progress(c.epochs, n_batches, f"train {c.task}", enabled=self.progress, done=len(self.history))
        t0 = time.perf_counter() - self.elapsed
        try:
            for epoch in range(len(self.history), c.epochs):
                row = self.train_epoch(epoch, t0, bar)
                self.history.append(row)
                if c.select_best and row.get("validation_accuracy", -1.0) > self.best_val:
                    self.best_val, self.best_state = row["validation_accuracy"], self.eval_state.copy()
                    self.best_evals = self.epoch_evals
                self.elapsed = time.perf_counter() - t0
                bar.epoch(epoch + 1, loss=row["train_loss"], train=row["train_accuracy"],
                          val=row.get("validation_accuracy"), test=row.get("test_accuracy"))
                if on_epoch is not None:
                    on_epoch(self, row)
        finally:
            bar.close()
        known = self.best_evals if self.best_state is not None else self.epoch_evals  # of the returned state
        self.state = self.eval_state = self.best_state if self.best_state is not None else self.eval_state
        final = {s: known[s] if s in known else self.evaluate(s) for s in ("train", "test")}
        return TrainResult(c, self.history, self.state, final, time.perf_counter() - t0)


@dataclass
class TrainResult:
    config: TrainConfig
    history: list
    state: State
    final: dict
    wall_time_s: float
    extra: dict = field(default_factory=dict)

    @property
    def test_accuracy(self) -> float:
        return self.final["test"].accuracy

    def metrics(self) -> dict:
        """The JSON-ready metrics document."""
        evals = [r for r in self.history if "validation_accuracy" in r]
        best = max(evals, key=lambda r: r["validation_accuracy"]) if evals else None
        return {
            "format": "exactsnn-train/1",
            "config": asdict(self.config),
            "model_selection": ("weights of the epoch with the best validation accuracy"
                                if self.config.select_best and best is not None else "weights after the last epoch"),
            "final": {"train_accuracy": self.final["train"].accuracy, "test_accuracy": self.final["test"].accuracy,
                      "train_loss": self.final["train"].loss, "test_loss": self.final["test"].loss,
                      "epochs": len(self.history), "wall_time_s": self.wall_time_s,
                      "test_silent_outputs": int(self.final["test"].silent.sum())},
            "best_validation": None if best is None else {k: best[k] for k in (
                "epoch", "validation_accuracy", "test_accuracy")},
            "history": self.history,
            **self.extra,
        }


def train(config: TrainConfig | None = None, progress: bool = True, **overrides) -> TrainResult:
    """Train ``config`` (default: Yin-Yang) with ``overrides`` applied; see ``TrainConfig``."""
    config = config_for("yinyang") if config is None else config
    if overrides:
        config = replace(config, **overrides)
    return Trainer(config, progress).run()
