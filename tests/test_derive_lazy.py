"""Lazy limit forms: a special branch takes the limit of an expression only when it is looked up.

The parameter derivatives of a kernel with a Newton form are printed from that form, so their limit forms
(the slow part of a derivation) are never taken; the printed module is the same as when every limit is
taken and searched, and a limit looked up later is still the limit of the generic expression.
"""

import mpmath
import sympy

import exactsnn.derive as derive_mod
from exactsnn import models
from exactsnn.codegen.module import kernel_source
from exactsnn.derive import derive, newton_kernel_keys
from exactsnn.model import S


def test_printing_takes_no_limit_of_a_newton_form_derivative():
    d = derive(models.get("lif"))
    kernel_source(d)
    skipped = set(newton_kernel_keys(d.branches[-1].exprs, d.params))
    assert "d2psp_dp2" in skipped and "dpsp_dp" in skipped
    special = [br for chain, br in d.walk() if chain]
    assert special
    for br in special:
        assert not skipped & set(br.exprs.taken()), br.condition


def test_module_is_the_same_as_when_every_limit_is_taken_and_searched(monkeypatch):
    lazy = kernel_source(derive(models.get("lif")))
    monkeypatch.setattr(derive_mod, "_search_keys", lambda generic, params: tuple(generic))
    eager = derive(models.get("lif"))
    for _, br in eager.walk():
        assert set(br.exprs) == set(eager.branches[-1].exprs)
    assert kernel_source(eager) == lazy


def test_a_limit_looked_up_later_is_the_limit_of_the_generic_second_partial():
    """lif on tau_syn == tau_mem: every d2psp/dp_i dp_j of the branch vs the generic formula at 60 digits
    with tau_syn 1e-30 away from tau_mem."""
    model = models.get("lif")
    d = derive(model)
    (br,) = [b for b in d.branches if b.condition is not None]
    ts, tm, th = (model.symbols[n] for n in ("tau_syn", "tau_mem", "threshold"))
    at = {tm: sympy.Rational(3, 2), th: sympy.Rational(6, 5), S: sympy.Rational(7, 10)}
    generic = d.branches[-1].exprs["d2psp_dp2"]
    for g, b in zip(generic, br.exprs["d2psp_dp2"]):
        with mpmath.workdps(60):
            near = sympy.N(g.subs(at).subs(ts, sympy.Rational(3, 2) + sympy.Rational(1, 10**30)), 60)
            exact = sympy.N(b.subs({**at, ts: sympy.Rational(3, 2)}), 60)
        assert abs(near - exact) < 1e-25 * (1 + abs(exact))
