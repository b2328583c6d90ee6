"""Where a training epoch's CPU time goes (issue 14), for the ``exactsnn`` on ``PYTHONPATH``.

Trains ``yinyang --seed 0`` (``--hidden``) for ``--epochs`` epochs in process and splits each epoch's
CPU time (``time.process_time``, all threads) into: the engine calls of the training steps
(``batch_loss_grad`` with gradients and the first-spike exit), the weight-bumping re-run of silent
hidden neurons (``Trainer._hidden_counts``, engine and Python), the rest of the step in Python (network
assembly, argument checks, Adam, moving average, bumping), and the validation + test evaluation (every
``eval_every`` = 2 epochs in the recipe). It wraps the trainer's methods, so it runs unchanged on an
older tree: ``PYTHONPATH=/tmp/base-train python benchmarks/train_profile.py``.

Each phase is timed on both clocks: process CPU (all threads) and wall (``time.perf_counter``). With
NUMBA_NUM_THREADS=2 the wall row says how much of an epoch each phase takes on two threads; a phase's
thread use is its one-thread CPU (a second run with NUMBA_NUM_THREADS=1; the history does not depend on
the thread count) over twice its two-thread wall. The per-epoch checkpoint the CLI writes
(``save_checkpoint``, into a temporary folder) is timed too; the engine calls per epoch are counted.

``--halves K``: on every K-th step, also the CPU of the step's batch run as its two halves, one call each
(outside the phase totals). numba's OpenMP layer gives each of two threads one contiguous half of a
``prange``, so a two-thread step lasts as long as its slower half: the mean of max(halves) / (sum / 2)
is what the static split costs over an ideal one.

Run:  NUMBA_NUM_THREADS=1 python benchmarks/train_profile.py [--epochs 4] [--hidden 120]
"""

import argparse
import collections
import os
import tempfile
import time

import numpy as np

from exactsnn.training import trainer as T
from exactsnn.training.checkpoint import save_checkpoint
from exactsnn.training.progress import Progress

SPENT = collections.Counter()  # CPU seconds per phase
WALL = collections.Counter()  # wall seconds per phase
CALLS = collections.Counter()
WHERE = ["other"]
SILENT = []  # per step: hidden neurons that had not fired for any pattern before the early stop
HALVES = []  # per sampled step: max(CPU of the two halves) / their mean


def _engine(f):
    def call(*a, **k):
        t0, w0 = time.process_time(), time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            SPENT["engine in " + WHERE[0]] += time.process_time() - t0
            WALL["engine in " + WHERE[0]] += time.perf_counter() - w0
            CALLS[WHERE[0]] += 1
    return call


def _phase(name, f):
    def call(*a, **k):
        outer, WHERE[0] = WHERE[0], name
        t0, w0 = time.process_time(), time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            SPENT[name] += time.process_time() - t0
            WALL[name] += time.perf_counter() - w0
            WHERE[0] = outer
    return call


def _halves(tr, idx):
    labels, cpu = tr.data["train"].labels, []
    for h in (idx[:idx.size // 2], idx[idx.size // 2:]):
        pats = tr.patterns["train"].take(h)
        best = float("inf")
        for _ in range(2):
            t0 = time.process_time()
            tr.batch(pats, labels[h])
            best = min(best, time.process_time() - t0)
        cpu.append(best)
    HALVES.append(max(cpu) / (sum(cpu) / 2))


def _row(label, spent, total):
    python = spent["step"] - spent["engine in step"] - spent["_hidden_counts"]
    return (f"| {label} | {total:.3f} | {spent['engine in step']:.3f} | {spent['_hidden_counts']:.3f} | {python:.3f} | "
            f"{spent['evaluate']:.3f} | {spent['checkpoint']:.4f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=120)
    ap.add_argument("--halves", type=int, default=0, metavar="K", help="time the halves of every K-th step's batch")
    args = ap.parse_args()
    T.batch_loss_grad = _engine(T.batch_loss_grad)
    for name in ("step", "_hidden_counts", "evaluate"):
        setattr(T.Trainer, name, _phase(name, getattr(T.Trainer, name)))
    rerun = T.Trainer._hidden_counts

    def hidden_counts(self, patterns, counts):
        SILENT.append(int((counts[:, :self.config.hidden] == 0).all(axis=0).sum()))
        return rerun(self, patterns, counts)
    T.Trainer._hidden_counts = hidden_counts
    step, n_steps = T.Trainer.step, [0]

    def sampled_step(self, idx, lr):
        n_steps[0] += 1
        if args.halves and n_steps[0] % args.halves == 0:
            _phase("probe", _halves)(self, idx)  # kept out of every phase and of the totals
        return step(self, idx, lr)
    T.Trainer.step = sampled_step
    c = T.config_for("yinyang", seed=0, epochs=args.epochs, hidden=args.hidden)
    tr = T.Trainer(c, progress=False)
    tr.batch(tr.patterns["train"].take(np.arange(10)), tr.data["train"].labels[:10])  # load the compiled engine
    for d in (SPENT, WALL, CALLS):
        d.clear()
    SILENT.clear()
    bar = Progress(args.epochs, 1, "", enabled=False)
    save = _phase("checkpoint", save_checkpoint)
    t0, w0 = time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        for epoch in range(args.epochs):
            tr.history.append(tr.train_epoch(epoch, 0.0, bar))
            save(tr, out)
    total = (time.process_time() - t0 - SPENT["probe"]) / args.epochs
    wall = (time.perf_counter() - w0 - WALL["probe"]) / args.epochs
    tree = T.__file__.rsplit('/exactsnn/', 1)[0]
    print(f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'all')}, per epoch; columns: total, engine in the "
          "training steps, weight-bumping re-run, rest of the step (Python), validation + test evaluation, checkpoint")
    print(_row(f"{tree} CPU s", {k: v / args.epochs for k, v in SPENT.items()}, total))
    print(_row(f"{tree} wall s", {k: v / args.epochs for k, v in WALL.items()}, wall))
    print("engine calls per epoch:", {k: v / args.epochs for k, v in CALLS.items()})
    if HALVES:
        print(f"static two-thread split of a step's batch: slower half / mean half = {np.mean(HALVES):.3f} "
              f"(mean of {len(HALVES)} steps, range {min(HALVES):.3f}-{max(HALVES):.3f})")
    silent = np.array(SILENT)
    print(f"steps with a hidden neuron silent up to the early stop: {(silent > 0).mean():.0%}, silent neurons per "
          f"step: mean {silent.mean():.1f} of {args.hidden}")
    print("accuracies (train, test) per epoch:", [(r["train_accuracy"], r.get("test_accuracy")) for r in tr.history])


if __name__ == "__main__":
    main()
