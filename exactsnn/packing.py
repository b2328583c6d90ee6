"""Input patterns packed for the engine, checked in one compiled pass.

``simulate`` takes a pattern as a list of per-channel spike-time lists and hands the engine two flat arrays
(``pack_pattern``). The common input (plain numbers, all valid) is checked without a Python loop per spike
or a numpy call per channel; anything else goes through ``network.validate_inputs``, which names the entry
that is wrong.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from .network import MAX_TIME, validate_inputs
from .numeric.spike_screen import packed_channels

#: Element types that ``pack_pattern`` converts without the per-channel checks (``bool`` is not among them).
_NUMBER_TYPES = frozenset({float, int, np.float64, np.float32, np.int64, np.int32})
_LIST = {list}


def pack_pattern(inputs, n_inputs: int, label: str = "inputs") -> tuple:
    """One input pattern, checked as ``validate_inputs`` checks it, packed channel-major.

    Returns ``(times (n_spikes,) float64, channel (n_spikes,) int64)``: input spike id -> (time, channel).
    One compiled pass checks every time at once: all finite, ``0 <= t <= MAX_TIME``, ascending within each
    channel. Anything that pass does not accept (other element types, a bad value) goes through
    ``validate_inputs``, so the error names the same entry with the same message.
    """
    packed = _pack_plain(inputs, n_inputs)
    if packed is None:
        arrays = validate_inputs(inputs, n_inputs, label)
        lens = [a.size for a in arrays]
        times = np.concatenate(arrays) if arrays else np.zeros(0)
        return times, np.repeat(np.arange(len(arrays), dtype=np.int64), lens)
    return packed


def pack_patterns(patterns, n_inputs: int):
    """Many patterns at once: (times, channel, ptr) with pattern b's spikes at ``ptr[b]:ptr[b + 1]``, each
    packed as ``pack_pattern`` packs it, or None when the fast form does not apply or an entry is bad (the
    caller then packs pattern by pattern, which names the entry).

    The fast form is the common one: a list of patterns, each a list of ``n_inputs`` lists of plain numbers.
    All spikes are checked in one compiled pass (``packed_channels`` over every channel of every pattern,
    channel ``b n_inputs + c``), so a batch of lists costs one conversion, not one per pattern.
    """
    if type(patterns) is not list or not patterns or n_inputs < 1 or set(map(type, patterns)) != _LIST:
        return None
    if set(map(len, patterns)) != {n_inputs}:
        return None
    channels = list(chain.from_iterable(patterns))
    if set(map(type, channels)) != _LIST:
        return None
    flat = list(chain.from_iterable(channels))
    if not set(map(type, flat)) <= _NUMBER_TYPES:
        return None
    lens = list(map(len, channels))
    packed = _checked(flat, lens)
    if packed is None:
        return None
    ptr = np.zeros(len(patterns) + 1, np.int64)
    np.cumsum(np.array(lens, np.int64).reshape(len(patterns), n_inputs).sum(axis=1), out=ptr[1:])
    return packed[0], packed[1] % n_inputs, ptr


def _flatten(inputs) -> tuple:
    """(flat list, channel lengths) of channels that are numbers, lists, tuples or 1-D numeric arrays of
    plain numbers; (None, None) for anything else."""
    flat, lens = [], []
    for times in inputs:
        if type(times) in _NUMBER_TYPES:
            flat.append(times)
            lens.append(1)
            continue
        if type(times) is np.ndarray and times.ndim == 1 and times.dtype.kind in "iuf":
            times = times.tolist()
        elif type(times) not in (list, tuple) or not set(map(type, times)) <= _NUMBER_TYPES:
            return None, None
        flat.extend(times)
        lens.append(len(times))
    return flat, lens


def _pack_plain(inputs, n_inputs: int):
    """(times, channel) when ``inputs`` is a list of channels holding plain numbers that pass every check;
    None otherwise (the caller then finds and names the problem)."""
    if isinstance(inputs, np.ndarray) and inputs.ndim == 2:
        inputs = list(inputs)
    if not isinstance(inputs, (list, tuple)) or len(inputs) != n_inputs:
        return None
    if set(map(type, inputs)) == _LIST:  # the common form: C-level loops only
        lens = list(map(len, inputs))
        flat = list(chain.from_iterable(inputs))
        if not set(map(type, flat)) <= _NUMBER_TYPES:
            return None
    else:
        flat, lens = _flatten(inputs)
        if flat is None:
            return None
    return _checked(flat, lens)


#: Up to this many spikes ``_checked`` checks in Python: for a pattern of a few spikes that is cheaper than the
#: compiled pass (its dispatch and the boxing of its result), the per-sample API's common case.
_SMALL = 32
#: ``_small_src``'s memo: channel lengths -> the channel of each spike (bounded).
_SRC = {}
#: The largest time either check accepts: past 2**63 a Python int would not make a float64 array in
#: ``validate_inputs`` (it says so), so those go there.
_MAX_CHECKED = min(MAX_TIME, 9.2e18)


def _checked(flat, lens):
    """(times, channel) of plain numbers ``flat`` in channels of ``lens`` spikes each, when every time passes the
    checks (``packed_channels``: in [0, MAX_TIME], ascending within each channel); None otherwise."""
    try:
        a = np.array(flat, np.float64)
    except (OverflowError, ValueError, TypeError):
        return None
    if a.size <= _SMALL:
        return (a, _small_src(lens)) if _small_ok(a.tolist(), lens) else None
    src = packed_channels(a, np.array(lens, np.int64), _MAX_CHECKED)
    return (a, src) if src.size == a.size else None


def _small_ok(values, lens) -> bool:
    """``packed_channels``' test, in Python, on the float64 values: each in [0, _MAX_CHECKED] (so not NaN),
    none below the one before it in its channel."""
    k = 0
    for n in lens:
        prev = 0.0
        for t in values[k:k + n]:
            if not (prev <= t <= _MAX_CHECKED):
                return False
            prev = t
        k += n
    return True


def _small_src(lens) -> np.ndarray:
    """The channel of each spike (``np.repeat(arange, lens)``), a fresh array from a memo by ``lens``."""
    key = tuple(lens)
    src = _SRC.get(key)
    if src is None:
        if len(_SRC) >= 256:
            _SRC.clear()
        src = _SRC[key] = np.repeat(np.arange(len(key), dtype=np.int64), key)
    return src.copy()
