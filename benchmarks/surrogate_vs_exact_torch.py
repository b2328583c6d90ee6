"""Surrogate versus exact gradients in one PyTorch program: snnTorch and exactsnn.torch on one network (issue 13).

One Yin-Yang network (the trainer's 5-H-3 + bias, ``lif``: tau_syn = 1/0.999, tau_mem = 1, threshold = 1,
t_max = 4) with one ``nn.Parameter`` of weights, in exactsnn's synapse order, used by two forward passes:

- exact: ``exactsnn.torch.ExactSNN`` (event-driven, exact spike times; backward = the adjoint);
- surrogate: two ``snntorch.Synaptic`` layers on a grid of step ``dt``, inputs rounded to the grid,
  ``syn_k = alpha syn_{k-1} + dt W^T s_k``, ``mem_k = beta mem_{k-1} + syn_k - threshold s_{k-1}``
  (alpha = exp(-dt/tau_syn), beta = exp(-dt/tau_mem): the Euler discretisation of
  dI/dt = -I/tau_syn + W^T s, dV/dt = -V/tau_mem + I), snnTorch's fast-sigmoid surrogate (slope 25)
  and detached reset; the first spike time of output o is the differentiable step sum
  ``t_o = dt sum_k prod_{j<=k} (1 - s_j)`` (``t_max`` when silent, as in exactsnn's losses).

Both use the same TTFS cross-entropy (tau0 = 0.2, tau1 = 1, gamma = 0.003; a silent label neuron
passes no gradient), the same initial weights, batches, Adam, learning rate and weight bumping. Printed,
all measured in this run: the test accuracy of each after training (the surrogate-trained weights also
judged with exact spike times), the time per epoch, and the cosine between the two gradients at the same
weights (each trained network's; whole vector and per block) with their norm ratio.

Run:  NUMBA_NUM_THREADS=1 python benchmarks/surrogate_vs_exact_torch.py [--hidden 60] [--epochs 10] [--dt 0.02]
"""

import argparse
import math
import time

import numpy as np
import torch

from exactsnn.torch import ExactSNN
from exactsnn.training import datasets
from exactsnn.training.trainer import config_for, initial_state, predict


def ttfs_loss(t, silent, labels, c):
    """Mean TTFS cross-entropy of first spike times ``t`` (B, 3); silent label neurons pass no gradient."""
    rows = torch.arange(len(labels))
    ce = -torch.log_softmax(-t / c.tau0, dim=1)[rows, labels] + c.gamma * (torch.exp(t[rows, labels] / c.tau1) - 1)
    keep = ~silent[rows, labels]
    return (ce * keep).sum() / len(labels)


class SnnTorchTwin(torch.nn.Module):
    """The same feed-forward network on a time grid with snnTorch neurons, sharing ``weight`` (exactsnn order)."""

    def __init__(self, network, weight: torch.nn.Parameter, params: dict, t_max: float, dt: float, slope=25.0):
        import snntorch
        from snntorch import surrogate

        super().__init__()
        self.weight, self.dt, self.t_max = weight, float(dt), float(t_max)
        self.n_in, n = network.n_inputs, network.n_neurons
        self.pre, self.post = torch.tensor(network.pre), torch.tensor(network.post)  # Network arrays are read-only
        self.n_out = network.outputs.size
        self.n_hidden = n - self.n_out
        self.n_steps = int(math.floor(t_max / dt + 1e-9))
        alpha, beta = math.exp(-dt / params["tau_syn"]), math.exp(-dt / params["tau_mem"])
        grad = surrogate.fast_sigmoid(slope=slope)
        self.hidden = snntorch.Synaptic(alpha, beta, threshold=params["threshold"], spike_grad=grad)
        self.output = snntorch.Synaptic(alpha, beta, threshold=params["threshold"], spike_grad=grad)

    def dense(self):
        """(n_inputs + n_neurons, n_neurons) weight matrix from the flat weights (differentiable)."""
        w = torch.zeros(self.n_in + self.n_hidden + self.n_out, self.n_hidden + self.n_out, dtype=self.weight.dtype)
        return w.index_put((self.pre, self.post), self.weight)

    def forward(self, times):
        """First output spike times (B, n_out), silent mask, from input spike times (B, n_inputs)."""
        w = self.dense()
        w_in_h, w_in_o = w[:self.n_in, :self.n_hidden], w[:self.n_in, self.n_hidden:]
        w_h_o = w[self.n_in:self.n_in + self.n_hidden, self.n_hidden:]
        step = torch.round(torch.as_tensor(times) / self.dt).long()
        n_b = step.shape[0]
        syn1, mem1 = self.hidden.reset_mem()
        syn2, mem2 = self.output.reset_mem()
        alive = torch.ones(n_b, self.n_out, dtype=w.dtype)  # prod_j (1 - s_j): no output spike yet
        t_first = torch.zeros(n_b, self.n_out, dtype=w.dtype)
        counts = torch.zeros(n_b, self.n_hidden, dtype=w.dtype)  # hidden spikes, for weight bumping
        for k in range(self.n_steps):
            x = (step == k).to(w.dtype)
            spk1, syn1, mem1 = self.hidden(self.dt * (x @ w_in_h), syn1, mem1)
            spk2, syn2, mem2 = self.output(self.dt * (x @ w_in_o + spk1.to(w.dtype) @ w_h_o), syn2, mem2)
            alive = alive * (1 - spk2.to(w.dtype))
            t_first = t_first + self.dt * alive
            counts = counts + spk1.detach()
        t_first = t_first + (self.t_max - self.n_steps * self.dt) * alive
        return t_first, alive.detach() > 0, counts


