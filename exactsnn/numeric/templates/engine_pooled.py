"""The per-sample API on the feed-forward path's pools. TEMPLATE: stamped after ``engine_batch``.

``simulate()`` on a feed-forward network (the feed-forward path, no early exit) keeps the path's neuron-major
pools (``simulate_pooled``) instead of putting them in time order at once. ``loss_grad`` on such a result runs
the batch's sweep over the pools (``loss_adjoint_pooled``: ``adjoint_cone``, the loss from each output's first
pool spike, the diagnostics screen on the pools), and the time-ordered spikes and causal record are made only
when something reads them (``order_pooled``: the rest of ``simulate_feedforward``, ``_ff_ordered``). Both give
``simulate_packed`` + ``loss_adjoint``'s numbers bit for bit; where the pools cannot promise that (arrivals or
visited spikes that tie, a pattern the general engine settles), the caller takes that route instead.

Buffers (``simulate_pooled``), for ``n_spk`` pool spikes, ``n_arr`` pool arrivals and ``n`` neurons::

    f = [pool_t | pool_vdot | pool_gap (n_spk each) | at (n_arr) | near margin (n)]
    i = [pool_head (n_spk) | asyn | asrc (n_arr each) | spk_lo | spk_hi (n each) | arr_lo (n + 1) | sorted_ids]
"""

import math

import numpy as np
from numba import njit

from exactsnn.numeric.templates.engine_sim import ST_OK  # stamp: drop
from exactsnn.numeric.templates.engine_crossing import _input_stream  # stamp: drop
from exactsnn.numeric.templates.engine_feedforward import (  # stamp: drop
    FF_FALLBACK, _ff_ordered, _pool_record, _run_tables,  # stamp: drop
)  # stamp: drop
from exactsnn.numeric.templates.engine_loop import packed_result  # stamp: drop
from exactsnn.numeric.templates.engine_record import _time_order  # stamp: drop
from exactsnn.numeric.templates.engine_grad import adjoint_cone  # stamp: drop
from exactsnn.numeric.templates.engine_batch import _loss_and_dl_dt, pool_firsts  # stamp: drop
from exactsnn.numeric.templates.kernel_stubs import N_PARAMS  # stamp: drop


@njit(cache=True)
def simulate_pooled(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
                    max_spikes, closed_form, tables):
    """The feed-forward path's run of one pattern, kept as its pools: (ok, n_spk, n_arr, n_closed, n_sorted, f, i)
    in the module's buffer layout (n_sorted: the pool's first spikes already sorted by time, ``sorted_ids``).
    Not ok: the path handed the pattern back (the general engine settles it, or reports an error); the caller
    then runs ``simulate_packed``. The network must pass ``feedforward_ok``; tables: its ``ff_tables``."""
    input_time, input_syn, input_src = _input_stream(in_times, in_src, out_ptr, out_syn, syn_d)
    (status, pool_t, pool_vdot, pool_gap, pool_head, spk_lo, spk_hi, at, asyn, arr_lo, near, n_closed, sorted_ids,
     n_sorted, asrc) = _run_tables(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr,
                                   out_syn, t_max, max_spikes, closed_form, input_time, input_syn, input_src, tables)
    if status != ST_OK:
        return False, 0, 0, 0, 0, np.empty(0), np.empty(0, np.int64)
    ns = spk_hi[n_neurons - 1] if n_neurons else 0
    na, n = arr_lo[n_neurons], n_neurons
    f = np.empty(3 * ns + na + n)
    i = np.empty(ns + 2 * na + 3 * n + 1 + n_sorted, np.int64)
    f[:ns], f[ns:2 * ns], f[2 * ns:3 * ns] = pool_t[:ns], pool_vdot[:ns], pool_gap[:ns]
    f[3 * ns:3 * ns + na] = at[:na]
    f[3 * ns + na:] = near[:, 0]
    i[:ns], i[ns:ns + na], i[ns + na:ns + 2 * na] = pool_head[:ns], asyn[:na], asrc[:na]
    o = ns + 2 * na
    i[o:o + n], i[o + n:o + 2 * n], i[o + 2 * n:o + 3 * n + 1] = spk_lo, spk_hi, arr_lo
    i[o + 3 * n + 1:] = sorted_ids[:n_sorted]
    return True, ns, na, n_closed, n_sorted, f, i


@njit(cache=True, inline="always")
def _pool_views(n_neurons, n_spk, n_arr, f, i):
    """The pools in ``simulate_pooled``'s buffers: (pool_t, pool_vdot, pool_gap, at, near, pool_head, asyn, asrc,
    spk_lo, spk_hi, arr_lo, sorted_ids)."""
    ns, na, n = n_spk, n_arr, n_neurons
    o = ns + 2 * na
    return (f[:ns], f[ns:2 * ns], f[2 * ns:3 * ns], f[3 * ns:3 * ns + na], f[3 * ns + na:], i[:ns], i[ns:ns + na],
            i[ns + na:o], i[o:o + n], i[o + n:o + 2 * n], i[o + 2 * n:o + 3 * n + 1], i[o + 3 * n + 1:])


