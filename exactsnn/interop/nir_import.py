"""NIR graph -> exactsnn network, model and parameters (the scaling is derived in ``interop/nir.py``).

Supported nodes: ``Input``, ``Output``, ``Linear``, ``Affine`` (zero bias), ``CubaLIF`` (``lif``),
``LI -> IF`` chains (``nonleaky_if``), ``Delay`` before or after a ``Linear``, and nested ``NIRGraph``
nodes with one Input and one Output (flattened). Each neuron node receives ``[Delay] -> Linear ->
[Delay]`` chains (or a direct edge: identity weights) from ``Input`` nodes or neuron nodes. An acyclic
graph becomes a feed-forward ``Network`` (neuron nodes in topological order are its layers; skip
connections become extra synapse blocks), a graph with cycles a recurrent one. Input channels are the
``Input`` nodes in name order, concatenated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import NIRError

NEURON_FIELDS = {"CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
                 "LI": ("tau", "r", "v_leak"), "IF": ("r", "v_threshold", "v_reset")}
SUPPORTED = ("Input", "Output", "Linear", "Affine", "CubaLIF", "LI", "IF", "Delay", "NIRGraph")


@dataclass(frozen=True, eq=False)
class NIRImport:
    """An imported NIR graph, ready for ``exactsnn.simulate``.

    Attributes
    ----------
    network : Network
    model : {"lif", "nonleaky_if"}
    params : dict
        Parameter name -> number (one population) or list (one per population).
    populations : (n_neurons,) int64 or None
        Population of every neuron when the graph's parameters differ between neurons.
    inputs : tuple of (node name, first channel, size)
    neurons : tuple of (node name, first neuron, size)
    """

    network: object
    model: str
    params: dict
    populations: np.ndarray | None
    inputs: tuple
    neurons: tuple

    def simulate(self, inputs, t_max, **kwargs):
        """``exactsnn.simulate`` on this network with its model, parameters and populations."""
        from ..simulate import simulate

        return simulate(self.model, self.network, inputs, t_max, params=self.params,
                        populations=self.populations, **kwargs)


@dataclass
class _Pop:
    entry: str
    exit: str
    model: str
    size: int
    table: np.ndarray  # (size, n_params) in model parameter order
    gain: np.ndarray  # (size,) exactsnn weight per NIR weight


def _nir():
    from .nir import _nir as get

    return get()


def read_graph(path):
    """``nir.read`` without nir's type check (shapes are checked here, naming node and field)."""
    nir = _nir()
    try:
        return nir.read(str(path), type_check=False)
    except OSError as exc:
        raise NIRError(f"cannot read NIR file {path}: {exc}") from None
    except Exception as exc:  # nir raises KeyError/ValueError/AssertionError/TypeError on bad content
        raise NIRError(f"malformed NIR file {path}: {_locate_bad_node(path) or type(exc).__name__ + ': ' + str(exc)}") \
            from None


def _locate_bad_node(path) -> str:
    """Name the first node of a file that nir cannot build, with nir's reason."""
    import h5py
    from nir.serialization import read_node

    try:
        with h5py.File(str(path), "r") as f:
            if "node" not in f or "nodes" not in f["node"]:
                return "no graph in the file (expected groups /node/nodes and /node/edges)"
            for name, group in f["node"]["nodes"].items():
                try:
                    read_node(group)
                except Exception as exc:  # the reason is reported to the user
                    kind = group["type"][()] if "type" in group else b"?"
                    return f"node {name!r} (type {kind.decode(errors='replace')!r}): {type(exc).__name__}: {exc}"
    except Exception as exc:  # not HDF5 at all
        return f"{type(exc).__name__}: {exc}"
    return ""


