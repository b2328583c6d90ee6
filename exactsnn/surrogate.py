"""Surrogate-gradient baseline: the ``lif`` model on a time grid, trained by BPTT (numba, no SymPy).

The network is the discretisation of exactly the model that ``exactsnn.simulate("lif", ...)`` solves:

    dI/dt = -I / tau_syn + sum_j w_j sum_f delta(t - t_j^f),    dV/dt = -V / tau_mem + I,
    V <- V - threshold at each spike,

feed-forward, with the layers given as weight matrices as in ``Network.feedforward``.

Discretisation (grid ``t_k = k dt``, ``k = 0 .. N``, ``N = floor(t_max / dt)``)
--------------------------------------------------------------------------------
Between events the linear system is advanced by its *exact* one-step propagator,

    I_k~ = a I_{k-1},   V_k~ = b V_{k-1} + c I_{k-1},   a = exp(-dt/tau_syn), b = exp(-dt/tau_mem), c = psp(dt),

so the potential on the grid has no truncation error. An input spike at ``t_i`` in ``(t_{k-1}, t_k]`` is
injected at its exact sub-step phase ``phi = t_k - t_i``: ``I_k~ += w exp(-phi/tau_syn)``,
``V_k~ += w psp(phi)`` (what the exact solution adds by time ``t_k``). Then, layer by layer,

    s_k = H(V_k~ - threshold),   V_k = V_k~ - threshold s_k,   I_k = I_k~ + W^T s_k^(previous layer),

i.e. a spike is emitted at the first grid point where ``V >= threshold`` and reaches the next layer at that
grid time (phase 0). Hence the grid potentials of the first layer are exact up to its first spike and every
spike time is late by less than one step there; deeper layers and later spikes inherit O(dt) errors. As
``dt -> 0`` the spike times converge to ``exactsnn.simulate``'s at first order (measured in
``tests/test_surrogate.py`` and ``benchmarks/surrogate_cosine.py``).

Loss and backward pass
----------------------
The first spike time of output ``o`` is made differentiable as the step sum

    t_o = dt sum_{k=0}^{N-1} P_k + (t_max - N dt) P_N,    P_k = prod_{j=1}^{k} (1 - s_j),

which is ``m dt`` for a first spike at step ``m`` and ``t_max`` for a silent output (as in exactsnn's losses).
The loss is ``exactsnn.Loss``'s function of these times, so exact and surrogate gradients are gradients of
the same loss. By default a silent output keeps its dL/dt, which the surrogate turns into a gradient (the
exact gradient is zero there: its time is constant); ``silent_grad=False`` drops it, as the exact path does.
BPTT replaces ``dH/dV`` by the fast-sigmoid surrogate ``1 / (1 + slope |V - threshold|)^2`` (snnTorch's
default). The reset is *detached* by default (``detach_reset=True``: no gradient through
``-threshold s_k``, as snnTorch's neurons do); ``detach_reset=False`` differentiates it. The reset itself acts
at the spike's grid point (not one step later as in snnTorch), which is the exact model's reset kernel
``threshold exp(-s/tau_mem)`` started there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from .compiled import load_builtin
from .errors import InputSpikeError
from .losses import KINDS, Loss
from .network import Network, validate_inputs, validate_t_max
from .numeric.losses_nb import loss_and_grad
from .simulate import pack_inputs

#: Largest grid potential record per pattern, (N + 1) * n_neurons float64 values (1 GiB).
MAX_RECORD = 2 ** 27


@njit(cache=True)
def psp(s, tau_mem, rate_gap):
    """V at time s after a unit current jump: ``exp(-s/tau_mem) expm1(s r) / r``, ``r = 1/tau_mem - 1/tau_syn``.

    Equal to ``(exp(-s/tau_syn) - exp(-s/tau_mem)) / r``, without its cancellation; ``s exp(-s/tau_mem)`` at r = 0.
    """
    if rate_gap == 0.0:
        return s * math.exp(-s / tau_mem)
    return math.exp(-s / tau_mem) * math.expm1(s * rate_gap) / rate_gap


@njit(cache=True)
def _input_schedule(times, chans, dt, n_steps, tau_syn, tau_mem, rate_gap):
    """Input spikes on the grid, sorted by step: (step, channel, psp(phi), exp(-phi/tau_syn)); steps > N dropped."""
    step = np.empty(times.size, np.int64)
    for q in range(times.size):
        step[q] = int(math.ceil(times[q] / dt))
    order = np.argsort(step, kind="mergesort")
    keep = order[step[order] <= n_steps]
    phi = np.maximum(step[keep] * dt - times[keep], 0.0)
    pv = np.empty(keep.size)
    pi = np.empty(keep.size)
    for q in range(keep.size):
        pv[q] = psp(phi[q], tau_mem, rate_gap)
        pi[q] = math.exp(-phi[q] / tau_syn)
    return step[keep], chans[keep], pv, pi


@njit(cache=True)
def _forward(w, w_off, sizes, n_off, in_step, in_ch, in_pv, in_pi, n_steps, prop, theta, vt, first):
    """Fill ``vt[k, j]`` = V_k~ (pre-reset grid potential, (N+1, n_neurons)) and ``first[o]`` = first
    spike step of output o (N + 1 if silent)."""
    a, b, c = prop
    n_layers = sizes.size - 1
    n1 = sizes[1]
    v = np.zeros(vt.shape[1])
    cur = np.zeros(vt.shape[1])
    vt[0, :] = 0.0
    first[:] = n_steps + 1
    p = 0
    while p < in_step.size and in_step[p] == 0:
        for j in range(n1):
            cur[j] += w[in_ch[p] * n1 + j]
        p += 1
    for k in range(1, n_steps + 1):
        for j in range(v.size):
            v[j], cur[j] = b * v[j] + c * cur[j], a * cur[j]
        while p < in_step.size and in_step[p] == k:
            for j in range(n1):
                v[j] += w[in_ch[p] * n1 + j] * in_pv[p]
                cur[j] += w[in_ch[p] * n1 + j] * in_pi[p]
            p += 1
        for l in range(n_layers):
            for jj in range(sizes[l + 1]):
                j = n_off[l] + jj
                vt[k, j] = v[j]
                if v[j] >= theta:
                    v[j] -= theta
                    if l + 1 < n_layers:
                        nxt, base, lo = sizes[l + 2], w_off[l + 1] + jj * sizes[l + 2], n_off[l + 1]
                        for q in range(nxt):
                            cur[lo + q] += w[base + q]
                    elif first[jj] > n_steps:
                        first[jj] = k


@njit(cache=True)
def _layer_adjoint(l, k, vt, theta, slope, detach, first, dl_dt, dt, gv, gs, gp, gvt, sizes, n_off):
    """dL/dV_k~ of layer l's neurons into gvt, from dL/dV_k (gv), dL/ds_k (gs, cleared) and, for the
    output layer, the first-spike-time chain (gp: dL/dP_k on entry, dL/dP_{k-1} on exit)."""
    n_layers = sizes.size - 1
    for jj in range(sizes[l + 1]):
        j = n_off[l] + jj
        x = vt[k, j] - theta
        g = gs[j]
        gs[j] = 0.0
        if l == n_layers - 1:
            if k <= first[jj]:  # P_{k-1} = 1: no output spike before step k
                g -= gp[jj]
            gp[jj] = dl_dt[jj] * dt + (gp[jj] if x < 0.0 else 0.0)
        if not detach:
            g -= theta * gv[j]
        den = 1.0 + slope * abs(x)
        gvt[j] = gv[j] + g / (den * den)


@njit(cache=True)
def _backward(w, w_off, sizes, n_off, in_step, in_ch, in_pv, in_pi, n_steps, prop, theta, dt, tail, slope, detach,
              vt, first, dl_dt, gw):
    """BPTT through the grid: adds dL/dw (flat, layer-major, row-major matrices) to gw."""
    a, b, c = prop
    n = vt.shape[1]
    n_layers = sizes.size - 1
    gv, gi, gs, gvt = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    gp = dl_dt * tail
    p = in_step.size - 1
    for k in range(n_steps, 0, -1):
        for l in range(n_layers - 1, -1, -1):
            _layer_adjoint(l, k, vt, theta, slope, detach, first, dl_dt, dt, gv, gs, gp, gvt, sizes, n_off)
            nl, lo = sizes[l + 1], n_off[l]
            if l > 0:  # I_k = I_k~ + W^T s_k of the layer below
                for ii in range(sizes[l]):
                    i, base, acc = n_off[l - 1] + ii, w_off[l] + ii * nl, 0.0
                    spiked = vt[k, n_off[l - 1] + ii] >= theta
                    for jj in range(nl):
                        acc += w[base + jj] * gi[lo + jj]
                        if spiked:
                            gw[base + jj] += gi[lo + jj]
                    gs[i] += acc
            else:
                while p >= 0 and in_step[p] == k:
                    for jj in range(nl):
                        gw[in_ch[p] * nl + jj] += gvt[jj] * in_pv[p] + gi[jj] * in_pi[p]
                    p -= 1
            for jj in range(nl):
                gv[lo + jj], gi[lo + jj] = b * gvt[lo + jj], c * gvt[lo + jj] + a * gi[lo + jj]
    while p >= 0:  # inputs at t = 0 (step 0, phase 0)
        for jj in range(sizes[1]):
            gw[in_ch[p] * sizes[1] + jj] += gi[jj]
        p -= 1


@njit(cache=True)
def _first_times(first, n_steps, dt, t_max):
    out = np.empty(first.size)
    for o in range(first.size):
        out[o] = first[o] * dt if first[o] <= n_steps else t_max
    return out


@njit(parallel=True, cache=True)
def _batch(w, w_off, sizes, n_off, times, chans, ptr, n_steps, dt, t_max, tau_syn, tau_mem, theta, slope, detach,
           silent_grad, kind, labels, tau0, tau1, gamma):
    """Per pattern (prange): forward, loss, BPTT. Returns (loss (B,), t_first (B, n_out), grad (B, n_w))."""
    n_b, n_out, n = ptr.size - 1, sizes[-1], n_off[-1]
    rate_gap = (tau_syn - tau_mem) / (tau_syn * tau_mem)
    prop = (math.exp(-dt / tau_syn), math.exp(-dt / tau_mem), psp(dt, tau_mem, rate_gap))
    tail = t_max - n_steps * dt
    losses, t_first, grads = np.empty(n_b), np.empty((n_b, n_out)), np.zeros((n_b, w.size))
    for bb in prange(n_b):
        lo, hi = ptr[bb], ptr[bb + 1]
        st, ch, pv, pi = _input_schedule(times[lo:hi], chans[lo:hi], dt, n_steps, tau_syn, tau_mem, rate_gap)
        vt = np.empty((n_steps + 1, n))
        first = np.empty(n_out, np.int64)
        _forward(w, w_off, sizes, n_off, st, ch, pv, pi, n_steps, prop, theta, vt, first)
        tf = _first_times(first, n_steps, dt, t_max)
        dl_dt = np.zeros(n_out)
        mask = np.zeros(n_out, np.bool_) if silent_grad else first > n_steps
        losses[bb] = loss_and_grad(kind, tf, mask, labels[bb], tau0, tau1, gamma, dl_dt)
        t_first[bb] = tf
        _backward(w, w_off, sizes, n_off, st, ch, pv, pi, n_steps, prop, theta, dt, tail, slope, detach, vt, first,
                  dl_dt, grads[bb])
    return losses, t_first, grads


@njit(cache=True)
def _run_one(w, w_off, sizes, n_off, times, chans, n_steps, dt, tau_syn, tau_mem, theta):
    rate_gap = (tau_syn - tau_mem) / (tau_syn * tau_mem)
    prop = (math.exp(-dt / tau_syn), math.exp(-dt / tau_mem), psp(dt, tau_mem, rate_gap))
    st, ch, pv, pi = _input_schedule(times, chans, dt, n_steps, tau_syn, tau_mem, rate_gap)
    vt = np.empty((n_steps + 1, n_off[-1]))
    first = np.empty(sizes[-1], np.int64)
    _forward(w, w_off, sizes, n_off, st, ch, pv, pi, n_steps, prop, theta, vt, first)
    return vt


# --------------------------------------------------------------------------- Python API
@dataclass(frozen=True)
class SurrogateResult:
    """Surrogate-gradient batch result.

    loss : (B,) float64             per-pattern loss on the grid's first spike times
    t_first : (B, n_out) float64    first output spike times (grid times; t_max if silent)
    grad_weights : list of arrays   dL/dW per layer, shaped like the weight matrices, summed over the batch
    n_steps : int                   grid steps N = floor(t_max / dt)
    """

    loss: np.ndarray
    t_first: np.ndarray
    grad_weights: list
    n_steps: int


@dataclass(frozen=True)
class DiscreteRun:
    """One pattern on the grid: ``times`` (N+1,), pre-reset potentials ``potential`` (N+1, n_neurons)
    (row 0 is t = 0), and ``spikes``: per neuron (numbered as in ``Network.feedforward``) its spike times."""

    times: np.ndarray
    potential: np.ndarray
    spikes: list


def _layout(weights):
    """Validated weight matrices -> (flat w, w_off (L,), sizes (L+1,), n_off (L+1,)) int64 layout."""
    net = Network.feedforward(weights)  # validates shapes and finiteness, naming the matrix
    sizes = np.asarray(net.layer_sizes, np.int64)
    mats = [np.asarray(m, np.float64) for m in weights]
    w_off = np.concatenate([[0], np.cumsum([m.size for m in mats])[:-1]]).astype(np.int64)
    n_off = np.concatenate([[0], np.cumsum(sizes[1:])]).astype(np.int64)
    return np.concatenate([m.ravel() for m in mats]), w_off, sizes, n_off


def _grid(params, t_max, dt, n_neurons):
    """Validated (tau_syn, tau_mem, threshold), t_max, dt and the step count N."""
    tau_syn, tau_mem, theta = load_builtin("lif").param_vector(params)
    t_max = validate_t_max(t_max)
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.floating, np.integer)) or not (
            math.isfinite(dt) and 0 < dt <= t_max):
        raise ValueError(f"dt = {dt!r} must be a finite time step in (0, t_max = {t_max}]")
    n_steps = int(math.floor(t_max / dt * (1 + 1e-12)))
    if (n_steps + 1) * n_neurons > MAX_RECORD:
        raise ValueError(f"dt = {dt!r} gives {n_steps} steps x {n_neurons} neurons, more than the "
                         f"{MAX_RECORD} grid potentials a pattern may record; use a larger dt")
    return (float(tau_syn), float(tau_mem), float(theta)), t_max, float(dt), n_steps


def _patterns(patterns, n_in):
    """(times, channels, ptr) CSR of validated patterns: a (B, n_in) array of first-spike times, or a
    list of patterns in ``batch_loss_grad``'s form (per channel a list of ascending times)."""
    if isinstance(patterns, np.ndarray):
        if patterns.ndim != 2:
            raise InputSpikeError(f"patterns as an array must have shape (B, n_in = {n_in}), got {patterns.shape}")
        patterns = list(patterns)
    if not isinstance(patterns, (list, tuple)) or not patterns:
        raise InputSpikeError("patterns must be a non-empty (B, n_in) array or list of input patterns")
    rows = [list(x) if isinstance(x, np.ndarray) and x.ndim == 1 else x for x in patterns]  # (n_in,) first times
    packed = [pack_inputs(validate_inputs(x, n_in, f"patterns[{b}]")) for b, x in enumerate(rows)]
    ptr = np.zeros(len(packed) + 1, np.int64)
    np.cumsum([t.size for t, _ in packed], out=ptr[1:])
    return np.concatenate([t for t, _ in packed]), np.concatenate([s for _, s in packed]), ptr


