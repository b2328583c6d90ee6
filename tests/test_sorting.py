"""The engine's stable argsort against numpy's mergesort (a second implementation), ties included."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exactsnn.numeric.sorting import argsort_into, argsort_spread, merge_runs


def _ours(keys):
    order = np.empty(keys.size, np.int64)
    work = np.empty(keys.size, np.int64)
    argsort_into(keys, keys.size, order, work)
    return order


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, -0.0, 1.0, 1.5, 2.0, -3.0, 1e-300, np.inf, -np.inf]), max_size=80))
def test_ties_keep_index_order_as_numpy_mergesort(values):
    keys = np.array(values, dtype=np.float64)
    np.testing.assert_array_equal(_ours(keys), np.argsort(keys, kind="mergesort"))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2000), st.integers(0, 2**32 - 1))
def test_random_and_presorted_runs(n, seed):
    rng = np.random.default_rng(seed)
    keys = np.round(rng.uniform(0, 5, n), 2)  # many ties
    np.testing.assert_array_equal(_ours(keys), np.argsort(keys, kind="mergesort"))
    runs = np.concatenate([np.sort(rng.uniform(0, 5, rng.integers(1, 40))) for _ in range(n // 20 + 1)])
    np.testing.assert_array_equal(_ours(runs), np.argsort(runs, kind="mergesort"))


def _spread(keys, n=None):
    n = keys.size if n is None else n
    order = np.full(keys.size, -1, np.int64)
    argsort_spread(keys, n, order, np.empty(keys.size, np.int64))
    return order


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 3000), st.integers(0, 2**32 - 1), st.sampled_from(["uniform", "ties", "runs", "clustered"]))
def test_bucketed_argsort_is_numpys_stable_argsort(n, seed, kind):
    """``argsort_spread`` (buckets + one insertion pass) against numpy's mergesort: spread keys, many ties,
    a neuron-major pool of sorted trains, and keys bunched at one end (many in one bucket)."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        keys = rng.uniform(0, 2, n)
    elif kind == "ties":
        keys = np.round(rng.uniform(0, 2, n), 1)
    elif kind == "runs":
        keys = np.concatenate([np.sort(rng.uniform(0, 2, rng.integers(0, 6))) for _ in range(n // 3 + 1)])
    else:
        keys = np.concatenate([rng.uniform(0, 1e-9, n), [1e6]])
    np.testing.assert_array_equal(_spread(keys), np.argsort(keys, kind="mergesort"))


@pytest.mark.parametrize("keys", [
    np.full(100, 0.5),  # one key: the merge sort's fallback
    np.concatenate([np.linspace(0, 1, 99), [np.inf]]),  # non-finite: the fallback
    np.concatenate([[-np.inf], np.linspace(0, 1, 99)]),
    np.concatenate([np.zeros(50), -np.zeros(50), np.ones(10)]),  # -0.0 == 0.0 keeps index order
    np.array([5e-324 * k for k in range(80)])[::-1],  # a span of subnormals: n / span overflows
    np.concatenate([[-1.7e308], np.linspace(0, 1, 70), [1.7e308]]),  # span overflows to inf
])
def test_bucketed_argsort_edge_keys(keys):
    np.testing.assert_array_equal(_spread(keys), np.argsort(keys, kind="mergesort"))


def test_bucketed_argsort_sorts_only_the_first_n_keys():
    keys = np.concatenate([np.linspace(1, 0, 100), [-5.0, -6.0]])
    order = _spread(keys, 100)
    np.testing.assert_array_equal(order[:100], np.arange(99, -1, -1))
    np.testing.assert_array_equal(order[100:], [-1, -1])


def test_only_the_first_n_keys_are_sorted():
    keys = np.array([3.0, 1.0, 2.0, -5.0, -6.0])
    order, work = np.full(5, -1, np.int64), np.empty(5, np.int64)
    argsort_into(keys, 3, order, work)
    np.testing.assert_array_equal(order[:3], [1, 2, 0])
    np.testing.assert_array_equal(order[3:], [-1, -1])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=40), st.integers(0, 2**32 - 1))
def test_merge_runs_is_the_stable_sort_of_the_concatenation(lengths, seed):
    rng = np.random.default_rng(seed)
    runs = [np.sort(np.round(rng.uniform(0, 3, n), 1)) for n in lengths]  # empty runs and ties included
    keys = np.concatenate(runs) if runs else np.zeros(0)
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    bounds = np.concatenate([bounds, [0]])  # room: merge_runs may write one past the last run
    order = np.arange(keys.size, dtype=np.int64)
    merge_runs(keys, order, np.empty(keys.size, np.int64), bounds, len(lengths))
    np.testing.assert_array_equal(order, np.argsort(keys, kind="mergesort"))


def _stream_by_numpy(in_times, in_src, out_ptr, out_syn, syn_d):
    """Every input arrival in push order (input spike by spike, each in its channel's synapse order), then a
    stable sort by time: the definition of the engine's input stream."""
    t, s, e = [], [], []
    for k, (time, c) in enumerate(zip(in_times, in_src)):
        for q in range(out_ptr[c], out_ptr[c + 1]):
            t.append(time + syn_d[out_syn[q]])
            s.append(out_syn[q])
            e.append(k)
    order = np.argsort(np.array(t, dtype=np.float64), kind="mergesort")
    return np.array(t)[order], np.array(s, dtype=np.int64)[order], np.array(e, dtype=np.int64)[order]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["zero", "per_channel", "per_synapse"]))
def test_input_stream_equals_a_stable_sort_of_all_arrivals(seed, delays):
    from exactsnn import Network
    from exactsnn.resolve import resolve
    from exactsnn.simulate import Topology

    rng = np.random.default_rng(seed)
    n_in, n_hid = int(rng.integers(1, 5)), int(rng.integers(1, 6))
    w = rng.normal(1.0, 1.0, (n_in, n_hid)) * (rng.uniform(size=(n_in, n_hid)) < 0.7)
    d = {"zero": np.zeros((n_in, n_hid)), "per_synapse": rng.choice([0.0, 0.1, 0.25], (n_in, n_hid)),
         "per_channel": np.repeat(rng.choice([0.0, 0.1, 0.25], (n_in, 1)), n_hid, axis=1)}[delays]
    topo = Topology.of(Network.feedforward([w, np.ones((n_hid, 1))], [d, np.zeros((n_hid, 1))]))
    n_sp = int(rng.integers(0, 8))
    in_times = rng.choice([0.0, 0.1, 0.15, 0.3, 1.0], n_sp).astype(np.float64)  # ties with and without delays
    in_src = rng.integers(0, n_in, n_sp).astype(np.int64)
    ours = resolve("lif").module._input_stream(in_times, in_src, topo.out_ptr, topo.out_syn, topo.syn_d)
    for a, b in zip(ours, _stream_by_numpy(in_times, in_src, topo.out_ptr, topo.out_syn, topo.syn_d)):
        np.testing.assert_array_equal(a, b)
