"""Checks for models.md: kernels solve their ODEs, the tau_syn -> tau_mem limit, and the closed-form
spike times (they solve V = theta, they are the first crossing, and their derivatives are the IFT's).
"""

import mpmath as mp
import numpy as np
import pytest
import sympy

from exactsnn.model import S
from exactsnn.models import lif, nonleaky_if

from . import cases
from .mp_network import kernels, simulate

t = sympy.Symbol("t", real=True)
TAU, TAU_R, THETA = sympy.symbols("tau tau_r theta", positive=True)
PSP_EQUAL = S * sympy.exp(-S / TAU)                        # eq. (2.2)
PSP_ALPHA = S / TAU * sympy.exp(1 - S / TAU)               # eq. (5.1)
RESET_ALPHA = THETA * sympy.exp(-S / TAU_R)


def _zero(expr):
    return sympy.simplify(expr) == 0


def ift(v, p, t_star):
    """Eq. (0.1) for one spike: -d(V - theta)/dp / dV/dt at t = t_star."""
    return (-sympy.diff(v - THETA, p) / sympy.diff(v, t)).subs(t, t_star)


# --------------------------------------------------------------------------- kernels and ODEs


def test_lif_kernels_solve_the_ode():
    """Eq. (1.2): psp solves dV/ds = -V/tau_mem + I with I = exp(-s/tau_syn), V(0) = 0;
    reset solves dr/ds = -r/tau_mem with r(0) = theta."""
    m = lif.build()
    ts, tm, th = (m.symbols[n] for n in ("tau_syn", "tau_mem", "threshold"))
    current = sympy.exp(-S / ts)
    assert _zero(sympy.diff(m.psp, S) + m.psp / tm - current)
    assert _zero(m.psp.subs(S, 0))
    assert _zero(sympy.diff(m.reset, S) + m.reset / tm)
    assert m.reset.subs(S, 0) == th


def test_superposition_solves_the_hybrid_ode():
    """Lemma 1: V = w1 psp(t - a1) + w2 psp(t - a2) - reset(t - t1) solves dV/dt = -V/tau_mem + I
    for t after all events, is continuous at inputs and jumps by -theta at the spike."""
    m = lif.build()
    ts, tm, th = (m.symbols[n] for n in ("tau_syn", "tau_mem", "threshold"))
    w1, w2, a1, a2, t1 = sympy.symbols("w1 w2 a1 a2 t1", real=True)
    v = (w1 * m.psp.subs(S, t - a1) + w2 * m.psp.subs(S, t - a2) - m.reset.subs(S, t - t1))
    current = w1 * sympy.exp(-(t - a1) / ts) + w2 * sympy.exp(-(t - a2) / ts)
    assert _zero(sympy.diff(v, t) + v / tm - current)
    assert _zero(m.psp.subs(S, 0))            # input: no jump
    assert m.reset.subs(S, 0) == th           # spike: V drops by theta


def test_equal_tau_kernel_is_the_limit_and_solves_the_ode():
    """Eq. (2.1)-(2.2): lim_{tau_syn -> tau_mem} psp = s exp(-s/tau_mem) (sympy.limit), it solves
    the ODE with tau_syn = tau_mem, and the parameter derivatives have limits (eq. 2.3)."""
    m = lif.build()
    ts, tm = m.symbols["tau_syn"], m.symbols["tau_mem"]
    lim = sympy.limit(m.psp, ts, tm)
    assert _zero(lim - S * sympy.exp(-S / tm))
    assert _zero(sympy.diff(lim, S) + lim / tm - sympy.exp(-S / tm))
    expected = S**2 * sympy.exp(-S / tm) / (2 * tm**2)
    assert _zero(sympy.limit(sympy.diff(m.psp, ts), ts, tm) - expected)
    assert _zero(sympy.limit(sympy.diff(m.psp, tm), ts, tm) - expected)
    # the naive formula is 0/0 there: it is not the value
    assert m.psp.subs(ts, tm) is sympy.nan or sympy.simplify(m.psp.subs(ts, tm)) is sympy.nan


def test_integral_representation_is_analytic_across_the_diagonal():
    """Proposition 1, eq. (2.1): psp = s * integral_0^1 exp(-s((1-u)/tau_mem + u/tau_syn)) du, whose
    integrand is smooth on tau_syn = tau_mem, where it reduces to (2.2)."""
    m = lif.build()
    ts, tm = m.symbols["tau_syn"], m.symbols["tau_mem"]
    u = sympy.Symbol("u", positive=True)
    integrand = S * sympy.exp(-S * ((1 - u) / tm + u / ts))
    assert _zero(sympy.integrate(integrand, (u, 0, 1), conds="none") - m.psp)
    assert _zero(sympy.integrate(integrand.subs(ts, tm), (u, 0, 1)) - S * sympy.exp(-S / tm))


