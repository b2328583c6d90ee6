"""Nested singular parameter sets: three equal time constants (``lif_dual_exp``, ``lif_two_synapse``).

The derivation recurses: on ``tau_decay == tau_mem`` the limit forms are singular again at
``tau_rise == tau_mem``, and that deeper set gets its own branch inside the first. Tiers: the
shipped modules list the sets; the float64 kernels there match the exact Jordan-form kernels of the
linear ODE and the limit of the generic parameter derivatives (mpmath); simulation and Jacobian
match the independent 30-digit reference.
"""

import mpmath
import numpy as np
import pytest
import sympy

from exactsnn.verification.agreement import engine_vs_reference
from exactsnn import Network, models, simulate
from exactsnn.compiled import load_builtin
from exactsnn.model import S
from exactsnn.models.ode import linear_ode
from exactsnn.reference import reference_solve

# model: (parameters on the triple set, its SINGULAR_SETS entry, (layer weight scales, t_max) of the
# agreement case: 17 and 11 spikes, each reference run about a second)
TRIPLE = {
    "lif_dual_exp": ({"tau_rise": 0.6, "tau_decay": 0.6, "tau_mem": 0.6, "threshold": 1.0},
                     "tau_decay == tau_mem and tau_mem == tau_rise", ((2.0, 1.0), 2.5)),
    "lif_two_synapse": ({"tau_fast": 0.7, "tau_slow": 0.7, "tau_mem": 0.7, "frac_slow": 0.3, "threshold": 1.0},
                        "tau_fast == tau_mem and tau_mem == tau_slow", ((1.2, 0.7), 2.0)),
}
DUAL_ODE = dict(states=["R", "I", "V"], equations=["dR/dt = -R/tau_rise", "dI/dt = -I/tau_decay + R/tau_rise",
                                                   "dV/dt = -V/tau_mem + I"],
                jump="R += w", membrane="V", threshold="threshold", reset="V -= threshold",
                params={"tau_rise": 0.1, "tau_decay": 0.5, "tau_mem": 1.0, "threshold": 1.0})


@pytest.mark.parametrize("name", list(TRIPLE))
def test_triple_set_has_a_nested_branch(name):
    mod = load_builtin(name).module
    assert TRIPLE[name][1] in mod.SINGULAR_SETS
    assert mod.SINGULAR_SETS.index(TRIPLE[name][1]) == 0  # tested before the pairwise set that contains it


def test_nested_kernel_is_the_jordan_form_of_the_ode():
    """lif_dual_exp at tau_rise = tau_decay = tau_mem: psp(s) = s^2 e^{-s/tau} / (2 tau) (three-fold
    eigenvalue), and the shipped float64 kernels match the ODE's exact kernels within 4 ulps of scale."""
    ode = linear_ode(**DUAL_ODE)
    (triple,) = [c for c in ode.singular_sets() if len(c) == 2]
    psp_exact, reset_exact = ode.kernels(triple)
    (tau,) = psp_exact.free_symbols - {S}
    mod = load_builtin("lif_dual_exp").module
    p = (0.6, 0.6, 0.6, 1.3)
    kernels = {"psp": psp_exact, "dpsp_ds": sympy.diff(psp_exact, S),
               "reset": reset_exact.subs("threshold", 1.3), "dreset_ds": sympy.diff(reset_exact, S)}
    pts = np.linspace(0.02, 8.0, 25)
    for name, expr in kernels.items():
        expr = expr.subs({sym: 1.3 for sym in expr.free_symbols if sym.name == "threshold"})
        f = sympy.lambdify([S, tau], expr, "mpmath")
        with mpmath.workdps(40):
            ref = np.array([float(f(mpmath.mpf(float(s)), mpmath.mpf(0.6))) for s in pts])
        got = np.array([getattr(mod, name)(s, p) for s in pts])
        assert np.max(np.abs(got - ref)) <= 4 * np.spacing(np.max(np.abs(ref))), name