@njit(cache=True)
def order_pooled(n_in, n_neurons, in_times, in_src, t_max, syn_post, syn_d, out_ptr, out_syn, n_spk, n_arr, n_closed,
                 f, i):
    """``simulate_packed``'s result from ``simulate_pooled``'s buffers: spikes in time order and the causal record
    (``_ff_ordered``), the same bits as ``simulate_packed`` on the pattern; status FF_FALLBACK when the general
    engine must settle the order (the caller then runs ``simulate_packed``)."""
    (pool_t, pool_vdot, pool_gap, at, near0, pool_head, asyn, asrc, spk_lo, spk_hi, arr_lo,
     sorted_ids) = _pool_views(n_neurons, n_spk, n_arr, f, i)
    near = np.full((n_neurons, 2), math.nan)
    near[:, 0] = near0
    input_time, input_syn, input_src = _input_stream(in_times, in_src, out_ptr, out_syn, syn_d)
    res = _ff_ordered(n_in, n_neurons, in_times.size, t_max, input_time, input_syn, input_src, syn_post, syn_d,
                      out_ptr, out_syn, pool_t, pool_vdot, pool_gap, pool_head, spk_lo, spk_hi, at, asyn, asrc, arr_lo,
                      near, n_closed, sorted_ids, sorted_ids.size)
    if res[0] == FF_FALLBACK:
        return FF_FALLBACK, 0, 0, 0, -1, math.nan, np.empty(0), np.empty(0, np.int64)
    return packed_result(res, n_neurons)


@njit(cache=True)
def pools_clean(n_neurons, spk_lo, spk_hi, pool_t, vdot, gap, sorted_ids, t_max, near_margin, vdot_tol, time_tol,
                margin_tol):
    """``spikes_clean`` on the pools: the same answer as on the time-ordered spikes. The per-spike and per-neuron
    tests do not depend on the order; the gaps between neighbours in time come from the pools merged by time
    (``_time_order``, the merge ``_order_spikes`` makes), whose neighbours are those of the time order (equal
    times: a zero gap either way)."""
    n = pool_t.size
    for k in range(n):
        if not (vdot[k] > vdot_tol and gap[k] > time_tol and t_max - pool_t[k] > time_tol):
            return False
    for j in range(near_margin.size):
        if not near_margin[j] > margin_tol:
            return False
    order, _ = _time_order(n_neurons, spk_lo, spk_hi, pool_t, sorted_ids, sorted_ids.size)
    for r in range(1, n):
        if not (pool_t[order[r]] - pool_t[order[r - 1]] > time_tol):
            return False
    return True


@njit(cache=True)
def loss_adjoint_pooled(ptab, pop, n_syn, n_in_sp, n_neurons, n_spk, n_arr, f, i, syn_w, kind, outputs, t_max, label,
                        tau0, tau1, gamma, vdot_tol, time_tol, margin_tol):
    """``loss_adjoint`` on ``simulate_pooled``'s buffers: (L, finite, clean, ok, dL/dq), the same numbers as
    ``loss_adjoint`` on the time-ordered record when ``ok``. L and dL/dt from each output's first pool spike (its
    train's first: ``_loss_and_dl_dt``, as the batch), ``clean`` by ``pools_clean``, dL/dq by ``adjoint_cone``
    (zeros when not finite). Not ok (two arrivals at one neuron or two visited spikes at one time, whose order the
    time-sorted record settles): the caller puts the result in time order and calls ``loss_adjoint``."""
    (pool_t, pool_vdot, pool_gap, at, near0, pool_head, asyn, asrc, spk_lo, spk_hi, arr_lo,
     sorted_ids) = _pool_views(n_neurons, n_spk, n_arr, f, i)
    spk_neuron, spk_prev, arr_prev, ok = _pool_record(n_neurons, spk_lo, spk_hi, arr_lo, at)
    t_first, idx = pool_firsts(outputs, n_neurons, t_max, spk_lo, spk_hi, pool_t)
    value, dl_dt = _loss_and_dl_dt(n_spk, t_first, idx, outputs, kind, label, tau0, tau1, gamma)
    finite = abs(value) <= 1.7976931348623157e308  # as sample_loss_dt
    for o in range(outputs.size):  # every other entry of dl_dt is 0
        if idx[o] >= 0 and not abs(dl_dt[idx[o]]) <= 1.7976931348623157e308:
            finite = False
    clean = pools_clean(n_neurons, spk_lo, spk_hi, pool_t, pool_vdot, pool_gap, sorted_ids, t_max, near0, vdot_tol,
                        time_tol, margin_tol)
    if not finite:
        return value, finite, clean, ok, np.zeros(2 * n_syn + n_in_sp + ptab.shape[0] * N_PARAMS)
    grad, ok_cone = adjoint_cone(ptab, pop, n_syn, n_in_sp, n_spk, pool_t, spk_neuron, pool_head, spk_prev, n_arr, at,
                                 asyn, asrc, arr_prev, syn_w, dl_dt, True)
    return value, finite, clean, ok and ok_cone, grad
