"""Recurrent hidden layers for the trainer (``TrainConfig.recurrent``): the hidden -> hidden block.

With ``recurrent=True`` the trained network is ``inputs (+ bias) -> hidden -> outputs`` plus every
hidden -> hidden synapse (self-connections included), the block ``hidden_hidden`` of shape
``(hidden, hidden)``, ``W_rec[i][j]`` from hidden neuron ``i`` to hidden neuron ``j``. It is appended
after the other blocks (``State.weights[-1]``), so the flat synapse order, the gradients, Adam, the
checkpoints and the saved files treat it like any other block. The network's ``kind`` is
``"recurrent"``; the engine and the adjoint handle the loops exactly (a hidden spike can cause later
spikes of the same neurons; the gradient follows every such path).

Initialisation (``init_recurrent = (self, std)``): the diagonal is ``self`` and the rest ``N(0, std)``.
A LIF neuron (``tau_syn = tau_mem = 1``) whose self-weight is about 1.2 keeps firing at a steady rate
once triggered (measured with ``simulate``: period ~0.4); below ~1.1 its firing dies out within a few
``tau_mem``, above ~1.4 the rate runs away. A self-weight near the middle gives the hidden neurons a
memory to learn from at the first step.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..network import Network

BLOCK = "hidden_hidden"


def check_init_recurrent(init) -> None:
    """``init_recurrent`` must be ``(self, std)``: two finite numbers, ``std >= 0``."""
    ok = isinstance(init, (tuple, list)) and len(init) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in init)
    if not ok or init[1] < 0:
        raise ValueError(f"init_recurrent = {init!r} must be (self-weight, std): two finite numbers, std >= 0")


def initial_recurrent(config, rng) -> np.ndarray:
    """``(hidden, hidden)`` hidden -> hidden weights: ``init_recurrent[0]`` on the diagonal, ``N(0, std)`` off it."""
    self_w, std = config.init_recurrent
    w = rng.normal(0.0, std, (config.hidden, config.hidden))
    np.fill_diagonal(w, self_w)
    limit_recurrent(w, config.max_recurrent_in)
    return w


def limit_recurrent(w_rec, max_in: float) -> None:
    """Scale down, in place, the excitatory hidden -> hidden weights of every neuron whose sum exceeds ``max_in``.

    For each neuron ``j`` with ``P_j = sum_i max(W_rec[i, j], 0) > max_in`` the positive entries of column ``j`` are
    multiplied by ``max_in / P_j`` (inhibitory weights are left alone). A LIF network has no refractory period:
    measured with ``simulate`` (``tau_syn = tau_mem = 1``, every neuron triggered at t = 0, 1 to 20 neurons, t_max
    = 14), a positive in-sum of 1.0 / 1.1 lets firing die out (7-14 spikes per neuron), 1.2 sustains it (~70),
    1.3 speeds it up (~300), and self-weights of 2 ran past 100,000 spikes before t = 11. The bound keeps
    training out of that runaway (which would exhaust the engine's spike budget).
    """
    pos = np.maximum(w_rec, 0.0)
    total = pos.sum(axis=0)
    over = total > max_in
    if over.any():
        w_rec[:, over] -= pos[:, over] * (1.0 - max_in / total[over])


def with_recurrent(net: Network, w_rec) -> Network:
    """``net`` (``inputs -> hidden -> outputs``, hidden neurons first) plus the hidden -> hidden block ``w_rec``."""
    n_hidden = w_rec.shape[0]
    ii, jj = np.meshgrid(np.arange(n_hidden), np.arange(n_hidden), indexing="ij")
    net = net.with_synapses(BLOCK, net.n_inputs + ii.ravel(), jj.ravel(), np.asarray(w_rec, np.float64).ravel())
    name, _, start = net.blocks[-1]
    return replace(net, kind="recurrent", layer_sizes=(), blocks=net.blocks[:-1] + ((name, w_rec.shape, start),))


def hidden_network(weights, delays) -> Network:
    """The hidden layer alone (its inputs, its recurrent block and their delays), outputs = every hidden neuron.

    Hidden neurons receive no synapse from the outputs, so their spikes here equal those in the whole network.
    """
    w1, w_rec = weights[0], weights[-1]
    return Network.recurrent(w1, w_rec, np.arange(w1.shape[1]), input_delays=delays[:w1.size].reshape(w1.shape),
                             delays=delays[-w_rec.size:].reshape(w_rec.shape))
