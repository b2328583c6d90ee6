"""Engine speed on a heavily spiking 5-120-3 Yin-Yang LIF net (issue 14's table), before vs after.

Work (issue 14): full simulation to t_max = 2 of a 5-120-3 feed-forward LIF net, threshold 1,
tau_mem = 1, tau_syn = 1/0.999 (the paper's setting, near the singular set) and tau_syn = 1; one thread.
Weights: hidden N(1.6, 0.8), output N(2.2, 0.4), seed 0: about 1,200 spikes per sample, most of them
the 3 output neurons firing a few hundred times each over a few hundred arrivals (the case that made
the old history polish quadratic). Inputs: 5 channels, one spike each, uniform in [0.15, 2] (seed 1).

Measured per sample (best of --repeats over --samples patterns, every side in its own subprocess with
NUMBA_NUM_THREADS=1, one side after the other):
- per-sample API: ``simulate`` + ``loss_grad`` (TTFS cross-entropy, adjoint);
- batch: ``batch_loss_grad`` on one thread;
- ns per synaptic event: batch time / arrivals processed (5 x 120 input arrivals + 3 per hidden spike
  + ... every arrival counted by the engine's causal record).

``--baseline TREE`` runs the same work on another source tree (the engine before this branch), e.g.
``git archive main | tar -x -C /tmp/engine_main`` and ``--baseline /tmp/engine_main``.

Run:  python benchmarks/bench_engine.py [--samples 100] [--repeats 3] [--baseline /tmp/engine_main]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

T_MAX = 2.0
TAUS = {"tau_syn=1/0.999": 1 / 0.999, "tau_syn=1": 1.0}


def network_weights(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(1.6, 0.8, (5, 120)), rng.normal(2.2, 0.4, (120, 3))


def patterns(n, seed=1):
    rng = np.random.default_rng(seed)
    return [[[t] for t in rng.uniform(0.15, 2.0, 5)] for _ in range(n)]


def worker(samples, repeats):
    """Time the work in this process (whatever ``exactsnn`` is on the path); print JSON."""
    from exactsnn import Loss, Network, batch_loss_grad, loss_grad, simulate

    net = Network.feedforward(list(network_weights()))
    pats = patterns(samples)
    labels = np.random.default_rng(2).integers(0, 3, samples)
    out = {}
    for name, tau_syn in TAUS.items():
        params = {"tau_syn": tau_syn, "tau_mem": 1.0, "threshold": 1.0}
        loss = Loss("ttfs_cross_entropy")
        arrivals = spikes = 0
        for p in pats[:2]:  # compile
            r = simulate("lif", net, p, T_MAX, params=params)
            loss_grad(r, Loss("ttfs_cross_entropy", label=0), policy="flag")
        batch_loss_grad("lif", net, pats[:2], T_MAX, loss, labels=labels[:2], params=params)
        api, batch = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for p, lab in zip(pats, labels):
                r = simulate("lif", net, p, T_MAX, params=params)
                loss_grad(r, Loss("ttfs_cross_entropy", label=int(lab)), policy="flag")
            api.append((time.perf_counter() - t0) / samples)
            t0 = time.perf_counter()
            batch_loss_grad("lif", net, pats, T_MAX, loss, labels=labels, params=params)
            batch.append((time.perf_counter() - t0) / samples)
        for p in pats:
            r = simulate("lif", net, p, T_MAX, params=params)
            spikes += r.n_spikes
            arrivals += int(r.record[2])
        out[name] = {"api_us": 1e6 * min(api), "batch_us": 1e6 * min(batch), "spikes": spikes / samples,
                     "arrivals": arrivals / samples}
    print(json.dumps(out))


def run_side(tree, samples, repeats):
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_NUM_THREADS="1")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--samples", str(samples),
           "--repeats", str(repeats)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=str(tree))
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", type=Path, default=None, help="source tree of the engine to compare with")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.samples, args.repeats)
        return
    here = Path(__file__).resolve().parent.parent
    sides = {"this tree": here}
    if args.baseline is not None:
        sides = {"baseline": args.baseline.resolve(), **sides}
    results = {name: run_side(tree, args.samples, args.repeats) for name, tree in sides.items()}
    print(f"5-120-3 lif, t_max = {T_MAX}, {args.samples} samples, best of {args.repeats}, one thread")
    print("| work | side | spikes/sample | arrivals/sample | per-sample API us | batch us | batch ns/event |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for work in TAUS:
        for name, res in results.items():
            r = res[work]
            print(f"| {work} | {name} | {r['spikes']:.0f} | {r['arrivals']:.0f} | {r['api_us']:.0f} | "
                  f"{r['batch_us']:.0f} | {1e3 * r['batch_us'] / r['arrivals']:.0f} |")
    if args.baseline is not None:
        for work in TAUS:
            b, a = results["baseline"][work], results["this tree"][work]
            print(f"{work}: speed-up per-sample API {b['api_us'] / a['api_us']:.1f}x, "
                  f"batch {b['batch_us'] / a['batch_us']:.1f}x")


if __name__ == "__main__":
    main()
