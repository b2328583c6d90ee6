"""The per-sample API's cheap paths (issue 14, item 5) against the slow paths they replace.

- The network's engine layout is cached on the (read-only) network: a changed weight must still be seen.
- ``pack_pattern`` checks a pattern in one compiled pass; its output and its errors must be those of
  ``validate_inputs`` + ``pack_inputs``.
- ``diagnose``/``apply_policy`` skip the per-test work when the one-pass screen ``spikes_clean`` finds
  nothing; the screen must say "clean" exactly when every test finds nothing.
- ``sample_loss_dt`` (one compiled call) must equal the loss built from the first spikes in Python.
- ``loss_grad`` (one compiled call: loss, screen and adjoint) must equal ``loss_value_and_dt`` + ``adjoint``
  bit for bit, and raise and warn as they do.
"""

import dataclasses
import pickle
import warnings

import numpy as np
import pytest

from exactsnn import (
    DegenerateSpikeError, InputSpikeError, Loss, Network, Patterns, adjoint, diagnose, loss_grad, simulate,
)
from exactsnn.diagnostics import _findings, apply_policy
from exactsnn.losses import KINDS, loss_value_and_dt
from exactsnn.network import validate_inputs
from exactsnn.numeric.losses_nb import loss_and_grad
from exactsnn.numeric.spike_screen import all_finite, spikes_clean
from exactsnn.packing import _MAX_CHECKED, _checked, pack_pattern, pack_patterns, packed_channels
from exactsnn.simulate import Topology, _params_key, pack_inputs

PATTERN = [[0.0, 0.4, 0.9], [0.2, 0.25]]


def _weights(seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.5, 5.0, (2, 4)), rng.uniform(0.3, 3.0, (4, 3))]


def _same_run(a, b):
    return (np.array_equal(a.spike_time, b.spike_time) and np.array_equal(a.spike_neuron, b.spike_neuron)
            and np.array_equal(a.record.arrival_time, b.record.arrival_time))


# ------------------------------------------------------------------ the cached layout
def test_network_arrays_are_read_only_copies():
    w = _weights(0)
    net = Network.feedforward(w)
    with pytest.raises(ValueError, match="read-only"):
        net.weight[0] = 1.0
    direct = Network(net.kind, net.n_inputs, net.n_neurons, net.pre.copy(), net.post.copy(), mine := net.weight.copy(),
                     net.delay.copy(), net.outputs.copy(), net.blocks, net.layer_sizes)
    mine[0] = 123.0  # the caller's array stays writable and is not the network's
    assert direct.weight[0] == net.weight[0] and mine.flags.writeable and direct.frozen


def test_changed_weights_are_seen_through_the_cache():
    """with_weights, a weight made writable and changed in place, and pickling: each simulation equals a
    fresh network's, and the cached layout of the first network is never reused for another's weights."""
    w = _weights(1)
    net = Network.feedforward(w)
    first = simulate("lif", net, PATTERN, 4.0)
    assert Topology.of(net) is Topology.of(net)  # built once
    scaled = [m * 0.6 for m in w]
    via_with = simulate("lif", net.with_weights(np.concatenate([m.ravel() for m in scaled])), PATTERN, 4.0)
    fresh = simulate("lif", Network.feedforward(scaled), PATTERN, 4.0)
    assert _same_run(via_with, fresh) and not _same_run(via_with, first)
    assert np.array_equal(via_with.topology.syn_w, fresh.topology.syn_w)

    net.weight.flags.writeable = True  # a caller who insists on changing a weight in place
    net.weight[:] *= 0.6
    assert not net.frozen
    in_place = simulate("lif", net, PATTERN, 4.0)
    assert _same_run(in_place, fresh) and np.array_equal(in_place.topology.syn_w, fresh.topology.syn_w)

    back = pickle.loads(pickle.dumps(Network.feedforward(w)))
    assert back.frozen and not back.cache and _same_run(simulate("lif", back, PATTERN, 4.0), first)


def test_changed_parameters_are_seen_through_the_memo():
    net = Network.feedforward(_weights(2))
    params = {"tau_syn": 0.5, "tau_mem": 1.0}
    a = simulate("lif", net, PATTERN, 4.0, params=params)
    params["tau_syn"] = 0.8  # the same dict, changed
    b = simulate("lif", net, PATTERN, 4.0, params=params)
    assert b.ptab[0, 0] == 0.8 and _same_run(b, simulate("lif", net, PATTERN, 4.0, params={"tau_syn": 0.8}))
    assert not _same_run(a, b)
    b.ptab[0, 0] = 99.0  # a result's table is its own copy
    assert simulate("lif", net, PATTERN, 4.0, params=params).ptab[0, 0] == 0.8
    for _ in range(2):  # a bad value is refused every time, not remembered
        with pytest.raises(ValueError, match="tau_syn"):
            simulate("lif", net, PATTERN, 4.0, params={"tau_syn": -1.0})
    assert _params_key("m", {"x": 0.0}, 1) != _params_key("m", {"x": -0.0}, 1)
    assert _params_key("m", {"x": True}, 1) is None and _params_key("m", {"x": [1.0]}, 1) is None


