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
dreset_ds, dreset_dp[i], threshold, dthreshold_dp[i]`` and, for the second-order IFT
(``exactsnn.hessian``, ``proofs/second_order.md``), ``d2psp_ds2, d2reset_ds2``, the mixed partials
``d2psp_dsdp[i], d2reset_dsdp[i]`` and ``d2psp_dp2, d2reset_dp2, d2threshold_dp2`` (row-major ``P x P``). A branch is the generic formula, or
the limit of it on a singular parameter set (``tau_syn == tau_mem``). The limit forms may be singular
themselves on a smaller set (three equal time constants of ``lif_dual_exp``): each special branch
carries its own nested branches, found by the same search on its limit forms, down to a branch
without singular sets. For the ``expsum`` strategy
each branch also lists the closed-form solutions of ``V(u) = threshold`` between events that SymPy
finds (``closed_form``), possibly under a parameter condition (``tau_mem == 2 tau_syn``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import sympy

from ..model import S, NeuronModel
from . import expsum as _expsum
from .closed_form import closed_forms
from .expsum import newton_expr
from .newton_state import newton_state
from .singular import limit_form, singular_equalities

KERNEL_EXPRS = ("psp", "dpsp_ds", "reset", "dreset_ds", "threshold", "d2psp_ds2", "d2reset_ds2")
VECTOR_EXPRS = ("dpsp_dp", "dreset_dp", "dthreshold_dp", "d2psp_dsdp", "d2reset_dsdp", "d2psp_dp2", "d2reset_dp2",
                "d2threshold_dp2")


@dataclass(frozen=True)
class Branch:
    """Derived expressions valid where ``condition`` holds (None: generic branch).

    condition : (symbol, replacement) or None, meaning ``symbol == replacement`` (inside the
        conditions of the enclosing branches, for a nested branch).
    exprs : mapping, name -> SymPy expr (KERNEL_EXPRS) or tuple of exprs (VECTOR_EXPRS). On a special
        branch a ``LimitExprs``: each limit is taken when first looked up.
    expsum : (rates, (psp_a, psp_b), (reset_a, reset_b)) or None.
    closed_forms : tuple of ``closed_form.ClosedForm``: crossings between events in closed form
        (expsum strategy only), each possibly under a runtime parameter condition.
    sub_branches : tuple of Branch: limits on the singular sets of these expressions (a deeper
        singular set, e.g. all three time constants equal inside ``tau_decay == tau_mem``); they
        are tested before this branch's own expressions are used.
    """

    condition: tuple | None
    exprs: dict
    expsum: tuple | None
    closed_forms: tuple = ()
    sub_branches: tuple = ()


@dataclass(frozen=True)
class Derivation:
    """All derived quantities of a model, ready for printing.

    branches : special branches first (their conditions are tested in order, each one's nested
        branches inside it), generic last. ``walk()`` lists them all with their condition chains.
    strategy : "expsum" when every branch is an exponential sum whose derivative has at most
        two basis functions (one critical point per interval, closed form) and the generic branch
        has a cancellation-free two-node Newton state (``newton_state``); else "interval".
    n_slots : number of exponential-rate slots of the plain sums (the closed forms' slot layout).
    newton_state : ``newton_state.NewtonState`` of the generic branch (expsum strategy), valid on every
        singular set too (its coefficients have no vanishing denominator); None otherwise.
    """

    model: NeuronModel
    params: tuple
    branches: tuple
    strategy: str
    n_slots: int
    newton_state: object = None

    def walk(self):
        """[(chain, branch)] for every branch, nested ones included, in the order the generated
        code tests them (deepest first); ``chain`` is the tuple of conditions that select it."""
        return _walk(self.branches, ())


def _walk(branches, chain):
    out = []
    for br in branches:
        here = chain if br.condition is None else chain + (br.condition,)
        out += _walk(br.sub_branches, here) + [(here, br)]
    return out


def derive(model: NeuronModel, with_closed_forms: bool = True) -> Derivation:
    """Derive every partial the IFT needs, with singular branches and the crossing strategy.

    ``with_closed_forms=False`` leaves every branch's ``closed_forms`` empty (SymPy's ``solve`` of the
    crossing equation is the slow part of a small model's derivation): for ``exactsnn derive``, which
    does not print them. The code generator needs them (the default)."""
    params = tuple(model.symbols[n] for n in model.param_names)
    generic = _generic_exprs(model, params)
    search = _search_keys(generic, params)
    branches = _special_branches(generic, params, (), (), search) + [Branch(None, generic, _expsum_of(generic))]
    every = [br for _, br in _walk(branches, ())]
    ok = all(b.expsum is not None and
             _expsum.derivative_basis_count(b.expsum[0], b.expsum[1:]) <= 2 for b in every)
    n_slots = max((len(b.expsum[0]) for b in every if b.expsum is not None), default=0)
    state = newton_state(branches[-1].expsum, params) if ok else None
    ok = state is not None
    if ok and with_closed_forms:
        branches = [_with_closed_forms(b, params) for b in branches]
    return Derivation(model, params, tuple(branches), "expsum" if ok else "interval", n_slots, state)


class LimitExprs(Mapping):
    """A special branch's expressions: ``lim_{sym -> value}`` of the enclosing branch's, each taken on
    first look-up and kept.

    The limits of the parameter derivatives of a kernel with a Newton form (``newton_kernel_keys``) are
    the slow part of a derivation (``sympy.limit`` of the second partials of ``lif_dual_exp``) and are
    never printed: those kernels are printed from the Newton form, one formula on and off every singular
    set. Taking each limit only when it is looked up skips them, and gives the same expressions as
    taking them all.
    """

    def __init__(self, parent, sym, value):
        self._parent, self._sym, self._value, self._done = parent, sym, value, {}

    def __getitem__(self, name):
        if name not in self._done:
            v = self._parent[name]
            self._done[name] = (tuple(limit_form(e, self._sym, self._value) for e in v) if isinstance(v, tuple)
                                else limit_form(v, self._sym, self._value))
        return self._done[name]

    def __iter__(self):
        return iter(self._parent)

    def __len__(self):
        return len(self._parent)

    def taken(self) -> tuple:
        """The names whose limit has been taken so far."""
        return tuple(self._done)


def newton_kernel_keys(exprs, params) -> tuple:
    """The names of the expressions printed from a kernel's Newton form (``codegen.module._newton_kernels``):
    for ``psp`` and ``reset``, when ``newton_expr`` writes the generic kernel in Newton form, every
    derivative but ``d{kernel}_ds`` (kept in the singular-set search, with the kernel itself)."""
    keys = ()
    for k in ("psp", "reset"):
        if newton_expr(exprs[k], params) is not None:
            keys += (f"d{k}_dp", f"d2{k}_ds2", f"d2{k}_dsdp", f"d2{k}_dp2")
    return keys


def _search_keys(generic, params) -> tuple:
    """The expressions whose singular sets decide the nested branches of a special branch: all but
    ``newton_kernel_keys`` (whose limit forms are never printed)."""
    skip = set(newton_kernel_keys(generic, params))
    return tuple(k for k in generic if k not in skip)


def _special_branches(exprs, params, chain, earlier, search) -> list:
    """Limit branches on the singular sets of ``exprs`` (which hold where ``chain`` holds), each
    with its own nested branches.

    The generic branch (``chain == ()``) is searched in every expression; a special branch in the
    ``search`` ones (``_search_keys``), so no limit of a Newton-form derivative is taken for it.
    A set on which a condition tested earlier at run time holds (``earlier``: the siblings before
    this branch and before each of its ancestors) is left out: that branch catches it first. So
    ``tau_rise == tau_decay == tau_mem`` is nested once, in the first pairwise branch.
    """
    names = tuple(exprs) if not chain else search
    flat = [e for name in names for e in (exprs[name] if isinstance(exprs[name], tuple) else (exprs[name],))]
    conditions = [c for c in singular_equalities(flat, params) if not _holds(c, chain)]
    out = []
    for k, (sym, sol) in enumerate(conditions):
        here = chain + ((sym, sol),)
        if any(_holds(c, here) for c in earlier + tuple(conditions[:k])):
            continue
        limited = LimitExprs(exprs, sym, sol)
        nested = _special_branches(limited, params, here, earlier + tuple(conditions[:k]), search)
        out.append(Branch((sym, sol), limited, _expsum_of(limited), sub_branches=tuple(nested)))
    return out


def _holds(condition, chain) -> bool:
    """``symbol == value`` holds identically on the set where every equality of ``chain`` holds."""
    sym, sol = condition
    gap = sym - sol
    for other, value in chain:
        gap = gap.subs(other, value)
    return sympy.simplify(gap) == 0


def _with_closed_forms(br, params):
    subs = tuple(_with_closed_forms(b, params) for b in br.sub_branches)
    return replace(br, sub_branches=subs, closed_forms=closed_forms(br.expsum, br.exprs["threshold"], params))


def _generic_exprs(model, params) -> dict:
    psp, reset, theta = model.psp, model.reset, model.threshold
    return {
        "psp": psp,
        "dpsp_ds": sympy.diff(psp, S),
        "reset": reset,
        "dreset_ds": sympy.diff(reset, S),
        "threshold": theta,
        "d2psp_ds2": sympy.diff(psp, S, 2),
        "d2reset_ds2": sympy.diff(reset, S, 2),
        "dpsp_dp": tuple(sympy.diff(psp, p) for p in params),
        "dreset_dp": tuple(sympy.diff(reset, p) for p in params),
        "dthreshold_dp": tuple(sympy.diff(theta, p) for p in params),
        **second_param_partials({"psp": psp, "reset": reset, "threshold": theta}, params),
    }


def second_param_partials(kernels: dict, params) -> dict:
    """The mixed and parameter-parameter second partials of the Hessian-vector product's model block
    (``exactsnn.hessian.hvp``): ``d2K/ds dp_i`` (psp, reset) and ``d2K/dp_i dp_j`` row-major (psp, reset,
    threshold)."""
    out = {}
    for name, e in kernels.items():
        if name != "threshold":
            out[f"d2{name}_dsdp"] = tuple(sympy.diff(e, S, p) for p in params)
        out[f"d2{name}_dp2"] = tuple(sympy.diff(e, a, b) for a in params for b in params)
    return out


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
    for chain, br in deriv.walk():
        e = br.exprs
        label = ", ".join(f"{a} = {b}" for a, b in chain) or "generic"
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
