"""Kernels as exponential polynomials, and per-neuron sums of them kept as a running state.

Exponential polynomials
-----------------------
:func:`exp_poly` writes a kernel ``f(s)`` (a SymPy expression of the reference's own kernel
table, after any singular limit) as

    f(s) = sum_r  sum_{m <= M_r} a_{r,m} s^m exp(-rate_r s)                         (1)

with ``a_{r,m}`` and ``rate_r`` free of ``s``, by expanding ``f`` and reading each additive term as
``const * s^m * exp(linear in s)``. It returns ``None`` for any other kernel, and the reference then
sums the history term by term (:class:`.potential.Potential`). The form (1) is read off the model's
own kernel by this module; it is not the engine's exponential-sum or Newton-form derivation
(``exactsnn.derive``), which the reference never imports. Each decomposition is checked at three
points at 40 digits against the kernel it came from.

State sums
----------
For a sum over history events ``x`` (arrival or own spike at time ``tau_x``, with a value ``v_x``:
a weight, or a vector of derivatives) of a kernel of form (1), with ``t^m`` expanded binomially,

    sum_x v_x f(t - tau_x) = sum_r exp(-rate_r t) sum_i t^i A_{r,i},
    A_{r,i} = sum_x v_x exp(rate_r tau_x) sum_{m >= i} a_{r,m} C(m, i) (-tau_x)^(m - i).          (2)

So the history enters only through the few numbers ``A_{r,i}`` (anchored at time 0), updated once per
event, and ``G``, every ``G^(k)`` and every enclosure over an interval cost ``O(#rates * degree)``
instead of ``O(#events)``. ``d/dt [exp(-r t) P(t)] = exp(-r t) (P'(t) - r P(t))`` gives the derivatives.

Why rounding stays irrelevant: the scalar states are carried in ``iv`` (outward rounding), so every
enclosure built from them is rigorous whatever the rounding. In ``mp`` (Newton steps, gradients) each
product in (2) is a product, which rounds relatively, and the sum over ``x`` of numbers
``v_x exp(r tau_x)`` multiplied by ``exp(-r t)`` carries, after that multiplication, an error of at most
``n 2^-p sum_x |v_x f_x(t - tau_x)|`` (``n`` events, ``p`` working bits) plus the binomial term
``2^-p (2 t)^M`` per event: the same bound as summing the history term by term, up to the small
factor ``(2 t)^M`` (``M <= 2`` for the built-in models), against the ``GUARD_DIGITS`` carried beyond
the requested digits. The growth of ``exp(rate tau)`` costs no digits: mpmath's exponent range is
unbounded and products round relatively.
"""

from __future__ import annotations

import math

import mpmath
import sympy
from mpmath import iv, mp

from ..model import S
from .expressions import compile_kernel
from .potential import Potential


def exp_poly(expr, s=S):
    """``{rate_expr: [a_0, ..., a_M]}`` with ``expr = sum_r sum_m a_m s^m exp(-rate s)``, or None."""
    terms = _terms(sympy.sympify(expr, strict=True), s)
    if terms is None:
        return None
    out = {}
    for coef, m, rate in terms:
        key = next((r for r in out if sympy.simplify(r - rate) == 0), rate)
        coeffs = out.setdefault(key, [])
        coeffs.extend([sympy.Integer(0)] * (m + 1 - len(coeffs)))
        coeffs[m] += coef
    return {r: [sympy.simplify(c) for c in cs] for r, cs in out.items()}


def _terms(e, s):
    """``[(coefficient, degree, rate)]`` with ``e = sum coefficient s**degree exp(-rate s)``, or None.

    Walks the tree: ``s``-free subtrees are coefficients (never expanded), ``+`` concatenates, ``*``
    and non-negative integer powers multiply out, ``exp(a s + b)`` gives rate ``-a``; anything else
    (``s`` in a denominator, a logarithm, ...) is not an exponential polynomial."""
    if not e.has(s):
        return [(e, 0, sympy.Integer(0))]
    if e == s:
        return [(sympy.Integer(1), 1, sympy.Integer(0))]
    if e.is_Add:
        parts = [_terms(a, s) for a in e.args]
        return None if any(p is None for p in parts) else [t for p in parts for t in p]
    if e.is_Mul or (e.is_Pow and e.exp.is_Integer and e.exp > 0 and e.base is not sympy.E):
        factors = e.args if e.is_Mul else [e.base] * int(e.exp)
        out = [(sympy.Integer(1), 0, sympy.Integer(0))]
        for f in factors:
            part = _terms(f, s)
            if part is None:
                return None
            out = [(c1 * c2, m1 + m2, r1 + r2) for c1, m1, r1 in out for c2, m2, r2 in part]
        return out
    if isinstance(e, sympy.exp) or (e.is_Pow and e.base is sympy.E):
        arg = sympy.expand(e.args[0] if isinstance(e, sympy.exp) else e.exp)
        slope = sympy.diff(arg, s)
        if slope.has(s):
            return None
        return [(sympy.exp(sympy.simplify(arg - slope * s)), 0, -slope)]
    return None


