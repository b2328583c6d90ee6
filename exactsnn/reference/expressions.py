"""Compile SymPy expressions into closures that evaluate in mpmath's ``mp`` or ``iv`` context.

The reference solver evaluates every kernel twice over: as points at high precision (``mp``) and
as rigorous enclosures over time intervals (``iv``, outward-rounded interval arithmetic). One
compiled kernel serves both, because it only calls methods of the context it is handed
(``ctx.exp``, ``ctx.log``, ``ctx.mpf`` ...). Supported: numbers, ``pi``, ``E``, ``+``, ``*``, ``**``,
``exp``, ``log``, ``sin``, ``cos``, ``tan``, ``Abs`` (hyperbolic functions are rewritten as
exponentials); anything else raises ``ModelError`` naming it.

Constants stay exact: an ``Integer`` or ``Rational`` becomes ``ctx.mpf(p) / q`` (an enclosure in
``iv``), a ``Float`` becomes the exact binary number SymPy stores, ``pi`` and ``E`` become the
context's own constants (intervals in ``iv``). No expression is ever printed to a string.

This module also holds the local precision manager :func:`working_precision`: ``mpmath.workdps``
for ``mp`` plus a save/restore of ``iv.prec`` (``iv`` has no ``workdps``).
"""

from __future__ import annotations

from contextlib import contextmanager

import mpmath
import sympy

from ..errors import ModelError

# SymPy function class -> name of the mpmath context method (both mp and iv provide these).
_FUNCTIONS = {
    sympy.exp: "exp",
    sympy.log: "log",
    sympy.sin: "sin",
    sympy.cos: "cos",
    sympy.tan: "tan",
}


@contextmanager
def working_precision(dps: int):
    """Set ``mp`` and ``iv`` to ``dps`` decimal digits inside the block only.

    ``mpmath.workdps`` restores ``mp``; ``iv.prec`` is saved and restored here, also when the
    block raises. Nothing global changes after the block ends. (Like ``workdps`` itself this is not
    thread-safe: mpmath's contexts are process-wide objects.)
    """
    saved = mpmath.iv.prec
    with mpmath.workdps(dps):
        try:
            mpmath.iv.dps = dps
            yield
        finally:
            mpmath.iv.prec = saved


def compile_kernel(expr, s, params):
    """Compile a kernel ``expr(s; params)`` for repeated evaluation at fixed parameters.

    Returns ``bind(ctx, param_values) -> g`` where ``g(s)`` evaluates the kernel. ``bind`` evaluates
    every subexpression free of ``s`` once (``1/tau``, ``1/(1/tau_mem - 1/tau_syn)``, ...), at the
    precision current when it is called, so ``g`` only does the ``s``-dependent work.
    """
    node = _stage(_prepare(expr), s, {sym: i for i, sym in enumerate(params)})

    def bind(ctx, values):
        return _as_function(*node(ctx, tuple(values)))

    return bind


def _prepare(expr):
    expr = sympy.sympify(expr, strict=True)
    if expr.has(sympy.sinh, sympy.cosh, sympy.tanh):
        expr = expr.rewrite(sympy.exp)
    return expr


_CONST, _VAR = "const", "var"


def _stage(e, s, pindex):
    """``node(ctx, p) -> (_CONST, value)`` or ``(_VAR, g)`` with ``g(s)``."""
    if e == s:
        return lambda c, p: (_VAR, lambda x: x)
    if not e.has(s):
        ev = _build(e, pindex)
        return lambda c, p: (_CONST, ev(c, p))
    if e.is_Add or e.is_Mul:
        return _stage_fold([_stage(a, s, pindex) for a in e.args], e.is_Add)
    if e.is_Pow and e.args[1].is_Integer:
        base, n = _stage(e.args[0], s, pindex), int(e.args[1])
        return lambda c, p: (_VAR, _compose(base(c, p)[1], lambda y: y ** n))
    if e.is_Pow and e.args[1] == sympy.Rational(1, 2):
        base = _stage(e.args[0], s, pindex)
        return lambda c, p: (_VAR, _compose(base(c, p)[1], c.sqrt))
    if e.is_Pow:  # b**x = exp(x log b)
        return _stage_power(_stage(e.args[0], s, pindex), _stage(e.args[1], s, pindex))
    if isinstance(e, sympy.Abs):
        inner = _stage(e.args[0], s, pindex)
        return lambda c, p: (_VAR, _compose(inner(c, p)[1], abs))
    for cls, name in _FUNCTIONS.items():
        if isinstance(e, cls):
            inner = _stage(e.args[0], s, pindex)
            return lambda c, p, _n=name: (_VAR, _compose(inner(c, p)[1], getattr(c, _n)))
    raise ModelError(f"the reference evaluator does not support {type(e).__name__} in {e}")


