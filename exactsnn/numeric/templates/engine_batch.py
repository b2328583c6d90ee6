"""Loss, first spikes and whole batches. TEMPLATE: stamped last into each generated model module.

``batch_loss_grad`` runs many input patterns in parallel (numba ``prange``). Each pattern is
simulated, its loss and dL/dt computed, and the adjoint sweep run, independently of the others, so
results are bit-identical to serial runs. On a feed-forward network the full run stays in the
feed-forward path's neuron-major pools (``_pool_sim``) and the sweep visits the spikes it reaches by
decreasing time (``adjoint_cone``): the same operations in the same order as ``adjoint_core`` on the
time-sorted record that ``simulate_one`` builds, without building it; a pattern the pools cannot give
those bits for takes ``simulate_one``'s path.
"""

import math

import numpy as np
from numba import njit, prange

from exactsnn.numeric.templates.engine_sim import ST_OK  # stamp: drop
from exactsnn.numeric.templates.engine_crossing import _input_stream  # stamp: drop
from exactsnn.numeric.templates.engine_feedforward import (  # stamp: drop
    _pool_record, _run_tables, feedforward_ok, ff_tables,  # stamp: drop
)  # stamp: drop
from exactsnn.numeric.templates.engine_grad import adjoint_cone, adjoint_core  # stamp: drop
from exactsnn.numeric.templates.engine_loop import simulate_one  # stamp: drop
from exactsnn.numeric.templates.kernel_stubs import N_PARAMS, STRATEGY_EXPSUM  # stamp: drop
from exactsnn.numeric.losses_nb import loss_and_grad


@njit(cache=True)
def _output_firsts(outputs, n_neurons, t_max):
    """``first_spikes``' arrays before any spike: (t_first = t_max, idx = -1, slot: neuron -> output or -1)."""
    slot = np.full(n_neurons, -1, np.int64)
    for o in range(outputs.size):
        slot[outputs[o]] = o
    return np.full(outputs.size, t_max), np.full(outputs.size, -1, np.int64), slot


@njit(cache=True)
def first_spikes(n_spk, spk_time, spk_neuron, outputs, n_neurons, t_max):
    """(t_first (n_out,), index of that spike or -1 if silent (n_out,), spike count per neuron)."""
    t_first, idx, slot = _output_firsts(outputs, n_neurons, t_max)
    counts = np.zeros(n_neurons, np.int64)
    for k in range(n_spk):
        j = spk_neuron[k]
        counts[j] += 1
        o = slot[j]
        if o >= 0 and idx[o] < 0:
            idx[o] = k
            t_first[o] = spk_time[k]
    return t_first, idx, counts


@njit(cache=True)
def batch_rows(n_b, n_out, n_neurons):
    """Per-pattern outputs of the whole-run batch entry points: (status (B,), sizes (B, 2), t_first (B, n_out),
    first (B, n_out) spike index or -1, counts (B, n_neurons)), filled by ``simulate_pattern``."""
    return (np.zeros(n_b, np.int64), np.zeros((n_b, 2), np.int64), np.zeros((n_b, n_out)),
            np.full((n_b, n_out), -1, np.int64), np.zeros((n_b, n_neurons), np.int64))


@njit(cache=True)
def simulate_pattern(b, ptab, pop, in_times, in_src, in_ptr, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr,
                     out_syn, t_max, max_spikes, outputs, status, sizes, t_first, first, counts):
    """Pattern b of a batch, the whole run (no early exit): fills row b of ``batch_rows``' arrays (sizes =
    (n_spk, n_arr)) and returns ``simulate_one``'s result."""
    lo = in_ptr[b]
    hi = in_ptr[b + 1]
    res = simulate_one(ptab, pop, in_times[lo:hi], in_src[lo:hi], n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr,
                       out_syn, t_max, max_spikes, True, outputs[:0])
    status[b] = res[0]
    sizes[b, 0] = res[1]
    sizes[b, 1] = res[6]
    t_first[b], first[b], counts[b] = first_spikes(res[1], res[2], res[3], outputs, n_neurons, t_max)
    return res


