"""Synapse blocks of an imported NIR graph and the exactsnn ``Network`` they assemble into.

A block is one ``[Delay] -> Linear/Affine -> [Delay]`` chain (or a direct edge) from a source (an
``Input`` node or a neuron node) to a neuron node: NIR weight ``W (n_tgt, n_src)`` becomes the exactsnn
block ``W.T * g`` (``g`` the target's gain, ``interop/nir.py``), with delays ``d_src_i + d_tgt_j``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import NIRError


@dataclass
class _Block:
    label: str
    source: str  # Input node name or population entry name
    target: int  # population index
    weight: np.ndarray  # (n_src, n_tgt) exactsnn weights
    delay: np.ndarray  # (n_src, n_tgt)


def _nir():
    from .nir import _nir as get

    return get()


def _single_pred(preds, name, node):
    p = preds.get(name, [])
    if len(p) != 1:
        raise NIRError(f"node {name!r} ({type(node).__name__}) has {len(p)} incoming edges {p}; exactsnn needs exactly "
                       f"one (a neuron node sums several Linear inputs, a {type(node).__name__} node does not)")
    return p[0]


def _delay(name, node, size):
    d = np.asarray(node.delay, dtype=np.float64).ravel()
    d = np.full(size, d[0]) if d.size == 1 else d
    if d.size != size:
        raise NIRError(f"node {name!r} (Delay): field 'delay' has {d.size} values; the signal it delays has {size} "
                       f"(inconsistent shapes)")
    bad = np.flatnonzero(~(np.isfinite(d) & (d >= 0)))
    if bad.size:
        raise NIRError(f"node {name!r} (Delay): field 'delay'[{bad[0]}] = {d[bad[0]]}; allowed: finite and >= 0")
    return d


def _linear(name, node, n_tgt):
    nir = _nir()
    w = np.asarray(node.weight, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != n_tgt:
        raise NIRError(f"node {name!r} ({type(node).__name__}): field 'weight' has shape {w.shape}; it must be "
                       f"(n_out, n_in) with n_out = {n_tgt}, the size of the neuron node it feeds (inconsistent shapes)")
    bad = np.argwhere(~np.isfinite(w))
    if bad.size:
        raise NIRError(f"node {name!r} ({type(node).__name__}): field 'weight'{bad[0].tolist()} = "
                       f"{w[tuple(bad[0])]} is not finite")
    if isinstance(node, nir.Affine):
        b = np.asarray(node.bias, dtype=np.float64).ravel()
        if np.any(b != 0):
            raise NIRError(f"node {name!r} (Affine): field 'bias' is nonzero ({float(b[b != 0][0])!r}); a bias is a constant "
                           f"input current, which exactsnn's models cannot express (zero biases are accepted)")
    return w


def _source_size(nodes, name, by_exit):
    nir = _nir()
    if name in by_exit:
        return by_exit[name].size
    shape = np.asarray(nodes[name].input_type["input"]).ravel()
    if shape.size == 0 or not np.all(shape >= 1):
        raise NIRError(f"node {name!r} (Input): shape {shape.tolist()} must list positive sizes")
    assert isinstance(nodes[name], nir.Input)
    return int(np.prod(shape))


def _walk(nodes, preds, start, pop, by_exit, used):
    """One chain ending at ``pop``'s entry, starting from predecessor ``start``: (source, W, d_src, d_tgt, label)."""
    nir = _nir()
    cur, d_tgt, w_node, d_src = start, None, None, None
    used.add((start, pop.entry))
    if isinstance(nodes[cur], nir.Delay):
        d_tgt, nxt = cur, _single_pred(preds, cur, nodes[cur])
        used.add((nxt, cur))
        cur = nxt
    if isinstance(nodes[cur], (nir.Linear, nir.Affine)):
        w_node, nxt = cur, _single_pred(preds, cur, nodes[cur])
        used.add((nxt, cur))
        cur = nxt
        if isinstance(nodes[cur], nir.Delay):
            d_src, nxt = cur, _single_pred(preds, cur, nodes[cur])
            used.add((nxt, cur))
            cur = nxt
    if not (cur in by_exit or isinstance(nodes[cur], nir.Input)):
        raise NIRError(f"node {pop.entry!r} receives input from {cur!r} ({type(nodes[cur]).__name__}) through "
                       f"{[x for x in (d_src, w_node, d_tgt) if x]}; exactsnn reads chains [Delay] -> Linear/Affine -> "
                       f"[Delay] from an Input node or a neuron node")
    n_src = _source_size(nodes, cur, by_exit)
    if w_node is None:
        if n_src != pop.size:
            raise NIRError(f"edge into {pop.entry!r} from {cur!r} without a Linear node needs equal sizes, got {n_src} "
                           f"-> {pop.size} (inconsistent shapes)")
        w = np.eye(pop.size)
    else:
        w = _linear(w_node, nodes[w_node], pop.size)
        if w.shape[1] != n_src:
            raise NIRError(f"node {w_node!r} ({type(nodes[w_node]).__name__}): field 'weight' has shape {w.shape}; its "
                           f"source {cur!r} has {n_src} outputs (inconsistent shapes)")
    ds = _delay(d_src, nodes[d_src], n_src) if d_src else np.zeros(n_src)
    dt = _delay(d_tgt, nodes[d_tgt], pop.size) if d_tgt else np.zeros(pop.size)
    return cur, w, ds, dt, w_node or f"{cur}->{pop.entry}"


