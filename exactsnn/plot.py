"""Figures users expect: spike rasters, membrane potentials, gradient checks (optional: matplotlib).

    from exactsnn import plot
    plot.raster(result)                      # every spike, rows grouped and labelled by layer
    plot.membrane(result, [3, 20])           # V(t) from the model's kernels, threshold and spikes marked
    plot.gradient_check(report)              # engine vs reference (verify/validate), errors on a log axis

matplotlib is imported when a function is called (``pip install 'exactsnn[plot]'``), never at
``import exactsnn``. Each function draws into ``ax`` (or a new figure) and returns the figure; the
plotted data are the inputs themselves, so a figure can be checked against them.
"""

from __future__ import annotations

import numpy as np

#: Errors of exactly zero are drawn at this floor on the logarithmic axis of ``gradient_check``.
ERROR_FLOOR = 1e-18


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("exactsnn.plot needs matplotlib: pip install 'exactsnn[plot]'") from None
    return plt


def _axes(ax, n=1, figsize=(8, 4)):
    """(figure, axes) of a new figure with ``n`` panels side by side, or of the given ``ax`` (n == 1)."""
    if ax is not None:
        return ax.figure, ax
    fig, axes = _pyplot().subplots(1, n, figsize=figsize)
    return fig, axes


def layer_groups(network) -> list:
    """``[(name, neuron ids)]`` of a network's neurons, in raster order.

    Feed-forward: ``hidden`` (``hidden 1``, ``hidden 2``, ... when there are several) and ``output``.
    Recurrent: ``recurrent`` (the neurons that are not outputs) and ``output``.
    """
    outputs = np.asarray(network.outputs, np.int64)
    if network.kind == "feedforward" and len(network.layer_sizes) > 1:
        sizes = list(network.layer_sizes[1:])
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        n_hidden = len(sizes) - 1
        names = ["hidden" if n_hidden == 1 else f"hidden {l + 1}" for l in range(n_hidden)] + ["output"]
        return [(names[l], np.arange(bounds[l], bounds[l + 1])) for l in range(len(sizes))]
    rest = np.setdiff1d(np.arange(network.n_neurons), outputs)
    groups = [("recurrent", rest)] if rest.size else []
    return groups + [("output", outputs)]


def raster(result, ax=None, inputs=True, marker="|", markersize=8):
    """Spike raster of one simulation, rows grouped and labelled by layer.

    Parameters
    ----------
    result : exactsnn.SimulationResult
    ax : matplotlib Axes, optional
    inputs : bool
        Draw the input spikes too (bottom rows, label ``input``).

    Returns
    -------
    matplotlib.figure.Figure
        One line per group (``Line2D`` labelled with the group's name); its x data are the spike times of
        the group's neurons in time order, its y data their rows. ``ax.raster_rows`` maps each neuron to
        its row (inputs are rows ``0 .. n_inputs-1`` when drawn).

    Notes
    -----
    A spike is a time ``t_i^k`` with ``V_i(t_i^k) = threshold`` and ``dV_i/dt > 0``; the raster shows
    the exact times found by the event-driven simulation, with no time grid.
    """
    fig, ax = _axes(ax)
    net = result.network
    row = 0
    ticks, names = [], []
    if inputs:
        ch = np.asarray(result.in_src, np.int64)
        ax.plot(result.in_times, ch, marker, ms=markersize, ls="none", color="0.3", label="input")
        ticks.append((net.n_inputs - 1) / 2)
        names.append("input")
        row = net.n_inputs
    rows = np.empty(net.n_neurons, np.int64)
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:red"]
    for g, (name, ids) in enumerate(layer_groups(net)):
        if row:
            ax.axhline(row - 0.5, color="0.8", lw=0.6)
        rows[ids] = row + np.arange(ids.size)
        hit = np.isin(result.spike_neuron, ids)
        ax.plot(result.spike_time[hit], rows[result.spike_neuron[hit]], marker, ms=markersize, ls="none",
                color=colours[g % len(colours)], label=name)
        ticks.append(row + (ids.size - 1) / 2)
        names.append(name)
        row += ids.size
    ax.set_yticks(ticks, names)
    ax.set_ylim(-1, row)
    ax.set_xlim(0, result.t_max)
    ax.set_xlabel("time")
    ax.set_title(f"{result.n_spikes} spikes")
    ax.raster_rows = rows
    return fig


