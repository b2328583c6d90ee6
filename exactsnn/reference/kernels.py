"""The kernels of a neuron model and all their derivatives, ready for mp and iv evaluation.

For a model with kernels ``psp(s)``, ``reset(s)`` and ``threshold`` this module derives, with
``sympy.diff`` (independently of ``exactsnn.derive``):

- ``d^k psp / ds^k`` and ``d^k reset / ds^k`` for ``k = 0 .. n_deriv`` (``k >= 2`` feed the
  Taylor-form enclosures of :mod:`.potential`);
- ``d psp / dp``, ``d reset / dp``, ``d threshold / dp`` for every model parameter ``p``.

Singular parameter sets
-----------------------
A kernel such as the LIF ``psp = (exp(-s/tau_syn) - exp(-s/tau_mem)) / (1/tau_mem - 1/tau_syn)``
has a denominator that vanishes on a parameter set (``tau_syn = tau_mem``). When the given values
lie *exactly* on such a set (tested in exact rational arithmetic), the parameter is solved from the
vanishing factor, ``p = g(others)``, and every expression is replaced by its limit
``lim_{p -> g} E`` (``sympy.limit``, computed once per model and cached). The parameter derivatives
are the limits of the generic derivatives, ``lim_{p -> g} dE/dq``, which equal the derivatives of the
analytic continuation. Values *near* such a set keep the generic formula; the digits it loses to
cancellation are measured and added to the working precision (``extra_digits``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import sympy

from ..errors import ModelError
from ..model import S
from .expressions import compile_kernel

_SYMBOLIC_CACHE: dict = {}


@dataclass(frozen=True)
class SymbolicKernels:
    """Compiled kernel derivatives of one model on one branch (generic, or a singular limit).

    Every entry is a binder ``bind(ctx, param_values) -> g`` with ``g(s)`` the kernel at fixed
    parameters (see :func:`.expressions.compile_kernel`).

    Attributes
    ----------
    psp_ds, reset_ds : tuple of callable, length ``n_deriv + 1``
        ``d^k psp/ds^k``, ``d^k reset/ds^k``.
    psp_dp, reset_dp, theta_dp : tuple of callable, one per model parameter
        Partial derivatives with respect to the parameters, in model order.
    theta : callable
        The threshold.
    exprs : dict
        The SymPy expressions (after limits) of ``psp``, ``reset``, ``threshold``, ``psp_dp`` and
        ``reset_dp`` (tuples, one per parameter), and ``params`` (the parameter symbols in order).
    limits : tuple of (str, sympy.Expr)
        The singular limits taken, ``(parameter name, value expression)``.
    """

    psp_ds: tuple
    reset_ds: tuple
    psp_dp: tuple
    reset_dp: tuple
    theta: object
    theta_dp: tuple
    exprs: dict
    limits: tuple


def _rational(man, exp):
    return sympy.Integer(man) * sympy.Integer(2) ** exp


def find_limits(model, values: dict):
    """The singular limits needed at ``values`` and the digits lost near other singular sets.

    Parameters
    ----------
    model : NeuronModel
    values : dict
        Parameter name -> ``mpmath.mpf`` (exact binary values).

    Returns
    -------
    limits : tuple of (str, sympy.Expr)
        ``(p, g)``: take ``lim_{p -> g(others)}``, in this order.
    extra_digits : int
        ``ceil(-log10(|D| / max|term of D|))`` over the non-vanishing denominators ``D``.
    """
    exact = {model.symbols[n]: _rational(*v.man_exp) for n, v in values.items()}
    exprs = list(model.potential_terms())
    limits, extra = [], 0
    for _ in range(len(model.params) + 1):
        found = None
        for expr in exprs:
            for base in _denominators(expr):
                val = sympy.simplify(base.xreplace(exact))
                if val == 0:
                    found = _solve_singular(model, base, exact)
                    break
                extra = max(extra, _cancellation_digits(base, exact))
            if found:
                break
        if found is None:
            return tuple(limits), extra
        limits.append(found)
        exprs = [_take_limit(e, model.symbols[found[0]], found[1]) for e in exprs]
    raise ModelError(f"model {model.name!r}: could not resolve the singular parameter set at {values}")


def _denominators(expr):
    """Bases of negative powers that are not plain symbols or numbers."""
    return [a.base for a in sympy.preorder_traversal(expr)
            if a.is_Pow and a.exp.is_negative and not (a.base.is_Symbol or a.base.is_Number)]


def _cancellation_digits(base, exact) -> int:
    if not base.is_Add:
        return 0
    terms = [abs(sympy.N(t.xreplace(exact), 40)) for t in base.args]
    total = abs(sympy.N(base.xreplace(exact), 40 + 200))
    big = max(terms)
    if total == 0 or big == 0:
        return 0
    return max(0, math.ceil(-math.log10(float(total / big))))


def _solve_singular(model, base, exact):
    for p in model.params:
        sym = model.symbols[p.name]
        if sym not in base.free_symbols:
            continue
        for g in sympy.solve(sympy.Eq(base, 0), sym):
            if sympy.simplify(g.xreplace(exact) - exact[sym]) == 0:
                return (p.name, g)
    raise ModelError(
        f"model {model.name!r}: the denominator {base} vanishes at the given parameters and cannot be "
        "solved for a parameter; choose other values"
    )


def _take_limit(expr, sym, value):
    """``lim_{sym -> value} expr``; plain substitution when that is already finite."""
    if sym not in expr.free_symbols:
        return expr
    plain = expr.subs(sym, value)
    if not plain.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) and not any(
        sympy.simplify(b) == 0 for b in _denominators(plain)
    ):
        return plain
    return sympy.simplify(sympy.limit(expr, sym, value))


def symbolic_kernels(model, limits: tuple, n_deriv: int) -> SymbolicKernels:
    """Derive and compile every kernel derivative on one branch; cached per model and branch."""
    key = (model, limits, n_deriv)
    if key not in _SYMBOLIC_CACHE:
        _SYMBOLIC_CACHE[key] = _derive(model, limits, n_deriv)
    return _SYMBOLIC_CACHE[key]


def _derive(model, limits, n_deriv) -> SymbolicKernels:
    syms = model.symbols
    psyms = [syms[p.name] for p in model.params]

    def lim(expr):
        for name, value in limits:
            expr = _take_limit(expr, syms[name], value)
        return expr

    psp, reset, theta = (lim(e) for e in model.potential_terms())
    psp_ds, reset_ds = [psp], [reset]
    for _ in range(n_deriv):
        psp_ds.append(sympy.diff(psp_ds[-1], S))
        reset_ds.append(sympy.diff(reset_ds[-1], S))
    gen_psp, gen_reset, gen_theta = model.potential_terms()
    psp_dp = [lim(sympy.diff(gen_psp, q)) for q in psyms]
    reset_dp = [lim(sympy.diff(gen_reset, q)) for q in psyms]
    theta_dp = [lim(sympy.diff(gen_theta, q)) for q in psyms]

    def comp(exprs):
        return tuple(compile_kernel(e, S, psyms) for e in exprs)

    return SymbolicKernels(
        psp_ds=comp(psp_ds), reset_ds=comp(reset_ds), psp_dp=comp(psp_dp), reset_dp=comp(reset_dp),
        theta=compile_kernel(theta, S, psyms), theta_dp=comp(theta_dp),
        exprs={"psp": psp, "reset": reset, "threshold": theta, "psp_dp": tuple(psp_dp),
               "reset_dp": tuple(reset_dp), "params": tuple(psyms)}, limits=tuple(limits),
    )


class KernelTable:
    """The kernels of one model bound to one parameter point, for ``mp`` and ``iv``.

    Create it inside :func:`.expressions.working_precision`; the parameter values are converted
    exactly (``mpf`` and ``iv.mpf`` of a binary number are exact).

    Parameters
    ----------
    sym : SymbolicKernels
    values : tuple of mpmath.mpf
        Parameter values in model order.
    extra_digits : int
        Digits lost to cancellation near a singular set (see :func:`find_limits`).
    """

    def __init__(self, sym: SymbolicKernels, values, extra_digits: int = 0):
        self.sym = sym
        self.extra_digits = extra_digits
        self.n_deriv = len(sym.psp_ds) - 1
        self.values = tuple(values)
        p_mp = tuple(mpmath.mpf(v) for v in values)
        p_iv = tuple(mpmath.iv.mpf(v) for v in values)
        self._psp = {ctx: [b(ctx, p) for b in sym.psp_ds] for ctx, p in ((mpmath.mp, p_mp), (mpmath.iv, p_iv))}
        self._reset = {ctx: [b(ctx, p) for b in sym.reset_ds] for ctx, p in ((mpmath.mp, p_mp), (mpmath.iv, p_iv))}
        self._psp_dp = [b(mpmath.mp, p_mp) for b in sym.psp_dp]
        self._reset_dp = [b(mpmath.mp, p_mp) for b in sym.reset_dp]
        zero = mpmath.mpf(0)
        self.theta = sym.theta(mpmath.mp, p_mp)(zero)
        self.theta_iv = sym.theta(mpmath.iv, p_iv)(mpmath.iv.mpf(0))
        self.theta_dp = [b(mpmath.mp, p_mp)(zero) for b in sym.theta_dp]

    def psp(self, ctx, k, s):
        """``d^k psp / ds^k`` at ``s`` (a point of ``mp`` or an interval of ``iv``)."""
        return self._psp[ctx][k](s)

    def reset(self, ctx, k, s):
        """``d^k reset / ds^k`` at ``s``."""
        return self._reset[ctx][k](s)

    def psp_dp(self, i, s):
        """``d psp / d p_i`` at the point ``s`` (``mp``)."""
        return self._psp_dp[i](s)

    def reset_dp(self, i, s):
        """``d reset / d p_i`` at the point ``s`` (``mp``)."""
        return self._reset_dp[i](s)


def kernel_table(model, values: dict, n_deriv: int) -> KernelTable:
    """Find the branch for ``values`` (name -> mpf), derive it (cached), and bind the values."""
    limits, extra = find_limits(model, values)
    sym = symbolic_kernels(model, limits, n_deriv)
    return KernelTable(sym, [values[p.name] for p in model.params], extra)
