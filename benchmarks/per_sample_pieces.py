"""Warm-loop cost of each piece of the per-sample API (`simulate` + `loss_grad`) on one pattern of the
bench_engine.py net (tau_syn = 1), process CPU time, best of 5; runs on whichever tree is on PYTHONPATH
(the old tree lacks exactsnn.packing and times its `validate_inputs` + `pack_inputs` path instead).

Run:  PYTHONPATH=TREE python benchmarks/per_sample_pieces.py
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import network_weights, patterns, T_MAX
from exactsnn import Loss, Network, simulate, loss_grad
from exactsnn.simulate import Topology
from exactsnn.network import validate_inputs
from exactsnn.resolve import resolve
from exactsnn.diagnostics import diagnose
from exactsnn.losses import loss_value_and_dt
from exactsnn.grad import adjoint
S = sys.modules["exactsnn.simulate"]
net = Network.feedforward(list(network_weights()))
pat = patterns(20)[0]
params = {"tau_syn": 1.0, "tau_mem": 1.0, "threshold": 1.0}
m = resolve("lif")
r = simulate("lif", net, pat, T_MAX, params=params)
loss = Loss("ttfs_cross_entropy", label=1)
_, dl, _ = loss_value_and_dt(r, loss)
try:
    from exactsnn.packing import pack_pattern

    def pack():
        return pack_pattern(pat, 5)

    def ptab():
        return S.param_table(m, params, 1)

    def policy():
        return sys.modules["exactsnn.diagnostics"].apply_policy(r, "flag")
except ImportError:  # the tree before the per-sample work
    def pack():
        return S.pack_inputs(validate_inputs(pat, 5))

    def ptab():
        return m.param_table(params, 1)

    def policy():
        return sys.modules["exactsnn.diagnostics"].check_spikes(r, "flag")
topo = Topology.of(net)
pt = m.param_table(params, 1)
it, isrc = S.pack_inputs(validate_inputs(pat, 5))
pop = np.zeros(net.n_neurons, np.int64)
w0 = np.zeros(0, np.int64)


def T(name, f, n=2000):
    best = 1e9
    for _ in range(5):
        t = time.process_time()
        for _ in range(n):
            f()
        best = min(best, (time.process_time() - t) / n)
    print(f"| {name} | {best * 1e6:.1f} |")


print(f"spikes {r.n_spikes}, arrivals {r.record.n_arrivals}")
T("input check + packing", pack)
T("parameter table", ptab)
T("Topology.of", lambda: Topology.of(net))
T("diagnose", lambda: diagnose(r))
T("policy check in adjoint", policy)
T("loss_value_and_dt", lambda: loss_value_and_dt(r, loss))
T("adjoint() total", lambda: adjoint(r, dl, "flag"), 500)
T("adjoint_core (engine)", lambda: m.module.adjoint_core(*r.engine_args(), dl), 500)
T("simulate_one (engine)", lambda: m.module.simulate_one(pt, pop, it, isrc, 5, net.n_neurons, topo.syn_post, topo.syn_w,
                                                         topo.syn_d, topo.out_ptr, topo.out_syn, T_MAX, 100000, True,
                                                         w0, 0), 100)
T("simulate() total", lambda: simulate("lif", net, pat, T_MAX, params=params), 100)
T("simulate() + loss_grad()",
  lambda: loss_grad(simulate("lif", net, pat, T_MAX, params=params), loss, policy="flag"), 100)
