"""compare: another implementation's answers against the high-precision reference.

The claimed answers are an ``exactsnn-result/1`` document (docs/case_format.md) from any implementation:
``spikes``, and any of ``loss``, ``grad`` (any subset of its blocks) and ``jacobian`` (per-spike
entries with ``time`` and any ``d_*`` blocks). Every number present is compared with the reference
answer of the case (``exactsnn.reference`` at ``dps`` digits). Numbers may be JSON numbers or decimal
strings (the ``exactsnn-reference/1`` answer files of ``tests/fixtures`` use strings of 40 digits).

Tolerances (defaults ``ATOL_TIME``, ``RTOL``, ``ATOL``)
-------------------------------------------------------
- a spike time, and a Jacobian entry's ``time``: ``|claimed - exact| <= atol_time`` (absolute);
- the loss: ``|claimed - exact| <= rtol |exact| + atol``;
- a gradient or Jacobian entry: ``|claimed - exact| <= rtol * scale + atol``, where ``scale`` is the
  largest ``|exact|`` entry of the same block (``grad.weights``, ``grad.delays``, ``grad.inputs``,
  ``grad.model``, ...) and, for the Jacobian, of the same spike's row. Weights, delays, times and
  model parameters have different units, hence per block. The relative error reported is
  ``|claimed - exact| / scale``.
- a spike count that differs from the reference's is a disagreement; so is a Jacobian entry for a
  spike that does not exist, or a missing one.

A document that is not valid (wrong format tag, shapes that do not match the case, entries that are
not numbers) raises ``CaseFormatError`` naming the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from mpmath import mp

from .claims import (_JAC_BLOCKS, REFERENCE_FORMAT, RESULT_FORMAT, _layout_blocks, _leaves, _matched_leaves,
                     _number, _spike_layout, check_claimed, load_claimed, shape_text)
from ..errors import CaseFormatError
from ..io.result_layout import spike_entry, spikes_by_layer
from ._truth import as_case, ground_truth
from ._verify import spike_label

__all__ = ["compare", "CompareReport", "Entry", "match_spikes", "reference_document", "load_claimed",
           "check_claimed", "shape_text", "RTOL", "ATOL_TIME", "ATOL", "FLOAT32"]

RTOL = 1e-6
ATOL_TIME = 1e-9
ATOL = 1e-12
#: ``validate --float32``: answers computed in single precision (see the README's validate section).
FLOAT32 = {"atol_time": 1e-4, "rtol": 1e-3, "atol": 1e-12}


# ----------------------------------------------------------------------------- the reference as a document
def _gradient_blocks(truth, blocks: dict, prefix: str) -> dict:
    """``{weights, delays, inputs, model}`` lists -> the result document's keys."""
    return _layout_blocks(truth.case.network, truth.ref.input_index, truth.ref.param_names, blocks, prefix)


def reference_document(truth, digits: int | None = None) -> dict:
    """The reference answers in the layout of ``exactsnn-result/1`` (with the full Jacobian).

    With ``digits`` every number is a decimal string of that many significant digits and the format
    tag is ``exactsnn-reference/1``; without, numbers are ``mpf`` (for ``compare``). The key
    ``reference`` adds ``dps``, ``certified`` and ``vdot`` (per Jacobian entry).
    """
    ref, net = truth.ref, truth.case.network
    doc = {"format": REFERENCE_FORMAT if digits else RESULT_FORMAT, "spikes": spikes_by_layer(net, ref.spikes)}
    if truth.loss is not None:
        doc["loss"] = truth.loss
        doc["grad"] = _gradient_blocks(truth, truth.grad, "")
    jac = []
    for r, (j, i) in enumerate(ref.order):
        entry = spike_entry(net, j, i, ref.times[r])
        blocks = {b: getattr(ref, "d_" + b)[r] for b in ("weights", "delays", "inputs", "model")}
        entry.update(_gradient_blocks(truth, blocks, "d_"))
        jac.append(entry)
    doc["jacobian"] = jac
    doc["reference"] = {"dps": ref.dps, "certified": ref.certified, "vdot": list(ref.vdot)}
    return _render(doc, (lambda x: mp.nstr(x, digits, min_fixed=-5, max_fixed=5)) if digits else None)


