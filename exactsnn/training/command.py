"""``exactsnn train {xor,iris,yinyang,digits}`` and its Python twin ``train_to_folder``.

Both write into an output folder:

- ``metrics.json``: format ``exactsnn-train/1``; the config, the final train/test accuracy and
  loss of the returned weights (``model_selection`` says which epoch's), the epoch of best
  validation accuracy and the test accuracy there, the wall time, and one row per epoch (learning
  rate, losses, accuracies, silent-neuron bumps, elapsed time);
- ``metrics.csv``: one row per epoch, appended as the run goes (``CSV_COLUMNS``; empty cells for
  epochs without evaluation);
- ``weights.npz`` + ``model.json``: every trained block, delays, thresholds and the recipe (see
  ``exactsnn.training.saved``; load with ``exactsnn.training.load(out_dir)``);
- ``checkpoint.npz`` + ``checkpoint.json`` after every epoch, to resume a killed run
  (``exactsnn train TASK --resume DIR``, see ``exactsnn.training.checkpoint``);
- figures (with matplotlib): ``curves.png``, ``first_spikes.png``, and for Yin-Yang ``decision_map.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from ..errors import InvalidInputError
from .checkpoint import resume as resume_trainer
from .checkpoint import save_checkpoint
from .optim import SCHEDULES
from .saved import save_model
from .trainer import GRADIENTS, TASKS, TrainConfig, Trainer, config_for


CSV_COLUMNS = ("epoch", "lr", "train_loss", "train_accuracy", "validation_loss", "validation_accuracy", "test_loss",
               "test_accuracy", "bumps", "wall_time_s")


def _csv_line(row: dict) -> str:
    return ",".join("" if row.get(k) is None else repr(row[k]) for k in CSV_COLUMNS) + "\n"


def _write_csv(path: Path, history: list):
    path.write_text(",".join(CSV_COLUMNS) + "\n" + "".join(_csv_line(r) for r in history))


def train_to_folder(config: TrainConfig | None, out_dir, figures: bool = True, progress: bool = True,
                    resume: bool = False, tensorboard=None):
    """Train ``config`` and write metrics, weights (and figures) into ``out_dir``; returns the TrainResult.

    With ``resume=True`` the run continues from the checkpoint in ``out_dir`` (``config`` is then
    taken from the checkpoint and must be None or equal to it). ``tensorboard``: a folder for TensorBoard
    scalars, one event per metric and epoch (needs tensorboardX; ``exactsnn.training.tensorboard``).
    """
    out = Path(out_dir)
    if resume:
        trainer = resume_trainer(out, progress=progress)
        if config is not None and config != trainer.config:
            raise InvalidInputError(f"resume: the config given differs from the one in {out}/checkpoint.json")
    else:
        trainer = Trainer(config, progress=progress)
    return _train_into(trainer, out, figures, tensorboard)


def _train_into(trainer: Trainer, out: Path, figures: bool, tensorboard=None):
    """Run ``trainer`` to its last epoch, writing metrics.csv rows (and TensorBoard scalars) and checkpoints per
    epoch, then the rest."""
    board = None
    if tensorboard is not None:
        from .tensorboard import TensorBoardLog

        board = TensorBoardLog(tensorboard)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "metrics.csv"
    _write_csv(csv, trainer.history)

    def on_epoch(tr, row):
        with open(csv, "a") as f:
            f.write(_csv_line(row))
        if board is not None:
            board.epoch(row)
        save_checkpoint(tr, out)

    try:
        result = trainer.run(on_epoch=on_epoch)
    finally:
        if board is not None:
            board.close()
    save_model(out, result.config, result.state)
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


def _finite_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number")
    return v


def add_recipe_options(p):
    """The task and the recipe options shared by ``exactsnn train`` and ``exactsnn train-dp``."""
    p.add_argument("task", choices=TASKS)
    p.add_argument("--hidden", type=_positive_int, help="hidden neurons")
    p.add_argument("--epochs", type=_positive_int, help="training epochs")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation and batch order (default 0)")
    p.add_argument("--lr", type=_positive_float, help="Adam learning rate")
    p.add_argument("--batch-size", type=_positive_int, help="samples per step")
    p.add_argument("--recurrent", action=argparse.BooleanOptionalAction, default=None,
                   help="hidden -> hidden synapses (exactsnn.training.recurrent); default: the task's (memory: on)")


def add_output_options(p):
    """The data-size and output options shared by ``exactsnn train`` and ``exactsnn train-dp``."""
    p.add_argument("--train-size", type=_positive_int, help="yinyang: training samples (default 5000)")
    p.add_argument("--out", help="output folder (default runs/TASK-seedS)")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_train_parser(sub):
    p = sub.add_parser("train", help="train a spiking classifier with exact gradients (xor, iris, yinyang, digits, "
                                            "memory)",
                       description="Train a LIF network (inputs + bias - hidden - classes; --recurrent adds "
                                   "hidden -> hidden synapses) with exact gradients, Adam and a TTFS cross-entropy "
                                   "loss; write metrics.csv (a row per epoch), metrics.json, weights.npz + model.json "
                                   "(load with exactsnn.load), a checkpoint per epoch (--resume) and figures into "
                                   "--out. Unset options take the task's defaults.")
    add_recipe_options(p)
    p.add_argument("--lr-schedule", choices=SCHEDULES, help="learning-rate schedule over epochs")
    p.add_argument("--gamma", type=_finite_float,
                   help="loss regulariser gamma (any finite number; Göltz et al.'s code uses -0.005; default 0.003)")
    p.add_argument("--learn-thresholds", action="store_true", help="also learn one threshold per neuron")
    p.add_argument("--learn-delays", action="store_true", help="also learn one delay per synapse")
    p.add_argument("--gradient", choices=GRADIENTS, default="exact",
                   help="exact (default) or surrogate (time-stepped BPTT, for comparison)")
    p.add_argument("--dt", type=_positive_float, help="surrogate: time step")
    p.add_argument("--slope", type=_positive_float, help="surrogate: slope of the fast-sigmoid derivative")
    add_output_options(p)
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue the run whose checkpoint is in RUN_DIR (its config; output into RUN_DIR)")
    p.add_argument("--export-nir", metavar="OUT.nir", help="also write the trained network as a NIR graph")
    p.add_argument("--tensorboard", metavar="DIR", help="also write TensorBoard scalars per epoch into DIR "
                                                        "(needs tensorboardX)")


_RECIPE_OPTIONS = ("hidden", "epochs", "lr", "gamma", "batch_size", "lr_schedule", "dt", "slope", "train_size")


def run_train(args) -> int:
    if args.resume:
        given = [k for k in _RECIPE_OPTIONS if getattr(args, k) is not None]
        given += [k for k in ("learn_thresholds", "learn_delays") if getattr(args, k)]
        given += ["recurrent"] if args.recurrent is not None else []
        if given or args.seed != 0 or args.gradient != "exact" or (args.out and Path(args.out) != Path(args.resume)):
            raise InvalidInputError(f"--resume {args.resume} continues the saved recipe; do not also give "
                                    f"{given or 'seed/gradient/out'}")
        out = Path(args.resume)
        trainer = resume_trainer(out, progress=not args.quiet)
        if trainer.config.task != args.task:
            raise InvalidInputError(f"--resume {args.resume} holds a {trainer.config.task!r} run, not {args.task!r}")
    else:
        config = config_for(args.task, hidden=args.hidden, epochs=args.epochs, seed=args.seed, lr=args.lr,
                            batch_size=args.batch_size, lr_schedule=args.lr_schedule,
                            learn_thresholds=args.learn_thresholds or None, learn_delays=args.learn_delays or None,
                            gradient=args.gradient, surrogate_dt=args.dt, surrogate_slope=args.slope,
                            train_size=args.train_size, gamma=args.gamma, recurrent=args.recurrent)
        out = Path(args.out or f"runs/{args.task}-seed{args.seed}")
        trainer = Trainer(config, progress=not args.quiet)
    if not args.quiet:
        print(f"train {trainer.config.task}: the first run compiles the {trainer.config.model} engine (about 20 s; "
              "later runs load it from the cache) ...", file=sys.stderr)
    result = _train_into(trainer, out, figures=not args.no_figures, tensorboard=getattr(args, "tensorboard", None))
    config = result.config
    m = result.metrics()
    best = m["best_validation"]
    best_text = "" if best is None else (f"; best validation {100 * best['validation_accuracy']:.2f}% at epoch "
                                         f"{best['epoch']}")
    print(f"{config.task}: test accuracy {100 * m['final']['test_accuracy']:.2f}% after {len(result.history)} epochs "
          f"(train {100 * m['final']['train_accuracy']:.2f}%{best_text}), {m['final']['wall_time_s']:.0f} s")
    written = "metrics, weights" + (" and figures" if m.get("figures") else "")
    print(f"{written} in {out}/ (load with exactsnn.training.load)")
    if getattr(args, "export_nir", None):
        from ..interop.nir_run import export_run

        print(f"NIR graph of the trained network in {export_run(out, args.export_nir)}")
    return 0
