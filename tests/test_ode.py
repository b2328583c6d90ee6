"""Linear-ODE front end: kernels from ODEs, exactly (symbolic tier), special forms, parsing, end to end."""

import json
import tomllib

import mpmath
import numpy as np
import pytest
import sympy

from exactsnn import ModelError, Network, adjoint, forward_propagation, models, simulate
from exactsnn.derive import derive
from exactsnn.model import S
from exactsnn.models.ode import impulse_response, linear_ode, linear_ode_model, ode_model_from_dict
from exactsnn.reference import reference_solve
from exactsnn.verification.agreement import spike_positions

LIF = dict(states=["I", "V"], equations=["dI/dt = -I/tau_syn", "dV/dt = -V/tau_mem + I"], jump="I += w",
           membrane="V", threshold="threshold", reset="V -= threshold",
           params={"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0})
DUAL = dict(states=["R", "I", "V"],
            equations={"R": "-R/tau_rise", "I": "-I/tau_decay + R/tau_rise", "V": "-V/tau_mem + I"},
            jump={"R": "w"}, membrane="V", threshold="threshold", reset={"V": "-threshold"},
            params={"tau_rise": 0.1, "tau_decay": 0.5, "tau_mem": 1.0, "threshold": 1.0})


def _same(model_a, model_b):
    for attr in ("psp", "reset", "threshold"):
        assert sympy.simplify(getattr(model_a, attr) - getattr(model_b, attr)) == 0, attr


# ----------------------------------------------------------------------------------- symbolic tier
def test_lif_from_odes_is_identical_to_the_builtin():
    m = linear_ode_model("lif_ode", **LIF)
    lif = models.get("lif")
    _same(m, lif)
    assert m.param_names == lif.param_names


def test_lif_with_membrane_time_constant_form_scales_by_tau_mem():
    """dV/dt = (-V + I)/tau_mem is the paper's equation with I/tau_mem: psp_ode * tau_mem == psp_lif."""
    m = linear_ode_model("lif_tau_form", **{**LIF, "equations": {"I": "-I/tau_syn", "V": "(-V + I)/tau_mem"}})
    lif = models.get("lif")
    assert sympy.simplify(m.psp * lif.symbols["tau_mem"] - lif.psp) == 0
    assert sympy.simplify(m.reset - lif.reset) == 0


@pytest.mark.parametrize("name, spec", [
    ("nonleaky_if", dict(states=["I", "V"], equations={"I": "-I/tau_syn", "V": "I"}, jump="I += w",
                         membrane="V", threshold="threshold", reset="V -= threshold",
                         params={"tau_syn": 0.5, "threshold": 1.0})),
    ("srm_alpha", dict(states=["I", "V"], equations={"I": "-I/tau", "V": "-V/tau + I"}, jump="I += E*w/tau",
                       membrane="V", threshold="threshold", reset="V -= threshold",
                       params={"tau": 1.0, "threshold": 1.0})),
    ("lif_dual_exp", DUAL),
    ("lif_two_synapse", dict(states=["F", "L", "V"],
                             equations={"F": "-F/tau_fast", "L": "-L/tau_slow", "V": "-V/tau_mem + F + L"},
                             jump=["F += (1 - frac_slow)*w", "L += frac_slow*w"], membrane="V",
                             threshold="threshold", reset="V -= threshold",
                             params={"tau_fast": 0.25, "tau_slow": 2.0, "frac_slow": {"default": 0.3, "upper": 1.0},
                                     "tau_mem": 1.0, "threshold": 1.0})),
    ("adaptive_threshold", dict(states=["I", "V", "a"], equations={"I": "-I/tau_syn", "V": "-V/tau_mem + I",
                                                                   "a": "-a/tau_adapt"},
                                jump="I += w", membrane="V - a", threshold="threshold",
                                reset=["V -= threshold", "a += beta"],
                                params={"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0, "beta": 0.5,
                                        "tau_adapt": 4.0})),
])
def test_builtin_library_models_are_their_odes(name, spec):
    """Each built-in's kernels are exactly those of the ODEs in its docstring."""
    ode = linear_ode(**spec)
    psp, reset = ode.kernels()
    builtin = models.get(name)
    assert [p.name for p in ode.params] == list(builtin.param_names)
    for ours, theirs in ((psp, builtin.psp), (reset, builtin.reset), (ode.threshold, builtin.threshold)):
        assert sympy.simplify(ours - theirs) == 0


def test_repeated_eigenvalue_gives_the_jordan_form():
    ode = linear_ode(["A", "B", "V"], {"A": "-A/tau", "B": "-B/tau + A", "V": "-V/tau + B"}, "A += w", "V", 1,
                     "V -= 1", {"tau": 2.0})
    tau = ode.params[0].symbol
    psp, reset = ode.kernels()
    assert sympy.simplify(psp - S ** 2 / 2 * sympy.exp(-S / tau)) == 0
    assert sympy.simplify(reset - sympy.exp(-S / tau)) == 0
    assert ode.eigenvalues() == {-1 / tau: 3} and ode.singular_sets() == []


def test_impulse_response_is_the_matrix_exponential():
    """c^T exp(A s) b by residues == SymPy's own matrix exponential, on a coupled (non-triangular) system."""
    a = sympy.Matrix([[-3, 1], [2, -2]])  # eigenvalues -1, -4
    b, c = sympy.Matrix([1, 0]), sympy.Matrix([[0, 1]])
    expected = (c * (a * S).exp() * b)[0]
    assert sympy.simplify(impulse_response(a, b, c) - expected) == 0


def test_lif_singular_set_and_its_special_form_match_derive():
    ode = linear_ode(**LIF)
    sets = ode.singular_sets()
    assert len(sets) == 1
    (sym, value), = sets[0]
    psp, _ = ode.kernels(sets[0])
    (branch,) = [b for b in derive(models.get("lif")).branches if b.condition is not None]
    assert (branch.condition[0].name, str(branch.condition[1])) == (sym.name, str(value))
    assert sympy.simplify(psp - branch.exprs["psp"]) == 0
    assert sympy.simplify(psp - S * sympy.exp(-S / value)) == 0


def _generic_at(expr, syms, values, s):
    f = sympy.lambdify([S] + syms, expr, "mpmath")
    return f(mpmath.mpf(s), *values)


def test_chain_singular_sets_include_the_triple_coincidence():
    """Dual exponential: three pairwise sets and tau_rise == tau_decay == tau_mem; each special form is the
    limit of the generic form (generic evaluated 1e-40 away at 120 digits)."""
    ode = linear_ode(**DUAL)
    sets = ode.singular_sets()
    assert sorted(len(c) for c in sets) == [1, 1, 1, 2]
    syms = [p.symbol for p in ode.params]
    generic, _ = ode.kernels()
    base = ("tau_rise", "tau_decay", "tau_mem", "threshold")
    for conds in sets:
        special, _ = ode.kernels(conds)
        equal = {sym.name for c in conds for sym in (c[0], *c[1].free_symbols)}
        vals = {n: (0.25 + 0.5 * i if n not in equal else 0.6) for i, n in enumerate(base)}
        with mpmath.workdps(120):
            nudged = [mpmath.mpf(vals[s.name]) * (1 + (k + 1) * mpmath.mpf(10) ** -40) if s.name in equal
                      else mpmath.mpf(vals[s.name]) for k, s in enumerate(syms)]
            exact = [mpmath.mpf(vals[s.name]) for s in syms]
            for s in (0.05, 0.9, 3.0):
                lim = _generic_at(generic, syms, nudged, s)
                got = _generic_at(special, syms, exact, s)
                assert abs(lim - got) < mpmath.mpf(10) ** -30 * max(1, abs(got)), (conds, s)
    special = ode.kernels(next(c for c in sets if len(c) == 2))[0]
    (tau,) = special.free_symbols - {S}
    assert sympy.simplify(special - S ** 2 / (2 * tau) * sympy.exp(-S / tau)) == 0


# ------------------------------------------------------------------------------------- documents
def test_json_and_toml_documents():
    doc = {"name": "lif_doc", **LIF}
    m_json = ode_model_from_dict(json.loads(json.dumps(doc)))
    toml_text = """
        name = "lif_doc"
        states = ["I", "V"]
        equations = ["dI/dt = -I/tau_syn", "dV/dt = -V/tau_mem + I"]
        jump = "I += w"
        membrane = "V"
        threshold = "threshold"
        reset = "V -= threshold"
        [params]
        tau_syn = 0.5
        tau_mem = 1.0
        threshold = 1.0
    """
    m_toml = ode_model_from_dict(tomllib.loads(toml_text))
    _same(m_json, models.get("lif"))
    _same(m_toml, m_json)
    assert m_toml.defaults == {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}


@pytest.mark.parametrize("change, message", [
    ({"equations": {"I": "-I/tau_syn", "V": "-V**2/tau_mem + I"}}, r"must be linear and homogeneous"),
    ({"equations": {"I": "-I/tau_syn", "V": "-V/tau_mem + I + 1"}}, r"must be linear and homogeneous"),
    ({"equations": {"I": "-I/tau_syn"}}, r"exactly one per state"),
    ({"equations": ["dI/dt = -I/tau_syn", "V' = I"]}, r"must read 'dX/dt = right-hand side'"),
    ({"equations": {"I": "-I/tau_x", "V": "-V/tau_mem + I"}}, r"unknown name 'tau_x'"),
    ({"jump": "V += w"}, r"changes the membrane 'V' directly"),
    ({"jump": "I += w**2"}, r"must be proportional to the weight w"),
    ({"jump": "Q += w"}, r"names 'Q', which is not a state"),
    ({"jump": "I = w"}, r"must read 'X \+= expression'"),
    ({"reset": "V -= w"}, r"may not depend on the input weight w"),
    ({"membrane": "V*I"}, r"must be a state or a linear combination"),
    ({"threshold": "V"}, r"may use only the parameters"),
    ({"states": ["I", "tau_syn"]}, r"state name 'tau_syn' must be an identifier other than"),
    ({"states": "IV"}, r"states must be a non-empty list"),
    ({"params": {"tau_syn": "fast", "tau_mem": 1.0, "threshold": 1.0}}, r"parameter 'tau_syn' = 'fast' must be"),
    ({"equations": {"I": "-V", "V": "I"}}, r"eigenvalue .* not provably real"),
])
def test_bad_input_is_named(change, message):
    with pytest.raises(ModelError, match=message):
        linear_ode_model("bad", **{**LIF, **change})


def test_bad_documents_are_named():
    with pytest.raises(ModelError, match=r"unknown key\(s\) \['equation'\]"):
        ode_model_from_dict({"name": "x", **LIF, "equation": []})
    with pytest.raises(ModelError, match=r"missing key\(s\) \['reset'\]"):
        ode_model_from_dict({k: v for k, v in {"name": "x", **LIF}.items() if k != "reset"})
    with pytest.raises(ModelError, match="must be a mapping"):
        ode_model_from_dict(["not", "a", "mapping"])


# ------------------------------------------------------------------------------------- end to end
@pytest.mark.slow  # compiles a new engine (~30 s cold); the built-ins' ODE-identical kernels run by default
def test_never_seen_ode_model_matches_the_reference():
    """A model given only as ODEs (two states sharing tau: a repeated eigenvalue, alpha-shaped PSP with a slow
    reset) compiles, and its spike times and Jacobian rows match the mpmath reference; FP == adjoint."""
    model = linear_ode_model("ode_alpha_slow_reset", ["I", "V", "H"],
                             ["dI/dt = -I/tau", "dV/dt = -V/tau + I", "dH/dt = -H/tau_h"],
                             "I += w", "V - H", "theta", ["V -= theta/2", "H += theta/2"],
                             {"tau": 0.8, "tau_h": 2.0, "theta": 1.0})
    rng = np.random.default_rng(11)
    net = Network.feedforward([rng.uniform(2.0, 5.0, (2, 2)), rng.uniform(1.0, 3.0, (2, 1))],
                              [rng.uniform(0, 0.3, (2, 2)), rng.uniform(0, 0.3, (2, 1))])
    inputs = [[0.0, 0.5], [0.2]]
    res = simulate(model, net, inputs, 3.0)
    ref = reference_solve(model, {}, net, inputs, 3.0, dps=30)
    assert ref.certified and res.n_spikes == len(ref.times) and max(len(s) for s in res.spikes) >= 2
    jac = forward_propagation(res, policy="flag")
    pos = spike_positions(res)
    for r, (j, i) in enumerate(ref.order):
        k = pos[(j, i)]
        assert abs(res.spike_time[k] - float(ref.times[r])) <= 1e-11
        for ours, theirs in ((jac.dts_dq.weights, ref.d_weights), (jac.dts_dq.inputs, ref.d_inputs),
                             (jac.dts_dq.model, ref.d_model)):
            row = np.array([float(x) for x in theirs[r]])
            assert np.max(np.abs(ours[k] - row)) <= 1e-8 * np.max(np.abs(row))
    dl_dt = rng.normal(size=res.n_spikes)
    fp, adj = jac.contract(dl_dt).flat(), adjoint(res, dl_dt, policy="flag").flat()
    assert np.max(np.abs(fp - adj)) <= 1e-12 * np.max(np.abs(adj))
