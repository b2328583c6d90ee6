"""The reference's state sums (exactsnn.reference.expstate, .state_gradients) against its term-by-term path.

The oracle is a second algorithm: the same reference with the state sums switched off
(``ExpPolyTable.ok = False``), which sums every history term at every evaluation and solves the IFT
row by row over all arrivals. Both carry 65 digits; their answers must agree far beyond the 50
reported digits (1e-45 relative to the row's scale). The decomposition itself is checked against the
model's kernel evaluated by SymPy at random points and parameter values.
"""

import numpy as np
import pytest
import sympy
from mpmath import mp

import exactsnn.reference.expstate as expstate
from exactsnn.model import S, kernel_model
from exactsnn.models import get
from exactsnn.network import Network
from exactsnn.reference import reference_solve
from exactsnn.reference.expstate import exp_poly

BLOCKS = ("d_weights", "d_delays", "d_inputs", "d_model")
MODELS = ("lif", "srm_alpha", "nonleaky_if", "lif_dual_exp", "lif_two_synapse", "adaptive_threshold")


def _value(form, s, subs):
    return sum(c.xreplace(subs) * s ** m * sympy.exp(-r.xreplace(subs) * s) for r, cs in form.items()
               for m, c in enumerate(cs))


@pytest.mark.parametrize("name", MODELS)
def test_builtin_kernels_are_exponential_polynomials(name):
    model = get(name)
    rng = np.random.default_rng(7)
    for expr in model.potential_terms()[:2]:
        form = exp_poly(expr)
        assert form is not None, expr
        for _ in range(3):
            subs = {model.symbols[p.name]: sympy.Rational(int(rng.integers(50, 300)), 100) for p in model.params}
            s = sympy.Rational(int(rng.integers(1, 500)), 97)
            want = sympy.N(expr.xreplace(subs).xreplace({S: s}), 50)
            assert abs(sympy.N(_value(form, s, subs), 50) - want) < sympy.Float("1e-40") * (1 + abs(want))


@pytest.mark.parametrize("expr", ["1/(1 + s)", "log(1 + s)*exp(-s)", "exp(-s**2)", "sqrt(s)*exp(-s)",
                                  "s*exp(-s)/(1 + s)"])
def test_other_kernels_are_refused(expr):
    assert exp_poly(sympy.sympify(expr, locals={"s": S})) is None


def _solve(model, params, net, inputs, t_max, state: bool, monkeypatch):
    with monkeypatch.context() as m:
        if not state:
            m.setattr(expstate.ExpPolyTable, "__init__", lambda self, sym, values: setattr(self, "ok", False))
        return reference_solve(model, params, net, inputs, t_max, dps=50)


def _assert_same(a, b):
    assert a.order == b.order and a.certified and b.certified
    with mp.workdps(50):
        assert max((abs(x - y) for x, y in zip(a.times, b.times)), default=0) < mp.mpf("1e-45")
        for name in BLOCKS:
            for ra, rb in zip(getattr(a, name), getattr(b, name)):
                scale = max((abs(x) for x in rb), default=mp.zero)
                assert all(abs(x - y) <= mp.mpf("1e-45") * scale for x, y in zip(ra, rb)), name
        assert all(abs(x - y) <= mp.mpf("1e-45") * abs(y) for x, y in zip(a.vdot, b.vdot))


CASES = {
    # model, params, weights scale, t_max: multi-spike hidden neurons, many arrivals at the outputs
    "lif_equal_tau": ("lif", {"tau_syn": 1.0, "tau_mem": 1.0, "threshold": 1.0}, 2.0, 4.0),
    "lif_near_singular": ("lif", {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0}, 2.0, 4.0),
    "lif_generic_long": ("lif", {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}, 3.0, 12.0),
    "srm_alpha": ("srm_alpha", None, 1.5, 5.0),
    "nonleaky_if": ("nonleaky_if", None, 3.0, 3.0),
    "lif_dual_exp": ("lif_dual_exp", None, 4.0, 5.0),
}


SLOW = {"lif_generic_long", "srm_alpha", "lif_dual_exp"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(CASES)])
def test_state_sums_match_term_by_term(name, monkeypatch):
    model, params, scale, t_max = CASES[name]
    rng = np.random.default_rng(3)
    net = Network.feedforward([rng.normal(scale, scale / 2, (3, 3)), rng.normal(scale / 3, scale / 3, (3, 2))],
                              [rng.uniform(0, 0.2, (3, 3)), rng.uniform(0, 0.2, (3, 2))])
    inputs = [[0.1, 0.9], [0.4], [0.2, 1.3]]
    a = _solve(get(model), params, net, inputs, t_max, True, monkeypatch)
    b = _solve(get(model), params, net, inputs, t_max, False, monkeypatch)
    assert a.n_spikes >= 8 and max(len(s) for s in a.spikes) >= 3, [len(s) for s in a.spikes]
    _assert_same(a, b)


def test_kernel_model_outside_the_form_uses_term_by_term_sums():
    model = kernel_model("s*exp(-s**2/4)", "theta*exp(-s)", "theta", {"theta": 1.0})
    assert not expstate.ExpPolyTable(_sym(model), (mp.one,)).ok
    res = reference_solve(model, None, Network.feedforward([[[6.0]]]), [[0.1]], 4.0, dps=30)
    assert res.n_spikes >= 1 and res.certified


def _sym(model):
    from exactsnn.reference.kernels import symbolic_kernels

    return symbolic_kernels(model, (), 2)


def test_reference_imports_no_numeric_code():
    """Static check of every module of exactsnn.reference: imports from exactsnn only of the symbolic
    model, the network description, the errors and the reference itself (never numeric, derive,
    codegen, simulate, grad, _generated)."""
    import ast
    from pathlib import Path

    import exactsnn.reference as ref_pkg

    allowed = {"errors", "model", "network"}
    for path in Path(ref_pkg.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 2:
                    assert (node.module or "").split(".")[0] in allowed, (path.name, node.module)
                assert not (node.module or "").startswith("exactsnn"), (path.name, node.module)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("exactsnn") for a in node.names), path.name
