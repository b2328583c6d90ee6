"""``sweep``: training runs over a grid of hyper-parameters and seeds, one Dask task per run.

Each task trains one configuration (``exactsnn.training.config_for(task, **overrides)``) and writes its
own run folder (``metrics.json``, ``weights.npz``) with ``exactsnn.training.command.train_to_folder``.
A run folder that already holds ``metrics.json`` is not run again, so an interrupted sweep resumes.
Afterwards the runs are collected into one table (``sweep.csv``, one row per run) and one figure: test
accuracy against each swept value, mean +- standard deviation over seeds (and over the other swept
values' settings at that value).

A run whose task raises (or whose worker Dask gives up on) does not stop the others: it is a row with
``status = "failed"`` and its ``error`` (exception type and message), also written with the traceback to
``sweep_failures.json``; the summary and figure leave it out, and the next sweep call runs it again.
"""

from __future__ import annotations

import csv
import itertools
import json
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from .cluster import dask_client


def run_name(task: str, overrides: dict) -> str:
    """``"yinyang-hidden60-lr0.002-seed1"``: the run folder's name (keys in the given order)."""
    return "-".join([task] + [f"{k.replace('_', '')}{v}" for k, v in overrides.items()])


def train_run(task: str, overrides: dict, folder: str) -> dict:
    """Train one configuration into ``folder``; return its row (the overrides and the final metrics)."""
    from ..training import config_for
    from ..training.command import train_to_folder

    result = train_to_folder(config_for(task, **overrides), folder, figures=False, progress=False)
    return row_of(Path(folder), result.metrics())


CONFIG_COLUMNS = ("task", "seed", "hidden", "lr", "epochs", "batch_size")


def row_of(folder: Path, metrics: dict) -> dict:
    cfg, final, best = metrics["config"], metrics["final"], metrics["best_validation"] or {}
    return {"run": folder.name, **{k: cfg[k] for k in CONFIG_COLUMNS}, "status": "ok", "error": "",
            "test_accuracy": final["test_accuracy"], "train_accuracy": final["train_accuracy"],
            "best_validation_accuracy": best.get("validation_accuracy"), "wall_time_s": final["wall_time_s"]}


def failed_row(folder: Path, config, error: str) -> dict:
    """The row of a run whose task raised: its configuration, ``status = "failed"`` and the error; no metrics."""
    return {"run": folder.name, **{k: getattr(config, k) for k in CONFIG_COLUMNS}, "status": "failed",
            "error": error, "test_accuracy": None, "train_accuracy": None, "best_validation_accuracy": None,
            "wall_time_s": None}


def describe(exc: BaseException) -> str:
    """``"TypeName: message"`` of an exception (one line per message line)."""
    return f"{type(exc).__name__}: {exc}"


@dataclass
class SweepResult:
    """Rows (one per run, in grid order), the swept names (``("seed",)`` without a grid), the runs of
    this call, and where the table and figure are."""

    rows: list
    swept: tuple
    ran: tuple
    table: Path
    figure: Path | None = None
    failed: dict = field(default_factory=dict)  # run name -> "TypeName: message" of the runs that raised

    def summary(self) -> list:
        """``[(name, value, mean test accuracy, std, n runs), ...]`` per swept value over the runs that
        finished (std over runs, ddof 0); a value whose runs all failed is left out."""
        out = []
        done = [r for r in self.rows if r["status"] == "ok"]
        for name in self.swept:
            for value in dict.fromkeys(r[name] for r in done):
                acc = np.array([r["test_accuracy"] for r in done if r[name] == value])
                out.append((name, value, float(acc.mean()), float(acc.std()), acc.size))
        return out


