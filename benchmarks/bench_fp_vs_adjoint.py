"""Forward propagation (full Jacobian) against the adjoint (one reverse sweep) as the network grows.

Network: 5-H-3 lif (tau_syn = 1/0.999, tau_mem = 1, threshold = 1, t_max = 4, as bench_core.py),
hidden weights N(0.6, 0.4), output weights N(0.05, 0.1) * 120 / H (so the output drive does not
grow with H); each of the 5 input channels carries ``rate`` spikes, uniform in [0.15, 2].
Two sweeps: hidden size H at rate 1, and input rate at H = 120. More input spikes make the
hidden neurons fire more, so the spike count grows with the rate; the weight count with H.

Per sample (TTFS cross-entropy loss, labels cycling 0..2), best of --repeats, interleaved:
- FP:       forward_propagation(result).contract(dL/dt)  -> the full Jacobian, then dL/dq
- adjoint:  adjoint(result, dL/dt)                        -> dL/dq in one reverse sweep
- engine:   the numba kernels alone (fp_core, adjoint_core), without the degenerate-spike
            diagnostics (check_spikes) that both public calls run first
Printed: the ratio FP / adjoint for the loss gradient, through the API and for the kernels; and,
for the full Jacobian, n_spikes reverse sweeps (one per spike row, estimated as n_spikes x one
sweep's kernel time: every sweep costs the same) against FP's kernel. Contracted FP and the
adjoint are checked to agree to 1e-9 relative.

Run:  python benchmarks/bench_fp_vs_adjoint.py [--samples N] [--quick]
"""

import argparse
import os
import platform
import time

import numba
import numpy as np

from exactsnn import Loss, Network, adjoint, forward_propagation, simulate
from exactsnn.grad import _engine_args  # private: to time the numba kernels without the diagnostics
from exactsnn.losses import loss_value_and_dt

PARAMS = {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0}
T_MAX = 4.0
N_IN, N_OUT = 5, 3
LONG = 0.5  # seconds: timing noise is small next to such a call


def network(hidden, seed=0):
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0.6, 0.4, (N_IN, hidden))
    w2 = rng.normal(0.05, 0.1, (hidden, N_OUT)) * 120 / hidden
    return Network.feedforward([w1, w2])


def patterns(n, rate, seed=1):
    rng = np.random.default_rng(seed)
    return [[sorted(rng.uniform(0.15, 2.0, rate).tolist()) for _ in range(N_IN)] for _ in range(n)]


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def fp_gradient(res, dl_dt):
    jac = forward_propagation(res, policy="flag")
    return jac, jac.contract(dl_dt)


def engine(res, kernel, *extra):
    """The numba kernel alone (``fp_core``: Jacobian; ``adjoint_core``: one sweep), as grad.py calls it."""
    return res.model.call(kernel, res.ptab, *_engine_args(res), *extra)


def measure(hidden, rate, samples, repeats):
    """Per-sample means of the best-of-``repeats`` times of one configuration, and its sizes."""
    net = network(hidden)
    keys = ("fp", "adj", "fp_engine", "adj_engine", "spikes", "arrivals", "jac_bytes")
    acc = dict.fromkeys(keys, 0.0)
    worst = 0.0
    for s, pat in enumerate(patterns(samples, rate)):
        res = simulate("lif", net, pat, T_MAX, params=PARAMS)
        dl_dt = loss_value_and_dt(res, Loss("ttfs_cross_entropy", label=s % N_OUT))[1]
        calls = {"fp": lambda: fp_gradient(res, dl_dt), "adj": lambda: adjoint(res, dl_dt, policy="flag"),
                 "fp_engine": lambda: engine(res, "fp_core", True), "adj_engine": lambda: engine(res, "adjoint_core", dl_dt)}
        best = dict.fromkeys(calls, float("inf"))
        for _ in range(repeats):  # interleaved; a call of over LONG seconds is not repeated
            for name, fn in calls.items():
                if best[name] == float("inf") or best[name] < LONG:
                    best[name] = min(best[name], timed(fn)[0])
        jac, g_fp = fp_gradient(res, dl_dt)
        g_adj = adjoint(res, dl_dt, policy="flag").flat()
        worst = max(worst, np.abs(g_fp.flat() - g_adj).max() / max(np.abs(g_adj).max(), 1e-300))
        for name, t in best.items():
            acc[name] += t
        acc["spikes"] += res.n_spikes
        acc["arrivals"] += res.record[2]
        acc["jac_bytes"] += jac.dts_dq.flat().nbytes
    out = {k: v / samples for k, v in acc.items()}
    out.update(worst=worst, n_q=2 * net.n_synapses + N_IN * rate + len(PARAMS), n_w=net.n_synapses)
    return out