def collect_blocks(nodes, edges, preds, pops):
    """All synapse blocks and the output neurons; every edge must be part of a block, a neuron or an output."""
    nir = _nir()
    by_exit = {p.exit: p for p in pops}
    index = {p.entry: k for k, p in enumerate(pops)}
    used, blocks = set(), []
    for k, pop in enumerate(pops):
        if pop.exit != pop.entry:
            used.add((pop.entry, pop.exit))
        for start in preds.get(pop.entry, []):
            src, w, ds, dt, label = _walk(nodes, preds, start, pop, by_exit, used)
            source = by_exit[src].entry if src in by_exit else src
            blocks.append(_Block(label, source, k, w.T * pop.gain[None, :], ds[:, None] + dt[None, :]))
    outputs = []
    for name in sorted(k for k, v in nodes.items() if isinstance(v, nir.Output)):
        src = preds.get(name, [])
        if len(src) != 1 or src[0] not in by_exit:
            raise NIRError(f"node {name!r} (Output) must read exactly one neuron node (exactsnn outputs are spike "
                           f"trains of neurons); it reads {src}")
        pop = by_exit[src[0]]
        used.add((src[0], name))
        shape = np.asarray(nodes[name].output_type.get("output", [pop.size])).ravel()
        meta = (nodes[name].metadata or {}).get("exactsnn_outputs")
        local = np.arange(pop.size) if meta is None else np.asarray(meta, np.int64).ravel()
        if shape.size and shape.dtype.kind in "iuf" and int(np.prod(shape)) != pop.size:
            raise NIRError(f"node {name!r} (Output): shape {shape.tolist()} but it reads {src[0]!r} with {pop.size} "
                           f"neurons (inconsistent shapes)")
        if local.size == 0 or local.min() < 0 or local.max() >= pop.size:
            raise NIRError(f"node {name!r} (Output): metadata exactsnn_outputs = {local.tolist()} must index its "
                           f"{pop.size} neurons")
        outputs.append((index[pop.entry], local))
    unused = [e for e in edges if e not in used]
    if unused:
        a, b = unused[0]
        raise NIRError(f"edge ({a!r}, {b!r}) ({type(nodes[a]).__name__} -> {type(nodes[b]).__name__}) is not part of a "
                       f"supported pattern: Input/neuron -> [Delay] -> Linear/Affine -> [Delay] -> neuron, LI -> IF, "
                       f"neuron -> Output")
    return blocks, outputs


def _order(pops, blocks):
    """Population order: topological (ties by name) if acyclic, else None."""
    deps = {k: {b.source for b in blocks if b.target == k} for k in range(len(pops))}
    entry_of = {p.entry: k for k, p in enumerate(pops)}
    done, order = set(), []
    while len(order) < len(pops):
        ready = [k for k in range(len(pops)) if k not in done
                 and all(entry_of.get(s) in done for s in deps[k] if s in entry_of)]
        if not ready:
            return None
        order.append(ready[0])
        done.add(ready[0])
    return order


