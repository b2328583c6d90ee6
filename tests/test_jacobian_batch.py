"""First-spike Jacobians kept by the bridges' forward (exactsnn.interop.jacobian_batch).

Two independent paths check them: the adjoint sweep over causal records (``SpikeBatch``, seeded with 1
at one output's first spike: the same sweep, so equal bit for bit) and forward propagation (a second
algorithm: the rows of its dense Jacobian, to 1e-12). The contraction with dL/dt_first must equal one
sweep seeded with all of them to rounding, per pattern and summed, with silent outputs passing nothing.
"""

import numpy as np
import pytest

import exactsnn as es
from exactsnn.interop import jacobian_batch
from exactsnn.interop.jacobian_batch import JacobianBatch, column_blocks
from exactsnn.interop.layer_spec import LayerSpec
from exactsnn.interop.spike_batch import GRAD_KEYS, SpikeBatch

T_MAX = 4.0
PARAMS = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}


def _spec(**options):
    """A 3-5-3 network with delays whose hidden neurons fire repeatedly and whose output 2 never fires
    (negative weights), so silent rows are exercised in every pattern."""
    rng = np.random.default_rng(3)
    w2 = rng.normal(1.0, 0.5, (5, 3))
    w2[:, 2] = -1.0
    net = es.Network.feedforward([rng.normal(2.5, 0.8, (3, 5)), w2])
    net = net.with_weights(delay=rng.uniform(0.05, 0.3, net.n_synapses))
    return LayerSpec.build(net, "lif", T_MAX, **options)


def _both(spec, x):
    init = spec.initial(PARAMS)
    args = (init["weight"], init["delay"], init["params"], x)
    return spec.simulate(*args, jacobian=True), spec.simulate(*args)


def _close(got, want, tol=1e-14):
    return np.max(np.abs(got - want)) <= tol * max(np.max(np.abs(want)), 1e-300)


@pytest.mark.parametrize("padded", [False, True])
def test_rows_equal_unit_seed_sweeps_and_forward_propagation(padded):
    spec = _spec()
    x = np.random.default_rng(5).uniform(0, 1, (4, 3))
    if padded:
        x = np.stack([x, np.full_like(x, np.inf)], axis=2)
        x[1, 0, 0], x[2, :, 1] = np.inf, x[2, :, 0] + 0.4
    jb, sb = _both(spec, x)
    assert isinstance(jb, JacobianBatch) and isinstance(sb, SpikeBatch)
    assert np.array_equal(jb.t_first, sb.t_first) and np.array_equal(jb.counts, sb.counts)
    assert np.array_equal(jb.first, sb.first) and np.array_equal(jb.sizes, sb.sizes)  # indices into the time order
    assert sb.silent[:, 2].all() and (~sb.silent[:, :2]).sum() >= 7 and sb.counts[:, :5].max() >= 2
    for o in range(3):
        seed = np.zeros(sb.t_first.shape)
        seed[:, o] = 1.0
        ref = sb.grads(seed, per_pattern=True)
        row = jb.grads(seed, per_pattern=True)  # a unit seed selects the row itself: no rounding
        assert all(np.array_equal(row[k], ref[k]) for k in GRAD_KEYS), o
    for b in range(x.shape[0]):  # forward propagation: every first spike's row
        patterns = [[t for t in np.atleast_1d(ch) if np.isfinite(t)] for ch in x[b]]
        res = es.simulate("lif", spec.network, patterns, T_MAX, params=PARAMS)
        fp = es.forward_propagation(res).dts_dq
        _, ids = res.first_spikes()
        for o, k in enumerate(ids[:2]):
            if k < 0:
                continue
            seed = np.zeros(sb.t_first.shape)
            seed[b, o] = 1.0
            got = jb.grads(seed, per_pattern=True)
            assert _close(got["weight"][b], fp.weights[k], 1e-12) and _close(got["delay"][b], fp.delays[k], 1e-12)
            assert _close(got["params"][b].ravel(), fp.model[k], 1e-12)
            assert _close(got["input_times"][b][np.isfinite(x[b])], fp.inputs[k], 1e-12)


def test_contraction_equals_one_sweep_to_rounding_and_ignores_silent_outputs(monkeypatch):
    spec = _spec()
    x = np.random.default_rng(6).uniform(0, 1, (5, 3))
    jb, sb = _both(spec, x)
    dl = np.random.default_rng(7).normal(size=sb.t_first.shape)
    ref_sum, ref_per = sb.grads(dl), sb.grads(dl, per_pattern=True)
    dl[:, 2] = np.where(np.arange(5) % 2, np.inf, np.nan)  # output 2 is silent: its entries must not matter
    got_sum, got_per = jb.grads(dl), jb.grads(dl, per_pattern=True)
    for k in GRAD_KEYS:
        assert got_sum[k].shape == ref_sum[k].shape and got_per[k].shape == ref_per[k].shape
        assert _close(got_sum[k], ref_sum[k]) and _close(got_per[k], ref_per[k]), k
    only = jb.grads(dl, keys=("delay",))
    assert list(only) == ["delay"] and np.array_equal(only["delay"], got_sum["delay"])
    for gap in (0, 64):  # weights and parameters apart (two products) or in one block with the delays between
        monkeypatch.setattr(jacobian_batch, "GAP", gap)
        pair = jb.grads(dl, keys=("params", "weight"))
        assert list(pair) == ["params", "weight"]
        assert _close(pair["weight"], ref_sum["weight"]) and _close(pair["params"], ref_sum["params"])
    assert all(np.array_equal(v, 0 * v) for v in jb.grads(None).values())


