"""Closed-form spike times as the simulator's fast path (log, quadratic, Lambert W).

Tiers: symbolic (the derivation finds the closed forms, SymPy's solutions agree with the float64
kernels), kernel (the kernels on random states vs the bracketed root finder), end-to-end (fast path
vs root-finding path on random networks, both vs the mpmath reference), and the switch/counter that
shows the fast path is taken.
"""

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy

from exactsnn import Network, models, simulate
from exactsnn.compiled import load_builtin
from exactsnn.derive.closed_form import U, closed_forms, state_symbols
from exactsnn.diagnostics import diagnose
from exactsnn.numeric.closed_form_roots import cf_lambert, cf_log, cf_quadratic
from expsum_roots import es_bracket, es_polish, es_slope, es_value
from exactsnn.numeric import lambertw as lw
from exactsnn.numeric.lambertw import NEG_INV_E_HI
from exactsnn.reference import reference_solve

from closed_forms import alpha_first_time, lif_double_tau_times
from exactsnn.verification.agreement import spike_positions

EPS = np.finfo(float).eps

# (model, params, kind number expected from closed_form_kind, weight scale, time constant)
FAST = {
    "lif-double-tau": ("lif", {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}, 2, 1.0, 1.0),
    "lif-half-tau": ("lif", {"tau_syn": 2.0, "tau_mem": 1.0, "threshold": 1.0}, 3, 0.6, 1.0),
    "lif-equal-tau": ("lif", {"tau_syn": 0.8, "tau_mem": 0.8, "threshold": 1.0}, 1, 1.0, 0.8),
    "nonleaky": ("nonleaky_if", {"tau_syn": 0.7, "threshold": 1.0}, 1, 1.0, 0.7),
    "srm-alpha": ("srm_alpha", {"tau": 0.9, "threshold": 1.0}, 1, 0.3, 0.9),
}


# ---------------------------------------------------------------- symbolic tier

def _taus():
    return sympy.symbols("tau_syn tau_mem theta", positive=True)


def test_derivation_finds_the_three_structures():
    ts, tm, th = _taus()
    z = sympy.Integer(0)
    c = tm * ts / (tm - ts)
    lif = ((1 / tm, 1 / ts), ((c, -c), (z, z)), ((th, z), (z, z)))
    cfs = closed_forms(lif, th, (ts, tm, th))
    assert [(cf.kind, cf.condition, cf.slots) for cf in cfs] == [
        ("quadratic", (tm, 2 * ts), (0, 1)), ("quadratic", (tm, ts / 2), (1, 0))]
    alpha = ((1 / ts,), ((z,), (sympy.E / ts,)), ((th,), (z,)))
    assert [(cf.kind, cf.condition, cf.slots) for cf in closed_forms(alpha, th, (ts, th))] == [
        ("lambert", None, (0,))]
    nonleaky = ((z, 1 / ts), ((ts, -ts), (z, z)), ((th, z), (z, z)))
    (cf,) = closed_forms(nonleaky, th, (ts, th))
    assert (cf.kind, cf.condition, cf.slots, cf.const_slots) == ("log", None, (1,), (0,))
    three = ((1 / tm, 1 / ts, 3 / ts), ((c, -c, 1), (z, z, z)), ((th, z, z), (z, z, z)))
    assert closed_forms(three, th, (ts, tm, th)) == ()
    fixed = ((1 / tm, 2 / tm), ((1, -1), (z, z)), ((th, z), (z, z)))  # ratio 2 for every parameter value
    assert [(cf.kind, cf.condition) for cf in closed_forms(fixed, th, (tm, th))] == [("quadratic", None)]


