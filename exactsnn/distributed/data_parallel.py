"""Data-parallel training of one model on Dask: each minibatch split across workers, bit-identical weights.

``train_data_parallel(config)`` runs ``exactsnn.training.Trainer`` unchanged except for one method:
``batch`` (simulation + loss + adjoint of a minibatch, ``exactsnn.batch_loss_grad``) sends contiguous
shards of the minibatch to the workers and concatenates their per-sample results in the original order.
Everything after that (masking, the mean over samples, Adam, weight bumping, evaluation) runs in this
process on arrays identical to the single-process ones, so the weights are bit-identical to a
single-process run with the same seed: per sample, ``batch_loss_grad`` runs the same float64 code as
``simulate`` + ``loss_grad`` whatever the batch it is in, and the reduction order is that of one process.

Per step the network (weights, delays, thresholds) travels once to each shard's worker, inside the
shard's task (``Client.map``: one message to the scheduler for all shards, then one ``gather``); each
shard carries its patterns and labels. ``scatter=True`` broadcasts the network first instead
(``Client.scatter``), which costs one more round trip to the scheduler per step and pays off only when
the network is large against a round trip (``benchmarks/bench_data_parallel.py`` measures both).
"""

from __future__ import annotations

import numpy as np

from ..training import Trainer
from .cluster import dask_client


def shard_loss_grad(shared, patterns, labels):
    """``Trainer.batch`` of one shard (``batch_loss_grad`` with the first-spike exit): ``shared = (model, network,
    t_max, loss, params, want_grad, populations, model_grad)``."""
    from .. import batch_loss_grad

    model, network, t_max, loss, params, want_grad, populations, model_grad = shared
    return batch_loss_grad(model, network, patterns, t_max, loss, labels=labels, params=params, want_grad=want_grad,
                           populations=populations, first_spike_exit=True, model_grad=model_grad)


def merge(parts, max_in: int):
    """One ``BatchResult`` from shard results in order; the (unused) input block is zero-padded to ``max_in``."""
    from ..grad import Gradients
    from ..losses import BatchResult

    def pad(a):
        return np.pad(a, ((0, 0), (0, max_in - a.shape[1])))

    grad = Gradients(*(np.concatenate([getattr(p.grad, b) for p in parts]) for b in ("weights", "delays")),
                     np.concatenate([pad(p.grad.inputs) for p in parts]),
                     np.concatenate([p.grad.model for p in parts]))
    return BatchResult(np.concatenate([p.loss for p in parts]), np.concatenate([p.t_first for p in parts]),
                       np.concatenate([p.counts for p in parts]), grad)


class DaskTrainer(Trainer):
    """A ``Trainer`` whose minibatches (and evaluations) run as ``n_shards`` Dask tasks."""

    def __init__(self, config, client, n_shards: int | None = None, progress: bool = False, scatter: bool = False):
        super().__init__(config, progress)
        self.client = client
        self.n_shards = n_shards or max(1, len(client.nthreads()))
        self.scatter = scatter
        self.shard_tasks = 0  # tasks submitted (one per shard per batch)

    def batch(self, patterns, labels, want_grad=True):
        n = len(patterns)
        k = min(self.n_shards, n)
        if k < 2:
            return super().batch(patterns, labels, want_grad)
        c = self.config
        shared = (c.model, self.state.network(), c.t_max, c.loss, self._params(), want_grad, self._populations(),
                  c.learn_thresholds)
        if self.scatter:
            (shared,) = self.client.scatter([shared], broadcast=True, hash=False)
        bounds = np.linspace(0, n, k + 1).astype(np.int64)
        labels = np.asarray(labels)
        spans = list(zip(bounds[:-1], bounds[1:]))
        futures = self.client.map(shard_loss_grad, [shared] * k, [patterns.take(np.arange(a, b)) for a, b in spans],
                                  [labels[a:b] for a, b in spans], pure=False)
        self.shard_tasks += len(futures)
        return merge(self.client.gather(futures), patterns.max_in)


def train_data_parallel(config, scheduler: str | None = None, n_workers: int = 2, n_shards: int | None = None,
                        progress: bool = False):
    """Train ``config`` (``exactsnn.training.config_for``) with every minibatch split across Dask workers.

    Returns the ``TrainResult``; its weights equal those of ``exactsnn.training.train(config)`` bit for bit.
    """
    with dask_client(scheduler, n_workers) as client:
        return DaskTrainer(config, client, n_shards, progress).run()
