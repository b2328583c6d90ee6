"""Spike trains in and out of files: ``(channel, time)`` arrays and NIR's event data.

exactsnn holds one spike pattern as ``spikes[c]`` = ascending times of channel (or neuron) ``c``.
Files hold the flat form that snnTorch/Norse/Tonic users have: two equal-length arrays ``channel``
(int) and ``time`` (float), in any order. Formats, by file extension:

- ``.npz``: arrays ``channel`` and ``time``; optional scalars ``n_channels``, ``t_max``.
- ``.csv``: a header ``channel,time`` and one row per spike.
- ``.json``: ``{"channel": [...], "time": [...]}`` (optional ``n_channels``, ``t_max``), or
  ``{"inputs": [[t, ...], ...]}`` (the case format's per-channel lists).
- ``.h5`` / ``.hdf5``: NIR's data IR (``nir.write_data``): a ``NIRGraphData`` whose node (default: the
  only one) has an ``EventData`` observable (default ``"spikes"``): ``idx``/``time`` arrays of shape
  ``(n_samples, n_events)``, ``-1``/``inf`` marking no event. One sample is read (``sample=0``).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputSpikeError

FORMATS = (".npz", ".csv", ".json", ".h5", ".hdf5")


@dataclass(frozen=True)
class SpikeData:
    """One spike pattern: ``spikes[c]`` ascending float64 times; ``t_max`` if the file gave one."""

    spikes: list
    t_max: float | None = None


def to_flat(spikes) -> tuple:
    """Per-channel lists -> (channel (n,) int64, time (n,) float64), sorted by time then channel."""
    ch = np.concatenate([np.full(len(s), c, np.int64) for c, s in enumerate(spikes)]) if spikes else np.zeros(0, int)
    t = np.concatenate([np.asarray(s, np.float64) for s in spikes]) if spikes else np.zeros(0)
    order = np.lexsort((ch, t))
    return ch[order], t[order]


def from_flat(channel, time, n_channels=None, label="spike data") -> list:
    """(channel, time) arrays -> per-channel ascending float64 arrays, validated."""
    try:
        ch = np.asarray(channel, dtype=np.float64).ravel()
        t = np.asarray(time, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InputSpikeError(f"{label}: 'channel' and 'time' must be arrays of numbers") from None
    if ch.size != t.size:
        raise InputSpikeError(f"{label}: 'channel' has {ch.size} entries but 'time' has {t.size}")
    for k in range(ch.size):
        if not (math.isfinite(ch[k]) and ch[k] == int(ch[k]) and ch[k] >= 0):
            raise InputSpikeError(f"{label}: channel[{k}] = {ch[k]} must be an integer >= 0")
        if not (math.isfinite(t[k]) and t[k] >= 0):
            raise InputSpikeError(f"{label}: time[{k}] = {t[k]} must be finite and >= 0")
    ch = ch.astype(np.int64)
    n = int(ch.max()) + 1 if ch.size else 0
    if n_channels is not None:
        n_channels = int(n_channels)
        if n > n_channels:
            raise InputSpikeError(f"{label}: channel {n - 1} is outside the {n_channels} channels")
        n = n_channels
    return [np.sort(t[ch == c]) for c in range(n)]


def read_spikes(path, n_channels=None, *, node=None, observable="spikes", sample=0) -> SpikeData:
    """Read one spike pattern from ``path`` (format by extension, module docstring)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise InputSpikeError(f"spike file {path}: unknown extension {ext!r}; allowed {list(FORMATS)}")
    if not path.is_file():
        raise InputSpikeError(f"spike file {path} does not exist")
    label = f"spike file {path}"
    if ext in (".h5", ".hdf5"):
        return _read_nir_data(path, n_channels, node, observable, sample)
    if ext == ".csv":
        return _read_csv(path, n_channels, label)
    if ext == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                doc = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise InputSpikeError(f"{label}: not a readable .npz file ({exc})") from None
    else:
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputSpikeError(f"{label}: not valid JSON ({exc})") from None
        if isinstance(doc, dict) and "inputs" in doc:
            from ..network import validate_inputs

            lists = doc["inputs"]
            n = len(lists) if n_channels is None and isinstance(lists, list) else n_channels
            return SpikeData(validate_inputs(lists, n, label=label), _t_max(doc, label))
    if not isinstance(doc, dict) or "channel" not in doc or "time" not in doc:
        raise InputSpikeError(f"{label}: needs arrays 'channel' and 'time'")
    n = doc.get("n_channels", n_channels) if n_channels is None else n_channels
    return SpikeData(from_flat(doc["channel"], doc["time"], n, label), _t_max(doc, label))


