"""The digits task: scikit-learn's 8x8 digits, latency coded, trained with exact gradients."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits  # noqa: E402

from exactsnn.training import Trainer, config_for, datasets  # noqa: E402


def test_digits_split_is_stratified_disjoint_and_latency_coded():
    ref = load_digits()
    parts = [datasets.digits(s, seed=3) for s in ("train", "validation", "test")]
    assert sum(len(p) for p in parts) == 1797
    counts = np.bincount(ref.target, minlength=10)
    for p, frac in zip(parts, (0.6, 0.2, 0.2)):
        assert np.all(np.abs(np.bincount(p.labels, minlength=10) - frac * counts) <= 1)
        assert p.times.shape[1] == 65 and np.all(p.times[:, -1] == datasets.T_BIAS)
    # every sample is one of scikit-learn's images, with its label; no image is in two splits
    images = {tuple(x): int(t) for x, t in zip(ref.data, ref.target)}
    seen = []
    for p in parts:
        pixels = np.rint(16 * (1 - p.features)).astype(int)
        assert all(images[tuple(x.astype(float))] == t for x, t in zip(pixels, p.labels))
        seen.append({tuple(x) for x in pixels})
    assert not (seen[0] & seen[2]) and not (seen[1] & seen[2])
    # a brighter pixel spikes earlier: intensity 16 at t_early, 0 at t_late
    tr = parts[0]
    px = np.rint(16 * (1 - tr.features))
    assert np.allclose(tr.times[:, :64][px == 16], datasets.T_EARLY) and np.allclose(tr.times[:, :64][px == 0],
                                                                                     datasets.T_LATE)
    with pytest.raises(ValueError, match="split 'dev'"):
        datasets.digits("dev")


def test_a_short_digits_run_learns():
    # 3 epochs of a smaller network at a larger step (the full recipe: 100 hidden, 30 epochs, benchmarks/README.md)
    trainer = Trainer(config_for("digits", hidden=40, epochs=3, lr=0.01, ema=0.0, seed=0), progress=False)
    res = trainer.run()
    h = res.history
    assert h[-1]["train_loss"] < h[0]["train_loss"]
    assert res.test_accuracy > 0.5  # chance is 0.1
    assert res.metrics()["model_selection"].startswith("weights of the epoch with the best validation")
