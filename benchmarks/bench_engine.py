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
  + ... every arrival counted by the engine's causal record);
- ``simulate`` alone by the feed-forward path (``engine="auto"``) and by the general event loop
  (``engine="general"``), where the tree has both;
- batch with the first-spike early exit (``first_spike_exit=True``, used by training wherever no hidden
  spike count is read: each pattern stops once every output has fired; same losses and gradients),
  where the tree has it.

``--baseline TREE`` runs the same work on another source tree (the engine before this branch), e.g.
``git archive main | tar -x -C /tmp/engine_main`` and ``--baseline /tmp/engine_main``.

Run:  python benchmarks/bench_engine.py [--samples 100] [--repeats 3] [--baseline /tmp/engine_main]
          [--threads 1,2] [--clock wall|cpu] [--rounds 1]
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


def worker(samples, repeats, clock_name="wall"):
    """Time the work in this process (whatever ``exactsnn`` is on the path); print JSON."""
    clock = time.process_time if clock_name == "cpu" else time.perf_counter
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
        api, batch, early, sim_auto, sim_general = [], [], [], [], []
        try:
            simulate("lif", net, pats[0], T_MAX, params=params, engine="general")
            has_paths = True
        except TypeError:  # a tree from before the feed-forward path
            has_paths = False
        try:
            batch_loss_grad("lif", net, pats[:2], T_MAX, loss, labels=labels[:2], params=params, first_spike_exit=True)
            has_exit = True
        except TypeError:  # a tree from before the early exit
            has_exit = False
        for _ in range(repeats):
            t0 = clock()
            for p, lab in zip(pats, labels):
                r = simulate("lif", net, p, T_MAX, params=params)
                loss_grad(r, Loss("ttfs_cross_entropy", label=int(lab)), policy="flag")
            api.append((clock() - t0) / samples)
            t0 = clock()
            batch_loss_grad("lif", net, pats, T_MAX, loss, labels=labels, params=params)
            batch.append((clock() - t0) / samples)
            if has_exit:
                t0 = clock()
                batch_loss_grad("lif", net, pats, T_MAX, loss, labels=labels, params=params, first_spike_exit=True)
                early.append((clock() - t0) / samples)
            if has_paths:  # simulate alone: the feed-forward path (auto) against the general event loop
                for engine, acc in (("auto", sim_auto), ("general", sim_general)):
                    t0 = clock()
                    for p in pats:
                        simulate("lif", net, p, T_MAX, params=params, engine=engine)
                    acc.append((clock() - t0) / samples)
        for p in pats:
            r = simulate("lif", net, p, T_MAX, params=params)
            spikes += r.n_spikes
            arrivals += int(r.record[2])
        out[name] = {"api_us": 1e6 * min(api), "batch_us": 1e6 * min(batch), "spikes": spikes / samples,
                     "arrivals": arrivals / samples, "early_us": 1e6 * min(early) if early else float("nan"),
                     "sim_auto_us": 1e6 * min(sim_auto) if sim_auto else float("nan"),
                     "sim_general_us": 1e6 * min(sim_general) if sim_general else float("nan")}
    print(json.dumps(out))


def run_side(tree, samples, repeats, threads=1, clock="wall"):
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_NUM_THREADS=str(threads))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--samples", str(samples),
           "--repeats", str(repeats), "--clock", clock]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=str(tree))
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", type=Path, default=None, help="source tree of the engine to compare with")
    ap.add_argument("--threads", default="1", help="comma-separated NUMBA_NUM_THREADS values for this tree, "
                    "e.g. 1,2 (the baseline runs on 1)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall time, or the process's CPU time (steadier on a loaded machine; one thread only)")
    ap.add_argument("--rounds", type=int, default=1, help="run the sides this many times, alternating, and report "
                    "each number's min over the rounds (and the batch's median): this VM's single runs scatter")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.samples, args.repeats, args.clock)
        return
    here = Path(__file__).resolve().parent.parent
    threads = [int(t) for t in args.threads.split(",")]
    sides = {("this tree" if n == 1 else f"this tree, {n} threads"): (here, n) for n in threads}
    if args.baseline is not None:
        sides = {"baseline": (args.baseline.resolve(), 1), **sides}
    load = os.getloadavg()
    rounds = [{name: run_side(tree, args.samples, args.repeats, n, args.clock) for name, (tree, n) in sides.items()}
              for _ in range(max(1, args.rounds))]
    results = {name: {work: {key: min(r[name][work][key] for r in rounds) for key in rounds[0][name][work]}
                      for work in TAUS} for name in sides}
    print(f"5-120-3 lif, t_max = {T_MAX}, {args.samples} samples, best of {args.repeats}, {args.clock} clock, "
          f"min over {len(rounds)} alternating round(s); load average before/after: {load[0]:.1f} / "
          f"{os.getloadavg()[0]:.1f}")
    print("| work | side | spikes/sample | arrivals/sample | per-sample API us | batch us | batch ns/event | "
          "batch, first-spike exit us |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for work in TAUS:
        for name, res in results.items():
            r = res[work]
            print(f"| {work} | {name} | {r['spikes']:.0f} | {r['arrivals']:.0f} | {r['api_us']:.0f} | "
                  f"{r['batch_us']:.0f} | {1e3 * r['batch_us'] / r['arrivals']:.0f} | {r['early_us']:.0f} |")
    if len(threads) > 1 and 1 in threads:
        for work in TAUS:
            one = results["this tree"][work]
            for n in threads[1:]:
                r = results[f"this tree, {n} threads"][work]
                print(f"{work}: {n} threads vs 1, batch {one['batch_us'] / r['batch_us']:.2f}x, "
                      f"batch with first-spike exit {one['early_us'] / r['early_us']:.2f}x")
    for work in TAUS:
        r = results["this tree"][work]
        print(f"{work}: simulate() feed-forward path {r['sim_auto_us']:.0f} us, general event loop "
              f"{r['sim_general_us']:.0f} us ({r['sim_general_us'] / r['sim_auto_us']:.2f}x); per-sample API / batch "
              f"{r['api_us'] / r['batch_us']:.2f}x")
    if len(rounds) > 1:
        for work in TAUS:
            for name in sides:
                med = [float(np.median([r[name][work][key] for r in rounds])) for key in ("batch_us", "early_us")]
                print(f"{work}, {name}: median over the rounds: batch {med[0]:.0f} us, first-spike exit {med[1]:.0f} us")
    if args.baseline is not None:
        for work in TAUS:
            b, a = results["baseline"][work], results["this tree"][work]
            print(f"{work}: speed-up per-sample API {b['api_us'] / a['api_us']:.1f}x, "
                  f"batch {b['batch_us'] / a['batch_us']:.1f}x")


if __name__ == "__main__":
    main()
