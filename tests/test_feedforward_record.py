"""The feed-forward path's causal record (issue 14): its helpers against direct constructions, and the whole
path against the general engine bit for bit where the record is built differently (arrivals neuron after
neuron, ``_neuron_major_record``; the general engine's arrival order, ``_record``, when arrivals tie).

Oracles: numpy (a stable sort of every spike-caused arrival by time, ``np.sort`` of the spike pool), a
direct loop for ``_one_delay``, and the general event loop (``engine="general"``, the event heap) for whole
runs: networks with one delay for every neuron synapse (the record walks the spikes, no sort), several
delays per layer or within one source neuron (the record sorts), and a neuron that fires many more times
than it has arrivals (the spike pool grows during the run).
"""

import numpy as np
import pytest

from exactsnn import Network, simulate
from exactsnn.resolve import resolve
from exactsnn.simulate import Topology
from test_feedforward_path import assert_same_run

PARAMS = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}


def _module():
    return resolve("lif").module


def _fast_path_status(net, topo, x):
    from exactsnn.simulate import pack_inputs
    times, src = pack_inputs(x)
    ptab = resolve("lif").param_table(PARAMS)
    return int(_module().simulate_feedforward(ptab, np.zeros(net.n_neurons, np.int64), times, src, net.n_inputs,
                                              net.n_neurons, topo.syn_post, topo.syn_w, topo.syn_d, topo.out_ptr,
                                              topo.out_syn, 4.0, 100000, True,
                                              _module().ff_tables(net.n_inputs, net.n_neurons, topo.syn_post,
                                                                  topo.out_ptr, topo.out_syn))[0])


def _delays(rng, kind, shapes):
    if kind == "one":  # every neuron synapse has the same delay: the record walks the spikes
        d = float(rng.uniform(0.05, 0.3))
        return [np.full(shapes[0], rng.uniform(0.0, 0.3))] + [np.full(s, d) for s in shapes[1:]]
    if kind == "per_layer":  # a delay per layer, different layers different
        return [np.full(s, rng.uniform(0.0, 0.3)) for s in shapes]
    return [rng.choice([0.0, 0.125, 0.25], s) for s in shapes]  # mixed within one source neuron


@pytest.mark.parametrize("kind", ["one", "per_layer", "mixed"])
def test_feedforward_record_equals_general_engine(kind):
    rng = np.random.default_rng(21)
    sizes = (4, 10, 8, 3)
    shapes = list(zip(sizes[:-1], sizes[1:]))
    checked = 0
    for _ in range(3):
        ws = [rng.normal(1.6, 0.9, s) for s in shapes]
        net = Network.feedforward(ws, _delays(rng, kind, shapes))
        topo = Topology.of(net)
        one = _module()._one_delay(net.n_inputs, topo.out_ptr, topo.out_syn, topo.syn_d)
        assert one == (kind == "one")
        for _ in range(4):
            x = [sorted(rng.uniform(0.0, 1.5, rng.integers(1, 4)).tolist()) for _ in range(net.n_inputs)]
            fast = simulate("lif", net, x, 4.0, params=PARAMS)
            assert_same_run(fast, simulate("lif", net, x, 4.0, params=PARAMS, engine="general"))
            if _fast_path_status(net, topo, x) == 0:  # not handed to the general engine
                checked += fast.n_spikes
    assert checked > 200, "too few spikes by the fast path to exercise the record"


def _stream_by_numpy(n_in, n_in_sp, spk_time, spk_neuron, topo, t_max):
    """Every spike-caused arrival in push order (spike by spike, synapses in q order), then a stable sort."""
    t, s, e = [], [], []
    for k, (time, i) in enumerate(zip(spk_time, spk_neuron)):
        for q in range(topo.out_ptr[n_in + i], topo.out_ptr[n_in + i + 1]):
            if time + topo.syn_d[topo.out_syn[q]] <= t_max:
                t.append(time + topo.syn_d[topo.out_syn[q]])
                s.append(topo.out_syn[q])
                e.append(n_in_sp + k)
    order = np.argsort(np.array(t, dtype=np.float64), kind="mergesort")
    return np.array(t)[order], np.array(s, dtype=np.int64)[order], np.array(e, dtype=np.int64)[order]


def _record_by_numpy(n_in, n_in_sp, inputs, spk_time, spk_neuron, topo, t_max):
    """The record directly: the input arrivals up to t_max, then every spike-caused arrival in push order,
    one stable sort by time (inputs first at equal times); each arrival's previous one at the same neuron."""
    it, isy, isrc = inputs
    keep = it <= t_max
    st, ss, se = _stream_by_numpy(n_in, n_in_sp, spk_time, spk_neuron, topo, t_max)
    t, syn, src = np.concatenate([it[keep], st]), np.concatenate([isy[keep], ss]), np.concatenate([isrc[keep], se])
    order = np.argsort(t, kind="mergesort")
    t, syn, src = t[order], syn[order], src[order]
    post = topo.syn_post[syn]
    prev = np.array([max([h for h in range(g) if post[h] == post[g]], default=-1) for g in range(t.size)], np.int64)
    return t, syn, src, prev, post