def _flatten(graph, prefix=""):
    """(nodes, edges) with nested NIRGraph nodes inlined (their Input/Output become pass-throughs)."""
    nir = _nir()
    nodes, edges, through = {}, [], set()
    ports = {}
    for name, node in graph.nodes.items():
        full = prefix + str(name)
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges = _flatten(node, full + ".")
            ins = [k for k, v in node.nodes.items() if isinstance(v, nir.Input)]
            outs = [k for k, v in node.nodes.items() if isinstance(v, nir.Output)]
            if len(ins) != 1 or len(outs) != 1:
                raise NIRError(f"nested graph {full!r} has {len(ins)} Input and {len(outs)} Output nodes; "
                               f"exactsnn inlines subgraphs with exactly one of each")
            ports[full] = (f"{full}.{ins[0]}", f"{full}.{outs[0]}")
            through.update(ports[full])
            nodes.update(sub_nodes)
            edges += sub_edges
        else:
            nodes[full] = node
    for a, b in graph.edges:
        a, b = prefix + str(a), prefix + str(b)
        for end in (a, b):
            if end not in nodes and end not in ports:
                raise NIRError(f"edge ({a!r}, {b!r}) names node {end!r}, which is not in the graph")
        edges.append((ports[a][1] if a in ports else a, ports[b][0] if b in ports else b))
    for t in through:  # contract pass-through nodes
        ins = [a for a, b in edges if b == t]
        outs = [b for a, b in edges if a == t]
        edges = [e for e in edges if t not in e] + [(a, b) for a in ins for b in outs]
        nodes.pop(t)
    return nodes, edges


