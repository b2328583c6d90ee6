"""snnTorch's time-stepped ``Synaptic`` neurons on a NIR graph, as an ``exactsnn-result/1`` claim.

snnTorch (1.0.0) steps ``syn[n] = alpha syn[n-1] + x[n]``, ``mem[n] = beta mem[n-1] + syn[n]`` with a
subtractive reset, and reports a spike at step ``n`` when ``mem`` exceeds the threshold. It approximates
exactsnn's ``lif`` (``dJ/dt = -J/tau_syn + w S``, ``dV/dt = -V/tau_mem + J``) with
``alpha = exp(-dt/tau_syn)``, ``beta = exp(-dt/tau_mem)``, weight ``dt * w`` (``mem`` sums ``syn`` once per
step, a Riemann sum of ``integral J``) and an input spike at ``t`` entering at step ``ceil(t/dt)``. A
spike at step ``n`` is claimed at time ``n dt``. The errors are the method's, O(dt): that is what
``exactsnn validate`` measures.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import NIRError
from ..nir_import import from_nir


def _layers(imp):
    net = imp.network
    if imp.model != "lif" or net.kind != "feedforward" or len(net.blocks) != len(net.layer_sizes) - 1:
        raise NIRError("the snnTorch adapter runs feed-forward CubaLIF layer stacks without skip connections")
    if np.any(net.delay != 0):
        raise NIRError("snnTorch's Synaptic layers have no synaptic delays; the graph has Delay nodes")
    pop = np.zeros(net.n_neurons, np.int64) if imp.populations is None else imp.populations
    per = {k: np.asarray(v, np.float64)[pop] if np.ndim(v) else np.full(net.n_neurons, float(v))
           for k, v in imp.params.items()}
    mats = net.unflatten(net.weight)
    out, first = [], 0
    for l, size in enumerate(net.layer_sizes[1:]):
        sl = slice(first, first + size)
        out.append((mats[f"weights[{l}]"], per["tau_syn"][sl], per["tau_mem"][sl], per["threshold"][sl]))
        first += size
    return out


def snntorch_claim(graph, inputs, t_max, dt: float, *, spike_area: float = 1.0) -> dict:
    """Simulate ``graph`` with snnTorch ``Synaptic`` layers at step ``dt`` (float64); return a claim.

    Parameters
    ----------
    graph : nir.NIRGraph or path
    inputs : list of ascending lists of float
    t_max : float
    dt : float
        Time step, in the graph's time unit.
    """
    try:
        import snntorch as snn
        import torch
    except ImportError as exc:
        raise NIRError(f"snnTorch is not installed ({exc}); pip install -e '.[peers]'") from None
    from ...network import validate_inputs, validate_t_max

    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise NIRError(f"dt = {dt!r} must be a finite number > 0")
    imp = from_nir(graph, spike_area=spike_area)
    layers = _layers(imp)
    times = validate_inputs(inputs, imp.network.n_inputs)
    t_max = validate_t_max(t_max)
    steps = int(math.floor(t_max / dt)) + 1
    x = torch.zeros(steps, imp.network.n_inputs, dtype=torch.float64)
    for c, ts in enumerate(times):
        for t in ts:
            k = int(math.ceil(t / dt))
            if k < steps:
                x[k, c] += 1.0
    mods = []
    for w, tau_syn, tau_mem, theta in layers:
        fc = torch.nn.Linear(w.shape[0], w.shape[1], bias=False).double()
        with torch.no_grad():
            fc.weight.copy_(torch.from_numpy(dt * w.T))
        lif = snn.Synaptic(alpha=torch.from_numpy(np.exp(-dt / tau_syn)), beta=torch.from_numpy(np.exp(-dt / tau_mem)),
                           threshold=torch.from_numpy(theta), reset_mechanism="subtract")
        mods.append((fc, lif))
    state = [(torch.zeros(len(th), dtype=torch.float64), torch.zeros(len(th), dtype=torch.float64))
             for _, _, _, th in layers]
    spikes = [[[] for _ in range(len(th))] for _, _, _, th in layers]
    with torch.no_grad():
        for n in range(steps):
            s = x[n]
            for l, (fc, lif) in enumerate(mods):
                s, syn, mem = lif(fc(s.to(torch.float64)), *state[l])
                state[l] = (syn, mem)
                for j in torch.nonzero(s > 0).flatten().tolist():
                    spikes[l][j].append(n * dt)
    return {"format": "exactsnn-result/1", "spikes": spikes, "snntorch": {"dt": float(dt), "steps": steps}}
