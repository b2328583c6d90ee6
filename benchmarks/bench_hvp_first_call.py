"""First-call seconds of the second-order functions in a fresh process (issue 16: disk-cacheable compile).

Imports exactsnn, runs ``simulate`` and ``batch_loss_grad`` (first-order engine, cached on disk), then times the
first and the second call of ``hvp`` (every block), ``spike_hessian`` and ``batch_hvp`` on a 3-6-2 ``lif`` net
and 4 patterns. With a warm cache (run it twice; the first run after any change of a numeric source compiles)
the first call should cost about as much as the second plus loading the cached machine code. The script runs
on older trees too (``batch_hvp`` without ``model_block``: weights and delays only).

Run:  python benchmarks/bench_hvp_first_call.py     (wall-clock seconds)
"""

import inspect
import time

T0 = time.perf_counter()
import numpy as np  # noqa: E402

from exactsnn import Loss, Network, batch_hvp, batch_loss_grad, hvp, simulate, spike_hessian  # noqa: E402
from exactsnn.hessian import n_params  # noqa: E402


def main():
    print(f"import {time.perf_counter() - T0:.2f} s")
    rng = np.random.default_rng(0)
    net = Network.feedforward([rng.normal(0.6, 0.4, (3, 6)), rng.normal(0.3, 0.2, (6, 2))])
    pats = [[sorted(rng.uniform(0.1, 1.0, 2).tolist()) for _ in range(3)] for _ in range(4)]
    loss = Loss("ttfs_cross_entropy", label=0)
    t0 = time.perf_counter()
    r = simulate("lif", net, pats[0], 4.0)
    batch_loss_grad("lif", net, pats, 4.0, loss)
    print(f"simulate + batch_loss_grad (first-order, cached) {time.perf_counter() - t0:.2f} s")
    v = rng.normal(size=n_params(r) + r.ptab.size)
    vb = v[:2 * net.n_synapses]
    cases = [("hvp every block", lambda: hvp(r, loss, v)), ("spike_hessian", lambda: spike_hessian(r)),
             ("batch_hvp", lambda: batch_hvp("lif", net, pats, 4.0, loss, vb))]
    if "model_block" in inspect.signature(batch_hvp).parameters:
        cases.append(("batch_hvp model_block=False",
                      lambda: batch_hvp("lif", net, pats, 4.0, loss, vb, model_block=False)))
    for name, fn in cases:
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        fn()
        print(f"{name}: first call {t1 - t0:.2f} s, second {time.perf_counter() - t1:.4f} s")


if __name__ == "__main__":
    main()
