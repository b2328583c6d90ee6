"""Reference answers saved to a file and reused: ``exactsnn-reference-run/1`` (JSON, never pickle).

``exactsnn verify/validate --save-reference FILE`` writes the reference solver's answers of a case;
``--reference FILE`` reads them back instead of solving again (trying other tolerances or another
implementation's answers on the same case costs seconds). The file holds only data:

```
{"format": "exactsnn-reference-run/1",
 "case_hash": "<sha256 of the solved problem>",  "dps": 50, "working_dps": 65,
 "certified": true, "undecided": [[neuron, "t_lo", "t_hi"], ...], "max_bracket": "...",
 "t_max": "4", "param_names": [...], "input_index": [[channel, f], ...], "limits": [["tau_syn", "tau_mem"]],
 "n_columns": {"d_weights": n_syn, ...}, "coincident": [[neuron, index], ...],
 "spikes": [["t", ...] per neuron], "order": [[neuron, index], ...], "times": [...], "vdot": [...],
 "d_weights": [[[column, "mantissa", exponent], ...] per spike row (nonzero entries only)],
 "d_delays": ..., "d_inputs": ..., "d_model": ...}
```

Spike times and the other scalars are decimal strings of ``dps + 5`` significant digits (they
round-trip the stored ``dps``-digit values). Jacobian entries, the bulk of the file, are exact binary
numbers ``int(mantissa, 16) * 2**exponent`` (a signed hexadecimal integer and an integer): exact, and
~10x faster to read than decimal strings. ``case_hash`` covers what the reference solves: the model (name or kernel
formulas), its parameter values, the network (topology, weights, delays), the input spikes and
``t_max``; not the loss, which is recomputed from the stored Jacobian. A file whose hash differs from
the case's, or whose ``dps`` is below the one asked for, is refused with ``CaseFormatError``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mpmath import mp
from mpmath.libmp import from_man_exp

from ..errors import CaseFormatError

FORMAT = "exactsnn-reference-run/1"
_BLOCKS = ("d_weights", "d_delays", "d_inputs", "d_model")


def case_hash(case) -> str:
    """SHA-256 of the problem the reference solves (model, parameters, network, inputs, ``t_max``)."""
    from ._truth import symbolic_model

    model = symbolic_model(case.model)
    net = case.network
    problem = {
        "model": [model.name, [str(e) for e in model.potential_terms()], list(model.param_names)],
        "params": {k: repr(float(v)) for k, v in sorted(case.params.items())},
        "network": [net.kind, int(net.n_inputs), int(net.n_neurons), net.pre.tolist(), net.post.tolist(),
                    [repr(float(w)) for w in net.weight], [repr(float(d)) for d in net.delay]],
        "inputs": [[repr(float(t)) for t in ts] for ts in case.inputs],
        "t_max": repr(float(case.t_max)),
    }
    return hashlib.sha256(json.dumps(problem, sort_keys=True).encode()).hexdigest()


def save_reference(truth, path) -> None:
    """Write ``truth.ref`` (a ``ReferenceResult``) of ``truth.case`` to ``path``."""
    ref = truth.ref
    digits = ref.dps + 5

    def num(x):
        return mp.nstr(x, digits, min_fixed=-5, max_fixed=5)

    doc = {"format": FORMAT, "case_hash": case_hash(truth.case), "dps": ref.dps, "working_dps": ref.work_dps,
           "certified": ref.certified, "undecided": [[j, num(a), num(b)] for j, a, b in ref.undecided],
           "max_bracket": num(mp.mpf(ref.max_bracket)), "t_max": num(mp.mpf(ref.t_max)),
           "param_names": list(ref.param_names), "input_index": [list(x) for x in ref.input_index],
           "limits": [[name, str(expr)] for name, expr in ref.limits], "n_columns": dict(ref.n_columns),
           "coincident": [list(x) for x in ref.coincident], "spikes": [[num(t) for t in s] for s in ref.spikes],
           "order": [list(x) for x in ref.order], "times": [num(t) for t in ref.times],
           "vdot": [num(v) for v in ref.vdot]}
    for name in _BLOCKS:
        doc[name] = [[[c, *_binary(x)] for c, x in enumerate(row) if x] for row in getattr(ref, name)]
    Path(path).write_text(json.dumps(doc))


def load_reference(case, path, dps: int):
    """The ``GroundTruth`` of ``case`` from a saved reference file (refused for another case)."""
    from ._truth import truth_from_reference

    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:
        raise CaseFormatError(f"cannot read reference file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise CaseFormatError(f"reference file {path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise CaseFormatError(f"reference file {path}: format = {got!r}; expected {FORMAT!r}")
    if doc.get("case_hash") != case_hash(case):
        raise CaseFormatError(f"reference file {path} was computed for another case (case_hash "
                              f"{str(doc.get('case_hash'))[:12]}..., this case {case_hash(case)[:12]}...)")
    if not isinstance(doc.get("dps"), int) or doc["dps"] < dps:
        raise CaseFormatError(f"reference file {path} has dps = {doc.get('dps')!r}; {dps} digits were asked for")
    try:
        return truth_from_reference(case, _result(doc))
    except (KeyError, TypeError, ValueError) as exc:
        raise CaseFormatError(f"reference file {path} is malformed: {type(exc).__name__}: {exc}") from None


def _binary(x) -> tuple:
    """``(signed hexadecimal mantissa, exponent)`` with ``x = mantissa * 2**exponent`` exactly."""
    sign, man, exp, _ = x._mpf_  # (mpf.man_exp drops the sign)
    return hex(-int(man) if sign else int(man)), int(exp)


def _result(doc):
    from ..reference import ReferenceResult

    with mp.workdps(doc["dps"]):
        def num(x):
            return +mp.mpf(x)

        n_cols = {k: int(v) for k, v in doc["n_columns"].items()}
        blocks = {}
        for name in _BLOCKS:
            rows = []
            for entries in doc[name]:
                row = [mp.zero] * n_cols[name]
                for c, man, exp in entries:
                    row[c] = mp.make_mpf(from_man_exp(int(man, 16), int(exp)))
                rows.append(row)
            blocks[name] = rows
        return ReferenceResult(
            spikes=[[num(t) for t in s] for s in doc["spikes"]], order=[tuple(x) for x in doc["order"]],
            times=[num(t) for t in doc["times"]], vdot=[num(v) for v in doc["vdot"]], **blocks,
            certified=bool(doc["certified"]), undecided=[(j, num(a), num(b)) for j, a, b in doc["undecided"]],
            dps=doc["dps"], max_bracket=num(doc["max_bracket"]), param_names=tuple(doc["param_names"]),
            input_index=[tuple(x) for x in doc["input_index"]], limits=tuple(tuple(x) for x in doc["limits"]),
            t_max=num(doc["t_max"]), n_columns=n_cols, coincident=[tuple(x) for x in doc["coincident"]],
            work_dps=doc.get("working_dps"))
