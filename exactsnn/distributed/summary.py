"""A campaign's summary: worst cases first (text) and histograms of the errors (a matplotlib figure)."""

from __future__ import annotations

import json
import math

#: Columns of the worst-cases table: (record key, header, format).
TABLE = (("case_id", "case", "{:<16}"), ("status", "status", "{:<6}"), ("n_spikes", "spikes", "{:>6}"),
         ("max_abs_err_time", "max |dt|", "{:>9.2e}"), ("max_rel_err_grad", "grad rel", "{:>9.2e}"),
         ("min_vdot", "min dV/dt", "{:>9.3g}"))


def _cell(fmt, value):
    if value is None:
        return fmt.replace(".2e", "").replace(".3g", "").format("-")
    return fmt.format(value)


def summary_text(result, top: int = 10) -> str:
    """Counts, the worst spike-time and gradient errors, and the ``top`` worst cases with their flags."""
    recs = result.records
    done = [r for r in recs if r["status"] != "error"]
    worst_t = max((r["max_abs_err_time"] or 0.0 for r in done), default=math.nan)
    worst_g = max((r["max_rel_err_grad"] or 0.0 for r in done), default=math.nan)
    c = result.counts
    lines = [f"exactsnn campaign: {len(recs)} case(s) in {result.store} ({len(result.ran)} run now, "
             f"{result.skipped} recorded before, {result.wall_time:.1f} s)",
             f"  verdicts        {c['ok']} ok, {c['fail']} outside tolerance, {c['error']} error(s), "
             f"{len(result.flagged)} flagged",
             f"  worst errors    spike time {worst_t:.2e} (absolute), gradient {worst_g:.2e} (row/block relative)"]
    for cid, msg in result.lost:
        lines.append(f"  LOST            {cid}: {msg} (not recorded; run again to retry)")
    lines.append("\n  " + " ".join(fmt.replace(".2e", "").replace(".3g", "").format(head)
                                    for _, head, fmt in TABLE) + "  flags / error")
    for r in recs[:top]:
        note = r["error"] or ", ".join(json.loads(r["flags"] or "[]"))
        lines.append("  " + " ".join(_cell(fmt, r[key]) for key, _, fmt in TABLE) + f"  {note}")
    if len(recs) > top:
        lines.append(f"  ... {len(recs) - top} more (sqlite3 {result.store} 'select * from records')")
    flagged = result.flagged
    if flagged:
        lines.append(f"\n  flagged ({len(flagged)}):")
        for r in flagged[:top]:
            lines.append(f"  {r['case_id']:<16} {r['status']:<6} {r['error'] or ', '.join(json.loads(r['flags']))}")
        if len(flagged) > top:
            lines.append(f"  ... {len(flagged) - top} more")
    return "\n".join(lines)


def plot_histograms(result, path):
    """Save histograms of ``log10`` spike-time and gradient errors over the recorded cases to ``path``.

    Exact zeros are drawn at ``log10(1e-20)``. Needs matplotlib (``pip install 'exactsnn[plot]'``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in result.records if r["status"] != "error"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, key, title in zip(axes, ("max_abs_err_time", "max_rel_err_grad"),
                              ("worst spike-time error per case (absolute)",
                               "worst gradient error per case (row/block relative)")):
        vals = [math.log10(max(r[key], 1e-20)) for r in done if r[key] is not None]
        ax.hist(vals, bins=30, color="C0")
        ax.set_xlabel(f"log10 {key} (exact 0 drawn at -20)")
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("cases")
    fig.suptitle(f"{len(done)} cases", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
