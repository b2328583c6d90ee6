"""Damped Newton-CG on exact Hessian-vector products against Adam, full batch, on XOR and Iris (issue 16).

Networks and losses as the training recipes (``exactsnn.training.trainer.RECIPES``): ``lif`` with
tau_syn = tau_mem = 1, threshold 1, t_max 4; XOR 3-20-2 (init N(1.5, 1.0), N(0.5, 0.3)), Iris 5-60-3 on the
99-sample training split (init N(0.6, 0.4), N(0.3, 0.2)); no output bias; TTFS cross-entropy with the
trainer's tau0 = 0.05, tau1 = 6.4, gamma = 0.003; only the weights are trained. The objective is the mean
loss over the whole training set, so both optimisers minimise the same deterministic function.

- Adam: ``exactsnn.training.optim.Adam``, the recipe's learning rate, one full-batch gradient per step
  (``batch_loss_grad``).
- Newton-CG: ``exactsnn.curvature.newton_cg`` (Levenberg-Marquardt damping from 1e-2, at most --cg-iter HVPs
  per step from ``batch_hvp``, backtracking line search on the loss).

Printed per task: the loss Adam reaches after --adam-steps steps (the target), and for each optimiser the
steps, gradient/loss evaluations, HVPs and wall time (compilation excluded: one warm-up call each) until it
first reaches that target, plus its final loss and training accuracy.

Run:  NUMBA_NUM_THREADS=1 python benchmarks/newton_vs_adam.py [--adam-steps N] [--newton-steps M] [--cg-iter K]
"""

import argparse
import time

import numpy as np

from exactsnn import Loss, Network, batch_hvp, batch_loss_grad
from exactsnn.curvature import newton_cg
from exactsnn.losses import Patterns
from exactsnn.training.datasets import iris, xor
from exactsnn.training.optim import Adam

PARAMS = {"tau_syn": 1.0, "tau_mem": 1.0, "threshold": 1.0}
T_MAX = 4.0
LOSS = Loss("ttfs_cross_entropy", tau0=0.05, tau1=6.4, gamma=0.003)
TASKS = {"xor": (xor, 20, (1.5, 1.0), (0.5, 0.3), 0.01), "iris": (iris, 60, (0.6, 0.4), (0.3, 0.2), 0.005)}


class Problem:
    """Mean TTFS loss over a data set as a function of the flat weight vector."""

    def __init__(self, task, seed=0):
        make, hidden, init_h, init_o, self.lr = TASKS[task]
        data = make()
        self.labels = data.labels
        self.patterns = Patterns.first_spikes(data.times)
        rng = np.random.default_rng(seed)
        n_in, n_out = data.n_channels, data.n_classes
        self.net = Network.feedforward([rng.normal(*init_h, (n_in, hidden)), rng.normal(*init_o, (hidden, n_out))])
        self.x0 = self.net.weight.copy()

    def batch(self, x):
        return batch_loss_grad("lif", self.net.with_weights(x), self.patterns, T_MAX, LOSS, labels=self.labels,
                               params=PARAMS)

    def value_grad(self, x):
        b = self.batch(x)
        return float(b.loss.mean()), b.grad.weights.mean(axis=0)

    def hess_vec(self, x, v):
        full = np.concatenate([v, np.zeros(v.size)])
        return batch_hvp("lif", self.net.with_weights(x), self.patterns, T_MAX, LOSS, full, labels=self.labels,
                         params=PARAMS, policy="flag", model_block=False)[1].weights

    def accuracy(self, x):
        t = self.batch(x).t_first
        return float(np.mean(np.argmin(t, axis=1) == self.labels))


def run_adam(prob, steps):
    x = prob.x0.copy()
    opt = Adam([x])
    start, hist = time.perf_counter(), []
    for _ in range(steps):
        f, g = prob.value_grad(x)
        opt.step([g], prob.lr)
        hist.append({"f": f, "seconds": time.perf_counter() - start})
    hist.append({"f": prob.value_grad(x)[0], "seconds": time.perf_counter() - start})
    return x, hist


def first_reach(hist, target):
    """(index, entry) of the first history entry with f <= target, or None."""
    for i, h in enumerate(hist):
        if h["f"] <= target:
            return i, h
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--adam-steps", type=int, default=300)
    ap.add_argument("--newton-steps", type=int, default=40)
    ap.add_argument("--cg-iter", type=int, default=10)
    ap.add_argument("--tasks", default="xor,iris")
    args = ap.parse_args()
    for task in args.tasks.split(","):
        prob = Problem(task)
        prob.value_grad(prob.x0), prob.hess_vec(prob.x0, np.ones(prob.x0.size))  # warm-up (compilation)
        xa, ha = run_adam(prob, args.adam_steps)
        target = ha[-1]["f"]
        newton = newton_cg(prob.value_grad, prob.hess_vec, prob.x0, max_steps=args.newton_steps, damping=1e-2,
                           cg_iter=args.cg_iter, target=target)
        print(f"{task}: {prob.x0.size} weights, {len(prob.labels)} samples, initial loss {ha[0]['f']:.4f}, "
              f"target = Adam's loss after {args.adam_steps} steps = {target:.4f}")
        hit = first_reach(ha, target)
        print(f"  Adam      : reached at step {hit[0]} ({hit[0] + 1} gradients), {hit[1]['seconds']:.2f} s; "
              f"accuracy {prob.accuracy(xa):.3f}")
        xn, hn = newton.x, newton.history
        hit = first_reach(hn, target)
        last = hn[-1]
        where = (f"reached at step {hit[0] + 1} ({hit[1]['evals']} loss+gradient evaluations, {hit[1]['hvps']} "
                 f"HVPs), {hit[1]['seconds']:.2f} s" if hit else f"not reached in {len(hn)} steps")
        print(f"  Newton-CG : {where}; final loss {last['f']:.4f} after {last['seconds']:.2f} s; "
              f"accuracy {prob.accuracy(xn):.3f}")


if __name__ == "__main__":
    main()
