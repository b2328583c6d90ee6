"""Gradients: FP vs adjoint (cross-method), closed-form derivatives (independent oracle), the own-reset term."""

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from exactsnn import DegenerateSpikeError, Network, adjoint, diagnose, forward_propagation, simulate

from closed_forms import lif_double_tau_times, nonleaky_times
from example_tally import TALLY

MODELS = [("lif", {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}),
          ("lif", {"tau_syn": 0.8, "tau_mem": 0.8, "threshold": 1.0}),
          ("lif", {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0}),
          ("nonleaky_if", {"tau_syn": 0.6, "threshold": 1.0})]


def _random_network(seed, recurrent):
    rng = np.random.default_rng(seed)
    if recurrent:
        n_in, n = 2, 5
        u = rng.uniform(0.0, 4.0, (n_in, n))
        w = rng.uniform(-0.6, 1.0, (n, n))
        return Network.recurrent(u, w, outputs=[3, 4], input_delays=rng.uniform(0, 0.3, (n_in, n)),
                                 delays=rng.uniform(0.01, 0.4, (n, n))), rng
    w1, w2 = rng.uniform(0.5, 4.0, (3, 6)), rng.uniform(-0.3, 1.2, (6, 2))
    return Network.feedforward([w1, w2], [rng.uniform(0, 0.3, (3, 6)), rng.uniform(0, 0.3, (6, 2))]), rng


@settings(max_examples=25, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), recurrent=st.booleans(), which=st.integers(0, len(MODELS) - 1))
@example(seed=1, recurrent=False, which=1)  # tau_syn == tau_mem
@example(seed=2, recurrent=True, which=3)  # non-leaky, recurrent
def _forward_propagation_equals_adjoint(seed, recurrent, which):
    TALLY.generated("grad: fp equals adjoint")
    name, params = MODELS[which]
    net, rng = _random_network(seed, recurrent)
    inputs = [sorted(rng.uniform(0, 1.0, rng.integers(0, 3)).tolist()) for _ in range(net.n_inputs)]
    r = simulate(name, net, inputs, 5.0, params=params, max_spikes=2000)
    assume(r.n_spikes > 0)  # nothing to compare in a silent network
    dl_dt = rng.normal(size=r.n_spikes)
    fp = forward_propagation(r, policy="flag").contract(dl_dt).flat()
    adj = adjoint(r, dl_dt, policy="flag").flat()
    scale = np.max(np.abs(adj))
    assert np.max(np.abs(fp - adj)) <= 1e-12 * scale
    TALLY.checked("grad: fp equals adjoint")


def test_forward_propagation_equals_adjoint():
    """FP contracted with random dL/dt equals the adjoint. Minimum share of examples with spikes: 80%
    (measured: 27 of 28, 96%)."""
    TALLY.reset("grad: fp equals adjoint")
    _forward_propagation_equals_adjoint()
    TALLY.require("grad: fp equals adjoint", 0.8)


def _single(w, t0, d, params, name="lif", t_max=30.0):
    return simulate(name, Network.feedforward([[[w]]], [[[d]]]), [[t0]], t_max, params=params)


def test_two_spike_neuron_needs_the_own_reset_term():
    """d t_2 / d w against the derivative of the closed form; dropping the reset coupling is wrong."""
    w, t0, tm = 9.0, 0.25, 1.2
    params = {"tau_syn": tm / 2, "tau_mem": tm, "threshold": 1.0}
    r = _single(w, t0, 0.0, params)
    assert r.n_spikes >= 2
    with mpmath.workdps(40):
        ref = [float(mpmath.diff(lambda x: lif_double_tau_times(x, t0, mpmath.mpf(tm), 1, 30)[k], mpmath.mpf(w)))
               for k in range(2)]
    jac = forward_propagation(r)
    np.testing.assert_allclose(jac.dts_dq.weights[:2, 0], ref, rtol=6e-15)  # measured 6.0e-16
    wrong = forward_propagation(r, _own_reset=False).dts_dq.weights[:2, 0]
    assert abs(wrong[0] - ref[0]) < 6e-15 * abs(ref[0])  # the first spike has no earlier spike
    assert abs(wrong[1] - ref[1]) > 1e-2 * abs(ref[1])  # the second one is wrong without the term


@pytest.mark.parametrize("w", [3.5, 12.0])
def test_nonleaky_all_parameter_derivatives_match_closed_form(w):
    """dt_k / d(weight, delay, input time, tau_syn, threshold) for every spike k.

    Tolerances about 10x the worst errors measured over both weights and every spike: time 1.8e-15 (abs),
    d/dw 1.4e-15, d/d(delay, input) 1.1e-16, d/dtau 1.9e-15, d/dtheta 2.0e-15 (relative)."""
    t0, d, tau, theta = 0.3, 0.2, 0.7, 1.1
    r = _single(w, t0, d, {"tau_syn": tau, "threshold": theta}, name="nonleaky_if", t_max=60.0)
    jac = forward_propagation(r)
    with mpmath.workdps(40):
        def t(k, **kw):
            a = dict(w=w, t0=t0 + d, tau=tau, theta=theta)
            a.update(kw)
            return nonleaky_times(a["w"], a["t0"], a["tau"], a["theta"], 1e9)[k]
        for k in range(r.n_spikes):
            assert abs(r.spike_time[k] - float(t(k))) < 2e-14
            np.testing.assert_allclose(jac.dts_dq.weights[k, 0], float(mpmath.diff(lambda x: t(k, w=x), w)), rtol=2e-14)
            dt0 = float(mpmath.diff(lambda x: t(k, t0=x), t0 + d))
            np.testing.assert_allclose([jac.dts_dq.delays[k, 0], jac.dts_dq.inputs[k, 0]], [dt0, dt0], rtol=2e-15)
            np.testing.assert_allclose(jac.dts_dq.model[k, 0], float(mpmath.diff(lambda x: t(k, tau=x), tau)),
                                       rtol=2e-14)
            np.testing.assert_allclose(jac.dts_dq.model[k, 1], float(mpmath.diff(lambda x: t(k, theta=x), theta)),
                                       rtol=2e-14)


