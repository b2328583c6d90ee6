"""Full-length Yin-Yang training through the PyTorch and JAX bridges (issue 13), for the accuracy table.

The notebooks ``pytorch_exact_layer.ipynb`` and ``jax_exact_layer.ipynb`` run the same loops CI-sized
(60 hidden, 1000 samples, 3-4 epochs). Here they run the trainer's full recipe: 5-120-3 + bias, the
default training set, 60 epochs, Adam with a cosine schedule and weight bumping; no moving average and
no best-epoch selection (``ema=0``, ``select_best=False``), which a plain framework loop does not have.

- ``--part torch``: ``torch.optim.Adam`` + ``CosineAnnealingLR`` (per epoch) through ``exactsnn.torch.ExactSNN``,
  shuffled as exactsnn's trainer shuffles: its weights must equal the trainer's for the same recipe.
- ``--part trainer``: exactsnn's own trainer with the same recipe (the reference for ``torch``).
- ``--part jax``: ``optax.adam`` with a per-step cosine decay through ``exactsnn.jax.spike_times``.

Each part prints the test accuracy and writes ``<out>/<part>.npz`` (final weights).

Run:  NUMBA_NUM_THREADS=1 python benchmarks/bridges_full_length.py --part torch [--epochs 60] [--out /tmp/full]
"""

import argparse
import os
import time

import numpy as np

from exactsnn.training.trainer import Trainer, config_for, predict


def recipe(epochs):
    return config_for("yinyang", epochs=epochs, ema=0.0, select_best=False, eval_every=epochs)


def run_trainer(cfg):
    result = Trainer(cfg, progress=False).run()
    return result.test_accuracy, np.concatenate([w.ravel() for w in result.state.weights])


def run_torch(cfg):
    import torch
    from exactsnn.torch import ExactSNN

    ref = Trainer(cfg, progress=False)  # same data and initial weights as the trainer
    train, test = ref.data["train"], ref.data["test"]
    layer = ExactSNN(ref.state.network(), cfg.model, cfg.t_max, cfg.params)
    opt = torch.optim.Adam([layer.weight], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs, eta_min=cfg.lr * cfg.lr_decay)
    rng = np.random.default_rng(cfg.seed + 1_000_003)  # the trainer's shuffling
    post = layer.spec.network.post
    for epoch in range(cfg.epochs):
        perm = rng.permutation(len(train))
        for start in range(0, len(train), cfg.batch_size):
            idx = perm[start:start + cfg.batch_size]
            labels = torch.from_numpy(train.labels[idx])
            out = layer(torch.from_numpy(train.times[idx]))
            rows = torch.arange(len(idx))
            t = out.t_first
            ce = -torch.log_softmax(-t / cfg.tau0, dim=1)[rows, labels] + cfg.gamma * (
                torch.exp(t[rows, labels] / cfg.tau1) - 1)
            keep = ~out.silent[rows, labels]
            loss = (ce * keep).sum() / len(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            counts = out.counts.numpy()
            dead = np.flatnonzero((counts[:, :cfg.hidden] == 0).all(axis=0))
            silent_labels = cfg.hidden + np.unique(labels.numpy()[~keep.numpy()])
            amount = cfg.bump * opt.param_groups[0]["lr"] / cfg.lr
            with torch.no_grad():
                layer.weight[torch.from_numpy(np.isin(post, np.concatenate([dead, silent_labels])))] += amount
        sched.step()
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}", flush=True)
    with torch.no_grad():
        out = layer(torch.from_numpy(test.times))
    acc = float((predict(out.t_first.numpy(), out.silent.numpy()) == test.labels).mean())
    return acc, layer.weight.detach().numpy()


def run_jax(cfg):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax
    from exactsnn.jax import LayerSpec, spike_times

    ref = Trainer(cfg, progress=False)
    train, test = ref.data["train"], ref.data["test"]
    net = ref.state.network()
    spec = LayerSpec.build(net, cfg.model, cfg.t_max)
    init = spec.initial(cfg.params)

    def loss_fn(weight, x, labels):
        t, silent, counts = spike_times(spec, weight, init["delay"], init["params"], x)
        onehot = jax.nn.one_hot(labels, 3, dtype=jnp.float64)
        t_label = jnp.sum(t * onehot, axis=1)
        ce = -jnp.sum(jax.nn.log_softmax(-t / cfg.tau0, axis=1) * onehot, axis=1) + cfg.gamma * jnp.expm1(
            t_label / cfg.tau1)
        keep = ~jnp.any(silent & (onehot > 0), axis=1)
        return jnp.sum(ce * keep) / labels.shape[0], counts

    steps = len(train) // cfg.batch_size
    opt = optax.adam(optax.cosine_decay_schedule(cfg.lr, cfg.epochs * steps, alpha=cfg.lr_decay))
    grad_fn = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))
    weight, state = init["weight"], opt.init(init["weight"])
    post, rng = np.asarray(net.post), np.random.default_rng(cfg.seed + 1_000_003)
    for epoch in range(cfg.epochs):
        for idx in rng.permutation(len(train))[:steps * cfg.batch_size].reshape(steps, -1):
            (loss, counts), g = grad_fn(weight, train.times[idx], train.labels[idx])
            updates, state = opt.update(g, state)
            weight = optax.apply_updates(weight, updates)
            dead = np.flatnonzero((np.asarray(counts)[:, :cfg.hidden] == 0).all(axis=0))
            weight = jnp.where(np.isin(post, dead), weight + cfg.bump, weight)
        print(f"epoch {epoch + 1}: last batch loss {float(loss):.4f}", flush=True)
    t, silent, _ = spike_times(spec, weight, init["delay"], init["params"], test.times)
    return float((predict(np.asarray(t), np.asarray(silent)) == test.labels).mean()), np.asarray(weight)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["torch", "trainer", "jax"], required=True)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--out", default="/tmp/exactsnn-full-length")
    args = ap.parse_args()
    cfg = recipe(args.epochs)
    t0 = time.perf_counter()
    acc, weights = {"torch": run_torch, "trainer": run_trainer, "jax": run_jax}[args.part](cfg)
    os.makedirs(args.out, exist_ok=True)
    np.savez(os.path.join(args.out, f"{args.part}.npz"), weights=weights)
    print(f"{args.part}: {cfg.hidden} hidden, {cfg.epochs} epochs, test accuracy {acc:.4f} "
          f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
