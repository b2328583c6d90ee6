"""End-to-end tier for the simulator: spike times vs independent closed forms (mpmath)."""

import math
import re

import mpmath
import numpy as np
import pytest

from exactsnn import Loss, Network, batch_loss_grad, diagnose, loss_grad, membrane_potential, simulate
from exactsnn.errors import SimulationError

from closed_forms import alpha_first_time, lif_double_tau_times, nonleaky_times


def _one(w, d=0.0):
    return Network.feedforward([[[w]]], [[[d]]])


@pytest.mark.parametrize("w", [3.0, 7.5, 20.0])
def test_nonleaky_multi_spike_closed_form(w):
    tau, theta, t0 = 0.7, 1.0, 0.3
    r = simulate("nonleaky_if", _one(w), [[t0]], 50.0, params={"tau_syn": tau, "threshold": theta})
    with mpmath.workdps(40):
        ref = [float(t) for t in nonleaky_times(mpmath.mpf(w), mpmath.mpf(t0), mpmath.mpf(tau), 1, 50)]
    assert len(ref) >= 2 and r.n_spikes == len(ref)
    np.testing.assert_allclose(r.spike_time, ref, rtol=0, atol=1e-14)  # measured 1.3e-15 (3 ulps) over the 3 w


@pytest.mark.parametrize("w", [4.5, 9.0, 30.0])
def test_lif_double_tau_multi_spike_closed_form(w):
    """Several spikes between two input events (none in between): every crossing is found."""
    tm, theta, t0 = 1.2, 1.0, 0.25
    r = simulate("lif", _one(w), [[t0]], 30.0, params={"tau_syn": tm / 2, "tau_mem": tm, "threshold": theta})
    with mpmath.workdps(40):
        ref = [float(t) for t in lif_double_tau_times(mpmath.mpf(w), mpmath.mpf(t0), mpmath.mpf(tm), 1, 30)]
    assert len(ref) >= 1 and r.n_spikes == len(ref)
    np.testing.assert_allclose(r.spike_time, ref, rtol=0, atol=1e-14)  # measured 8.9e-16 (4 ulps) over the 3 w


@pytest.mark.parametrize("w", [3.2, 4.0, 11.0])
def test_lif_equal_tau_first_spike_lambert_w(w):
    tau, t0 = 0.9, 0.1
    r = simulate("lif", _one(w), [[t0]], 20.0, params={"tau_syn": tau, "tau_mem": tau, "threshold": 1.0})
    with mpmath.workdps(40):
        ref = float(alpha_first_time(mpmath.mpf(w), mpmath.mpf(t0), mpmath.mpf(tau), 1))
    assert abs(r.spike_time[0] - ref) < 4e-15  # measured 3.3e-16 over the 3 w


@pytest.mark.parametrize("excess,spikes", [(1e-9, 1), (-1e-9, 0)])
def test_barely_reached_threshold_is_decided_exactly(excess, spikes):
    """Peak of V = threshold (1 + excess): a crossing lasting ~1e-4 time units is found, and a miss by
    1e-9 is reported as the neuron's near-margin. A sampler with step 1e-3 would miss the crossing."""
    tm, theta = 1.0, 1.0
    w = 4 * theta * (1 + excess) / tm  # peak of w tm (x - x^2) is w tm / 4
    r = simulate("lif", _one(w), [[0.0]], 10.0, params={"tau_syn": tm / 2, "tau_mem": tm, "threshold": theta})
    assert r.n_spikes == spikes
    if spikes:
        with mpmath.workdps(40):
            ref = float(lif_double_tau_times(mpmath.mpf(w), 0, mpmath.mpf(tm), 1, 10)[0])
        # sqrt-conditioned near the tangency: 4 eps / sqrt(excess) = 2.8e-11 (measured 4.2e-13)
        assert abs(r.spike_time[0] - ref) <= 4 * np.finfo(float).eps / math.sqrt(excess)
    else:
        assert 0 < r.near_margin[0] < 2e-9


def test_delays_shift_spikes_exactly():
    r0 = simulate("lif", _one(9.0), [[0.2]], 20.0)
    r1 = simulate("lif", _one(9.0, d=0.75), [[0.2]], 20.0)
    assert r0.n_spikes == r1.n_spikes > 1
    np.testing.assert_allclose(r1.spike_time - r0.spike_time, 0.75, atol=1e-13)


def test_spikes_after_t_max_do_not_exist():
    full = simulate("lif", _one(9.0), [[0.2]], 20.0)
    cut = full.spike_time[1] + 1e-3
    r = simulate("lif", _one(9.0), [[0.2]], cut)
    np.testing.assert_array_equal(r.spike_time, full.spike_time[:2])


