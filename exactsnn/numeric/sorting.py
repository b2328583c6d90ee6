"""A stable argsort of float64 keys for the engine (numba only, no allocation).

``np.argsort(kind="mergesort")`` in numba is a generic implementation that calls a comparison function
for every comparison; on the feed-forward path's per-neuron arrival lists and the causal record it took
about a fifth of a simulation. This one compares floats inline: insertion sort on runs of ``_RUN``, then
bottom-up merges that are skipped when two runs are already in order (the engine's lists are mostly
concatenations of sorted runs).

Hot loops index with ``uidx(i)`` (the same index as unsigned): numba then emits no negative-index
wraparound per access; the argsort of the feed-forward path's hidden spikes took 1.5-1.7x less time
(``benchmarks/README.md``, issue 14, "record2").

A stable sort's permutation is unique (equal keys keep their index order), so the result equals numpy's
``mergesort`` exactly for keys without NaN (the engine's times never are).

``argsort_spread`` gives the same permutation by bucketing: for keys spread over a range (spike times in
[0, t_max]) it moves each index a constant number of times instead of log2(n / _RUN) + a few.
"""

import numpy as np
from numba import njit

_RUN = 16
#: ``argsort_spread`` buckets only from this many keys on (below it the merge sort is as cheap).
_SPREAD_MIN = 64


@njit(cache=True)
def uidx(i):
    """``i`` (>= 0) as an unsigned index: an array access with it carries no negative-index wraparound."""
    return np.uint64(i)


@njit(cache=True)
def _insertion_runs(keys, n, order):
    """order[:n] = 0..n-1, each run of _RUN sorted by key (stable: an element moves left only past
    strictly larger keys)."""
    for i in range(n):
        order[uidx(i)] = i
    for lo in range(0, n, _RUN):
        hi = min(lo + _RUN, n)
        for r in range(lo + 1, hi):
            p = order[uidx(r)]
            kp = keys[uidx(p)]
            m = r - 1
            while m >= lo and keys[uidx(order[uidx(m)])] > kp:
                order[uidx(m + 1)] = order[uidx(m)]
                m -= 1
            order[uidx(m + 1)] = p


@njit(cache=True)
def _merge(keys, src, dst, lo, mid, hi):
    """dst[lo:hi] = the sorted runs src[lo:mid] and src[mid:hi] merged (ties from the left run first).

    The two heads and their keys travel in registers: one key load and one compare per element moved.
    """
    i, j, k = lo, mid, lo
    if i < mid and j < hi:
        a, b = src[uidx(i)], src[uidx(j)]
        ka, kb = keys[uidx(a)], keys[uidx(b)]
        while True:
            if ka <= kb:
                dst[uidx(k)] = a
                k += 1
                i += 1
                if i == mid:
                    break
                a = src[uidx(i)]
                ka = keys[uidx(a)]
            else:
                dst[uidx(k)] = b
                k += 1
                j += 1
                if j == hi:
                    break
                b = src[uidx(j)]
                kb = keys[uidx(b)]
    _copy(src, dst, i, mid, k)
    _copy(src, dst, j, hi, k + mid - i)


@njit(cache=True, inline="always")
def _copy(src, dst, lo, hi, to):
    """dst[to:to + hi - lo] = src[lo:hi]."""
    for m in range(hi - lo):
        dst[uidx(to + m)] = src[uidx(lo + m)]


@njit(cache=True)
def argsort_into(keys, n, order, work):
    """order[:n] = the stable ascending argsort of keys[:n]; work: int64 scratch of length >= n.

    Equal keys keep their index order, so this is ``np.argsort(keys[:n], kind="mergesort")``.
    """
    _insertion_runs(keys, n, order)
    width = _RUN
    in_order = True  # the current runs are in ``order`` (else in ``work``)
    while width < n:
        src, dst = (order, work) if in_order else (work, order)
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            if mid >= hi or keys[src[mid - 1]] <= keys[src[mid]]:
                _copy(src, dst, lo, hi, lo)  # already in order (or a lone run)
            else:
                _merge(keys, src, dst, lo, mid, hi)
        in_order = not in_order
        width *= 2
    if not in_order:
        _copy(work, order, 0, n, 0)


@njit(cache=True)
def merge_runs(keys, order, work, bounds, n_runs):
    """Stable merge of the sorted runs ``order[bounds[r]:bounds[r + 1]]``, r < n_runs, into one sorted
    ``order[:bounds[n_runs]]`` (keys compared as keys[order[i]]); work: int64 scratch as long, bounds is
    overwritten.

    Runs are merged pairwise, left run first on equal keys, so the result is the stable sort of the
    concatenation: ``n log2(n_runs)`` moves instead of ``n log2(n)`` (the engine's spikes come as each
    neuron's time-ordered train).
    """
    n = bounds[n_runs]
    in_order = True
    while n_runs > 1:
        src, dst = (order, work) if in_order else (work, order)
        m = 0
        for r in range(0, n_runs, 2):
            lo = bounds[r]
            if r + 1 < n_runs:
                mid, hi = bounds[r + 1], bounds[r + 2]
                if mid == lo or mid == hi or keys[src[mid - 1]] <= keys[src[mid]]:
                    _copy(src, dst, lo, hi, lo)
                else:
                    _merge(keys, src, dst, lo, mid, hi)
            else:
                _copy(src, dst, lo, bounds[r + 1], lo)
            bounds[m] = lo
            m += 1
        bounds[m] = n
        n_runs = m
        in_order = not in_order
    if not in_order:
        _copy(work, order, 0, n, 0)


@njit(cache=True)
def argsort_spread(keys, n, order, work):
    """``argsort_into``'s permutation (the stable ascending argsort of keys[:n]) by a bucket sort: key k goes to
    bucket ``floor((k - lo) n / (hi - lo))`` (lo, hi: the smallest and largest key), indices are placed bucket
    by bucket in index order, and one insertion pass sorts each bucket (an index moves left only past strictly
    larger keys, so equal keys keep their index order). The bucket is a nondecreasing function of the key
    (rounding is monotone), so the insertion pass never crosses a bucket boundary: O(n) moves for keys that
    are spread out, like a pattern's spike times. Falls back to ``argsort_into`` below ``_SPREAD_MIN`` keys,
    for non-finite keys and for equal ones. work: int64 scratch of length >= n.
    """
    if n < _SPREAD_MIN:
        argsort_into(keys, n, order, work)
        return
    lo, hi = keys[0], keys[0]
    for i in range(1, n):
        k = keys[uidx(i)]
        lo, hi = min(lo, k), max(hi, k)
    scale = n / (hi - lo) if hi > lo else 0.0
    if not (np.isfinite(lo) and np.isfinite(hi) and 0.0 < scale < np.inf):
        argsort_into(keys, n, order, work)
        return
    start = np.zeros(n + 1, np.int64)  # bucket b's first slot, after the prefix sum
    for i in range(n):
        b = min(int((keys[uidx(i)] - lo) * scale), n - 1)
        work[uidx(i)] = b
        start[uidx(b + 1)] += 1
    for b in range(n):
        start[uidx(b + 1)] += start[uidx(b)]
    for i in range(n):
        b = work[uidx(i)]
        order[uidx(start[uidx(b)])] = i
        start[uidx(b)] += 1
    for r in range(1, n):
        p = order[uidx(r)]
        kp = keys[uidx(p)]
        m = r - 1
        while m >= 0 and keys[uidx(order[uidx(m)])] > kp:
            order[uidx(m + 1)] = order[uidx(m)]
            m -= 1
        order[uidx(m + 1)] = p