# ------------------------------------------------------------------ input patterns
GOOD = [
    [[0.1, 0.5], [0.2]], [[], [0.3]], [[], []], [0.4, [0.1, 0.1]], [[1, 2.5], [np.float64(0.5)]],
    [np.array([0.1, 0.9]), np.array([2, 3])], np.array([[0.1, 0.2], [0.3, 0.4]]), ([0.0], (0.5, 0.6)),
    [[np.float32(0.25)], [np.int64(3)]], [[-0.0], [1e100]],
]
BAD = [
    [[float("nan")], []], [[float("inf")], []], [[-0.5], []], [[0.5, 0.2], []], [[0.1]], "ab",
    [["x"], []], [["0.5"], []], [[True], []], [[None], []], [[0.1], [[0.2]]], [[1e101], []],
    [[0.1, -1e-300], [0.0]], [0.1, True], [[10 ** 30], [0.1]], [np.array([0.3, 0.1]), []],
    np.array([[0.1, np.nan], [0.2, 0.3]]),
]


@pytest.mark.parametrize("pattern", GOOD, ids=range(len(GOOD)))
def test_pack_pattern_equals_the_checked_packing(pattern):
    times, src = pack_pattern(pattern, 2)
    want_t, want_s = pack_inputs(validate_inputs(pattern, 2))
    assert times.dtype == np.float64 and src.dtype == np.int64
    assert np.array_equal(times, want_t) and np.array_equal(src, want_s)
    assert np.array_equal(np.signbit(times), np.signbit(want_t))


@pytest.mark.parametrize("pattern", BAD, ids=range(len(BAD)))
def test_pack_pattern_refuses_with_the_same_message(pattern):
    with pytest.raises(InputSpikeError) as want:
        validate_inputs(pattern, 2)
    with pytest.raises(InputSpikeError) as got:
        pack_pattern(pattern, 2)
    assert str(got.value) == str(want.value)


def test_pack_pattern_on_random_patterns():
    rng = np.random.default_rng(5)
    for _ in range(200):
        pattern = [np.sort(rng.uniform(0, 3, rng.integers(0, 4))).tolist() for _ in range(3)]
        if rng.random() < 0.3:  # one channel out of order
            c = int(rng.integers(0, 3))
            pattern[c] = pattern[c][::-1] + [0.0]
        try:
            want = pack_inputs(validate_inputs(pattern, 3))
        except InputSpikeError as err:
            with pytest.raises(InputSpikeError, match=str(err).replace("[", r"\[").replace("]", r"\]")):
                pack_pattern(pattern, 3)
            continue
        got = pack_pattern(pattern, 3)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def _packed_one_by_one(patterns, n_inputs):
    packed = [pack_pattern(x, n_inputs) for x in patterns]
    return (np.concatenate([t for t, _ in packed]), np.concatenate([s for _, s in packed]),
            np.cumsum([0] + [t.size for t, _ in packed]))


def test_patterns_pack_equals_packing_each_pattern():
    """``Patterns.pack`` checks a batch of lists in one pass (``pack_patterns``): the same arrays, bit for bit,
    as packing each pattern alone; other forms (arrays, tuples, numbers as channels) take the per-pattern path."""
    rng = np.random.default_rng(11)
    lists = [p for p in GOOD if isinstance(p, list) and all(isinstance(c, list) for c in p)]
    batches = [lists[:-1], GOOD, lists]  # lists[-1] holds 1e100: past 2**63, checked pattern by pattern
    for _ in range(50):
        batches.append([[np.sort(rng.uniform(0, 3, rng.integers(0, 4))).tolist() for _ in range(2)]
                        for _ in range(int(rng.integers(1, 6)))])
    batches.append([[[1, 2], [np.float64(0.5), np.int32(7)]], [[-0.0], []]])  # ints, numpy scalars, a signed zero
    fast = 0
    for batch in batches:
        got = Patterns.pack(batch, 2)
        want = _packed_one_by_one(batch, 2)
        fast += pack_patterns(batch, 2) is not None
        assert got.times.dtype == np.float64 and got.src.dtype == np.int64 and got.ptr.dtype == np.int64
        assert np.array_equal(got.times, want[0]) and np.array_equal(got.src, want[1])
        assert np.array_equal(got.ptr, want[2]) and np.array_equal(np.signbit(got.times), np.signbit(want[0]))
    assert fast == len(batches) - 2  # all but GOOD (arrays, tuples, numbers as channels) and lists (1e100)


