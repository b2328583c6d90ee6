"""``exactsnn campaign``: the command-line face of ``exactsnn.distributed.campaign``.

    exactsnn campaign CASES_DIR [options]              every *.json case file of a folder
    exactsnn campaign --generate lif --seeds 0-999     seeded random lif networks (GeneratorSpec)

Exit status: 0 every case within tolerance, 1 some case outside tolerance or failed, 2 invalid
arguments, 3 some case could not be completed by Dask (lost; a re-run retries it).
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

    if (args.source is None) == (args.generate is None):
        raise InvalidInputError("campaign: give a folder of case files or --generate MODEL (one of them)")
    if args.generate:
        kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
        source = GeneratorSpec(seeds=parse_seeds(args.seeds), model=args.generate, kinds=kinds)
    else:
        source = args.source
    result = campaign(source, dps=args.dps, store=args.store, scheduler=args.scheduler, n_workers=args.workers,
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