@pytest.mark.parametrize("name", list(TRIPLE))
def test_nested_parameter_derivatives_are_limits_of_the_generic_ones(name):
    """d psp / d p and d reset / d p at the triple point vs the generic formulas at 200 digits with the
    three constants 1e-25 apart (the limit; its cancellation costs ~100 digits), within 8 ulps of scale."""
    model = models.get(name)
    params = TRIPLE[name][0]
    syms = [model.symbols[n] for n in model.param_names]
    mod = load_builtin(name).module
    p = tuple(float(params[n]) for n in model.param_names)
    equal = [n for n in model.param_names if n.startswith("tau")]
    pts = np.linspace(0.05, 6.0, 13)
    for kernel, fn in ((model.psp, mod.dpsp_dp), (model.reset, mod.dreset_dp)):
        derivs = [sympy.lambdify([S] + syms, sympy.diff(kernel, q), "mpmath") for q in syms]
        for i, d in enumerate(derivs):
            with mpmath.workdps(200):
                vals = [mpmath.mpf(params[n]) * (1 + (equal.index(n) + 1) * mpmath.mpf(10) ** -25 if n in equal else 1)
                        for n in model.param_names]
                ref = np.array([float(d(mpmath.mpf(float(s)), *vals)) for s in pts])
            got = []
            for s in pts:
                out = np.zeros(len(syms))
                fn(s, p, out)
                got.append(out[i])
            # 8 ulps of scale; 1e-20 absolute for the reference's O(1e-25) distance from the limit, where
            # the derivative vanishes there (d psp / d frac_slow: both currents are alike at the triple point)
            tol = 8 * np.spacing(np.max(np.abs(ref))) + 1e-20
            assert np.max(np.abs(np.array(got) - ref)) <= tol, (kernel, model.param_names[i])


@pytest.mark.parametrize("name", list(TRIPLE))
def test_three_equal_time_constants_agree_with_reference(name):
    """Spike times within 1e-11 and every Jacobian row within 1e-8 of its largest entry (the acceptance
    criteria of tests/test_agreement.py) at the triple point, with multi-spike neurons."""
    params, _, ((w1, w2), t_max) = TRIPLE[name]
    rng = np.random.default_rng(5)
    net = Network.feedforward([w1 * rng.uniform(0.4, 3.5, (2, 3)), w2 * rng.uniform(0.4, 3.5, (3, 2))],
                              [rng.uniform(0, 0.3, (2, 3)), rng.uniform(0, 0.3, (3, 2))])
    inputs = [[0.1, 0.7], [0.3]]
    res = simulate(name, net, inputs, t_max, params=params)
    ref = reference_solve(models.get(name), params, net, inputs, t_max, dps=30)
    assert ref.certified and res.n_spikes == len(ref.times) and max(len(s) for s in res.spikes) >= 2
    worst_t, worst_row = engine_vs_reference(res, ref)
    assert worst_t <= 1e-11 and worst_row <= 1e-8, (worst_t, worst_row)


def _singular_points(name):
    """Parameter vectors on every pairwise and triple set of a model's time constants, with the equal
    constants small (0.05) and the others large (2.0), and the other way round."""
    mod = load_builtin(name).module
    taus = [n for n in mod.PARAM_NAMES if n.startswith("tau")]
    defaults = dict(zip(mod.PARAM_NAMES, mod.PARAM_DEFAULTS))
    for k in range(len(taus)):
        for j in range(k + 1, len(taus) + 1):
            equal = taus[k:j] if j - k > 1 else None
            for small, big in ((0.05, 2.0), (2.0, 0.05)):
                if equal is None:
                    continue
                vals = {**defaults, **{t: (small if t in equal else big) for t in taus}}
                yield tuple(float(vals[n]) for n in mod.PARAM_NAMES)
    if len(taus) == 3:  # the pair (first, last)
        for small, big in ((0.05, 2.0), (2.0, 0.05)):
            vals = {**defaults, taus[0]: small, taus[2]: small, taus[1]: big}
            yield tuple(float(vals[n]) for n in mod.PARAM_NAMES)


@pytest.mark.parametrize("name", ["lif", "lif_dual_exp", "lif_two_synapse", "adaptive_threshold"])
def test_singular_branch_kernels_stay_finite_far_from_the_event(name):
    """The limit forms are printed with each term's exponentials combined: exp(s/tau_r) exp(-s/tau_r - s/tau_m)
    would overflow to inf * 0 = NaN for s > 709 tau_r (it did, at s > 71 for tau_rise = 0.1)."""
    mod = load_builtin(name).module
    points = list(_singular_points(name))
    assert points
    for p in points:
        for s in (30.0, 100.0, 1e3, 1e5):
            for kernel in (mod.psp, mod.dpsp_ds, mod.reset, mod.dreset_ds):
                assert np.isfinite(kernel(s, p)), (kernel, p, s)
            for vec in (mod.dpsp_dp, mod.dreset_dp):
                out = np.zeros(len(p))
                vec(s, p, out)
                assert np.all(np.isfinite(out)), (vec, p, s)