def test_small_patterns_are_checked_as_the_compiled_pass_checks_them():
    """Up to ``_SMALL`` spikes ``_checked`` tests the times in Python; the compiled pass (``packed_channels``) is the
    oracle: the same verdict and channels on random patterns of edge values (signed zeros, NaN, infinities, the
    2**63 limit, ints, values out of order)."""
    rng = np.random.default_rng(12)
    values = [0.0, -0.0, 1.0, 2.5, float("nan"), float("inf"), -1e-300, 9.2e18, 9.3e18, 1e100, 3, 2 ** 63, 0.5]
    verdicts = {True: 0, False: 0}
    for _ in range(5000):
        lens = rng.integers(0, 4, rng.integers(1, 5)).tolist()
        flat = [values[v] for v in rng.integers(0, len(values), sum(lens))]
        a = np.array(flat, np.float64)
        src = packed_channels(a, np.array(lens, np.int64), _MAX_CHECKED)
        got = _checked(flat, lens)
        assert (got is not None) == (src.size == a.size)
        if got is not None:
            np.testing.assert_array_equal(got[1], src)
            assert got[1].dtype == np.int64 and np.array_equal(np.signbit(got[0]), np.signbit(a))
        verdicts[got is not None] += 1
    assert min(verdicts.values()) > 500


@pytest.mark.parametrize("pattern", BAD, ids=range(len(BAD)))
def test_patterns_pack_names_the_bad_pattern(pattern):
    """A bad entry anywhere in a batch: the per-pattern path's error, naming ``patterns[b]``."""
    batch = [[[0.1], [0.2, 0.3]], pattern, [[], [0.5]]]
    with pytest.raises(InputSpikeError) as want:
        pack_pattern(pattern, 2, "patterns[1]")
    with pytest.raises(InputSpikeError) as got:
        Patterns.pack(batch, 2)
    assert str(got.value) == str(want.value) and "patterns[1]" in str(got.value)


# ------------------------------------------------------------------ diagnostics screen
def _results():
    rng = np.random.default_rng(7)
    for seed in range(3):
        net = Network.feedforward(_weights(10 + seed))
        yield simulate("lif", net, [np.sort(rng.uniform(0, 1, 3)).tolist(), [0.2, 0.2]], 3.0)


def test_screen_says_clean_exactly_when_no_test_finds_anything():
    """Over tolerances from far below to far above the recorded numbers (so from no finding to many),
    ``spikes_clean`` is True iff the full per-spike, per-neuron tests flag nothing."""
    checked = {True: 0, False: 0}
    for res in _results():
        v, g = res.spike_vdot, res.spike_event_gap
        near = res.near_margin[np.isfinite(res.near_margin)]
        gaps = np.concatenate([g, res.t_max - res.spike_time, np.diff(res.spike_time)])
        for q in (0.0, 0.01, 0.2, 0.5, 1.0):
            vt = float(np.quantile(v, q)) * (0.999 if q == 0 else 1.0)
            tt = float(np.quantile(gaps, q)) * (0.999 if q == 0 else 1.0)
            mt = float(np.quantile(near, q)) * (0.999 if q == 0 else 1.0) if near.size else 1.0
            _, flags = _findings(res, v, g, res.t_max - res.spike_time, vt, tt, mt)
            clean = spikes_clean(res.spike_time, v, g, res.t_max, res.near_margin, vt, tt, mt)
            assert clean == (not flags)
            checked[clean] += 1
            d = diagnose(res, vt, tt, mt)
            assert d.flags == flags and not d.vdot.flags.writeable
    assert checked[True] and checked[False]


def test_screen_sends_nan_and_disorder_to_the_full_tests():
    res = next(_results())
    args = (res.spike_vdot, res.spike_event_gap, res.t_max, res.near_margin, 1e-6, 1e-9, 1e-6)
    assert spikes_clean(res.spike_time, *args)
    assert not spikes_clean(res.spike_time[::-1].copy(), *args)
    bad = res.spike_vdot.copy()
    bad[1] = np.nan
    assert not spikes_clean(res.spike_time, bad, *args[1:])
    assert diagnose(dataclasses.replace(res, spike_vdot=bad)).spike_findings(1)[0][0].startswith("tangential")


