"""``exactsnn train {xor,iris,yinyang}`` and its Python twin ``train_to_folder``.

Both write into an output folder:

- ``metrics.json``: format ``exactsnn-train/1``; the config, the final train/test accuracy and
  loss of the returned weights (``model_selection`` says which epoch's), the epoch of best
  validation accuracy and the test accuracy there, the wall time, and one row per epoch (learning
  rate, losses, accuracies, silent-neuron bumps, elapsed time);
- ``weights.npz``: ``w1``, ``w2`` (and ``delays``, ``thresholds``);
- figures (with matplotlib): ``curves.png``, ``first_spikes.png``, and for Yin-Yang ``decision_map.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .optim import SCHEDULES
from .trainer import GRADIENTS, TASKS, TrainConfig, Trainer, config_for


def train_to_folder(config: TrainConfig, out_dir, figures: bool = True, progress: bool = True):
    """Train ``config`` and write metrics, weights and figures into ``out_dir``; returns the TrainResult."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(config, progress=progress)
    result = trainer.run()
    s = result.state
    np.savez(out / "weights.npz", w1=s.weights[0], w2=s.weights[1], delays=s.delays, thresholds=s.thresholds)
    if figures:
        from .figures import save_figures

        result.extra["figures"] = [p.name for p in save_figures(trainer, result, out)]
    (out / "metrics.json").write_text(json.dumps(result.metrics(), indent=1) + "\n")
    return result


def _positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive integer")
    return int(text)


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (0 < v < float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
    return v


def add_train_parser(sub):
    p = sub.add_parser("train", help="train a spiking classifier with exact gradients (xor, iris, yinyang)",
                       description="Train a feed-forward LIF network (inputs + bias - hidden - classes) with exact "
                                   "gradients, Adam and a TTFS cross-entropy loss; write metrics.json, weights.npz "
                                   "and figures into --out. Unset options take the task's defaults.")
    p.add_argument("task", choices=TASKS)
    p.add_argument("--hidden", type=_positive_int, help="hidden neurons")
    p.add_argument("--epochs", type=_positive_int, help="training epochs")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation and batch order (default 0)")
    p.add_argument("--lr", type=_positive_float, help="Adam learning rate")
    p.add_argument("--batch-size", type=_positive_int, help="samples per step")
    p.add_argument("--lr-schedule", choices=SCHEDULES, help="learning-rate schedule over epochs")
    p.add_argument("--learn-thresholds", action="store_true", help="also learn one threshold per neuron")
    p.add_argument("--learn-delays", action="store_true", help="also learn one delay per synapse")
    p.add_argument("--gradient", choices=GRADIENTS, default="exact",
                   help="exact (default) or surrogate (time-stepped BPTT, for comparison)")
    p.add_argument("--dt", type=_positive_float, help="surrogate: time step")
    p.add_argument("--slope", type=_positive_float, help="surrogate: slope of the fast-sigmoid derivative")
    p.add_argument("--train-size", type=_positive_int, help="yinyang: training samples (default 5000)")
    p.add_argument("--out", help="output folder (default runs/TASK-seedS)")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_train(args) -> int:
    config = config_for(args.task, hidden=args.hidden, epochs=args.epochs, seed=args.seed, lr=args.lr,
                        batch_size=args.batch_size, lr_schedule=args.lr_schedule,
                        learn_thresholds=args.learn_thresholds or None, learn_delays=args.learn_delays or None,
                        gradient=args.gradient, surrogate_dt=args.dt, surrogate_slope=args.slope,
                        train_size=args.train_size)
    out = Path(args.out or f"runs/{args.task}-seed{args.seed}")
    result = train_to_folder(config, out, figures=not args.no_figures, progress=not args.quiet)
    m = result.metrics()
    best = m["best_validation"]
    best_text = "" if best is None else (f"; best validation {100 * best['validation_accuracy']:.2f}% at epoch "
                                         f"{best['epoch']}")
    print(f"{config.task}: test accuracy {100 * m['final']['test_accuracy']:.2f}% after {len(result.history)} epochs "
          f"(train {100 * m['final']['train_accuracy']:.2f}%{best_text}), {m['final']['wall_time_s']:.0f} s")
    print(f"metrics, weights and figures in {out}/")
    return 0
