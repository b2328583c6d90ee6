"""One battery over every built-in model: validation, kernels vs mpmath, engine vs reference, FP vs adjoint.

Tiers (see the project's STYLE.md): symbolic (the model validates, ``psp(0+) = 0``), kernel (each
generated float64 kernel vs the model's own SymPy expression at 50+ digits, within a few ulps of the
kernel's scale), end-to-end (spike times and Jacobian rows vs ``exactsnn.reference``: times within
1e-12, rows within 1e-8 of the row's largest entry) and cross-method (FP contracted == adjoint).
"""

import importlib

import mpmath
import numpy as np
import pytest
import sympy

from exactsnn.verification.agreement import engine_vs_reference, kernel_expressions
from exactsnn import Network, adjoint, forward_propagation, models, simulate
from exactsnn.compiled import BUILTIN_NAMES, load_builtin
from exactsnn.model import S, NeuronModel
from exactsnn.reference import reference_solve

TIME_TOL = 1e-12
ROW_TOL = 1e-8
KERNEL_ULPS = 8
STRATEGY = {"lif": "expsum", "nonleaky_if": "expsum", "srm_alpha": "expsum", "lif_dual_exp": "interval",
            "lif_two_synapse": "interval", "adaptive_threshold": "interval"}
#: Parameter sets on which the generic formula divides by zero (the derived limit branch is used).
#: Measured looser bounds, in ulps of the kernel's scale, as {(case id, kernel-name prefix): bound}; every
#: other kernel is held to KERNEL_ULPS. Tighten them when derive/codegen improve.
#: - three-rate PSPs: the residue sum cancels to ~s^2 at small s (dual exp, d psp/d tau: 23 ulps measured);
#: - codegen's exp-difference rewrite also pairs exp(-s/tau_fast) with exp(-s/tau_slow) (gap vanishes on
#:   tau_fast == tau_slow, which is not singular) into expm1(s/tau_fast - ...) * exp(-s/tau_slow) terms that
#:   cancel at large s: d psp/d frac_slow is off by 3.9e6 ulps (~1e-9 relative) at s = 7;
#: - derive's limit on tau_decay == tau_mem contains exp(+s/tau_rise) * exp(-s/tau_rise) (18 ulps at s ~ 7,
#:   NaN beyond s = 709 tau_rise).
KNOWN_LOOSE = {("lif_dual_exp-defaults", "dpsp_dp"): 32, ("lif_dual_exp-singular", "dpsp_dp"): 32,
               ("lif_dual_exp-singular", "psp"): 32, ("lif_two_synapse-defaults", "dpsp_dp[2]"): 1e7,
               ("lif_two_synapse-singular", "dpsp_dp"): 16}
SINGULAR = {"lif": {"tau_syn": 0.8, "tau_mem": 0.8},
            "lif_dual_exp": {"tau_decay": 1.0, "tau_mem": 1.0},
            "lif_two_synapse": {"tau_fast": 1.0, "tau_mem": 1.0},
            "adaptive_threshold": {"tau_syn": 1.0, "tau_mem": 1.0}}


def test_registry_and_shipped_names_agree():
    assert set(models.BUILTINS) == set(BUILTIN_NAMES) == set(STRATEGY)


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_model_validates_and_is_documented(name):
    model = models.get(name)
    assert isinstance(model, NeuronModel) and model.name == name and model.citation
    doc = importlib.import_module(f"exactsnn.models.{models.BUILTINS[name]}").__doc__
    assert "psp(s)" in doc and "reset(s)" in doc and ("Assumptions" in doc or name in ("lif", "nonleaky_if"))
    compiled = load_builtin(name)
    assert compiled.param_names == model.param_names
    assert compiled.defaults == pytest.approx(model.defaults, rel=0, abs=0)
    assert compiled.strategy == STRATEGY[name]


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_psp_vanishes_at_zero_and_reset_clears_threshold(name):
    model = models.get(name)
    assert sympy.simplify(model.psp.subs(S, 0)) == 0  # every built-in psp is continuous at 0: this is psp(0+)
    mod = load_builtin(name).module
    p = load_builtin(name).param_vector()
    scale = max(abs(mod.psp(s, p)) for s in np.linspace(0.05, 5.0, 50))
    assert abs(mod.psp(0.0, p)) <= 4 * np.spacing(scale)
    assert mod.reset(0.0, p) >= mod.firing_threshold(p) * (1 - 1e-15)  # V drops below threshold at a spike


# ------------------------------------------------------------------------------------------- kernels
def _reference_values(model, points, values, perturb):
    """Kernel values at 150 digits from the generic formula; the parameters named in ``perturb`` are moved
    by a relative 1e-35 (independent of the limit code; up to 105 digits go to cancellation)."""
    syms, exprs = kernel_expressions(model)
    out = {}
    with mpmath.workdps(150):
        vals = [mpmath.mpf(v) for v in values]
        for k, name in enumerate(model.param_names):
            if name in perturb:
                vals[k] *= 1 + mpmath.mpf(10) ** -35 * (1 + list(perturb).index(name))
        for key, e in exprs.items():
            f = sympy.lambdify([S] + syms, e, "mpmath")
            out[key] = np.array([float(f(mpmath.mpf(float(s)), *vals)) for s in points])
    return out


def _generated_values(mod, key, points, p):
    if "[" not in key:
        return np.array([getattr(mod, key)(s, p) for s in points])
    base, i = key[:-1].split("[")
    out = np.zeros(len(p))
    vals = []
    for s in points:
        getattr(mod, base)(s, p, out)
        vals.append(out[int(i)])
    return np.array(vals)