@pytest.mark.parametrize("kind", ["one", "mixed"])
@pytest.mark.parametrize("seed", range(4))
def test_record_against_a_direct_sort(kind, seed):
    """``_record`` (walking the spikes with one delay, sorting them with several) equals a stable sort of all
    arrivals; ``local`` maps each neuron's own run to the record, and ``ok`` fails when a run differs."""
    rng = np.random.default_rng(seed)
    n_in, n_hid, n_out, t_max = 3, 6, 4, 2.0
    w = [rng.normal(1.0, 1.0, (n_in, n_hid)) * (rng.uniform(size=(n_in, n_hid)) < 0.7),
         rng.normal(1.0, 1.0, (n_hid, n_out)) * (rng.uniform(size=(n_hid, n_out)) < 0.6)]
    d_out = np.full((n_hid, n_out), 0.375) if kind == "one" else rng.choice([0.0, 0.125, 0.375], (n_hid, n_out))
    net = Network.feedforward(w, [np.zeros((n_in, n_hid)), d_out])
    topo = Topology.of(net)
    spk_time = np.sort(np.round(rng.uniform(0.0, 2.0, 30), 1))  # ties of spike times too
    spk_neuron = rng.integers(0, n_hid + n_out, 30).astype(np.int64)
    q_in = np.arange(topo.out_ptr[0], topo.out_ptr[n_in])
    qs = rng.choice(q_in, 12)
    it = np.sort(np.round(rng.uniform(0.0, 2.5, 12), 1))  # some beyond t_max, ties with spike arrivals
    inputs = (it, topo.out_syn[qs].astype(np.int64), rng.permutation(12).astype(np.int64))
    t, syn, src, prev, post = _record_by_numpy(n_in, 7, inputs, spk_time, spk_neuron, topo, t_max)
    assert t.size > 20
    by_neuron = np.argsort(post, kind="stable")  # each neuron's own run, neuron after neuron
    arr_lo = np.searchsorted(post[by_neuron], np.arange(net.n_neurons + 1)).astype(np.int64)
    at, asyn = t[by_neuron], syn[by_neuron]
    m = _module()
    out = m._record(n_in, net.n_neurons, 7, t_max, *inputs, topo.syn_post, topo.syn_d, topo.out_ptr, topo.out_syn,
                    spk_time, spk_neuron, arr_lo, at, asyn)
    for got, want in zip(out[:4], (t, syn, src, prev)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(out[4], by_neuron)
    assert out[5]
    j = int(np.argmax(np.diff(arr_lo)))  # a neuron with several arrivals: swap two of its run
    swapped = asyn.copy()
    swapped[[arr_lo[j], arr_lo[j + 1] - 1]] = swapped[[arr_lo[j + 1] - 1, arr_lo[j]]]
    bad = m._record(n_in, net.n_neurons, 7, t_max, *inputs, topo.syn_post, topo.syn_d, topo.out_ptr, topo.out_syn,
                    spk_time, spk_neuron, arr_lo, at, swapped)
    assert bad[5] == np.array_equal(swapped, asyn)
    short = arr_lo.copy()
    short[-1] -= 1  # the record holds one more arrival than the runs
    assert not m._record(n_in, net.n_neurons, 7, t_max, *inputs, topo.syn_post, topo.syn_d, topo.out_ptr,
                         topo.out_syn, spk_time, spk_neuron, short, at, asyn)[5]
    if kind == "mixed":
        for a, b in zip(m._neuron_arrival_stream(n_in, 7, spk_time, spk_neuron, topo.out_ptr, topo.out_syn,
                                                 topo.syn_d, t_max), _stream_by_numpy(n_in, 7, spk_time, spk_neuron,
                                                                                      topo, t_max)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", range(6))
def test_order_spikes_against_a_direct_sort(seed):
    """Per-neuron trains in a neuron-major pool, the first ones already sorted: time order, neurons, each
    spike's previous spike of its neuron, and the pool's per-spike numbers carried along."""
    rng = np.random.default_rng(seed)
    n_neurons = int(rng.integers(1, 12))
    counts = rng.integers(0, 9, n_neurons)
    spk_hi = np.cumsum(counts).astype(np.int64)
    spk_lo = (spk_hi - counts).astype(np.int64)
    pool_t = np.concatenate([np.sort(rng.uniform(0.0, 2.0, c)) for c in counts])
    pool_vdot, pool_gap = rng.uniform(size=pool_t.size), rng.uniform(size=pool_t.size)
    pool_head = rng.integers(-1, 50, pool_t.size).astype(np.int64)
    upto = int(rng.integers(0, n_neurons + 1))  # neurons 0 .. upto-1 already sorted, as _run_all leaves them
    n_sorted = int(spk_hi[upto - 1]) if upto else 0
    sorted_ids = np.argsort(pool_t[:n_sorted], kind="mergesort").astype(np.int64)
    out = _module()._order_spikes(n_neurons, spk_lo, spk_hi, pool_t, pool_vdot, pool_gap, pool_head, sorted_ids,
                                  n_sorted)
    spk_time, spk_neuron, spk_prev, spk_vdot, spk_gap, spk_head, tie, rank = out
    order = np.argsort(pool_t, kind="mergesort")
    np.testing.assert_array_equal(rank[order], np.arange(order.size))
    neuron = np.repeat(np.arange(n_neurons), counts)
    np.testing.assert_array_equal(spk_time, pool_t[order])
    np.testing.assert_array_equal(spk_neuron, neuron[order])
    np.testing.assert_array_equal(spk_vdot, pool_vdot[order])
    np.testing.assert_array_equal(spk_gap, pool_gap[order])
    np.testing.assert_array_equal(spk_head, pool_head[order])
    prev = [max([k2 for k2 in range(k) if spk_neuron[k2] == spk_neuron[k]], default=-1) for k in range(order.size)]
    np.testing.assert_array_equal(spk_prev, prev)
    assert tie == (np.unique(pool_t).size < pool_t.size)


@pytest.mark.parametrize("seed", range(4))
def test_neuron_major_record_against_a_direct_construction(seed):
    """Arrival pools neuron after neuron: sources renumbered from pool spikes to time order, each arrival's
    previous arrival at its neuron, and ok exactly when no neuron has two arrivals at one time."""
    rng = np.random.default_rng(seed)
    n_neurons, n_in_sp, n_spk = 6, 5, 9
    counts = rng.integers(0, 7, n_neurons)
    arr_lo = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    grid = rng.uniform(0.0, 2.0, 4) if seed % 2 else None  # odd seeds draw times from 4 values: ties
    at = np.concatenate([np.sort(rng.choice(grid, c) if grid is not None else rng.uniform(0.0, 2.0, c))
                         for c in counts])
    asrc = rng.integers(0, n_in_sp + n_spk, at.size).astype(np.int64)
    rank = rng.permutation(n_spk).astype(np.int64)
    arr_src, arr_prev, ok = _module()._neuron_major_record(n_neurons, n_in_sp, arr_lo, at, asrc, rank)
    want_src = [e if e < n_in_sp else n_in_sp + rank[e - n_in_sp] for e in asrc]
    np.testing.assert_array_equal(arr_src, want_src)
    want_prev = [a - 1 if a > arr_lo[j] else -1 for j in range(n_neurons) for a in range(arr_lo[j], arr_lo[j + 1])]
    np.testing.assert_array_equal(arr_prev, want_prev)
    ties = any(np.unique(at[arr_lo[j]:arr_lo[j + 1]]).size < counts[j] for j in range(n_neurons))
    assert ok == (not ties)


def test_arrival_tie_takes_the_time_sorted_record():
    """Two inputs reach one neuron at one time: the pools cannot number those arrivals on their own, so the
    record is built in the general engine's order (``_record``) - the general engine's record, arrival for
    arrival - and the run stays the general engine's."""
    net = Network.feedforward([[[4.0, 3.0], [3.5, 4.5]], [[3.0], [3.5]]])
    x = [[0.1, 0.5], [0.5, 0.9]]
    fast = simulate("lif", net, x, 4.0, params=PARAMS)
    slow = simulate("lif", net, x, 4.0, params=PARAMS, engine="general")
    assert fast.n_spikes > 0
    for a, b in zip(fast.record, slow.record):
        np.testing.assert_array_equal(a, b)
    assert_same_run(fast, slow)


def test_neuron_firing_more_than_its_arrivals_grows_the_pool():
    """One arrival, dozens of spikes: more than the room kept per neuron (twice its arrivals + 16), so the
    pool grows and the neuron runs again; the result is still the general engine's."""
    net = Network.feedforward([[[40.0, 1.5]], [[1.0], [2.0]]])
    params = {"tau_syn": 1.0, "tau_mem": 1.0, "threshold": 1.0}
    fast = simulate("lif", net, [[0.1]], 4.0, params=params)
    assert fast.spikes[0].size > 2 * 1 + 16
    assert_same_run(fast, simulate("lif", net, [[0.1]], 4.0, params=params, engine="general"))


def test_one_delay_against_a_direct_loop():
    rng = np.random.default_rng(4)
    for _ in range(20):
        d = rng.choice([0.0, 0.5], (5, 3)) if rng.uniform() < 0.5 else np.full((5, 3), 0.5)
        net = Network.feedforward([rng.normal(1, 1, (2, 5)), rng.normal(1, 1, (5, 3))], [np.zeros((2, 5)), d])
        topo = Topology.of(net)
        neuron_q = range(topo.out_ptr[net.n_inputs], topo.out_ptr[-1])
        want = len({topo.syn_d[topo.out_syn[q]] for q in neuron_q}) <= 1
        assert _module()._one_delay(net.n_inputs, topo.out_ptr, topo.out_syn, topo.syn_d) == want
