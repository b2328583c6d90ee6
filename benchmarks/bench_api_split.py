"""Where the per-sample API's time goes beyond the batch kernel (issue 14, item 5), in one process.

Work: ``bench_engine.py``'s network and patterns (5-120-3 LIF, t_max = 2, 100 patterns, TTFS loss; one thread).
Each round times, per pattern, interleaved:

- ``engine loop``: the engine's ``simulate_one`` (feed-forward path: spikes by time, its causal record) in one numba loop;
- ``pooled loop``: what ``simulate()`` + ``loss_grad`` run on this feed-forward net since issue 14's twelfth pass,
  ``simulate_pooled`` + ``loss_adjoint_pooled`` (no time order), in one numba loop;
- ``engine from Python``: the same function called from Python once per pattern (numba's dispatch);
- ``simulate()``: the public call (input checks, packing, the result object);
- ``simulate() + loss_grad``: the per-sample API, as ``bench_engine.py`` times it;
- ``loss_grad`` alone, on results simulated beforehand;
- ``batch_loss_grad``: the batch kernel on the same 100 patterns.

Prints each one's min and median over the rounds (process CPU time, per pattern) and the API / batch ratio
(median of each round's ratio). Private engine functions: this script follows the engine, it is not an API.

Run:  NUMBA_NUM_THREADS=1 python benchmarks/bench_api_split.py [--rounds 15] [--tau-syn 1.001001001001001]
"""

import argparse
import time

import numpy as np
from numba import njit

from bench_engine import T_MAX, network_weights, patterns
from exactsnn import Loss, Network, Patterns, batch_loss_grad, loss_grad, simulate
from exactsnn.diagnostics import TIME_TOL, VDOT_TOL
from exactsnn.losses import KINDS
from exactsnn.resolve import resolve
from exactsnn.simulate import Topology, _feedforward_tables


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--tau-syn", type=float, default=1 / 0.999)
    args = ap.parse_args()
    params = {"tau_syn": args.tau_syn, "tau_mem": 1.0, "threshold": 1.0}
    net = Network.feedforward(list(network_weights()))
    pats = patterns(100)
    labels = np.random.default_rng(2).integers(0, 3, len(pats))
    losses = [Loss("ttfs_cross_entropy", label=int(lab)) for lab in labels]
    compiled = resolve("lif")
    ptab, topo = compiled.param_table(params, 1), Topology.of(net)
    pop, no_watch = np.zeros(net.n_neurons, np.int64), np.zeros(0, np.int64)
    packed = Patterns.pack(pats, net.n_inputs)
    sim_one = compiled.module.simulate_one
    n_in, n_neurons = net.n_inputs, net.n_neurons
    engine = (topo.syn_post, topo.syn_w, topo.syn_d, topo.out_ptr, topo.out_syn)

    sim_pooled, loss_pooled = compiled.module.simulate_pooled, compiled.module.loss_adjoint_pooled
    outputs = net.outputs.astype(np.int64)
    n_syn = net.n_synapses
    kind = KINDS["ttfs_cross_entropy"]
    ff_tab = _feedforward_tables(compiled, net, topo)[1]

    @njit
    def pooled_loop(times, src, ptr, labels, syn_post, syn_w, syn_d, out_ptr, out_syn):
        acc = 0.0
        for b in range(ptr.size - 1):
            ok, n_spk, n_arr, _, _, f, i = sim_pooled(ptab, pop, times[ptr[b]:ptr[b + 1]], src[ptr[b]:ptr[b + 1]], n_in,
                                                      n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, T_MAX,
                                                      10 ** 6, True, ff_tab)
            r = loss_pooled(ptab, pop, n_syn, ptr[b + 1] - ptr[b], n_neurons, n_spk, n_arr, f, i, syn_w, kind,
                            outputs, T_MAX, labels[b], 0.2, 1.0, 0.005, VDOT_TOL, TIME_TOL, VDOT_TOL)
            acc += r[0]
        return acc

    @njit
    def engine_loop(times, src, ptr, syn_post, syn_w, syn_d, out_ptr, out_syn):
        acc = 0.0
        for b in range(ptr.size - 1):
            r = sim_one(ptab, pop, times[ptr[b]:ptr[b + 1]], src[ptr[b]:ptr[b + 1]], n_in, n_neurons, syn_post,
                        syn_w, syn_d, out_ptr, out_syn, T_MAX, 10 ** 6, True, no_watch, 0)
            acc += r[1]
        return acc

    rows = [(packed.times[packed.ptr[b]:packed.ptr[b + 1]], packed.src[packed.ptr[b]:packed.ptr[b + 1]])
            for b in range(len(pats))]
    results = [simulate("lif", net, p, T_MAX, params=params) for p in pats]
    work = {
        "engine loop": lambda: engine_loop(packed.times, packed.src, packed.ptr, *engine),
        "pooled loop": lambda: pooled_loop(packed.times, packed.src, packed.ptr, labels, *engine),
        "engine from Python": lambda: [sim_one(ptab, pop, t, s, n_in, n_neurons, *engine, T_MAX, 10 ** 6, True,
                                               no_watch, 0) for t, s in rows],
        "simulate()": lambda: [simulate("lif", net, p, T_MAX, params=params) for p in pats],
        "simulate() + loss_grad": lambda: [loss_grad(simulate("lif", net, p, T_MAX, params=params), loss,
                                                     policy="flag") for p, loss in zip(pats, losses)],
        "loss_grad": lambda: [loss_grad(r, loss, policy="flag") for r, loss in zip(results, losses)],
        "batch_loss_grad": lambda: batch_loss_grad("lif", net, pats, T_MAX, Loss("ttfs_cross_entropy"),
                                                   labels=labels, params=params),
    }
    for f in work.values():
        f()
    times = {name: [] for name in work}
    for _ in range(args.rounds):
        for name, f in work.items():
            t0 = time.process_time()
            f()
            times[name].append((time.process_time() - t0) / len(pats) * 1e6)
    print(f"tau_syn = {args.tau_syn}, {len(pats)} patterns, {args.rounds} interleaved rounds, us per pattern (CPU)")
    for name, v in times.items():
        print(f"  {name:24s} min {min(v):7.1f}  median {np.median(v):7.1f}")
    ratio = np.array(times["simulate() + loss_grad"]) / np.array(times["batch_loss_grad"])
    print(f"  per-sample API / batch (median of the rounds' ratios): {np.median(ratio):.3f}")


if __name__ == "__main__":
    main()
