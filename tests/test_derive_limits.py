"""Limit forms by L'Hopital's rule (``exactsnn.derive.singular.lhopital_limit``) against ``sympy.limit``.

``sympy.limit`` (series expansions, a second algorithm) is the oracle: the rule's limit must equal it,
and where the rule does not settle the limit (an infinite one) it must say so (None), so the caller
falls back on ``sympy.limit``.
"""

import sympy

from exactsnn.derive.singular import lhopital_limit, limit_form

A, B, X = sympy.symbols("a b x", positive=True)


def _agrees(expr, sym, value):
    got = lhopital_limit(expr, sym, value)
    assert got is not None
    assert sympy.simplify(got - sympy.limit(expr, sym, value)) == 0


def test_first_order_zero_lif_kernel():
    _agrees((sympy.exp(-X / A) - sympy.exp(-X / B)) / (1 / B - 1 / A), B, A)


def test_second_order_zero():
    # numerator and denominator both vanish to second order at a == b: limit x^2 exp(x b) / 2
    expr = (sympy.exp(X * A) - sympy.exp(X * B) - X * (A - B) * sympy.exp(X * B)) / (A - B) ** 2
    _agrees(expr, A, B)
    assert sympy.simplify(lhopital_limit(expr, A, B) - X ** 2 * sympy.exp(X * B) / 2) == 0


def test_parameter_derivative_of_a_kernel():
    psp = (sympy.exp(-X / A) - sympy.exp(-X / B)) / (1 / B - 1 / A)
    for p in (A, B):
        _agrees(sympy.diff(psp, p), B, A)


def test_infinite_limit_is_left_to_sympy():
    assert lhopital_limit(sympy.exp(-X / A) / (A - B), A, B) is None
    assert lhopital_limit((A + B) / (A - B) ** 2, A, B) is None


def test_limit_form_uses_the_rule_and_equals_sympy_limit():
    expr = (sympy.exp(-X / A) - sympy.exp(-X / B)) / (1 / B - 1 / A)
    assert sympy.simplify(limit_form(expr, B, A) - sympy.limit(expr, B, A)) == 0
