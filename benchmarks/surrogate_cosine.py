"""Surrogate vs exact gradients of the same TTFS loss, 5-120-3 LIF network at the start of training.

Model: lif, tau_syn = 1/0.999, tau_mem = 1, threshold = 1; t_max = 4 (time in units of tau_mem).
Inputs (Yin-Yang-like): a point (x, y) uniform in the unit square gives 4 spikes at 0.15 + 1.85 * (x, y, 1-x, 1-y)
and a bias spike at 0.15; the label is the point's 120-degree sector around (0.5, 0.5).
Weights as in bench_core.py: hidden N(0.6, 0.4), output N(0.05, 0.1) (some outputs silent, as at the start).
Loss: TTFS cross-entropy (tau0 = 0.2, tau1 = 1, gamma = 0.005), summed over a batch of 200.

Prints, all measured in this one run:
- the forward pass on the grid vs exactsnn.simulate per dt: neurons whose spike count matches, mean and max
  |t_grid - t_exact| over their spikes, and the fitted convergence order;
- cosine similarity between the surrogate gradient (exactsnn.surrogate, BPTT, fast sigmoid, detached reset)
  and the exact gradient (exactsnn.batch_loss_grad), over dt x slope, for the whole gradient and per layer,
  with silent outputs passing their dL/dt (default) and passing none (as in the exact path), and the norm
  ratio |surrogate| / |exact|;
- time per sample at dt = 0.01 on one thread, surrogate (forward + BPTT) vs exact (simulate + adjoint).

Run:  NUMBA_NUM_THREADS=1 python benchmarks/surrogate_cosine.py [--batch 200]
"""

import argparse
import math
import platform
import time

import numba
import numpy as np

from exactsnn import Loss, Network, batch_loss_grad, simulate
from exactsnn.surrogate import simulate_discrete, surrogate_batch_loss_grad

PARAMS = {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0}
T_MAX = 4.0
DTS = (0.1, 0.05, 0.01, 0.005, 0.001)
SLOPES = (1.0, 5.0, 25.0, 100.0)
LOSS = Loss("ttfs_cross_entropy")


def network(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0.6, 0.4, (5, 120)), rng.normal(0.05, 0.1, (120, 3))]


