"""Simulate + exact gradient time per sample for a Yin-Yang sized 5-120-3 LIF network.

Model: lif, tau_syn = 1/0.999, tau_mem = 1, threshold = 1 (the paper's Yin-Yang setting);
inputs: 5 channels (x, y, 1-x, 1-y, bias), one spike each, uniform in [0.15, 2]; t_max = 4.
Weights: hidden N(0.6, 0.4), output N(0.05, 0.1): about 70 hidden and 2.5 output spikes per
sample, as at the start of training (some neurons fire several times, some stay silent).

Prints, measured in this one run:
- per-sample time of simulate + TTFS loss + adjoint gradient, batch of 2000, 1 thread vs all;
- time per synaptic event (arrivals processed), and the ratio all-cores / one-core;
- forward propagation (full Jacobian) vs adjoint per sample, as a ratio.

Run:  python benchmarks/bench_core.py [--samples N]
"""

import argparse
import os
import platform
import time

import numba
import numpy as np

from exactsnn import Loss, Network, adjoint, batch_loss_grad, forward_propagation, simulate
from exactsnn.losses import loss_value_and_dt

PARAMS = {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0}
T_MAX = 4.0


def network(seed=0):
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0.6, 0.4, (5, 120))
    w2 = rng.normal(0.05, 0.1, (120, 3))
    return Network.feedforward([w1, w2])


def patterns(n, seed=1):
    rng = np.random.default_rng(seed)
    return [[[t] for t in rng.uniform(0.15, 2.0, 5)] for _ in range(n)]


def synaptic_events(net, counts, n_patterns):
    """Arrivals processed: each input spike reaches 120 hidden neurons, each hidden spike 3 outputs."""
    hidden = counts[:, :120].sum()
    return n_patterns * 5 * 120 + hidden * 3


def timed_batch(net, pats, labels, threads):
    numba.set_num_threads(threads)
    batch_loss_grad("lif", net, pats[:8], T_MAX, Loss("ttfs_cross_entropy"), labels=labels[:8], params=PARAMS)
    t0 = time.perf_counter()
    res = batch_loss_grad("lif", net, pats, T_MAX, Loss("ttfs_cross_entropy"), labels=labels, params=PARAMS)
    return time.perf_counter() - t0, res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=2000)
    args = ap.parse_args()
    net = network()
    pats = patterns(args.samples)
    labels = np.arange(args.samples) % 3
    cores = numba.config.NUMBA_NUM_THREADS
    t1, res = timed_batch(net, pats, labels, 1)
    tn, res_n = timed_batch(net, pats, labels, cores)
    assert np.array_equal(res.grad.weights, res_n.grad.weights), "parallel result differs from serial"
    events = synaptic_events(net, res.counts, args.samples)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numba {numba.__version__}")
    print(f"5-120-3 lif, {args.samples} samples, mean spikes/sample {res.counts.sum() / args.samples:.1f} "
          f"(hidden {res.counts[:, :120].sum() / args.samples:.1f}, output {res.counts[:, 120:].sum() / args.samples:.2f})")
    print(f"simulate + loss + adjoint gradient, 1 thread : {1e6 * t1 / args.samples:8.1f} us/sample, "
          f"{1e9 * t1 / events:6.1f} ns/synaptic event")
    print(f"simulate + loss + adjoint gradient, {cores} threads: {1e6 * tn / args.samples:8.1f} us/sample, "
          f"{1e9 * tn / events:6.1f} ns/synaptic event")
    print(f"ratio all-cores / 1-thread throughput: {t1 / tn:.2f}x")
    n_fp = min(200, args.samples)
    t0 = time.perf_counter()
    for x, lab in zip(pats[:n_fp], labels[:n_fp]):
        r = simulate("lif", net, x, T_MAX, params=PARAMS)
        forward_propagation(r, policy="flag").contract(loss_value_and_dt(r, Loss("ttfs_cross_entropy", label=int(lab)))[1])
    t_fp = (time.perf_counter() - t0) / n_fp
    t0 = time.perf_counter()
    for x, lab in zip(pats[:n_fp], labels[:n_fp]):
        r = simulate("lif", net, x, T_MAX, params=PARAMS)
        adjoint(r, loss_value_and_dt(r, Loss("ttfs_cross_entropy", label=int(lab)))[1], policy="flag")
    t_adj = (time.perf_counter() - t0) / n_fp
    print(f"per-sample Python API, 1 call each: FP (full Jacobian) {1e6 * t_fp:.1f} us, adjoint {1e6 * t_adj:.1f} us, "
          f"ratio FP/adjoint {t_fp / t_adj:.2f}x")


if __name__ == "__main__":
    main()
