"""Cost of one Hessian-vector product against one gradient (issue 16, target: under 4x).

Network: 5-120-3 lif as bench_core.py (tau_syn = 1/0.999, tau_mem = 1, threshold = 1, t_max = 4), hidden
weights N(0.6, 0.4), output weights N(0.05, 0.1); each of the 5 input channels carries ``rate`` spikes,
uniform in [0.15, 2]. TTFS cross-entropy loss (labels cycling 0..2), a random unit direction v.

Per sample, on an already simulated result, best of --repeats, interleaved:
- gradient:  exactsnn.loss_grad(result, loss)      (loss dL/dt + diagnostics + adjoint sweep)
- hvp:       exactsnn.hvp(result, loss, v)          (loss derivatives + diagnostics + edge kernels + tangent
                                                     + adjoint + Lagrangian terms + adjoint; v and H v over
                                                     every block, model parameters included)
- hvp (no model block): exactsnn.hvp(..., model=False) (weights, delays and input times only)
- kernels:   the engine's adjoint_core alone, against hessian.hvp_flat (edges_core on the loss's spikes and
             their ancestors, tangent, adjoint_edges, lagrangian_hvp_terms, adjoint_edges), without diagnostics,
             loss and model block
Batch (--batch B, default 64; 0 skips it), best of --repeats on 1 and 2 threads (up to NUMBA_NUM_THREADS):
batch_loss_grad against batch_hvp over every block (weights, delays, each pattern's input times, model
parameters) and against batch_hvp(..., model_block=False) (weights, delays, input times).
Printed: the ratios hvp / gradient. The HVP is also checked against the contraction of the edge gradient
(``adjoint_edges`` with dL/dt equals the engine's adjoint to 1e-12).

Run:  python benchmarks/bench_hvp.py [--samples N] [--rate R] [--repeats K] [--clock cpu]
"""

import argparse
import os
import platform
import time

import numba
import numpy as np

from exactsnn import Gradients, Loss, Network, batch_hvp, batch_loss_grad, hvp, loss_grad, simulate
from exactsnn.hessian import _loss_block, edges, hvp_flat, n_params  # private: the kernels without checks
from exactsnn.numeric import second_order as so

PARAMS = {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0}
T_MAX = 4.0
N_IN, HIDDEN, N_OUT = 5, 120, 3


CLOCK = time.perf_counter  # --clock cpu: time.process_time (CPU time of every thread: on a loaded machine, 1 thread)


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--rate", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    rng = np.random.default_rng(0)
    net = Network.feedforward([rng.normal(0.6, 0.4, (N_IN, HIDDEN)), rng.normal(0.05, 0.1, (HIDDEN, N_OUT))])
    sums = np.zeros(5)
    spikes = 0
    for i in range(args.samples + 1):
        inputs = [sorted(rng.uniform(0.15, 2.0, args.rate).tolist()) for _ in range(N_IN)]
        r = simulate("lif", net, inputs, T_MAX, params=PARAMS)
        loss = Loss("ttfs_cross_entropy", label=i % N_OUT)
        v = rng.normal(size=n_params(r) + r.ptab.size)
        v /= np.linalg.norm(v)
        dl_dt, idx, block = _loss_block(r, loss)
        g_engine = r.model.call("adjoint_core", *r.engine_args(), dl_dt)[:n_params(r)]
        e = edges(r)
        g_edges = so.adjoint_edges(e.ptr, e.src, e.syn, e.w, e.k0, e.k1, e.vdot, e.n_syn, e.n_in, dl_dt)[1]
        assert np.max(np.abs(g_edges - g_engine)) <= 1e-12 * max(np.max(np.abs(g_engine)), 1e-300)
        t = [best(lambda: loss_grad(r, loss, policy="flag"), args.repeats),
             best(lambda: hvp(r, loss, v, policy="flag"), args.repeats),
             best(lambda: r.model.call("adjoint_core", *r.engine_args(), dl_dt), args.repeats),
             best(lambda: hvp_flat(r, dl_dt, idx, block, v[:n_params(r)]), args.repeats),
             best(lambda: hvp(r, loss, v[:n_params(r)], policy="flag", model=False), args.repeats)]
        if i == 0:
            continue  # warm-up (compilation)
        sums += t
        spikes += r.n_spikes
    m = sums / args.samples * 1e6
    print(f"{platform.processor() or platform.machine()}, numba {numba.__version__}, "
          f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'default')}, clock {args.clock}")
    print(f"5-{HIDDEN}-3 lif, rate {args.rate}: {spikes / args.samples:.1f} spikes per sample, {args.samples} samples")
    print(f"API:     gradient {m[0]:9.1f} us   hvp {m[1]:9.1f} us   ratio {m[1] / m[0]:.2f}x")
    print(f"API, model=False:    hvp {m[4]:9.1f} us   ratio {m[4] / m[0]:.2f}x")
    print(f"kernels: adjoint  {m[2]:9.1f} us   hvp {m[3]:9.1f} us   ratio {m[3] / m[2]:.2f}x")
    if args.batch:
        bench_batch(rng, net, args)


