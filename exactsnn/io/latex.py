r"""``exactsnn derive MODEL --latex``: the derived partials as a LaTeX fragment that compiles.

The fragment needs ``\usepackage{amsmath}`` and nothing else: headings are ``\subsection*`` /
``\subsubsection*``, prose is text with LaTeX specials escaped, and every formula is in math mode
(inline ``$...$``, display ``\[...\]`` or ``align*``). Symbols print as SymPy prints them, except
multi-letter names that are not Greek letters: ``threshold`` -> ``\mathit{threshold}``,
``frac_slow`` -> ``\mathit{frac}_{\mathrm{slow}}``, so no name appears as a bare word.
"""

from __future__ import annotations

import re

import sympy

from ..derive import derive, implicit_partials_text
from ..derive.expsum import newton_expr

_SPECIALS = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$", "{": r"\{",
             "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_NAMES = {"psp(s)": r"\mathrm{psp}(s)", "reset(s)": r"\mathrm{reset}(s)", "threshold": r"\mathrm{threshold}",
          "dV/dw (= psp)": r"\partial V / \partial w \;(= \mathrm{psp})", "psp'(s)": r"\mathrm{psp}'(s)",
          "reset'(s)": r"\mathrm{reset}'(s)",
          "dF/dt_pre (= -w psp'(s))": r"\partial F / \partial t_{\mathrm{pre}} \;(= -w\, \mathrm{psp}'(s))",
          "dF/dt_own (= +reset'(s))": r"\partial F / \partial t_{\mathrm{own}} \;(= +\mathrm{reset}'(s))"}
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped, for use outside math mode."""
    return "".join(_SPECIALS.get(c, c) for c in text)


def symbol_tex(name: str) -> str:
    r"""LaTeX of a parameter name: Greek and one-letter heads as SymPy prints them, others ``\mathit``."""
    head, _, tail = name.partition("_")
    h = sympy.latex(sympy.Symbol(head))
    if not (h.startswith("\\") or len(head) == 1):
        h = rf"\mathit{{{head}}}"
    return h + (rf"_{{\mathrm{{{escape(tail)}}}}}" if tail else "")


def _tex(expr, names: dict) -> str:
    expr = sympy.sympify(expr, strict=True)
    return sympy.latex(expr, symbol_names={s: names.get(s.name, symbol_tex(s.name)) for s in expr.free_symbols})


def _key_tex(key: str, names: dict) -> str:
    if key in _NAMES:
        return _NAMES[key]
    for kernel in ("psp", "reset", "threshold"):
        if key.startswith(f"d{kernel}/d"):
            p = key[len(kernel) + 3:]
            return rf"\partial \mathrm{{{kernel}}} / \partial {names.get(p, symbol_tex(p))}"
    return rf"\text{{{escape(key)}}}"


def _branch_tex(label: str) -> str:
    """``tau_mem = tau_syn, ...`` in math mode; ``generic`` (or anything else) as text."""
    parts = [p.split(" = ") for p in label.split(", ")]
    if all(len(p) == 2 and all(_IDENT.fullmatch(x) for x in p) for p in parts):
        return "$" + r",\ ".join(f"{symbol_tex(a)} = {symbol_tex(b)}" for a, b in parts) + "$"
    return escape(label)


def formulas_latex(model) -> str:
    """The ``exactsnn derive`` report of ``model`` as a LaTeX fragment (needs amsmath)."""
    deriv = derive(model, with_closed_forms=False)
    names = {p: symbol_tex(p) for p in model.param_names}
    out = [r"% exactsnn derive --latex: a LaTeX fragment; needs \usepackage{amsmath}",
           rf"\subsection*{{Model \texttt{{{escape(model.name)}}}}}",
           "Parameters " + ", ".join(f"${names[p]}$" for p in model.param_names)
           + rf"; crossing strategy \texttt{{{escape(deriv.strategy)}}}. Spike $k$ of a neuron is a root of",
           r"\[ F(t) = \sum_j w_j \sum_f \mathrm{psp}(t - t_j^f - d_j) - \sum_{k'} \mathrm{reset}(t - t^{k'})"
           r" - \mathrm{threshold} = 0, \]",
           r"and its derivative with respect to any quantity $q$ is",
           r"\[ \mathrm{d}t_k = -\frac{\partial F/\partial q + \sum_e \frac{\partial F}{\partial t_e}\,\mathrm{d}t_e"
           r" + \sum_{k'<k} \frac{\partial F}{\partial t^{k'}}\,\mathrm{d}t^{k'}}{\dot V}, \qquad"
           r" \dot V = \sum w\,\mathrm{psp}' - \sum \mathrm{reset}'. \]"]
    for branch, table in implicit_partials_text(deriv).items():
        out += [rf"\subsubsection*{{Branch: {_branch_tex(branch)}}}", r"\begin{align*}"]
        rows = [f"  {_key_tex(k, names)} &= {_tex(e, names)}" for k, e in table.items()]
        out.append(" \\\\\n".join(rows))
        out.append(r"\end{align*}")
    newton = [(k, newton_expr(deriv.branches[-1].exprs[k], deriv.params)) for k in ("psp", "reset")]
    newton = [(k, f) for k, f in newton if f is not None]
    if newton:
        out += [r"\subsubsection*{Newton form}",
                r"Evaluated numerically in Newton form on every branch: $\operatorname{ExpDD}(s, x_0, \dots, x_k)$ "
                r"is the divided difference $f[x_0, \dots, x_k]$ of $\lambda \mapsto e^{-\lambda s}$ over the rates, "
                r"continuous where rates meet.", r"\begin{align*}",
                " \\\\\n".join(rf"  \mathrm{{{k}}}(s) &= {_tex(f, names)}" for k, f in newton), r"\end{align*}"]
    return "\n".join(out)