def test_lif_time_constant_and_threshold_derivatives_match_closed_form():
    """tau_mem = 2 tau_syn closed form: d/d tau_mem along (tau_syn, tau_mem) = (tm/2, tm) is
    dt/dtau_syn / 2 + dt/dtau_mem; d/d threshold direct. Measured worst relative errors over the 4 spikes:
    4.6e-15 (along) and 3.1e-15 (threshold)."""
    w, t0, tm = 9.0, 0.25, 1.2
    r = _single(w, t0, 0.0, {"tau_syn": tm / 2, "tau_mem": tm, "threshold": 1.0})
    jac = forward_propagation(r)
    with mpmath.workdps(40):
        for k in range(r.n_spikes):
            along = float(mpmath.diff(lambda x: lif_double_tau_times(w, t0, x, 1, 1e9)[k], mpmath.mpf(tm)))
            dth = float(mpmath.diff(lambda x: lif_double_tau_times(w, t0, mpmath.mpf(tm), x, 1e9)[k], 1))
            np.testing.assert_allclose(0.5 * jac.dts_dq.model[k, 0] + jac.dts_dq.model[k, 1], along, rtol=5e-14)
            np.testing.assert_allclose(jac.dts_dq.model[k, 2], dth, rtol=5e-14)


@settings(max_examples=10, derandomize=True, database=None, deadline=None)
@given(seed=st.integers(0, 1000), shift=st.floats(0.05, 3.0))
def _uniform_input_shift(seed, shift):
    TALLY.generated("grad: input shift")
    net, rng = _random_network(seed, recurrent=False)
    inputs = [sorted(rng.uniform(0, 1.0, 2).tolist()) for _ in range(3)]
    r0 = simulate("lif", net, inputs, 8.0)
    r1 = simulate("lif", net, [[t + shift for t in c] for c in inputs], 8.0 + shift)
    assert r0.n_spikes == r1.n_spikes
    assume(r0.n_spikes > 0)
    np.testing.assert_allclose(r1.spike_time - r0.spike_time, shift, atol=1e-12)
    j0, j1 = forward_propagation(r0, policy="flag"), forward_propagation(r1, policy="flag")
    scale = max(1.0, np.abs(j0.dts_dq.weights).max())
    np.testing.assert_allclose(j1.dts_dq.weights, j0.dts_dq.weights, atol=1e-9 * scale)
    TALLY.checked("grad: input shift")


def test_uniform_input_shift_moves_spikes_and_keeps_weight_gradients():
    """Minimum share of examples with spikes: 80% (measured: 10 of 10)."""
    TALLY.reset("grad: input shift")
    _uniform_input_shift()
    TALLY.require("grad: input shift", 0.8)


def test_input_time_gradients_sum_to_one_per_spike():
    """Shifting every input by c shifts every spike by c: the input-time row sums are exactly 1."""
    net, rng = _random_network(3, recurrent=True)
    r = simulate("lif", net, [[0.1, 0.5], [0.3]], 6.0)
    jac = forward_propagation(r, policy="flag")
    np.testing.assert_allclose(jac.dts_dq.inputs.sum(axis=1), 1.0, atol=1e-11)


def test_tangential_crossing_is_reported_not_silently_inf():
    tm = 1.0
    w = 4.0 * (1 + 1e-13)  # peak = threshold (1 + 1e-13): Vdot at the crossing ~ 1e-7
    r = _single(w, 0.0, 0.0, {"tau_syn": tm / 2, "tau_mem": tm, "threshold": 1.0})
    assert r.n_spikes == 1
    diag = diagnose(r)
    assert any("tangential" in kind for _, kind, _ in diag.flags)
    with pytest.raises(DegenerateSpikeError, match="tangential"):
        forward_propagation(r, policy="raise")
    with pytest.warns(UserWarning, match="tangential"):
        forward_propagation(r, policy="warn")


def test_jacobian_d_is_a_deprecated_alias_of_dts_dq():
    """``Jacobian.d`` (the former name) still returns the same blocks, with a DeprecationWarning."""
    r = simulate("lif", Network.feedforward([[[6.0]]]), [[0.1]], 3.0)
    jac = forward_propagation(r)
    with pytest.warns(DeprecationWarning, match="dts_dq"):
        assert jac.d is jac.dts_dq
    assert jac.dts_dq.weights.shape == (r.n_spikes, 1) and r.n_spikes >= 1
