"""A working-memory task for recurrent networks: delayed match-to-sample (``exactsnn train memory``).

Each sample has five input channels, one spike each (time-to-first-spike data like the other tasks):

- a *cue* on channel 0 or 1 at ``t_cue`` uniform in ``[0, 0.5]``;
- after a gap uniform in ``[gap_min, gap_max]`` (default 6 to 9 ``tau_mem``), a *probe* on channel 2
  or 3, and the bias channel (4, last) at the same time;
- the channels that stay silent in a sample get a spike at ``T_ABSENT`` (beyond ``t_max``: it never
  arrives).

The class is 0 (*match*) if the probe's index equals the cue's, else 1 (*non-match*). Neither the cue
nor the probe alone says anything about the class, so an output spike before the probe is a guess:
the network must carry the cue across the gap. A feed-forward network has only the cue's
postsynaptic potential left at the probe, which has decayed like ``g exp(-g)`` (``tau_syn = tau_mem
= 1``, a gap ``g`` of 6 to 9: ``0.015`` to ``0.001`` of a unit weight), by a factor that changes
thirteenfold with the random gap. The simulation is exact and noise-free, so even that trace can be
read (a race between two outputs amplifies any difference): with gaps of 5 to 7 feed-forward
networks reached 97 %; with 6 to 9, about 78 %; with 8 to 12, chance (README, "Recurrent task"). A
recurrent network can hold the cue in self-sustained firing.
Learned delays would be a feed-forward memory; the task is meant to be trained without them.
"""

from __future__ import annotations

import numpy as np

from .datasets import Dataset

MEMORY_CLASSES = ("match", "non-match")
#: samples and seed of each split
MEMORY_SPLITS = {"train": (400, 7), "validation": (200, 8), "test": (400, 9)}
#: the input time of a channel that does not spike in a sample (after any t_max the task uses)
T_ABSENT = 1000.0


def memory(split="train", size=None, gap=(6.0, 9.0), cue_jitter=0.5) -> Dataset:
    """A split (``train``, ``validation``, ``test``) of the delayed match-to-sample task (module docstring).

    times : (n, 5) float64 (cue 0, cue 1, probe 0, probe 1, bias); ``features`` are (cue, probe, gap).
    """
    if split not in MEMORY_SPLITS:
        raise ValueError(f"memory split {split!r} is unknown; allowed: {sorted(MEMORY_SPLITS)}")
    n, seed = MEMORY_SPLITS[split]
    n = n if size is None else int(size)
    if n < 1:
        raise ValueError(f"memory size = {size!r} must be a positive integer")
    if not 0 < gap[0] <= gap[1]:
        raise ValueError(f"gap = {gap!r} must be (min, max) with 0 < min <= max")
    rng = np.random.default_rng(seed)
    cue = rng.integers(0, 2, n)
    probe = rng.integers(0, 2, n)
    t_cue = rng.uniform(0.0, cue_jitter, n)
    g = rng.uniform(gap[0], gap[1], n)
    times = np.full((n, 5), T_ABSENT)
    rows = np.arange(n)
    times[rows, cue] = t_cue
    times[rows, 2 + probe] = t_cue + g
    times[:, 4] = t_cue + g
    labels = (cue != probe).astype(np.int64)
    features = np.stack([cue, probe, g], axis=1).astype(np.float64)
    return Dataset(f"memory-{split}", times, labels, features, MEMORY_CLASSES)


def memory_splits(config) -> dict:
    """``{'train', 'validation', 'test'}`` of the memory task (``config.train_size`` overrides the train size)."""
    return {s: memory(s, size=config.train_size if s == "train" else None) for s in MEMORY_SPLITS}
