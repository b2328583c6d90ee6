"""batch_loss_grad on 1 thread against 2 threads (issue 14, item 7), on bench_engine.py's network and inputs.

Each thread count runs in its own subprocess (numba fixes its thread pool at start); in each, after one
warm-up call, the best of --repeats calls of ``batch_loss_grad`` on --samples patterns, wall clock, given as
lists and as a ``Patterns`` packed once. Full simulation to t_max = 2, tau_syn = 1/0.999 and 1, TTFS
cross-entropy, gradient. bench_engine.py's ``--threads 1,2`` times the same call between its other
measurements (the per-sample API loop before it); this script times the batch alone.

``--alternate R``: one process instead, the thread counts alternating (``numba.set_num_threads``) over R rounds of
--repeats calls each on ``Patterns`` packed once, so both counts see the same machine state (this shared VM's speed
drifts between processes); prints each count's min and median per pattern and the speed-ups (ratio of the medians
and of the minima).

Run:  python benchmarks/bench_threads.py [--samples 100 400] [--repeats 5]
      python benchmarks/bench_threads.py --alternate 5 --repeats 3 --samples 100
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import T_MAX, TAUS, network_weights, patterns  # noqa: E402


def worker(samples, repeats):
    from exactsnn import Loss, Network, Patterns, batch_loss_grad

    net = Network.feedforward(list(network_weights()))
    pats = patterns(samples)
    labels = np.random.default_rng(2).integers(0, 3, samples)
    loss = Loss("ttfs_cross_entropy")
    packed = Patterns.pack(pats, net.n_inputs)
    out = {}
    for name, tau_syn in TAUS.items():
        params = {"tau_syn": tau_syn, "tau_mem": 1.0, "threshold": 1.0}
        for form, arg in (("lists", pats), ("packed", packed)):
            batch_loss_grad("lif", net, arg, T_MAX, loss, labels=labels, params=params)
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                batch_loss_grad("lif", net, arg, T_MAX, loss, labels=labels, params=params)
                best = min(best, time.perf_counter() - t0)
            out[f"{name} {form}"] = 1e6 * best / samples
    print(json.dumps(out))


def alternate(samples, rounds, repeats):
    """Both thread counts in this process, alternating round by round (module docstring)."""
    import numba

    from exactsnn import Loss, Network, Patterns, batch_loss_grad

    if numba.config.NUMBA_NUM_THREADS < 2:
        raise SystemExit("--alternate needs 2 threads: unset NUMBA_NUM_THREADS or set it to 2 or more")
    net = Network.feedforward(list(network_weights()))
    packed = Patterns.pack(patterns(samples), net.n_inputs)
    labels = np.random.default_rng(2).integers(0, 3, samples)
    for name, tau_syn in TAUS.items():
        params = {"tau_syn": tau_syn, "tau_mem": 1.0, "threshold": 1.0}

        def batch():
            batch_loss_grad("lif", net, packed, T_MAX, Loss("ttfs_cross_entropy"), labels=labels, params=params)

        batch()  # load the compiled engine, start the thread pool
        per = {1: [], 2: []}
        for _ in range(rounds):
            for threads in per:
                numba.set_num_threads(threads)
                t0 = time.perf_counter()
                for _ in range(repeats):
                    batch()
                per[threads].append(1e6 * (time.perf_counter() - t0) / (repeats * samples))
        med = {k: float(np.median(v)) for k, v in per.items()}
        low = {k: min(v) for k, v in per.items()}
        print(f"{name}: 1 thread {low[1]:.0f} / {med[1]:.0f} us per pattern (min / median of {rounds}), 2 threads "
              f"{low[2]:.0f} / {med[2]:.0f}: {med[1] / med[2]:.2f}x (medians), {low[1] / low[2]:.2f}x (minima); "
              f"threading layer {numba.threading_layer()}")
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, nargs="+", default=[100, 400])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--alternate", type=int, default=0, metavar="ROUNDS")
    ap.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.alternate:
        for n in args.samples:
            alternate(n, args.alternate, args.repeats)
        return
    if args.worker:
        worker(args.worker, args.repeats)
        return
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("| patterns | work | 1 thread us/pattern | 2 threads us/pattern | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for n in args.samples:
        res = {}
        for threads in (1, 2):
            env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(n), "--repeats", str(args.repeats)]
            run = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            res[threads] = json.loads(run.stdout.strip().splitlines()[-1])
        for key in res[1]:
            print(f"| {n} | {key} | {res[1][key]:.0f} | {res[2][key]:.0f} | {res[1][key] / res[2][key]:.2f}x |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
