"""Throughput overhead of the PyTorch and JAX bridges over ``batch_loss_grad`` (issue 13).

One training step's worth of work on a batch of 50 Yin-Yang samples (the trainer's network at its
initial weights: 5 inputs incl. bias, 120 hidden, 3 outputs, bias -> outputs; lif, t_max = 4):

- baseline ``batch_loss_grad``: simulation + TTFS cross-entropy + adjoint, in numba, per-sample gradients;
- torch: ``ExactSNN`` forward, the same loss written in torch, ``backward()`` (the forward keeps
  the causal records; the backward runs only the adjoint sweeps);
- jax grad: ``jit(grad(loss))`` (jit drops the forward callback: one simulation + adjoint);
- jax value_and_grad: ``jit(value_and_grad(loss))`` (forward callback + backward callback, which
  simulates again: two simulations + adjoint).

Rounds are interleaved (every method once per round) and the median per method is reported, with
its ratio to the baseline's median in the same run.

Run:  NUMBA_NUM_THREADS=2 python benchmarks/bench_bridges.py [--rounds 30]
"""

import argparse
import time

import numba
import numpy as np

from exactsnn.losses import Patterns, batch_loss_grad
from exactsnn.training import datasets
from exactsnn.training.trainer import config_for, initial_state


def setup(batch):
    c = config_for("yinyang")
    data = datasets.yinyang("train")
    state = initial_state(c, data.n_channels, data.n_classes)
    return c, state.network(), data.times[:batch], data.labels[:batch]


def baseline(c, net, x, labels):
    pats = Patterns.first_spikes(x)
    return lambda: batch_loss_grad(c.model, net, pats, c.t_max, c.loss, labels=labels, params=c.params)


def torch_step(c, net, x, labels):
    import torch
    from exactsnn.torch import ExactSNN

    layer = ExactSNN(net, c.model, c.t_max, c.params)
    xt, lab = torch.tensor(x), torch.tensor(labels)
    rows = torch.arange(len(labels))

    def run():
        layer.zero_grad()
        t = layer(xt).t_first
        ce = -torch.log_softmax(-t / c.tau0, dim=1)[rows, lab] + c.gamma * (torch.exp(t[rows, lab] / c.tau1) - 1)
        ce.mean().backward()
        return layer.weight.grad
    return run


def jax_steps(c, net, x, labels):
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    from exactsnn.jax import LayerSpec, spike_times

    spec = LayerSpec.build(net, c.model, c.t_max)
    init = spec.initial(c.params)
    xj, onehot = jnp.asarray(x), jax.nn.one_hot(jnp.asarray(labels), 3, dtype=jnp.float64)

    def loss(w):
        t = spike_times(spec, w, init["delay"], init["params"], xj)[0]
        t_lab = jnp.sum(t * onehot, axis=1)
        ce = -jnp.sum(jax.nn.log_softmax(-t / c.tau0, axis=1) * onehot, axis=1) + c.gamma * (
            jnp.exp(t_lab / c.tau1) - 1)
        return jnp.mean(ce)

    g, vg = jax.jit(jax.grad(loss)), jax.jit(jax.value_and_grad(loss))
    return (lambda: g(init["weight"]).block_until_ready()), (lambda: vg(init["weight"])[1].block_until_ready())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--batch", type=int, default=50)
    args = ap.parse_args()
    c, net, x, labels = setup(args.batch)
    jg, jvg = jax_steps(c, net, x, labels)
    methods = {"batch_loss_grad": baseline(c, net, x, labels), "torch": torch_step(c, net, x, labels),
               "jax grad": jg, "jax value_and_grad": jvg}
    for f in methods.values():  # compile and warm up
        f()
        f()
    times = {k: [] for k in methods}
    for _ in range(args.rounds):
        for k, f in methods.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    base = np.median(times["batch_loss_grad"])
    print(f"batch {args.batch} Yin-Yang samples, {args.rounds} interleaved rounds, numba threads "
          f"{numba.get_num_threads()}")
    for k, ts in times.items():
        med = np.median(ts)
        print(f"{k:>20}: median {1e3 * med:8.2f} ms   ratio to batch_loss_grad {med / base:5.2f}")


if __name__ == "__main__":
    main()