def setup(hidden, train_size, dt, seed=0):
    c = config_for("yinyang", hidden=hidden, train_size=train_size, seed=seed)
    train, test = datasets.yinyang("train", size=train_size), datasets.yinyang("test")
    net = initial_state(c, train.n_channels, train.n_classes).network()
    return c, train, test, net


def models(c, net, dt):
    """(exact layer, snnTorch twin), each with its own copy of the same initial weights."""
    exact = ExactSNN(net, c.model, c.t_max, c.params)
    twin = SnnTorchTwin(net, torch.nn.Parameter(torch.tensor(net.weight)), c.params, c.t_max, dt)
    return exact, twin


def exact_forward(layer, x):
    out = layer(torch.as_tensor(x))
    return out.t_first, out.silent, out.counts[:, :out.counts.shape[1] - out.t_first.shape[1]]


def gradient(forward, weight, x, labels, c):
    weight.grad = None
    ttfs_loss(*forward(x)[:2], torch.as_tensor(labels), c).backward()
    return weight.grad.detach().numpy().copy()


def cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def train(forward, weight, post, c, train_set, epochs, seed=1):
    """Adam on the TTFS loss with the trainer's weight bumping (incoming weights of hidden neurons silent for
    the whole batch and of silent label neurons grow by ``bump``); returns seconds per epoch."""
    opt = torch.optim.Adam([weight], lr=c.lr)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = rng.permutation(len(train_set))
        for start in range(0, len(perm), c.batch_size):
            idx = perm[start:start + c.batch_size]
            labels = train_set.labels[idx]
            t, silent, counts = forward(train_set.times[idx])
            loss = ttfs_loss(t, silent, torch.from_numpy(labels), c)
            opt.zero_grad()
            loss.backward()
            opt.step()
            dead = np.flatnonzero((counts.numpy() == 0).all(axis=0))
            quiet = c.hidden + np.unique(labels[silent.numpy()[np.arange(len(idx)), labels]])
            with torch.no_grad():
                weight[torch.from_numpy(np.isin(post, np.concatenate([dead, quiet])))] += c.bump
    return (time.perf_counter() - t0) / max(epochs, 1)


def accuracy(forward, data):
    with torch.no_grad():
        t, silent = forward(data.times)[:2]
    return float((predict(t.numpy(), silent.numpy()) == data.labels).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=60)
    ap.add_argument("--train-size", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--dt", type=float, default=0.02)
    args = ap.parse_args()
    c, train_set, test, net = setup(args.hidden, args.train_size, args.dt)
    exact, twin = models(c, net, args.dt)
    print(f"Yin-Yang 5-{args.hidden}-3 + bias, {args.train_size} training samples, snnTorch dt = {args.dt}")
    per_epoch = train(lambda v: exact_forward(exact, v), exact.weight, net.post, c, train_set, args.epochs)
    print(f"  exact (exactsnn.torch): test accuracy {accuracy(lambda v: exact_forward(exact, v), test):.3f} after "
          f"{args.epochs} epochs, {per_epoch:.1f} s/epoch")
    per_epoch = train(twin, twin.weight, net.post, c, train_set, args.epochs)
    judge = ExactSNN(net.with_weights(twin.weight.detach().numpy()), c.model, c.t_max, c.params)
    print(f"  surrogate (snnTorch)  : test accuracy {accuracy(twin, test):.3f} on the grid, "
          f"{accuracy(lambda v: exact_forward(judge, v), test):.3f} with exact spike times of the same weights, "
          f"after {args.epochs} epochs, {per_epoch:.1f} s/epoch")
    for name, layer in (("the exactly trained", exact), ("the surrogate-trained", judge)):
        g_exact, g_sur = gradients_at(layer, net, c, args.dt, train_set.times[:200], train_set.labels[:200])
        n_ih = int((net.post < args.hidden).sum())
        print(f"  gradient cosine surrogate vs exact at {name} weights (200 samples): all "
              f"{cosine(g_exact, g_sur):.3f}, into hidden {cosine(g_exact[:n_ih], g_sur[:n_ih]):.3f}, into outputs "
              f"{cosine(g_exact[n_ih:], g_sur[n_ih:]):.3f}; "
              f"norm ratio {np.linalg.norm(g_sur) / np.linalg.norm(g_exact):.3f}")


def gradients_at(layer, net, c, dt, x, labels):
    """(exact, surrogate) gradients of the same loss w.r.t. the same weights (those of ``layer``)."""
    w = layer.weight.detach().numpy()
    exact = ExactSNN(net.with_weights(w), c.model, c.t_max, c.params)
    twin = SnnTorchTwin(net, torch.nn.Parameter(torch.tensor(w)), c.params, c.t_max, dt)
    g_exact = gradient(lambda v: exact_forward(exact, v), exact.weight, x, labels, c)
    return g_exact, gradient(twin, twin.weight, x, labels, c)

if __name__ == "__main__":
    main()
