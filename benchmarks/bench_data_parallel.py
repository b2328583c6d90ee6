"""Per-step cost of data-parallel minibatches on Dask against one process (Yin-Yang network).

    python benchmarks/bench_data_parallel.py --steps 100 --batch-size 50 --hidden 120

Times ``Trainer.batch`` (simulation + loss + adjoint of one minibatch) on ``--steps`` minibatches of the
Yin-Yang training set: in this process (baseline) and split into 2 shards on a 2-worker LocalCluster
(``DaskTrainer``), with the network inside each shard's task (the default) and broadcast first with
``Client.scatter`` (``scatter=True``). The three run interleaved, step by step, so a change of the
machine's load hits all of them. Prints the median time per step, the ratio to one process, the
round-trip overhead per step over an ideal halving, the load average, and whether the results are identical.
"""

import argparse
import os
import time

import numpy as np
from dask.distributed import Client, LocalCluster

from exactsnn.distributed.data_parallel import DaskTrainer
from exactsnn.training import Trainer, config_for


def shard_size(shared, patterns, labels):
    """A shard task without the work: what is left is Dask's round trip (serialise, schedule, send, gather)."""
    return len(labels)


def round_trip(trainer, idx, scatter):
    """Time of one step's Dask traffic alone: the same payloads as ``DaskTrainer.batch``, a no-op task."""
    c, client = trainer.config, trainer.client
    patterns, labels = trainer.patterns["train"].take(idx), trainer.data["train"].labels[idx]
    t0 = time.perf_counter()
    shared = (c.model, trainer.state.network(), c.t_max, c.loss, trainer._params(), True, trainer._populations())
    if scatter:
        (shared,) = client.scatter([shared], broadcast=True, hash=False)
    half = len(idx) // 2
    spans = [(0, half), (half, len(idx))]
    futures = client.map(shard_size, [shared] * 2, [patterns.take(np.arange(a, b)) for a, b in spans],
                         [labels[a:b] for a, b in spans], pure=False)
    client.gather(futures)
    return time.perf_counter() - t0


def step(trainer, idx):
    t0 = time.perf_counter()
    res = trainer.batch(trainer.patterns["train"].take(idx), trainer.data["train"].labels[idx])
    return time.perf_counter() - t0, res.grad.weights


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
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0") as c, \
            Client(c) as client:
        methods = {"one process": single, "2 workers, network in the tasks": DaskTrainer(config, client, n_shards=2),
                   "2 workers, network scattered": DaskTrainer(config, client, n_shards=2, scatter=True)}
        for trainer in methods.values():  # load the compiled engine here and on the workers
            step(trainer, batches[0])
            step(trainer, batches[1])
        times, grads = {k: [] for k in methods}, {k: [] for k in methods}
        trips = {"network in the tasks": [], "network scattered": []}
        for idx in batches:
            for k, trainer in methods.items():
                t, g = step(trainer, idx)
                times[k].append(t)
                grads[k].append(g)
            for k in trips:
                trips[k].append(round_trip(methods["2 workers, network in the tasks"], idx, "scattered" in k))
    base = np.median(times["one process"])
    print(f"Yin-Yang 5-{args.hidden}-3, minibatch {args.batch_size}, {args.steps} steps (simulate + loss + adjoint), "
          f"load average {os.getloadavg()[0]:.2f}")
    for k, ts in times.items():
        med = np.median(ts)
        same = all(np.array_equal(a, b) for a, b in zip(grads["one process"], grads[k]))
        extra = "" if k == "one process" else f"; overhead {1e3 * (med - base / 2):6.2f} ms/step over an ideal halving"
        print(f"  {k:<32}: median {1e3 * med:7.2f} ms/step (ratio {med / base:.2f}){extra}; identical {same}")
    for k, ts in trips.items():
        print(f"  round trip alone (no-op shard tasks), {k:<21}: median {1e3 * np.median(ts):6.2f} ms/step")


if __name__ == "__main__":
    main()