def yin_yang_like(n, seed=1):
    """(n, 5) input spike times and (n,) labels from the point's sector around the centre."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    times = 0.15 + 1.85 * np.stack([x, y, 1 - x, 1 - y, np.zeros(n)], axis=1)
    angle = np.arctan2(y - 0.5, x - 0.5) + math.pi
    return times, (3 * angle / (2 * math.pi)).astype(np.int64) % 3


def cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def forward_errors(ws, pats, n_check):
    net = Network.feedforward(ws)
    exact = [simulate("lif", net, [[t] for t in p], T_MAX, params=PARAMS).spikes for p in pats[:n_check]]
    rows = []
    for dt in DTS:
        err, match, total = [], 0, 0
        for p, ex in zip(pats[:n_check], exact):
            grid = simulate_discrete(ws, [[t] for t in p], PARAMS, T_MAX, dt).spikes
            for a, b in zip(ex, grid):
                total += 1
                if a.size == b.size:
                    match += 1
                    err.extend(np.abs(a - b))
        rows.append((dt, match / total, float(np.mean(err)), float(np.max(err))))
    order = np.polyfit(np.log([r[0] for r in rows]), np.log([r[2] for r in rows]), 1)[0]
    n_spk = sum(s.size for ex in exact for s in ex) / n_check
    print(f"\nforward on the grid vs exact ({n_check} patterns, {n_spk:.1f} exact spikes/pattern)")
    print("    dt    | neurons w/ same spike count | mean |dt_spike| | max |dt_spike| | mean err / dt")
    for dt, m, mean, mx in rows:
        print(f"  {dt:7.3f} | {100 * m:26.1f}% | {mean:15.2e} | {mx:14.2e} | {mean / dt:6.2f}")
    print(f"  fitted order of the mean error: {order:.2f}")


def best_time(call, repeats=3):
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best


def table(title, cells, fmt):
    print(f"\n{title}")
    print("    dt    | " + " | ".join(f"{'slope ' + format(v, 'g'):^{len(fmt(cells[0][0]))}}" for v in SLOPES))
    for dt, row in zip(DTS, cells):
        print(f"  {dt:7.3f} | " + " | ".join(fmt(c) for c in row))


def cosines(g, g_ex, n_hidden_w):
    """(whole, hidden-layer block, output-layer block) cosines."""
    h = slice(0, n_hidden_w)
    o = slice(n_hidden_w, None)
    return cos(g, g_ex), cos(g[h], g_ex[h]), cos(g[o], g_ex[o])


def sweep(ws, pats, labels, g_ex):
    """Per (dt, slope): cosines with silent outputs passing dL/dt (default) and not, and the norm ratio."""
    default, masked, ratio = [], [], []
    for dt in DTS:
        default.append([])
        masked.append([])
        ratio.append([])
        for slope in SLOPES:
            g = flat(surrogate_batch_loss_grad(ws, pats, labels, PARAMS, T_MAX, dt, slope, LOSS))
            g_m = flat(surrogate_batch_loss_grad(ws, pats, labels, PARAMS, T_MAX, dt, slope, LOSS, silent_grad=False))
            default[-1].append(cosines(g, g_ex, ws[0].size))
            masked[-1].append(cosines(g_m, g_ex, ws[0].size))
            ratio[-1].append(np.linalg.norm(g) / np.linalg.norm(g_ex))
    return default, masked, ratio


def flat(result):
    return np.concatenate([m.ravel() for m in result.grad_weights])


def cos_cell(c):
    return f"{c[0]:5.3f} ({c[1]:5.3f}, {c[2]:5.3f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--check", type=int, default=50, help="patterns for the forward spike-time comparison")
    args = ap.parse_args()
    ws = network()
    pats, labels = yin_yang_like(args.batch)
    nested = [[[t] for t in p] for p in pats]
    print(f"machine: {platform.processor() or platform.machine()}, numba {numba.__version__}, "
          f"threads {numba.get_num_threads()}")
    exact = batch_loss_grad("lif", Network.feedforward(ws), nested, T_MAX, LOSS, labels=labels, params=PARAMS)
    g_ex = exact.grad.weights.sum(axis=0)
    print(f"5-120-3 lif, batch {args.batch}: exact mean loss {exact.loss.mean():.4f}, silent outputs "
          f"{100 * np.mean(exact.t_first >= T_MAX):.1f}%, "
          f"output spikes/pattern {exact.counts[:, 120:].sum(1).mean():.2f}")
    forward_errors(ws, pats, args.check)
    default, masked, ratio = sweep(ws, pats, labels, g_ex)
    table("cosine(surrogate, exact): whole (hidden-layer block, output-layer block); silent outputs pass their "
          "dL/dt (default)", default, cos_cell)
    table("the same with silent_grad=False (silent outputs pass no gradient, as in the exact path)", masked, cos_cell)
    table("norm ratio |surrogate| / |exact| (default)", ratio, lambda v: f"{v:10.3g}")
    numba.set_num_threads(1)
    t_sur = best_time(lambda: surrogate_batch_loss_grad(ws, pats, labels, PARAMS, T_MAX, 0.01, 25.0, LOSS))
    t_ex = best_time(lambda: batch_loss_grad("lif", Network.feedforward(ws), nested, T_MAX, LOSS, labels=labels,
                                             params=PARAMS))
    print(f"\none thread, per sample (best of 3 batches): surrogate forward + BPTT at dt = 0.01 (400 steps) "
          f"{1e6 * t_sur / args.batch:.0f} us; exact simulate + adjoint {1e6 * t_ex / args.batch:.0f} us; "
          f"ratio {t_sur / t_ex:.2f}")


if __name__ == "__main__":
    main()