def test_half_tau_kernel():
    """Eq. (3.1): tau_mem = 2 tau_syn gives psp = 2 tau_syn (x - x^2) with x = exp(-s/tau_mem)."""
    m = lif.build()
    ts, tm = m.symbols["tau_syn"], m.symbols["tau_mem"]
    x = sympy.exp(-S / (2 * ts))
    assert _zero(m.psp.subs(tm, 2 * ts) - 2 * ts * (x - x**2))


def test_nonleaky_kernels_solve_the_ode():
    """Eq. (4.1): psp solves dV/ds = I = exp(-s/tau_syn), V(0) = 0; reset is the constant theta."""
    m = nonleaky_if.build()
    ts, th = m.symbols["tau_syn"], m.symbols["threshold"]
    assert _zero(sympy.diff(m.psp, S) - sympy.exp(-S / ts))
    assert _zero(m.psp.subs(S, 0))
    assert _zero(m.reset - th)


def test_alpha_kernels_solve_the_ode():
    """Eq. (5.2): the alpha kernel solves V'' + 2V'/tau + V/tau^2 = 0 with V(0) = 0, V'(0) = e/tau,
    i.e. the LIF pair with tau_syn = tau_mem = tau and a current jump e/tau; its peak is 1 at s = tau;
    the reset solves r' = -r/tau_r, r(0) = theta."""
    p = PSP_ALPHA
    assert _zero(sympy.diff(p, S, 2) + 2 * sympy.diff(p, S) / TAU + p / TAU**2)
    assert _zero(p.subs(S, 0)) and _zero(sympy.diff(p, S).subs(S, 0) - sympy.E / TAU)
    assert _zero(sympy.diff(p, S).subs(S, TAU)) and _zero(p.subs(S, TAU) - 1)
    assert _zero(sympy.diff(RESET_ALPHA, S) + RESET_ALPHA / TAU_R)
    assert _zero(p - sympy.E / TAU * PSP_EQUAL)


# ------------------------------------------------------------- closed forms: symbolic identities

ALPHA, BETA, A, B, SUM_W, SUM_S, N = sympy.symbols("alpha beta A B W S n", positive=True)
OMEGA = sympy.Symbol("omega", negative=True)
ETA, DELTA = sympy.symbols("eta delta", positive=True)


def nonleaky_closed():
    """Eq. (4.3): V = tau W - tau S exp(-t/tau) - n theta, t* = tau log(tau S / (tau W - (n+1) theta))."""
    v = TAU * SUM_W - TAU * SUM_S * sympy.exp(-t / TAU) - N * THETA
    return v, TAU * sympy.log(TAU * SUM_S / (TAU * SUM_W - (N + 1) * THETA)), (SUM_W, SUM_S, THETA, TAU)


def quadratic_closed():
    """Eq. (3.3): V = A x - B x^2, x = exp(-t/tau), t* = -tau log((A + sqrt(A^2 - 4 B theta)) / (2B))."""
    x = sympy.exp(-t / TAU)
    root = (A + sympy.sqrt(A**2 - 4 * B * THETA)) / (2 * B)
    return A * x - B * x**2, -TAU * sympy.log(root), (A, B, THETA, TAU)


def lambert_closed():
    """Eq. (2.5): V = exp(-t/tau) (alpha t - beta), t* = beta/alpha - tau W0(z)."""
    z = -(THETA / (ALPHA * TAU)) * sympy.exp(BETA / (ALPHA * TAU))
    v = sympy.exp(-t / TAU) * (ALPHA * t - BETA)
    return v, BETA / ALPHA - TAU * sympy.LambertW(z), (ALPHA, BETA, THETA, TAU), z


def test_nonleaky_closed_form_solves_and_has_ift_derivative():
    """Eq. (4.3) satisfies V(t*) = theta, and d t*/dp = IFT (eq. 0.1) for p in (W, S, theta, tau)."""
    v, ts, params = nonleaky_closed()
    assert _zero(v.subs(t, ts) - THETA)
    for p in params:
        assert _zero(sympy.diff(ts, p) - ift(v, p, ts)), p


def test_quadratic_closed_form_solves_and_has_ift_derivative():
    """Eq. (3.3) satisfies V(t*) = theta, and d t*/dp = IFT for p in (A, B, theta, tau).

    Both sides are reduced to rational form by writing the roots as x+ = eta + delta, x- = eta
    (A = B(2 eta + delta), theta = B eta (eta + delta)), a bijection onto the region with two roots.
    """
    v, ts, params = quadratic_closed()
    reparam = {A: B * (2 * ETA + DELTA), THETA: B * ETA * (ETA + DELTA)}
    assert _zero((v.subs(t, ts) - THETA).subs(reparam))
    for p in params:
        assert _zero((sympy.diff(ts, p) - ift(v, p, ts)).subs(reparam)), p


