"""The neuron state of the ``expsum`` strategy in Newton (divided-difference) form.

Between events the potential of an ``expsum`` model is spanned by two functions of the time ``u``
since the state's reference time. With two *nodes* ``x_0, x_1`` (rates, possibly equal) and
``f(lam) = exp(-lam u)``, the Newton basis is

    N_0(u) = f[x_0] = exp(-x_0 u),        N_1(u) = f[x_0, x_1] = (exp(-x_1 u) - exp(-x_0 u)) / (x_1 - x_0),

with ``N_1 = -u exp(-x u)`` when ``x_0 == x_1``: one formula for two distinct rates (LIF), for a
repeated rate (alpha PSP, LIF at ``tau_syn == tau_mem``) and for a zero rate (non-leaky IF). A kernel
is ``k(u) = c_0 N_0(u) + c_1 N_1(u)``; from the plain sum ``a_0 exp(-x_0 u) + a_1 exp(-x_1 u)``

    c_0 = a_0 + a_1,    c_1 = a_1 (x_1 - x_0),

and from ``(a + b u) exp(-x u)`` (one rate): ``c_0 = a``, ``c_1 = -b``. The plain ``a_r`` grow like
``1 / (x_1 - x_0)`` near a singular set (the cancellation that made the float64 state lose every
digit at ``tau_syn - tau_mem = 1e-15``); the ``c_k`` are the regular coefficients of the kernels'
Newton form, kept only when no denominator of theirs can vanish (``singular_equalities``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .singular import singular_equalities


@dataclass(frozen=True)
class NewtonState:
    """``psp = psp_c[0] N_0 + psp_c[1] N_1`` and the same for the reset, over ``nodes = (x_0, x_1)``.

    ``plain``: the basis is ``N_1 = exp(-x_1 u)`` instead (two distinct rates whose plain coefficients
    have no vanishing denominator, e.g. non-leaky IF's ``(0, 1/tau_syn)``). There the plain sum has no
    cancellation, and keeping it keeps a zero-rate (constant) coefficient exact: shifting the state
    multiplies it by ``exp(0) = 1``, where the Newton form would add a rounded ``c_1 f[0, x_1](du)`` to it
    at every event.
    """

    nodes: tuple
    psp_c: tuple
    reset_c: tuple
    plain: bool = False


def newton_state(expsum, params):
    """The two-node Newton state of a branch's exponential sums, or None when it has none.

    ``expsum`` is a branch's ``(rates, (psp_a, psp_b), (reset_a, reset_b))`` (``derive._expsum_of``).
    None when the kernels need more than two basis functions, or when a coefficient would keep a
    denominator that vanishes on a parameter set (no cancellation-free state: the interval strategy
    then applies).
    """
    if expsum is None:
        return None
    rates, psp_ab, reset_ab = expsum
    used = [r for r in range(len(rates))
            if any(sympy.simplify(pair[i][r]) != 0 for pair in (psp_ab, reset_ab) for i in (0, 1))]
    if len(used) == 1:
        (r,) = used
        nodes = (rates[r], rates[r])
        coeffs = [(a[r], -b[r]) for a, b in (psp_ab, reset_ab)]
    elif len(used) == 2:
        r0, r1 = used
        if any(sympy.simplify(pair[1][r]) != 0 for pair in (psp_ab, reset_ab) for r in used):
            return None  # (a + b u) terms on two rates: three basis functions or more
        nodes = (rates[r0], rates[r1])
        plain = [(a[r0], a[r1]) for a, _ in (psp_ab, reset_ab)]
        if not singular_equalities(list(nodes) + [c for pair in plain for c in pair], params):
            return NewtonState(tuple(sympy.simplify(x) for x in nodes), *[tuple(sympy.factor(c) for c in pair)
                                                                          for pair in plain], plain=True)
        gap = rates[r1] - rates[r0]
        coeffs = [(a[r0] + a[r1], a[r1] * gap) for a, _ in (psp_ab, reset_ab)]
    else:
        return None
    coeffs = [tuple(sympy.factor(sympy.cancel(c)) for c in pair) for pair in coeffs]
    flat = list(nodes) + [c for pair in coeffs for c in pair]
    if singular_equalities(flat, params):
        return None
    return NewtonState(tuple(sympy.simplify(x) for x in nodes), coeffs[0], coeffs[1])