def checked_exp_poly(expr, param_syms, values):
    """:func:`exp_poly`, then checked against ``expr`` at three ``s`` at the given parameter values."""
    form = exp_poly(expr)
    if form is None:
        return None
    subs = dict(zip(param_syms, [sympy.Float(str(v), 40) for v in values]))
    for s_val in ("0.37", "1.3", "2.9"):
        s0 = sympy.Float(s_val, 40)
        want = sympy.N(expr.xreplace(subs).xreplace({S: s0}), 40)
        got = sympy.N(sum(c.xreplace(subs) * s0 ** m * sympy.exp(-r.xreplace(subs) * s0)
                          for r, cs in form.items() for m, c in enumerate(cs)), 40)
        if abs(got - want) > sympy.Float("1e-30") * (1 + abs(want)):
            return None
    return form


class ExpPolyKernel:
    """One kernel in form (1), bound to parameter values: rates and coefficients in ``mp`` and ``iv``.

    ``rates`` is the list of rate keys (SymPy expressions) shared with the other kernels of the
    table; ``coeffs[ctx][r]`` the coefficient list of rate key index ``r`` (empty when absent).
    """

    def __init__(self, form, rate_keys, param_syms, values_mp, values_iv):
        self.coeffs = {mp: {}, iv: {}}
        for key, cs in form.items():
            r = rate_keys.index(key)
            for ctx, vals in ((mp, values_mp), (iv, values_iv)):
                self.coeffs[ctx][r] = [_const(c, param_syms, ctx, vals) for c in cs]

    def weights(self, ctx, tau, grow_of):
        """``{(r, i): b}`` such that a unit event at ``tau`` adds ``b`` to ``A_{r,i}`` (equation (2));
        ``grow_of(ctx, r, tau) = exp(rate_r tau)``."""
        out = {}
        tau_c = ctx.mpf(tau)
        for r, cs in self.coeffs[ctx].items():
            grow = grow_of(ctx, r, tau)
            for i in range(len(cs)):
                total = 0
                for m in range(i, len(cs)):
                    if cs[m]:
                        total += cs[m] * math.comb(m, i) * (-tau_c) ** (m - i)
                if total:
                    out[(r, i)] = total * grow
        return out


def _const(expr, param_syms, ctx, values):
    return compile_kernel(sympy.sympify(expr, strict=True), S, param_syms)(ctx, values)(ctx.mpf(0))


_FORMS_CACHE: dict = {}


def _forms(sym, values):
    """``(rate keys, {kernel name: form})`` of one model branch, or None; cached per branch."""
    key = (sym.exprs["psp"], sym.exprs["reset"], sym.exprs["psp_dp"], sym.exprs["reset_dp"])
    if key not in _FORMS_CACHE:
        psyms = list(sym.exprs["params"])
        exprs = {"psp": sym.exprs["psp"], "reset": sym.exprs["reset"],
                 "dpsp": sympy.diff(sym.exprs["psp"], S), "dreset": sympy.diff(sym.exprs["reset"], S)}
        for i, (e1, e2) in enumerate(zip(sym.exprs["psp_dp"], sym.exprs["reset_dp"])):
            exprs[("psp_dp", i)], exprs[("reset_dp", i)] = e1, e2
        forms = {k: checked_exp_poly(e, psyms, values) for k, e in exprs.items()}
        if any(f is None for f in forms.values()):
            _FORMS_CACHE[key] = None
        else:
            keys = []
            for f in forms.values():
                for r in f:
                    if not any(sympy.simplify(r - k) == 0 for k in keys):
                        keys.append(r)
            forms = {name: {next(k for k in keys if sympy.simplify(k - r) == 0): cs for r, cs in f.items()}
                     for name, f in forms.items()}
            _FORMS_CACHE[key] = (keys, forms)
    return _FORMS_CACHE[key]


