"""One campaign task: verify one case and reduce the report to a small record.

``run_case`` is what a Dask worker executes. It never raises for a problem of the case itself (an
invalid file, a network the engine or the reference cannot solve): that becomes a record with
``status = "error"`` and the exception's class and message, so Dask's ``retries`` apply only to
losses of the infrastructure (a worker that dies is handled by the scheduler, which reruns its tasks).
"""

from __future__ import annotations

import json
import math
import time

#: Columns of a record, in table order (``store.py``); ``t_*`` are timings in seconds.
RECORD_FIELDS = ("case_id", "status", "ok", "well_conditioned", "certified", "n_spikes", "n_spikes_ref",
                 "max_abs_err_time", "max_rel_err_grad", "max_abs_err_grad", "min_vdot", "min_event_gap",
                 "min_tmax_gap", "min_near_margin", "flags", "error", "t_reference", "t_engine")
TIMING_FIELDS = ("t_reference", "t_engine")
KINDS = ("verify", "compare", "check_model")


def _finite(x):
    """float, or None when not finite (SQLite and JSON store no inf/NaN)."""
    x = float(x)
    return x if math.isfinite(x) else None


def _flags(report) -> list:
    """Short names of everything that makes the case suspicious: ``"unmatched"``, ``"not certified"``,
    and the kinds of the diagnostic findings (``"ill-conditioned:grazing"`` ...), sorted, unique."""
    out = set()
    if report.unmatched:
        out.add("unmatched")
    if not report.certified:
        out.add("not certified")
    for s in report.spikes:
        out.update(f"{level}:{kind}" for kind, _, level in s.findings)
    out.update(f"{level}:{kind}" for _, kind, _, level in report.neuron_findings)
    return sorted(out)


def verify_record(case_id: str, text: str, dps: int) -> dict:
    """The record of ``exactsnn.verify`` on one case (see ``run_case``); raises on a bad case."""
    from ..verification import ground_truth, verify

    t0 = time.perf_counter()
    truth = ground_truth(text, dps)
    t1 = time.perf_counter()
    rep = verify(truth.case, truth=truth)
    t2 = time.perf_counter()
    return {"case_id": case_id, "status": "ok" if rep.ok else "fail", "ok": int(rep.ok),
            "well_conditioned": int(rep.well_conditioned), "certified": int(rep.certified),
            "n_spikes": len(rep.spikes) + sum(u[1] == "float64 only" for u in rep.unmatched),
            "n_spikes_ref": truth.ref.n_spikes, "max_abs_err_time": _finite(rep.max_abs_err_spike_times),
            "max_rel_err_grad": _finite(rep.max_rel_err_gradients),
            "max_abs_err_grad": _finite(rep.max_abs_err_gradients), "min_vdot": _finite(rep.min_vdot),
            "min_event_gap": _finite(rep.min_event_gap), "min_tmax_gap": _finite(rep.min_tmax_gap),
            "min_near_margin": _finite(rep.min_near_margin), "flags": json.dumps(_flags(rep)), "error": None,
            "t_reference": t1 - t0, "t_engine": t2 - t1}


def compare_record(case_id: str, text: str, claimed: str | None, dps: int) -> dict:
    """The record of ``exactsnn.compare`` (a claimed ``exactsnn-result/1`` document against the reference).

    ``max_abs_err_time``: worst ``|claimed - exact|`` of the spike times; ``max_rel_err_grad`` and
    ``max_abs_err_grad``: worst of the loss, gradient and Jacobian entries; ``flags``:
    ``"disagree:<quantity>"`` per quantity with a disagreeing entry (and ``"not certified"``).
    """
    from ..verification import compare, ground_truth

    if claimed is None:
        raise FileNotFoundError(f"no claimed result {case_id}.claimed.json beside the case")
    t0 = time.perf_counter()
    truth = ground_truth(text, dps)
    t1 = time.perf_counter()
    rep = compare(truth.case, claimed, dps=dps, truth=truth)
    t2 = time.perf_counter()
    times = [e for e in rep.entries if e.quantity == "spikes"]
    grads = [e for e in rep.entries if e.quantity != "spikes"]
    flags = sorted({f"disagree:{e.quantity}" for e in rep.disagreements} | (set() if rep.certified else
                                                                           {"not certified"}))
    record = dict.fromkeys(RECORD_FIELDS)
    record.update(case_id=case_id, status="ok" if rep.ok else "fail", ok=int(rep.ok), certified=int(rep.certified),
                  n_spikes=len(times), n_spikes_ref=truth.ref.n_spikes,
                  max_abs_err_time=_finite(max((e.abs_err for e in times), default=0.0)),
                  max_rel_err_grad=_finite(max((e.rel_err for e in grads), default=0.0)),
                  max_abs_err_grad=_finite(max((e.abs_err for e in grads), default=0.0)),
                  flags=json.dumps(flags), t_reference=t1 - t0, t_engine=t2 - t1)
    return record