def assemble(nodes, pops, blocks, outputs):
    """The NIRImport: feed-forward network if the population graph is acyclic, else recurrent."""
    from ..network import Network
    from .nir_import import NIRImport

    nir = _nir()
    inputs, n_in = [], 0
    for name in sorted(k for k, v in nodes.items() if isinstance(v, nir.Input)):
        size = _source_size(nodes, name, {})
        inputs.append((name, n_in, size))
        n_in += size
    if n_in == 0:
        raise NIRError("the graph has no Input node")
    order = _order(pops, blocks)
    seq = order if order is not None else list(range(len(pops)))
    first, start = {}, 0
    for k in seq:
        first[k] = start
        start += pops[k].size
    src_first = {name: (c0, size) for name, c0, size in inputs}
    src_first.update({pops[k].entry: (n_in + first[k], pops[k].size) for k in seq})
    n = start
    if order is not None:
        net = _feedforward(pops, blocks, order, first, src_first, n_in)
    else:
        net = _recurrent(blocks, pops, first, src_first, n_in, n)
    out = np.concatenate([first[k] + local for k, local in outputs]) if outputs else net.outputs
    net = replace(net, outputs=np.asarray(out, np.int64))
    table = np.concatenate([pops[k].table for k in seq])
    rows, pop_id = np.unique(table, axis=0, return_inverse=True)
    _, first_seen = np.unique(pop_id, return_index=True)
    rank = np.argsort(np.argsort(first_seen))
    rows, pop_id = rows[np.argsort(first_seen)], rank[pop_id.ravel()]
    names = ("tau_syn", "tau_mem", "threshold") if pops[0].model == "lif" else ("tau_syn", "threshold")
    params = {nm: (float(rows[0, i]) if len(rows) == 1 else rows[:, i].tolist()) for i, nm in enumerate(names)}
    neurons = tuple((pops[k].entry, first[k], pops[k].size) for k in seq)
    return NIRImport(net, pops[0].model, params, None if len(rows) == 1 else pop_id.astype(np.int64),
                     tuple(inputs), neurons)


def _block_pairs(b, src_first, first):
    s0, ns = src_first[b.source]
    i, j = np.meshgrid(np.arange(ns), np.arange(b.weight.shape[1]), indexing="ij")
    return (s0 + i).ravel(), (first[b.target] + j).ravel()


def _feedforward(pops, blocks, order, first, src_first, n_in):
    from ..network import Network

    layer_of = {pops[k].entry: l for l, k in enumerate(order, start=1)}
    sizes = [n_in] + [pops[k].size for k in order]
    mats = [np.zeros((sizes[l], sizes[l + 1])) for l in range(len(order))]
    dels = [np.zeros_like(m) for m in mats]
    filled, extra = set(), []
    for b in blocks:
        l = order.index(b.target)  # weights[l] feeds layer l + 1
        prev = 0 if b.source not in layer_of else layer_of[b.source]
        if prev == l and l not in filled and (l > 0 or src_first[b.source] == (0, n_in)):
            mats[l], dels[l] = b.weight, b.delay
            filled.add(l)
        else:
            extra.append(b)
    net = Network.feedforward(mats, dels)
    return _with_extra(net, extra, src_first, first)


def _recurrent(blocks, pops, first, src_first, n_in, n):
    from ..network import Network

    u, du, w, dw = np.zeros((n_in, n)), np.zeros((n_in, n)), np.zeros((n, n)), np.zeros((n, n))
    covered = [np.zeros((n_in, n), bool), np.zeros((n, n), bool)]
    extra = []
    for b in blocks:
        pre, post = _block_pairs(b, src_first, first)
        rec = pre >= n_in
        which, mat, dmat = (1, w, dw) if rec.all() else (0, u, du)
        rows = pre - (n_in if which else 0)
        if covered[which][rows, post].any():
            extra.append(b)
            continue
        covered[which][rows, post] = True
        mat[rows, post] = b.weight.ravel()
        dmat[rows, post] = b.delay.ravel()
    net = Network.recurrent(u, w, np.arange(n), du, dw)
    return _with_extra(net, extra, src_first, first)


def _with_extra(net, extra, src_first, first):
    """Blocks a layer stack cannot hold (skip connections, parallel Linear nodes) as extra synapse blocks.

    Only their nonzero weights become synapses (a zero NIR weight connects nothing), so a block exported
    from a sparse exactsnn block (e.g. a bias channel feeding the output layer) comes back as it was.
    """
    for b in extra:
        pre, post = _block_pairs(b, src_first, first)
        w, d = b.weight.ravel(), b.delay.ravel()
        keep = w != 0
        if keep.any():
            net = net.with_synapses(f"nir:{b.label}", pre[keep], post[keep], w[keep], d[keep])
    return net
