"""A seeded generator of random networks for the large property suite, and its verdicts.

``random_case(seed)`` draws one ``exactsnn-case/1`` document from ``np.random.default_rng(seed)`` alone
(the same case on every machine): every built-in model; feed-forward or recurrent; with or without
delays; multi-spike (weights in units of ``theta / max_s psp(s)``, so silent, single- and multi-spike
neurons all occur); near-singular time constants (``tau_a = tau_b (1 +- 10^-k)``, ``k = 1..16``, or
exactly equal) and near-degenerate spikes (one input grazing threshold by ``10^-k``, simultaneous input
spikes). Every case carries the ``first_spike_sum`` loss, so the adjoint is checked against forward
propagation too.

``classify(case)`` runs ``exactsnn.verify`` at 30 digits and returns one verdict:

- ``passed``: same spike pattern as the reference, certified, within the verify tolerances (spike times
  1e-11 absolute, gradients 1e-8 row/block-relative), and the invariants hold;
- ``flagged``: the engine is outside a tolerance or the spike pattern differs, and a diagnostic finding
  (a spike or neuron finding, or an uncertified reference) explains it;
- ``refused``: the engine or the reference raised a clear ``ExactSNNError`` (e.g. a spike budget);
- ``silent_miss``: a disagreement with no finding, or an invariant broken (the property fails);
- ``internal_error``: any other exception (the property fails).

Invariants of every ``passed`` case: each neuron's spikes lie in ``[0, t_max]`` in increasing order, and
the loss gradient of the adjoint equals forward propagation contracted with ``dL/dt`` to 1e-9 relative.

Run a range standalone: ``python tests/property_networks.py START STOP [OUT.json]`` (prints counts as it
goes and writes them, with every non-passed seed, to OUT.json).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter

import numpy as np

MODELS = ("lif", "nonleaky_if", "srm_alpha", "lif_dual_exp", "lif_two_synapse", "adaptive_threshold")
#: Pairs of time constants whose equality is a singular set of the model's formulas.
SINGULAR_PAIRS = {"lif": [("tau_syn", "tau_mem")], "adaptive_threshold": [("tau_syn", "tau_mem")],
                  "lif_dual_exp": [("tau_decay", "tau_mem"), ("tau_rise", "tau_mem"), ("tau_decay", "tau_rise")],
                  "lif_two_synapse": [("tau_fast", "tau_mem"), ("tau_slow", "tau_mem")]}
THRESHOLD = {"lif": "threshold", "nonleaky_if": "threshold", "srm_alpha": "threshold", "lif_dual_exp": "threshold",
             "lif_two_synapse": "threshold", "adaptive_threshold": "threshold"}
DPS, FP_ADJ_TOL = 30, 1e-9
VERDICTS = ("passed", "flagged", "refused", "silent_miss", "internal_error")


def _params(rng, name):
    """Random parameter values: each default times U(0.6, 1.6) (fractions U(0.05, 0.95))."""
    from exactsnn.compiled import load_builtin

    out = {}
    for k, v in load_builtin(name).defaults.items():
        out[k] = float(rng.uniform(0.05, 0.95)) if k.startswith("frac") else float(v * rng.uniform(0.6, 1.6))
    kind = None
    pairs = SINGULAR_PAIRS.get(name, [])
    if pairs and rng.random() < 0.25:
        a, b = pairs[int(rng.integers(len(pairs)))]
        if rng.random() < 0.2:
            out[a], kind = out[b], "singular"
        else:
            k = int(rng.integers(1, 17))
            out[a], kind = out[b] * (1 + (1 if rng.random() < 0.5 else -1) * 10.0 ** -k), f"near-singular 1e-{k}"
    return out, kind


def psp_peak(name, params) -> float:
    """``max_s psp(s)``: a grid, then a golden-section search around the grid's best point (so that a weight
    ``theta / peak * (1 + 10^-k)`` really grazes threshold by ~``10^-k``); only used to scale weights."""
    from exactsnn.compiled import load_builtin

    compiled = load_builtin(name)
    values = compiled.param_vector(params)
    grid = np.linspace(1e-3, 15.0, 600)
    vals = [compiled.module.psp(float(s), values) for s in grid]
    k = int(np.argmax(vals))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    golden = (math.sqrt(5) - 1) / 2
    for _ in range(80):  # golden-section search: the bracket shrinks to ~1e-17 of its width
        a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
        if compiled.module.psp(float(a), values) >= compiled.module.psp(float(b), values):
            hi = b
        else:
            lo = a
    return max(vals[k], compiled.module.psp(float((lo + hi) / 2), values))


def random_case(seed: int) -> dict:
    """Network ``seed``: a case dict (``exactsnn-case/1``) plus ``"_tags"`` (what is special about it)."""
    rng = np.random.default_rng([20261206, seed])
    name = MODELS[int(rng.integers(len(MODELS)))]
    params, sing = _params(rng, name)
    tags = [name] + ([sing] if sing else [])
    unit = params[THRESHOLD[name]] / psp_peak(name, params)
    t_max = float(rng.uniform(1.5, 3.0))
    if rng.random() < 0.08 and name != "nonleaky_if":  # one input grazing threshold: V_max - theta ~ 10^-k theta
        # (nonleaky_if's psp rises to its supremum as s -> oo: no maximum to graze)
        k = int(rng.integers(2, 13))
        tags.append(f"grazing 1e-{k}")
        network = {"kind": "feedforward", "weights": [[[unit * (1 + 10.0 ** -k)]]]}
        return {"format": "exactsnn-case/1", "model": {"name": name, **params}, "network": network,
                "inputs": [[float(rng.uniform(0, 0.5))]], "t_max": t_max + 8.0,
                "loss": {"kind": "first_spike_sum"}, "_tags": tags}
    n_in = int(rng.integers(1, 3))
    inputs = [sorted(rng.uniform(0.0, 1.0, int(rng.integers(1, 3))).tolist()) for _ in range(n_in)]
    if n_in == 2 and rng.random() < 0.1:
        inputs[1] = sorted([inputs[0][0]] + inputs[1][1:])
        tags.append("simultaneous inputs")
    delays = rng.random() < 0.5
    if rng.random() < 0.5:
        n_h, n_o = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        network = {"kind": "feedforward", "weights": [(unit * rng.uniform(0.0, 3.5, (n_in, n_h))).tolist(),
                                                      (unit * rng.uniform(-0.5, 2.5, (n_h, n_o))).tolist()]}
        if delays:
            network["delays"] = [rng.uniform(0.0, 0.3, (n_in, n_h)).tolist(), rng.uniform(0.0, 0.3, (n_h, n_o)).tolist()]
        tags.append("feedforward")
    else:
        n = int(rng.integers(2, 4))
        network = {"kind": "recurrent", "input_weights": (unit * rng.uniform(0.0, 3.0, (n_in, n))).tolist(),
                   "weights": (unit * rng.uniform(-1.0, 0.6, (n, n))).tolist(), "outputs": [n - 1],
                   "delays": rng.uniform(0.05, 0.3, (n, n)).tolist()}
        if delays:
            network["input_delays"] = rng.uniform(0.0, 0.3, (n_in, n)).tolist()
        tags.append("recurrent")
    tags += ["delays"] if delays else []
    return {"format": "exactsnn-case/1", "model": {"name": name, **params}, "network": network, "inputs": inputs,
            "t_max": t_max, "loss": {"kind": "first_spike_sum"}, "_tags": tags}


def _invariants(case, rep) -> list:
    """Broken invariants of a verified case (empty when all hold)."""
    bad = []
    by_neuron = {}
    for s in rep.spikes:
        by_neuron.setdefault(s.neuron, []).append((s.index, s.time))
    for j, spikes in by_neuron.items():
        times = [t for _, t in sorted(spikes)]
        if any(not (0.0 <= t <= case.t_max) for t in times) or any(b <= a for a, b in zip(times, times[1:])):
            bad.append(f"neuron {j}: spike times {times} not increasing in [0, t_max = {case.t_max}]")
    if rep.fp_vs_adjoint is not None and not rep.fp_vs_adjoint <= FP_ADJ_TOL:
        bad.append(f"adjoint vs forward propagation differ by {rep.fp_vs_adjoint:.2e} > {FP_ADJ_TOL:g}")
    return bad


def classify(doc: dict) -> tuple:
    """``(verdict, detail, tags)`` of one case document (see the module docstring); ``tags`` says whether
    the network was silent, multi-spike or had diagnostic findings."""
    import warnings

    from exactsnn.errors import ExactSNNError
    from exactsnn.io.case import load_case
    from exactsnn.verification import verify

    doc = {k: v for k, v in doc.items() if not k.startswith("_")}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            case = load_case(json.dumps(doc))
            rep = verify(case, dps=DPS)
    except ExactSNNError as exc:
        return "refused", f"{type(exc).__name__}: {str(exc)[:200]}", []
    except Exception as exc:  # noqa: BLE001 - any other exception is a failure of the property
        return "internal_error", f"{type(exc).__name__}: {str(exc)[:300]}", []
    tags = ["silent"] if not rep.spikes else ["multi-spike"] if any(x.index > 0 for x in rep.spikes) else []
    tags += [] if rep.well_conditioned else ["with findings"]
    explained = bool(rep.neuron_findings) or any(s.findings for s in rep.spikes) or not rep.certified
    if rep.ok:
        bad = _invariants(case, rep) if rep.well_conditioned else []
        return ("silent_miss", "; ".join(bad), tags) if bad else ("passed", "", tags)
    if explained:
        return "flagged", rep.title, tags
    return "silent_miss", (f"{rep.title}: not ok without a finding (time err {rep.max_abs_err_spike_times:.2e}, "
                           f"grad err {rep.max_rel_err_gradients:.2e}, unmatched {len(rep.unmatched)})"), tags


def run(seeds, out=None, progress_every: int = 0) -> dict:
    """Classify every seed; ``{"counts": {verdict: n}, "tags": {...}, "cases": {seed: [verdict, detail]}}``
    with only the non-passed seeds in ``cases``. Written to ``out`` (JSON) after every 50 seeds if given."""
    counts, tags, cases = Counter({v: 0 for v in VERDICTS}), Counter(), {}
    start = time.perf_counter()
    for i, seed in enumerate(seeds, 1):
        doc = random_case(seed)
        verdict, detail, found = classify(doc)
        counts[verdict] += 1
        tags.update(f"{t}: {verdict}" for t in doc["_tags"] + found)
        if verdict != "passed":
            cases[int(seed)] = [verdict, detail, doc["_tags"]]
        report = {"counts": dict(counts), "n": i, "seconds": round(time.perf_counter() - start, 1),
                  "tags": dict(sorted(tags.items())), "cases": cases}
        if out and (i % 50 == 0 or i == len(seeds)):
            with open(out, "w") as f:
                json.dump(report, f, indent=1)
        if progress_every and i % progress_every == 0:
            print(f"{i} networks, {report['seconds']} s: {dict(counts)}", flush=True)
    return report


if __name__ == "__main__":
    lo, hi = int(sys.argv[1]), int(sys.argv[2])
    result = run(range(lo, hi), sys.argv[3] if len(sys.argv) > 3 else None, progress_every=100)
    print(json.dumps(result["counts"]))
    sys.exit(0 if result["counts"]["silent_miss"] == result["counts"]["internal_error"] == 0 else 1)