def row(label, m):
    jac_by_adj = m["spikes"] * m["adj_engine"]
    ratios = m["fp"] / m["adj"], m["fp_engine"] / m["adj_engine"], jac_by_adj / m["fp_engine"]
    print(f"  {label:>9s} {m['n_w']:7d} {m['n_q']:6d} {m['spikes']:7.1f} {m['arrivals']:8.0f} "
          f"{1e6 * m['fp']:10.1f} {1e6 * m['adj']:9.1f} {1e6 * m['fp_engine']:10.1f} {1e6 * m['adj_engine']:9.1f} "
          f"{ratios[0]:7.2f} {ratios[1]:7.2f} {ratios[2]:9.2f} {m['jac_bytes'] / 2**20:8.2f}")
    return ratios


HEADER = (f"  {'':>9s} {'weights':>7s} {'n_q':>6s} {'spikes':>7s} {'arrivals':>8s} {'FP api us':>10s} {'adj api':>9s} "
          f"{'FP eng us':>10s} {'adj eng':>9s} {'api f/a':>7s} {'eng f/a':>7s} {'Jac a/f':>9s} {'Jac MiB':>8s}")


def crossover(labels, ratios, what, slower):
    """Where ``ratios`` (numerator / denominator) cross 1; ``slower`` names the numerator."""
    above = [r > 1 for r in ratios]
    if all(above) or not any(above):
        side = f"{slower} slower" if all(above) else f"{slower} faster"
        return f"{what}: no crossover in this range ({side} throughout, ratio {min(ratios):.2f} .. {max(ratios):.2f})"
    for a, b, ra, rb in zip(labels, labels[1:], ratios, ratios[1:]):
        if (ra > 1) != (rb > 1):
            return f"{what}: crosses 1 between {a} ({ra:.2f}) and {b} ({rb:.2f})"
    return f"{what}: ratios {ratios}"


def sweep(title, configs, args):
    print(f"\n{title}")
    print(HEADER)
    labels, ratios = [], []
    for label, hidden, rate in configs:
        m = measure(hidden, rate, args.samples, args.repeats)
        labels.append(label)
        ratios.append(row(label, m))
        if m["worst"] > 1e-9:
            print(f"    WARNING: contracted FP and adjoint differ by {m['worst']:.1e} (relative)")
    api, eng, jac = zip(*ratios)
    print("  " + crossover(labels, api, "loss gradient, FP / adjoint (API)", "FP"))
    print("  " + crossover(labels, eng, "loss gradient, FP / adjoint (kernels)", "FP"))
    print("  " + crossover(labels, jac, "full Jacobian, n_spikes adjoint sweeps / FP (kernels)",
                               "reverse mode"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--hidden", type=int, nargs="+", default=[15, 30, 60, 120, 240, 480, 960])
    ap.add_argument("--rates", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--quick", action="store_true", help="2 samples, 1 repeat, small sweeps")
    args = ap.parse_args()
    if args.quick:
        args.samples, args.repeats, args.hidden, args.rates = 2, 1, [15, 60], [1, 4]
    numba.set_num_threads(1)
    warm = simulate("lif", network(8), patterns(1, 1)[0], T_MAX, params=PARAMS)  # compile outside the timing
    adjoint(warm, np.ones(warm.n_spikes), policy="flag")
    forward_propagation(warm, policy="flag")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; numba {numba.__version__}; {args.samples} samples per row, best of "
          f"{args.repeats}, per-sample means")
    print("columns: weights = synapses; n_q = parameters (weights, delays, input times, model); arrivals = "
          "synaptic events;\n  FP/adj api = forward_propagation + contract / adjoint (each runs the diagnostics); "
          "eng = the numba kernels alone;\n  api f/a, eng f/a = FP / adjoint for the loss gradient; Jac a/f = "
          "(n_spikes adjoint sweeps) / FP for the full Jacobian;\n  Jac MiB = FP's Jacobian")
    sweep("hidden size H (input rate 1 spike per channel)", [(f"H={h}", h, 1) for h in args.hidden], args)
    sweep("input rate (spikes per channel, H = 120)", [(f"rate={r}", 120, r) for r in args.rates], args)


if __name__ == "__main__":
    main()
