"""Per-epoch checkpoints so that a killed run resumes exactly: ``checkpoint.npz`` + ``checkpoint.json``.

After every epoch the run folder gets (written to a temporary name, then renamed, so a kill never
leaves half a checkpoint):

- ``checkpoint.npz`` (no pickle): the current parameters (``state_*``), the moving average used
  for evaluation (``eval_*``, with ``ema > 0``), the best-validation parameters (``best_*``) and
  Adam's moments ``adam_m{i}``, ``adam_v{i}``;
- ``checkpoint.json`` (format ``exactsnn-checkpoint/1``): the config, epochs done, Adam's step
  count, the batch-order generator's state (NumPy ``PCG64``), the bump counter, the best
  validation accuracy, the seconds trained and the history so far.

The learning rate is a function of the epoch index, so the schedule resumes at the right place.
``resume(run_dir)`` rebuilds a ``Trainer`` whose next ``run()`` continues with epoch ``k + 1`` and
produces the same history and weights as an uninterrupted run (wall times aside).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from .saved import config_from_dict, read_run_files
from .trainer import State, Trainer

FORMAT = "exactsnn-checkpoint/1"


def _state_arrays(prefix: str, s: State) -> dict:
    out = {f"{prefix}_w{i}": w for i, w in enumerate(s.weights)}
    out.update({f"{prefix}_delays": s.delays, f"{prefix}_thresholds": s.thresholds})
    return out


def _restore_state(prefix: str, target: State, arrays: dict):
    """Copy saved arrays into ``target`` in place (Adam holds references to the parameter arrays)."""
    for i, w in enumerate(target.weights):
        w[...] = arrays[f"{prefix}_w{i}"]
    target.delays[...] = arrays[f"{prefix}_delays"]
    target.thresholds[...] = arrays[f"{prefix}_thresholds"]


def save_checkpoint(trainer: Trainer, out_dir):
    """Write the trainer's full state after its last epoch into ``out_dir`` (atomically)."""
    out = Path(out_dir)
    arrays = _state_arrays("state", trainer.state)
    if trainer.eval_state is not trainer.state:
        arrays.update(_state_arrays("eval", trainer.eval_state))
    if trainer.best_state is not None:
        arrays.update(_state_arrays("best", trainer.best_state))
    for i, (m, v) in enumerate(zip(trainer.opt.m, trainer.opt.v)):
        arrays[f"adam_m{i}"], arrays[f"adam_v{i}"] = m, v
    meta = {"format": FORMAT, "config": asdict(trainer.config), "epochs_done": len(trainer.history),
            "adam_k": trainer.opt.k, "rng_state": trainer.rng.bit_generator.state, "bumps": trainer.bumps,
            "best_val": trainer.best_val, "elapsed_s": trainer.elapsed, "history": trainer.history}
    with open(out / "checkpoint.tmp.npz", "wb") as f:
        np.savez(f, **arrays)
    (out / "checkpoint.tmp.json").write_text(json.dumps(meta) + "\n")
    os.replace(out / "checkpoint.tmp.npz", out / "checkpoint.npz")
    os.replace(out / "checkpoint.tmp.json", out / "checkpoint.json")


def resume(run_dir, progress: bool = True) -> Trainer:
    """A ``Trainer`` restored from the last checkpoint in ``run_dir``, ready to ``run()`` the remaining epochs."""
    run = Path(run_dir)
    meta, arrays = read_run_files(run, "checkpoint.json", "checkpoint.npz", FORMAT, "(a checkpoint to resume)")
    trainer = Trainer(config_from_dict(meta["config"], f"{run / 'checkpoint.json'} config"), progress=progress)
    try:
        _restore_state("state", trainer.state, arrays)
        if trainer.eval_state is not trainer.state:
            _restore_state("eval", trainer.eval_state, arrays)
        if "best_w0" in arrays:
            trainer.best_state = trainer.state.copy()
            _restore_state("best", trainer.best_state, arrays)
        for i, (m, v) in enumerate(zip(trainer.opt.m, trainer.opt.v)):
            m[...], v[...] = arrays[f"adam_m{i}"], arrays[f"adam_v{i}"]
    except (KeyError, ValueError) as e:
        raise InvalidInputError(f"{run / 'checkpoint.npz'} does not match its config: {e}") from None
    trainer.opt.k = int(meta["adam_k"])
    trainer.rng.bit_generator.state = meta["rng_state"]
    trainer.bumps = int(meta["bumps"])
    trainer.best_val = float(meta["best_val"])
    trainer.elapsed = float(meta["elapsed_s"])
    trainer.history = list(meta["history"])
    return trainer
