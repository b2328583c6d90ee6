"""Wall time of one bounded verification campaign on a 1-worker and a 2-worker LocalCluster.

    python benchmarks/bench_campaign.py --seeds 0-39 --dps 30

Both runs use ``exactsnn.distributed.campaign`` with a fresh SQLite store, the same random lif networks
(``GeneratorSpec`` defaults: feed-forward and recurrent, multi-spike) and the reference at ``--dps``
digits. Wall time includes starting and closing the cluster (what a user waits for). Prints both
times, their ratio (baseline: the 1-worker run), the achieved concurrency (sum of the tasks' own times
over the wall time), the machine's load average (other processes share the cores), and whether the
records agree (timings aside).
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from exactsnn.distributed import GeneratorSpec, campaign, parse_seeds
from exactsnn.distributed.tasks import RECORD_FIELDS, TIMING_FIELDS


def records(result):
    keep = [k for k in RECORD_FIELDS if k not in TIMING_FIELDS]
    return sorted(tuple(r[k] for k in keep) for r in result.records)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-39")
    ap.add_argument("--dps", type=int, default=30)
    args = ap.parse_args()
    spec = GeneratorSpec(seeds=parse_seeds(args.seeds))
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = {}
        for n in (1, 2):
            t0 = time.perf_counter()
            out[n] = campaign(spec, dps=args.dps, store=Path(tmp) / f"w{n}.db", n_workers=n)
            out[n].wall_time = time.perf_counter() - t0
    one, two = out[1], out[2]
    spikes = sum(r["n_spikes"] or 0 for r in one.records)
    print(f"{len(spec.seeds)} random lif networks ({spikes} spikes), reference at {args.dps} digits")
    print(f"  worst spike-time error {max(r['max_abs_err_time'] or 0 for r in one.records):.2e}, "
          f"worst gradient error {max(r['max_rel_err_grad'] or 0 for r in one.records):.2e}, "
          f"verdicts {one.counts}")
    for n, res in out.items():
        busy = sum((r["t_reference"] or 0) + (r["t_engine"] or 0) for r in res.records)
        print(f"  {n} worker(s): {res.wall_time:7.1f} s wall, {busy:7.1f} s in tasks, concurrency "
              f"{busy / res.wall_time:.2f}")
    print(f"  load average (1 min) before/after: {load0:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  speed-up 2 vs 1 workers: {one.wall_time / two.wall_time:.2f}x")
    print(f"  records identical (timings aside): {records(one) == records(two)}")


if __name__ == "__main__":
    main()