@njit(cache=True)
def _loss_and_dl_dt(n_spk, t_first, idx, outputs, loss_kind, label, tau0, tau1, gamma):
    """(loss, dL/dt (n_spk,)): the loss of the first output spikes and its derivative on each spike."""
    dl_do = np.zeros(outputs.size)
    value = loss_and_grad(loss_kind, t_first, idx < 0, label, tau0, tau1, gamma, dl_do)
    dl_dt = np.zeros(n_spk)
    for o in range(outputs.size):
        if idx[o] >= 0:
            dl_dt[idx[o]] += dl_do[o]
    return value, dl_dt


@njit(cache=True)
def pool_firsts(outputs, n_neurons, t_max, spk_lo, spk_hi, pool_t):
    """``first_spikes``' (t_first, idx) from the feed-forward path's pools: each output's first spike is the first of
    its train (pool index spk_lo[j]); t_max and -1 when it is silent."""
    t_first, idx, slot = _output_firsts(outputs, n_neurons, t_max)
    for j in range(n_neurons):
        o = slot[j]
        if o >= 0 and spk_hi[j] > spk_lo[j]:
            idx[o], t_first[o] = spk_lo[j], pool_t[spk_lo[j]]
    return t_first, idx


@njit(cache=True)
def _pool_sim(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
              max_spikes, outputs, tables):
    """The whole run of a pattern on a feed-forward net by the feed-forward path, kept as its pools (no time-sorted
    record: no ``_order_spikes``, no ``_record``): ``simulate_one``'s spikes and arrivals, neuron after neuron.

    Returns (ok, record, t_first, idx, counts): record = (n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev,
    n_arr, arr_time, arr_syn, arr_src, arr_prev) as the sweeps take them, the causal record over pool ids
    (``_pool_record``; sweeps over it must visit spikes by time, ``adjoint_cone``); t_first, counts as
    ``first_spikes``', idx the first spikes' pool ids. Not ok: the pattern needs the general engine or has an arrival tie (``_pool_record``); use
    ``simulate_one``.
    """
    input_time, input_syn, input_src = _input_stream(in_times, in_src, out_ptr, out_syn, syn_d)
    (status, pool_t, _, _, pool_head, spk_lo, spk_hi, at, asyn, arr_lo, _, _, _, _,
     asrc) = _run_tables(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn,
                         t_max, max_spikes, True, input_time, input_syn, input_src, tables)
    t_first, idx = pool_firsts(outputs, n_neurons, t_max, spk_lo, spk_hi, pool_t)
    spk_neuron, spk_prev, arr_prev, ok = _pool_record(n_neurons, spk_lo, spk_hi, arr_lo, at)
    ok = ok and status == ST_OK
    counts = spk_hi - spk_lo
    record = (spk_neuron.size, pool_t, spk_neuron, pool_head, spk_prev, arr_lo[n_neurons], at, asyn, asrc, arr_prev)
    return ok, record, t_first, idx, counts


@njit(cache=True)
def _pool_loss_grad(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
                    max_spikes, outputs, loss_kind, label, tau0, tau1, gamma, want_grad, model_grad, tables):
    """``sample_loss_grad``'s full run on a feed-forward net from ``_pool_sim``, the adjoint by ``adjoint_cone``:
    (ok, loss, t_first, counts, grad), the same bits as the time-sorted record gives; not ok (``_pool_sim``'s, or
    two visited spikes at one time): the caller runs the record path.
    """
    ok, rec, t_first, idx, counts = _pool_sim(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d,
                                              out_ptr, out_syn, t_max, max_spikes, outputs, tables)
    grad = np.zeros(2 * syn_w.size + in_times.size + ptab.shape[0] * N_PARAMS)
    if not ok:
        return False, math.nan, t_first, counts, grad
    value, dl_dt = _loss_and_dl_dt(rec[0], t_first, idx, outputs, loss_kind, label, tau0, tau1, gamma)
    if want_grad:
        grad, ok = adjoint_cone(ptab, pop, syn_w.size, in_times.size, *rec, syn_w, dl_dt, model_grad)
    return ok, value, t_first, counts, grad


