"""Print derived SymPy expressions as numba-compilable Python (float64 scalars).

One expression tree is printed several ways: scalar kernels here, interval enclosures in
``interval_printer``, mpmath code for the reference. Exponentials minus one are rewritten to
``expm1`` and ``log(1 + x)`` to ``log1p`` where SymPy's C99 optimisations find them, because
that cancellation is where float64 loses digits.
"""

from __future__ import annotations

import sympy
from sympy.codegen.rewriting import optimize, optims_c99
from sympy.printing.pycode import PythonCodePrinter

from ..model import S


class KernelPrinter(PythonCodePrinter):
    """``math.*`` calls, plain float literals (numba folds them), no ``mpmath``."""

    def _print_Rational(self, expr):
        return f"({float(expr.p)!r}/{float(expr.q)!r})"

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Exp1(self, expr):
        return "math.e"

    def _print_Pi(self, expr):
        return "math.pi"


_PRINTER = KernelPrinter({"standard": "python3"})


def stable(expr):
    """Rewrite ``expr`` with expm1/log1p where they avoid cancellation."""
    try:
        return optimize(expr, optims_c99)
    except Exception:  # an optimisation that does not apply is not an error
        return expr


def print_expr(expr) -> str:
    return _PRINTER.doprint(expr)


def cse_lines(exprs, indent: str = "    ", prefix: str = "_c"):
    """Common-subexpression-eliminated assignments and the printed results.

    Returns (lines, results): ``lines`` assign ``_c0, _c1, ...``; ``results[i]`` is the
    printed form of ``exprs[i]`` in terms of them.
    """
    exprs = [stable(sympy.sympify(e)) for e in exprs]
    repl, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols(prefix), optimizations="basic")
    lines = [f"{indent}{sym} = {print_expr(val)}" for sym, val in repl]
    return lines, [print_expr(r) for r in reduced]


def unpack_params(param_names, indent="    ") -> list:
    """``tau_syn = p[0]`` lines."""
    return [f"{indent}{name} = p[{i}]" for i, name in enumerate(param_names)]


def condition_text(condition) -> str:
    """``tau_mem == tau_syn`` for a branch condition (symbol, replacement)."""
    sym, sol = condition
    return f"{print_expr(sym)} == {print_expr(sol)}"


def uses_s(exprs) -> bool:
    return any(sympy.sympify(e).has(S) for e in exprs)
