"""Network topology as a flat list of synapses, plus input-spike validation.

Both feed-forward and recurrent networks become the same flat form:

- sources ``0 .. n_inputs-1`` are input channels, sources ``n_inputs + j`` are neuron ``j``;
- synapse ``k`` goes from source ``pre[k]`` to neuron ``post[k]`` with ``weight[k]``, ``delay[k]``.

Every entry of a weight matrix is a synapse (zeros included: their gradient is meaningful).
Synapses are numbered in the order of the case format's arrays, flattened row-major, so
``unflatten`` can put per-synapse numbers back into the user's shapes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import InputSpikeError, NetworkError


@dataclass(frozen=True, eq=False)
class Network:
    """A spiking network in flat synapse form.

    Attributes
    ----------
    kind : {"feedforward", "recurrent"}
    n_inputs, n_neurons : int
    pre : (n_syn,) int64
        Source of each synapse (input channel, or ``n_inputs + neuron``).
    post : (n_syn,) int64
        Target neuron of each synapse.
    weight, delay : (n_syn,) float64
    outputs : (n_out,) int64
        Neurons that losses read.
    blocks : tuple of (name, shape, start)
        How the flat synapse list maps back to the user's matrices.
    layer_sizes : tuple of int
        Feed-forward only: neurons per layer, inputs first.

    Notes
    -----
    The arrays are the network's own read-only copies (``net.weight[0] = 1.0`` raises ``ValueError``);
    ``with_weights`` gives a network with new values. That is what lets ``exactsnn.simulate`` cache the
    engine's layout of the network on it (``cache``): a network's numbers never change after construction.
    A cached value is trusted only while every array is still read-only.
    """

    kind: str
    n_inputs: int
    n_neurons: int
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    outputs: np.ndarray
    blocks: tuple
    layer_sizes: tuple = ()
    cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        for name in ("pre", "post", "weight", "delay", "outputs"):
            a = getattr(self, name)
            if not (isinstance(a, np.ndarray) and not a.flags.writeable and a.base is None):
                a = np.array(a)  # a private copy: nobody else holds a writable view of it
                a.flags.writeable = False
                object.__setattr__(self, name, a)

    def __getstate__(self):
        return {**self.__dict__, "cache": {}}  # the cache is rebuilt on use, never shipped

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__post_init__()

    @property
    def frozen(self) -> bool:
        """True while no array has been made writable again (``cache`` is valid only then)."""
        return not (self.pre.flags.writeable or self.post.flags.writeable or self.weight.flags.writeable
                    or self.delay.flags.writeable or self.outputs.flags.writeable)

    @property
    def n_synapses(self) -> int:
        return int(self.pre.size)

    # ------------------------------------------------------------ constructors
    @classmethod
    def feedforward(cls, weights, delays=None) -> "Network":
        """Layers ``W_l[i][j]``: from neuron ``i`` of layer ``l-1`` to neuron ``j`` of layer ``l``."""
        mats = _matrices(weights, "weights")
        if not mats:
            raise NetworkError("weights must hold at least one layer matrix")
        dmats = _delay_matrices(delays, mats, "delays")
        sizes = [mats[0].shape[0]]
        for l, w in enumerate(mats):
            if w.shape[0] != sizes[-1]:
                raise NetworkError(
                    f"weights[{l}] has shape {w.shape}; its first dimension must be {sizes[-1]} "
                    f"(the size of layer {l})"
                )
            sizes.append(w.shape[1])
        n_in = sizes[0]
        pre, post, blocks = [], [], []
        first_neuron = 0  # index of layer l's first neuron among all neurons
        src_base = 0  # source id of layer l-1's first element
        start = 0
        for l, w in enumerate(mats):
            ni, nj = w.shape
            ii, jj = np.meshgrid(np.arange(ni), np.arange(nj), indexing="ij")
            pre.append((src_base + ii).ravel())
            post.append((first_neuron + jj).ravel())
            blocks.append((f"weights[{l}]", w.shape, start))
            start += w.size
            src_base = n_in + first_neuron
            first_neuron += nj
        n_neurons = first_neuron
        outputs = np.arange(n_neurons - sizes[-1], n_neurons)
        return cls(
            "feedforward", n_in, n_neurons, np.concatenate(pre).astype(np.int64),
            np.concatenate(post).astype(np.int64),
            np.concatenate([w.ravel() for w in mats]), np.concatenate([d.ravel() for d in dmats]),
            outputs.astype(np.int64), tuple(blocks), tuple(sizes),
        )

    @classmethod
    def recurrent(cls, input_weights, weights, outputs, input_delays=None, delays=None) -> "Network":
        """``U[c][j]`` input channel -> neuron, ``W[i][j]`` neuron -> neuron (diagonal allowed)."""
        (u,) = _matrices([input_weights], "input_weights")
        (w,) = _matrices([weights], "weights")
        n_in, n = u.shape
        if w.shape != (n, n):
            raise NetworkError(f"weights has shape {w.shape}; it must be square ({n}, {n}) like input_weights' columns")
        (du,) = _delay_matrices(None if input_delays is None else [input_delays], [u], "input_delays")
        (dw,) = _delay_matrices(None if delays is None else [delays], [w], "delays")
        try:
            out = np.asarray(outputs)
        except Exception:
            raise NetworkError(f"outputs must be a list of neuron indices, got {outputs!r}") from None
        if out.ndim != 1 or out.size == 0 or out.dtype.kind not in "iu" and not (
            out.dtype.kind == "f" and np.all(out == np.round(out))
        ):
            raise NetworkError(f"outputs must be a non-empty list of integer neuron indices, got {outputs!r}")
        out = out.astype(np.int64)
        if np.any(out < 0) or np.any(out >= n) or len(set(out.tolist())) != out.size:
            raise NetworkError(f"outputs = {out.tolist()} must be distinct neuron indices in [0, {n})")
        ci, cj = np.meshgrid(np.arange(n_in), np.arange(n), indexing="ij")
        ni, nj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        pre = np.concatenate([ci.ravel(), n_in + ni.ravel()]).astype(np.int64)
        post = np.concatenate([cj.ravel(), nj.ravel()]).astype(np.int64)
        blocks = (("input_weights", u.shape, 0), ("weights", w.shape, u.size))
        return cls(
            "recurrent", n_in, n, pre, post, np.concatenate([u.ravel(), w.ravel()]),
            np.concatenate([du.ravel(), dw.ravel()]), out, blocks,
        )

    # ------------------------------------------------------------- reshaping
    def unflatten(self, flat) -> dict:
        """Per-synapse values -> ``{block name: array of the block's shape}``."""
        flat = np.asarray(flat)
        return {name: flat[..., start:start + int(np.prod(shape))].reshape(flat.shape[:-1] + tuple(shape))
                for name, shape, start in self.blocks}

    def with_weights(self, weight=None, delay=None) -> "Network":
        """A copy with new flat weight and/or delay vectors (same topology)."""
        w = self.weight if weight is None else _flat(weight, self.n_synapses, "weight", allow_negative=True)
        d = self.delay if delay is None else _flat(delay, self.n_synapses, "delay", allow_negative=False)
        net = Network(self.kind, self.n_inputs, self.n_neurons, self.pre, self.post, w, d,
                      self.outputs, self.blocks, self.layer_sizes)
        if "structure" in self.cache and self.frozen:  # same pre/post arrays: the synapse layout carries over
            net.cache["structure"] = self.cache["structure"]
        return net

    def with_synapses(self, name: str, pre, post, weight, delay=None) -> "Network":
        """A copy with extra synapses appended as block ``name`` of shape ``(n,)``.

        Use it for connections a layer stack cannot express, e.g. a bias input channel that also
        feeds the output layer. ``pre`` are sources (channel ``c`` or ``n_inputs + neuron``),
        ``post`` target neurons. A feed-forward network stays feed-forward only if the new
        synapses point from earlier to later layers; that is the caller's promise.
        """
        if any(b[0] == name for b in self.blocks):
            raise NetworkError(f"block name {name!r} is already used; taken: {[b[0] for b in self.blocks]}")
        pre = np.asarray(pre, np.int64).ravel()
        post = np.asarray(post, np.int64).ravel()
        n = pre.size
        if post.size != n or n == 0:
            raise NetworkError(f"pre and post must be non-empty and of equal length, got {pre.size} and {post.size}")
        if (pre < 0).any() or (pre >= self.n_inputs + self.n_neurons).any():
            raise NetworkError(f"pre = {pre.tolist()} must be sources in [0, {self.n_inputs + self.n_neurons})")
        if (post < 0).any() or (post >= self.n_neurons).any():
            raise NetworkError(f"post = {post.tolist()} must be neurons in [0, {self.n_neurons})")
        w = _flat(weight, n, "weight", allow_negative=True)
        d = np.zeros(n) if delay is None else _flat(delay, n, "delay", allow_negative=False)
        return Network(self.kind, self.n_inputs, self.n_neurons, np.concatenate([self.pre, pre]),
                       np.concatenate([self.post, post]), np.concatenate([self.weight, w]),
                       np.concatenate([self.delay, d]), self.outputs,
                       self.blocks + ((name, (n,), self.n_synapses),), self.layer_sizes)

    def neuron_layer(self, j: int) -> tuple:
        """Feed-forward: (layer, index in layer) of neuron ``j``; layer 1 is the first neuron layer."""
        if self.kind != "feedforward":
            return (None, j)
        for l, size in enumerate(self.layer_sizes[1:], start=1):
            if j < size:
                return (l, j)
            j -= size
        raise IndexError(j)


def real_array(value, label: str, error=NetworkError) -> np.ndarray:
    """``value`` as a float64 array, refusing what only looks numeric: booleans, strings (``"2.5"``),
    None and ragged or nested objects. ``error`` names the input that is wrong."""
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raise error(f"{label} must hold numbers only, got {value!r}") from None
    if raw.size and raw.dtype.kind not in "iuf":
        kind = {"b": "booleans", "U": "strings", "S": "strings", "O": "non-numbers"}.get(raw.dtype.kind, raw.dtype)
        example = raw.ravel()[0]
        example = example.item() if isinstance(example, np.generic) else example
        raise error(f"{label} must hold numbers only; it holds {kind} (e.g. {example!r})")
    return raw.astype(np.float64)


#: Largest weight magnitude accepted: with at most ~1e6 arrivals per neuron, sums of weighted kernels stay
#: far below float64's overflow (1.8e308); two 1e308 inputs would sum to inf and hide every crossing.
MAX_ABS_WEIGHT = 1e100
#: Largest time (delay, input spike time, t_max) accepted, in the model's time unit.
MAX_TIME = 1e100


def _check_magnitude(a, label, limit, error=NetworkError):
    big = np.abs(a) > limit
    if big.any():
        idx = tuple(int(x) for x in np.argwhere(big)[0])
        raise error(f"{label}{list(idx)} = {float(a[idx])!r} is larger in magnitude than {limit:g}, the most "
                           "exactsnn accepts (sums of such values would overflow float64)")


def _matrices(mats, label):
    if not isinstance(mats, (list, tuple)):
        raise NetworkError(f"{label} must be a list of 2-D matrices, got {type(mats).__name__}")
    out = []
    for l, m in enumerate(mats):
        a = real_array(m, f"{label}[{l}] (a rectangular 2-D matrix of numbers)")
        if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
            raise NetworkError(f"{label}[{l}] must be a non-empty 2-D matrix, got shape {a.shape}")
        bad = ~np.isfinite(a)
        if bad.any():
            idx = tuple(int(x) for x in np.argwhere(bad)[0])
            raise NetworkError(f"{label}[{l}]{list(idx)} = {a[idx]} is not finite")
        _check_magnitude(a, f"{label}[{l}]", MAX_TIME if "delay" in label else MAX_ABS_WEIGHT)
        out.append(a)
    return out


def _delay_matrices(delays, mats, label):
    if delays is None:
        return [np.zeros_like(m) for m in mats]
    if not isinstance(delays, (list, tuple)) or len(delays) != len(mats):
        raise NetworkError(f"{label} must be a list of {len(mats)} matrices, one per weight matrix")
    ds = _matrices(delays, label)
    for l, (d, m) in enumerate(zip(ds, mats)):
        if d.shape != m.shape:
            raise NetworkError(f"{label}[{l}] has shape {d.shape}; it must match the weights' {m.shape}")
        if (d < 0).any():
            idx = tuple(int(x) for x in np.argwhere(d < 0)[0])
            raise NetworkError(f"{label}[{l}]{list(idx)} = {d[idx]} is negative; delays must be >= 0")
    return ds


def _flat(v, n, label, allow_negative):
    a = real_array(v, label)
    _check_magnitude(a.reshape(-1), label, MAX_TIME if "delay" in label else MAX_ABS_WEIGHT)
    if a.shape != (n,):
        raise NetworkError(f"{label} must have shape ({n},), got {a.shape}")
    if not np.isfinite(a).all():
        raise NetworkError(f"{label}[{int(np.argmin(np.isfinite(a)))}] is not finite")
    if not allow_negative and (a < 0).any():
        raise NetworkError(f"{label}[{int(np.argmax(a < 0))}] = {a[a < 0][0]} is negative; it must be >= 0")
    return a


def validate_inputs(inputs, n_inputs: int, label: str = "inputs") -> list:
    """Check one input pattern: a list of ``n_inputs`` ascending lists of finite times >= 0.

    Returns a list of float64 arrays. Raises ``InputSpikeError`` naming the offending entry.
    """
    if isinstance(inputs, np.ndarray) and inputs.ndim == 2:
        inputs = [row for row in inputs]
    if not isinstance(inputs, (list, tuple)):
        raise InputSpikeError(f"{label} must be a list of {n_inputs} spike-time lists, got {type(inputs).__name__}")
    if len(inputs) != n_inputs:
        raise InputSpikeError(f"{label} has {len(inputs)} channels; the network has {n_inputs} inputs")
    out = []
    for c, times in enumerate(inputs):
        if isinstance(times, (int, float, np.integer, np.floating)) and not isinstance(times, bool):
            times = [times]
        if not hasattr(times, "__len__") or isinstance(times, (str, bytes)):
            raise InputSpikeError(f"{label}[{c}] must be a list of numbers, got {times!r}")
        a = real_array(times, f"{label}[{c}]", InputSpikeError).reshape(-1) if len(times) else np.zeros(0)
        if a.size and np.asarray(times, dtype=object).ndim != 1:
            raise InputSpikeError(f"{label}[{c}] must be a flat list of times")
        for f, t in enumerate(a):
            if not math.isfinite(t):
                raise InputSpikeError(f"{label}[{c}][{f}] = {t} is not finite")
            if t < 0:
                raise InputSpikeError(f"{label}[{c}][{f}] = {t} is negative; input times must be >= 0")
        if a.size > 1 and np.any(np.diff(a) < 0):
            f = int(np.argmax(np.diff(a) < 0))
            raise InputSpikeError(f"{label}[{c}] is not ascending: [{f}] = {a[f]} > [{f + 1}] = {a[f + 1]}")
        _check_magnitude(a, f"{label}[{c}]", MAX_TIME, InputSpikeError)
        out.append(a)
    return out


def validate_t_max(t_max) -> float:
    if type(t_max) is float and 0.0 < t_max <= MAX_TIME:  # the common case (NaN fails the comparison)
        return t_max
    from numbers import Real

    if isinstance(t_max, (bool, np.bool_)) or not isinstance(t_max, Real):
        raise InputSpikeError(f"t_max must be a number, got {t_max!r}")
    t = float(t_max)
    if not math.isfinite(t) or t <= 0 or t > MAX_TIME:
        raise InputSpikeError(f"t_max = {t_max!r} must be finite, > 0 and at most {MAX_TIME:g}")
    return t