def test_shipped_modules_select_closed_forms_by_parameters():
    lif = load_builtin("lif").module
    assert lif.CLOSED_FORMS == ("lambert where tau_mem == tau_syn", "quadratic where tau_mem == 2*tau_syn",
                                "quadratic where tau_mem == tau_syn/2")
    assert [lif.closed_form_kind(p) for p in ((0.8, 0.8, 1.0), (0.5, 1.0, 1.0), (2.0, 1.0, 1.0),
                                               (1 / 0.999, 1.0, 1.0), (0.5, 1.0 + 2 ** -52, 1.0))] == [1, 2, 3, 0, 0]
    assert load_builtin("nonleaky_if").module.CLOSED_FORMS == ("log",)
    assert load_builtin("srm_alpha").module.CLOSED_FORMS == ("lambert",)
    for name in ("lif_dual_exp", "lif_two_synapse", "adaptive_threshold"):  # interval strategy: none
        mod = load_builtin(name).module
        assert mod.CLOSED_FORMS == () and mod.closed_form_kind(tuple(mod.PARAM_DEFAULTS)) == 0


def _upward_root_mp(cf, symbols):
    """A function: values (floats, in the order of ``symbols``) -> the solution of SymPy's list that
    is a real upward crossing there, at 50 digits (None if there is none).

    SymPy's solutions are candidates: for the quadratic it solves for a power of ``exp(u/tau)`` and
    may return a real ``u`` that belongs to a negative root ``x`` (``x**2 > 0``); the residual of the
    equation rejects those."""
    eq = sympy.lambdify([U, *symbols], cf.equation, "mpmath")
    slope = sympy.lambdify([U, *symbols], sympy.diff(cf.equation, U), "mpmath")
    sols = [sympy.lambdify(symbols, sol, "mpmath") for sol in cf.solutions]

    def root(values):
        with mpmath.workdps(50):
            vals = [mpmath.mpf(float(v)) for v in values]
            out = []
            for sol in sols:
                u = sol(*vals)
                if isinstance(u, mpmath.mpc):
                    if abs(u.imag) > mpmath.mpf(10) ** -40:
                        continue
                    u = u.real
                if u > 0 and abs(eq(u, *vals)) < mpmath.mpf(10) ** -40 and slope(u, *vals) > 0:
                    out.append(u)
            assert len(out) <= 1
            return out[0] if out else None

    return root


@pytest.mark.parametrize("kind", ["log", "quadratic", "lambert"])
def test_sympy_solutions_match_float64_kernels(kind, rng):
    """SymPy's closed form (50 digits, upward root) vs the stable float64 kernel, within 4 ulps of u
    plus the root's conditioning eps * sum|terms| / f'(u) (Lambert: plus ``_lambert_slack``)."""
    ts, tm, th = _taus()
    z = sympy.Integer(0)
    if kind == "log":
        es = ((z, 1 / ts), ((ts, -ts), (z, z)), ((th, z), (z, z)))
        params = (ts, th)
    elif kind == "quadratic":
        c = tm * ts / (tm - ts)
        es = ((1 / tm, 1 / ts), ((c, -c), (z, z)), ((th, z), (z, z)))
        params = (ts, tm, th)
    else:
        es = ((1 / ts,), ((z,), (sympy.E / ts,)), ((th,), (z,)))
        params = (ts, th)
    cf = closed_forms(es, th, params)[0]
    a_sym, b_sym = state_symbols(2)
    root = _upward_root_mp(cf, [ts, th, a_sym[0], a_sym[1], b_sym[0]])
    checked = rejected = 0
    while checked < 200:
        tau, theta, a0, a1, b0 = rng.uniform(0.3, 2.0), rng.uniform(0.5, 1.5), *rng.uniform(-3, 4, 2), \
            rng.uniform(-1, 6)
        if kind == "log":
            rates, a, b = (0.0, 1 / tau), (a0, a1), (0.0, 0.0)
        elif kind == "quadratic":
            rates, a, b = (1 / (2 * tau), 1 / tau), (a0, a1), (0.0, 0.0)
        else:
            rates, a, b = (1 / tau,), (a0,), (b0,)
        f0 = es_value(rates, a, b, theta, 0.0)
        if f0 >= 0:
            continue
        ref = root([tau, theta, a0, a1, b0])
        got = _closed(kind if kind != "lambert" else "lambert_w0", rates, a, b, theta, f0)
        if ref is None:
            assert math.isnan(got), (tau, theta, a, b, got)
            rejected += 1
            continue
        checked += 1
        r = float(ref)
        cond = EPS * (theta + sum(abs(x) for x in a) + abs(b[0] * r)) / es_slope(rates, a, b, r)
        slack = _lambert_slack(rates[0], a[0], b[0]) if kind == "lambert" else 0.0
        assert abs(got - r) <= 4 * np.spacing(r) + 4 * cond + slack, (tau, theta, a, b, got, r)
    assert rejected > 20  # states without a crossing were met, and got NaN