def test_lambert_closed_form_solves_and_has_ift_derivative():
    """Eq. (2.5) satisfies V(t*) = theta, and d t*/dp = IFT for p in (alpha, beta, theta, tau).

    W0(z) is replaced by omega in (-1, 0) and theta by the value that makes z = omega exp(omega)
    (a bijection onto theta in (0, alpha tau exp(-beta/(alpha tau) - 1)]).
    """
    v, ts, params, z = lambert_closed()
    theta_of_omega = -ALPHA * TAU * OMEGA * sympy.exp(OMEGA) * sympy.exp(-BETA / (ALPHA * TAU))

    def reduce(expr):
        return expr.subs(sympy.LambertW(z), OMEGA).subs(THETA, theta_of_omega)

    assert _zero(reduce(v.subs(t, ts) - THETA))
    for p in params:
        assert _zero(reduce(sympy.diff(ts, p) - ift(v, p, ts))), p


def test_single_input_forms():
    """Eqs. (2.6), (4.4), (5.3): single-input closed forms are the special cases, with the IFT
    derivative in the model's own parameters (w, a, theta, tau)."""
    w, a = sympy.symbols("w a", positive=True)
    # equal tau (2.6)
    z = -THETA / (w * TAU)
    v = w * PSP_EQUAL.subs(S, t - a)
    ts = a - TAU * sympy.LambertW(z)
    theta_of_omega = -w * TAU * OMEGA * sympy.exp(OMEGA)
    for p in (w, a, THETA, TAU):
        d = (sympy.diff(ts, p) - ift(v, p, ts)).subs(sympy.LambertW(z), OMEGA).subs(THETA, theta_of_omega)
        assert _zero(d), p
    # alpha (5.3)
    z = -THETA / (w * sympy.E)
    v = w * PSP_ALPHA.subs(S, t - a)
    ts = a - TAU * sympy.LambertW(z)
    theta_of_omega = -w * sympy.E * OMEGA * sympy.exp(OMEGA)
    for p in (w, a, THETA, TAU):
        d = (sympy.diff(ts, p) - ift(v, p, ts)).subs(sympy.LambertW(z), OMEGA).subs(THETA, theta_of_omega)
        assert _zero(d), p
    # non-leaky, k-th spike (4.4)
    k = sympy.Symbol("k", positive=True)
    m = nonleaky_if.build()
    tau_s = m.symbols["tau_syn"]
    v = w * m.psp.subs(S, t - a) - (k - 1) * THETA
    ts = a + tau_s * sympy.log(w * tau_s / (w * tau_s - k * THETA))
    assert _zero(v.subs(t, ts) - THETA)
    for p in (w, a, THETA, tau_s):
        assert _zero(sympy.diff(ts, p) - ift(v, p, ts)), p


# ------------------------------------------------ closed forms: first crossing, against the scan


def _interval_sums(arr, spikes, kind, q):
    """The coefficients of Sections 2-4 from the arrivals (a, w) and own spikes so far."""
    if kind == "nonleaky":
        ts, th = q
        return (sum(w for _a, w in arr), sum(w * mp.exp(a / ts) for a, w in arr), len(spikes))
    if kind == "quadratic":
        ts, _tm, th = q
        tm = 2 * ts
        a_coef = sum(2 * ts * w * mp.exp(a / tm) for a, w in arr) - th * sum(mp.exp(tk / tm) for tk in spikes)
        b_coef = sum(2 * ts * w * mp.exp(2 * a / tm) for a, w in arr)
        return a_coef, b_coef
    tau, th = q[0], q[-1]
    scale = 1 if kind == "equal" else mp.e / tau
    alpha = scale * sum(w * mp.exp(a / tau) for a, w in arr)
    beta = scale * sum(w * a * mp.exp(a / tau) for a, w in arr) + th * sum(mp.exp(tk / tau) for tk in spikes)
    return alpha, beta


