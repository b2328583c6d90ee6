"""Cost of the high-precision reference on a Yin-Yang sized sample (issue 19).

The sample: the trainer's recipe (``lif``, tau_syn = tau_mem = 1, threshold 1, t_max = 4, inputs of the
first Yin-Yang test sample with the bias channel at 0.9, TTFS cross-entropy with the recipe's tau0,
tau1, gamma), as a feed-forward ``5-H-3`` case (the case format has no input->output bias synapses).
Weights are random, not trained: ``W1 ~ N(2.0, 1.0)``, ``W2 ~ N(0.2, 0.3)`` drawn with
``numpy.random.default_rng(seed)``; with H = 120 and seed 0 the sample has 1,206 spikes (817 hidden,
389 output), the size of the jaxsnn samples of the issue (~1,250).

Run::

    python benchmarks/bench_reference.py --hidden 120              # verify + validate, timings
    python benchmarks/bench_reference.py --hidden 20 --profile     # cProfile summary of the reference
    python benchmarks/bench_reference.py --write-case case.json --write-claim claim.json

All times are CPU seconds of this process (``time.process_time``), i.e. one core's work; on a shared
machine the wall time is larger. Baselines measured in the same run: the float64 engine on the same case (simulate + FP Jacobian +
adjoint), and the reference's spike count (cost per spike).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import exactsnn as es  # noqa: E402
from exactsnn.training import datasets  # noqa: E402
from exactsnn.training.trainer import config_for  # noqa: E402


def yinyang_case(hidden: int = 120, seed: int = 0, t_max: float | None = None, sample: int = 0) -> dict:
    """The benchmark case as an ``exactsnn-case/1`` dict (see the module docstring)."""
    cfg = config_for("yinyang")
    rng = np.random.default_rng(seed)
    w1 = rng.normal(2.0, 1.0, (5, hidden))
    w2 = rng.normal(0.2, 0.3, (hidden, 3))
    data = datasets.yinyang("test")
    x = data.times[sample]
    return {
        "format": "exactsnn-case/1",
        "model": {"name": "lif", "tau_syn": cfg.tau_syn, "tau_mem": cfg.tau_mem, "threshold": cfg.threshold},
        "network": {"kind": "feedforward", "weights": [w1.tolist(), w2.tolist()]},
        "inputs": [[float(t)] for t in x],
        "t_max": cfg.t_max if t_max is None else t_max,
        "loss": {"kind": "ttfs_cross_entropy", "label": int(data.labels[sample]), "tau0": cfg.tau0,
                 "tau1": cfg.tau1, "gamma": cfg.gamma},
    }


def engine_answers(case):
    """The float64 engine on the case: simulate, loss, adjoint gradient, FP Jacobian."""
    res = es.simulate(case.model, case.network, case.inputs, case.t_max, params=case.params)
    value, dl_dt, _ = es.loss_value_and_dt(res, case.loss)
    grads = es.adjoint(res, dl_dt, policy="flag")
    jac = es.forward_propagation(res, policy="flag")
    return res, value, grads, jac


def engine_claim(case_doc: dict, jacobian: bool = True) -> dict:
    """The float64 engine's answers (spikes, loss, grad[, Jacobian]) as an ``exactsnn-result/1`` dict."""
    from exactsnn.io.case import load_case, result_document

    case = load_case(case_doc)
    res, value, grads, jac = engine_answers(case)
    return json.loads(json.dumps(result_document(case, res, value, grads, jac if jacobian else None)))


def _timed(fn):
    """``(result, CPU seconds of this process)``: on a shared machine the CPU time is what one core
    spends; the wall time is printed too where it matters."""
    t0 = time.process_time()
    out = fn()
    return out, time.process_time() - t0


def _profile(fn, top: int) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--t-max", type=float, default=None)
    ap.add_argument("--dps", type=int, default=50)
    ap.add_argument("--profile", action="store_true", help="print a cProfile summary of the reference solve")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--skip", choices=("verify", "validate"), action="append", default=[])
    ap.add_argument("--no-jacobian", action="store_true", help="the claim has spikes, loss and grad only")
    ap.add_argument("--write-case", type=Path)
    ap.add_argument("--write-claim", type=Path)
    args = ap.parse_args(argv)

    from exactsnn.io.case import load_case
    from exactsnn.verification import ground_truth

    doc = yinyang_case(args.hidden, args.seed, args.t_max)
    case = load_case(doc)
    engine_answers(case)  # compiles the engine
    _, t_engine = _timed(lambda: engine_answers(case))
    claim = engine_claim(doc, jacobian=not args.no_jacobian)
    n_spikes = sum(len(s) for layer in claim["spikes"] for s in layer)
    if args.write_case:
        args.write_case.write_text(json.dumps(doc))
    if args.write_claim:
        args.write_claim.write_text(json.dumps(claim))
    print(f"case: 5-{args.hidden}-3 lif, t_max {doc['t_max']}, seed {args.seed}: {n_spikes} spikes "
          f"(hidden {sum(len(s) for s in claim['spikes'][0])}, output {sum(len(s) for s in claim['spikes'][1])})")
    print(f"baseline float64 engine (simulate + FP Jacobian + adjoint): {t_engine * 1e3:.1f} ms")
    if args.profile:
        print(_profile(lambda: ground_truth(case, args.dps), args.top))
        return
    truth, t_ref = _timed(lambda: ground_truth(case, args.dps))
    print(f"reference ({args.dps} digits): {t_ref:.2f} s, {t_ref / max(n_spikes, 1) * 1e3:.2f} ms per spike, "
          f"{t_ref / t_engine:.0f}x the float64 engine")
    if "verify" not in args.skip:
        rep, t_ver = _timed(lambda: es.verify(case, dps=args.dps))
        print(f"verify (reference included): {t_ver:.2f} s, ok = {rep.ok}")
        _, t_vcmp = _timed(lambda: es.verify(case, dps=args.dps, truth=truth))
        print(f"  of which engine + comparison (reference given): {t_vcmp:.2f} s")
    if "validate" not in args.skip:
        rep, t_val = _timed(lambda: es.compare(case, claim, dps=args.dps))
        print(f"validate (reference included; claim with{'out' if args.no_jacobian else ''} Jacobian): "
              f"{t_val:.2f} s, ok = {rep.ok}")
        _, t_cmp = _timed(lambda: es.compare(case, claim, dps=args.dps, truth=truth))
        print(f"  of which comparing the numbers (reference given): {t_cmp:.2f} s")


if __name__ == "__main__":
    main()