# ---------------------------------------------------------------- kernel tier

def _lambert_slack(l, a, b):
    """Extra absolute error of the Lambert form ``u = -(w + l a/b) / l``: ``W0`` on [-1/e, 0] is accurate
    to 1e-15 absolute (``w0_nonpositive``), and the sum cancels on the W_{-1} branch (~eps |a/b|)."""
    return (1e-15 + 4 * EPS * abs(l * a / b)) / l


def _random_state(kind, rng):
    theta = 1.0
    lam = rng.uniform(0.3, 3.0)
    if kind == "log":
        return (0.0, lam), (rng.uniform(-2, 3), rng.uniform(-4, 1)), (0.0, 0.0), theta
    if kind == "quadratic":
        return (lam, 2 * lam), (rng.uniform(-3, 6), rng.uniform(-6, 3)), (0.0, 0.0), theta
    if kind == "lambert_w0":
        return (lam,), (rng.uniform(-3, 1),), (rng.uniform(0, 8),), theta
    # W_{-1}: b < 0 rises to a crossing only with a negative effective threshold
    return (lam,), (rng.uniform(-3, 3),), (rng.uniform(-8, 0),), -rng.uniform(0.2, 2.0)


def _closed(kind, rates, a, b, theta, f0):
    if kind == "log":
        return cf_log(rates[1], a[1], f0)
    if kind == "quadratic":
        return cf_quadratic(rates[0], a[0], a[1], f0)
    return cf_lambert(rates[0], a[0], b[0], theta, f0)


@pytest.mark.parametrize("kind", ["log", "quadratic", "lambert_w0", "lambert_wm1"])
def test_kernels_land_in_the_bracket_at_the_polished_root(kind, rng):
    """On random states with a crossing, the closed form always lies in the bracket of the first
    upward crossing, within the root's conditioning of the polished value (Lambert: ``_lambert_slack``)."""
    found = 0
    for _ in range(3000):
        rates, a, b, theta = _random_state(kind, rng)
        f0 = es_value(rates, a, b, theta, 0.0)
        if f0 >= 0:
            continue
        _, lo, hi, _ = es_bracket(rates, a, b, theta, f0, 30.0)
        u = _closed(kind, rates, a, b, theta, f0)
        if math.isnan(lo):
            continue
        found += 1
        assert lo < u <= hi, (rates, a, b, theta, lo, hi, u)
        root = es_polish(rates, a, b, theta, lo, hi, 0.5 * (lo + hi))
        terms = abs(theta) + sum(abs(x) for x in a) + sum(abs(x * root) for x in b)
        slack = _lambert_slack(rates[0], a[0], b[0]) if kind.startswith("lambert") else 0.0
        tol = 2 * np.spacing(root) + 4 * EPS * terms / es_slope(rates, a, b, root) + slack
        assert abs(u - root) <= tol, (rates, a, b, theta, u, root)
    assert found > 100