@njit(cache=True)
def sample_loss_grad(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
                     max_spikes, outputs, loss_kind, label, tau0, tau1, gamma, want_grad, watch, model_grad=True):
    """One pattern: (status, loss, t_first, counts, grad (2 n_syn + n_in_sp + n_pop N_PARAMS,)).

    ``watch``: ``outputs`` for the first-spike early exit (the loss reads only first output spikes, so
    loss and gradient are bit-identical to the full run's; ``counts`` then count spikes up to the stop),
    or empty for the full simulation. ``model_grad=False``: the model-parameter block stays zero, not
    computed (``adjoint_core``'s ``with_dp``); the other blocks are the same bits.
    """
    pools = STRATEGY_EXPSUM and watch.size == 0 and feedforward_ok(n_in, n_neurons, syn_post, out_ptr, out_syn)
    return _sample_loss_grad(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn,
                             t_max, max_spikes, outputs, loss_kind, label, tau0, tau1, gamma, want_grad, watch,
                             model_grad, pools, ff_tables(n_in, n_neurons, syn_post, out_ptr, out_syn))


@njit(cache=True)
def _sample_loss_grad(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
                      max_spikes, outputs, loss_kind, label, tau0, tau1, gamma, want_grad, watch, model_grad, pools,
                      tables):
    """``sample_loss_grad`` given whether the pools' path applies (``pools``: a model with the expsum strategy, no
    early exit, a feed-forward net) and the network's ``ff_tables``: a batch decides both once."""
    if pools:
        ok, value, t_first, counts, grad = _pool_loss_grad(
            ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max, max_spikes,
            outputs, loss_kind, label, tau0, tau1, gamma, want_grad, model_grad, tables)
        if ok:
            return ST_OK, value, t_first, counts, grad
    res = simulate_one(ptab, pop, in_times, in_src, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn, t_max,
                       max_spikes, True, watch)
    status, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev = res[0], res[1], res[2], res[3], res[4], res[5]
    n_arr, arr_time, arr_syn, arr_src, arr_prev = res[6], res[7], res[8], res[9], res[10]
    n_syn = syn_w.size
    grad = np.zeros(2 * n_syn + in_times.size + ptab.shape[0] * N_PARAMS)
    t_first, idx, counts = first_spikes(n_spk, spk_time, spk_neuron, outputs, n_neurons, t_max)
    if status != 0:
        return status, math.nan, t_first, counts, grad
    value, dl_dt = _loss_and_dl_dt(n_spk, t_first, idx, outputs, loss_kind, label, tau0, tau1, gamma)
    if want_grad:
        grad = adjoint_core(ptab, pop, n_syn, in_times.size, n_spk, spk_time, spk_neuron, spk_arr_head, spk_prev,
                            n_arr, arr_time, arr_syn, arr_src, arr_prev, syn_w, dl_dt, model_grad)
    return status, value, t_first, counts, grad


@njit(cache=True, parallel=True)
def batch_loss_grad(ptab, pop, in_times, in_src, in_ptr, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr, out_syn,
                    t_max, max_spikes, outputs, loss_kind, labels, tau0, tau1, gamma, want_grad, max_in_sp,
                    first_spike_exit, model_grad):
    """Many patterns in parallel. Pattern b's input spikes are in_times[in_ptr[b]:in_ptr[b+1]].

    ``first_spike_exit``: stop each pattern once every output has fired (``sample_loss_grad``).
    ``model_grad=False``: no model-parameter gradients (not computed, and their block is left out).

    Returns (status (B,), loss (B,), t_first (B, n_out), counts (B, n_neurons),
    grad (B, 2 n_syn + max_in_sp + n_pop N_PARAMS), without the last block when not model_grad); a pattern's
    input-time gradients are padded.
    """
    n_b = in_ptr.size - 1
    n_syn = syn_w.size
    n_mod = ptab.shape[0] * N_PARAMS if model_grad else 0
    status = np.zeros(n_b, np.int64)
    losses = np.zeros(n_b)
    t_first = np.zeros((n_b, outputs.size))
    counts = np.zeros((n_b, n_neurons), np.int64)
    grads = np.zeros((n_b, 2 * n_syn + max_in_sp + n_mod))
    watch = outputs if first_spike_exit else outputs[:0]
    pools = STRATEGY_EXPSUM and not first_spike_exit and feedforward_ok(n_in, n_neurons, syn_post, out_ptr, out_syn)
    tables = ff_tables(n_in, n_neurons, syn_post, out_ptr, out_syn)
    for b in prange(n_b):
        lo = in_ptr[b]
        hi = in_ptr[b + 1]
        st, val, tf, cnt, g = _sample_loss_grad(ptab, pop, in_times[lo:hi], in_src[lo:hi], n_in, n_neurons, syn_post,
                                                syn_w, syn_d, out_ptr, out_syn, t_max, max_spikes, outputs,
                                                loss_kind, labels[b], tau0, tau1, gamma, want_grad, watch,
                                                model_grad, pools, tables)
        status[b] = st
        losses[b] = val
        t_first[b] = tf
        counts[b] = cnt
        grads[b, :2 * n_syn + hi - lo] = g[:2 * n_syn + hi - lo]
        grads[b, 2 * n_syn + max_in_sp:] = g[2 * n_syn + hi - lo:2 * n_syn + hi - lo + n_mod]
    return status, losses, t_first, counts, grads


