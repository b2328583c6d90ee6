"""How right are snnTorch and jaxsnn on an exactly trained Yin-Yang network? (issue 12)

The network: ``tests/fixtures/yinyang_small_trained.json`` (``benchmarks/make_peer_fixture.py``), exported
with ``to_nir`` and run by each peer's adapter (``exactsnn.interop.adapters``). Against exactsnn's float64
engine it reports, per framework and (snnTorch) per time step ``dt``:

- class agreement with exactsnn on the Yin-Yang test set (first output spike; all silent = no class) and
  the largest first-output-spike-time error (one batched peer run per row);
- on ``--samples`` test samples, every spike (``peer_report``): error percentiles, missing and extra
  spikes, and the gradient of the TTFS loss (label = the sample's class) against the exact adjoint:
  median cosine, sign agreement and norm ratio over the samples.

Run::

    python benchmarks/peer_accuracy.py        # snnTorch at 5 dt x 2 schemes, jaxsnn float64/float32
    python benchmarks/peer_accuracy.py --dts 1e-2 1e-3 --samples 5 --no-jaxsnn

jaxsnn recompiles per claim (~20-40 s each), so its per-sample columns use ``--jaxsnn-samples`` (default 2).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import exactsnn as es  # noqa: E402
from exactsnn.interop import to_nir  # noqa: E402
from exactsnn.interop.adapters.report import peer_report  # noqa: E402
from exactsnn.training import datasets  # noqa: E402

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "yinyang_small_trained.json"


def load_fixture(path=FIXTURE):
    """``(network, params, t_max, loss dict, graph)`` of the trained fixture."""
    fx = json.loads(Path(path).read_text())
    net = es.Network.feedforward([np.asarray(w) for w in fx["weights"]])
    return net, fx["params"], fx["t_max"], fx["loss"], to_nir(net, fx["model"], fx["params"])


def classes(t_first) -> np.ndarray:
    """First output to fire; -1 when all are silent (``exactsnn.training``'s rule)."""
    t = np.asarray(t_first)
    return np.where(np.isfinite(t).any(axis=1), np.argmin(t, axis=1), -1)


def exact_first_times(net, params, t_max, batch) -> np.ndarray:
    n_out = net.layer_sizes[-1]
    out = np.full((len(batch), n_out), np.inf)
    for b, x in enumerate(batch):
        sp = es.simulate("lif", net, x, t_max, params=params).spikes[-n_out:]
        out[b] = [s[0] if len(s) else np.inf for s in sp]
    return out


def first_time_row(t_peer, t_exact) -> dict:
    both = np.isfinite(t_peer) & np.isfinite(t_exact)
    return {"class_agreement": float(np.mean(classes(t_peer) == classes(t_exact))),
            "first_time_max_err": float(np.abs(t_peer[both] - t_exact[both]).max()) if both.any() else 0.0,
            "silence_differs": int(np.sum(np.isfinite(t_peer) != np.isfinite(t_exact)))}


def sample_rows(claim_fn, graph, t_max, loss, batch, labels) -> dict:
    """Pooled spike errors and gradient agreement of per-sample claims (``claim_fn(inputs, loss)``)."""
    errs, miss, extra, cos, sign, ratio = [], 0, 0, [], [], []
    for x, lab in zip(batch, labels):
        lo = {**loss, "label": int(lab)}
        r = peer_report(graph, x, t_max, claim_fn(x, lo), loss=lo)
        errs.append(r.errors)
        miss, extra = miss + len(r.missing), extra + len(r.extra)
        cos.append(r.cosine), sign.append(r.sign_agreement), ratio.append(r.norm_ratio)
    e = np.concatenate(errs)
    return {"spikes": int(e.size), "err_p50": float(np.median(e)), "err_p90": float(np.percentile(e, 90)),
            "err_max": float(e.max()), "missing": miss, "extra": extra, "cos_median": float(np.nanmedian(cos)),
            "cos_min": float(np.nanmin(cos)), "sign_median": float(np.nanmedian(sign)),
            "norm_ratio_median": float(np.nanmedian(ratio))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dts", type=float, nargs="+", default=[1e-1, 3e-2, 1e-2, 3e-3, 1e-3])
    ap.add_argument("--schemes", nargs="+", default=["exact", "riemann"], help="snnTorch grid mappings")
    ap.add_argument("--samples", type=int, default=20, help="test samples with full spike/gradient reports")
    ap.add_argument("--test-size", type=int, default=1000, help="test samples for class agreement")
    ap.add_argument("--jaxsnn-samples", type=int, default=2)
    ap.add_argument("--no-jaxsnn", action="store_true")
    ap.add_argument("--json", help="also write the rows here")
    a = ap.parse_args(argv)
    net, params, t_max, loss, graph = load_fixture()
    d = datasets.yinyang("test")
    batch = [[[float(t)] for t in x] for x in d.times[:a.test_size]]
    t_exact = exact_first_times(net, params, t_max, batch)
    print(f"network {net.layer_sizes}, exactsnn test accuracy {np.mean(classes(t_exact) == d.labels[:a.test_size]):.3f}")
    rows = []
    from exactsnn.interop.adapters.snntorch import snntorch_claim, snntorch_first_times

    for scheme in a.schemes:
        for dt in a.dts:
            t0 = time.perf_counter()
            row = {"framework": f"snntorch {scheme}", "dt": dt,
                   **first_time_row(snntorch_first_times(graph, batch, t_max, dt, scheme=scheme), t_exact)}
            row.update(sample_rows(lambda x, lo: snntorch_claim(graph, x, t_max, dt, loss=lo, scheme=scheme), graph,
                                   t_max, loss, batch[:a.samples], d.labels[:a.samples]))
            rows.append({**row, "seconds": round(time.perf_counter() - t0, 1)})
            print(json.dumps(rows[-1]), flush=True)
    if not a.no_jaxsnn:
        from exactsnn.interop.adapters.jaxsnn import jaxsnn_claim, jaxsnn_first_times

        for x64 in (True, False):
            t0 = time.perf_counter()
            row = {"framework": f"jaxsnn float{64 if x64 else 32}",
                   **first_time_row(jaxsnn_first_times(graph, batch, t_max, x64=x64), t_exact)}
            row.update(sample_rows(lambda x, lo: jaxsnn_claim(graph, x, t_max, x64=x64, loss=lo), graph, t_max,
                                   loss, batch[:a.jaxsnn_samples], d.labels[:a.jaxsnn_samples]))
            rows.append({**row, "seconds": round(time.perf_counter() - t0, 1)})
            print(json.dumps(rows[-1]), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
