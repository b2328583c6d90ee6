"""``simulate()``'s feed-forward results kept as the engine's pools until read (issue 14, item 5).

On a feed-forward network ``simulate`` returns the feed-forward path's neuron-major pools (``simulate_pooled``);
the time-ordered fields are made the first time one is read (``order_pooled``), and ``loss_grad`` on a result
nobody has read sweeps the pools (``loss_adjoint_pooled``: ``adjoint_cone`` and a screen of the diagnostics on
the pools). The claims, each checked bit for bit (``np.array_equal``) against independent routes:

- the ordered fields equal those the engine gives when it orders at once (``simulate_packed``), and the general
  event loop's spikes, margins and diagnostics;
- ``loss_grad`` on the pools equals ``loss_grad`` on the ordered result and on the general engine's result, for
  both losses, and leaves the result unordered;
- where the pools cannot promise those bits (arrivals or visited spikes that tie) the result is ordered and the
  general route runs, with the same numbers;
- the pools' screen (``pools_clean``) answers as ``spikes_clean`` on the ordered spikes, for tolerances that
  make each of its tests fail, and a flagged pattern raises or warns as before.
"""

import copy
import dataclasses
import warnings

import numpy as np
import pytest

from exactsnn import Loss, Network, loss_grad, simulate
from exactsnn.diagnostics import DegenerateSpikeError
from exactsnn.errors import SimulationError
from exactsnn.numeric.spike_screen import spikes_clean
from exactsnn.resolve import resolve
from exactsnn.simulate import _NO_WATCH, Topology, _feedforward_tables, _run_packed, _unpacked
from test_pool_sweeps import CASES, T_MAX, network, patterns

LOSSES = ("ttfs_cross_entropy", "first_spike_sum")


def ordered_at_once(model, net, x, params):
    """(spike_time, spike_neuron, record, spike_vdot, spike_event_gap, near_margin, n_closed) from the engine's
    ``simulate_packed`` on the feed-forward path: the arrays as the engine orders them in the same call."""
    compiled, topo = resolve(model), Topology.of(net)
    res = simulate(model, net, x, T_MAX, params=params)  # its packed inputs and parameter table
    ff, tables = _feedforward_tables(compiled, net, topo)
    assert ff
    st, n_spk, n_arr, n_closed, _, _, f, i = _run_packed(compiled, res.ptab, res.pop, res.in_times, res.in_src, net,
                                                         topo, T_MAX, 10 ** 5, True, _NO_WATCH, True, tables)
    assert st == 0
    return (*_unpacked(n_spk, n_arr, f, i), n_closed)


def assert_equal_results(a, want):
    spike_time, spike_neuron, record, vdot, gap, near, n_closed = want
    np.testing.assert_array_equal(a.spike_time, spike_time)
    np.testing.assert_array_equal(a.spike_neuron, spike_neuron)
    for got, exp in zip(a.record, record):
        np.testing.assert_array_equal(got, exp)
    np.testing.assert_array_equal(a.spike_vdot, vdot)
    np.testing.assert_array_equal(a.spike_event_gap, gap)
    np.testing.assert_array_equal(a.near_margin, near)
    assert a.n_closed_form == n_closed


def assert_same_loss_grad(a, b):
    (la, ga), (lb, gb) = a, b
    assert la == lb
    for block in ("weights", "delays", "inputs", "model"):
        np.testing.assert_array_equal(getattr(ga, block), getattr(gb, block))


@pytest.mark.parametrize("model,params,scale", CASES)
@pytest.mark.parametrize("delays", ["uniform", "random"])
def test_pooled_results_order_as_the_engine_and_sweep_the_same_gradients(model, params, scale, delays):
    rng = np.random.default_rng(5)
    net = network(rng, delays, scale)
    pooled_sweeps = 0
    for x in patterns(rng, net.n_inputs, 6):
        label = int(rng.integers(0, 3))
        for kind in LOSSES:
            loss = Loss(kind, label=label)
            lazy = simulate(model, net, x, T_MAX, params=params)
            assert lazy._pools is not None  # nothing read yet
            got = loss_grad(lazy, loss, policy="flag")
            pooled_sweeps += lazy._pools is not None  # the sweep ran on the pools, without ordering them
            read = simulate(model, net, x, T_MAX, params=params)
            assert_equal_results(read, ordered_at_once(model, net, x, params))
            assert read._pools is None
            general = simulate(model, net, x, T_MAX, params=params, engine="general")
            assert_same_loss_grad(got, loss_grad(read, loss, policy="flag"))
            assert_same_loss_grad(got, loss_grad(general, loss, policy="flag"))
            np.testing.assert_array_equal(lazy.spike_time, general.spike_time)
            np.testing.assert_array_equal(lazy.spike_vdot, general.spike_vdot)
            np.testing.assert_array_equal(lazy.near_margin, general.near_margin)
    assert pooled_sweeps >= 10, "the pools' sweep was hardly used"


