"""Throughput overhead of the PyTorch and JAX bridges over ``batch_loss_grad`` (issue 13).

One training step's worth of work on a batch of 50 Yin-Yang samples (the trainer's network at its
initial weights: 5 inputs incl. bias, 120 hidden, 3 outputs, bias -> outputs; lif, t_max = 4):

- baseline ``batch_loss_grad``: simulation + TTFS cross-entropy + adjoint, in numba, per-sample gradients;
- torch: ``ExactSNN`` forward, the same loss written in torch, ``backward()`` (the forward computes the
  first-spike Jacobians; the backward contracts them with the loss's dL/dt_first);
- torch, exactsnn loss: the same step with exactsnn's loss node (``exactsnn.torch.spike_loss``: one
  ``autograd.Function``, the numba ``loss_and_grad`` over rows) instead of the loss written in torch;
- jax grad: ``jit(grad(loss))`` (jit drops the forward callback: one simulation + adjoint);
- jax value_and_grad: ``jit(value_and_grad(loss))`` (forward callback + backward callback on the
  forward's records: one simulation + adjoint);
- two passes: the bridges' shared core without a framework, ``LayerSpec.simulate`` (records kept) then
  ``SpikeBatch.adjoint`` with dL/dt = 1 at every first output spike (the sweep's work does not depend on
  the values) and the batch sums: the cost of splitting ``batch_loss_grad`` into two engine calls;
- two passes + torch loss: the same with dL/dt from the loss in torch autograd on a leaf tensor (the
  framework's share without the bridge's ``autograd.Function``);
- jacobian: the bridges' default forward for first spikes without a framework, ``LayerSpec.simulate(...,
  jacobian=True)`` (simulation, then the per-output adjoint sweeps while each record is hot, keeping
  d t_first / dq) and ``JacobianBatch.grads`` (one contraction with dL/dt_first = 1).

Rounds are interleaved (every method once per round) and the median per method is reported, with
its ratio to the baseline's median in the same run, in wall time and in CPU time of the process
(``time.process_time``: all threads; on a shared machine it is less disturbed by other processes), and the
median over rounds of each round's CPU ratio to the baseline (paired: slow drifts of the machine's load cancel).
``--batches N`` cycles through N different batches (a training run's pattern: record sizes change from
step to step); the default repeats one batch. ``--only torch`` / ``--only jax`` leaves the other
framework out of the process.

``--records`` adds the torch layer with ``jacobian_bytes=0`` (records kept, adjoint sweeps in the backward: the
path before first-spike Jacobians) and, in torch and JAX, steps that also learn every model parameter
(``+params``: the Jacobian keeps the parameter columns, whose kernel derivatives the weights-only layers
skip; ``batch_loss_grad`` always computes them: the like-for-like comparison), with either loss.

Run:  NUMBA_NUM_THREADS=1 python benchmarks/bench_bridges.py [--rounds 40] [--batches 8] [--only torch] [--records]
"""

import argparse
import itertools
import os
import time

import numba
import numpy as np

from exactsnn.interop.layer_spec import LayerSpec
from exactsnn.losses import Patterns, batch_loss_grad
from exactsnn.training import datasets
from exactsnn.training.trainer import config_for, initial_state


def setup(batch, n_batches=1):
    """Config, network and ``n_batches`` consecutive batches (times, labels) of the training set."""
    c = config_for("yinyang")
    data = datasets.yinyang("train")
    state = initial_state(c, data.n_channels, data.n_classes)
    xs = [data.times[i * batch:(i + 1) * batch] for i in range(n_batches)]
    return c, state.network(), xs, [data.labels[i * batch:(i + 1) * batch] for i in range(n_batches)]


def cycle(steps):
    """One call runs the next step of ``steps`` (one per batch)."""
    it = itertools.cycle(steps)
    return lambda: next(it)()