def check_model_record(case_id: str, text: str, dps: int) -> dict:
    """The record of ``exactsnn.check_model`` on one model (``sources.model_sources``).

    ``max_abs_err_time`` / ``max_rel_err_grad``: worst spike-time error and row-relative Jacobian error
    over its random networks; ``n_spikes``: their spikes; ``flags``: ``"symbolic"`` when a derived
    identity fails, ``"kernel:<name>"`` per kernel over 64 ulps.
    """
    import tempfile
    from pathlib import Path

    from ..io import load_model_spec
    from ..verification import check_model

    doc = json.loads(text)
    t0 = time.perf_counter()
    if "builtin" in doc:
        model = load_model_spec(doc["builtin"])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"model{doc['suffix']}"
            path.write_text(doc["text"])
            model = load_model_spec(str(path))
    chk = check_model(model, dps=dps)
    flags = ([] if chk.symbolic_ok else ["symbolic"]) + [f"kernel:{k}" for k, u in chk.kernel_ulps.items() if u > 64]
    record = dict.fromkeys(RECORD_FIELDS)
    record.update(case_id=case_id, status="ok" if chk.ok else "fail", ok=int(chk.ok),
                  n_spikes=sum(n for n, _, _ in chk.networks),
                  max_abs_err_time=_finite(max((dt for _, dt, _ in chk.networks), default=0.0)),
                  max_rel_err_grad=_finite(max((row for _, _, row in chk.networks), default=0.0)),
                  flags=json.dumps(sorted(flags)), t_reference=time.perf_counter() - t0)
    return record


def run_case(case_id: str, text: str, kind: str = "verify", dps: int = 30, claimed: str | None = None) -> dict:
    """Run one case; return its record (a dict with the keys ``RECORD_FIELDS``).

    Parameters
    ----------
    case_id : str
    text : str
        The case as JSON (``exactsnn-case/1``).
    kind : {"verify", "compare"}
        ``"verify"``: the float64 engine against the ``dps``-digit reference (``exactsnn.verify``);
        ``"compare"``: ``claimed`` (another implementation's ``exactsnn-result/1`` text) against it;
        ``"check_model"``: the model battery (``exactsnn.check_model``) on the model in ``text``.
    dps : int
        Digits of the reference.

    Returns
    -------
    dict
        ``status`` is ``"ok"`` (within tolerances), ``"fail"`` (outside them, or spike patterns differ)
        or ``"error"`` (the case could not be run: ``error`` holds ``"ExceptionClass: message"``).
        ``max_abs_err_time`` is ``max_k |t_k - t*_k|``; ``max_rel_err_grad`` the worst row/block
        relative error of the Jacobian and the loss gradient; ``flags`` a JSON list of findings.
    """
    if kind not in KINDS:
        raise ValueError(f"kind = {kind!r}; allowed {list(KINDS)}")
    t0 = time.perf_counter()
    try:
        if kind == "compare":
            return compare_record(case_id, text, claimed, dps)
        if kind == "check_model":
            return check_model_record(case_id, text, dps)
        return verify_record(case_id, text, dps)
    except Exception as exc:  # noqa: BLE001 - any failure of one case is that case's record, not the campaign's
        record = dict.fromkeys(RECORD_FIELDS)
        record.update(case_id=case_id, status="error", flags="[]", error=f"{type(exc).__name__}: {exc}"[:2000],
                      t_reference=time.perf_counter() - t0)
        return record