def test_ties_are_ordered_and_take_the_general_route():
    """Two inputs at one time onto one neuron (an arrival tie), and two hidden spikes at one time that the sweep
    visits: the pools decline, the result is ordered, and the numbers are the general engine's."""
    params = CASES[0][1]
    tie = (Network.feedforward([[[3.0, 2.5], [2.5, 3.0]], [[2.0], [2.5]]]), [[0.3], [0.3]], params)
    delays = [np.zeros((1, 2)), np.array([[0.1, 0.1], [0.25, 0.25]])]
    visited = (Network.feedforward([np.array([[6.0, 6.0]]), np.array([[3.0, 1.5], [3.0, 1.5]])], delays),
               [[0.1, 0.4]], {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0})
    for net, x, p in (tie, visited):
        loss = Loss("ttfs_cross_entropy", label=0)
        lazy = simulate("lif", net, x, T_MAX, params=p)
        got = loss_grad(lazy, loss, policy="flag")
        assert lazy._pools is None  # declined: ordered for the general route
        general = simulate("lif", net, x, T_MAX, params=p, engine="general")
        assert_same_loss_grad(got, loss_grad(general, loss, policy="flag"))
        np.testing.assert_array_equal(lazy.spike_time, general.spike_time)


def test_pools_screen_answers_as_the_ordered_screen():
    model, params, scale = CASES[1]
    rng = np.random.default_rng(9)
    net = network(rng, "random", scale)
    m = resolve(model).module
    checked = {True: 0, False: 0}
    for x in patterns(rng, net.n_inputs, 4):
        lazy = simulate(model, net, x, T_MAX, params=params)
        n_spk, n_arr, f, i, _ = lazy._pools
        (pool_t, vdot, gap, _, near, _, _, _, spk_lo, spk_hi, _,
         sorted_ids) = m._pool_views(net.n_neurons, n_spk, n_arr, f, i)
        read = simulate(model, net, x, T_MAX, params=params)
        steps = np.diff(read.spike_time)
        # tolerances around the data's own values: each test of the screen passes and fails somewhere
        for vdot_tol in (1e-6, float(np.median(read.spike_vdot))):
            for time_tol in (1e-9, float(np.median(read.spike_event_gap)), float(np.min(steps)) * 1.01,
                             float(np.min(steps)) * 0.99):
                for margin_tol in (1e-6, float(np.median(read.near_margin[np.isfinite(read.near_margin)]))):
                    want = spikes_clean(read.spike_time, read.spike_vdot, read.spike_event_gap, T_MAX,
                                        read.near_margin, vdot_tol, time_tol, margin_tol)
                    got = m.pools_clean(net.n_neurons, spk_lo, spk_hi, pool_t, vdot, gap, sorted_ids, T_MAX, near,
                                        vdot_tol, time_tol, margin_tol)
                    assert got == want
                    checked[bool(want)] += 1
    assert checked[True] and checked[False]


def test_a_flagged_pooled_result_raises_and_warns_as_before():
    """A spike within TIME_TOL of t_max: the pools' screen is not clean, and check_spikes decides as on an ordered
    result (raise, warn, flag)."""
    model, params, scale = CASES[0]
    rng = np.random.default_rng(3)
    net = network(rng, "uniform", scale)
    x = patterns(rng, net.n_inputs, 1)[0]
    t_max = float(simulate(model, net, x, T_MAX, params=params).spike_time[-1]) + 1e-12
    loss = Loss("ttfs_cross_entropy", label=0)

    def run(policy):
        lazy = simulate(model, net, x, t_max, params=params)
        assert lazy._pools is not None
        return loss_grad(lazy, loss, policy=policy)

    with pytest.raises(DegenerateSpikeError, match="spike at t_max"):
        run("raise")
    with pytest.warns(UserWarning, match="spike at t_max"):
        got = run("warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flagged = run("flag")
    general = loss_grad(simulate(model, net, x, t_max, params=params, engine="general"), loss, policy="flag")
    assert_same_loss_grad(got, general)
    assert_same_loss_grad(flagged, general)


def test_unordered_results_copy_and_replace():
    model, params, scale = CASES[2]
    rng = np.random.default_rng(12)
    net = network(rng, "random", scale)
    x = patterns(rng, net.n_inputs, 1)[0]
    loss = Loss("ttfs_cross_entropy", label=1)
    want = loss_grad(simulate(model, net, x, T_MAX, params=params, engine="general"), loss, policy="flag")
    twin = copy.copy(simulate(model, net, x, T_MAX, params=params))
    assert twin._pools is not None
    assert_same_loss_grad(loss_grad(twin, loss, policy="flag"), want)
    assert_equal_results(twin, ordered_at_once(model, net, x, params))
    moved = dataclasses.replace(simulate(model, net, x, T_MAX, params=params), t_max=T_MAX)
    assert moved._pools is None
    assert_equal_results(moved, ordered_at_once(model, net, x, params))
    assert_same_loss_grad(loss_grad(moved, loss, policy="flag"), want)
    with pytest.raises(AttributeError, match="no attribute 'spike_times'"):
        twin.spike_times  # noqa: B018  (a misspelt field is still an AttributeError)


def test_simulation_errors_are_raised_by_simulate():
    """A pattern the feed-forward path hands back with an error (the spike budget) fails in ``simulate`` itself,
    as before, not later when the result is read."""
    model, params, scale = CASES[0]
    rng = np.random.default_rng(5)
    net = network(rng, "uniform", scale)
    x = patterns(rng, net.n_inputs, 1)[0]
    assert simulate(model, net, x, T_MAX, params=params).n_spikes > 1
    with pytest.raises(SimulationError, match="max_spikes"):
        simulate(model, net, x, T_MAX, params=params, max_spikes=1)
