"""NIR (Neuromorphic Intermediate Representation) graphs in and out: ``to_nir`` and ``from_nir``.

Written against ``nir==1.0.8``. Times and time constants are in one unit (whatever the graph uses).

Scaling between NIR and exactsnn
--------------------------------
NIR's ``CubaLIF`` node, for neuron ``j`` driven by the output ``S_i(t) = sum_f delta(t - t_i^f)`` of a
``Linear`` node of weight ``W_ji`` (spikes are unit-area Dirac deltas)::

    tau_syn dI/dt = -I + w_in sum_i W_ji S_i(t)
    tau_mem dv/dt = (v_leak - v) + r I,        v <- v_reset when v > v_threshold

exactsnn's ``lif`` model::

    dJ/dt = -J / tau_syn + sum_i w_ji S_i(t)
    dV/dt = -V / tau_mem + J,                   V <- V - threshold at an upward crossing

With ``v_leak = 0`` put ``J = (r / tau_mem) I`` and divide NIR's first line by ``tau_syn``: both
systems coincide (``V = v``) when

    w_ji = g_j W_ji,      g_j = a r_j w_in_j / (tau_mem_j tau_syn_j),

``a`` being the area of one spike (1 for NIR's Dirac spikes; ``spike_area=dt`` reproduces time-stepped
exporters whose spike is a pulse of height 1 lasting one step). ``to_nir`` writes ``r = tau_mem *
tau_syn``, ``w_in = 1`` and ``W = w / a``: ``from_nir`` then computes ``g`` as the quotient of the same
rounded product by itself, exactly 1, so a round trip returns bit-identical weights (for ``a = 1``).

The non-leaky model (``nonleaky_if``, ``dJ/dt = -J/tau_syn + sum w S``, ``dV/dt = J``) has no single
NIR node; it is the chain ``LI -> IF``: ``tau dI/dt = -I + r_s S`` (``v_leak = 0``) feeding
``dv/dt = r_v I``. With ``J = r_v I``: ``tau_syn = tau`` and ``g_j = a r_s r_v / tau``. ``to_nir``
writes ``LI.r = tau``, ``IF.r = 1``.

Reset. NIR resets to ``v_reset = 0``; exactsnn subtracts the threshold. ``V`` is continuous (an input
spike makes ``J`` jump, never ``V``), so at an exact crossing ``V = threshold`` and ``V - threshold
= 0 = v_reset``: the two resets give the same trajectory, and neither touches ``I``. NIR's spike
condition ``v > v_threshold`` is an upward crossing of a continuous ``v``; a tangential touch is no
spike in either. What differs is only in time-stepped simulators, where ``v`` overshoots the threshold
by O(dt) before the reset: subtraction keeps the overshoot, reset-to-zero drops it. ``v_reset != 0``
or ``v_leak != 0`` (a constant drive) cannot be expressed and are refused.

Delays. A ``Delay`` node (``y(t) = x(t - d)``) before a ``Linear`` delays each source, after it each
target: synapse ``i -> j`` gets ``d_src_i + d_tgt_j``. ``to_nir`` writes a block's delays as one
source-side ``Delay`` node when every row of its delay matrix is constant, and refuses per-synapse
delays otherwise.

Refused on export (``NIRError``): user kernel models and built-in models other than ``lif`` and
``nonleaky_if`` (e.g. adaptive thresholds), per-synapse delays, two synapses between the same pair
of neurons in one block.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import NIRError

__all__ = ["to_nir", "from_nir", "read_nir", "write_nir", "NIR_VERSION"]

#: The nir package version this module is written and tested against.
NIR_VERSION = "1.0.8"
#: Models NIR can express, with the node type(s) they map to.
EXPORTABLE = {"lif": "CubaLIF", "nonleaky_if": "LI -> IF"}


def _nir():
    try:
        import nir
    except ImportError:  # pragma: no cover - nir is a dependency
        raise NIRError("the 'nir' package is not installed (pip install nir==1.0.8)") from None
    return nir


def _model_name(model) -> str:
    from ..compiled import CompiledModel

    if isinstance(model, CompiledModel):
        name = model.name
    elif isinstance(model, str):
        name = model
    else:
        raise NIRError(f"model {type(model).__name__} (a user kernel model) cannot be expressed in NIR; "
                       f"exportable models: {EXPORTABLE}")
    if name not in EXPORTABLE:
        raise NIRError(f"model {name!r} cannot be expressed in NIR (no NIR node has its dynamics); "
                       f"exportable models: {EXPORTABLE}")
    return name


def _groups(network) -> list:
    """[(node suffix, neuron indices)]: one group per layer (feed-forward) or one for all (recurrent)."""
    if network.kind == "feedforward":
        out, first = [], 0
        for l, size in enumerate(network.layer_sizes[1:], start=1):
            out.append((str(l), np.arange(first, first + size)))
            first += size
        return out
    return [("", np.arange(network.n_neurons))]


def _tag(suffix: str) -> str:
    return f"layer{suffix}" if suffix else "neurons"


def _partitions(network, group_of):
    """Yield (block name, src group, tgt group, synapse indices): synapses of one block between two groups."""
    for name, shape, start in network.blocks:
        idx = np.arange(start, start + int(np.prod(shape)))
        src = np.where(network.pre[idx] < network.n_inputs, -1, group_of[np.maximum(network.pre[idx] - network.n_inputs, 0)])
        tgt = group_of[network.post[idx]]
        for s, t in sorted(set(zip(src.tolist(), tgt.tolist()))):
            yield name, s, t, idx[(src == s) & (tgt == t)]


def _block_arrays(network, syn, src_index, tgt_index, n_src, n_tgt, label):
    """Dense NIR weight (n_tgt, n_src) and the source-side delay vector (n_src,) of one partition."""
    i = src_index[syn]
    j = tgt_index[network.post[syn]]
    if len(set(zip(i.tolist(), j.tolist()))) != syn.size:
        raise NIRError(f"block {label} has two synapses between the same pair of neurons; NIR's Linear holds one "
                       f"weight per pair")
    weight = np.zeros((n_tgt, n_src))
    weight[j, i] = network.weight[syn]
    delay = np.zeros(n_src)
    delay[i] = network.delay[syn]
    if not np.array_equal(network.delay[syn], delay[i]):
        k = int(np.flatnonzero(network.delay[syn] != delay[i])[0])
        raise NIRError(f"block {label}: synapse ({int(i[k])} -> {int(j[k])}) has delay {float(network.delay[syn][k])!r} "
                       f"but another synapse from the same source has {float(delay[i[k]])!r}; NIR expresses delays per source "
                       f"(Delay node) or per target, not per synapse")
    return weight, delay


def _neuron_nodes(nir, model, suffix, per_neuron, idx):
    """NIR node(s) for one group: [(name, node)], entry name, exit name."""
    p = {k: np.ascontiguousarray(v[idx], dtype=np.float64) for k, v in per_neuron.items()}
    zero = np.zeros(idx.size)
    if model == "lif":
        name = f"lif{suffix}"
        node = nir.CubaLIF(tau_syn=p["tau_syn"], tau_mem=p["tau_mem"], r=p["tau_mem"] * p["tau_syn"], v_leak=zero,
                           v_threshold=p["threshold"], v_reset=zero.copy(), w_in=np.ones(idx.size))
        return [(name, node)], name, name
    li, fire = f"synapse{suffix}", f"if{suffix}"
    return ([(li, nir.LI(tau=p["tau_syn"], r=p["tau_syn"].copy(), v_leak=zero)),
             (fire, nir.IF(r=np.ones(idx.size), v_threshold=p["threshold"], v_reset=zero.copy()))], li, fire)


def to_nir(network, model="lif", params=None, populations=None, *, spike_area: float = 1.0):
    """Express an exactsnn network as a ``nir.NIRGraph``.

    Parameters
    ----------
    network : Network
    model : {"lif", "nonleaky_if"} or CompiledModel
        Other models (user kernels, adaptive thresholds, ...) raise ``NIRError``.
    params : dict, optional
        Model parameters as for ``simulate`` (one number, or one per population).
    populations : (n_neurons,) int, optional
        Population of every neuron; parameters become per-neuron arrays of the NIR nodes.
    spike_area : float
        Area of one spike in the target simulator's convention (1: NIR's Dirac spikes).

    Returns
    -------
    nir.NIRGraph
        Nodes ``input``, ``linear_<src>_<tgt>`` (weights ``(n_tgt, n_src)``), ``lif<l>`` (or
        ``synapse<l>`` -> ``if<l>``), optional ``delay_...`` nodes and ``output``.

    Notes
    -----
    NIR weight ``W_ji = w_ij / a`` with ``r = tau_mem tau_syn``, ``w_in = 1`` (module docstring).
    """
    from ..compiled import load_builtin
    from ..network import Network
    from ..simulate import populations_array

    nir = _nir()
    name = _model_name(model)
    if not isinstance(network, Network):
        raise NIRError(f"network must be an exactsnn.Network, got {type(network).__name__}")
    if not (isinstance(spike_area, (int, float)) and np.isfinite(spike_area) and spike_area > 0):
        raise NIRError(f"spike_area = {spike_area!r} must be a finite number > 0")
    compiled = load_builtin(name)
    pop, n_pop = populations_array(populations, network.n_neurons)
    table = compiled.param_table(params, n_pop)
    per_neuron = {p: table[pop, i] for i, p in enumerate(compiled.param_names)}
    groups = _groups(network)
    group_of = np.empty(network.n_neurons, np.int64)
    index_in = np.empty(network.n_neurons, np.int64)
    nodes, edges, entries, exits = {"input": nir.Input(np.array([network.n_inputs]))}, [], [], []
    for g, (suffix, idx) in enumerate(groups):
        group_of[idx], index_in[idx] = g, np.arange(idx.size)
        made, entry, exit_ = _neuron_nodes(nir, name, suffix, per_neuron, idx)
        nodes.update(made)
        edges += [(made[k][0], made[k + 1][0]) for k in range(len(made) - 1)]
        entries.append(entry)
        exits.append(exit_)
    for block, s, t, syn in _partitions(network, group_of):
        src_name = "input" if s < 0 else exits[s]
        n_src = network.n_inputs if s < 0 else groups[s][1].size
        src_index = network.pre - (0 if s < 0 else network.n_inputs + groups[s][1][0])
        lin = f"linear_{'input' if s < 0 else _tag(groups[s][0])}_{_tag(groups[t][0])}"
        if not re.fullmatch(r"weights\[\d+\]|input_weights|weights", block):
            lin += "_" + re.sub(r"[^A-Za-z0-9_]+", "_", block)
        weight, delay = _block_arrays(network, syn, src_index, index_in, n_src, groups[t][1].size, block)
        nodes[lin] = nir.Linear(weight=weight / spike_area if spike_area != 1 else weight)
        if delay.any():
            nodes["delay_" + lin] = nir.Delay(delay=delay)
            edges += [(src_name, "delay_" + lin), ("delay_" + lin, lin)]
        else:
            edges.append((src_name, lin))
        edges.append((lin, entries[t]))
    _add_output(nir, network, groups, exits, nodes, edges)
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"source": "exactsnn"}, type_check=False)


def _add_output(nir, network, groups, exits, nodes, edges):
    """Output node fed by the neurons in ``network.outputs`` (one group; a subset goes in metadata)."""
    out = network.outputs
    owner = [g for g, (_, idx) in enumerate(groups) if np.isin(out, idx).all()]
    if not owner:
        raise NIRError(f"outputs {out.tolist()} span several layers; a NIR Output node reads one neuron node")
    g = owner[-1]
    idx = groups[g][1]
    local = out - idx[0]
    meta = {} if np.array_equal(local, np.arange(idx.size)) else {"exactsnn_outputs": local.astype(np.int64)}
    nodes["output"] = nir.Output(np.array([idx.size]), metadata=meta)
    edges.append((exits[g], "output"))


def write_nir(path, graph) -> None:
    """Write ``graph`` to ``path`` (HDF5, ``nir.write``)."""
    _nir().write(str(path), graph)


def read_nir(path):
    """Read a ``.nir`` file into a ``nir.NIRGraph``; a malformed file raises ``NIRError`` naming the node."""
    from .nir_import import read_graph

    return read_graph(path)


def from_nir(graph, *, spike_area: float = 1.0):
    """Import a NIR graph (``nir.NIRGraph`` or path) as an exactsnn network, model and parameters.

    See ``exactsnn.interop.nir_import.from_nir`` (re-exported here).
    """
    from .nir_import import from_nir as _from_nir

    return _from_nir(graph, spike_area=spike_area)
