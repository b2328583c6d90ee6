"""Symbolic derivation (SymPy only) of everything the implicit function theorem needs.

For spike ``k`` of a neuron at time ``t`` define ``F(t) = V(t) - threshold`` with

    V(t) = sum_j w_j sum_f psp(t - t_j^f - d_j) - sum_k' reset(t - t^k').

The IFT gives ``dt = -(dF/dq + sum_e dF/dt_e dt_e) / Vdot`` and every partial is a kernel
quantity evaluated at ``s = t - event``:

    Vdot          = sum w psp'(s) - sum reset'(s)
    dF/dw_j       = psp(s)                      (summed over that synapse's arrivals)
    dF/dt_j^f     = -w_j psp'(s)                (= dF/dd_j, the delay enters the same way)
    dF/dt^k'      = +reset'(s)                  (own earlier spike, through the reset)
    dF/dp         = sum w dpsp/dp - sum dreset/dp - dthreshold/dp

So the derivation produces, per branch, the expressions ``psp, dpsp_ds, dpsp_dp[i], reset,
dreset_ds, dreset_dp[i], threshold, dthreshold_dp[i]``. A branch is the generic formula, or
the limit of it on a singular parameter set (``tau_syn == tau_mem``). For the ``expsum`` strategy
each branch also lists the closed-form solutions of ``V(u) = threshold`` between events that SymPy
finds (``closed_form``), possibly under a parameter condition (``tau_mem == 2 tau_syn``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy

from ..model import S, NeuronModel
from . import expsum as _expsum
from .closed_form import closed_forms
from .singular import limit_form, singular_equalities

KERNEL_EXPRS = ("psp", "dpsp_ds", "reset", "dreset_ds", "threshold")
VECTOR_EXPRS = ("dpsp_dp", "dreset_dp", "dthreshold_dp")


@dataclass(frozen=True)
class Branch:
    """Derived expressions valid where ``condition`` holds (None: generic branch).

    condition : (symbol, replacement) or None, meaning ``symbol == replacement``.
    exprs : dict, name -> SymPy expr (KERNEL_EXPRS) or tuple of exprs (VECTOR_EXPRS).
    expsum : (rates, (psp_a, psp_b), (reset_a, reset_b)) or None.
    closed_forms : tuple of ``closed_form.ClosedForm``: crossings between events in closed form
        (expsum strategy only), each possibly under a runtime parameter condition.
    """

    condition: tuple | None
    exprs: dict
    expsum: tuple | None
    closed_forms: tuple = ()


@dataclass(frozen=True)
class Derivation:
    """All derived quantities of a model, ready for printing.

    branches : special branches first (their conditions are tested in order), generic last.
    strategy : "expsum" when every branch is an exponential sum whose derivative has at most
        two basis functions (one critical point per interval, closed form); else "interval".
    n_slots : number of exponential-rate slots the numeric state needs (expsum strategy).
    """

    model: NeuronModel
    params: tuple
    branches: tuple
    strategy: str
    n_slots: int


def derive(model: NeuronModel) -> Derivation:
    """Derive every partial the IFT needs, with singular branches and the crossing strategy."""
    params = tuple(model.symbols[n] for n in model.param_names)
    generic = _generic_exprs(model, params)
    flat = [e for v in generic.values() for e in (v if isinstance(v, tuple) else (v,))]
    conditions = singular_equalities(flat, params)
    branches = []
    for sym, sol in conditions:
        exprs = {k: (tuple(limit_form(e, sym, sol) for e in v) if isinstance(v, tuple)
                     else limit_form(v, sym, sol)) for k, v in generic.items()}
        branches.append(Branch((sym, sol), exprs, _expsum_of(exprs)))
    branches.append(Branch(None, generic, _expsum_of(generic)))
    ok = all(b.expsum is not None and
             _expsum.derivative_basis_count(b.expsum[0], b.expsum[1:]) <= 2 for b in branches)
    n_slots = max((len(b.expsum[0]) for b in branches if b.expsum is not None), default=0)
    if ok:
        branches = [replace(b, closed_forms=closed_forms(b.expsum, b.exprs["threshold"], params)) for b in branches]
    return Derivation(model, params, tuple(branches), "expsum" if ok else "interval", n_slots)


def _generic_exprs(model, params) -> dict:
    psp, reset, theta = model.psp, model.reset, model.threshold
    return {
        "psp": psp,
        "dpsp_ds": sympy.diff(psp, S),
        "reset": reset,
        "dreset_ds": sympy.diff(reset, S),
        "threshold": theta,
        "dpsp_dp": tuple(sympy.diff(psp, p) for p in params),
        "dreset_dp": tuple(sympy.diff(reset, p) for p in params),
        "dthreshold_dp": tuple(sympy.diff(theta, p) for p in params),
    }


def _expsum_of(exprs):
    psp = _expsum.decompose(exprs["psp"])
    reset = _expsum.decompose(exprs["reset"])
    if psp is None or reset is None:
        return None
    rates, (psp_ab, reset_ab) = _expsum.merge(psp, reset)
    return rates, psp_ab, reset_ab


def implicit_partials_text(deriv: Derivation) -> dict:
    """The IFT partials of ``F = V - threshold`` as formulas per branch (for ``exactsnn derive``)."""
    out = {}
    for br in deriv.branches:
        e = br.exprs
        label = "generic" if br.condition is None else f"{br.condition[0]} = {br.condition[1]}"
        out[label] = {
            "psp(s)": e["psp"], "reset(s)": e["reset"], "threshold": e["threshold"],
            "dV/dw (= psp)": e["psp"], "psp'(s)": e["dpsp_ds"], "reset'(s)": e["dreset_ds"],
            "dF/dt_pre (= -w psp'(s))": -sympy.Symbol("w") * e["dpsp_ds"],
            "dF/dt_own (= +reset'(s))": e["dreset_ds"],
            **{f"dpsp/d{p}": d for p, d in zip(deriv.params, e["dpsp_dp"])},
            **{f"dreset/d{p}": d for p, d in zip(deriv.params, e["dreset_dp"])},
            **{f"dthreshold/d{p}": d for p, d in zip(deriv.params, e["dthreshold_dp"])},
        }
    return out
