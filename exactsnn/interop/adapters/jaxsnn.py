"""jaxsnn's event-based simulator on a NIR graph, as an ``exactsnn-result/1`` claim (spikes, loss, gradient).

jaxsnn (0.3.0) integrates ``tau_mem dV/dt = -V + I``, ``tau_syn dI/dt = -I`` with ``I += W`` at an input
spike and ``V <- v_reset`` at a spike. With ``J = I / tau_mem`` this is exactsnn's ``lif`` with weight
``w = W / tau_mem``, so the adapter passes ``W = tau_mem * w`` (``w`` the exactsnn weights of the
imported graph, i.e. NIR's meaning) and reports ``dL/dw = tau_mem dL/dW``. jaxsnn's own ``from_nir`` is
not used: it reads time constants in ms (``* 1e-3``), ignores ``r`` and ``w_in`` and passes NIR's
``(n_out, n_in)`` weights where its ``Linear`` takes ``(n_in, n_out)``. Its analytical solver covers
``tau_mem = tau_syn`` and ``tau_mem = 2 tau_syn`` only; other ratios are refused.

Event budget. A jaxsnn ``LIF`` layer processes a fixed number ``n_steps`` of events (its input spikes
*and* its own spikes, one per step); events past the budget are silently dropped. The adapter therefore
sizes each layer's budget (``n_steps=None``): ``1.25 (inputs + spikes) + 16`` from exactsnn's simulation
of the same graph, then checks jaxsnn's buffers and doubles the budget while any layer used all of it.
The budget is only a buffer size; every claimed time is jaxsnn's.
"""

from __future__ import annotations

import numpy as np

from ...errors import NIRError
from ..nir_import import from_nir
from ._common import grad_claim, loss_at, output_layer_check, parse_loss


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


def _budgets(imp, batch, t_max) -> list:
    """Per-layer event budgets from exactsnn's own simulation: ``1.25 (inputs + spikes) + 16``, the
    largest over the patterns of ``batch``."""
    from ...simulate import simulate

    sizes, worst = imp.network.layer_sizes, np.zeros(len(imp.network.layer_sizes) - 1)
    for times in batch:
        res = simulate(imp.model, imp.network, times, t_max, params=imp.params)
        counts, first = [sum(len(x) for x in times)], 0
        for size in sizes[1:]:
            counts.append(sum(len(res.spikes[j]) for j in range(first, first + size)))
            first += size
        worst = np.maximum(worst, [counts[l - 1] + counts[l] for l in range(1, len(sizes))])
    return [int(1.25 * n) + 16 for n in worst]


def _topology(imp, t_max, budgets, method):
    """jaxsnn ``(init_fn, apply_fn)`` for the layer stack; weights ``tau_mem * w`` per ``Linear``."""
    import jax.numpy as jnp
    from jaxsnn.event.modules import LIF, LIFParameters, Linear, Source
    from jaxsnn.event.topology import Topology

    p, sizes = imp.params, imp.network.layer_sizes
    mats = imp.network.unflatten(imp.network.weight)
    lif = LIFParameters(tau_syn=p["tau_syn"], tau_mem=p["tau_mem"], v_th=p["threshold"], v_reset=0.0)
    top = Topology(t_max=t_max, backprop_method=method)
    mods, edges, prev = {"inp": Source(sizes[0])}, [], "inp"
    for l in range(1, len(sizes)):
        mods[f"syn{l}"] = Linear(pre_weights=jnp.asarray(p["tau_mem"] * mats[f"weights[{l - 1}]"]))
        mods[f"lif{l}"] = LIF(sizes[l], budgets[l - 1], lif)
        edges += [(prev, f"syn{l}"), (f"syn{l}", f"lif{l}")]
        prev = f"lif{l}"
    top.add(mods)
    top.connect(edges)
    return top.done()


