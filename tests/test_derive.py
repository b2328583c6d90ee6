"""Symbolic tier: derived identities hold exactly."""

import random

import sympy
import pytest

from exactsnn import models
from exactsnn.derive import derive
from exactsnn.derive.expsum import decompose
from exactsnn.model import S, kernel_model


def _rational_point(params, seed):
    rnd = random.Random(seed)
    return {p: sympy.Rational(rnd.randint(1, 40), rnd.randint(1, 17)) for p in params}


@pytest.mark.parametrize("name", ["lif", "nonleaky_if"])
def test_generic_branch_partials_are_derivatives(name):
    model = models.get(name)
    d = derive(model)
    e = d.branches[-1].exprs
    for seed in range(3):
        pt = _rational_point(d.params, seed)
        pt[S] = sympy.Rational(3, 7 + seed)
        assert sympy.simplify((e["dpsp_ds"] - sympy.diff(model.psp, S)).subs(pt)) == 0
        for p, dp in zip(d.params, e["dpsp_dp"]):
            assert sympy.simplify((dp - sympy.diff(model.psp, p)).subs(pt)) == 0


def test_lif_singular_set_is_found_and_its_limit_is_the_alpha_form():
    model = models.get("lif")
    d = derive(model)
    conds = [b.condition for b in d.branches if b.condition is not None]
    assert len(conds) == 1
    sym, sol = conds[0]
    assert {sym, sol} == {model.symbols["tau_syn"], model.symbols["tau_mem"]}
    special = d.branches[0].exprs["psp"]
    tau = sol
    assert sympy.simplify(special - S * sympy.exp(-S / tau)) == 0
    # d psp / d tau_syn at equality equals the limit of the generic derivative (independently, by series)
    ts, tm = model.symbols["tau_syn"], model.symbols["tau_mem"]
    eps = sympy.Symbol("eps")
    generic = sympy.diff(model.psp, ts).subs(ts, tm + eps)
    limit = sympy.series(generic, eps, 0, 1).removeO()
    i = d.params.index(ts)
    # express both in tau_mem only (the branch may use either symbol for the common value)
    branch_form = d.branches[0].exprs["dpsp_dp"][i].subs(ts, tm)
    assert sympy.simplify(branch_form - limit) == 0


def test_singular_branch_is_continuous_with_generic_numerically():
    model = models.get("lif")
    d = derive(model)
    ts, tm = model.symbols["tau_syn"], model.symbols["tau_mem"]
    gen, spec = d.branches[-1].exprs, d.branches[0].exprs
    pt = {tm: sympy.Rational(3, 2), model.symbols["threshold"]: 1, S: sympy.Rational(7, 10)}
    for key in ("psp", "dpsp_ds"):
        near = gen[key].subs(pt).subs(ts, sympy.Rational(3, 2) + sympy.Rational(1, 10**30))
        at = spec[key].subs({**pt, ts: sympy.Rational(3, 2)})
        assert abs(sympy.N(near - at, 50)) < 1e-25


@pytest.mark.parametrize("expr_text,count", [
    ("(exp(-s/a) - exp(-s/b))/(1/b - 1/a)", 2),
    ("s*exp(-s/a)", 1),
    ("a*(1 - exp(-s/a))", 2),
    ("s/a*exp(1 - s/a)", 1),
])
def test_expsum_decomposition_reconstructs_kernel(expr_text, count):
    a, b = sympy.symbols("a b", positive=True)
    expr = sympy.sympify(expr_text, locals={"a": a, "b": b, "s": S})
    es = decompose(expr)
    assert es is not None and len(es.rates) == count
    rebuilt = sum((ai + bi * S) * sympy.exp(-r * S) for r, ai, bi in zip(es.rates, es.a, es.b))
    assert sympy.simplify(rebuilt - expr) == 0


def test_non_expsum_kernel_uses_interval_strategy():
    m = kernel_model("s**2*exp(-s)/(1 + s)", "theta*exp(-s)", "theta", {"theta": 1.0})
    assert decompose(m.psp) is None
    assert derive(m).strategy == "interval"


def test_strategy_choice():
    assert derive(models.get("lif")).strategy == "expsum"
    assert derive(models.get("nonleaky_if")).strategy == "expsum"
    alpha = kernel_model("s/tau*exp(1 - s/tau)", "theta*exp(-s/tau_r)", "theta",
                         {"tau": 1.5, "tau_r": 0.8, "theta": 1.0})
    # V' has three basis functions (s e^{-s/tau}, e^{-s/tau}, e^{-s/tau_r}): more than one critical point possible
    assert derive(alpha).strategy == "interval"


def _mp(x):
    """A SymPy number as an mpf at the working precision (exactly, for a rational)."""
    import mpmath
    if x.is_Rational:
        return mpmath.mpf(int(x.p)) / int(x.q)
    return mpmath.mpf(str(x))


def _divided_difference(rates, s):
    """f[rates] of f(lam) = exp(-lam s) from its definition, in mpmath (50 digits absorb the cancellation)."""
    import mpmath
    with mpmath.workdps(50):
        return sum(mpmath.exp(-r * s) / mpmath.fprod([r - q for q in rates if q is not r]) for r in rates)


@pytest.mark.parametrize("name,kernel", [("lif", "psp"), ("adaptive_threshold", "psp"), ("lif_dual_exp", "psp"),
                                         ("lif_two_synapse", "psp")])
def test_newton_form_of_a_cancelling_kernel_reconstructs_it(name, kernel):
    """sum_k c_k f[l_k..l_n] equals the plain exponential sum at rational points (50 digits), and its
    coefficients are regular: none of them divides by a difference of time constants."""
    import mpmath
    from exactsnn.derive.expsum import newton_form
    from exactsnn.derive.singular import singular_equalities

    model = models.get(name)
    params = [model.symbols[p.name] for p in model.params]
    for expr in (getattr(model, kernel), sympy.diff(getattr(model, kernel), S)):
        form = newton_form(expr, params)
        assert form is not None and len(form.rates) >= 2
        assert singular_equalities(list(form.coeffs), params) == []
        for seed in range(3):
            pt = _rational_point(params, seed)
            for s in (sympy.Rational(1, 3), sympy.Rational(7, 2)):
                with mpmath.workdps(50):
                    rates = [_mp(r.subs(pt)) for r in form.rates]
                    value = sum(_mp(c.subs(pt)) * _divided_difference(rates[k:], _mp(s))
                                for k, c in enumerate(form.coeffs))
                    want = _mp(expr.subs(pt).subs(S, s).evalf(60))
                    assert abs(value - want) <= mpmath.mpf(10) ** -40 * max(abs(want), 1), (seed, s)


def test_newton_form_is_not_used_where_nothing_cancels():
    model = models.get("adaptive_threshold")  # reset = beta exp(-s/tau_adapt) + threshold exp(-s/tau_mem)
    from exactsnn.derive.expsum import newton_form
    assert newton_form(model.reset, [model.symbols[p.name] for p in model.params]) is None
