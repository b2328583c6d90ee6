"""Checks for recursive_state.md: the shift rule, the critical point, and the rounding bound of the state.

The identities are checked with SymPy and at 50 digits. The rounding checks are the labelled
cross-check of this file: they run the engine's float64 state (``exactsnn.numeric.newton_state``) over
long random histories and compare it with the same recursion at 50 digits and with the direct history
sum, and check Theorem 1's running bound and Theorem 2's event-count-free bound.
"""

import math

import mpmath as mp
import numpy as np
import pytest
import sympy

from exactsnn.numeric.newton_state import state_critical, state_shift_add, state_slope, state_value

DPS = 50
U = 2.0**-53


def _dd(u, x0, x1):
    """f[x0, x1](u) for f(lam) = exp(-lam u), at the working precision (confluent: -u exp(-x u))."""
    if x0 == x1:
        return -u * mp.exp(-x0 * u)
    return (mp.exp(-x1 * u) - mp.exp(-x0 * u)) / (x1 - x0)


def test_shift_rule_is_leibniz():
    """Eq. (1.2): c0 N0(u + D) + c1 N1(u + D) = c0' N0(u) + c1' N1(u), symbolically for distinct nodes."""
    u, dlt, x0, x1, c0, c1 = sympy.symbols("u Delta x0 x1 c0 c1", positive=True)

    def n1(s):
        return (sympy.exp(-x1 * s) - sympy.exp(-x0 * s)) / (x1 - x0)

    lhs = c0 * sympy.exp(-x0 * (u + dlt)) + c1 * n1(u + dlt)
    c0n = c0 * sympy.exp(-x0 * dlt) + c1 * n1(dlt)
    c1n = c1 * sympy.exp(-x1 * dlt)
    assert sympy.simplify(sympy.expand(lhs - (c0n * sympy.exp(-x0 * u) + c1n * n1(u)))) == 0


def test_shift_rule_confluent_limit():
    """Eq. (1.2) at x0 == x1 (N1 = -u e^{-x u}): the same formula, by the limit of divided differences."""
    u, dlt, x, c0, c1 = sympy.symbols("u Delta x c0 c1", positive=True)
    n1 = lambda s: -s * sympy.exp(-x * s)  # noqa: E731
    lhs = c0 * sympy.exp(-x * (u + dlt)) + c1 * n1(u + dlt)
    rhs = (c0 * sympy.exp(-x * dlt) + c1 * n1(dlt)) * sympy.exp(-x * u) + c1 * sympy.exp(-x * dlt) * n1(u)
    assert sympy.simplify(lhs - rhs) == 0


def test_critical_point_formula():
    """Proposition 2: F'(u*) = 0 at u* = r L(delta r), and F' changes sign there (50 digits)."""
    rng = np.random.default_rng(0)
    checked = 0
    with mp.workdps(DPS):
        for _ in range(200):
            x0, x1 = (float(v) for v in rng.uniform(0.2, 3.0, 2))
            c0, c1 = (float(v) for v in rng.normal(0.0, 2.0, 2))
            u_star = state_critical(x0, x1, c0, c1, False)
            if math.isnan(u_star):
                continue
            slope = lambda u: (-(x0 * c0 + c1) * mp.exp(-x0 * mp.mpf(u))  # noqa: E731
                               - x1 * c1 * _dd(mp.mpf(u), mp.mpf(x0), mp.mpf(x1)))
            scale = abs(x0 * c0 + c1) + abs(x1 * c1) * u_star
            assert abs(slope(u_star)) <= 1e-13 * scale
            h = 1e-6 * (1 + u_star)
            assert slope(u_star - h) * slope(u_star + h) < 0
            checked += 1
    assert checked >= 50


def _history(seed, n_events, rate, weights):
    """Random event times (about ``rate`` per unit time, multiples of 2^-10 so that every difference is
    exact in float64) and weights (spikes: -1 with the reset)."""
    rng = np.random.default_rng(seed)
    times = np.cumsum(np.ceil(rng.exponential(1.0 / rate, n_events) * 1024.0) / 1024.0)
    kinds = rng.random(n_events) < 0.3  # about 30 % own spikes (reset), the rest arrivals
    w = rng.uniform(*weights, n_events)
    return times, kinds, w


def _run(x0, x1, psp_c, reset_c, times, kinds, w, plain):
    """(float64 state, running bound B of Theorem 1, max B, 50-digit state, max weighted magnitude)."""
    c0 = c1 = 0.0
    b0 = b1 = 0.0
    b_max = 0.0
    a_max = 0.0
    with mp.workdps(DPS):
        m0 = m1 = mp.mpf(0)
        X0, X1 = mp.mpf(x0), mp.mpf(x1)
        t_prev = 0.0
        for t, is_spike, weight in zip(times, kinds, w):
            du = float(t - t_prev)
            k0, k1, wt = (reset_c[0], reset_c[1], -1.0) if is_spike else (psp_c[0], psp_c[1], float(weight))
            e0, e1 = math.exp(-x0 * du), math.exp(-x1 * du)
            d = 0.0 if plain else abs(float(_dd(mp.mpf(du), X0, X1)))
            a0 = abs(c0) * e0 + abs(c1) * d + abs(wt * k0)
            a1 = abs(c1) * e1 + abs(wt * k1)
            rho0 = 5.0 + 4.0 + 2.0 * min(x0, x1) * du
            b0, b1 = e0 * b0 + d * b1 + rho0 * U * a0, e1 * b1 + 4.0 * U * a1
            b_max = max(b_max, b0, b1)
            a_max = max(a_max, rho0 * a0, 4.0 * a1)
            c0, c1 = state_shift_add(x0, x1, c0, c1, du, k0, k1, wt, plain)
            D = mp.mpf(du)
            if plain:
                m0, m1 = m0 * mp.exp(-X0 * D) + wt * mp.mpf(k0), m1 * mp.exp(-X1 * D) + wt * mp.mpf(k1)
            else:
                m0, m1 = (m0 * mp.exp(-X0 * D) + m1 * _dd(D, X0, X1) + wt * mp.mpf(k0),
                          m1 * mp.exp(-X1 * D) + wt * mp.mpf(k1))
            t_prev = float(t)
            yield (c0, c1), (b0, b1), b_max, (m0, m1), a_max


