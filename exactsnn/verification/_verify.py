"""verify: the float64 engine against the independent high-precision reference, spike by spike.

``verify(case)`` runs a case twice: with the float64 engine (``simulate``, the forward-propagation
Jacobian, the loss gradient by the adjoint) and with ``exactsnn.reference`` at ``dps`` digits, which
shares no numeric code with it. It matches spikes by ``(neuron, index)`` and reports

- per spike ``k``: ``|t_k - t*_k|`` and ``|t_k - t*_k| / |t*_k|``; the worst entry of its Jacobian row;
- per parameter ``q``: the worst error of its Jacobian column over all spikes, and of ``dL/dq``;
- per spike, its conditioning (``exactsnn.diagnostics``): ``dV/dt`` at the crossing, the gap to the
  nearest arrival at its neuron and to ``t_max``, simultaneity, and the margin ``threshold - V`` of
  its neuron's highest sub-threshold maximum (how far the neuron is from gaining a spike).

Relative errors of gradients are row/block relative: an entry of block ``B`` (weights, delays, input
spike times, model parameters; their units differ) of row ``k`` is divided by the largest exact entry
of that block in that row, ``max_{q' in B} |dt*_k/dq'|``; for the loss gradient by the largest exact
entry of the block, ``max_{q' in B} |dL*/dq'|``. An all-zero exact block gives relative error 0 when
the float64 entry is exactly 0 and inf otherwise.

Public names are re-exported by ``exactsnn.verification`` (``verify`` also as ``exactsnn.verify``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from mpmath import mp
from mpmath.libmp import from_float, mpf_sub, to_float

from ._truth import BLOCKS, GroundTruth, as_case, ground_truth
from .agreement import spike_positions

#: Defaults of the verdict ``VerifyReport.ok``: absolute spike-time error, row-relative gradient error.
TIME_TOL = 1e-11
GRAD_RTOL = 1e-8
REPORT_FORMAT = "exactsnn-verify/1"


# ----------------------------------------------------------------------------- the case and its truth


def spike_label(network, neuron: int, index: int) -> str:
    """``"L1 n0 #2"`` (feed-forward: layer, neuron in layer, spike index) or ``"n3 #0"`` (recurrent)."""
    layer, j = network.neuron_layer(int(neuron))
    return f"n{j} #{index}" if layer is None else f"L{layer} n{j} #{index}"


def column_labels(network, inputs, param_names) -> dict:
    """Block name -> one label per column, e.g. ``weights[0][1, 2]``, ``inputs[0][1]``, ``model.tau_syn``."""
    syn = [""] * network.n_synapses
    for name, shape, start in network.blocks:
        for flat, idx in enumerate(np.ndindex(*shape)):
            syn[start + flat] = f"{name}[{', '.join(map(str, idx))}]"
    return {"weights": syn, "delays": [s.replace("weights", "delays", 1) for s in syn],
            "inputs": [f"inputs[{c}][{f}]" for c, ts in enumerate(inputs) for f in range(len(ts))],
            "model": [f"model.{n}" for n in param_names]}


def block_errors(ours, exact, sizes) -> tuple:
    """``(abs, rel)`` float arrays: ``|ours - exact|`` and that over the block's largest ``|exact|``.

    ``ours`` are floats, ``exact`` mpf, both concatenated blocks of ``sizes``; the difference is taken
    exactly (``ours`` converted exactly) and then rounded to float. Zero exact entries (most of a
    Jacobian) cost one comparison each.
    """
    ours = np.asarray(ours, dtype=np.float64)
    abs_err = np.abs(ours)  # where the exact entry is 0
    mag = np.zeros(ours.shape)
    for i, b in enumerate(exact):
        raw = b._mpf_ if isinstance(b, mp.mpf) else mp.mpf(b)._mpf_
        if raw[1]:  # nonzero mantissa
            mag[i] = abs(to_float(raw))
            abs_err[i] = abs(to_float(mpf_sub(from_float(float(ours[i])), raw)))
    rel = np.zeros_like(abs_err)
    start = 0
    for size in sizes:
        part = slice(start, start + size)
        scale = float(mag[part].max(initial=0.0))
        rel[part] = abs_err[part] / scale if scale > 0 else np.where(abs_err[part] == 0, 0.0, np.inf)
        start += size
    return abs_err, rel


def _jsonable(x, dps):
    """mpf -> decimal string of ``dps`` digits; float -> float or None (non-finite); containers recursively."""
    if isinstance(x, dict):
        return {k: _jsonable(v, dps) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v, dps) for v in x]
    if isinstance(x, mp.mpf):
        return mp.nstr(x, dps)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x.item() if isinstance(x, np.generic) else x


# ----------------------------------------------------------------------------- the report
@dataclass(frozen=True)
class SpikeCheck:
    """One spike, float64 against the reference (same neuron, same index).

    ``abs_err_grad``/``rel_err_grad`` are the worst entry of the spike's Jacobian row (row/block
    relative). ``vdot``, ``event_gap``, ``tmax_gap`` come from the float64 run, ``near_margin`` is
    that of the spike's neuron. ``findings`` are ``(kind, margin, level)``, level ``"degenerate"``
    (``diagnose`` defaults) or ``"ill-conditioned"`` (``diagnostics.conditioning``).
    """

    label: str
    neuron: int
    index: int
    time: float
    time_ref: object
    abs_err_time: float
    rel_err_time: float
    abs_err_grad: float
    rel_err_grad: float
    vdot: float
    event_gap: float
    tmax_gap: float
    near_margin: float
    findings: tuple = ()


@dataclass(frozen=True)
class ParamCheck:
    """One parameter: the worst error of its Jacobian column over the spikes, and of ``dL/dq``."""

    label: str
    block: str
    abs_err_jacobian: float
    rel_err_jacobian: float
    grad: float | None = None
    grad_ref: object = None
    abs_err_grad: float | None = None
    rel_err_grad: float | None = None


@dataclass(frozen=True, eq=False)
class VerifyReport:
    """What ``verify`` found. ``ok``: spike patterns equal, certified, within ``time_tol`` and ``grad_rtol``.

    ``unmatched`` lists ``(label, "float64 only" | "reference only", time)``; ``neuron_findings`` lists
    ``(neuron, kind, margin, level)`` (sub-threshold maxima near threshold).
    """

    title: str
    dps: int
    certified: bool
    spikes: tuple
    params: tuple
    unmatched: tuple
    neuron_findings: tuple
    near_margin: tuple
    loss: float | None = None
    loss_ref: object = None
    fp_vs_adjoint: float | None = None
    time_tol: float = TIME_TOL
    grad_rtol: float = GRAD_RTOL

    def _max(self, attr, items, default=0.0):
        return max((getattr(x, attr) for x in items if getattr(x, attr) is not None), default=default)

    max_abs_err_spike_times = property(lambda self: self._max("abs_err_time", self.spikes))
    max_rel_err_spike_times = property(lambda self: self._max("rel_err_time", self.spikes))
    max_abs_err_gradients = property(lambda self: max(self._max("abs_err_grad", self.spikes),
                                                      self._max("abs_err_grad", self.params)))
    max_rel_err_gradients = property(lambda self: max(self._max("rel_err_grad", self.spikes),
                                                      self._max("rel_err_grad", self.params)))
    min_vdot = property(lambda self: min((s.vdot for s in self.spikes), default=math.inf))
    min_event_gap = property(lambda self: min((s.event_gap for s in self.spikes), default=math.inf))
    min_tmax_gap = property(lambda self: min((s.tmax_gap for s in self.spikes), default=math.inf))
    min_near_margin = property(lambda self: min(self.near_margin, default=math.inf))
    spike_counts_match = property(lambda self: not self.unmatched)

    @property
    def well_conditioned(self) -> bool:
        """Certified, same spike pattern, and no finding at any spike or neuron."""
        return (self.certified and self.spike_counts_match and not self.neuron_findings
                and not any(s.findings for s in self.spikes))

    @property
    def ok(self) -> bool:
        return (self.certified and self.spike_counts_match and self.max_abs_err_spike_times <= self.time_tol
                and self.max_rel_err_gradients <= self.grad_rtol)

    def to_dict(self) -> dict:
        """JSON-ready summary plus per-spike and per-parameter rows (non-finite numbers -> null,
        reference values -> decimal strings of ``dps`` digits)."""
        keys = ("ok", "well_conditioned", "certified", "dps", "spike_counts_match", "max_abs_err_spike_times",
                "max_rel_err_spike_times", "max_abs_err_gradients", "max_rel_err_gradients", "min_vdot",
                "min_event_gap", "min_tmax_gap", "min_near_margin", "fp_vs_adjoint", "loss", "loss_ref",
                "time_tol", "grad_rtol")
        doc = {"format": REPORT_FORMAT, "title": self.title, "n_spikes": len(self.spikes),
               **{k: getattr(self, k) for k in keys},
               "unmatched": [dict(zip(("spike", "found_by", "time"), u)) for u in self.unmatched],
               "neuron_findings": [dict(zip(("neuron", "kind", "margin", "level"), f)) for f in self.neuron_findings],
               "spikes": [{**vars(x), "findings": [dict(zip(("kind", "margin", "level"), f)) for f in x.findings]}
                          for x in self.spikes],
               "params": [vars(x) for x in self.params]}
        return _jsonable(doc, self.dps)

    def text(self, max_rows: int = 40) -> str:
        """A readable report: summary, conditioning, findings, verdict and a per-spike table."""
        return "\n".join(_summary_lines(self) + _table_lines(self, max_rows))


def _worst(items, attr):
    items = [x for x in items if getattr(x, attr) is not None]
    return max(items, key=lambda x: getattr(x, attr)).label if items else "-"


def _summary_lines(r: VerifyReport) -> list:
    cert = "certified: no crossing missed" if r.certified else "NOT certified: undecided (grazing) intervals"
    lines = [f"exactsnn verify: {r.title}",
             f"  reference       {r.dps} digits, {cert}",
             f"  spike times     max abs error {r.max_abs_err_spike_times:.2e} (tolerance {r.time_tol:.0e}) "
             f"at {_worst(r.spikes, 'abs_err_time')}",
             f"  jacobian        max rel error {max((s.rel_err_grad for s in r.spikes), default=0):.2e} "
             f"(tolerance {r.grad_rtol:.0e}, relative to the largest entry of its row and block) "
             f"at d/d {_worst(r.params, 'rel_err_jacobian')} of {_worst(r.spikes, 'rel_err_grad')}"]
    if r.loss is not None:
        lines.append(f"  loss            {r.loss!r} (reference {mp.nstr(r.loss_ref, 20)}); gradient max rel error "
                     f"{r._max('rel_err_grad', r.params):.2e} (relative to its block's largest entry) at "
                     f"{_worst(r.params, 'rel_err_grad')}")
        lines.append(f"  FP vs adjoint   max rel difference {r.fp_vs_adjoint:.2e}")
    lines.append(f"  conditioning    min dV/dt {r.min_vdot:.3g}, min gap to an event {r.min_event_gap:.3g}, "
                 f"to t_max {r.min_tmax_gap:.3g}, min (threshold - V) at a sub-threshold maximum "
                 f"{r.min_near_margin:.3g}")
    for label, kind, t in r.unmatched:
        lines.append(f"  MISMATCH        spike {label} at t={float(t):.17g} found by the {kind.split()[0]} run only")
    for j, kind, margin, level in r.neuron_findings:
        lines.append(f"  {level:<15} neuron {j}: {kind} (margin {margin:.3g})")
    n_find = sum(bool(s.findings) for s in r.spikes)
    lines.append(f"  diagnostics     {n_find} spike(s) with findings" if n_find else
                 "  diagnostics     every spike well-conditioned" if not r.neuron_findings else "")
    verdict = "OK" if r.ok else "FAIL"
    lines.append(f"  verdict         {verdict} ({'well-conditioned' if r.well_conditioned else 'see findings'})")
    return [x for x in lines if x]


def _table_lines(r: VerifyReport, max_rows: int) -> list:
    if not r.spikes:
        return ["  (no spikes)"]
    head = (f"\n  {'spike':<12} {'time':>20} {'abs err':>9} {'grad rel':>9} {'dV/dt':>9} {'event gap':>9} "
            f"{'t_max gap':>9} {'margin':>9}  findings")
    rows = [head]
    for s in r.spikes[:max_rows]:
        finds = "; ".join(f"{lv}: {k} ({m:.2g})" for k, m, lv in s.findings)
        rows.append(f"  {s.label:<12} {s.time:>20.17g} {s.abs_err_time:>9.2e} {s.rel_err_grad:>9.2e} {s.vdot:>9.3g} "
                    f"{s.event_gap:>9.3g} {s.tmax_gap:>9.3g} {s.near_margin:>9.3g}  {finds}")
    if len(r.spikes) > max_rows:
        rows.append(f"  ... {len(r.spikes) - max_rows} more spike(s) (--json lists all)")
    return rows


# ----------------------------------------------------------------------------- verify
def verify(case, network=None, inputs=None, t_max=None, params=None, loss=None, dps: int = 50,
           time_tol: float = TIME_TOL, grad_rtol: float = GRAD_RTOL, truth: GroundTruth | None = None):
    """Compare the float64 engine with the ``dps``-digit reference on one case.

    Parameters
    ----------
    case : Case, path, dict, JSON string, or a model
        A case (``exactsnn-case/1``); or, with ``network=``, the model (built-in name or NeuronModel).
    network, inputs, t_max, params, loss : optional
        The parts of a case when ``case`` is a model.
    dps : int
        Digits of the reference (>= 15).
    time_tol, grad_rtol : float
        Tolerances of the verdict ``report.ok`` (absolute spike time; row/block-relative gradient).
    truth : GroundTruth, optional
        Reuse reference answers already computed for this case.

    Returns
    -------
    VerifyReport

    Notes
    -----
    Errors are ``|x - x*|`` with ``x*`` the reference; gradient entries are relative to
    ``max_{q' in block} |x*_q'|`` of their row (Jacobian) or block (loss gradient). The float64
    Jacobian is forward propagation with the own-reset term; the loss gradient is the adjoint.
    """
    from ..diagnostics import conditioning, diagnose
    from ..simulate import simulate

    case = as_case(case, network, inputs, t_max, params, loss)
    truth = ground_truth(case, dps) if truth is None else truth
    res = simulate(case.model, case.network, case.inputs, case.t_max, params=case.params)
    diag, cond = diagnose(res), conditioning(res)
    with mp.workdps(truth.ref.dps):
        spikes, unmatched, abs_j, rel_j, jac = _spike_checks(case, res, truth, diag, cond)
        params, value, fp_adj = _param_checks(case, res, truth, jac, abs_j, rel_j)
    levels = {(s, k): "degenerate" for s, k, _ in diag.flags}
    nfind = tuple((-1 - s, k, m, levels.get((s, k), "ill-conditioned")) for s, k, m in cond.flags if s < 0)
    title = (f"{res.model.name}, {case.network.kind} network ({case.network.n_neurons} neurons, "
             f"{case.network.n_synapses} synapses), {res.n_spikes} spikes (reference {truth.ref.n_spikes})")
    return VerifyReport(title, truth.ref.dps, truth.ref.certified, tuple(spikes), tuple(params), tuple(unmatched),
                        nfind, tuple(float(x) for x in res.near_margin), value, truth.loss, fp_adj, time_tol,
                        grad_rtol)


def _engine_row(jac, k, perm) -> np.ndarray:
    d = jac.dts_dq
    return np.concatenate([d.weights[k], d.delays[k], d.inputs[k], d.model[k][perm]])


def _spike_checks(case, res, truth, diag, cond):
    from ..grad import forward_propagation

    ref, net = truth.ref, case.network
    jac = forward_propagation(res, policy="flag")
    perm = [res.model.param_names.index(n) for n in ref.param_names]
    sizes = [ref.n_columns["d_" + b] for b in BLOCKS]
    pos = spike_positions(res)
    rows = {key: r for r, key in enumerate(ref.order)}
    unmatched = [(spike_label(net, *key), "float64 only", res.spike_time[k]) for key, k in pos.items()
                 if key not in rows]
    unmatched += [(spike_label(net, *key), "reference only", ref.times[r]) for key, r in rows.items() if key not in pos]
    levels = {(s, k): "degenerate" for s, k, _ in diag.flags}
    coincident = set(ref.coincident)
    spikes, abs_rows, rel_rows = [], [], []
    for key, k in sorted(pos.items(), key=lambda item: item[1]):
        if key not in rows:
            continue
        r = rows[key]
        exact = [x for b in BLOCKS for x in getattr(ref, "d_" + b)[r]]
        a, rel = block_errors(_engine_row(jac, k, perm), exact, sizes)
        abs_rows.append(a)
        rel_rows.append(rel)
        t_err = float(abs(mp.mpf(float(res.spike_time[k])) - ref.times[r]))
        finds = tuple((kind, m, levels.get((k, kind), "ill-conditioned")) for s, kind, m in cond.flags if s == k)
        if key in coincident:
            finds += (("reference: an arrival inside the spike's bracket (kink)", 0.0, "degenerate"),)
        spikes.append(SpikeCheck(spike_label(net, *key), key[0], key[1], float(res.spike_time[k]), ref.times[r],
                                 t_err, t_err / float(abs(ref.times[r])) if ref.times[r] else t_err,
                                 float(a.max(initial=0.0)), float(rel.max(initial=0.0)), float(diag.vdot[k]),
                                 float(diag.event_gap[k]), float(diag.tmax_gap[k]),
                                 float(res.near_margin[key[0]]), finds))
    n_q = sum(sizes)
    return (spikes, unmatched, np.array(abs_rows).reshape(-1, n_q), np.array(rel_rows).reshape(-1, n_q),
            (jac, perm))


def _param_checks(case, res, truth, jac_perm, abs_j, rel_j):
    from ..grad import adjoint
    from ..losses import loss_value_and_dt

    jac, perm = jac_perm
    ref = truth.ref
    labels = column_labels(case.network, case.inputs, ref.param_names)
    names = [(b, lab) for b in BLOCKS for lab in labels[b]]
    col_abs, col_rel = abs_j.max(axis=0, initial=0.0), rel_j.max(axis=0, initial=0.0)
    if case.loss is None:
        return [ParamCheck(lab, b, col_abs[i], col_rel[i]) for i, (b, lab) in enumerate(names)], None, None
    value, dl_dt, _ = loss_value_and_dt(res, case.loss)
    adj = adjoint(res, dl_dt, policy="flag")
    fp = jac.contract(dl_dt)
    ours = np.concatenate([adj.weights, adj.delays, adj.inputs, adj.model[perm]])
    via_fp = np.concatenate([fp.weights, fp.delays, fp.inputs, fp.model[perm]])
    exact = [x for b in BLOCKS for x in truth.grad[b]]
    sizes = [len(truth.grad[b]) for b in BLOCKS]
    g_abs, g_rel = block_errors(ours, exact, sizes)
    _, fp_rel = block_errors(via_fp, [mp.mpf(float(x)) for x in ours], sizes)
    checks = [ParamCheck(lab, b, float(col_abs[i]), float(col_rel[i]), float(ours[i]), exact[i], float(g_abs[i]),
                         float(g_rel[i])) for i, (b, lab) in enumerate(names)]
    return checks, value, float(fp_rel.max(initial=0.0))