class ExpPolyTable:
    """The forms (1) of ``psp``, ``reset``, ``dpsp/ds``, ``dreset/ds`` and of the parameter derivatives
    ``("psp_dp", i)``, ``("reset_dp", i)`` of one model branch, bound to one parameter point.

    ``ok`` is False when some kernel has no such form (the caller then sums term by term).
    """

    def __init__(self, sym, values):
        found = _forms(sym, values)
        self.ok = found is not None
        if not self.ok:
            return
        keys, forms = found
        psyms = list(sym.exprs["params"])
        v_mp = tuple(mpmath.mpf(v) for v in values)
        v_iv = tuple(iv.mpf(v) for v in values)
        self.n_rates = len(keys)
        self.rates = {mp: [_const(k, psyms, mp, v_mp) for k in keys], iv: [_const(k, psyms, iv, v_iv) for k in keys]}
        self.kernels = {name: ExpPolyKernel(f, keys, psyms, v_mp, v_iv) for name, f in forms.items()}
        self._grow = {}

    def grow(self, ctx, r, tau):
        """``exp(rate_r tau)`` in ``ctx``, cached (each event time is used by several kernels)."""
        key = (ctx is iv, r, tau)
        if key not in self._grow:
            if len(self._grow) > 4096:
                self._grow.clear()
            self._grow[key] = ctx.exp(self.rates[ctx][r] * ctx.mpf(tau))
        return self._grow[key]

    def weights(self, name, ctx, tau):
        """``{(r, i): b}``: a unit event at ``tau`` of kernel ``name`` adds ``b`` to ``A_{r,i}``."""
        return self.kernels[name].weights(ctx, tau, self.grow)


class NeuronState:
    """The scalar state (2) of one neuron's ``V``, in ``mp`` and in ``iv``: ``A[ctx][r][i]``."""

    def __init__(self, table):
        self.table = table
        self.A = {mp: {}, iv: {}}

    def add(self, name, weight, tau):
        """Add ``weight * kernel_name(t - tau)`` (``weight``, ``tau``: exact ``mpf``)."""
        for ctx in (mp, iv):
            w = ctx.mpf(weight)
            for (r, i), b in self.table.weights(name, ctx, tau).items():
                coeffs = self.A[ctx].setdefault(r, [])
                coeffs.extend([ctx.mpf(0)] * (i + 1 - len(coeffs)))
                coeffs[i] += w * b

    def snapshot(self):
        return {ctx: {r: list(cs) for r, cs in a.items()} for ctx, a in self.A.items()}


def evaluate(state, rates, ctx, t, k=0):
    """``d^k/dt^k sum_r exp(-rate_r t) P_r(t)`` at ``t`` (a point, or an ``iv`` interval), with
    ``state`` mapping ``r -> [A_0, ..., A_M]`` (the coefficients of ``P_r``, values of ``ctx``)."""
    return _sum(derivative(state, rates, k), rates, ctx, t)


def derivative(state, rates, k):
    """Coefficients of the ``k``-th derivative: ``d/dt [e^{-r t} P(t)] = e^{-r t} (P'(t) - r P(t))``."""
    out = {}
    for r, coeffs in state.items():
        cs, rate = list(coeffs), rates[r]
        for _ in range(k):
            cs = [(i + 1) * cs[i + 1] - rate * cs[i] if i + 1 < len(cs) else -rate * cs[i] for i in range(len(cs))]
        out[r] = cs
    return out


def _sum(coeffs, rates, ctx, t):
    total = 0
    for r, cs in coeffs.items():
        poly = cs[-1]
        for c in reversed(cs[:-1]):
            poly = poly * t + c
        total = total + ctx.exp(-rates[r] * t) * poly
    return total


class StatePotential(Potential):
    """``G = V - theta`` of one neuron from a snapshot of its :class:`NeuronState`.

    Same interface and enclosures as :class:`.potential.Potential` (natural extension, Taylor form,
    their intersection); only the point/interval evaluation differs: (2) instead of the history sum.
    """

    def __init__(self, table, ex, snapshot, taylor_order: int = 0):
        self.table, self.ex, self.A = table, ex, snapshot
        self.taylor_order = min(taylor_order, table.n_deriv - 1)
        self._at_center = {}
        self._deriv = {}

    def point(self, ctx, t, k: int = 0):
        if ctx is iv:
            t = iv.mpf(t)
        key = (ctx is iv, k)
        if key not in self._deriv:  # the same few derivatives are evaluated many times per segment
            self._deriv[key] = derivative(self.A[ctx], self.ex.rates[ctx], k)
        total = _sum(self._deriv[key], self.ex.rates[ctx], ctx, t)
        if k == 0:
            total = total - (self.table.theta_iv if ctx is iv else self.table.theta)
        return ctx.mpf(total) if isinstance(total, int) else total