def _input_spikes(batch):
    """jaxsnn ``Spike`` of a batch of patterns (each with the same number of input spikes), time-sorted."""
    import jax.numpy as jnp
    from jaxsnn.event.types import Spike

    rows = []
    for times in batch:
        t = np.concatenate([np.asarray(x, np.float64) for x in times]) if times else np.zeros(0)
        idx = np.concatenate([np.full(len(x), c) for c, x in enumerate(times)]).astype(int)
        order = np.argsort(t, kind="stable")
        rows.append((t[order], idx[order]))
    if len({t.size for t, _ in rows}) != 1:
        raise NIRError("a jaxsnn batch needs the same number of input spikes in every pattern")
    t, idx = np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])
    return Spike(time=jnp.asarray(t), idx=jnp.asarray(idx), current=jnp.zeros(t.shape),
                 layer_idx=jnp.zeros(t.shape, int), internal=jnp.ones(t.shape, bool))


def _layer_spikes(ev, size, t_max) -> tuple:
    """(spike lists of one layer, whether its event buffer is full) from jaxsnn's event record."""
    i, tt = np.asarray(ev.idx[0]), np.asarray(ev.time[0], np.float64)
    ok = np.asarray(ev.internal[0]) & (i >= 0) & (tt <= t_max)
    return [sorted(tt[ok & (i == j)].tolist()) for j in range(size)], bool(i.size and i[-1] >= 0)


def _first_times(events, node, size):
    """First spike time per neuron of ``node`` (``inf`` when silent), differentiable in jax."""
    import jax.numpy as jnp

    ev = events[node]
    ok = ev.internal[0] & (ev.idx[0] >= 0)
    return jnp.stack([jnp.min(jnp.where(ok & (ev.idx[0] == j), ev.time[0], jnp.inf)) for j in range(size)])


def _run(imp, times, t_max, budgets, loss, method):
    """One jaxsnn run: (events, gradient dL/dW per layer or None)."""
    import jax

    init_fn, apply_fn = _topology(imp, t_max, budgets, method)
    params, spk = init_fn(jax.random.PRNGKey(0)), _input_spikes([times])
    events = apply_fn({"inp": spk}, params)
    if loss is None:
        return events, None
    n_layers, size = len(budgets), imp.network.layer_sizes[-1]
    t_first = np.asarray(_first_times(events, f"lif{n_layers}", size), np.float64)
    value, dl_dt = loss_at(loss, t_first, t_max)
    _, vjp = jax.vjp(lambda q: _first_times(apply_fn({"inp": spk}, q), f"lif{n_layers}", size), params)
    (g,) = vjp(jax.numpy.asarray(dl_dt))
    return events, (value, [np.asarray(g[f"syn{l}"], np.float64) for l in range(1, n_layers + 1)])


