"""Print an expression as straight-line interval arithmetic (calls into numeric/interval.py).

``s`` is an interval ``[s_lo, s_hi]``; parameters are points. Each node becomes one line

    _i3l, _i3h = iv_mul(_i1l, _i1h, _i2l, _i2h)

so the result encloses the expression's range over the interval (the natural interval
extension; every primitive rounds outward). Only elementary functions whose enclosure is
implemented are accepted: + - * /, integer and real powers, exp, log, sqrt.
"""

from __future__ import annotations

import sympy

from ..errors import ModelError
from ..model import S
from .printer import print_expr


class IntervalPrinter:
    def __init__(self, indent="    "):
        self.indent = indent
        self.lines = []
        self.count = 0
        self.memo = {}

    def _new(self):
        name = f"_i{self.count}"
        self.count += 1
        return f"{name}l", f"{name}h"

    def _emit(self, call):
        lo, hi = self._new()
        self.lines.append(f"{self.indent}{lo}, {hi} = {call}")
        return lo, hi

    def visit(self, expr):
        if expr in self.memo:
            return self.memo[expr]
        out = self._visit(expr)
        self.memo[expr] = out
        return out

    def _visit(self, expr):
        if expr == S:
            return "s_lo", "s_hi"
        if not expr.has(S):
            return self._emit(f"iv_point({print_expr(expr)})")
        if expr.is_Add:
            return self._fold("iv_add", expr.args)
        if expr.is_Mul:
            return self._fold("iv_mul", expr.args)
        if expr.is_Pow:
            return self._pow(expr)
        if isinstance(expr, sympy.exp):
            return self._emit("iv_exp(%s, %s)" % self.visit(expr.args[0]))
        if isinstance(expr, sympy.log):
            return self._emit("iv_log(%s, %s)" % self.visit(expr.args[0]))
        raise ModelError(
            f"no interval enclosure for {expr.func.__name__} in {expr}; supported: + - * / ** exp log sqrt"
        )

    def _fold(self, op, args):
        acc = self.visit(args[0])
        for arg in args[1:]:
            acc = self._emit(f"{op}({acc[0]}, {acc[1]}, %s, %s)" % self.visit(arg))
        return acc

    def _pow(self, expr):
        base, exp = expr.args
        if exp.is_Integer:
            return self._emit(f"iv_powi(%s, %s, {int(exp)})" % self.visit(base))
        if exp == sympy.Rational(1, 2):
            return self._emit("iv_sqrt(%s, %s)" % self.visit(base))
        if not exp.has(S):
            b = self.visit(base)
            e = self.visit(exp)
            return self._emit(f"iv_pow({b[0]}, {b[1]}, {e[0]}, {e[1]})")
        return self.visit(sympy.exp(exp * sympy.log(base)))


def interval_lines(expr, indent="    "):
    """(lines, (lo_name, hi_name)) computing an enclosure of ``expr`` over ``[s_lo, s_hi]``."""
    pr = IntervalPrinter(indent)
    result = pr.visit(sympy.sympify(expr))
    return pr.lines, result
