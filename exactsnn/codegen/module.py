"""Print a model's kernel module: the model-specific part of its numeric module.

The module is plain Python that numba compiles with ``cache=True`` (no fastmath). Its header names
the model, its formulas and the input hash; each kernel's docstring gives its formula. The engine
templates are appended at load time by ``exactsnn.stamp`` (no SymPy needed there).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import sympy

from ..derive import Derivation
from ..derive.expsum import newton_expr, newton_form
from ..errors import ModelError
from ..model import S
from .interval_printer import interval_lines
from .printer import condition_text, cse_lines, print_expr, unpack_params

FORMAT_VERSION = "2"


def _branch_blocks(deriv: Derivation, emit):
    """Lines for every branch: ``if cond:`` + its nested branches + emit(branch, indent) ..., then the
    generic body."""
    return _blocks(deriv.branches, emit, "    ")


def _blocks(branches, emit, ind):
    """The branches in order; a special branch that would print the same lines as the generic one at its
    level (and has no nested branches) is dropped: its ``if`` would only repeat the code after it."""
    generic = [emit(br, ind) for br in branches if br.condition is None]
    lines = []
    for br in branches:
        if br.condition is None:
            lines += emit(br, ind)
            continue
        body = emit(br, ind + "    ")
        if not br.sub_branches and generic and [ln[4:] for ln in body] == generic[0]:
            continue
        lines.append(f"{ind}if {condition_text(br.condition)}:")
        lines += _blocks(br.sub_branches, emit, ind + "    ")
        lines += body
    return lines


def _chain_text(chain, join=" and ") -> str:
    """``tau_decay == tau_mem and tau_mem == tau_rise`` (SymPy's string form, for labels)."""
    return join.join(f"{sympy.sstr(sym)} == {sympy.sstr(sol)}" for sym, sol in chain)


def _newton_kernels(deriv) -> dict:
    """Kernel key -> its Newton form (and derivatives), for the kernels whose exponential sum cancels.

    ``psp = sum_k c_k f[l_k..l_n]`` (``derive.expsum.newton_expr``) is one formula valid on and off
    every singular set of its rates, accurate to a few ulps however close they are; the plain sum
    loses ``log10(1/gap)`` digits and its tau-derivatives twice that. Kernels printed from it need no
    branches. The derivatives come from ``ExpDD.fdiff`` and equal those of the generic formula.
    """
    cached = _NEWTON.get(id(deriv))
    if cached is not None and cached[0] is deriv:
        return cached[1]
    generic = deriv.branches[-1].exprs
    out = {}
    for kernel in ("psp", "reset"):
        form = newton_expr(generic[kernel], deriv.params)
        if form is None:
            continue
        out[kernel] = form
        out[f"d{kernel}_ds"] = sympy.diff(form, S)
        out[f"d{kernel}_dp"] = tuple(sympy.diff(form, p) for p in deriv.params)
        out[f"d2{kernel}_ds2"] = sympy.diff(form, S, 2)
        out[f"d2{kernel}_dsdp"] = tuple(sympy.diff(form, S, p) for p in deriv.params)
        out[f"d2{kernel}_dp2"] = tuple(sympy.diff(form, a, b) for a in deriv.params for b in deriv.params)
    _NEWTON[id(deriv)] = (deriv, out)
    return out


_NEWTON = {}


def _scalar(deriv, name, key, args):
    def emit(br, ind):
        body, (res,) = cse_lines([br.exprs[key]], indent=ind)
        return body + [f"{ind}return {res}"]

    formula = print_expr(deriv.branches[-1].exprs[key])
    newton = _newton_kernels(deriv).get(key)
    if newton is not None:
        body, (res,) = cse_lines([newton], indent="    ")
        return _function(deriv, name, args, f"{key} = {formula}\n\n    in Newton form: {print_expr(newton)}",
                         body + [f"    return {res}"])
    return _function(deriv, name, args, f"{key} = {formula}", _branch_blocks(deriv, emit))


def _vector(deriv, name, key, args, doc=None):
    def emit(br, ind):
        body, results = cse_lines(list(br.exprs[key]), indent=ind)
        return body + [f"{ind}out[{i}] = {r}" for i, r in enumerate(results)] + [f"{ind}return"]

    names = ", ".join(str(p) for p in deriv.params)
    doc = f"d({key[1:-3]})/d({names}) into out" if doc is None else f"{doc} over ({names}) into out"
    newton = _newton_kernels(deriv).get(key)
    if newton is not None:
        body, results = cse_lines(list(newton), indent="    ")
        return _function(deriv, name, args, doc + " (Newton form)",
                         body + [f"    out[{i}] = {r}" for i, r in enumerate(results)] + ["    return"])
    return _function(deriv, name, args, doc, _branch_blocks(deriv, emit))


def _interval(deriv, name, key):
    generic = deriv.branches[-1].exprs[key]
    newton = _newton_kernels(deriv).get(key)
    # branch-free only if the generic expression itself has a Newton form (else it divides by zero on the set)
    if newton is not None and newton_form(generic, deriv.params) is not None:
        body, (lo, hi) = interval_lines(generic, indent="    ", params=deriv.params)
        return _function(deriv, name, "s_lo, s_hi, p", f"enclosure of {key} over s in [s_lo, s_hi] (Newton form)",
                         body + [f"    return {lo}, {hi}"])

    def emit(br, ind):
        try:
            body, (lo, hi) = interval_lines(br.exprs[key], indent=ind, params=deriv.params)
        except ModelError:
            return [f"{ind}return -math.inf, math.inf  # no enclosure available for this expression"]
        return body + [f"{ind}return {lo}, {hi}"]

    return _function(deriv, name, "s_lo, s_hi, p", f"enclosure of {key} over s in [s_lo, s_hi]",
                     _branch_blocks(deriv, emit))


def _newton_state_fn(deriv):
    """``newton_state(p)``: the nodes and the kernels' Newton coefficients of the expsum state, one formula
    valid on and off every singular set (``derive/newton_state.py``); zeros for the interval strategy."""
    state = deriv.newton_state
    if state is None:
        body = ["    return (0.0, 0.0), (0.0, 0.0), (0.0, 0.0)"]
    else:
        exprs = list(state.nodes) + list(state.psp_c) + list(state.reset_c)
        body, res = cse_lines(exprs, indent="    ")
        # every entry a float, so each tuple is homogeneous (UniTuple(float64, 2))
        res = [repr(float(e)) if e.is_number else r for e, r in zip(exprs, res)]
        body = body + [f"    return ({res[0]}, {res[1]}), ({res[2]}, {res[3]}), ({res[4]}, {res[5]})"]
    basis = "exp(-x1 u)" if state is not None and state.plain else "f[x0, x1](u)"
    doc = (f"(nodes, psp_c, reset_c): V between events is c0 exp(-x0 u) + c1 {basis}, nodes = (x0, x1);\n"
           f"    each kernel is k(u) = k0 exp(-x0 u) + k1 {basis} with (k0, k1) = psp_c or reset_c")
    if state is not None:
        doc += (f"\n\n    nodes   = ({sympy.sstr(state.nodes[0])}, {sympy.sstr(state.nodes[1])})"
                f"\n    psp_c   = ({sympy.sstr(state.psp_c[0])}, {sympy.sstr(state.psp_c[1])})"
                f"\n    reset_c = ({sympy.sstr(state.reset_c[0])}, {sympy.sstr(state.reset_c[1])})")
    return _function(deriv, "newton_state", "p", doc, body)


def _closed_forms(deriv):
    """[(chain, branch, ClosedForm, kind number)], numbered from 1 in the order branches are tested."""
    out = []
    for chain, br in deriv.walk():
        for cf in br.closed_forms:
            out.append((chain, br, cf, len(out) + 1))
    return out


def _closed_form_label(chain, cf) -> str:
    """``quadratic where tau_mem == 2*tau_syn`` (the branch's conditions and the closed form's own)."""
    conds = chain + ((cf.condition,) if cf.condition is not None else ())
    return f"{cf.kind}" + (f" where {_chain_text(conds)}" if conds else "")


def _closed_form_kind_fn(deriv):
    """``closed_form_kind(p)``: which closed form applies at these parameters (0: none)."""
    numbered = _closed_forms(deriv)
    if not numbered:
        return _function(deriv, "closed_form_kind", "p", "no closed-form crossing: always 0", ["    return 0"])

    def emit(br, ind):
        lines = []
        for _, b, cf, k in numbered:
            if b is not br:
                continue
            if cf.condition is None:
                return lines + [f"{ind}return {k}"]
            lines += [f"{ind}if {condition_text(cf.condition)}:", f"{ind}    return {k}"]
        return lines + [f"{ind}return 0"]

    doc = ["number of the closed-form crossing that applies at parameters p (0: none). Called once per",
           "    simulation and population; the engine then starts its polish from",
           "    exactsnn.numeric.closed_form_roots.cf_newton_state, which reads the closed form off the Newton",
           "    state's nodes. The equation F(u) = 0 in the plain state coefficients A_r, B_r (slots of the",
           "    branch's exponential sum) and SymPy's solutions of it, per kind:"]
    for chain, _, cf, k in numbered:
        doc += ["", f"    {k}: {_closed_form_label(chain, cf)}", f"       F(u) = {sympy.sstr(cf.equation)}"]
        doc += [f"       u = {sympy.sstr(sol)}" for sol in cf.solutions]
    return _function(deriv, "closed_form_kind", "p", "\n".join(doc) + "\n    ", _branch_blocks(deriv, emit))


def _param_loader(n):
    items = ", ".join(f"tab[i, {k}]" for k in range(n))
    return ("@njit(cache=True)\ndef p_load(tab, i):\n    \"\"\"Parameter row i (a population) as the tuple the "
            f"kernels take.\"\"\"\n    return ({items},)\n\n\n")


def _function(deriv, name, args, doc, body, pre=()):
    used = "\n".join(body)
    unpack = [ln for ln in unpack_params([str(p) for p in deriv.params])
              if re.search(rf"\b{ln.split(' = ')[0].strip()}\b", used)]
    return "\n".join(["@njit(cache=True)", f"def {name}({args}):", f'    """{doc}"""', *pre, *unpack, *body,
                      ""]) + "\n"


def kernel_source(deriv: Derivation) -> str:
    """The model-specific part of the module (everything but the stamped templates)."""
    m = deriv.model
    parts = [
        "import math\n\nimport numpy as np\nfrom numba import njit, prange\n\n"
        "from exactsnn.numeric.expdd import expdd1, expdd2, expdd3, expdd4, expdd5\n"
        "from exactsnn.numeric.interval import (iv_add, iv_exp, iv_expdd2, iv_expdd3, iv_log, iv_mul, iv_point,\n"
        "                                       iv_pow, iv_powi, iv_scale, iv_sqrt)\n\n",
        f"MODEL_NAME = {m.name!r}\n",
        f"PARAM_NAMES = {tuple(m.param_names)!r}\n",
        f"PARAM_DEFAULTS = {tuple(float(p.default) for p in m.params)!r}\n",
        f"PARAM_LOWER = {_floats(p.lower for p in m.params)}\n",
        f"PARAM_UPPER = {_floats(p.upper for p in m.params)}\n",
        f"N_PARAMS = {len(m.params)}\n",
        f"N_SLOTS = {max(deriv.n_slots, 1)}\n",
        f"STRATEGY = {deriv.strategy!r}\n",
        f"STRATEGY_EXPSUM = {deriv.strategy == 'expsum'}\n",
        f"STATE_PLAIN = {deriv.newton_state is not None and deriv.newton_state.plain}\n",
        f"SINGULAR_SETS = {tuple(_chain_text(chain) for chain, _ in deriv.walk() if chain)!r}\n",
        f"CLOSED_FORMS = {tuple(_closed_form_label(chain, cf) for chain, _, cf, _ in _closed_forms(deriv))!r}\n\n\n",
        _scalar(deriv, "psp", "psp", "s, p"),
        _scalar(deriv, "dpsp_ds", "dpsp_ds", "s, p"),
        _scalar(deriv, "reset", "reset", "s, p"),
        _scalar(deriv, "dreset_ds", "dreset_ds", "s, p"),
        _scalar(deriv, "firing_threshold", "threshold", "p"),
        _scalar(deriv, "d2psp_ds2", "d2psp_ds2", "s, p"),
        _scalar(deriv, "d2reset_ds2", "d2reset_ds2", "s, p"),
        _vector(deriv, "dpsp_dp", "dpsp_dp", "s, p, out"),
        _vector(deriv, "dreset_dp", "dreset_dp", "s, p, out"),
        _vector(deriv, "dthreshold_dp", "dthreshold_dp", "p, out"),
        _vector(deriv, "d2psp_dsdp", "d2psp_dsdp", "s, p, out", "d2(psp)/ds dp_i"),
        _vector(deriv, "d2reset_dsdp", "d2reset_dsdp", "s, p, out", "d2(reset)/ds dp_i"),
        _vector(deriv, "d2psp_dp2", "d2psp_dp2", "s, p, out", "d2(psp)/dp_i dp_j, row-major,"),
        _vector(deriv, "d2reset_dp2", "d2reset_dp2", "s, p, out", "d2(reset)/dp_i dp_j, row-major,"),
        _vector(deriv, "d2threshold_dp2", "d2threshold_dp2", "p, out", "d2(threshold)/dp_i dp_j, row-major,"),
        _newton_state_fn(deriv),
        _closed_form_kind_fn(deriv),
        _param_loader(len(deriv.params)),
        _interval(deriv, "iv_psp", "psp"),
        _interval(deriv, "iv_dpsp_ds", "dpsp_ds"),
        _interval(deriv, "iv_reset", "reset"),
        _interval(deriv, "iv_dreset_ds", "dreset_ds"),
    ]
    return "\n".join(parts)


def _floats(values) -> str:
    items = ["math.inf" if v == float("inf") else "-math.inf" if v == -float("inf") else repr(float(v))
             for v in values]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


KERNEL_SOURCES = ("model.py", "formula.py")
SOURCE_DIRS = ("derive", "codegen")


def input_hash(model) -> str:
    """Hash of everything that determines a model's printed kernels: the model's expressions and
    parameters, the sources of the model, derivation and printing layers, and SymPy's version.
    Checking it needs no derivation, so a cached or shipped kernel file is validated in milliseconds.
    (The engine templates and numeric helpers are covered separately, by ``exactsnn.stamp``.)"""
    root = Path(__file__).resolve().parent.parent
    parts = [FORMAT_VERSION, f"sympy {sympy.__version__}", model.name, sympy.srepr(model.psp),
             sympy.srepr(model.reset), sympy.srepr(model.threshold),
             repr([(p.name, p.default, p.lower, p.upper) for p in model.params])]
    parts += [(root / name).read_text() for name in KERNEL_SOURCES]
    for sub in SOURCE_DIRS:
        parts += [f.read_text() for f in sorted((root / sub).rglob("*.py"))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def read_input_hash(text: str | None) -> str | None:
    """The INPUT_HASH recorded in a kernel module's text (None if absent)."""
    for line in (text or "").splitlines():
        if line.startswith("INPUT_HASH = "):
            return line.split("=", 1)[1].strip().strip("'\"")
    return None


def kernels_module_source(deriv: Derivation) -> str:
    """A model's kernel module: header (model, formulas, input hash) and the printed kernels.

    ``exactsnn.stamp`` appends the engine templates when the model is loaded.
    """
    m = deriv.model
    header = (
        f'"""Generated by exactsnn from model {m.name!r}. Do not edit: regenerate instead.\n\n'
        f"psp(s)     = {sympy.sstr(m.psp)}\n"
        f"reset(s)   = {sympy.sstr(m.reset)}\n"
        f"threshold  = {sympy.sstr(m.threshold)}\n"
        f"parameters = {', '.join(m.param_names)}\n"
        f"strategy   = {deriv.strategy}\n"
        '"""\n\n'
    )
    return header + f"INPUT_HASH = {input_hash(m)!r}\n\n" + kernel_source(deriv)