def _t_max(doc, label):
    if "t_max" not in doc:
        return None
    try:
        t = float(np.asarray(doc["t_max"]).item())
    except (TypeError, ValueError):
        raise InputSpikeError(f"{label}: t_max = {doc['t_max']!r} is not a number") from None
    if not (math.isfinite(t) and t > 0):
        raise InputSpikeError(f"{label}: t_max = {t} must be finite and > 0")
    return t


def _read_csv(path, n_channels, label):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or [c.strip() for c in rows[0]] != ["channel", "time"]:
        raise InputSpikeError(f"{label}: the first line must be the header 'channel,time'")
    body = [r for r in rows[1:] if r]
    for k, r in enumerate(body):
        if len(r) != 2:
            raise InputSpikeError(f"{label}: line {k + 2} has {len(r)} fields; expected 2 (channel,time)")
    try:
        ch = [float(r[0]) for r in body]
        t = [float(r[1]) for r in body]
    except ValueError as exc:
        raise InputSpikeError(f"{label}: {exc}") from None
    return SpikeData(from_flat(ch, t, n_channels, label))


def _read_nir_data(path, n_channels, node, observable, sample):
    import nir

    label = f"NIR data file {path}"
    try:
        data = nir.read_data(str(path))
    except Exception as exc:  # nir/h5py raise several kinds on a bad file
        raise InputSpikeError(f"{label}: cannot read NIR graph data ({type(exc).__name__}: {exc})") from None
    names = sorted(data.nodes)
    if node is None:
        if len(names) != 1:
            raise InputSpikeError(f"{label}: holds nodes {names}; name one (node=...)")
        node = names[0]
    if node not in data.nodes or observable not in getattr(data.nodes[node], "observables", {}):
        raise InputSpikeError(f"{label}: no observable {observable!r} of node {node!r} (nodes {names})")
    ev = data.nodes[node].observables[observable]
    if not isinstance(ev, nir.EventData):
        raise InputSpikeError(f"{label}: observable {observable!r} is {type(ev).__name__}, not EventData")
    if not 0 <= sample < ev.idx.shape[0]:
        raise InputSpikeError(f"{label}: sample {sample} is outside the {ev.idx.shape[0]} samples")
    idx, time = np.asarray(ev.idx[sample]), np.asarray(ev.time[sample], np.float64)
    keep = idx >= 0
    n = int(ev.n_neurons) if n_channels is None else n_channels
    return SpikeData(from_flat(idx[keep], time[keep], n, label), _t_max({"t_max": ev.t_max}, label))


def write_spikes(path, spikes, t_max=None, *, node="input", observable="spikes") -> None:
    """Write one spike pattern (per-channel lists) in the format of ``path``'s extension."""
    path = Path(path)
    ext = path.suffix.lower()
    ch, t = to_flat(spikes)
    extra = {} if t_max is None else {"t_max": float(t_max)}
    if ext == ".npz":
        np.savez(path, channel=ch, time=t, n_channels=len(spikes), **extra)
    elif ext == ".csv":
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["channel", "time"])
            w.writerows((int(c), repr(float(x))) for c, x in zip(ch, t))
    elif ext == ".json":
        path.write_text(json.dumps({"channel": ch.tolist(), "time": t.tolist(), "n_channels": len(spikes), **extra}))
    elif ext in (".h5", ".hdf5"):
        import nir

        if t_max is None:
            raise InputSpikeError("NIR event data needs t_max")
        ev = nir.EventData(ch[None, :], t[None, :], len(spikes), float(t_max))
        nir.write_data(str(path), nir.NIRGraphData({node: nir.NIRNodeData({observable: ev})}))
    else:
        raise InputSpikeError(f"spike file {path}: unknown extension {ext!r}; allowed {list(FORMATS)}")
