"""``exactsnn derive MODEL``: the derived implicit-function partials of a model, as text or LaTeX.

MODEL is a built-in name, or a JSON/TOML file holding either kernel formulas (the case format's
``"kernel"`` model: ``psp``, ``reset``, ``threshold``, ``params``) or a linear ODE (``states``,
``equations``, ``jump``, ``membrane``, ``threshold``, ``reset``, ``params``; see
``exactsnn.models.ode.ode_model_from_dict``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import sympy

from .. import models
from ..derive import derive, implicit_partials_text
from ..derive.expsum import newton_expr
from ..errors import ModelError
from ..model import kernel_model
from .case import parse_json, read_text_file


def load_model_spec(spec: str):
    """A NeuronModel from a built-in name or a JSON/TOML file path."""
    if spec in models.BUILTINS:
        return models.get(spec)
    path = Path(spec)
    if not path.is_file():
        raise ModelError(f"model {spec!r} is neither a built-in ({sorted(models.BUILTINS)}) nor a readable file")
    text = read_text_file(path, ModelError)
    if path.suffix == ".toml":
        try:
            doc = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, RecursionError) as exc:
            raise ModelError(f"{spec}: not valid TOML: {exc}") from None
    else:
        doc = parse_json(text, ModelError, str(spec))
    if not isinstance(doc, dict):
        raise ModelError(f"{spec}: a model file must hold an object/table")
    if "states" in doc:
        from ..models.ode import ode_model_from_dict

        return ode_model_from_dict(doc)
    missing = {"psp", "reset", "threshold", "params"} - set(doc)
    if missing:
        raise ModelError(f"{spec}: a kernel model needs keys psp, reset, threshold, params; missing {sorted(missing)}")
    return kernel_model(doc["psp"], doc["reset"], doc["threshold"], doc["params"], name=doc.get("name", "kernel"))


def formulas_text(model, latex: bool = False) -> str:
    """Every partial of ``F = V - threshold`` the implicit function theorem needs, per branch.

    ``latex=True``: a LaTeX fragment that compiles (``exactsnn.io.latex.formulas_latex``)."""
    if latex:
        from .latex import formulas_latex

        return formulas_latex(model)
    deriv = derive(model, with_closed_forms=False)
    lines = [f"model {model.name}: parameters {', '.join(model.param_names)}; crossing strategy {deriv.strategy}",
             "spike k of a neuron: F(t) = sum_j w_j sum_f psp(t - t_j^f - d_j) - sum_k' reset(t - t^k') - threshold = 0",
             "dt_k = -(dF/dq + sum_parents dF/dt_e dt_e + sum_k'<k dF/dt^k' dt^k') / Vdot,  Vdot = sum w psp' - "
             "sum reset'"]
    for branch, table in implicit_partials_text(deriv).items():
        lines.append("")
        lines.append(f"branch: {branch}")
        for name, expr in table.items():
            shown = sympy.latex(expr) if latex else sympy.sstr(expr)
            lines.append(f"  {name} = {shown}")
    newton = _newton_lines(deriv, latex)
    if newton:
        lines += ["", "evaluated numerically in Newton form, on every branch (ExpDD(s, x_0, .., x_k) is the divided "
                      "difference f[x_0..x_k] of lam -> exp(-lam s) over the rates, continuous where rates meet; "
                      "its derivatives are divided differences again):", *newton]
    return "\n".join(lines)


def _newton_lines(deriv, latex):
    """``psp(s) = -ExpDD(s, 1/tau_mem, 1/tau_syn)`` for each kernel the code generator rewrites."""
    out = []
    params = deriv.params
    for kernel in ("psp", "reset"):
        form = newton_expr(deriv.branches[-1].exprs[kernel], params)
        if form is not None:
            shown = sympy.latex(form) if latex else sympy.sstr(form)
            out.append(f"  {kernel}(s) = {shown}")
    return out
