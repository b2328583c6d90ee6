"""The bridges' shared forward (exactsnn.interop.layer_spec, spike_batch): record capacities.

A batch whose causal records do not fit the arrays allocated for them re-simulates only the patterns
that overflowed; the result (spikes, records, adjoint gradients) must equal a run whose arrays were
big enough from the start, which is the independent path here.
"""

import numpy as np
import pytest

import exactsnn as es
from exactsnn.errors import InputSpikeError, ModelError, NetworkError
from exactsnn.interop.layer_spec import HEADROOM, LayerSpec
from exactsnn.interop.spike_batch import SpikeBatch

T_MAX = 4.0
PARAMS = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}


class CountingModel:
    """A compiled model whose ``call`` records how many patterns each batch simulation ran."""

    def __init__(self, compiled):
        self.compiled, self.patterns = compiled, []

    def __getattr__(self, name):
        return getattr(self.compiled, name)

    def call(self, name, *args):
        if name == "batch_simulate_record":
            self.patterns.append(args[4].size - 1)
        return self.compiled.call(name, *args)


def _setup():
    rng = np.random.default_rng(3)
    net = es.Network.feedforward([rng.normal(2.5, 0.8, (3, 5)), rng.normal(1.0, 0.5, (5, 2))])
    x = rng.uniform(0, 1, (6, 3))
    x[:2] = 3.9  # two late patterns: few or no spikes, their records fit anything
    spec = LayerSpec.build(net, "lif", T_MAX)
    return spec, net, spec.initial(PARAMS)["params"], x


def _valid(batch, b):
    n_spk, n_arr = batch.sizes[b]
    return (batch.spike_time[b, :n_spk], batch.spk_i[b, :, :n_spk], batch.arr_f[b, :n_arr], batch.arr_i[b, :, :n_arr])


def test_overflow_reruns_only_the_overflowing_patterns_with_equal_results():
    spec, net, ptab, x = _setup()
    ref = SpikeBatch.run(spec.compiled, net, ptab, spec.pop, x, T_MAX)
    n_spk = ref.sizes[:, 0]
    assert n_spk.min() < n_spk.max(), "the patterns must need different record sizes"
    cap = (int(n_spk.max()) - 1, int(ref.sizes[:, 1].max()))
    counting = CountingModel(spec.compiled)
    got = SpikeBatch.run(counting, net, ptab, spec.pop, x, T_MAX, capacity=cap)
    over = int((n_spk > cap[0]).sum())
    assert 1 <= over < 6 and counting.patterns == [6, over]
    for b in range(6):
        assert all(np.array_equal(u, v) for u, v in zip(_valid(got, b), _valid(ref, b)))
    assert np.array_equal(got.t_first, ref.t_first) and np.array_equal(got.counts, ref.counts)
    dl = ref.dl_dt(np.random.default_rng(0).normal(size=ref.t_first.shape))
    g_ref, g_got = ref.adjoint(dl), got.adjoint(got.dl_dt(np.random.default_rng(0).normal(size=ref.t_first.shape)))
    assert all(np.array_equal(g_ref[k], g_got[k]) for k in g_ref)


def test_every_pattern_overflowing_still_gives_the_serial_adjoint():
    spec, net, ptab, x = _setup()
    got = SpikeBatch.run(spec.compiled, net, ptab, spec.pop, x, T_MAX, capacity=(1, 1))
    g = got.adjoint(got.dl_dt(np.ones_like(got.t_first)))
    for b, row in enumerate(x):  # the serial path: simulate + adjoint of the sum of first output spike times
        res = es.simulate("lif", net, [[t] for t in row], T_MAX, params=PARAMS)
        dl_dt = np.zeros(res.spike_time.size)
        for o in net.outputs:
            hit = np.flatnonzero(res.spike_neuron == o)
            if hit.size:
                dl_dt[hit[0]] = 1.0
        ref = es.adjoint(res, dl_dt)
        assert np.array_equal(g["weight"][b], ref.weights) and np.array_equal(g["input_times"][b], ref.inputs)


def test_spec_capacity_grows_with_headroom_and_never_shrinks():
    spec, net, ptab, x = _setup()
    spec.simulate(net.weight, net.delay, ptab, x)
    big = spec.capacity[0]
    need = SpikeBatch.run(spec.compiled, net, ptab, spec.pop, x, T_MAX).capacity
    assert big == tuple(int(HEADROOM * n) + 16 for n in need)
    spec.simulate(net.weight, net.delay, ptab, x[:2])  # a batch of quiet patterns
    assert spec.capacity[0] == big