def _stage_power(base, expo):
    def node(c, p):
        fb, fx = (_as_function(*part(c, p)) for part in (base, expo))
        return _VAR, lambda x: c.exp(fx(x) * c.log(fb(x)))
    return node


def _as_function(kind, payload):
    return payload if kind is _VAR else (lambda x: payload)


def _compose(g, outer):
    return lambda x: outer(g(x))


def _stage_fold(children, add):
    def node(c, p):
        parts = [ch(c, p) for ch in children]
        consts = [v for kind, v in parts if kind is _CONST]
        funcs = [v for kind, v in parts if kind is _VAR]
        const = None
        for v in consts:
            const = v if const is None else (const + v if add else const * v)
        if add:
            def g(x):
                total = funcs[0](x)
                for f in funcs[1:]:
                    total = total + f(x)
                return total if const is None else total + const
        else:
            def g(x):
                total = funcs[0](x)
                for f in funcs[1:]:
                    total = total * f(x)
                return total if const is None else const * total
        return _VAR, g
    return node


def _build(e, index):
    if e.is_Symbol:
        if e not in index:
            raise ModelError(f"symbol {e} has no value in the reference evaluator (known: {list(index)})")
        i = index[e]
        return lambda c, v: v[i]
    if e.is_Number or e in (sympy.pi, sympy.E):
        return _constant(e)
    if e.is_Add or e.is_Mul:
        parts = [_build(a, index) for a in e.args]
        return _fold(parts, add=e.is_Add)
    if e.is_Pow:
        return _power(e, index)
    if isinstance(e, sympy.Abs):
        inner = _build(e.args[0], index)
        return lambda c, v: abs(inner(c, v))
    for cls, name in _FUNCTIONS.items():
        if isinstance(e, cls):
            inner = _build(e.args[0], index)
            return lambda c, v, _n=name: getattr(c, _n)(inner(c, v))
    raise ModelError(f"the reference evaluator does not support {type(e).__name__} in {e}")


def _constant(e):
    if e is sympy.pi:
        return lambda c, v: c.pi
    if e is sympy.E:
        return lambda c, v: c.e
    if e.is_Integer:
        n = int(e)
        return lambda c, v: c.mpf(n)
    if e.is_Rational:
        p, q = int(e.p), int(e.q)
        return lambda c, v: c.mpf(p) / q
    if e.is_Float:
        exact = mpmath.mp.make_mpf(e._mpf_)  # the exact binary value SymPy stores
        return lambda c, v: c.mpf(exact)
    raise ModelError(f"the reference evaluator does not support the constant {e}")


def _fold(parts, add):
    first, rest = parts[0], parts[1:]
    if add:
        def f(c, v):
            total = first(c, v)
            for p in rest:
                total = total + p(c, v)
            return total
    else:
        def f(c, v):
            total = first(c, v)
            for p in rest:
                total = total * p(c, v)
            return total
    return f


def _power(e, index):
    base, expo = e.args
    b = _build(base, index)
    if expo.is_Integer:
        n = int(expo)
        return lambda c, v: b(c, v) ** n
    if expo == sympy.Rational(1, 2):
        return lambda c, v: c.sqrt(b(c, v))
    if expo == sympy.Rational(-1, 2):
        return lambda c, v: 1 / c.sqrt(b(c, v))
    x = _build(expo, index)
    if base is sympy.E:
        return lambda c, v: c.exp(x(c, v))
    return lambda c, v: c.exp(x(c, v) * c.log(b(c, v)))
