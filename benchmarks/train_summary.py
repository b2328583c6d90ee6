"""Mean ± std of final test accuracy over training runs (metrics.json files from ``exactsnn train``).

Run:  python benchmarks/train_summary.py runs/yinyang-seed*/metrics.json
"""

import json
import sys

import numpy as np


def main(paths):
    if not paths:
        sys.exit("usage: python benchmarks/train_summary.py METRICS.json [...]")
    rows = []
    for p in paths:
        m = json.load(open(p))
        c, f = m["config"], m["final"]
        rows.append((p, c["seed"], f["test_accuracy"], f["train_accuracy"], f["epochs"], f["wall_time_s"]))
        print(f"{p}: seed {c['seed']}, {f['epochs']} epochs, test {100 * f['test_accuracy']:.2f}%, "
              f"train {100 * f['train_accuracy']:.2f}%, {f['wall_time_s']:.0f} s")
    acc = np.array([r[2] for r in rows])
    wall = np.array([r[5] for r in rows])
    print(f"test accuracy over {acc.size} runs: {100 * acc.mean():.2f} ± {100 * acc.std(ddof=1) if acc.size > 1 else 0:.2f}% "
          f"(min {100 * acc.min():.2f}%, max {100 * acc.max():.2f}%); wall time per run {wall.mean():.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