def _render(x, fmt):
    if isinstance(x, dict):
        return {k: _render(v, fmt) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_render(v, fmt) for v in x]
    return fmt(x) if fmt is not None and isinstance(x, mp.mpf) else x


# ----------------------------------------------------------------------------- comparison
@dataclass(frozen=True)
class Entry:
    """One compared number: ``where`` names it (e.g. ``jacobian[L1 n0 #1].d_weights[0][1][0]``)."""

    quantity: str
    where: str
    expected: object
    claimed: object
    abs_err: float
    rel_err: float
    ok: bool
    kind: str = "numeric"

    @property
    def structural(self) -> bool:
        """A missing or extra spike, or a differing spike count (not a rounding question)."""
        return self.kind != "numeric"


def _entry(quantity, where, exact, got, scale, tol) -> Entry:
    err = abs(got - exact)
    abs_err = float(err) if not mp.isnan(err) else math.nan
    rel = abs_err / float(scale) if scale else (0.0 if abs_err == 0 else math.inf)
    return Entry(quantity, where, exact, got, abs_err, rel, bool(err <= tol))


def _spike_entries(expected, claimed, network, atol_time) -> tuple:
    """Spike entries per neuron, matched by time; and per neuron ``({claimed index: reference index},
    number of claimed spikes)``.

    Claimed and reference spikes of a neuron are paired by :func:`match_spikes` (nearest, monotone);
    a reference spike without a partner is *missing* (listed with its reference time), a claimed one
    without a partner is *extra* (listed with its claimed time), and a differing count is one more
    structural entry. Paired spikes are compared as numbers (``|err| <= atol_time``).
    """
    claimed = _spike_layout(claimed, network)
    if network.kind == "feedforward":
        expected = [n for layer in expected for n in layer]
    out, maps = [], []
    for j, (exp, got) in enumerate(zip(expected, claimed)):
        label = spike_label(network, j, 0)[:-3]
        got = [_number(g, f"spikes[{spike_label(network, j, i)}]") for i, g in enumerate(got)]
        if len(got) != len(exp):
            out.append(Entry("spikes", f"spike count of {label}", len(exp), len(got), abs(len(got) - len(exp)),
                             math.inf, False, "count"))
        pairs = match_spikes(exp, got)
        maps.append(({c: r for r, c in pairs}, len(got)))
        paired_ref, paired_got = {r for r, _ in pairs}, {c for _, c in pairs}
        for r, c in pairs:
            where = f"spikes[{spike_label(network, j, r)}]"
            out.append(_entry("spikes", where, exp[r], got[c], abs(exp[r]), atol_time))
        out += [Entry("spikes", f"missing spike {spike_label(network, j, r)}", exp[r], "missing", math.inf,
                      math.inf, False, "missing") for r in range(len(exp)) if r not in paired_ref]
        out += [Entry("spikes", f"extra spike {label} (claimed #{c})", "none", got[c], math.inf, math.inf, False,
                      "extra") for c in range(len(got)) if c not in paired_got]
    return out, maps


def match_spikes(ref, got) -> list:
    """Pairs ``(reference index, claimed index)`` of two ascending spike trains: nearest, monotone.

    Walks both trains from the start; the two current spikes are paired when each is the other's
    nearest among the current and next spike of the other train; otherwise the one whose next
    neighbour fits better is left unpaired (a missing reference spike or an extra claimed one). Equal
    counts of close spikes pair by position.
    """
    pairs, i, j = [], 0, 0
    while i < len(ref) and j < len(got):
        d = abs(ref[i] - got[j])
        next_got = abs(ref[i] - got[j + 1]) if j + 1 < len(got) else mp.inf
        next_ref = abs(ref[i + 1] - got[j]) if i + 1 < len(ref) else mp.inf
        if d <= next_got and d <= next_ref:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif next_got < next_ref:
            j += 1  # got[j] is extra
        else:
            i += 1  # ref[i] is missing
    return pairs


