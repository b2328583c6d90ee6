"""Where the feed-forward path's per-neuron time goes, against the floor of one state update per arrival (issue 14).

Work: ``bench_engine.py``'s net and patterns (5-120-3 LIF, tau_syn = 1/0.999 or 1, t_max = 2, 100 patterns, one
thread). The arrivals each neuron sees are taken from one feed-forward run (``_run_all``), then timed in one numba
loop per layer (no Python per neuron):

- *neuron runs*: ``_neurons_run`` over those arrivals, one neuron per call, as the engine runs it (window tests, polishes, resets);
- *floor*: only the state update at each arrival (``state_basis3`` + ``state_shift_basis``: the one exponential and
  the divided difference that any exact event-driven method pays per arrival), no crossing search.

It also counts, per sample, the window tests that ``_neurons_run`` makes and how many found a crossing, split by
whether the neuron had an arrival left (a finite window) or not (the search runs to t_max). Process CPU time,
best of ``--repeats``. Private engine functions: this script follows the engine, it is not an API.

Run:  NUMBA_NUM_THREADS=1 python benchmarks/engine_floor.py [--repeats 9] [--tau-syn 1.001001001001001]
"""

import argparse
import math
import time

import numpy as np
from numba import njit

from bench_engine import T_MAX, network_weights, patterns
from exactsnn import Network, Patterns
from exactsnn.compiled import load_builtin
from exactsnn.numeric.newton_state import state_basis3, state_shift_basis
from exactsnn.simulate import Topology


def arrivals(m, net, ptab, pats):
    """Every neuron's sorted arrivals in one flat array: (at, asyn, lo, hi) with neuron j of pattern b at
    lo[b * n + j]:hi[b * n + j]."""
    topo, pop = Topology.of(net), np.zeros(net.n_neurons, np.int64)
    packed = Patterns.pack(pats, net.n_inputs)
    at, asyn, lo, hi, off = [], [], [], [], 0
    for b in range(len(pats)):
        t, s = packed.times[packed.ptr[b]:packed.ptr[b + 1]], packed.src[packed.ptr[b]:packed.ptr[b + 1]]
        stream = m._input_stream(t, s, topo.out_ptr, topo.out_syn, topo.syn_d)
        r = m._run_all(ptab, pop, t, s, net.n_inputs, net.n_neurons, topo.syn_post, topo.syn_w, topo.syn_d,
                       topo.out_ptr, topo.out_syn, T_MAX, 10 ** 6, True, *stream)
        arr_lo = r[9]
        n = arr_lo[-1]
        at.append(r[7][:n]), asyn.append(r[8][:n]), lo.append(arr_lo[:-1] + off), hi.append(arr_lo[1:] + off)
        off += n
    return topo.syn_w, *map(np.concatenate, (at, asyn, lo, hi))


@njit
def floor(sel, x0, x1, k0, k1, syn_w, at, asyn, lo, hi):
    total = 0.0
    for i in range(lo.size):
        if sel[i]:
            c0 = c1 = st = 0.0
            for a in range(lo[i], hi[i]):
                e0, n1, e1 = state_basis3(at[a] - st, x0, x1, False)
                c0, c1 = state_shift_basis(c0, c1, e0, n1, e1, k0, k1, syn_w[asyn[a]], False)
                st = at[a]
            total += c0
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--tau-syn", type=float, default=1 / 0.999)
    args = ap.parse_args()
    m = load_builtin("lif").module
    ptab = load_builtin("lif").param_table({"tau_syn": args.tau_syn, "tau_mem": 1.0, "threshold": 1.0}, 1)
    net = Network.feedforward(list(network_weights()))
    pats = patterns(100)
    syn_w, at, asyn, lo, hi = arrivals(m, net, ptab, pats)
    theta, cf, nodes, psp, reset = m._population_tables(ptab, True)
    (x0, x1), (k0, k1), (r0, r1) = nodes[0], psp[0], reset[0]
    run, test = m._neurons_run, m.state_crossing_before
    bounds = np.stack([lo, hi], axis=1).astype(np.int64)  # each neuron's arrival range, as arr_lo of one neuron
    pop0 = np.zeros(1, np.int64)

    @njit
    def runs(sel, pool_t, pool_v, pool_g, pool_h, spk_lo, spk_hi, near):  # written arrays: arguments, not globals
        spikes = 0
        for i in range(lo.size):
            if sel[i]:
                spikes += run(0, 1, pop0, cf, nodes, psp, reset, theta, T_MAX, 10 ** 9, syn_w, at, asyn, bounds[i],
                              pool_t, pool_v, pool_g, pool_h, 0, spk_lo, spk_hi, near)[2]
        return spikes

    @njit
    def window_counts(sel, counts):
        """_neurons_run's sequence of window tests (its state updates, without the pool), counted."""
        for i in range(lo.size):
            if not sel[i]:
                continue
            c0 = c1 = st = 0.0
            cand, a = math.inf, lo[i]
            while True:
                t_arr = at[a] if a < hi[i] else math.inf
                if cand <= t_arr and cand <= T_MAX:
                    e0, n1, e1 = state_basis3(cand - st, x0, x1, False)
                    c0, c1 = state_shift_basis(c0, c1, e0, n1, e1, r0, r1, -1.0, False)
                    st = cand
                elif t_arr <= T_MAX:
                    e0, n1, e1 = state_basis3(t_arr - st, x0, x1, False)
                    c0, c1 = state_shift_basis(c0, c1, e0, n1, e1, k0, k1, syn_w[asyn[a]], False)
                    st, a = t_arr, a + 1
                else:
                    break
                last = a >= hi[i]
                cand = test(cf[0], x0, x1, c0, c1, theta[0], st, T_MAX, at[a] if not last else math.inf)[0]
                counts[2 * last + (cand < math.inf)] += 1

    pool = (np.empty(10 ** 5), np.empty(10 ** 5), np.empty(10 ** 5), np.empty(10 ** 5, np.int64),
            np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros((1, 2)))
    layer = np.arange(lo.size) % net.n_neurons
    n_b = len(pats)
    print(f"tau_syn = {args.tau_syn}, {n_b} patterns, per pattern (process CPU, best of {args.repeats})")
    print("| neurons | arrivals | spikes | neuron runs us | floor us | ns per event, runs | ns per arrival, floor |"
          " finite windows (crossing) | to t_max (crossing) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, sel in (("hidden", layer < 120), ("output", layer >= 120)):
        timed = {"runs": lambda: runs(sel, *pool), "floor": lambda: floor(sel, x0, x1, k0, k1, syn_w, at, asyn, lo, hi)}
        spikes = timed["runs"]() / n_b
        best = {}
        for key, f in timed.items():
            f()
            best[key] = min(_cpu(f) for _ in range(args.repeats)) / n_b
        n_arr = (hi - lo)[sel].sum() / n_b
        counts = np.zeros(4, np.int64)
        window_counts(sel, counts)
        c = counts / n_b
        print(f"| {name} | {n_arr:.0f} | {spikes:.0f} | {1e6 * best['runs']:.1f} | {1e6 * best['floor']:.1f} | "
              f"{1e9 * best['runs'] / (n_arr + spikes):.0f} | {1e9 * best['floor'] / n_arr:.0f} | "
              f"{c[0] + c[1]:.0f} ({c[1]:.0f}) | {c[2] + c[3]:.0f} ({c[3]:.0f}) |")


def _cpu(f):
    t0 = time.process_time()
    f()
    return time.process_time() - t0


if __name__ == "__main__":
    main()