def baseline(c, net, x, labels):
    pats = Patterns.first_spikes(x)
    return lambda: batch_loss_grad(c.model, net, pats, c.t_max, c.loss, labels=labels, params=c.params)


def two_passes(c, spec, x):
    init = spec.initial(c.params)

    def run():
        b = spec.simulate(init["weight"], init["delay"], init["params"], x)
        g = b.adjoint(b.dl_dt(np.ones(b.t_first.shape)), inputs=False)
        return g["weight"].sum(axis=0), g["delay"].sum(axis=0), g["params"].sum(axis=0)
    return run


def torch_loss(c, t, rows, lab):
    """The trainer's TTFS cross-entropy of first spike times ``t`` (B, 3), in torch."""
    import torch
    ce = -torch.log_softmax(-t / c.tau0, dim=1)[rows, lab] + c.gamma * (torch.exp(t[rows, lab] / c.tau1) - 1)
    return ce.mean()


def jacobian(c, spec, x):
    init = spec.initial(c.params)

    def run():
        b = spec.simulate(init["weight"], init["delay"], init["params"], x, jacobian=True)
        return b.grads(np.ones(b.t_first.shape), keys=("weight", "delay", "params"))
    return run


def two_passes_torch_loss(c, spec, x, labels):
    """``two_passes`` with dL/dt from the loss in torch (autograd on a leaf tensor of first spike times):
    the bridge's work without the bridge (no autograd.Function, no tensor checks)."""
    import torch
    init = spec.initial(c.params)
    lab, rows = torch.tensor(labels), torch.arange(len(labels))

    def run():
        b = spec.simulate(init["weight"], init["delay"], init["params"], x)
        t = torch.from_numpy(b.t_first).requires_grad_()
        torch_loss(c, t, rows, lab).backward()
        g = b.adjoint(b.dl_dt(t.grad.numpy()), inputs=False)
        return torch.from_numpy(g["weight"].sum(axis=0))
    return run


def torch_step(c, net, x, labels, layer=None, exact_loss=False):
    """One step of the torch layer: the loss written in torch (``torch_loss``) or, with ``exact_loss``,
    exactsnn's loss node (``exactsnn.torch.spike_loss``: one autograd node, the same value)."""
    import torch
    from exactsnn.torch import ExactSNN, spike_loss

    layer = ExactSNN(net, c.model, c.t_max, c.params) if layer is None else layer
    xt, lab = torch.tensor(x), torch.tensor(labels)
    rows = torch.arange(len(labels))
    loss = c.loss

    def run():
        layer.zero_grad()
        out = layer(xt)
        (spike_loss(out, loss, lab) if exact_loss else torch_loss(c, out.t_first, rows, lab)).backward()
        return layer.weight.grad
    return run