def _kernel_cases():
    for name in BUILTIN_NAMES:
        yield pytest.param(name, {}, id=f"{name}-defaults")
        if name in SINGULAR:
            yield pytest.param(name, SINGULAR[name], id=f"{name}-singular")


@pytest.mark.parametrize("name, params", list(_kernel_cases()))
def test_generated_kernels_match_mpmath(name, params):
    """Every kernel within KERNEL_ULPS ulps of its largest magnitude over the points (per-value ulps are
    not the measure: derivatives cross zero, and exp(-s/tau) inherits |s/tau| ulps from its argument)."""
    model, compiled = models.get(name), load_builtin(name)
    p = compiled.param_vector(params)
    points = np.linspace(0.01, 7.0, 23)
    perturb = [k for k in params if k != next(iter(params))] if params else []
    worst = {}
    for key, ref in _reference_values(model, points, p, perturb).items():
        got = _generated_values(compiled.module, key, points, p)
        scale = np.max(np.abs(ref))
        if scale == 0:
            assert np.all(np.abs(got) <= 1e-300), key
            continue
        worst[key] = float(np.max(np.abs(got - ref)) / np.spacing(scale))
    print(f"{name} {params}: " + ", ".join(f"{k} {v:.3g}" for k, v in worst.items()))
    case = f"{name}-{'singular' if params else 'defaults'}"
    for key, ulps in worst.items():
        bound = max([b for (c, prefix), b in KNOWN_LOOSE.items() if c == case and key.startswith(prefix)],
                    default=KERNEL_ULPS)
        assert ulps <= bound, (key, worst)


# ------------------------------------------------------------------------------------------ networks
def _ff(seed, w_hi):
    rng = np.random.default_rng(seed)
    ws = [rng.uniform(0.5, w_hi, (2, 3)), rng.uniform(0.2, 0.6 * w_hi, (3, 2))]
    return Network.feedforward(ws, [rng.uniform(0, 0.3, w.shape) for w in ws])


def _rec(seed, u_hi):
    rng = np.random.default_rng(seed)
    return Network.recurrent(rng.uniform(0.5, u_hi, (2, 3)), rng.uniform(-0.3, 0.4 * u_hi, (3, 3)), outputs=[2],
                             input_delays=rng.uniform(0, 0.2, (2, 3)), delays=rng.uniform(0.05, 0.3, (3, 3)))


INPUTS = [[0.0, 0.4], [0.2]]
#: name -> (model, params, network, t_max); one fast case per model, the rest marked slow.
CASES = {
    "lif": ("lif", {}, _ff(2, 6.0), 2.0),
    "nonleaky_if": ("nonleaky_if", {}, _ff(1, 3.0), 2.0),
    "srm_alpha": ("srm_alpha", {}, _ff(1, 1.0), 2.0),
    "lif_dual_exp": ("lif_dual_exp", {}, _ff(2, 6.0), 2.0),
    "lif_two_synapse": ("lif_two_synapse", {}, _ff(2, 6.0), 2.0),
    "adaptive_threshold": ("adaptive_threshold", {}, _ff(1, 6.0), 2.0),
    "srm_alpha-recurrent": ("srm_alpha", {"tau": 0.7}, _rec(3, 1.5), 2.5),
    "lif_dual_exp-singular": ("lif_dual_exp", SINGULAR["lif_dual_exp"], _ff(2, 6.0), 2.0),
    "lif_two_synapse-singular": ("lif_two_synapse", SINGULAR["lif_two_synapse"], _ff(2, 6.0), 2.0),
    "adaptive_threshold-singular": ("adaptive_threshold", SINGULAR["adaptive_threshold"], _ff(1, 6.0), 2.0),
    "adaptive_threshold-recurrent": ("adaptive_threshold", {}, _rec(4, 6.0), 3.0),
}
FAST = set(BUILTIN_NAMES)


def _case_params():
    return [k if k in FAST else pytest.param(k, marks=pytest.mark.slow) for k in CASES]


@pytest.mark.parametrize("case", _case_params())
def test_engine_matches_reference(case):
    name, params, net, t_max = CASES[case]
    res = simulate(name, net, INPUTS, t_max, params=params)
    ref = reference_solve(models.get(name), params, net, INPUTS, t_max, dps=30)
    assert ref.certified, ref.undecided
    assert res.n_spikes == len(ref.times) > 0
    assert sum(len(s) >= 2 for s in res.spikes) >= 2, "case should contain multi-spike neurons"
    worst_t, worst_row = engine_vs_reference(res, ref)
    print(f"{case}: {res.n_spikes} spikes, times {worst_t:.1e}, rows {worst_row:.1e}")
    assert worst_t <= TIME_TOL and worst_row <= ROW_TOL, (worst_t, worst_row)


@pytest.mark.parametrize("case", list(CASES))
def test_forward_propagation_equals_adjoint(case):
    name, params, net, t_max = CASES[case]
    res = simulate(name, net, INPUTS, t_max, params=params)
    dl_dt = np.random.default_rng(len(case)).normal(size=res.n_spikes)
    fp = forward_propagation(res, policy="flag").contract(dl_dt).flat()
    adj = adjoint(res, dl_dt, policy="flag").flat()
    assert res.n_spikes > 0 and np.max(np.abs(fp - adj)) <= 1e-12 * np.max(np.abs(adj))