def test_kernels_edge_cases():
    # no division by zero: degenerate coefficients give NaN, never an exception
    assert math.isnan(cf_log(1.0, 0.0, -0.5)) and math.isnan(cf_log(0.0, -1.0, -0.5))
    assert math.isnan(cf_quadratic(1.0, 1.0, 0.0, -0.5))        # q = 0, decreasing in y: no upward root
    # q = 0: linear in y. Measured 0.47 ulp from the 50-digit value; the log1p form is exact to rounding.
    assert cf_quadratic(1.0, -2.0, 0.0, -0.5) == pytest.approx(-math.log1p(-0.25), rel=4 * EPS, abs=0)
    assert math.isnan(cf_quadratic(1.0, 1.0, -1.0, -0.5))       # negative discriminant: no crossing
    assert math.isnan(cf_lambert(1.0, -1.0, 0.0, 0.5, -1.5))    # b = 0: -e^{-u} = 0.5 has no root
    # b = 0: log form. Measured 0.21 ulp from log(2)/2 at 50 digits.
    assert cf_lambert(2.0, -2.0, 0.0, -1.0, -1.0) == pytest.approx(math.log(2.0) / 2.0, rel=4 * EPS, abs=0)
    # branch point: (a + b u) e^{-u} touches theta at u = 1 - a/b when theta = (b/e) e^{-a/b}.
    # float(exp(-1)) is 1.2e-17 above 1/e, so the float equation has no root: the documented answer is the
    # tangency u = 1, returned exactly (measured |u - 1| = 0; a root of a slightly perturbed equation would
    # move by sqrt(2 * 1e-17) ~ 5e-9, so 2 eps tells the snap from a computed root)
    b = 1.0
    theta = b * math.exp(-1.0)
    u = cf_lambert(1.0, 0.0, b, theta, -theta)
    assert u == pytest.approx(1.0, rel=0, abs=2 * EPS)
    # an argument rounded just below -1/e reads as the branch point (measured: exactly 1); far below, no root
    assert cf_lambert(1.0, 0.0, 1.0, theta * (1 + 4 * EPS), -theta) == pytest.approx(1.0, rel=0, abs=2 * EPS)
    assert math.isnan(cf_lambert(1.0, 0.0, 1.0, theta * 1.01, -theta))
    assert -theta == NEG_INV_E_HI  # the touching case above is exactly the float nearest -1/e


def _branch_series(n):
    """Exact c_0..c_n of q = W(x) + 1 = sum c_k p^k, p = +-sqrt(2 (e x + 1)): differentiating
    1 + (q - 1) e^q = p^2 / 2 gives q q' (p^2/2 - 1) = p (q - 1), a recurrence for s = q q'."""
    c = [Fraction(0), Fraction(1)]
    s = {-1: Fraction(0), 0: Fraction(0), 1: Fraction(1)}
    for k in range(2, n + 1):
        s[k] = s[k - 2] / 2 - c[k - 1]
        rest = sum((c[i] * c[k + 1 - i] for i in range(2, k)), Fraction(0))
        c.append((2 * s[k] / (k + 1) - rest) / 2)
    return c


def _pade(t, m, n):
    """[m/n] Pade approximant (P, Q), Q[0] = 1, of the series t, in exact arithmetic."""
    rows = [[t[k - j] if k >= j else Fraction(0) for j in range(1, n + 1)] + [-t[k]] for k in range(m + 1, m + n + 1)]
    for col in range(n):
        piv = next(r for r in range(col, n) if rows[r][col] != 0)
        rows[col], rows[piv] = rows[piv], rows[col]
        for r in range(n):
            if r != col and rows[r][col] != 0:
                f = rows[r][col] / rows[col][col]
                rows[r] = [x - f * y for x, y in zip(rows[r], rows[col])]
    q = [Fraction(1)] + [rows[i][n] / rows[i][i] for i in range(n)]
    return [sum((q[j] * t[k - j] for j in range(min(k, n) + 1)), Fraction(0)) for k in range(m + 1)], q