def test_state_equals_history_sum():
    """Section 1: the 50-digit recursion equals the direct history sum (lif kernels, 60 events)."""
    x0, x1 = 1.0, 2.0  # tau_mem = 1, tau_syn = 0.5: psp = -N1, reset = theta N0
    times, kinds, w = _history(1, 60, 5.0, (0.5, 3.0))
    *_, (_, _, _, (m0, m1), _) = _run(x0, x1, (0.0, -1.0), (1.0, 0.0), times, kinds, w, False)
    with mp.workdps(DPS):
        t_end = mp.mpf(float(times[-1]))
        direct = mp.mpf(0)
        for t, is_spike, weight in zip(times, kinds, w):
            s = t_end - mp.mpf(float(t))
            direct += -mp.exp(-s) if is_spike else -mp.mpf(float(weight)) * _dd(s, mp.mpf(x0), mp.mpf(x1))
        assert abs(m0 - direct) <= mp.mpf(10) ** (-40)  # V at the last event: N0(0) = 1, N1(0) = 0
        u = mp.mpf("0.37")
        later = sum((-mp.exp(-(s + u)) if k else -mp.mpf(float(wt)) * _dd(s + u, mp.mpf(x0), mp.mpf(x1)))
                    for s, k, wt in ((t_end - mp.mpf(float(t)), k, wt) for t, k, wt in zip(times, kinds, w)))
        assert abs(m0 * mp.exp(-x0 * u) + m1 * _dd(u, mp.mpf(x0), mp.mpf(x1)) - later) <= mp.mpf(10) ** (-40)


@pytest.mark.parametrize("name,x0,x1,plain", [
    ("lif tau_syn=0.5", 1.0, 2.0, False),
    ("lif 1e-12 from tau_syn=tau_mem", 1.0, 1.0 - 1e-12, False),
    ("lif tau_syn=tau_mem", 1.0, 1.0, False),
    ("nonleaky_if (plain, zero node)", 0.0, 2.0, True),
])
def test_running_bound_holds_over_5000_events(name, x0, x1, plain):
    """Theorem 1: |c_hat - c| <= B after every one of 5000 events (lif-type kernels psp = -N1 (plain:
    tau (1 - e^{-x1 u})), reset = theta N0); Theorem 2: for a leaky neuron B stays below (2.2)."""
    psp_c = (1.0 / x1, -1.0 / x1) if plain else (0.0, -1.0)
    times, kinds, w = _history(2, 5000, 20.0, (0.2, 3.0))
    worst_ratio = 0.0
    with mp.workdps(DPS):
        for (c0, c1), (b0, b1), b_max, (m0, m1), a_max in _run(x0, x1, psp_c, (1.0, 0.0), times, kinds, w, plain):
            e0, e1 = abs(c0 - float(m0)), abs(c1 - float(m1))
            assert e0 <= b0 * (1 + 1e-6) and e1 <= b1 * (1 + 1e-6)
            worst_ratio = max(worst_ratio, e0 / b0 if b0 else 0.0, e1 / b1 if b1 else 0.0)
    if min(x0, x1) > 0:
        q = math.exp(-min(x0, x1))
        per_unit = np.max(np.histogram(times, bins=np.arange(0.0, times[-1] + 2.0))[0])
        assert b_max <= U * a_max * per_unit * (2 / (1 - q) + q / (1 - q) ** 2)
    print(f"{name}: worst |error| / bound = {worst_ratio:.2f}, largest bound {b_max:.1e}")


def test_value_and_slope_match_definition():
    """(1.1) and Proposition 2's F' at random points, against the definition at 50 digits."""
    rng = np.random.default_rng(3)
    with mp.workdps(DPS):
        for _ in range(100):
            x0, x1 = (float(v) for v in rng.uniform(0.1, 3.0, 2))
            if rng.random() < 0.3:
                x1 = x0 * (1 + 1e-13)
            c0, c1, u = float(rng.normal()), float(rng.normal()), float(rng.uniform(0, 5))
            val = c0 * mp.exp(-x0 * mp.mpf(u)) + c1 * _dd(mp.mpf(u), mp.mpf(x0), mp.mpf(x1)) - 1
            slope = -(x0 * c0 + c1) * mp.exp(-x0 * mp.mpf(u)) - x1 * c1 * _dd(mp.mpf(u), mp.mpf(x0), mp.mpf(x1))
            scale = abs(c0) + abs(c1) * (1 + u) + 1
            assert abs(state_value(x0, x1, c0, c1, 1.0, u, False) - val) <= 16 * U * scale
            assert abs(state_slope(x0, x1, c0, c1, u, False) - slope) <= 16 * U * scale * (1 + x0 + x1)