def test_apply_policy_still_raises_and_warns():
    res = next(_results())
    k = res.n_spikes - 1
    late = dataclasses.replace(res, t_max=float(res.spike_time[k]) + 1e-12)  # last spike at t_max
    with pytest.raises(DegenerateSpikeError, match="spike at t_max"):
        apply_policy(late, "raise")
    with pytest.warns(UserWarning, match="spike at t_max"):
        adjoint(late, np.ones(late.n_spikes), policy="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        apply_policy(res, "raise")
    with pytest.raises(ValueError, match="policy"):
        apply_policy(res, "ignore")


@pytest.mark.parametrize("model,params", [("lif", None), ("srm_alpha", None), ("adaptive_threshold", None),
                                          ("lif", {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0})])
def test_loss_grad_in_one_call_equals_loss_then_adjoint(model, params):
    rng = np.random.default_rng(3)
    compared = 0
    for seed in range(3):
        net = Network.feedforward([rng.uniform(1.0, 4.0, (2, 5)), rng.uniform(0.5, 3.0, (5, 3))])
        res = simulate(model, net, [np.sort(rng.uniform(0, 1, 3)).tolist(), [0.2, 0.6]], 3.0, params=params)
        for loss in (Loss("ttfs_cross_entropy", label=seed % 3, gamma=0.1), Loss("first_spike_sum")):
            value, g = loss_grad(res, loss, policy="raise")
            value2, dl_dt, _ = loss_value_and_dt(res, loss)
            g2 = adjoint(res, dl_dt, policy="raise")
            assert value == value2 and type(value) is float
            for block in ("weights", "delays", "inputs", "model"):
                np.testing.assert_array_equal(getattr(g, block), getattr(g2, block))
            compared += bool(np.any(g.weights))
    assert compared >= 3, "too few patterns with a gradient to compare"


def test_loss_grad_in_one_call_raises_and_warns_as_before():
    res = next(_results())
    loss = Loss("ttfs_cross_entropy", label=1)
    late = dataclasses.replace(res, t_max=float(res.spike_time[-1]) + 1e-12)  # last spike at t_max
    with pytest.raises(DegenerateSpikeError, match="spike at t_max"):
        loss_grad(late, loss, policy="raise")
    with pytest.warns(UserWarning, match="spike at t_max"):
        value, g = loss_grad(late, loss, policy="warn")
    assert value == loss_value_and_dt(late, loss)[0]
    with pytest.raises(ValueError, match="policy"):
        loss_grad(res, loss, policy="ignore")
    with pytest.raises(ValueError, match="label"):
        loss_grad(res, Loss("ttfs_cross_entropy", label=7), policy="flag")
    with pytest.raises(ValueError, match="overflowed"):
        loss_grad(res, Loss("ttfs_cross_entropy", label=0, gamma=1.0, tau1=1e-5), policy="flag")
    no_diag = dataclasses.replace(res, spike_vdot=None, spike_event_gap=None)  # the general route
    np.testing.assert_array_equal(loss_grad(no_diag, loss, policy="flag")[1].weights,
                                  loss_grad(res, loss, policy="flag")[1].weights)


def test_all_finite():
    a = np.array([-1.7976931348623157e308, -1.0, -5e-324, 0.0, 5e-324, 1.0, 1.7976931348623157e308])
    assert all_finite(a) and all_finite(np.zeros(0))
    for bad in (np.inf, -np.inf, np.nan):
        b = a.copy()
        b[3] = bad
        assert not all_finite(b)


# ------------------------------------------------------------------ the loss in one call
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_sample_loss_equals_the_loss_from_first_spikes(kind):
    for res in _results():
        for label in range(3):
            loss = Loss(kind, label=label)
            value, dl_dt, t_first = loss_value_and_dt(res, loss)
            times, ids = [], []
            for j in res.network.outputs:  # the first spikes, found the plain way
                hits = [k for k in range(res.n_spikes) if res.spike_neuron[k] == j]
                ids.append(hits[0] if hits else -1)
                times.append(res.spike_time[hits[0]] if hits else res.t_max)
            times, ids = np.array(times), np.array(ids)
            dl_do = np.zeros(times.size)
            want = loss_and_grad(KINDS[kind], times, ids < 0, label, loss.tau0, loss.tau1, loss.gamma, dl_do)
            want_dt = np.zeros(res.n_spikes)
            want_dt[ids[ids >= 0]] = dl_do[ids >= 0]
            assert value == want and np.array_equal(t_first, times) and np.array_equal(dl_dt, want_dt)
            got_t, got_ids = res.first_spikes()
            assert np.array_equal(got_t, times) and np.array_equal(got_ids, ids)
            _, grad = loss_grad(res, loss, policy="flag")
            assert np.array_equal(grad.weights, adjoint(res, want_dt, policy="flag").weights)


def test_first_spikes_of_any_neuron_list():
    res = next(_results())
    neurons = [res.network.n_neurons - 1, 0, 0, 99, -1, int(res.spike_neuron[-1])]
    times, ids = res.first_spikes(neurons)
    for o, j in enumerate(neurons):
        hits = np.flatnonzero(res.spike_neuron == j)
        assert ids[o] == (hits[0] if hits.size else -1)
        assert times[o] == (res.spike_time[hits[0]] if hits.size else res.t_max)
