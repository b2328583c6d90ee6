"""``exactsnn campaign``: the command-line face of ``exactsnn.distributed.campaign``.

    exactsnn campaign CASES_DIR [options]              every *.json case file of a folder
    exactsnn campaign CASES_DIR --kind compare         claimed answers CASE.claimed.json against the reference
    exactsnn campaign --generate lif --seeds 0-999     seeded random lif networks (GeneratorSpec)
    exactsnn campaign --kind check_model --models lif,srm_alpha,my_model.toml   the model battery per model

Exit status: 0 every case within tolerance, 1 some case outside tolerance or failed, 2 invalid
arguments, 3 some case could not be completed by Dask (lost; a re-run retries it).

    exactsnn sweep yinyang --seeds 0-9 --hidden 120,240   training runs as Dask tasks (exit 1 if a run raised)
"""

from __future__ import annotations

import sys


def add_campaign_parser(sub):
    """Register the ``campaign`` sub-command on an argparse sub-parser set."""
    p = sub.add_parser("campaign", help="verify many cases (a folder, or random networks) as Dask tasks; "
                                        "records in an SQLite table, resumable")
    p.add_argument("source", nargs="?", help="folder of case files (*.json); omit with --generate")
    p.add_argument("--generate", choices=("lif",), help="random networks of this model instead of a folder")
    p.add_argument("--seeds", default="0-99", help="generator seeds, e.g. 0-999 or 1,5,9 (default 0-99)")
    p.add_argument("--kinds", default="feedforward,recurrent", help="generator network kinds (comma-separated)")
    p.add_argument("--kind", choices=("verify", "compare", "check_model"), default="verify",
                   help="verify: the float64 engine vs the reference (default); compare: the claimed answers "
                        "CASE.claimed.json beside each case file vs the reference (like exactsnn validate); "
                        "check_model: the model battery on each of --models")
    p.add_argument("--models", help="check_model: comma-separated built-in names or model files (JSON/TOML)")
    p.add_argument("--dps", type=int, default=30, help="digits of the reference (default 30)")
    p.add_argument("--store", default="campaign.db", help="SQLite file of the records (default campaign.db); "
                                                          "an existing one is resumed")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (default $DASK_SCHEDULER_ADDRESS, "
                                       "else a LocalCluster on 127.0.0.1)")
    p.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster (default 2)")
    p.add_argument("--out", help="write flagged cases (failures, errors, conditioning flags) here as case files")
    p.add_argument("--plot", metavar="FILE", help="save histograms of the errors (needs matplotlib)")
    p.add_argument("--top", type=int, default=10, help="worst cases listed (default 10)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_campaign(args) -> int:
    """Run the sub-command; raises ``InvalidInputError`` for bad arguments (the CLI exits 2)."""
    from ..errors import InvalidInputError
    from . import GeneratorSpec, campaign, parse_seeds
    from .summary import plot_histograms, summary_text

    if sum(x is not None for x in (args.source, args.generate, args.models)) != 1:
        raise InvalidInputError("campaign: give a folder of case files, --generate MODEL or --models LIST "
                                "(one of them)")
    if args.models:
        source = [m.strip() for m in args.models.split(",") if m.strip()]
    elif args.generate:
        kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
        source = GeneratorSpec(seeds=parse_seeds(args.seeds), model=args.generate, kinds=kinds)
    else:
        source = args.source
    result = campaign(source, args.kind, dps=args.dps, store=args.store, scheduler=args.scheduler, n_workers=args.workers,
                      progress=not args.no_progress)
    print(summary_text(result, args.top))
    if args.out and result.flagged:
        paths = result.write_flagged(args.out)
        print(f"  {len(paths)} flagged case file(s) written to {args.out}")
    if args.plot:
        plot_histograms(result, args.plot)
        print(f"  figure written to {args.plot}")
    if result.lost:
        print(f"exactsnn campaign: {len(result.lost)} case(s) lost; run the same command again", file=sys.stderr)
        return 3
    return 0 if result.counts["fail"] == result.counts["error"] == 0 else 1


def _values(kind):
    def parse(text):
        try:
            return [kind(x) for x in text.split(",") if x.strip()]
        except ValueError:
            import argparse

            raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated {kind.__name__} values") from None
    return parse


def add_sweep_parser(sub):
    """Register the ``sweep`` sub-command: training runs over a grid and seeds as Dask tasks."""
    from ..training import TASKS

    p = sub.add_parser("sweep", help="train over a grid of hyper-parameters and seeds as Dask tasks; one table "
                                     "and one figure (exactsnn.distributed.sweep)")
    p.add_argument("task", choices=TASKS)
    p.add_argument("--seeds", default="0", help="seeds, e.g. 0-9 or 1,3 (default 0)")
    p.add_argument("--hidden", type=_values(int), help="hidden sizes, comma-separated")
    p.add_argument("--lr", type=_values(float), help="learning rates, comma-separated")
    p.add_argument("--batch-size", type=_values(int), help="batch sizes, comma-separated")
    p.add_argument("--epochs", type=int, help="epochs of every run (default: the task's)")
    p.add_argument("--train-size", type=int, help="yinyang: training samples of every run")
    p.add_argument("--out", help="parent folder of the run folders, sweep.csv and sweep.png (default sweeps/TASK)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (default $DASK_SCHEDULER_ADDRESS, "
                                       "else a LocalCluster on 127.0.0.1)")
    p.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster (default 2)")


def run_sweep(args) -> int:
    from . import parse_seeds
    from .sweep import sweep

    grid = {k: getattr(args, k) for k in ("hidden", "lr", "batch_size") if getattr(args, k)}
    fixed = {k: getattr(args, k) for k in ("epochs", "train_size") if getattr(args, k) is not None}
    res = sweep(args.task, grid, parse_seeds(args.seeds), out=args.out or f"sweeps/{args.task}", scheduler=args.scheduler,
                n_workers=args.workers, progress=True, **fixed)
    print(f"\nexactsnn sweep {args.task}: {len(res.rows)} run(s) ({len(res.ran)} run now) -> {res.table}")
    print(f"  {'swept':<12} {'value':>10} {'test accuracy (mean +- std)':>30} {'runs':>5}")
    for name, value, mean, std, n in res.summary():
        print(f"  {name:<12} {value!s:>10} {100 * mean:>20.2f} +- {100 * std:5.2f} % {n:>5}")
    if res.figure:
        print(f"  figure written to {res.figure}")
    for name, error in res.failed.items():
        print(f"exactsnn sweep: run {name} failed: {error}", file=sys.stderr)
    if res.failed:
        print(f"exactsnn sweep: {len(res.failed)} run(s) failed (rows with status 'failed' in {res.table}; "
              "tracebacks in sweep_failures.json); run the same command again to retry them", file=sys.stderr)
        return 1
    return 0


def add_train_dp_parser(sub):
    """Register ``train-dp``: ``exactsnn train`` with every minibatch split across Dask workers."""
    from ..training.command import _positive_int, add_output_options, add_recipe_options

    p = sub.add_parser("train-dp", help="train like exactsnn train, each minibatch split across Dask workers; "
                                        "weights bit-identical to one process",
                       description="Data-parallel exactsnn train: every minibatch is cut into --shards contiguous "
                                   "shards, simulated with exact gradients on the Dask workers and reduced here in "
                                   "the order of one process, so the weights equal those of exactsnn train with the "
                                   "same options bit for bit. Writes the same run folder.")
    add_recipe_options(p)
    add_output_options(p)
    p.add_argument("--scheduler", help="address of a running Dask scheduler (default $DASK_SCHEDULER_ADDRESS, "
                                       "else a LocalCluster on 127.0.0.1)")
    p.add_argument("--workers", type=_positive_int, default=2, help="worker processes of the local cluster (default 2)")
    p.add_argument("--shards", type=_positive_int, help="shards per minibatch (default: one per worker thread)")


def run_train_dp(args) -> int:
    from pathlib import Path

    from ..training import config_for
    from ..training.command import _train_into
    from .cluster import dask_client
    from .data_parallel import DaskTrainer

    config = config_for(args.task, hidden=args.hidden, epochs=args.epochs, seed=args.seed, lr=args.lr,
                        batch_size=args.batch_size, train_size=args.train_size, recurrent=args.recurrent)
    out = Path(args.out or f"runs/{args.task}-seed{args.seed}")
    with dask_client(args.scheduler, args.workers) as client:
        trainer = DaskTrainer(config, client, args.shards, progress=not args.quiet)
        result = _train_into(trainer, out, figures=not args.no_figures)
        shards, tasks = trainer.n_shards, trainer.shard_tasks
    final = result.metrics()["final"]
    print(f"{config.task}: test accuracy {100 * final['test_accuracy']:.2f}% after {len(result.history)} epochs "
          f"(train {100 * final['train_accuracy']:.2f}%), {final['wall_time_s']:.0f} s; minibatches in {shards} "
          f"shards ({tasks} Dask tasks); written to {out}")
    return 0


def run_command(args) -> int:
    """Dispatch ``campaign``, ``sweep`` or ``train-dp``."""
    return {"campaign": run_campaign, "sweep": run_sweep, "train-dp": run_train_dp}[args.command](args)