@njit(cache=True, parallel=True)
def batch_simulate_record(ptab, pop, in_times, in_src, in_ptr, n_in, n_neurons, syn_post, syn_w, syn_d, out_ptr,
                          out_syn, t_max, max_spikes, outputs, cap_spk, cap_arr):
    """Many patterns in parallel, keeping each causal record for ``batch_adjoint_record`` (framework bridges).

    Returns (status (B,), sizes (B, 2) = (n_spk, n_arr), t_first (B, n_out), first (B, n_out) spike index or -1,
    counts (B, n_neurons), spk_f (B, cap_spk) spike times, spk_i (B, 3, cap_spk) = (neuron, arr_head, prev),
    arr_f (B, cap_arr) arrival times, arr_i (B, 3, cap_arr) = (syn, src, prev)). A pattern whose record
    exceeds the capacities keeps its sizes but not its record: the caller reruns it with larger ones.
    """
    n_b = in_ptr.size - 1
    status, sizes, t_first, first, counts = batch_rows(n_b, outputs.size, n_neurons)
    spk_f = np.zeros((n_b, cap_spk))
    spk_i = np.full((n_b, 3, cap_spk), -1, np.int64)
    arr_f = np.zeros((n_b, cap_arr))
    arr_i = np.full((n_b, 3, cap_arr), -1, np.int64)
    for b in prange(n_b):
        res = simulate_pattern(b, ptab, pop, in_times, in_src, in_ptr, n_in, n_neurons, syn_post, syn_w, syn_d,
                               out_ptr, out_syn, t_max, max_spikes, outputs, status, sizes, t_first, first, counts)
        n_spk, n_arr = res[1], res[6]
        if n_spk <= cap_spk and n_arr <= cap_arr:
            spk_f[b, :n_spk] = res[2][:n_spk]
            spk_i[b, 0, :n_spk] = res[3][:n_spk]
            spk_i[b, 1, :n_spk] = res[4][:n_spk]
            spk_i[b, 2, :n_spk] = res[5][:n_spk]
            arr_f[b, :n_arr] = res[7][:n_arr]
            arr_i[b, 0, :n_arr] = res[8][:n_arr]
            arr_i[b, 1, :n_arr] = res[9][:n_arr]
            arr_i[b, 2, :n_arr] = res[10][:n_arr]
    return status, sizes, t_first, first, counts, spk_f, spk_i, arr_f, arr_i


@njit(cache=True, parallel=True)
def batch_adjoint_record(ptab, pop, n_syn, in_ptr, max_in_sp, sizes, spk_f, spk_i, arr_f, arr_i, syn_w, dl_dt):
    """Adjoint sweeps over records of ``batch_simulate_record``, dL/dt_k given per spike: dl_dt (B, cap_spk).

    Returns grad (B, 2 n_syn + max_in_sp + n_pop N_PARAMS), laid out (and padded) as ``batch_loss_grad``'s.
    """
    n_b = in_ptr.size - 1
    grads = np.zeros((n_b, 2 * n_syn + max_in_sp + ptab.shape[0] * N_PARAMS))
    for b in prange(n_b):
        n_in_sp = in_ptr[b + 1] - in_ptr[b]
        g = adjoint_core(ptab, pop, n_syn, n_in_sp, sizes[b, 0], spk_f[b], spk_i[b, 0], spk_i[b, 1], spk_i[b, 2],
                         sizes[b, 1], arr_f[b], arr_i[b, 0], arr_i[b, 1], arr_i[b, 2], syn_w, dl_dt[b])
        grads[b, :2 * n_syn + n_in_sp] = g[:2 * n_syn + n_in_sp]
        grads[b, 2 * n_syn + max_in_sp:] = g[2 * n_syn + n_in_sp:]
    return grads
