"""Independent oracle for NIR graphs: NIR's own equations, integrated in mpmath.

Reads the NIR node fields directly (no exactsnn code, no SRM kernel): each neuron's state
``x = (v, I)`` follows ``dx/dt = A x`` between events, advanced with the matrix exponential
``mp.expm(A h)`` (the exact flow of the linear ODE) or, with ``method="odefun"``, with mpmath's Taylor
ODE solver. An input spike of NIR weight ``W`` adds ``area * w_in * W / tau_syn`` to ``I`` (integral of
``tau_syn dI/dt = w_in W delta``); an upward crossing of ``v_threshold`` is located by sign changes on a
fine grid and refined with ``mp.findroot``; then ``v <- v_reset``.

Supports feed-forward chains Input -> Linear/Affine -> (CubaLIF | LI -> IF) -> ... -> Output.
"""

import mpmath as mp
import numpy as np


def _get(node, field, j):
    a = np.asarray(getattr(node, field), float).ravel()
    return mp.mpf(float(a[j if a.size > 1 else 0]))


def cubalif_system(node, j):
    """(A, jump of I per unit NIR weight, threshold, reset) of neuron j of a CubaLIF node."""
    ts, tm, r, w_in = (_get(node, f, j) for f in ("tau_syn", "tau_mem", "r", "w_in"))
    assert _get(node, "v_leak", j) == 0
    a = mp.matrix([[-1 / tm, r / tm], [0, -1 / ts]])
    return a, w_in / ts, _get(node, "v_threshold", j), _get(node, "v_reset", j)


def li_if_system(li, fire, j):
    """The same for neuron j of an LI -> IF chain: tau dI/dt = -I + r_s S, dv/dt = r_v I."""
    tau, r_s, r_v = _get(li, "tau", j), _get(li, "r", j), _get(fire, "r", j)
    a = mp.matrix([[0, r_v], [0, -1 / tau]])
    return a, r_s / tau, _get(fire, "v_threshold", j), _get(fire, "v_reset", j)


def _flow(a, x, h, method):
    if method == "expm":
        return mp.expm(a * h) * x
    f = mp.odefun(lambda t, y: [a[0, 0] * y[0] + a[0, 1] * y[1], a[1, 1] * y[1]], 0, [x[0], x[1]])
    y = f(h)
    return mp.matrix([y[0], y[1]])


def neuron_spikes(system, arrivals, t_max, method="expm", grid=48):
    """Spike times of one neuron; ``arrivals`` is a list of (time, NIR weight * spike area)."""
    a, jump, theta, reset = system
    x, t, out = mp.matrix([0, 0]), mp.mpf(0), []
    events = sorted(arrivals) + [(mp.mpf(t_max), 0)]
    for te, w in events:
        te = mp.mpf(te)
        while te > t:
            s = _first_crossing(a, x, te - t, theta, method, grid)
            if s is None:
                x, t = _flow(a, x, te - t, method), te
                break
            t = t + s
            out.append(t)
            x = _flow(a, x, s, method)
            x[0] = reset
        x[1] += jump * w
    return [p for p in out if p <= t_max]


def _first_crossing(a, x, h, theta, method, grid):
    """First upward crossing of theta by v in (0, h]: sign change on a grid, then findroot."""
    v = lambda s: _flow(a, x, s, method)[0] - theta
    step = mp.expm(a * (h / grid)) if method == "expm" else None
    y, prev = x, x[0] - theta
    for k in range(1, grid + 1):
        y = step * y if step is not None else _flow(a, x, h * k / grid, method)
        cur = y[0] - theta
        if prev < 0 <= cur:
            return mp.findroot(v, (h * (k - 1) / grid, h * k / grid), solver="anderson")
        prev = cur
    return None


def feedforward_spikes(layers, inputs, t_max, spike_area=1.0, dps=30, method="expm"):
    """Spike times per layer. ``layers``: list of (weight (n_out, n_in) NIR array, systems list)."""
    with mp.workdps(dps):
        spikes_in = [[mp.mpf(float(t)) for t in ch] for ch in inputs]
        out = []
        for weight, systems in layers:
            layer = []
            for j, system in enumerate(systems):
                arr = [(t, mp.mpf(float(weight[j, i])) * mp.mpf(spike_area))
                       for i, ch in enumerate(spikes_in) for t in ch]
                layer.append(neuron_spikes(system, arr, t_max, method))
            out.append([[float(t) for t in s] for s in layer])
            spikes_in = layer
        return out