def test_w0_nonpositive_pade_coefficients_and_accuracy():
    """The shipped Pade coefficients are the exact [10/10] approximant of the branch series (which
    starts 1, -1/3, 11/72, -43/540 as in lambertw.BRANCH_SERIES), and W0 on [-1/e, 0] is accurate to
    1e-15 absolute against mpmath at 40 digits; outside the interval the status says so."""
    c = _branch_series(20)
    assert c[1:5] == [1, Fraction(-1, 3), Fraction(11, 72), Fraction(-43, 540)]
    p_exact, q_exact = _pade([c[0] - 1] + c[1:], 10, 10)
    assert tuple(float(x) for x in p_exact) == lw.PADE_P and tuple(float(x) for x in q_exact) == lw.PADE_Q
    xs = np.concatenate([np.linspace(-1 / math.e, 0.0, 800), -np.logspace(-300, math.log10(0.36), 200),
                         [math.nextafter(-1 / math.e, 0.0), -0.0, 0.0]])
    worst = 0.0
    with mpmath.workdps(40):
        for x in xs:
            w, status = lw.w0_nonpositive(float(x))
            assert status == lw.STATUS_OK
            worst = max(worst, float(abs(mpmath.mpf(w) - mpmath.lambertw(mpmath.mpf(float(x)), 0).real)))
    assert worst <= 1e-15, worst
    assert lw.w0_nonpositive(-1 / math.e) == (-1.0, lw.STATUS_OK)
    for bad in (-0.37, 1e-300, 2.0, math.nan):
        assert lw.w0_nonpositive(bad)[1] == lw.STATUS_DOMAIN


# ---------------------------------------------------------------- end-to-end tier

def _network(rng, recurrent, scale):
    if recurrent:
        return Network.recurrent(scale * rng.uniform(0.5, 4.0, (2, 4)), scale * rng.uniform(-0.8, 1.2, (4, 4)),
                                 outputs=[3], input_delays=rng.uniform(0, 0.2, (2, 4)),
                                 delays=rng.uniform(0.05, 0.3, (4, 4)))
    return Network.feedforward([scale * rng.uniform(0.2, 3.0, (3, 6)), scale * rng.uniform(-0.5, 2.5, (6, 2))],
                               [rng.uniform(0, 0.3, (3, 6)), rng.uniform(0, 0.3, (6, 2))])


@pytest.mark.parametrize("case", list(FAST))
def test_fast_path_agrees_with_root_finding_on_random_networks(case):
    """Same spikes; times within 8 ulps of t_max, scaled by the worst conditioning met so far
    (theta / (tau |dV/dt|) of this and every earlier spike, at least 1): a float64 spike time is
    determined only to ~eps * sum|terms| / |dV/dt|, and such an error moves every later spike."""
    model, params, kind, scale, tau = FAST[case]
    t_max = 5.0
    rng = np.random.default_rng(2024)
    n_closed, n_spikes, multi, worst = 0, 0, 0, 0.0
    for trial in range(60):
        net = _network(rng, trial % 3 == 0, scale)
        x = [sorted(rng.uniform(0, 2, rng.integers(1, 4)).tolist()) for _ in range(net.n_inputs)]
        fast = simulate(model, net, x, t_max, params=params)
        slow = simulate(model, net, x, t_max, params=params, closed_form=False)
        assert slow.n_closed_form == 0
        assert fast.n_spikes == slow.n_spikes
        np.testing.assert_array_equal(fast.spike_neuron, slow.spike_neuron)
        if not fast.n_spikes:
            continue
        vdot = diagnose(fast).vdot
        kappa = np.maximum.accumulate(np.maximum(1.0, params["threshold"] / (tau * vdot)))
        err = np.abs(fast.spike_time - slow.spike_time) / (np.spacing(t_max) * kappa)
        worst = max(worst, float(err.max()))
        n_closed += fast.n_closed_form
        n_spikes += fast.n_spikes
        multi = max(multi, max(len(s) for s in fast.spikes))
    assert worst <= 8, worst
    assert multi >= 5 and n_spikes > 300
    # The closed form starts the polish of the crossings far from the segment start (CF_TAYLOR_NEAR): hundreds here.
    assert n_closed >= 250, (n_closed, n_spikes)


def test_fast_path_is_taken_only_where_a_closed_form_applies():
    net = Network.feedforward([[[4.0, 9.0]]])
    for model, params, _, _, _ in FAST.values():
        r = simulate(model, net, [[0.2]], 10.0, params=params)
        assert r.n_spikes >= 2 and r.n_closed_form >= 1  # the far crossings (CF_TAYLOR_NEAR)
        assert simulate(model, net, [[0.2]], 10.0, params=params, closed_form=False).n_closed_form == 0
    generic = simulate("lif", net, [[0.2]], 10.0, params={"tau_syn": 1 / 0.999, "tau_mem": 1.0})
    assert generic.n_spikes >= 2 and generic.n_closed_form == 0
    dual = simulate("lif_dual_exp", net, [[0.2]], 10.0)  # interval strategy
    assert dual.n_spikes >= 1 and dual.n_closed_form == 0


