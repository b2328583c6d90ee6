"""Classification datasets as input spike times: XOR, Iris and Yin-Yang. Nothing is downloaded.

Every sample is encoded as one spike per input channel (time-to-first-spike coding): a feature
``v`` scaled to ``[0, 1]`` spikes at ``t_early + v (t_late - t_early)``, and one extra *bias*
channel spikes at ``t_bias`` in every sample. ``Dataset.times`` has shape ``(n_samples,
n_channels)``, bias channel last.

- ``xor()``: the four patterns of two bits, label ``a xor b``.
- ``iris(split, seed)``: Fisher's 150 flowers (shipped in ``exactsnn/data/iris.csv``, the copy
  scikit-learn bundles), a stratified 2/3 train, 1/3 test split drawn with ``seed``; features
  min-max scaled with the *training* split's range.
- ``digits(split, seed)``: scikit-learn's bundled 8x8 handwritten digits (1797 images, ships with
  scikit-learn, nothing downloaded), latency coded: a pixel of intensity ``x`` in 0..16 spikes at
  ``t_early + (1 - x / 16)(t_late - t_early)`` (bright pixels first); a stratified 60/20/20 % train,
  validation, test split drawn with ``seed``.
- ``yinyang(split)``: Kriener, Göltz & Petrovici (2022), "The Yin-Yang dataset". Points ``(x, y)``
  uniform in the disc of radius ``r_big = 0.5`` around ``(0.5, 0.5)``; class yin (0), yang (1) or
  dot (2) from the symbol's geometry; classes balanced by rejection sampling (a target class is
  drawn uniformly, then points are drawn until one of that class appears). Inputs are ``(x, y,
  1 - x, 1 - y)``. Train, validation and test sets have 5000, 1000 and 1000 samples drawn with seeds
  42, 41 and 40 from NumPy's legacy ``RandomState`` (the generator the dataset's authors specify,
  so the samples are theirs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

T_EARLY = 0.15
T_LATE = 2.0
T_BIAS = 0.9
YINYANG_SPLITS = {"train": (5000, 42), "validation": (1000, 41), "test": (1000, 40)}
YINYANG_CLASSES = ("yin", "yang", "dot")
IRIS_CLASSES = ("setosa", "versicolor", "virginica")
DIGITS_CLASSES = tuple(str(d) for d in range(10))
DIGITS_SPLITS = ("train", "validation", "test")
_IRIS_FILE = Path(__file__).resolve().parent.parent / "data" / "iris.csv"


@dataclass(frozen=True)
class Dataset:
    """Spike-time encoded samples.

    times : (n_samples, n_channels) float64, one input spike per channel (bias channel last)
    labels : (n_samples,) int64 in ``[0, n_classes)``
    features : (n_samples, n_features) float64, the values before encoding (scaled to [0, 1])
    """

    name: str
    times: np.ndarray
    labels: np.ndarray
    features: np.ndarray
    class_names: tuple

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_channels(self) -> int:
        return int(self.times.shape[1])

    def __len__(self) -> int:
        return int(self.labels.size)


def encode(features, t_early=T_EARLY, t_late=T_LATE, t_bias=T_BIAS) -> np.ndarray:
    """Spike times ``t_early + v (t_late - t_early)`` per feature in [0, 1], plus a bias spike at ``t_bias``.

    features : (n, d) -> (n, d + 1) float64
    """
    v = np.asarray(features, np.float64)
    if v.ndim != 2 or not np.isfinite(v).all() or (v < 0).any() or (v > 1).any():
        raise ValueError("features must be a finite (n, d) array with values in [0, 1]")
    for name, t in (("t_early", t_early), ("t_late", t_late), ("t_bias", t_bias)):
        if not (isinstance(t, (int, float)) and math.isfinite(t) and t >= 0):
            raise ValueError(f"{name} = {t!r} must be a finite number >= 0")
    if not t_late > t_early:
        raise ValueError(f"t_late = {t_late} must be greater than t_early = {t_early}")
    times = t_early + v * (t_late - t_early)
    return np.hstack([times, np.full((v.shape[0], 1), float(t_bias))])


def xor(t_early=T_EARLY, t_late=T_LATE, t_bias=T_BIAS) -> Dataset:
    """The four XOR patterns; bit 0 spikes at ``t_early``, bit 1 at ``t_late``."""
    bits = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float64)
    labels = (bits[:, 0] != bits[:, 1]).astype(np.int64)
    return Dataset("xor", encode(bits, t_early, t_late, t_bias), labels, bits, ("false", "true"))


def iris_raw() -> tuple:
    """(features (150, 4) in cm, labels (150,)) from the shipped CSV."""
    rows = np.loadtxt(_IRIS_FILE, delimiter=",", comments="#", skiprows=3)
    return rows[:, :4], rows[:, 4].astype(np.int64)


def iris(split="train", seed=0, t_early=T_EARLY, t_late=T_LATE, t_bias=T_BIAS) -> Dataset:
    """Stratified 2/3 train, 1/3 test split of Iris (100 / 50 samples), drawn with ``seed``."""
    if split not in ("train", "test"):
        raise ValueError(f"iris split {split!r} is unknown; allowed: 'train', 'test'")
    x, y = iris_raw()
    rng = np.random.default_rng(seed)
    train = np.zeros(y.size, bool)
    for c in range(3):
        idx = rng.permutation(np.flatnonzero(y == c))
        train[idx[:2 * idx.size // 3]] = True
    lo, hi = x[train].min(axis=0), x[train].max(axis=0)
    pick = train if split == "train" else ~train
    v = np.clip((x[pick] - lo) / (hi - lo), 0.0, 1.0)  # test values outside the train range saturate
    return Dataset(f"iris-{split}", encode(v, t_early, t_late, t_bias), y[pick], v, IRIS_CLASSES)


def digits(split="train", seed=0, t_early=T_EARLY, t_late=T_LATE, t_bias=T_BIAS) -> Dataset:
    """8x8 digits (scikit-learn's ``load_digits``), latency coded, stratified 60/20/20 % split drawn with ``seed``.

    Per class, the samples are permuted with ``seed``; the first 60 % train, the next 20 % validate, the rest
    test. A pixel ``x`` in 0..16 becomes ``v = 1 - x / 16`` (so bright pixels spike early), then ``encode``.
    """
    if split not in DIGITS_SPLITS:
        raise ValueError(f"digits split {split!r} is unknown; allowed: {DIGITS_SPLITS}")
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ValueError("the digits task needs scikit-learn (pip install scikit-learn): its 8x8 digits ship "
                         "with it") from None
    bunch = load_digits()
    x, y = bunch.data.astype(np.float64), bunch.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    part = np.empty(y.size, np.int64)
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        a, b = int(round(0.6 * idx.size)), int(round(0.8 * idx.size))
        part[idx[:a]], part[idx[a:b]], part[idx[b:]] = 0, 1, 2
    pick = part == DIGITS_SPLITS.index(split)
    v = 1.0 - x[pick] / 16.0
    return Dataset(f"digits-{split}", encode(v, t_early, t_late, t_bias), y[pick], v, DIGITS_CLASSES)


def yinyang_class(x, y, r_small=0.1, r_big=0.5) -> int:
    """Class of a point of the Yin-Yang symbol: 0 yin, 1 yang, 2 dot.

    The symbol is the disc of radius ``r_big`` around ``(r_big, r_big)``. The dots have radius
    ``r_small`` around ``(r_big / 2, r_big)`` (left) and ``(3 r_big / 2, r_big)`` (right); the lobes
    have radius ``r_big / 2`` around the same centres. Yin is the left lobe without its dot, plus the
    upper half of the disc outside the right lobe; yang is the rest of the disc without the dots.
    """
    d_left = math.hypot(x - 0.5 * r_big, y - r_big)
    d_right = math.hypot(x - 1.5 * r_big, y - r_big)
    if d_left < r_small or d_right < r_small:
        return 2
    in_left_lobe = r_small < d_left <= 0.5 * r_big
    upper_outside_right_lobe = y > r_big and d_right > 0.5 * r_big
    return 0 if (in_left_lobe or upper_outside_right_lobe) else 1


def yinyang_points(size: int, seed: int, r_small=0.1, r_big=0.5) -> tuple:
    """(x (size,), y (size,), labels (size,)) by class-balanced rejection sampling."""
    rng = np.random.RandomState(seed)
    xs, ys, cs = np.zeros(size), np.zeros(size), np.zeros(size, np.int64)
    for i in range(size):
        goal = rng.randint(3)
        while True:
            x, y = rng.rand(2) * 2.0 * r_big
            if math.hypot(x - r_big, y - r_big) > r_big:
                continue
            if yinyang_class(x, y, r_small, r_big) == goal:
                break
        xs[i], ys[i], cs[i] = x, y, goal
    return xs, ys, cs


def yinyang(split="train", size=None, seed=None, t_early=T_EARLY, t_late=T_LATE, t_bias=T_BIAS) -> Dataset:
    """A Yin-Yang split (``train``, ``validation`` or ``test``); ``size``/``seed`` override the standard ones."""
    if split not in YINYANG_SPLITS:
        raise ValueError(f"yinyang split {split!r} is unknown; allowed: {sorted(YINYANG_SPLITS)}")
    n, s = YINYANG_SPLITS[split]
    n = n if size is None else int(size)
    if n < 1:
        raise ValueError(f"yinyang size = {size!r} must be a positive integer")
    x, y, c = yinyang_points(n, s if seed is None else int(seed))
    v = np.stack([x, y, 1.0 - x, 1.0 - y], axis=1)
    return Dataset(f"yinyang-{split}", encode(v, t_early, t_late, t_bias), c, v, YINYANG_CLASSES)