def sweep(task: str, grid: dict, seeds=(0,), *, out="sweeps", scheduler: str | None = None, n_workers: int = 2,
          figure: bool = True, progress: bool = False, **fixed) -> SweepResult:
    """Train every combination of ``grid`` (name -> values) for every seed, as Dask tasks.

    Parameters
    ----------
    task : str
        A training task (``exactsnn.training.TASKS``).
    grid : dict
        ``TrainConfig`` field -> list of values, e.g. ``{"hidden": [30, 60]}``.
    seeds : sequence of int
    out : str or Path
        Parent folder: one run folder per run, plus ``sweep.csv`` and ``sweep.png``.
    fixed : TrainConfig fields shared by every run (e.g. ``epochs=1``).
    """
    from ..training import TASKS

    if task not in TASKS:
        raise InvalidInputError(f"task = {task!r}; allowed {list(TASKS)}")
    if any(not isinstance(v, (list, tuple)) or not v for v in grid.values()) or "seed" in grid:
        raise InvalidInputError(f"grid = {grid!r}: need TrainConfig field -> non-empty list of values "
                                "(seeds go in seeds=)")
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise InvalidInputError(f"seeds = {seeds!r}: need non-negative integers")
    swept = (*grid, "seed")
    out = Path(out)
    runs = [{**fixed, **dict(zip(grid, values)), "seed": int(s)}
            for values in itertools.product(*grid.values()) for s in seeds]
    folders = [out / run_name(task, {k: r[k] for k in swept}) for r in runs]
    todo = [i for i, f in enumerate(folders) if not (f / "metrics.json").exists()]
    failures = {}
    if todo:
        from ..training import config_for

        for i in todo:
            try:
                config_for(task, **runs[i])  # invalid values fail here, before any cluster starts
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(f"sweep run {folders[i].name}: {exc}") from None
        with dask_client(scheduler, n_workers) as client:
            futures = client.map(train_run, [task] * len(todo), [runs[i] for i in todo],
                                 [str(folders[i]) for i in todo], pure=False)
            _progress(futures, progress)
            failures = _failures(futures, [folders[i].name for i in todo])
    out.mkdir(parents=True, exist_ok=True)
    _write_failures(out / "sweep_failures.json", failures)
    rows = [_row(task, run, f, failures) for run, f in zip(runs, folders)]
    table = out / "sweep.csv"
    with table.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = SweepResult(rows, tuple(grid) or ("seed",), tuple(folders[i].name for i in todo), table,
                         failed={k: v["error"] for k, v in failures.items()})
    if figure and any(r["status"] == "ok" for r in rows):
        result.figure = plot_sweep(result, out / "sweep.png")
    return result


def _failures(futures, names) -> dict:
    """Wait for every run; {run name: {"error", "traceback"}} of those whose task raised (the others wrote
    their folders). Dask does not retry a task that raises; a worker lost too often is ``KilledWorker``."""
    from dask.distributed import wait

    wait(futures)
    failures = {}
    for name, fut in zip(names, futures):
        if fut.status == "error":
            tb = fut.traceback()
            failures[name] = {"error": describe(fut.exception()),
                              "traceback": "".join(traceback.format_tb(tb)) if tb is not None else ""}
        elif fut.status != "finished":  # cancelled, or lost with the cluster
            failures[name] = {"error": f"the Dask task ended with status {fut.status!r}", "traceback": ""}
    return failures


def _write_failures(path: Path, failures: dict):
    """``sweep_failures.json``: the failures of this call (removed when none failed)."""
    if failures:
        path.write_text(json.dumps(failures, indent=1))
    elif path.exists():
        path.unlink()


def _row(task: str, run: dict, folder: Path, failures: dict) -> dict:
    if folder.name in failures:
        from ..training import config_for

        return failed_row(folder, config_for(task, **run), failures[folder.name]["error"])
    return row_of(folder, json.loads((folder / "metrics.json").read_text()))


def _progress(futures, progress):
    if progress:
        from dask.distributed import progress as dask_progress

        dask_progress(futures)


def plot_sweep(result: SweepResult, path):
    """Test accuracy against each swept value, mean +- std over the runs at that value; None without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = result.summary()
    fig, axes = plt.subplots(1, len(result.swept), figsize=(3.6 * len(result.swept), 3), squeeze=False)
    for ax, name in zip(axes[0], result.swept):
        pts = [(v, m, s) for n, v, m, s, _ in stats if n == name]
        ax.errorbar(range(len(pts)), [100 * m for _, m, _ in pts], [100 * s for _, _, s in pts], fmt="o-", capsize=3)
        ax.set_xticks(range(len(pts)), [str(v) for v, _, _ in pts])
        ax.set_xlabel(name)
    axes[0][0].set_ylabel("test accuracy (%), mean +- std")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