def bench_batch(rng, net, args):
    """batch_hvp (every block; and model_block=False) against batch_loss_grad, on 1 and 2 threads."""
    pats = [[sorted(rng.uniform(0.15, 2.0, args.rate).tolist()) for _ in range(N_IN)] for _ in range(args.batch)]
    labels = np.arange(args.batch) % N_OUT
    loss = Loss("ttfs_cross_entropy")
    ns = net.n_synapses
    v = rng.normal(size=2 * ns + 3)
    v /= np.linalg.norm(v)
    v_in = rng.normal(size=(args.batch, N_IN * args.rate)) * 0.1  # every pattern has rate spikes per channel
    every = Gradients(v[:ns], v[ns:2 * ns], v_in, v[2 * ns:])
    blockless = Gradients(v[:ns], v[ns:2 * ns], v_in, np.zeros(0))
    kw = {"labels": labels, "params": PARAMS}
    runs = [lambda: batch_loss_grad("lif", net, pats, T_MAX, loss, **kw),
            lambda: batch_hvp("lif", net, pats, T_MAX, loss, every, policy="flag", **kw)[1],
            lambda: batch_hvp("lif", net, pats, T_MAX, loss, blockless, policy="flag", model_block=False, **kw)[1]]
    threads = [n for n in (1, 2) if n <= numba.config.NUMBA_NUM_THREADS]
    res, t = {}, np.full((2, 3), np.inf)
    for n in threads:
        numba.set_num_threads(n)
        for run in runs:
            run()  # warm-up (compilation)
    for _ in range(args.repeats):
        for i, n in enumerate(threads):
            numba.set_num_threads(n)
            for j, run in enumerate(runs):
                t0 = CLOCK()
                out = run()
                t[i, j] = min(t[i, j], CLOCK() - t0)
                if j == 1:
                    res[n] = out
    if 2 in res:
        assert all(np.array_equal(getattr(res[1], k), getattr(res[2], k)) for k in ("weights", "delays", "inputs",
                                                                                     "model"))
    print(f"batch of {args.batch}:")
    for i, n in enumerate(threads):
        print(f"  {n} thread(s): batch_loss_grad {t[i, 0] * 1e3:8.2f} ms   batch_hvp every block "
              f"{t[i, 1] * 1e3:8.2f} ms"
              f" ({t[i, 1] / t[i, 0]:.2f}x)   model_block=False {t[i, 2] * 1e3:8.2f} ms ({t[i, 2] / t[i, 0]:.2f}x)")
    if len(threads) == 2:
        print(f"  1 vs 2 threads: batch_loss_grad {t[0, 0] / t[1, 0]:.2f}x   batch_hvp {t[0, 1] / t[1, 1]:.2f}x "
              "(2-thread HVP equal to 1-thread bit for bit)")


if __name__ == "__main__":
    main()
