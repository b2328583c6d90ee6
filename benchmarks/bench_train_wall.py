"""Training cost per epoch (issue 14): this tree against a baseline source tree, measured in one run.

Runs ``python -m exactsnn.cli train yinyang --seed 0 --epochs E --hidden H --no-figures --quiet`` for
each ``E`` of ``--epochs`` (two values) with ``PYTHONPATH`` set to the baseline tree and to this tree,
interleaved, and measures each child's CPU time (user + sys, ``resource.getrusage(RUSAGE_CHILDREN)``)
and wall time. The CPU per epoch is the difference between the two epoch counts divided by their
difference (start-up, the compiled-cache load and the final train/test evaluation cancel); the
start-up is what is left of the shorter run. With ``--repeats R`` every run is repeated R times
(interleaved) and the least CPU time counts: other processes only ever add to it. It also checks
that both trees wrote the same ``metrics.csv`` rows (wall-time column aside) and bit-identical
``weights.npz`` arrays.

Make the baseline tree with ``git archive <commit> | tar -x -C DIR``. CPU time, not wall, is the
measure on a shared machine; run with NUMBA_NUM_THREADS=1 for per-core numbers (the training
history does not depend on the thread count).

Run:  NUMBA_NUM_THREADS=1 python benchmarks/bench_train_wall.py --baseline /tmp/base-train [--epochs 2 6]
      [--hidden 120] [--repeats 1] [--out /tmp/bench-train-wall]
"""

import argparse
import csv
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_cli(tree: Path, epochs: int, hidden: int, out: Path) -> tuple:
    """(CPU seconds, wall seconds) of one training run of ``tree``'s CLI into ``out``."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, "-m", "exactsnn.cli", "train", "yinyang", "--seed", "0", "--epochs", str(epochs),
           "--hidden", str(hidden), "--out", str(out), "--no-figures", "--quiet"]
    c0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run(cmd, env=env, cwd=tree, check=True, stdout=subprocess.DEVNULL)
    return _child_cpu() - c0, time.perf_counter() - t0


def same_run(a: Path, b: Path) -> bool:
    """metrics.csv rows equal (wall time aside) and every weights.npz array bit-identical."""
    def rows(p):
        with open(p / "metrics.csv") as f:
            return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in csv.DictReader(f)]

    with np.load(a / "weights.npz") as fa, np.load(b / "weights.npz") as fb:
        weights_equal = set(fa.files) == set(fb.files) and all(np.array_equal(fa[k], fb[k]) for k in fa.files)
    return weights_equal and rows(a) == rows(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", required=True, help="source tree of the baseline commit")
    ap.add_argument("--epochs", type=int, nargs=2, default=[2, 6])
    ap.add_argument("--hidden", type=int, default=120)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--out", default="/tmp/bench-train-wall")
    args = ap.parse_args()
    trees = {"baseline": Path(args.baseline).resolve(), "this tree": HERE}
    e1, e2 = sorted(args.epochs)
    cost = {}
    for _ in range(args.repeats):
        for epochs in (e1, e2):
            for name, tree in trees.items():
                cpu_wall = run_cli(tree, epochs, args.hidden, Path(args.out) / f"{name.split()[0]}-{epochs}")
                cost[name, epochs] = min(cost.get((name, epochs), cpu_wall), cpu_wall)
    print(f"yinyang --seed 0 --hidden {args.hidden}, NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'all')}"
          f", epochs {e1} and {e2}, least CPU of {args.repeats}")
    print("| tree | CPU s per epoch | start-up + final evaluation CPU s | CPU s for 60 epochs (estimate) | "
          f"wall s ({e2} epochs) |")
    print("| --- | --- | --- | --- | --- |")
    per = {}
    for name in trees:
        per[name] = (cost[name, e2][0] - cost[name, e1][0]) / (e2 - e1)
        fixed = cost[name, e1][0] - e1 * per[name]
        print(f"| {name} | {per[name]:.3f} | {fixed:.2f} | {fixed + 60 * per[name]:.1f} | {cost[name, e2][1]:.1f} |")
    print(f"per-epoch CPU ratio baseline / this tree: {per['baseline'] / per['this tree']:.2f}x")
    for epochs in (e1, e2):
        same = same_run(Path(args.out) / f"baseline-{epochs}", Path(args.out) / f"this-{epochs}")
        print(f"{epochs} epochs: metrics.csv rows and weights.npz {'identical' if same else 'DIFFER'}")


if __name__ == "__main__":
    main()