def _block_entries(quantity, prefix, expected, claimed, rtol, atol) -> list:
    """Entries of one gradient block; ``scale`` is the block's largest exact entry."""
    pairs = _matched_leaves(expected, claimed, prefix)
    scale = max((abs(v) for _, v in _leaves(expected)), default=mp.zero)
    return [_entry(quantity, prefix + p, e, g, scale, rtol * scale + atol) for p, e, g in pairs]


def _jacobian_entries(expected, claimed, network, tol, maps) -> list:
    """Jacobian entries; a claimed row is compared with the reference spike its spike time was paired
    with (``maps``, from :func:`_spike_entries`). Rows of missing or extra spikes are not compared
    (those spikes are reported under ``spikes``)."""
    rtol, atol, atol_time = tol
    key_names = ("layer", "neuron", "index") if network.kind == "feedforward" else ("neuron", "index")
    exp = {tuple(e[k] for k in key_names): e for e in expected}
    first = np.cumsum((0,) + tuple(network.layer_sizes[1:])) if network.kind == "feedforward" else None
    out, seen = [], set()
    for n, entry in enumerate(claimed):
        got_key = tuple(entry[k] for k in key_names)
        j = int(first[got_key[0] - 1]) + got_key[1] if first is not None and 1 <= got_key[0] < len(first) else \
            got_key[0] if first is None else -1
        pairing, n_claimed = maps[j] if 0 <= j < len(maps) else ({}, 0)
        if got_key[-1] not in pairing:
            if not 0 <= got_key[-1] < n_claimed:  # not even in the claim's own spike list
                out.append(Entry("jacobian", f"jacobian[{_key_label(got_key)}]", "no such spike", "an entry",
                                 math.inf, math.inf, False, "extra"))
            continue  # else an extra spike's row: the spike is reported under spikes
        key = got_key[:-1] + (pairing[got_key[-1]],)
        label = f"jacobian[{_key_label(key)}" + (f" (claimed #{got_key[-1]})" if key != got_key else "") + "]"
        seen.add(key)
        if "time" in entry:
            out.append(_entry("jacobian", label + ".time", exp[key]["time"], _number(entry["time"], label + ".time"),
                              abs(exp[key]["time"]), atol_time))
        for b in _JAC_BLOCKS:
            if b in entry:
                out += _block_entries("jacobian", f"{label}.{b}", exp[key][b], entry[b], rtol, atol)
    paired = {(j, r) for j, (m, _) in enumerate(maps) for r in m.values()}
    for key in sorted(exp.keys() - seen):
        j = int(first[key[0] - 1]) + key[1] if first is not None else key[0]
        if (j, key[-1]) in paired:  # a spike both sides have, without a claimed row
            out.append(Entry("jacobian", f"jacobian[{_key_label(key)}]", "an entry", "missing", math.inf, math.inf,
                             False, "missing"))
    return out


def _key_label(key) -> str:
    return "L%d n%d #%d" % key if len(key) == 3 else "n%d #%d" % key


