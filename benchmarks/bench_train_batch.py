"""The training step's batch (issue 14): Yin-Yang recipe at initialisation, full run vs first-spike early exit.

Work: ``exactsnn train yinyang --seed 0``'s network at its initial weights (5+1 inputs, 120 hidden, 3 outputs,
tau_syn = tau_mem = 1, t_max = 4) on its first ``--samples`` training patterns, ``batch_loss_grad`` with and
without the gradient, with ``first_spike_exit`` off and on; process CPU time per pattern, best of
``--repeats`` after a warm-up call (the first call loads the compiled batch function and starts numba's
thread pool). Run with NUMBA_NUM_THREADS=1.

Run:  NUMBA_NUM_THREADS=1 python benchmarks/bench_train_batch.py [--samples 100] [--repeats 3]
"""

import argparse
import time

from exactsnn import Patterns, batch_loss_grad
from exactsnn.training.trainer import Trainer, config_for


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    c = config_for("yinyang", seed=0)
    trainer = Trainer(c, progress=False)
    net = trainer.state.network()
    data = trainer.data["train"]
    pats = Patterns.first_spikes(data.times[:args.samples])
    labels = data.labels[:args.samples]
    print("| gradient | first-spike exit | us per pattern (CPU) | spikes per pattern |")
    print("| --- | --- | --- | --- |")
    for want_grad in (False, True):
        for early in (False, True):
            kw = dict(labels=labels, params=c.params, want_grad=want_grad, first_spike_exit=early)
            res = batch_loss_grad(c.model, net, pats, c.t_max, c.loss, **kw)
            best = float("inf")
            for _ in range(args.repeats):
                t0 = time.process_time()
                batch_loss_grad(c.model, net, pats, c.t_max, c.loss, **kw)
                best = min(best, time.process_time() - t0)
            print(f"| {want_grad} | {early} | {1e6 * best / args.samples:.0f} | {res.counts.sum(axis=1).mean():.1f} |")


if __name__ == "__main__":
    main()
