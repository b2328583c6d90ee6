"""The engine's stable argsort against numpy's mergesort (a second implementation), ties included."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from exactsnn.numeric.sorting import argsort_into


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


def test_only_the_first_n_keys_are_sorted():
    keys = np.array([3.0, 1.0, 2.0, -5.0, -6.0])
    order, work = np.full(5, -1, np.int64), np.empty(5, np.int64)
    argsort_into(keys, 3, order, work)
    np.testing.assert_array_equal(order[:3], [1, 2, 0])
    np.testing.assert_array_equal(order[3:], [-1, -1])