@dataclass(frozen=True, eq=False)
class CompareReport:
    """Every compared number (``entries``), the tolerances, and whether the reference was certified."""

    entries: tuple
    rtol: float
    atol_time: float
    atol: float
    dps: int
    certified: bool
    ignored: tuple = ()

    @property
    def disagreements(self) -> tuple:
        """Every entry outside tolerance: structural findings first (missing, extra spikes, counts),
        then the numeric ones, each group in document order."""
        bad = [e for e in self.entries if not e.ok]
        return tuple([e for e in bad if e.structural] + [e for e in bad if not e.structural])

    @property
    def structural(self) -> tuple:
        """Missing spikes (reference time), extra spikes (claimed time), differing counts, missing rows."""
        return tuple(e for e in self.entries if e.structural and not e.ok)

    @property
    def ok(self) -> bool:
        return not any(not e.ok for e in self.entries)

    def by_quantity(self) -> dict:
        """quantity -> (compared, disagreeing, worst numeric entry, missing, extra).

        ``compared``/``disagreeing`` count entries (a missing or an extra spike is one entry each); the
        worst entry is by absolute error for spike times (an absolute tolerance), by relative error
        otherwise; ``None`` when nothing numeric was compared."""
        out = {}
        for q in ("spikes", "loss", "grad", "jacobian"):
            es = [e for e in self.entries if e.quantity == q]
            if es:
                num = [e for e in es if not e.structural]
                key = (lambda e: e.abs_err) if q == "spikes" else (lambda e: (e.rel_err, e.abs_err))
                out[q] = (len(es), sum(not e.ok for e in es), max(num, key=key) if num else None,
                          sum(e.kind == "missing" for e in es), sum(e.kind == "extra" for e in es))
        return out

    def to_dict(self) -> dict:
        """JSON-ready report. Each disagreement row has ``kind`` (``numeric``, ``missing``, ``extra``,
        ``count``) and ``error``: for spike times ``abs_err = |claimed - reference|`` in time units (the
        tolerance is absolute; no relative error is given); for other numbers also ``rel_err`` =
        ``abs_err / scale`` (scale: the largest exact entry of the block/row); for a count the two
        counts; for a missing spike its reference time (``expected``), for an extra one its claimed time."""
        def row(e):
            out = {"quantity": e.quantity, "kind": e.kind, "where": e.where, "expected": _show(e.expected, 20),
                   "claimed": _show(e.claimed, 20)}
            if e.kind == "numeric":
                out["abs_err"] = _finite(e.abs_err)
                out["rel_err"] = None if e.quantity == "spikes" or e.where.endswith(".time") else _finite(e.rel_err)
                out["error"] = ("absolute, time units" if out["rel_err"] is None else
                                "abs_err, and rel_err = abs_err / largest exact entry of the block (and row)")
            else:
                out["error"] = _MEANING[e.kind]
            return out

        summary = {}
        for q, (n, bad, worst, missing, extra) in self.by_quantity().items():
            summary[q] = {"compared": n, "disagree": bad, "missing": missing, "extra": extra}
            if worst is not None:
                summary[q]["max_abs_err" if q == "spikes" else "max_rel_err"] = _finite(
                    worst.abs_err if q == "spikes" else worst.rel_err)
        return {"format": "exactsnn-validate/1", "ok": self.ok, "n_compared": len(self.entries),
                "n_disagree": len(self.disagreements), "n_structural": len(self.structural),
                "certified": self.certified, "dps": self.dps,
                "tolerances": {"rtol": self.rtol, "atol_time": self.atol_time, "atol": self.atol},
                "summary": summary, "disagreements": [row(e) for e in self.disagreements],
                "ignored_keys": list(self.ignored)}

    def text(self, max_rows: int = 50) -> str:
        cert = "certified" if self.certified else "NOT certified: some crossings undecided"
        lines = [f"exactsnn validate: {len(self.entries)} numbers compared with the reference ({self.dps} digits, "
                 f"{cert})",
                 f"  tolerances: spike times |err| <= {self.atol_time:g}; loss, gradient and Jacobian entries "
                 f"|err| <= {self.rtol:g} * scale + {self.atol:g} (scale: largest exact entry of the same block, "
                 f"and of the same spike's row)"]
        for q, (n, bad, worst, missing, extra) in self.by_quantity().items():
            where = "" if worst is None else (
                f"; worst abs. error {worst.abs_err:.2e} at {worst.where}" if q == "spikes" else
                f"; worst rel. error {worst.rel_err:.2e} at {worst.where}")
            struct = f" ({missing} missing, {extra} extra)" if missing or extra else ""
            lines.append(f"  {q:<9} {n:>6} compared, {bad:>5} disagree{struct}{where}")
        if self.ignored:
            lines.append(f"  not compared: key(s) {list(self.ignored)}")
        if self.ok:
            return "\n".join(lines + ["OK: every number agrees within tolerance"])
        struct, numeric = self.structural, [e for e in self.disagreements if not e.structural]
        if struct:
            lines.append(f"STRUCTURE: {len(struct)} finding(s): missing spikes (reference time), extra spikes "
                         "(claimed time), spike counts, missing rows")
            lines += [f"  {e.where:<44} {_structural_text(e)}" for e in struct]
        if numeric:
            lines += [f"DISAGREE: {len(numeric)} number(s)", f"  {'quantity':<44} {'expected':>24} {'claimed':>24} "
                      f"{'abs err':>9} {'rel err':>9}"]
            for e in numeric[:max_rows]:
                rel = "-" if e.quantity == "spikes" or e.where.endswith(".time") else f"{e.rel_err:.2e}"
                lines.append(f"  {e.where:<44} {_show(e.expected, 17):>24} {_show(e.claimed, 17):>24} "
                             f"{e.abs_err:>9.2e} {rel:>9}")
            if len(numeric) > max_rows:
                lines.append(f"  ... and {len(numeric) - max_rows} more (--json lists all)")
        return "\n".join(lines)


