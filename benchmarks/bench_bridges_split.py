"""Where a like-for-like bridge step spends its time beyond ``batch_loss_grad`` (issue 13).

The step learns the weights and every model parameter (``+params``: the same gradient work as
``batch_loss_grad``) on the bench's batches (``bench_bridges.setup``: 50 Yin-Yang samples, 8 batches
cycled). Each round runs the baseline and one bridge step, and stamps pieces with the thread's CPU clock
(``time.thread_time``; one numba thread, so the main thread does all the work):

- torch: ``zero_grad``, the forward (``ExactSNN(...)``: the engine call ``batch_simulate_jacobian``, the
  rest of ``LayerSpec.simulate``, the glue around it), the loss in torch, ``backward()`` (the contraction
  ``JacobianBatch.grads``, the loss's autograd nodes and the bridge's glue);
- jax: ``jit(grad(loss, (0, 1)))``: the forward host function (engine call and its Python), the backward
  host function (``grads``) and everything outside the two (XLA: the loss, the callbacks, dispatch).

The engine, ``LayerSpec.simulate`` and ``JacobianBatch.grads`` are timed by wrapping them for this run
(a few microseconds per stamp). Medians over rounds; the baseline's engine call is split the same way.

Run:  NUMBA_NUM_THREADS=1 python benchmarks/bench_bridges_split.py [--rounds 200] [--only torch|jax]
"""

import argparse
import collections
import os
import time

import numpy as np

import bench_bridges as bb
from exactsnn.compiled import CompiledModel
from exactsnn.interop import jacobian_batch, layer_spec

CLOCK = time.thread_time
T = collections.defaultdict(list)


def wrap(owner, name, label):
    """Time every call of ``owner.name`` into ``T[label]`` (label None: ``'engine ' + kernel name``)."""
    real = getattr(owner, name)

    def timed(*args, **kw):
        t0 = CLOCK()
        out = real(*args, **kw)
        T[label or "engine " + args[1]].append(CLOCK() - t0)
        return out
    setattr(owner, name, timed)


def torch_step(c, layer, data):
    """One stamped +params torch step (the bench's loss); ``data`` = (inputs, labels, rows) tensors."""
    xt, lab, rows = data
    t0 = CLOCK()
    layer.zero_grad()
    t1 = CLOCK()
    out = layer(xt)
    t2 = CLOCK()
    loss = bb.torch_loss(c, out.t_first, rows, lab)
    t3 = CLOCK()
    loss.backward()
    t4 = CLOCK()
    for k, a, b in (("zero_grad", t0, t1), ("forward", t1, t2), ("loss forward", t2, t3), ("backward", t3, t4),
                    ("step", t0, t4)):
        T[k].append(b - a)


def report(framework):
    med = {k: 1e6 * np.median(v) for k, v in T.items()}
    base, engine = med["batch_loss_grad"], med["engine batch_loss_grad"]
    print(f"{framework} +params, load average {os.getloadavg()[0]:.2f}; medians in us (share of the baseline)")
    rows = [("batch_loss_grad", base), ("  its engine call", engine), ("  its Python", base - engine),
            ("bridge step", med["step"]), ("  engine batch_simulate_jacobian", med["engine batch_simulate_jacobian"]),
            ("  engine - baseline engine", med["engine batch_simulate_jacobian"] - engine)]
    if framework == "torch":
        sim, jac = med["spec.simulate"], med["engine batch_simulate_jacobian"]
        rows += [("  zero_grad", med["zero_grad"]), ("  forward minus engine", med["forward"] - jac),
                 ("    of which LayerSpec.simulate's Python", sim - jac),
                 ("  loss forward (torch)", med["loss forward"]), ("  backward", med["backward"]),
                 ("    of which contraction (JacobianBatch.grads)", med["contract"])]
    else:
        rows += [("  host forward minus engine", med["host forward"] - med["engine batch_simulate_jacobian"]),
                 ("  host backward", med["host backward"]), ("    of which contraction", med["contract"]),
                 ("  outside the host functions (XLA)", med["step"] - med["host forward"] - med["host backward"])]
    for k, v in rows:
        print(f"{k:>46}: {v:9.1f} ({v / base:6.3f})")
    print(f"{'step / batch_loss_grad':>46}: {med['step'] / base:.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--only", choices=["torch", "jax"], default="torch")
    args = ap.parse_args()
    c, net, xs, labels = bb.setup(50, 8)
    base = [bb.baseline(c, net, x, lab) for x, lab in zip(xs, labels)]
    wrap(CompiledModel, "call", None)
    wrap(jacobian_batch.JacobianBatch, "grads", "contract")
    if args.only == "torch":
        import torch
        from exactsnn.torch import ExactSNN
        wrap(layer_spec.LayerSpec, "simulate", "spec.simulate")
        names = ExactSNN(net, c.model, c.t_max, c.params).spec.compiled.param_names
        layer = ExactSNN(net, c.model, c.t_max, c.params, learn=("weight", *names))
        data = [(torch.tensor(x), torch.tensor(lab), torch.arange(len(lab))) for x, lab in zip(xs, labels)]
        steps = [lambda d=d: torch_step(c, layer, d) for d in data]
    else:
        import exactsnn.interop.jax as bridge
        wrap(bridge, "_host_forward", "host forward")
        wrap(bridge, "_host_vjp", "host backward")
        grad, _ = bb.jax_steps(c, net, xs, labels, (0, 1))
        steps = [lambda: (lambda t0: (grad(), T["step"].append(CLOCK() - t0)))(CLOCK())] * len(xs)
    for i in range(2 * len(xs)):  # compile and warm up
        base[i % len(xs)]()
        steps[i % len(xs)]()
    T.clear()
    for i in range(args.rounds):
        t0 = CLOCK()
        base[i % len(xs)]()
        T["batch_loss_grad"].append(CLOCK() - t0)
        steps[i % len(xs)]()
    report(args.only)


if __name__ == "__main__":
    main()