@pytest.mark.parametrize("excess", [1e-12, 1e-9, 1e-6, 0.0, -1e-12, -1e-9])
def test_grazing_lambert_crossing_at_the_branch_point(excess):
    """tau_syn == tau_mem: a peak of V at threshold (1 + excess) is a Lambert argument at -1/e (1 - ...).
    Both paths decide the crossing alike and match the mpmath closed form to its conditioning."""
    tau, theta = 0.9, 1.0
    w = theta * (1 + excess) * math.e / tau  # peak of w s e^{-s/tau} is w tau / e
    net = Network.feedforward([[[w]]])
    params = {"tau_syn": tau, "tau_mem": tau, "threshold": theta}
    fast = simulate("lif", net, [[0.0]], 10.0, params=params)
    slow = simulate("lif", net, [[0.0]], 10.0, params=params, closed_form=False)
    assert fast.n_spikes == slow.n_spikes
    if excess > 0:
        assert fast.n_spikes == 1
        with mpmath.workdps(40):
            ref = float(alpha_first_time(mpmath.mpf(w), 0, mpmath.mpf(tau), mpmath.mpf(theta)))
        tol = 4 * EPS / math.sqrt(excess)  # sqrt-conditioned near the tangency
        assert abs(fast.spike_time[0] - ref) <= tol and abs(slow.spike_time[0] - ref) <= tol
    elif excess < 0:
        assert fast.n_spikes == 0 and 0 < fast.near_margin[0] <= 2 * abs(excess)


def test_quadratic_multi_spike_matches_mpmath_closed_form():
    """tau_mem = 2 tau_syn, one input, many spikes between two events: vs tests/closed_forms.py."""
    tm, theta, t0, w = 1.2, 1.0, 0.25, 30.0
    r = simulate("lif", Network.feedforward([[[w]]]), [[t0]], 30.0,
                 params={"tau_syn": tm / 2, "tau_mem": tm, "threshold": theta})
    with mpmath.workdps(40):
        ref = [float(t) for t in lif_double_tau_times(mpmath.mpf(w), mpmath.mpf(t0), mpmath.mpf(tm), 1, 30)]
    assert r.n_spikes == len(ref) >= 10 and r.n_closed_form >= r.n_spikes
    assert np.max(np.abs(r.spike_time - ref)) <= 4 * np.spacing(30.0)


REFERENCE_CASES = {
    "srm-alpha": ("srm_alpha", {"tau": 0.9, "threshold": 1.0}, 0.45, 2.5),
    "lif-half-tau": ("lif", {"tau_syn": 2.0, "tau_mem": 1.0, "threshold": 1.0}, 1.0, 3.0),
}


@pytest.mark.parametrize("case", list(REFERENCE_CASES))
def test_fast_path_matches_mpmath_reference(case):
    model, params, scale, t_max = REFERENCE_CASES[case]
    rng = np.random.default_rng(3)
    net = Network.feedforward([scale * rng.uniform(0.4, 3.5, (2, 4)), scale * rng.uniform(0.4, 2.0, (4, 2))],
                              [rng.uniform(0, 0.3, (2, 4)), rng.uniform(0, 0.3, (4, 2))])
    inputs = [[0.1, 0.7], [0.3]]
    res = simulate(model, net, inputs, t_max, params=params)
    assert res.n_closed_form > 0 and max(len(s) for s in res.spikes) >= 2
    ref = reference_solve(models.get(model), params, net, inputs, t_max, dps=30)
    assert ref.certified and res.n_spikes == len(ref.times)
    pos = spike_positions(res)
    err = max(abs(res.spike_time[pos[(j, i)]] - float(t)) for (j, i), t in zip(ref.order, ref.times))
    assert err <= 4 * np.spacing(t_max), err