def candidate(arr, spikes, kind, q, wrong_root=False):
    """The closed-form spike time of the current interval (eqs. 2.5, 3.3, 4.3), or None."""
    th = q[-1]
    if kind == "nonleaky":
        ts = q[0]
        w_sum, s_sum, n = _interval_sums(arr, spikes, kind, q)
        if s_sum <= 0 or ts * w_sum - (n + 1) * th <= 0:
            return None
        return ts * mp.log(ts * s_sum / (ts * w_sum - (n + 1) * th))
    if kind == "quadratic":
        a_coef, b_coef = _interval_sums(arr, spikes, kind, q)
        disc = a_coef**2 - 4 * b_coef * th
        if b_coef <= 0 or a_coef <= 0 or disc < 0:
            return None
        root = (a_coef - mp.sqrt(disc) if wrong_root else a_coef + mp.sqrt(disc)) / (2 * b_coef)
        return -2 * q[0] * mp.log(root)
    tau = q[0]
    alpha, beta = _interval_sums(arr, spikes, kind, q)
    if alpha <= 0:
        return None
    z = -(th / (alpha * tau)) * mp.exp(beta / (alpha * tau))
    if z < -1 / mp.e:
        return None
    return beta / alpha - tau * mp.lambertw(z, -1 if wrong_root else 0)


def closed_form_simulation(inputs, weights, kind, q, t_max, wrong_root=False):
    """Event-driven simulation of one neuron using only the closed forms (Theorem 6)."""
    arrivals = sorted((mp.mpf(a), mp.mpf(w)) for ch, w in zip(inputs, weights) for a in ch)
    cuts = [a for a, _w in arrivals] + [mp.mpf(t_max)]
    spikes, lo = [], mp.mpf(0)
    for hi in cuts:
        while True:
            active = [(a, w) for a, w in arrivals if a <= lo]
            tc = candidate(active, spikes, kind, q, wrong_root)
            if tc is None or not lo < tc <= hi:
                break
            spikes.append(tc)
            lo = tc
        lo = hi
    return spikes


#: keeps the random instances at a few spikes each (the alpha kernel peaks at 1 per unit weight)
WEIGHT_SCALE = {"nonleaky": 2, "quadratic": 1, "equal": 2, "alpha": 3}


def scan_kernels(kind):
    if kind == "nonleaky":
        return cases.nonleaky_kernels(0.5), ("0.5", "1")
    if kind == "quadratic":
        return cases.lif_kernels(0.5, 1.0), ("0.5", "1", "1")
    if kind == "equal":
        return kernels(PSP_EQUAL, THETA * sympy.exp(-S / TAU), THETA, (TAU, THETA),
                       curv_psp=2.02 / 0.8, curv_reset=1.01 / 0.8**2), ("0.8", "1")
    return kernels(PSP_ALPHA, RESET_ALPHA.subs(TAU_R, TAU), THETA, (TAU, THETA),
                   curv_psp=1.01 * 2 * np.e / 0.8**2, curv_reset=1.01 / 0.8**2), ("0.8", "1")


@pytest.mark.parametrize("kind", ["nonleaky", "quadratic", "equal", "alpha"])
def test_closed_forms_are_the_first_crossing(kind):
    """Theorem 6 / Propositions 2-5: on random inputs (seeded; excitatory and inhibitory weights,
    several spikes with resets) the closed-form event-driven simulation reproduces the certified
    scan of the mp_network simulator to < 1e-25 at 30 digits."""
    rng = np.random.default_rng(7)
    kern, q_str = scan_kernels(kind)
    total = 0
    with mp.workdps(30):
        q = tuple(mp.mpf(x) for x in q_str)
        for _ in range(4):
            inputs = [sorted(float(x) for x in np.round(rng.uniform(0, 1.5, 2), 3)) for _c in range(3)]
            weights = [float(x) for x in np.round(rng.uniform(-1.5, 6.0, 3), 2)]
            weights = [w / WEIGHT_SCALE[kind] for w in weights]
            net = cases.single_neuron(kern, q_str, inputs, weights, 4)
            scanned = simulate(net).spikes[0]
            closed = closed_form_simulation(inputs, weights, kind, q, 4)
            assert len(scanned) == len(closed)
            for x, y in zip(scanned, closed):
                assert abs(x - y) < mp.mpf("1e-25")
            total += len(scanned)
    assert total >= 6  # the instances do spike, several times


@pytest.mark.parametrize("kind", ["quadratic", "equal"])
def test_other_root_is_not_the_first_crossing(kind):
    """Remark after Proposition 2/3: the other root (W_{-1}, or the '-' sign) also solves V = theta
    but is the downward crossing; a simulation using it disagrees with the scan."""
    kern, q_str = scan_kernels(kind)
    with mp.workdps(30):
        q = tuple(mp.mpf(x) for x in q_str)
        inputs, weights = [[0.0]], [6.0]
        scanned = simulate(cases.single_neuron(kern, q_str, inputs, weights, 4)).spikes[0]
        wrong = closed_form_simulation(inputs, weights, kind, q, 4, wrong_root=True)
        right = closed_form_simulation(inputs, weights, kind, q, 4)
        assert abs(scanned[0] - right[0]) < mp.mpf("1e-25")
        assert not wrong or abs(wrong[0] - scanned[0]) > 0.1