def test_membrane_potential_reaches_threshold_at_spikes():
    r = simulate("lif", _one(9.0), [[0.2]], 20.0)
    v_before = membrane_potential(r, 0, r.spike_time - 1e-9)
    np.testing.assert_allclose(v_before, 1.0, atol=1e-8)
    v_after = membrane_potential(r, 0, r.spike_time)  # right limits: after the reset
    np.testing.assert_allclose(v_after, 0.0, atol=1e-8)


def test_recurrent_network_with_self_connection_runs_and_is_causal():
    u = [[6.0, 0.0, 1.5], [0.0, 5.0, 1.5]]
    w = [[0.4, 0.8, 0.0], [0.0, -0.5, 0.9], [1.2, 0.3, 0.6]]
    dw = [[0.1, 0.2, 0.0], [0.3, 0.1, 0.2], [0.05, 0.0, 0.4]]
    net = Network.recurrent(u, w, outputs=[2], delays=dw)
    r = simulate("lif", net, [[0.1, 0.6], [0.3]], 8.0)
    assert r.n_spikes >= 3
    assert np.all(np.diff(r.spike_time) >= 0)
    # causal record: every arrival happened at or before the spike that lists it
    head, prev, n_arr, arr_time = r.record[0], r.record[1], r.record[2], r.record[3]
    arr_prev = r.record[6]
    for k in range(r.n_spikes):
        a = head[k]
        while a >= 0:
            assert arr_time[a] <= r.spike_time[k]
            a = arr_prev[a]


def test_runaway_recurrent_network_hits_spike_budget_with_clear_error():
    net = Network.recurrent([[5.0]], [[5.0]], outputs=[0])
    with pytest.raises(SimulationError, match="max_spikes") as err:
        simulate("lif", net, [[0.0]], 1e4, max_spikes=500)
    # the message names where the run stopped: the 501st spike (neuron 0), the last one up to that time
    stop = float(re.search(r"neuron 0 at t=([0-9.e+-]+)\)", str(err.value)).group(1))
    r = simulate("lif", net, [[0.0]], stop * (1 + 1e-12), max_spikes=1000)
    assert r.n_spikes == 501 and r.spike_time[-1] == pytest.approx(stop, rel=1e-13)


def test_batch_is_identical_to_serial(rng):
    net = Network.feedforward([rng.uniform(0.5, 3.0, (3, 8)), rng.uniform(0.0, 1.5, (8, 3))],
                              [rng.uniform(0, 0.2, (3, 8)), rng.uniform(0, 0.2, (8, 3))])
    patterns = [[sorted(rng.uniform(0, 1.5, rng.integers(1, 3)).tolist()) for _ in range(3)] for _ in range(24)]
    labels = rng.integers(0, 3, 24)
    loss = Loss("ttfs_cross_entropy")
    batch = batch_loss_grad("lif", net, patterns, 6.0, loss, labels=labels)
    for b, (x, lab) in enumerate(zip(patterns, labels)):
        value, g = loss_grad(simulate("lif", net, x, 6.0), Loss("ttfs_cross_entropy", label=int(lab)), policy="flag")
        assert batch.loss[b] == value
        np.testing.assert_array_equal(batch.grad.weights[b], g.weights)
        np.testing.assert_array_equal(batch.grad.delays[b], g.delays)
        np.testing.assert_array_equal(batch.grad.model[b], g.model)
        np.testing.assert_array_equal(batch.grad.inputs[b, :g.inputs.size], g.inputs)


@pytest.mark.parametrize("gap", [1e-3, 1e-6, 1e-9])
def test_interval_strategy_reports_how_close_a_neuron_came_to_spiking(gap):
    """One input of weight (1 - gap) * theta / max psp: V peaks ``gap * theta`` below threshold. lif (the
    exponential-sum strategy) finds the maximum in closed form; adaptive_threshold with the same psp
    (interval strategy) bounds it by refined enclosures: its near_margin is in [0.8, 1] x the true margin
    when that is below 1e-5 theta, and a lower bound above (it used to be inf: never computed)."""
    tau_syn, tau_mem = 0.5, 1.0
    peak = 0.25  # psp max at s = ln 2 for these constants: exp(-ln 2) - exp(-2 ln 2)
    net = Network.feedforward([np.array([[(1.0 - gap) / peak]])])
    params = {"tau_syn": tau_syn, "tau_mem": tau_mem}
    exact = simulate("lif", net, [[0.0]], 5.0, params=params)
    interval = simulate("adaptive_threshold", net, [[0.0]], 5.0, params=params)
    assert exact.n_spikes == interval.n_spikes == 0
    assert exact.near_margin[0] == pytest.approx(gap, rel=1e-6)
    m = interval.near_margin[0]
    if gap < 1e-5:
        assert 0.8 * gap <= m <= gap * (1 + 1e-6), m
    else:
        assert 1e-5 * 0.8 <= m <= gap * (1 + 1e-6), m
    flagged = [f for f in diagnose(interval, margin_tol=1e-6).flags if f[0] == -1]
    assert bool(flagged) == (gap <= 1e-6), flagged
