"""The trainable parameters of a run (``State``), their initialisation, and how they are simulated.

``State.network()`` is ``inputs (+ bias channel) -> hidden -> outputs`` plus, with an output bias,
the bias channel -> every output (block ``bias_output``). With learned thresholds every neuron is
its own population with its own threshold (``populations_of``, ``params_of``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ..network import Network
from .recurrent import initial_recurrent, with_recurrent

if TYPE_CHECKING:
    from .trainer import TrainConfig


@dataclass
class State:
    """Trainable parameters: weights per layer, flat delays and per-neuron thresholds (if learned)."""

    weights: list
    delays: np.ndarray
    thresholds: np.ndarray

    def copy(self) -> "State":
        return State([w.copy() for w in self.weights], self.delays.copy(), self.thresholds.copy())

    def network(self) -> Network:
        """``inputs (+ bias channel) -> hidden -> outputs``, plus the bias channel -> every output (a 1-D block)
        and the hidden -> hidden block (a 2-D block after the first two, ``exactsnn.training.recurrent``).

        The topology is built once per set of block shapes (``_layout``); each call fills in the current
        weights (the blocks' values, flattened in block order) and delays.
        """
        return self.layout().with_weights(weight=np.concatenate([w.ravel() for w in self.weights]), delay=self.delays)

    def layout(self) -> Network:
        """The topology of ``network()`` (zero weights and delays): synapse count, blocks and outputs, no copy."""
        return _layout(tuple(w.shape for w in self.weights))

    def hidden_subnetwork(self, cand) -> Network:
        """Input channels -> the hidden neurons ``cand`` alone (their weights and delays), as
        ``Network.feedforward([w1[:, cand]])`` with those delays builds it; the topology is cached per
        number of neurons."""
        w1 = self.weights[0]
        delays = self.delays[:w1.size].reshape(w1.shape)[:, cand].ravel()
        return _layout(((w1.shape[0], len(cand)),)).with_weights(weight=w1[:, cand].ravel(), delay=delays)


@lru_cache(maxsize=256)
def _layout(shapes: tuple) -> Network:
    """The network of ``State.network`` for weight blocks of ``shapes``, with zero weights and delays."""
    net = Network.feedforward([np.zeros(s) for s in shapes[:2]])
    for shape in shapes[2:]:
        if len(shape) == 1:
            n_in, n_hidden = shapes[0]
            outputs = n_hidden + np.arange(shapes[1][1])
            net = net.with_synapses("bias_output", np.full(outputs.size, n_in - 1), outputs, np.zeros(shape))
        else:
            net = with_recurrent(net, np.zeros(shape))
    return net


def initial_state(config: TrainConfig, n_in: int, n_out: int) -> State:
    """Weights ``N(mean, std)`` per layer: ``config.init_hidden`` and ``config.init_output``.

    The defaults make most hidden neurons fire once or twice and every output fire at least once
    on typical inputs, so that every label neuron has a spike time to move from the first step.
    """
    rng = np.random.default_rng(config.seed)
    m1, s1 = config.init_hidden
    m2, s2 = config.init_output
    w1 = rng.normal(m1, s1, (n_in, config.hidden))
    w2 = rng.normal(m2, s2, (config.hidden, n_out))
    weights = [w1, w2] + ([rng.normal(m2, s2, n_out)] if config.output_bias else [])
    if config.recurrent:
        weights.append(initial_recurrent(config, rng))
    n_syn = sum(w.size for w in weights)
    return State(weights, np.zeros(n_syn), np.full(config.hidden + n_out, float(config.threshold)))


def populations_of(config: TrainConfig, thresholds) -> np.ndarray | None:
    """One population per neuron when thresholds are learned (per-neuron thresholds), else None."""
    return np.arange(np.asarray(thresholds).size) if config.learn_thresholds else None


def params_of(config: TrainConfig, thresholds) -> dict:
    """Neuron parameters: the config's scalars, or per-neuron arrays with ``thresholds`` when learned."""
    if not config.learn_thresholds:
        return config.params
    n = np.asarray(thresholds).size
    return {"tau_syn": np.full(n, config.tau_syn), "tau_mem": np.full(n, config.tau_mem), "threshold": thresholds}
