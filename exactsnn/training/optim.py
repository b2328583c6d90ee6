"""Adam and learning-rate schedules for training on exact gradients.

Adam (Kingma & Ba 2015), per parameter array ``p`` with gradient ``g`` at step ``k``::

    m <- b1 m + (1 - b1) g,    v <- b2 v + (1 - b2) g^2
    p <- p - lr_k * (m / (1 - b1^k)) / (sqrt(v / (1 - b2^k)) + eps)

Schedules give ``lr_k`` per epoch ``e`` (0-based) of ``n`` epochs:

- ``constant``: ``lr``;
- ``step``: ``lr * decay ** (e // step)``;
- ``cosine``: ``lr_min + (lr - lr_min) (1 + cos(pi e / n)) / 2`` with ``lr_min = lr * decay``.
"""

from __future__ import annotations

import math

import numpy as np

SCHEDULES = ("constant", "step", "cosine")


class Adam:
    """Adam over a list of float64 arrays, updated in place."""

    def __init__(self, params, b1=0.9, b2=0.999, eps=1e-8):
        self.params = params
        self.b1, self.b2, self.eps = b1, b2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.k = 0

    def step(self, grads, lr: float):
        """One update with gradients ``grads`` (same shapes as the parameters)."""
        self.k += 1
        c1 = 1.0 - self.b1 ** self.k
        c2 = 1.0 - self.b2 ** self.k
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.b1
            m += (1.0 - self.b1) * g
            v *= self.b2
            v += (1.0 - self.b2) * g * g
            p -= lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


def learning_rate(schedule: str, lr: float, epoch: int, n_epochs: int, decay: float, step: int) -> float:
    """The learning rate of ``epoch`` (0-based) under ``schedule`` (see the module docstring)."""
    if schedule == "constant":
        return lr
    if schedule == "step":
        return lr * decay ** (epoch // max(step, 1))
    if schedule == "cosine":
        lr_min = lr * decay
        return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * epoch / max(n_epochs, 1)))
    raise ValueError(f"lr schedule {schedule!r} is unknown; allowed: {SCHEDULES}")