def _labels(labels, loss, n_b, n_out):
    lab = np.full(n_b, loss.label, np.int64) if labels is None else np.asarray(labels)
    if lab.shape != (n_b,) or lab.dtype.kind not in "iu":
        raise ValueError(f"labels must be {n_b} integers (one per pattern), got shape {lab.shape}, dtype {lab.dtype}")
    wrong = (lab < 0) | ((lab >= n_out) if loss.kind == "ttfs_cross_entropy" else False)
    if wrong.any():
        bad = int(np.flatnonzero(wrong)[0])
        allowed = f"[0, {n_out}) (the network's outputs)" if loss.kind == "ttfs_cross_entropy" else ">= 0"
        raise ValueError(f"labels[{bad}] = {int(lab[bad])} is outside {allowed}")
    return lab.astype(np.int64)


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
            math.isfinite(value) and value > 0):
        raise ValueError(f"{name} = {value!r} must be a finite number > 0")
    return float(value)


def surrogate_batch_loss_grad(weights, patterns, labels, params, t_max, dt, slope, loss: Loss, *,
                              detach_reset: bool = True, silent_grad: bool = True) -> SurrogateResult:
    """Loss and surrogate (BPTT) gradient of a feed-forward ``lif`` network on a time grid, per batch.

    Parameters
    ----------
    weights : list of (n_{l-1}, n_l) arrays, as ``Network.feedforward``
    patterns : (B, n_in) array of first-spike times, or a list of B patterns as in ``batch_loss_grad``
    labels : (B,) int, or None for ``loss.label``
    params : dict with ``tau_syn``, ``tau_mem``, ``threshold`` (missing ones take the ``lif`` defaults)
    t_max : float   simulation end; silent outputs count as ``t_max``
    dt : float      grid step, in (0, t_max]
    slope : float   fast-sigmoid slope of the surrogate derivative
    loss : Loss     the same loss object ``batch_loss_grad`` takes
    detach_reset : bool, default True
        True: no gradient flows through the reset term ``-threshold s_k``.
    silent_grad : bool, default True
        True: a silent output's ``t_o = t_max`` passes its dL/dt through the surrogate (what surrogate
        training does). False: it passes none, the convention of exactsnn's exact gradients.

    Returns
    -------
    SurrogateResult with ``.loss`` (B,), ``.t_first`` (B, n_out), ``.grad_weights`` (per layer, summed
    over the batch).

    Notes
    -----
    ``dL/dw`` is the exact gradient of the grid model's loss with ``dH/dx`` replaced by
    ``1 / (1 + slope |x|)^2``; ``t_o = dt sum_{k<N} prod_{j<=k} (1 - s_j) + (t_max - N dt) prod_{j<=N} (1 - s_j)``.
    Patterns run in parallel (numba ``prange``), each independently.
    """
    if not isinstance(loss, Loss):
        raise ValueError(f"loss must be an exactsnn.Loss, got {type(loss).__name__}")
    for name, flag in (("detach_reset", detach_reset), ("silent_grad", silent_grad)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} = {flag!r} must be True or False")
    slope = _positive("slope", slope)
    w, w_off, sizes, n_off = _layout(weights)
    (tau_syn, tau_mem, theta), t_max, dt, n_steps = _grid(params, t_max, dt, int(n_off[-1]))
    loss.check_outputs(int(sizes[-1]))
    times, chans, ptr = _patterns(patterns, int(sizes[0]))
    lab = _labels(labels, loss, ptr.size - 1, int(sizes[-1]))
    losses, t_first, grads = _batch(w, w_off, sizes, n_off, times, chans, ptr, n_steps, dt, t_max, tau_syn, tau_mem,
                                    theta, slope, bool(detach_reset), bool(silent_grad), KINDS[loss.kind], lab,
                                    float(loss.tau0), float(loss.tau1), float(loss.gamma))
    g = grads.sum(axis=0)
    shapes = [(int(sizes[l]), int(sizes[l + 1])) for l in range(sizes.size - 1)]
    grad_weights = [g[o:o + r * c].reshape(r, c) for o, (r, c) in zip(w_off, shapes)]
    return SurrogateResult(losses, t_first, grad_weights, n_steps)


def simulate_discrete(weights, inputs, params, t_max, dt) -> DiscreteRun:
    """Forward pass of one pattern on the grid (the model of ``surrogate_batch_loss_grad``).

    ``inputs`` is one pattern in ``simulate``'s form (per channel a list of ascending times). A neuron
    spikes at grid time ``k dt`` when its pre-reset potential ``potential[k] >= threshold``.
    """
    w, w_off, sizes, n_off = _layout(weights)
    (tau_syn, tau_mem, theta), t_max, dt, n_steps = _grid(params, t_max, dt, int(n_off[-1]))
    times, chans = pack_inputs(validate_inputs(inputs, int(sizes[0]), "inputs"))
    vt = _run_one(w, w_off, sizes, n_off, times, chans, n_steps, dt, tau_syn, tau_mem, theta)
    grid = np.arange(n_steps + 1) * dt
    return DiscreteRun(grid, vt, [grid[vt[:, j] >= theta] for j in range(vt.shape[1])])


__all__ = ["surrogate_batch_loss_grad", "simulate_discrete", "SurrogateResult", "DiscreteRun", "psp"]
