"""jaxsnn's event-based simulator on a NIR graph, as an ``exactsnn-result/1`` claim.

jaxsnn (0.3.0) integrates ``tau_mem dV/dt = -V + I``, ``tau_syn dI/dt = -I`` with ``I += W`` at an input
spike and ``V <- v_reset`` at a spike. With ``J = I / tau_mem`` this is exactsnn's ``lif`` with weight
``w = W / tau_mem``, so the adapter passes ``W = tau_mem * w`` (``w`` the exactsnn weights of the
imported graph, i.e. NIR's meaning). jaxsnn's own ``from_nir`` is not used: it reads time constants in
ms (``* 1e-3``), ignores ``r`` and ``w_in`` and passes NIR's ``(n_out, n_in)`` weights where its
``Linear`` takes ``(n_in, n_out)``. Its analytical solver covers ``tau_mem = tau_syn`` and
``tau_mem = 2 tau_syn`` only; other ratios are refused.
"""

from __future__ import annotations

import numpy as np

from ...errors import NIRError
from ..nir_import import from_nir


def _check(imp):
    net = imp.network
    n_layers = len(net.layer_sizes) - 1
    if imp.model != "lif" or net.kind != "feedforward" or len(net.blocks) != n_layers:
        raise NIRError("the jaxsnn adapter runs feed-forward CubaLIF layer stacks without skip connections")
    if imp.populations is not None:
        raise NIRError("jaxsnn takes one parameter set per network here; the graph's neurons differ")
    if np.any(net.delay != 0):
        raise NIRError("jaxsnn has no synaptic delays; the graph has Delay nodes")
    ratio = imp.params["tau_mem"] / imp.params["tau_syn"]
    if ratio not in (1.0, 2.0):
        raise NIRError(f"jaxsnn's analytical solver needs tau_mem / tau_syn = 1 or 2, got {ratio!r}")


def jaxsnn_claim(graph, inputs, t_max, *, x64: bool = True, n_steps: int = 64, spike_area: float = 1.0) -> dict:
    """Simulate ``graph`` (``nir.NIRGraph`` or path) with jaxsnn; return an ``exactsnn-result/1`` document.

    Parameters
    ----------
    graph : nir.NIRGraph or path
    inputs : list of ascending lists of float
        Input spike times per channel.
    t_max : float
    x64 : bool
        float64 (True) or float32 arithmetic in jaxsnn.
    n_steps : int
        jaxsnn's event budget per layer; ``claim["jaxsnn"]["budget_full"]`` says when a layer used it all
        (later spikes may be missing).
    """
    try:
        import jax
        import jax.numpy as jnp
        from jaxsnn.event.modules import LIF, LIFParameters, Linear, Source
        from jaxsnn.event.topology import Topology
        from jaxsnn.event.types import Spike
    except ImportError as exc:
        raise NIRError(f"jaxsnn is not installed ({exc}); pip install -e '.[peers]'") from None
    from ...network import validate_inputs, validate_t_max

    imp = from_nir(graph, spike_area=spike_area)
    _check(imp)
    net, p = imp.network, imp.params
    times = validate_inputs(inputs, net.n_inputs)
    t_max = validate_t_max(t_max)
    mats = net.unflatten(net.weight)
    sizes = net.layer_sizes
    with jax.enable_x64(x64):
        lif = LIFParameters(tau_syn=p["tau_syn"], tau_mem=p["tau_mem"], v_th=p["threshold"], v_reset=0.0)
        top = Topology(t_max=t_max, backprop_method="analytical")
        mods, edges = {"inp": Source(sizes[0])}, []
        prev = "inp"
        for l in range(1, len(sizes)):
            mods[f"syn{l}"] = Linear(pre_weights=jnp.asarray(p["tau_mem"] * mats[f"weights[{l - 1}]"]))
            mods[f"lif{l}"] = LIF(sizes[l], n_steps, lif)
            edges += [(prev, f"syn{l}"), (f"syn{l}", f"lif{l}")]
            prev = f"lif{l}"
        top.add(mods)
        top.connect(edges)
        init_fn, apply_fn = top.done()
        t = np.concatenate(times) if times else np.zeros(0)
        idx = np.concatenate([np.full(len(x), c) for c, x in enumerate(times)]).astype(int)
        order = np.argsort(t, kind="stable")
        spk = Spike(time=jnp.asarray(t[order][None]), idx=jnp.asarray(idx[order][None]),
                    current=jnp.zeros((1, t.size)), layer_idx=jnp.zeros((1, t.size), int),
                    internal=jnp.ones((1, t.size), bool))
        events = apply_fn({"inp": spk}, init_fn(jax.random.PRNGKey(0)))
    spikes, full = [], False
    for l in range(1, len(sizes)):
        ev = events[f"lif{l}"]
        i, tt = np.asarray(ev.idx[0]), np.asarray(ev.time[0], np.float64)
        ok = np.asarray(ev.internal[0]) & (i >= 0) & (tt <= t_max)
        spikes.append([sorted(tt[ok & (i == j)].tolist()) for j in range(sizes[l])])
        full |= bool(i[-1] >= 0)
    return {"format": "exactsnn-result/1", "spikes": spikes,
            "jaxsnn": {"x64": bool(x64), "n_steps": int(n_steps), "budget_full": full}}
