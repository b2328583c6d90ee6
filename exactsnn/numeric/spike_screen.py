"""One-pass checks over a simulation's recorded spikes (numba): the per-sample API's cheap paths.

- ``spikes_clean``: would ``exactsnn.diagnostics`` flag nothing? One loop over the engine's recorded
  ``dV/dt``, event gaps, spike times and sub-threshold margins, instead of one numpy reduction per test.
- ``first_spike_ids``: the first spike of each listed neuron, in one pass over the spikes.
- ``sample_loss_dt``: a first-spike loss and its dL/dt per spike, in one call.
- ``all_finite``, ``packed_channels``: one-pass checks of dL/dt and of an input pattern.
"""

import numpy as np
from numba import njit

from .losses_nb import loss_and_grad


@njit(cache=True)
def spikes_clean(spike_time, vdot, gap, t_max, near_margin, vdot_tol, time_tol, margin_tol):
    """True only if no spike and no neuron meets a finding of ``diagnostics.diagnose``.

    Per spike k (time order): ``vdot[k] > vdot_tol``, ``gap[k] > time_tol``, ``t_max - t_k > time_tol`` and
    ``t_k - t_{k-1} > time_tol``; per neuron j: ``near_margin[j] > margin_tol``. Every comparison is False
    for NaN, so a NaN anywhere gives False; so do spikes out of time order (a negative difference). False
    means "look closer" (the caller runs every test), never "flagged".
    """
    n = spike_time.size
    for k in range(n):
        t = spike_time[k]
        if not (vdot[k] > vdot_tol and gap[k] > time_tol and t_max - t > time_tol):
            return False
        if k > 0 and not (t - spike_time[k - 1] > time_tol):
            return False
    for j in range(near_margin.size):
        if not near_margin[j] > margin_tol:
            return False
    return True


@njit(cache=True)
def first_spike_ids(spike_neuron, n_neurons, neurons):
    """ids (len(neurons),) int64: the index of each listed neuron's first spike in ``spike_neuron`` (spikes in
    time order), -1 for a neuron that never fires or is not in ``[0, n_neurons)``. Repeats allowed."""
    first = np.full(n_neurons, -1, np.int64)
    for k in range(spike_neuron.size):
        j = spike_neuron[k]
        if 0 <= j < n_neurons and first[j] < 0:
            first[j] = k
    ids = np.full(neurons.size, -1, np.int64)
    for o in range(neurons.size):
        j = neurons[o]
        if 0 <= j < n_neurons:
            ids[o] = first[j]
    return ids


@njit(cache=True)
def all_finite(a):
    """True if no entry of the 1-D array ``a`` is NaN or +-inf."""
    for k in range(a.size):
        if not (abs(a[k]) <= 1.7976931348623157e308):
            return False
    return True


@njit(cache=True)
def packed_channels(times, lens, max_time):
    """The channel of each input spike, ``times`` being channel ``c``'s ``lens[c]`` spikes after another's;
    an empty array unless every time is in ``[0, max_time]`` (so finite) and each channel is ascending."""
    src = np.empty(times.size, np.int64)
    k = 0
    for c in range(lens.size):
        for f in range(lens[c]):
            t = times[k]
            if not (0.0 <= t <= max_time) or (f > 0 and t < times[k - 1]):
                return np.empty(0, np.int64)
            src[k] = c
            k += 1
    return src


@njit(cache=True)
def sample_loss_dt(kind, spike_time, spike_neuron, n_neurons, outputs, t_max, label, tau0, tau1, gamma):
    """One simulated pattern's (L, dL/dt_k (n_spikes,), t_first (n_out,), all finite) in one call (the
    per-sample API).

    ``t_first[o]`` is output ``o``'s first spike (spikes in time order), ``t_max`` if it never fires;
    ``dL/dt_k = dL/dt_o`` (``loss_and_grad``) at output o's first spike k, 0 at every other spike.
    """
    first = np.full(n_neurons, -1, np.int64)
    for k in range(spike_neuron.size):
        j = spike_neuron[k]
        if 0 <= j < n_neurons and first[j] < 0:
            first[j] = k
    n_out = outputs.size
    t_first = np.full(n_out, t_max)
    silent = np.ones(n_out, np.bool_)
    for o in range(n_out):
        k = first[outputs[o]]
        if k >= 0:
            t_first[o] = spike_time[k]
            silent[o] = False
    dl_do = np.zeros(n_out)
    value = loss_and_grad(kind, t_first, silent, label, tau0, tau1, gamma, dl_do)
    dl_dt = np.zeros(spike_time.size)
    for o in range(n_out):
        k = first[outputs[o]]
        if k >= 0:
            dl_dt[k] += dl_do[o]
    finite = abs(value) <= 1.7976931348623157e308
    for o in range(n_out):  # every other entry of dl_dt is 0
        k = first[outputs[o]]
        if k >= 0 and not abs(dl_dt[k]) <= 1.7976931348623157e308:
            finite = False
    return value, dl_dt, t_first, finite
