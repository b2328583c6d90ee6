"""Per-step cost of data-parallel minibatches on Dask against one process (Yin-Yang network).

    python benchmarks/bench_data_parallel.py --steps 100 --batch-size 50 --hidden 120

Times ``Trainer.batch`` (simulation + loss + adjoint of one minibatch) on ``--steps`` minibatches of the
Yin-Yang training set: in this process (baseline) and split into 2 shards on a 2-worker LocalCluster
(``DaskTrainer``: the network is broadcast once per step, each shard carries its patterns). Prints the
mean time per step of both, their ratio, the overhead per step, and whether the results are identical.
"""

import argparse
import time

import numpy as np
from dask.distributed import Client, LocalCluster

from exactsnn.distributed.data_parallel import DaskTrainer
from exactsnn.training import Trainer, config_for


def run(trainer, batches):
    out, t0 = [], time.perf_counter()
    for idx in batches:
        res = trainer.batch(trainer.patterns["train"].take(idx), trainer.data["train"].labels[idx])
        out.append(res.grad.weights)
    return (time.perf_counter() - t0) / len(batches), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--hidden", type=int, default=120)
    args = ap.parse_args()
    config = config_for("yinyang", hidden=args.hidden, batch_size=args.batch_size, seed=0)
    rng = np.random.default_rng(0)
    single = Trainer(config, progress=False)
    batches = [rng.choice(len(single.data["train"]), args.batch_size, replace=False) for _ in range(args.steps)]
    run(single, batches[:2])  # load the compiled engine
    t_single, g_single = run(single, batches)
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0") as c, \
            Client(c) as client:
        split = DaskTrainer(config, client, n_shards=2)
        run(split, batches[:2])  # workers load the engine
        t_split, g_split = run(split, batches)
    same = all(np.array_equal(a, b) for a, b in zip(g_single, g_split))
    print(f"Yin-Yang 5-{args.hidden}-3, minibatch {args.batch_size}, {args.steps} steps (simulate + loss + adjoint)")
    print(f"  one process       : {1e3 * t_single:8.2f} ms/step")
    print(f"  2 Dask workers    : {1e3 * t_split:8.2f} ms/step (2 shards, network broadcast each step)")
    print(f"  ratio 2 workers / one process: {t_split / t_single:.2f}; overhead {1e3 * (t_split - t_single / 2):.2f} "
          f"ms/step over an ideal halving")
    print(f"  per-sample gradients identical: {same}")


if __name__ == "__main__":
    main()