def test_spec_keeps_records_when_spikes_are_recorded_or_the_jacobian_is_large():
    x = np.random.default_rng(8).uniform(0, 1, (4, 3))
    init = _spec().initial(PARAMS)
    args = (init["weight"], init["delay"], init["params"], x)
    assert isinstance(_spec().simulate(*args, jacobian=True), JacobianBatch)
    assert isinstance(_spec().simulate(*args), SpikeBatch)
    assert isinstance(_spec(record=[0, 1]).simulate(*args, jacobian=True), SpikeBatch)
    n_q = 2 * 30 + 3 + 3  # 15 + 15 synapses (3-5-3), 3 input spikes, 1 population x 3 parameters
    assert _spec().network.n_synapses == 30
    fits = 8 * 4 * 3 * n_q
    assert isinstance(_spec(jacobian_bytes=fits).simulate(*args, jacobian=True), JacobianBatch)
    assert isinstance(_spec(jacobian_bytes=fits - 1).simulate(*args, jacobian=True), SpikeBatch)
    with pytest.raises(ValueError, match="spike_grads need a SpikeBatch"):
        _spec().simulate(*args, jacobian=True).grads(None, [(np.zeros((4, 1, 1), np.int64), np.ones((4, 1, 1)))])


def test_without_parameter_columns_the_other_rows_are_unchanged():
    """A forward that needs no model-parameter gradient skips the kernels' parameter derivatives; every
    other column must be the same bits, and the missing columns cannot be asked for."""
    spec = _spec()
    init = spec.initial(PARAMS)
    x = np.random.default_rng(9).uniform(0, 1, (4, 3))
    full = spec.simulate(init["weight"], init["delay"], init["params"], x, jacobian=True)
    lean = spec.simulate(init["weight"], init["delay"], init["params"], x, jacobian=True, param_grads=False)
    assert full.with_params and not lean.with_params and np.abs(full.jac[:, :, -3:]).max() > 0
    assert np.array_equal(lean.jac[:, :, :-3], full.jac[:, :, :-3]) and not lean.jac[:, :, -3:].any()
    dl = np.random.default_rng(10).normal(size=full.t_first.shape)
    keys = ("weight", "delay", "input_times")
    assert all(np.array_equal(lean.grads(dl, keys=keys)[k], full.grads(dl, keys=keys)[k]) for k in keys)
    with pytest.raises(ValueError, match="without model-parameter columns"):
        lean.grads(dl)


def test_column_blocks_merge_only_close_neighbours():
    """The contraction reads the requested column blocks; neighbours closer than ``gap`` share one product."""
    w, d, p = slice(0, 30), slice(30, 60), slice(63, 66)
    assert column_blocks([p, w], gap=64) == [(0, 66)]
    assert column_blocks([p, w], gap=3) == [(0, 30), (63, 66)]
    assert column_blocks([d, w, p], gap=3) == [(0, 60), (63, 66)]
    assert column_blocks([d, w, p], gap=4) == [(0, 66)]
    assert column_blocks([]) == []


def test_without_delay_columns_the_other_columns_are_unchanged():
    """A forward that needs no delay gradient leaves the delay block out of the Jacobian altogether; the
    remaining columns must be the same bits (with and without parameter columns), and delay gradients
    cannot be asked for."""
    spec = _spec()
    init = spec.initial(PARAMS)
    x = np.random.default_rng(11).uniform(0, 1, (4, 3))
    args = (init["weight"], init["delay"], init["params"], x)
    full = spec.simulate(*args, jacobian=True)
    n = spec.network.n_synapses
    for param_grads in (True, False):
        lean = spec.simulate(*args, jacobian=True, param_grads=param_grads, delay_grads=False)
        ref = full if param_grads else spec.simulate(*args, jacobian=True, param_grads=False)
        assert not lean.with_delays and lean.jac.shape[2] == ref.jac.shape[2] - n
        assert np.array_equal(lean.jac[:, :, :n], ref.jac[:, :, :n])
        assert np.array_equal(lean.jac[:, :, n:], ref.jac[:, :, 2 * n:])
        dl = np.random.default_rng(12).normal(size=full.t_first.shape)
        keys = ("weight", "input_times") + (("params",) if param_grads else ())
        got, want = lean.grads(dl, keys=keys, per_pattern=True), ref.grads(dl, keys=keys, per_pattern=True)
        assert all(np.array_equal(got[k], want[k]) for k in keys)
        got, want = lean.grads(dl, keys=keys), ref.grads(dl, keys=keys)  # other column blocks: BLAS may reorder
        assert all(_close(got[k], want[k]) for k in keys)
        with pytest.raises(ValueError, match="without delay columns"):
            lean.grads(dl, keys=("weight", "delay"))
