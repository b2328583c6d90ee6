"""Figures of a training run (matplotlib, the ``plot`` extra): curves, first-spike histograms, decision map."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..losses import Patterns
from . import datasets
from .trainer import TrainResult, Trainer, predict


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("figures need matplotlib: pip install 'exactsnn[plot]'") from exc
    return plt


def plot_curves(result: TrainResult, path):
    """Loss and accuracy per epoch (train, validation, test)."""
    plt = _pyplot()
    h = result.history
    ep = [r["epoch"] for r in h]
    ev = [r for r in h if "test_accuracy" in r]
    splits = [s for s in ("validation", "test") if ev and f"{s}_accuracy" in ev[0]]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    a.plot(ep, [r["train_loss"] for r in h], label="train")
    b.plot(ep, [100 * r["train_accuracy"] for r in h], label="train")
    for split in splits:
        a.plot([r["epoch"] for r in ev], [r[f"{split}_loss"] for r in ev], label=split)
        b.plot([r["epoch"] for r in ev], [100 * r[f"{split}_accuracy"] for r in ev], label=split)
    a.set(xlabel="epoch", ylabel="TTFS cross-entropy", yscale="log", title="loss")
    b.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (a, b):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_first_spikes(trainer: Trainer, path, split="test"):
    """Histogram of each output's first spike time, one panel per true class."""
    plt = _pyplot()
    ev = trainer.evaluate(split)
    d = trainer.data[split]
    fig, axes = plt.subplots(1, d.n_classes, figsize=(3.2 * d.n_classes, 3), sharey=True, squeeze=False)
    t_max = trainer.config.t_max
    bins = np.linspace(0, t_max, 60)
    for c, ax in enumerate(axes[0]):
        rows = d.labels == c
        for o in range(d.n_classes):
            t = ev.t_first[rows, o]
            ax.hist(t[~ev.silent[rows, o]], bins=bins, alpha=0.55, label=f"output {d.class_names[o]}")
        ax.set(title=f"true class {d.class_names[c]}", xlabel="first spike time")
    axes[0][0].set_ylabel("samples")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def decision_map(trainer: Trainer, n=80) -> tuple:
    """Yin-Yang: (xs, ys, predicted class on an n x n grid; -2 outside the disc, -1 all outputs silent)."""
    xs = np.linspace(0, 1, n)
    gx, gy = np.meshgrid(xs, xs)
    inside = np.hypot(gx - 0.5, gy - 0.5) <= 0.5
    v = np.stack([gx[inside], gy[inside], 1 - gx[inside], 1 - gy[inside]], axis=1)
    times = datasets.encode(v)
    labels = np.zeros(len(times), np.int64)
    res = trainer.batch(Patterns.first_spikes(times), labels, want_grad=False)
    pred = np.full(gx.shape, -2)
    pred[inside] = predict(res.t_first, res.counts[:, trainer.config.hidden:] == 0)
    return xs, xs, pred


def plot_decision_map(trainer: Trainer, path, n=80):
    """Predicted class over the Yin-Yang disc, with the test points' true classes on top."""
    plt = _pyplot()
    xs, ys, pred = decision_map(trainer, n)
    img = np.ma.masked_less(pred.astype(float), -1.5)
    fig, ax = plt.subplots(figsize=(4.4, 4))
    ax.imshow(img, origin="lower", extent=(0, 1, 0, 1), cmap="viridis", vmin=-1, vmax=2, alpha=0.6)
    d = trainer.data["test"]
    ax.scatter(d.features[:, 0], d.features[:, 1], c=d.labels, s=4, cmap="viridis", vmin=-1, vmax=2,
               edgecolors="k", linewidths=0.2)
    ax.set(xlabel="x", ylabel="y", title="decision map (test points on top)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_figures(trainer: Trainer, result: TrainResult, out_dir) -> list:
    """Write curves.png, first_spikes.png and (Yin-Yang) decision_map.png into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "curves.png", out / "first_spikes.png"]
    plot_curves(result, paths[0])
    plot_first_spikes(trainer, paths[1])
    if trainer.config.task == "yinyang":
        paths.append(out / "decision_map.png")
        plot_decision_map(trainer, paths[-1])
    return paths