def _field(name, node, field, size):
    """A node's parameter as a float64 vector of ``size`` (size-1 arrays broadcast), checked finite."""
    raw = getattr(node, field, None)
    try:
        a = np.asarray(raw, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise NIRError(f"node {name!r} ({type(node).__name__}): field {field!r} = {raw!r} is not numeric") from None
    if a.size == 1:
        a = np.full(size, a[0])
    if a.size != size:
        raise NIRError(f"node {name!r} ({type(node).__name__}): field {field!r} has {a.size} values; the node has "
                       f"{size} neurons (inconsistent shapes)")
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        raise NIRError(f"node {name!r} ({type(node).__name__}): field {field!r}[{bad[0]}] = {a[bad[0]]} is not finite")
    return a


def _require(name, node, field, a, ok, allowed):
    bad = np.flatnonzero(~ok)
    if bad.size:
        raise NIRError(f"node {name!r} ({type(node).__name__}): field {field!r}[{bad[0]}] = {float(a[bad[0]])!r}; "
                       f"allowed: {allowed}")


def _size(name, node, fields, hint):
    sizes = {int(np.size(getattr(node, f))) for f in fields if getattr(node, f, None) is not None} - {1}
    if len(sizes) > 1:
        raise NIRError(f"node {name!r} ({type(node).__name__}): fields {list(fields)} have different sizes "
                       f"{sorted(sizes)} (inconsistent shapes)")
    return sizes.pop() if sizes else hint


def _weight_rows(nodes, preds, name):
    """Rows of the first Linear/Affine feeding ``name`` (through Delay nodes), or 1."""
    nir = _nir()
    seen = 0
    cur = preds.get(name, [])
    while cur and seen < 4:
        node = nodes[cur[0]]
        if isinstance(node, (nir.Linear, nir.Affine)):
            return int(np.shape(node.weight)[0])
        cur, seen = preds.get(cur[0], []), seen + 1
    return 1


def _population(nodes, preds, succs, name, spike_area):
    """The neuron population whose entry node is ``name`` (CubaLIF, or LI followed by IF)."""
    nir = _nir()
    node = nodes[name]
    n = _size(name, node, NEURON_FIELDS[type(node).__name__], _weight_rows(nodes, preds, name))
    f = {k: _field(name, node, k, n) for k in NEURON_FIELDS[type(node).__name__]}
    if isinstance(node, nir.LI):
        nxt = succs.get(name, [])
        if len(nxt) != 1 or not isinstance(nodes[nxt[0]], nir.IF) or len(preds.get(nxt[0], [])) != 1:
            raise NIRError(f"node {name!r} (LI) must feed exactly one IF node that has no other input (the LI -> IF "
                           f"chain is exactsnn's non-leaky neuron); it feeds {nxt}")
        fire = nxt[0]
        f.update({k: _field(fire, nodes[fire], k, n) for k in NEURON_FIELDS["IF"] if k != "r"})
        f["r_if"] = _field(fire, nodes[fire], "r", n)
        where, tau_syn = nodes[fire], f["tau"]
        for k in ("tau",):
            _require(name, node, k, f[k], f[k] > 0, "> 0")
    else:
        fire, where, tau_syn = name, node, f["tau_syn"]
        for k in ("tau_syn", "tau_mem"):
            _require(name, node, k, f[k], f[k] > 0, "> 0")
    _require(name, node, "v_leak", f["v_leak"], f["v_leak"] == 0, "0 (a leak potential is a constant drive)")
    _require(fire, where, "v_threshold", f["v_threshold"], f["v_threshold"] > 0, "> 0")
    _require(fire, where, "v_reset", f["v_reset"], f["v_reset"] == 0, "0 (exactsnn resets by subtracting the "
                                                                           "threshold, equal to reset-to-zero)")
    if isinstance(node, nir.LI):
        gain = spike_area * ((f["r"] * f["r_if"]) / tau_syn)
        return _Pop(name, fire, "nonleaky_if", n, np.stack([tau_syn, f["v_threshold"]], 1), gain)
    gain = spike_area * ((f["r"] * f["w_in"]) / (f["tau_mem"] * f["tau_syn"]))
    return _Pop(name, name, "lif", n, np.stack([f["tau_syn"], f["tau_mem"], f["v_threshold"]], 1), gain)


def _check_nodes(nodes):
    nir = _nir()
    bad = {k: type(v).__name__ for k, v in nodes.items() if type(v).__name__ not in SUPPORTED
           or not isinstance(v, nir.NIRNode)}
    if bad:
        raise NIRError(f"unsupported NIR node(s) {bad}; exactsnn simulates {list(SUPPORTED)} "
                       f"(see docs/nir.md)")
    if any(isinstance(v, nir.IF) for v in nodes.values()) and not any(isinstance(v, nir.LI) for v in nodes.values()):
        name = next(k for k, v in nodes.items() if isinstance(v, nir.IF))
        raise NIRError(f"node {name!r} (IF) has no synaptic current (no LI node before it): its input spikes make v "
                       f"jump, which exactsnn's models cannot express")


def from_nir(graph, *, spike_area: float = 1.0) -> NIRImport:
    """Import a NIR graph (``nir.NIRGraph`` or path to a ``.nir`` file).

    Parameters
    ----------
    graph : nir.NIRGraph, str or Path
    spike_area : float
        Area of one spike: 1 for NIR's Dirac spikes (default); ``dt`` for graphs whose exporter
        treats a spike as a pulse of height 1 lasting one time step (snnTorch).

    Returns
    -------
    NIRImport

    Notes
    -----
    exactsnn weight ``w_ij = g_j W_ji`` with ``g_j = a r_j w_in_j / (tau_mem_j tau_syn_j)`` (CubaLIF) or
    ``g_j = a r_LI,j r_IF,j / tau_j`` (LI -> IF); derivation in ``exactsnn.interop.nir``.
    """
    from .nir_blocks import assemble, collect_blocks

    nir = _nir()
    if not (isinstance(spike_area, (int, float)) and np.isfinite(spike_area) and spike_area > 0):
        raise NIRError(f"spike_area = {spike_area!r} must be a finite number > 0")
    if not isinstance(graph, nir.NIRGraph):
        graph = read_graph(graph)
    nodes, edges = _flatten(graph)
    _check_nodes(nodes)
    preds, succs = {}, {}
    for a, b in edges:
        preds.setdefault(b, []).append(a)
        succs.setdefault(a, []).append(b)
    pops = [_population(nodes, preds, succs, k, float(spike_area)) for k in sorted(nodes)
            if isinstance(nodes[k], (nir.CubaLIF, nir.LI))]
    if not pops:
        raise NIRError("the graph has no neuron node (CubaLIF, or LI -> IF)")
    models = {p.model for p in pops}
    if len(models) > 1:
        raise NIRError(f"the graph mixes neuron models {sorted(models)}; exactsnn simulates one model per network")
    blocks, outputs = collect_blocks(nodes, edges, preds, pops)
    return assemble(nodes, pops, blocks, outputs)