def jax_steps(c, net, xs, labels, argnums=(0,)):
    """``jit(grad)`` and ``jit(value_and_grad)`` steps of the loss with respect to ``argnums`` of (weights,
    model parameter table): (0,) learns the weights, (0, 1) also every model parameter (``+params``)."""
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    from exactsnn.jax import LayerSpec, spike_times

    spec = LayerSpec.build(net, c.model, c.t_max)
    init = spec.initial(c.params)
    xjs = [jnp.asarray(x) for x in xs]
    onehots = [jax.nn.one_hot(jnp.asarray(lab), 3, dtype=jnp.float64) for lab in labels]

    def loss(w, p, xj, onehot):
        t = spike_times(spec, w, init["delay"], p, xj)[0]
        t_lab = jnp.sum(t * onehot, axis=1)
        ce = -jnp.sum(jax.nn.log_softmax(-t / c.tau0, axis=1) * onehot, axis=1) + c.gamma * (
            jnp.exp(t_lab / c.tau1) - 1)
        return jnp.mean(ce)

    g, vg = jax.jit(jax.grad(loss, argnums)), jax.jit(jax.value_and_grad(loss, argnums))
    w, p = init["weight"], init["params"]
    grads = [lambda xj=xj, oh=oh: jax.block_until_ready(g(w, p, xj, oh)) for xj, oh in zip(xjs, onehots)]
    vgs = [lambda xj=xj, oh=oh: jax.block_until_ready(vg(w, p, xj, oh)[1]) for xj, oh in zip(xjs, onehots)]
    return cycle(grads), cycle(vgs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--batches", type=int, default=1)
    ap.add_argument("--only", choices=["torch", "jax"])
    ap.add_argument("--records", action="store_true", help="also torch with jacobian_bytes=0 (records + adjoint)")
    args = ap.parse_args()
    c, net, xs, labels = setup(args.batch, args.batches)
    methods = {"batch_loss_grad": cycle([baseline(c, net, x, lab) for x, lab in zip(xs, labels)])}
    spec = LayerSpec.build(net, c.model, c.t_max)  # one spec: its record capacity carries over, as in the bridges
    methods["two passes"] = cycle([two_passes(c, spec, x) for x in xs])
    methods["jacobian"] = cycle([jacobian(c, spec, x) for x in xs])
    if args.only != "jax":
        from exactsnn.torch import ExactSNN
        layer = ExactSNN(net, c.model, c.t_max, c.params)  # one layer: its record capacity carries over
        methods["two passes + torch loss"] = cycle([two_passes_torch_loss(c, spec, x, lab) for x, lab in zip(xs, labels)])
        methods["torch"] = cycle([torch_step(c, net, x, lab, layer) for x, lab in zip(xs, labels)])
        methods["torch, exactsnn loss"] = cycle([torch_step(c, net, x, lab, layer, True) for x, lab in zip(xs, labels)])
        if args.records:
            kept = ExactSNN(net, c.model, c.t_max, c.params, jacobian_bytes=0)
            methods["torch, records"] = cycle([torch_step(c, net, x, lab, kept) for x, lab in zip(xs, labels)])
            every = ExactSNN(net, c.model, c.t_max, c.params, learn=("weight", *kept.spec.compiled.param_names))
            methods["torch, +params"] = cycle([torch_step(c, net, x, lab, every) for x, lab in zip(xs, labels)])
            methods["torch, +params, exactsnn loss"] = cycle([torch_step(c, net, x, lab, every, True)
                                                              for x, lab in zip(xs, labels)])
    if args.only != "torch":
        methods["jax grad"], methods["jax value_and_grad"] = jax_steps(c, net, xs, labels)
        if args.records:
            methods["jax grad, +params"], methods["jax v_and_g, +params"] = jax_steps(c, net, xs, labels, (0, 1))
    for f in methods.values():  # compile and warm up
        for _ in range(max(2, args.batches)):
            f()
    wall, cpu = {k: [] for k in methods}, {k: [] for k in methods}
    for _ in range(args.rounds):
        for k, f in methods.items():
            t0, c0 = time.perf_counter(), time.process_time()
            f()
            wall[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
    base_wall, base_cpu = np.median(wall["batch_loss_grad"]), np.median(cpu["batch_loss_grad"])
    print(f"batch {args.batch} Yin-Yang samples, {args.batches} batch(es) cycled, {args.rounds} interleaved rounds, "
          f"numba threads {numba.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")
    base_min = np.min(cpu["batch_loss_grad"])
    for k in methods:
        w, u, m = np.median(wall[k]), np.median(cpu[k]), np.min(cpu[k])
        paired = np.median(np.array(cpu[k]) / np.array(cpu["batch_loss_grad"]))  # same round: drift cancels
        print(f"{k:>29}: wall {1e3 * w:7.2f} ms (ratio {w / base_wall:5.2f})   cpu {1e3 * u:7.2f} ms "
              f"(ratio {u / base_cpu:5.2f})   min cpu {1e3 * m:7.2f} ms (ratio {m / base_min:5.2f})   "
              f"paired cpu ratio {paired:5.3f}")


if __name__ == "__main__":
    main()
