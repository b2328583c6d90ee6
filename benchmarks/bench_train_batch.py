"""The training step's batch (issue 14): Yin-Yang recipe at initialisation, full run vs first-spike early exit.

Work: ``exactsnn train yinyang --seed 0``'s network at its initial weights (5+1 inputs, 120 hidden, 3 outputs,
tau_syn = tau_mem = 1, t_max = 4) on its first ``--samples`` training patterns, ``batch_loss_grad`` with and
without the gradient (and, where the tree has ``model_grad``, the gradient without model parameters, which is
what the trainer asks for unless it learns thresholds), with ``first_spike_exit`` off and on; process CPU time per
pattern, best of ``--repeats`` after a warm-up call (the first call loads the compiled batch function and starts numba's
thread pool). Run with NUMBA_NUM_THREADS=1.

``--balance``: also each pattern's own cost in the training step (gradient, first-spike exit: CPU of a
batch of the pattern repeated 11 times minus a batch of 1, over 10) and what that variation costs two
threads: numba splits a ``prange`` over the batch into equal contiguous halves, so a step of 50 lasts as
long as the slower half (ratio to half the total; a dynamic queue of single patterns is shown for
comparison).

Run:  NUMBA_NUM_THREADS=1 python benchmarks/bench_train_batch.py [--samples 100] [--repeats 3] [--balance]
"""

import argparse
import inspect
import time

import numpy as np

from exactsnn import Patterns, batch_loss_grad
from exactsnn.training.trainer import Trainer, config_for


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--balance", action="store_true")
    args = ap.parse_args()
    c = config_for("yinyang", seed=0)
    trainer = Trainer(c, progress=False)
    net = trainer.state.network()
    data = trainer.data["train"]
    pats = Patterns.first_spikes(data.times[:args.samples])
    labels = data.labels[:args.samples]
    lean = "model_grad" in inspect.signature(batch_loss_grad).parameters  # trees before it computed them always
    print("| gradient | first-spike exit | us per pattern (CPU) | spikes per pattern |")
    print("| --- | --- | --- | --- |")
    grads = [(False, {}), (True, {})] + ([("weights only (the trainer's step)", {"model_grad": False})] if lean else [])
    for want_grad, extra in grads:
        for early in (False, True):
            kw = dict(labels=labels, params=c.params, want_grad=bool(want_grad), first_spike_exit=early, **extra)
            res = batch_loss_grad(c.model, net, pats, c.t_max, c.loss, **kw)
            best = float("inf")
            for _ in range(args.repeats):
                t0 = time.process_time()
                batch_loss_grad(c.model, net, pats, c.t_max, c.loss, **kw)
                best = min(best, time.process_time() - t0)
            print(f"| {want_grad} | {early} | {1e6 * best / args.samples:.0f} | {res.counts.sum(axis=1).mean():.1f} |")
    if args.balance:
        balance(trainer, args.samples - args.samples % 50)


def _cpu(f, repeats=2):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        f()
        best = min(best, time.process_time() - t0)
    return best


def balance(trainer, n):
    """Per-pattern cost of the training step and the two-thread static split's cost over an ideal split."""
    pats, labels = trainer.patterns["train"], trainer.data["train"].labels
    per = np.array([(_cpu(lambda: trainer.batch(pats.take(np.full(11, i)), np.full(11, labels[i])))
                     - _cpu(lambda: trainer.batch(pats.take(np.array([i])), labels[i:i + 1]))) / 10 for i in range(n)])
    steps = per.reshape(-1, 50)
    half = steps.sum(axis=1) / 2
    static = np.maximum(steps[:, :25].sum(axis=1), steps[:, 25:].sum(axis=1))
    dynamic = []
    for row in steps:
        load = [0.0, 0.0]
        for x in row:
            load[int(np.argmin(load))] += x
        dynamic.append(max(load))
    print(f"per pattern: mean {1e6 * per.mean():.0f} us, coefficient of variation {per.std() / per.mean():.2f}; "
          f"two threads, equal halves: {(static / half).mean():.3f}x an ideal split, dynamic single patterns: "
          f"{(np.array(dynamic) / half).mean():.3f}x")


if __name__ == "__main__":
    main()
