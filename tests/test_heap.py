"""The engine's event heap and min-tree (exactsnn/numeric/heap.py) against naive references.

- the heap, driven exactly as the engine drives it (write at the end + ``heap_sift_up``; pop = move the
  last entry to the root + ``heap_sift_down``; ``heap_grow`` when full), pops the same ``(time, seq, a, b)``
  sequence as Python's ``heapq`` on tuples, for random interleaved pushes and pops with many equal times
  (ties broken by the sequence number: first pushed, first out);
- the min-tree's root is the minimum leaf value, ties to the lowest leaf index (``min`` over a list), after
  every ``tree_set``, infinities included.
"""

import heapq
import math

import numpy as np
import pytest

from exactsnn.numeric.heap import heap_grow, heap_new, heap_sift_down, heap_sift_up, tree_new, tree_set


class EngineHeap:
    """The heap arrays used the way ``engine_loop`` uses them."""

    def __init__(self, capacity):
        self.arrays = heap_new(capacity)
        self.n = 0
        self.grown = 0

    def push(self, t, seq, a, b):
        ht, hs, ha, hb = self.arrays
        if self.n == ht.size:
            self.arrays = ht, hs, ha, hb = heap_grow(ht, hs, ha, hb)
            self.grown += 1
        ht[self.n], hs[self.n], ha[self.n], hb[self.n] = t, seq, a, b
        heap_sift_up(ht, hs, ha, hb, self.n)
        self.n += 1

    def pop(self):
        ht, hs, ha, hb = self.arrays
        top = (float(ht[0]), int(hs[0]), int(ha[0]), int(hb[0]))
        self.n -= 1
        ht[0], hs[0], ha[0], hb[0] = ht[self.n], hs[self.n], ha[self.n], hb[self.n]
        heap_sift_down(ht, hs, ha, hb, self.n)
        return top

    def check_invariant(self):
        ht, hs = self.arrays[0], self.arrays[1]
        for i in range(1, self.n):
            p = (i - 1) // 2
            assert (ht[p], hs[p]) <= (ht[i], hs[i]), f"heap order broken at {i}"


@pytest.mark.parametrize("seed", range(8))
def test_heap_pops_in_heapq_order(seed):
    rng = np.random.default_rng(seed)
    times = [0.0, 0.25, 0.5, 1.0, 1.0 + 2.0 ** -52, 3.0, math.inf] if seed % 2 else None
    heap, ref, seq = EngineHeap(int(rng.integers(0, 20))), [], 0
    for step in range(600):
        if ref and rng.random() < (0.35 if step < 400 else 0.8):
            assert heap.pop() == heapq.heappop(ref)
        else:
            t = float(rng.choice(times)) if times else float(rng.integers(0, 12)) * 0.125  # many equal times
            a, b = int(rng.integers(-5, 10**6)), int(rng.integers(-5, 10**6))
            heap.push(t, seq, a, b)
            heapq.heappush(ref, (t, seq, a, b))
            seq += 1
        assert heap.n == len(ref)
        if step % 50 == 0:
            heap.check_invariant()
    while ref:
        assert heap.pop() == heapq.heappop(ref)
    assert heap.n == 0


def test_heap_grows_and_keeps_every_entry():
    heap = EngineHeap(1)
    assert heap.arrays[0].size == 16  # the minimum capacity
    rng = np.random.default_rng(1)
    entries = [(float(rng.integers(0, 5)), k, k, -k) for k in range(1000)]
    for e in entries:
        heap.push(*e)
    assert heap.grown >= 6 and heap.arrays[0].size >= 1000
    heap.check_invariant()
    assert [heap.pop() for _ in entries] == sorted(entries)


def test_equal_times_pop_first_pushed_first():
    """Ties in time: the sequence number decides, whatever order the pushes came in."""
    heap = EngineHeap(16)
    order = [5, 1, 9, 0, 3, 7, 2, 8, 6, 4]
    for s in order:
        heap.push(2.0, s, s, 0)
    heap.push(1.5, 99, 99, 0)
    assert [heap.pop()[1] for _ in range(len(order) + 1)] == [99] + sorted(order)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8, 17])
def test_min_tree_root_is_the_minimum_leaf(n):
    rng = np.random.default_rng(n)
    val, idx = tree_new(n)
    leaves = [math.inf] * n
    assert val[1] == math.inf and (idx[1] == (0 if n else -1))
    choices = [0.0, 0.5, 0.5, 1.0, 2.0, math.inf, -1.0]
    for _ in range(300 if n else 0):
        i = int(rng.integers(0, n))
        x = float(rng.choice(choices)) if rng.random() < 0.6 else float(rng.normal())
        tree_set(val, idx, i, x)
        leaves[i] = x
        best = min(range(n), key=lambda k: (leaves[k], k))  # ties: the lowest index
        assert (val[1], idx[1]) == (leaves[best], best)
