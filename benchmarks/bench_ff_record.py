"""The feed-forward path's own cost beside its per-neuron loop (issue 14): ``simulate_one(path=0)`` per sample
against ``_input_stream`` + ``_run_all`` alone, on bench_engine.py's network, before vs after.

Work: bench_engine.py's 5-120-3 lif net (weights seed 0, inputs seed 1), ``tau_syn`` as given, ``t_max = 2``,
100 samples. Both loops run inside numba (no Python call per sample), CPU clock, NUMBA_NUM_THREADS=1. "rest"
= the whole ``simulate_one`` minus ``_input_stream`` + ``_run_all``: ordering the spikes, building the causal
record, the head mapping, the feed-forward check. ``_run_all`` itself holds the per-neuron loop
(``_neurons_run``) plus gathering each neuron's arrivals, the pool and its growth.

``--split`` times the record's parts instead, each in its own numba loop over ``_run_all``'s outputs for the
100 samples (kept beforehand), 10 passes per round: ``_order_spikes``, ``_record`` and the stable argsort of
the hidden spikes that ``_run_all`` sorts once (over the pool before the output layer: ``argsort_spread`` since
issue 14's ninth pass, ``argsort_into`` before; each tree is timed with the one it uses).

Each side runs in its own process (``--baseline TREE``: e.g. ``git archive main | tar -x -C /tmp/base``),
sides interleaved over ``--rounds`` processes, each process timing ``--inner`` rounds; best of all.

Run:  python benchmarks/bench_ff_record.py --baseline /tmp/base [--rounds 4] [--inner 7] [--tau-syn 1.001001...] [--split]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def worker(tau_syn, inner):
    from numba import njit

    sys.path.insert(0, str(HERE))
    from bench_engine import T_MAX, network_weights, patterns

    from exactsnn import Network, Patterns
    from exactsnn.compiled import load_builtin
    from exactsnn.simulate import Topology

    net = Network.feedforward(list(network_weights()))
    packed, topo = Patterns.pack(patterns(100), 5), Topology.of(net)
    compiled = load_builtin("lif")
    ptab = compiled.param_table({"tau_syn": tau_syn, "tau_mem": 1.0, "threshold": 1.0}, 1)
    sim, stream, run_all = compiled.module.simulate_one, compiled.module._input_stream, compiled.module._run_all

    @njit
    def loop(whole, ptab, pop, times, src, ptr, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max):
        watch, acc = np.zeros(0, np.int64), 0
        for b in range(ptr.size - 1):
            tb, sb = times[ptr[b]:ptr[b + 1]], src[ptr[b]:ptr[b + 1]]
            if whole:
                acc += sim(ptab, pop, tb, sb, 5, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max, 10**6,
                           True, watch, 0)[1]
            else:
                it, isy, _ = stream(tb, sb, out_ptr, out_syn, syn_d)
                acc += run_all(ptab, pop, tb, sb, 5, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
                               10**6, True, it, isy)[5][-1]
        return acc

    a = (ptab, np.zeros(net.n_neurons, np.int64), packed.times, packed.src, packed.ptr, net.n_neurons,
         topo.syn_post, topo.syn_w, topo.syn_d, topo.out_ptr, topo.out_syn, T_MAX)
    loop(True, *a), loop(False, *a)
    best = {True: np.inf, False: np.inf}
    for _ in range(inner):
        for whole in (True, False):
            t0 = time.process_time()
            loop(whole, *a)
            best[whole] = min(best[whole], (time.process_time() - t0) / 100 * 1e6)
    print(json.dumps({"sim_us": best[True], "run_all_us": best[False]}))


def split_worker(tau_syn, inner):
    """Per sample: ``_order_spikes``, ``_record`` and the argsort of the hidden spikes on ``_run_all``'s outputs
    for the 100 samples, kept beforehand (each part alone in its loop, no ``_run_all`` in the timed loop)."""
    from numba import njit
    from numba.typed import List

    sys.path.insert(0, str(HERE))
    from bench_engine import T_MAX, network_weights, patterns

    from exactsnn import Network, Patterns
    from exactsnn.compiled import load_builtin
    from exactsnn.simulate import Topology

    net = Network.feedforward(list(network_weights()))
    packed, topo = Patterns.pack(patterns(100), 5), Topology.of(net)
    compiled = load_builtin("lif")
    m = compiled.module
    ptab = compiled.param_table({"tau_syn": tau_syn, "tau_mem": 1.0, "threshold": 1.0}, 1)
    n = net.n_neurons
    kept = []
    for b in range(100):
        tb, sb = packed.times[packed.ptr[b]:packed.ptr[b + 1]], packed.src[packed.ptr[b]:packed.ptr[b + 1]]
        it, isy, isrc = m._input_stream(tb, sb, topo.out_ptr, topo.out_syn, topo.syn_d)
        r = m._run_all(ptab, np.zeros(n, np.int64), tb, sb, 5, n, topo.syn_post, topo.syn_w, topo.syn_d,
                       topo.out_ptr, topo.out_syn, T_MAX, 10**6, True, it, isy, isrc)
        so = m._order_spikes(n, *r[5:7], *r[1:5], r[12], r[13])
        kept.append((it, isy, isrc, *r[1:10], r[12], np.int64(r[13]), so[0], so[1], np.int64(tb.size)))
    cols = [List([k[c] for k in kept]) for c in range(len(kept[0]))]
    order_spikes, record = m._order_spikes, m._record
    argsort_into = getattr(m, "argsort_spread", m.argsort_into)  # the hidden spikes' sort the tree uses
    syn = (topo.syn_post, topo.syn_d, topo.out_ptr, topo.out_syn)

    @njit
    def loop(part, it, isy, isrc, pt, pv, pg, ph, lo, hi, at, asyn, arr_lo, sid, ns, st, sn, nsp, syn_post, syn_d,
             out_ptr, out_syn):
        acc = 0
        for b in range(len(it)):
            if part == 0:
                acc += order_spikes(n, lo[b], hi[b], pt[b], pv[b], pg[b], ph[b], sid[b], ns[b])[1][-1]
            elif part == 1:
                acc += record(5, n, nsp[b], T_MAX, it[b], isy[b], isrc[b], syn_post, syn_d, out_ptr, out_syn, st[b],
                              sn[b], arr_lo[b], at[b], asyn[b])[5]
            else:
                s = lo[b][n - 3]
                o, w = np.empty(s, np.int64), np.empty(s, np.int64)
                argsort_into(pt[b], s, o, w)
                acc += o[0]
        return acc

    for part in range(3):
        loop(part, *cols, *syn)
    best = [np.inf] * 3
    for _ in range(inner):
        for part in range(3):
            t0 = time.process_time()
            for _ in range(10):
                loop(part, *cols, *syn)
            best[part] = min(best[part], (time.process_time() - t0) / 1000 * 1e6)
    print(json.dumps({"order_us": best[0], "record_us": best[1], "sort_us": best[2]}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", type=Path, help="source tree of the engine to compare with (required)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--inner", type=int, default=7)
    ap.add_argument("--tau-syn", type=float, default=1 / 0.999)
    ap.add_argument("--split", action="store_true", help="time _order_spikes, _record and the hidden argsort")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        (split_worker if args.split else worker)(args.tau_syn, args.inner)
        return
    if args.baseline is None:
        ap.error("--baseline TREE is required")
    sides = {"baseline": args.baseline.resolve(), "this tree": HERE.parent}
    best = {}
    for _ in range(args.rounds):
        for name, tree in sides.items():
            env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_NUM_THREADS="1")
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--inner", str(args.inner),
                   "--tau-syn", repr(args.tau_syn)] + (["--split"] if args.split else [])
            out = json.loads(subprocess.run(cmd, env=env, cwd=str(tree), capture_output=True, text=True,
                                            check=True).stdout.strip().splitlines()[-1])
            b = best.setdefault(name, out)
            for key in out:
                b[key] = min(b[key], out[key])
    print(f"tau_syn = {args.tau_syn!r}, 100 samples, best of {args.rounds} x {args.inner} rounds, CPU clock")
    if args.split:
        for name, b in best.items():
            print(f"{name}: _order_spikes {b['order_us']:.2f} us, _record {b['record_us']:.2f} us, "
                  f"argsort of the hidden spikes {b['sort_us']:.2f} us")
        base, this = best["baseline"], best["this tree"]
        print("baseline / this tree: " + ", ".join(f"{k} {base[k] / this[k]:.2f}x" for k in base))
        return
    for name, b in best.items():
        print(f"{name}: simulate_one(path=0) {b['sim_us']:.1f} us, _input_stream + _run_all {b['run_all_us']:.1f} us, "
              f"rest {b['sim_us'] - b['run_all_us']:.1f} us")
    base, this = best["baseline"], best["this tree"]
    print(f"baseline / this tree: simulate_one {base['sim_us'] / this['sim_us']:.2f}x, _run_all "
          f"{base['run_all_us'] / this['run_all_us']:.2f}x, rest "
          f"{(base['sim_us'] - base['run_all_us']) / (this['sim_us'] - this['run_all_us']):.2f}x")


if __name__ == "__main__":
    main()
