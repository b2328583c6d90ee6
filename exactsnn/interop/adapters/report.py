"""What a researcher needs to know about a peer's answers on one input: a per-framework accuracy report.

``peer_report(graph, inputs, t_max, claim, loss=None)`` compares an ``exactsnn-result/1`` claim (from an
adapter or any other tool) with exactsnn's float64 engine on the same graph:

- spike times: per-neuron spikes paired nearest-first and monotone (``verification``'s ``match_spikes``),
  the distribution of ``|t_claim - t_exact|`` over paired spikes, and the missing and extra spikes;
- conditioning: spikes and neurons that ``exactsnn.diagnostics.conditioning`` flags (grazing crossings,
  near-threshold maxima, spikes next to an input or ``t_max``), and how many of the peer's missing, extra
  or largest-error spikes sit on a flagged neuron: there a disagreement is not the framework's fault;
- gradient (claim and ``loss`` both given): cosine ``g . e / (|g| |e|)``, sign agreement (fraction of
  entries with ``|e_i| > 1e-9 max|e|`` whose signs agree) and norm ratio ``|g| / |e|`` against the exact
  adjoint gradient ``e`` of the weights.

The exact side is the float64 engine, not the mpmath reference (it agrees with the reference to ~1e-12 on
well-conditioned spikes; ``exactsnn validate`` is the certified comparison).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...diagnostics import conditioning
from ...losses import loss_grad
from ...simulate import simulate
from ...verification._compare import match_spikes
from ..nir_import import from_nir
from ._common import parse_loss


@dataclass
class PeerReport:
    """Accuracy of one claim against exactsnn (module docstring); ``errors`` are the paired spikes'."""

    errors: np.ndarray
    n_exact: int
    missing: list = field(default_factory=list)   # (neuron, exact time)
    extra: list = field(default_factory=list)     # (neuron, claimed time)
    flagged_neurons: set = field(default_factory=set)
    cosine: float | None = None
    sign_agreement: float | None = None
    norm_ratio: float | None = None

    def to_dict(self) -> dict:
        e = self.errors
        q = {f"p{p}": float(np.percentile(e, p)) for p in (50, 90, 99)} if e.size else {}
        on_flagged = sum(j in self.flagged_neurons for j, _ in self.missing + self.extra)
        return {"n_exact": self.n_exact, "n_paired": int(e.size), "max_error": float(e.max()) if e.size else 0.0,
                **q, "n_missing": len(self.missing), "n_extra": len(self.extra),
                "missing_or_extra_on_flagged_neurons": on_flagged, "flagged_neurons": sorted(self.flagged_neurons),
                "grad_cosine": self.cosine, "grad_sign_agreement": self.sign_agreement,
                "grad_norm_ratio": self.norm_ratio}

    def text(self) -> str:
        d = self.to_dict()
        lines = [f"spikes: {d['n_paired']} of {d['n_exact']} paired, {d['n_missing']} missing, "
                 f"{d['n_extra']} extra ({d['missing_or_extra_on_flagged_neurons']} of those on "
                 f"{len(d['flagged_neurons'])} ill-conditioned neuron(s))"]
        if d["n_paired"]:
            lines.append(f"|t error|: median {d['p50']:.3g}, p90 {d['p90']:.3g}, p99 {d['p99']:.3g}, "
                         f"max {d['max_error']:.3g}")
        if self.cosine is not None:
            lines.append(f"gradient: cosine {self.cosine:.4f}, sign agreement {self.sign_agreement:.3f}, "
                         f"norm ratio {self.norm_ratio:.4g}")
        return "\n".join(lines)


def _flagged(res) -> set:
    """Neurons with any conditioning finding (a spike's or the neuron's own)."""
    out = set()
    for s, _, _ in conditioning(res).flags:
        out.add(int(res.spike_neuron[s]) if s >= 0 else -1 - s)
    return out


def gradient_agreement(claimed, exact) -> tuple:
    """``(cosine, sign agreement, norm ratio)`` of a claimed gradient vector against the exact one."""
    g, e = np.asarray(claimed, np.float64).ravel(), np.asarray(exact, np.float64).ravel()
    ng, ne = np.linalg.norm(g), np.linalg.norm(e)
    cos = float(g @ e / (ng * ne)) if ng > 0 and ne > 0 else float("nan")
    big = np.abs(e) > 1e-9 * np.abs(e).max() if ne > 0 else np.zeros(e.size, bool)
    sign = float(np.mean(np.sign(g[big]) == np.sign(e[big]))) if big.any() else float("nan")
    return cos, sign, float(ng / ne) if ne > 0 else float("nan")


def peer_report(graph, inputs, t_max, claim: dict, loss=None, spike_area: float = 1.0) -> PeerReport:
    """Compare ``claim`` with exactsnn's float64 answers on ``graph`` (see the module docstring)."""
    imp = from_nir(graph, spike_area=spike_area)
    res = simulate(imp.model, imp.network, inputs, t_max, params=imp.params, populations=imp.populations)
    got = [s for layer in claim["spikes"] for s in layer] if imp.network.kind == "feedforward" else claim["spikes"]
    errors, missing, extra = [], [], []
    for j, (exp, cl) in enumerate(zip(res.spikes, got)):
        exp, cl = np.asarray(exp, np.float64).tolist(), [float(t) for t in cl]
        pairs = match_spikes(exp, cl)
        errors += [abs(cl[c] - exp[r]) for r, c in pairs]
        missing += [(j, exp[r]) for r in sorted(set(range(len(exp))) - {r for r, _ in pairs})]
        extra += [(j, cl[c]) for c in sorted(set(range(len(cl))) - {c for _, c in pairs})]
    rep = PeerReport(np.asarray(errors), res.n_spikes, missing, extra, _flagged(res))
    loss = parse_loss(loss)
    if loss is not None and "grad" in claim:
        _, grads = loss_grad(res, loss, policy="flag")
        claimed = np.concatenate([np.ravel(w) for w in claim["grad"]["weights"]])
        rep.cosine, rep.sign_agreement, rep.norm_ratio = gradient_agreement(claimed, grads.weights)
    return rep