def _records(batch):
    return [_valid(batch, b) for b in range(batch.t_first.shape[0])]


def _same_batches(fast, ref, dl_first):
    """Spikes, records and every adjoint gradient of two batches, bit for bit."""
    assert np.array_equal(fast.sizes, ref.sizes) and np.array_equal(fast.t_first, ref.t_first)
    assert np.array_equal(fast.counts, ref.counts)
    for u, v in zip(_records(fast), _records(ref)):
        assert all(np.array_equal(a, b) for a, b in zip(u, v))
    g_fast, g_ref = fast.adjoint(fast.dl_dt(dl_first)), ref.adjoint(ref.dl_dt(dl_first))
    assert set(g_fast) == set(g_ref) == {"weight", "delay", "params", "input_times"}
    assert all(np.array_equal(g_fast[k], g_ref[k]) for k in g_ref)
    assert np.abs(g_ref["input_times"]).max() > 0  # the input-gradient scatter is exercised


def test_cached_structure_and_dense_packing_equal_the_general_path():
    """LayerSpec.simulate (cached topology arrays, dense inputs packed as themselves) against
    SpikeBatch.run (Topology.of + pack_input_times): one and two spikes per channel, twice each
    (the second call reuses the cached packing and the accepted parameter table)."""
    spec, net, ptab, x = _setup()
    rng = np.random.default_rng(5)
    w = net.weight * rng.uniform(0.9, 1.1, net.n_synapses)
    two = np.sort(np.stack([x, x + rng.uniform(0.1, 0.5, x.shape)], axis=2), axis=2)
    for times in (x, x, two, two):
        fast = spec.simulate(w, net.delay, ptab, times)
        assert fast.dense
        ref = SpikeBatch.run(spec.compiled, net.with_weights(w), ptab, spec.pop, times, T_MAX)
        assert not ref.dense
        _same_batches(fast, ref, rng.normal(size=fast.t_first.shape))


def test_padded_inputs_take_the_general_packing():
    spec, net, ptab, x = _setup()
    padded = np.stack([x, np.full(x.shape, np.inf)], axis=2)
    padded[0, 1, 1] = x[0, 1] + 0.2
    fast = spec.simulate(net.weight, net.delay, ptab, padded)
    assert not fast.dense
    _same_batches(fast, SpikeBatch.run(spec.compiled, net, ptab, spec.pop, padded, T_MAX), np.ones_like(fast.t_first))


@pytest.mark.parametrize("which, value, error, match", [
    ("weight", np.nan, NetworkError, r"weight\[4\] is not finite"),
    ("weight", 1e200, NetworkError, "larger in magnitude"),
    ("delay", -0.5, NetworkError, r"delay\[4\] = -0.5 is negative"),
    ("input", np.nan, InputSpikeError, r"input_times\[\(1, 2, 0\)\] = nan"),
    ("input", -1.0, InputSpikeError, "must be >= 0"),
    ("params", 0.0, ModelError, r"params\[0\]"),
])
def test_one_pass_checks_fall_back_to_the_named_errors(which, value, error, match):
    spec, net, ptab, x = _setup()
    spec.simulate(net.weight, net.delay, ptab, x)  # a good call first: the parameter table is accepted
    w, d, p, t = net.weight.copy(), net.delay.copy(), ptab.copy(), x.copy()
    {"weight": w, "delay": d}.get(which, np.zeros(5))[4] = value
    if which == "input":
        t[1, 2] = value
    if which == "params":
        p[0, 0] = value  # tau_syn = 0 is not allowed
    with pytest.raises(error, match=match):
        spec.simulate(w, d, p, t)


def test_unsorted_multi_spike_inputs_are_named():
    spec, net, ptab, x = _setup()
    two = np.stack([x + 0.5, x], axis=2)
    with pytest.raises(InputSpikeError, match="not ascending"):
        spec.simulate(net.weight, net.delay, ptab, two)


def test_batch_keeps_no_view_of_its_arguments():
    """The JAX host call hands numpy views of XLA buffers that are reused after the call: a memoised
    batch must not depend on its arguments' memory. Overwrite them after the forward pass."""
    spec, net, ptab, x = _setup()
    w, d, p, t = net.weight.copy(), net.delay.copy(), ptab.copy(), x.copy()
    kept = spec.simulate(w, d, p, t)
    for a in (w, d, p, t):
        a[...] = 7.5
    ref = SpikeBatch.run(spec.compiled, net, ptab, spec.pop, x, T_MAX)
    _same_batches(kept, ref, np.ones_like(ref.t_first))