_MEANING = {"missing": "a reference spike (time in 'expected') with no claimed spike near it",
            "extra": "a claimed spike (time in 'claimed') with no reference spike near it",
            "count": "the numbers of spikes of the neuron differ ('expected' reference, 'claimed')"}


def _structural_text(e) -> str:
    if e.kind == "missing":
        return (f"missing: reference spike at t = {_show(e.expected, 17)}" if e.quantity == "spikes" else
                "missing: no claimed row")
    if e.kind == "extra":
        return (f"extra: claimed spike at t = {_show(e.claimed, 17)}" if e.quantity == "spikes" else
                "extra: a row for a spike that does not exist")
    return f"count: reference {e.expected}, claimed {e.claimed}"


def _show(x, digits):
    return mp.nstr(x, digits) if isinstance(x, mp.mpf) else str(x)


def _finite(x):
    return x if math.isfinite(x) else None


def compare(case, claimed, *, rtol: float = RTOL, atol_time: float = ATOL_TIME, atol: float = ATOL,
            dps: int = 50, truth=None) -> CompareReport:
    """Compare every number of a claimed result document with the reference answers of ``case``.

    Parameters
    ----------
    case : Case, path, dict or JSON string
    claimed : dict, path or JSON string
        An ``exactsnn-result/1`` document (numbers, or decimal strings).
    rtol, atol_time, atol : float
        Tolerances (module docstring): gradient/Jacobian/loss entries pass when
        ``|claimed - exact| <= rtol * scale + atol``, spike times when ``|claimed - exact| <= atol_time``.
    dps : int
        Digits of the reference.
    truth : GroundTruth, optional
        Reference answers already computed for this case (``exactsnn.verification.ground_truth``).

    Returns
    -------
    CompareReport
    """
    for name, v in (("rtol", rtol), ("atol_time", atol_time), ("atol", atol)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} = {v!r} must be a finite number >= 0")
    case, doc = as_case(case), load_claimed(claimed)
    check_claimed(case, doc)  # before the reference: a malformed file fails in a second, not after it
    truth = ground_truth(case, dps) if truth is None else truth
    expected = reference_document(truth)
    net = case.network
    with mp.workdps(truth.ref.dps):
        entries, maps = _spike_entries(expected["spikes"], doc["spikes"], net, atol_time)
        if "loss" in doc:
            entries.append(_entry("loss", "loss", truth.loss, _number(doc["loss"], "loss"), abs(truth.loss),
                                  rtol * abs(truth.loss) + atol))
        grad = doc.get("grad", {})
        if not isinstance(grad, dict):
            raise CaseFormatError("claimed grad must be an object of gradient blocks")
        for key, block in grad.items():
            if key not in expected["grad"]:
                raise CaseFormatError(f"claimed grad.{key} is unknown; a {net.kind} network has "
                                      f"{sorted(expected['grad'])}")
            entries += _block_entries("grad", f"grad.{key}", expected["grad"][key], block, rtol, atol)
        if "jacobian" in doc:
            entries += _jacobian_entries(expected["jacobian"], doc["jacobian"], net, (rtol, atol, atol_time), maps)
    ignored = tuple(k for k in doc if k not in ("format", "spikes", "loss", "grad", "jacobian"))
    return CompareReport(tuple(entries), rtol, atol_time, atol, truth.ref.dps, truth.ref.certified, ignored)
