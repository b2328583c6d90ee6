"""Print an expression as straight-line interval arithmetic (calls into numeric/interval.py).

``s`` is an interval ``[s_lo, s_hi]``; parameters are points. Each node becomes one line

    _i3l, _i3h = iv_mul(_i1l, _i1h, _i2l, _i2h)

so the result encloses the expression's range over the interval (the natural interval
extension; every primitive rounds outward). Only elementary functions whose enclosure is
implemented are accepted: + - * /, integer and real powers, exp, log, sqrt.

A pure exponential sum whose coefficients blow up on a singular parameter set (the generic
LIF kernel near ``tau_syn == tau_mem``) is printed in Newton form instead
(``derive.expsum.newton_form``): point coefficients times enclosures of divided differences of
``exp(-lam s)`` (``iv_expdd2``, ``iv_expdd3``), whose width does not grow as rates meet. The
natural extension of the plain sum is ``1 / |tau_syn - tau_mem|`` times wider than the kernel's
range, and root isolation on it ran out of boxes within ~1e-4 of the set.
"""

from __future__ import annotations

import sympy

from ..derive.expsum import newton_form
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


def interval_lines(expr, indent="    ", params=()):
    """(lines, (lo_name, hi_name)) computing an enclosure of ``expr`` over ``[s_lo, s_hi]``.

    ``params`` (the model's parameter symbols) enables the Newton form for sums that cancel near a
    singular set of them.
    """
    pr = IntervalPrinter(indent)
    expr = sympy.sympify(expr, strict=True)
    newton = newton_form(expr, params) if params else None
    if newton is not None and len(newton.rates) <= 3:
        return pr.lines, _newton(pr, newton)
    return pr.lines, pr.visit(expr)


def _newton(pr, form):
    """sum_k coeffs[k] * f[rates[k:]], each divided difference enclosed by iv_expdd*."""
    rates = [print_expr(r) for r in form.rates]
    acc = None
    for k, coeff in enumerate(form.coeffs):
        if coeff == 0:
            continue
        tail = rates[k:]
        if len(tail) == 1:
            arg = pr._emit(f"iv_scale(-({tail[0]}), s_lo, s_hi)")
            dd = pr._emit("iv_exp(%s, %s)" % arg)
        else:
            dd = pr._emit(f"iv_expdd{len(tail)}({', '.join(tail)}, s_lo, s_hi)")
        term = pr._emit(f"iv_mul(%s, %s, {dd[0]}, {dd[1]})" % pr.visit(coeff))
        acc = term if acc is None else pr._emit(f"iv_add({acc[0]}, {acc[1]}, {term[0]}, {term[1]})")
    return acc if acc is not None else pr._emit("iv_point(0.0)")
