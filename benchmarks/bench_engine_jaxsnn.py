"""jaxsnn EventProp against exactsnn on issue 14's heavily spiking 5-120-3 net, tau_syn = tau_mem = 1.

Work (issue 14's table, jaxsnn column): the net of ``bench_engine.py`` (hidden weights N(1.6, 0.8), output
N(2.2, 0.4), seed 0; inputs one spike per channel uniform in [0.15, 2], seed 1; labels seed 2), LIF with
tau_syn = tau_mem = 1, threshold 1, reset to 0, every spike simulated to t_max = 2 (about 1,300 spikes per
sample). Loss: TTFS cross-entropy with regulariser, summed over the batch; gradient w.r.t. all weights.

- jaxsnn 0.3.0, ``backprop_method="eventprop"``, float64, the batch vmapped and the value-and-gradient
  jitted (the builder of ``bench_peers.py``, imported, with its t_max set to 2). Its fixed event buffers
  are sized from exactsnn's spike counts on the same batch (+ a margin) and checked not to be full.
- exactsnn ``batch_loss_grad`` on the same patterns, full simulation, and with ``first_spike_exit=True``
  (for reference: same losses and gradients, each pattern stops once every output has fired).

Agreement: first output spike times, all spike times (neurons with equal counts) and dL/dw of jaxsnn
against exactsnn on the batch. One thread per side: NUMBA_NUM_THREADS=1 and XLA single-threaded
(XLA_FLAGS below, set before jax is imported unless already set); ``--cpu K`` pins the process to core K.
The sides are interleaved in this one process; best of ``--repeats``; ``--clock cpu`` times the process's
CPU time (steadier on a shared, loaded machine; it sums every thread of the process).

Run:  pip install -e ".[peers]"; python benchmarks/bench_engine_jaxsnn.py [--batch 50] [--repeats 10]
          [--clock wall|cpu] [--cpu 0]
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

T_MAX = 2.0
MARGIN = 16  # spare slots in jaxsnn's event buffers beyond the largest count exactsnn simulated


def inputs(batch):
    """Weights, patterns (batch, 5), labels: exactly bench_engine.py's."""
    import bench_engine
    w = bench_engine.network_weights()
    x = np.array([[c[0] for c in p] for p in bench_engine.patterns(batch)])
    labels = np.random.default_rng(2).integers(0, 3, batch)
    return w, x, labels


def exact_side(w, x, labels):
    """A call ``run(first_spike_exit)`` -> BatchResult of exactsnn on the batch."""
    import bench_peers
    from exactsnn import Network, batch_loss_grad
    net = Network.feedforward(list(w))
    pats = [[[t] for t in row] for row in x]

    def run(first_spike_exit=False):
        return batch_loss_grad("lif", net, pats, T_MAX, bench_peers.LOSS, labels=labels, params=bench_peers.PARAMS,
                               first_spike_exit=first_spike_exit)

    return net, pats, run


def exact_trains(net, pats):
    import bench_peers
    from exactsnn import simulate
    out = []
    for p in pats:
        r = simulate("lif", net, p, T_MAX, params=bench_peers.PARAMS)
        out.append(bench_peers.trains(r.spike_time, r.spike_neuron))
    return out


def jax_first(out):
    """jaxsnn's first output spike times (batch, 3), inf for a silent output."""
    (_, (_, outp)), _ = out
    t, idx = np.asarray(outp.time, float), np.asarray(outp.idx)
    fired = np.asarray(outp.internal) & (idx >= 0)
    return np.stack([np.where(fired & (idx == o), t, np.inf).min(axis=1) for o in range(3)], axis=1)