def membrane(result, neurons, ax=None, n_samples=1000, times=None):
    """Membrane potential ``V_j(t)`` of the listed neurons, with the threshold and their spikes marked.

    Parameters
    ----------
    result : exactsnn.SimulationResult
    neurons : int or sequence of int
    ax : matplotlib Axes, optional
    n_samples : int
        Evenly spaced sample times on ``[0, t_max]`` (ignored when ``times`` is given).
    times : array_like, optional
        Sample times instead of the even grid.

    Returns
    -------
    matplotlib.figure.Figure
        One line per neuron (labelled ``neuron j (layer)``), whose data are the sample times and ``V`` at
        them. Each spike ``t_k`` of the neuron adds two samples: just before it (the float64 number below
        ``t_k``, where ``V`` reaches the threshold) and at it (the right limit, after the reset), so the
        trace shows the crossing and the reset. Spikes are marked at the threshold (``o``), the threshold
        is a dashed line.

    Notes
    -----
    ``V_j(t) = sum_syn w sum_f psp(t - t_f - d) - sum_k reset(t - t_j^k)``, evaluated by the model's
    printed kernels from the simulation's causal record (``exactsnn.membrane_potential``), not read off a
    time grid.
    """
    from .simulate import membrane_potential

    fig, ax = _axes(ax)
    ids = np.atleast_1d(np.asarray(neurons, np.int64))
    grid = np.linspace(0.0, result.t_max, int(n_samples)) if times is None else np.asarray(times, np.float64)
    layer = {int(j): name for name, group in layer_groups(result.network) for j in group}
    thetas = set()
    for j in ids:
        own = result.spike_time[result.spike_neuron == j]
        ts = np.unique(np.concatenate([grid, own, np.nextafter(own, -np.inf)]))
        v = membrane_potential(result, int(j), ts)
        (line,) = ax.plot(ts, v, lw=1, label=f"neuron {j} ({layer.get(int(j), '?')})")
        theta = _threshold(result, int(j))
        thetas.add(theta)
        ax.plot(own, np.full(own.size, theta), "o", ms=4, color=line.get_color())
    for theta in sorted(thetas):
        ax.axhline(theta, color="k", ls="--", lw=0.8)
    ax.set_xlabel("time")
    ax.set_ylabel("V")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def _threshold(result, neuron: int) -> float:
    p = tuple(result.ptab[result.pop[neuron]].tolist())
    return float(result.model.module.firing_threshold(p))


def _pairs(report, reference):
    """(checked, reference, what, errors or None) from a report or from two arrays."""
    if reference is not None:
        eng, ref = np.asarray(report, np.float64).ravel(), np.asarray(reference, np.float64).ravel()
        if eng.shape != ref.shape:
            raise ValueError(f"gradient_check: engine values {eng.shape} and reference {ref.shape} differ in size")
        return eng, ref, "value", None
    if hasattr(report, "entries"):  # verification.CompareReport (exactsnn validate): its own relative errors
        num = [e for e in report.entries if e.kind == "numeric"]
        return (np.array([float(e.claimed) for e in num]), np.array([float(e.expected) for e in num]), "claimed",
                np.array([e.rel_err for e in num], np.float64))
    if hasattr(report, "params") and hasattr(report, "spikes"):  # verification.VerifyReport
        grads = [p for p in report.params if p.grad is not None and p.grad_ref is not None]
        if grads:
            return (np.array([p.grad for p in grads]), np.array([float(p.grad_ref) for p in grads]), "dL/dq", None)
        spikes = [s for s in report.spikes if s.time_ref is not None]
        return np.array([s.time for s in spikes]), np.array([float(s.time_ref) for s in spikes]), "spike time", None
    raise TypeError("gradient_check takes a VerifyReport, a CompareReport, or two arrays (engine, reference); "
                    f"got {type(report).__name__}")


def gradient_check(report, reference=None, axes=None, title=None):
    """Engine (or claimed) values against the reference: a scatter and the errors on a log axis.

    Parameters
    ----------
    report : VerifyReport, CompareReport or array_like
        ``exactsnn.verify`` report (its ``dL/dq`` per parameter, or the spike times when the case has no
        loss), ``exactsnn.compare`` report (every numeric claimed entry), or the values to check.
    reference : array_like, optional
        The reference values when ``report`` is an array (e.g. central finite differences).
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Left: the points ``(reference, value)`` (a ``PathCollection``) and the diagonal. Right: per entry,
        the scaled error ``|value - reference| / max|reference|`` (for a ``CompareReport``: each entry's
        relative error as the validator computed it; zeros drawn at ``ERROR_FLOOR``) on a logarithmic
        axis, as a line of markers.

    Notes
    -----
    The error is scaled by the largest reference magnitude, as ``exactsnn demo`` reports it: an entry
    near zero is compared with the size of the gradient, not with itself.
    """
    eng, ref, what, rel = _pairs(report, reference)
    if axes is None:
        fig, (ax1, ax2) = _axes(None, 2, figsize=(10, 4))
    else:
        ax1, ax2 = axes
        fig = ax1.figure
    scale = np.max(np.abs(ref)) if ref.size and np.max(np.abs(ref)) > 0 else 1.0
    err = np.maximum(np.abs(eng - ref) / scale if rel is None else rel, ERROR_FLOOR)
    ax1.scatter(ref, eng, s=12)
    lo, hi = (float(np.min(ref)), float(np.max(ref))) if ref.size else (0.0, 1.0)
    ax1.plot([lo, hi], [lo, hi], color="k", lw=0.6)
    ax1.set_xlabel(f"reference {what}")
    ax1.set_ylabel(f"checked {what}")
    ax2.semilogy(np.arange(err.size), err, ".", ls="none")
    ax2.set_xlabel("entry")
    ax2.set_ylabel("|checked - reference| / max |reference|" if rel is None else "relative error (validator)")
    worst = float(np.max(err)) if err.size else 0.0
    ax2.set_title(f"max scaled error {worst:.2e} over {err.size} entries")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