def jaxsnn_claim(graph, inputs, t_max, *, x64: bool = True, n_steps: int | None = None, loss=None,
                 method: str = "eventprop", spike_area: float = 1.0) -> dict:
    """Simulate ``graph`` (``nir.NIRGraph`` or path) with jaxsnn; return an ``exactsnn-result/1`` document.

    Parameters
    ----------
    graph : nir.NIRGraph or path
    inputs : list of ascending lists of float
        Input spike times per channel.
    t_max : float
    x64 : bool
        float64 (True) or float32 arithmetic in jaxsnn.
    n_steps : int, optional
        jaxsnn's event budget per layer (inputs + spikes). ``None``: sized from exactsnn's simulation and
        doubled until no layer fills it (module docstring). A given budget is used as is; then
        ``claim["jaxsnn"]["budget_full"]`` says whether a layer used it all (later spikes are missing).
    loss : Loss or case-format loss dict, optional
        Adds ``loss`` and ``grad.weights``: jaxsnn's gradient of ``L(t_o)`` (``L`` and ``dL/dt_o`` at
        jaxsnn's first output times, ``dt_o/dW`` by ``jax.vjp`` through jaxsnn's simulator), times
        ``tau_mem`` for exactsnn's weights.
    method : {"eventprop", "analytical"}
        jaxsnn's backward pass: its EventProp adjoint, or autodiff through its closed-form spike times.
    """
    try:
        import jax
        import jaxsnn.event.topology  # noqa: F401
    except ImportError as exc:
        raise NIRError(f"jaxsnn is not installed ({exc}); pip install -e '.[peers]'") from None
    from ...network import validate_inputs, validate_t_max

    if method not in ("eventprop", "analytical"):
        raise NIRError(f"method = {method!r}; allowed: 'eventprop', 'analytical'")
    imp = from_nir(graph, spike_area=spike_area)
    _check(imp)
    loss = parse_loss(loss)
    if loss is not None:
        output_layer_check(imp.network, loss)
    times = [np.asarray(x, np.float64).tolist() for x in validate_inputs(inputs, imp.network.n_inputs)]
    t_max = validate_t_max(t_max)
    sizes = imp.network.layer_sizes
    auto = n_steps is None
    budgets = _budgets(imp, [times], t_max) if auto else [int(n_steps)] * (len(sizes) - 1)
    with jax.enable_x64(x64):
        for _ in range(8):
            events, grads = _run(imp, times, t_max, budgets, loss, method)
            layers = [_layer_spikes(events[f"lif{l}"], sizes[l], t_max) for l in range(1, len(sizes))]
            full = [f for _, f in layers]
            if not (auto and any(full)):
                break
            budgets = [2 * b if f else b for b, f in zip(budgets, full)]
    doc = {"format": "exactsnn-result/1", "spikes": [s for s, _ in layers],
           "jaxsnn": {"x64": bool(x64), "n_steps": budgets, "budget_full": any(full), "method": method}}
    if grads is not None:
        doc["loss"] = grads[0]
        doc["grad"] = grad_claim(imp.params["tau_mem"] * g for g in grads[1])
    return doc


def jaxsnn_first_times(graph, batch, t_max, *, x64: bool = True, spike_area: float = 1.0) -> np.ndarray:
    """First output spike times ``(n_patterns, n_out)`` (``inf`` when silent) of a batch, one vmapped run.

    ``batch[b][c]`` lists the input spike times of channel ``c`` of pattern ``b`` (the same number of
    spikes in every pattern). Budgets as in ``jaxsnn_claim(n_steps=None)``, the largest over the batch.
    """
    try:
        import jax
        import jaxsnn.event.topology  # noqa: F401
    except ImportError as exc:
        raise NIRError(f"jaxsnn is not installed ({exc}); pip install -e '.[peers]'") from None
    from ...network import validate_inputs, validate_t_max

    imp = from_nir(graph, spike_area=spike_area)
    _check(imp)
    batch = [[np.asarray(x, np.float64).tolist() for x in validate_inputs(p, imp.network.n_inputs)] for p in batch]
    t_max = validate_t_max(t_max)
    budgets, n = _budgets(imp, batch, t_max), len(imp.network.layer_sizes) - 1
    with jax.enable_x64(x64):
        for _ in range(8):
            init_fn, apply_fn = _topology(imp, t_max, budgets, "analytical")
            events = apply_fn({"inp": _input_spikes(batch)}, init_fn(jax.random.PRNGKey(0)))
            full = [bool(np.any(np.asarray(events[f"lif{l}"].idx)[:, -1] >= 0)) for l in range(1, n + 1)]
            if not any(full):
                break
            budgets = [2 * b if f else b for b, f in zip(budgets, full)]
        ev, size = events[f"lif{n}"], imp.network.layer_sizes[-1]
        i, tt = np.asarray(ev.idx), np.asarray(ev.time, np.float64)
        ok = np.asarray(ev.internal) & (i >= 0) & (tt <= t_max)
    return np.stack([np.where(ok & (i == j), tt, np.inf).min(axis=1) for j in range(size)], axis=1)