def agreement(out, res, ref_trains, steps_h, steps_o):
    """Text lines: jaxsnn vs exactsnn on first spikes, all spikes, gradient, buffers."""
    import bench_peers
    from bench_peers import Jaxsnn
    tf_j, tf_e = jax_first(out), np.asarray(res.t_first, float)[:, -3:]
    same_silent = np.array_equal(np.isinf(tf_j), ~np.isfinite(tf_e) | (tf_e >= T_MAX))
    fin = np.isfinite(tf_j) & np.isfinite(tf_e)
    errs, mism = bench_peers.compare(Jaxsnn.trains(out), ref_trains)
    ref_grad = res.grad.weights.sum(axis=0)
    g = Jaxsnn.grad(out)
    return [f"first output spike times: max |t_jaxsnn - t_exactsnn| {np.abs(tf_j - tf_e)[fin].max():.1e} over "
            f"{fin.sum()} first spikes; same silent outputs: {same_silent}",
            f"all spike times: {bench_peers.error_text(errs, mism)} ({errs.size} spikes)",
            f"dL/dw: max |g_jaxsnn - g_exactsnn| / max |g_exactsnn| "
            f"{np.nanmax(np.abs(g - ref_grad)) / np.abs(ref_grad).max():.1e}, NaN entries {int(np.isnan(g).sum())}",
            f"event buffers ({steps_h} hidden, {steps_o} output steps) "
            + ("FULL: events may be dropped" if Jaxsnn.full(out, steps_h, steps_o) else "not full")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    ap.add_argument("--cpu", type=int, default=None, help="pin this process to this core (taskset)")
    args = ap.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    import jax
    import bench_peers
    from bench_peers import Jaxsnn, import_peer
    if import_peer("jaxsnn") is None:
        return
    bench_peers.T_MAX = T_MAX  # the builder and its loss read the module's t_max
    w, x, labels = inputs(args.batch)
    net, pats, run_exact = exact_side(w, x, labels)
    res = run_exact()
    run_exact(True)  # compile both
    n_hid = w[0].shape[1]
    hid, outc = res.counts[:, :n_hid].sum(axis=1), res.counts[:, n_hid:].sum(axis=1)
    steps_h = w[0].shape[0] + int(hid.max()) + MARGIN
    steps_o = int((hid + outc).max()) + MARGIN
    print(f"jax {jax.__version__}, jaxsnn 0.3.0 eventprop float64, XLA_FLAGS={os.environ['XLA_FLAGS']!r}, "
          f"NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']}, cores {sorted(os.sched_getaffinity(0))}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"5-120-3 lif, tau_syn = tau_mem = 1, t_max {T_MAX}, batch {args.batch}: spikes/sample mean "
          f"{(hid + outc).mean():.0f} (hidden {hid.mean():.0f}, output {outc.mean():.0f}), max {(hid + outc).max()}")
    t0 = time.perf_counter()
    side = Jaxsnn(jax, w, x, labels, "eventprop", True, steps_h, steps_o)
    _, out = side.run()
    print(f"jaxsnn compile + first call {time.perf_counter() - t0:.1f} s")
    for line in agreement(out, res, exact_trains(net, pats), steps_h, steps_o):
        print("  " + line)
    times = {"jaxsnn": [], "exactsnn": [], "exactsnn_exit": []}
    for _ in range(args.repeats):
        with jax.enable_x64(True):
            t0 = clock()
            jax.block_until_ready(side.fn(side.params, side.inp, side.labels))
            times["jaxsnn"].append(clock() - t0)
        for key, flag in (("exactsnn", False), ("exactsnn_exit", True)):
            t0 = clock()
            run_exact(flag)
            times[key].append(clock() - t0)
    us = {k: 1e6 * min(v) / args.batch for k, v in times.items()}
    print(f"best of {args.repeats}, {args.clock} clock, us/sample (load average after {os.getloadavg()[0]:.1f}):")
    print(f"  jaxsnn EventProp f64, vmapped batch {args.batch}: {us['jaxsnn']:9.0f}")
    print(f"  exactsnn batch_loss_grad, full simulation:      {us['exactsnn']:9.0f}   jaxsnn / exactsnn "
          f"{us['jaxsnn'] / us['exactsnn']:.1f}x")
    print(f"  exactsnn batch_loss_grad, first_spike_exit:     {us['exactsnn_exit']:9.0f}   jaxsnn / exactsnn "
          f"{us['jaxsnn'] / us['exactsnn_exit']:.1f}x")


if __name__ == "__main__":
    main()
