"""What the peer adapters share: the loss at a peer's own first-spike times, and the claim's gradient block.

A peer's gradient of a first-spike loss is ``dL/dw = sum_o dL/dt_o * dt_o/dw``. The adapters evaluate
``L`` and ``dL/dt_o`` with exactsnn's loss code at the *peer's* first output spike times ``t_o`` (a silent
output counts as ``t_max`` and passes no gradient, as in ``exactsnn.losses``) and let the peer supply
``dt_o/dw`` by its own differentiation (a vector-Jacobian product with cotangent ``dL/dt_o``). So the
claimed gradient is the peer's gradient of exactsnn's loss, comparable entry by entry with the exact one.
"""

from __future__ import annotations

import numpy as np

from ...errors import NIRError
from ...losses import KINDS, Loss, loss_and_grad


def parse_loss(loss) -> Loss | None:
    """``None``, an ``exactsnn.losses.Loss`` or a case-format loss object (dict) -> ``Loss`` or ``None``."""
    if loss is None or isinstance(loss, Loss):
        return loss
    from ...io.case import parse_loss as parse

    return parse(loss)


def output_layer_check(network, loss: Loss):
    """Refuse a loss on outputs that are not exactly the last layer (what the adapters differentiate)."""
    n_last = network.layer_sizes[-1]
    last = np.arange(network.n_neurons - n_last, network.n_neurons)
    if not np.array_equal(np.asarray(network.outputs), last):
        raise NIRError("the adapters compute gradients for losses on the last layer's neurons only; "
                       "the graph's outputs are a different set")
    loss.check_outputs(n_last)


def loss_at(loss: Loss, t_first, t_max: float) -> tuple:
    """``(L, dL/dt_o)`` at the first output spike times ``t_first`` (``inf`` or ``nan`` = silent).

    Silent outputs enter ``L`` as ``t_max`` and get ``dL/dt_o = 0``.
    """
    t = np.asarray(t_first, np.float64).copy()
    silent = ~np.isfinite(t)
    t[silent] = t_max
    dl_dt = np.zeros(t.size)
    value = loss_and_grad(KINDS[loss.kind], t, silent, loss.label, float(loss.tau0), float(loss.tau1),
                          float(loss.gamma), dl_dt)
    return float(value), dl_dt


def grad_claim(weights_grads) -> dict:
    """The claim's ``grad`` block: ``{"weights": [dL/dW1, ...]}`` (one ``(n_in, n_out)`` list per layer)."""
    return {"weights": [np.asarray(g, np.float64).tolist() for g in weights_grads]}
