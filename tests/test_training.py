"""Training: datasets against independent facts, Adam, the trainer's gradient wiring, XOR end to end."""

import json
import math

import numpy as np
import pytest

from exactsnn import Loss, Network, batch_loss_grad
from exactsnn.errors import InputSpikeError
from exactsnn.losses import Patterns
from exactsnn.training import Trainer, config_for, datasets, train
from exactsnn.training.optim import Adam, learning_rate


# ------------------------------------------------------------------ datasets
def test_yinyang_splits_sizes_balance_and_seeds():
    for split, (n, seed) in datasets.YINYANG_SPLITS.items():
        d = datasets.yinyang(split)
        assert d.times.shape == (n, 5) and d.labels.shape == (n,)
        counts = np.bincount(d.labels, minlength=3)
        # the target class is uniform: counts within 4 binomial standard deviations of n/3
        assert np.all(np.abs(counts - n / 3) < 4 * math.sqrt(n * 2 / 9)), counts
    again = datasets.yinyang("test")
    assert np.array_equal(again.times, datasets.yinyang("test").times)
    assert not np.array_equal(datasets.yinyang("test").features, datasets.yinyang("validation").features[:1000])
    assert (datasets.YINYANG_SPLITS["train"], datasets.YINYANG_SPLITS["validation"], datasets.YINYANG_SPLITS["test"]) \
        == ((5000, 42), (1000, 41), (1000, 40))


def test_yinyang_geometry_point_symmetry_and_areas():
    """The symbol is point-symmetric: rotating by 180 degrees swaps yin and yang and keeps the dots.
    Areas: yin = yang, dots = 2 r_small^2 / r_big^2 = 8% of the disc (Monte Carlo, 4 sigma)."""
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 1, (40000, 2))
    pts = pts[np.hypot(pts[:, 0] - 0.5, pts[:, 1] - 0.5) < 0.5]
    cls = np.array([datasets.yinyang_class(x, y) for x, y in pts])
    rot = np.array([datasets.yinyang_class(1 - x, 1 - y) for x, y in pts])
    swap = np.array([1, 0, 2])
    on_boundary = np.abs(np.hypot(pts[:, 0] - 0.75, pts[:, 1] - 0.5) - 0.25) < 1e-9
    assert np.array_equal(rot[~on_boundary], swap[cls[~on_boundary]])
    frac = np.bincount(cls, minlength=3) / cls.size
    sigma = math.sqrt(0.25 / cls.size)
    assert abs(frac[2] - 0.08) < 4 * sigma and abs(frac[0] - frac[1]) < 8 * sigma, frac


def test_yinyang_encoding_follows_the_features():
    d = datasets.yinyang("validation", size=50)
    x, y = d.features[:, 0], d.features[:, 1]
    assert np.allclose(d.features[:, 2], 1 - x) and np.allclose(d.features[:, 3], 1 - y)
    assert np.allclose(d.times[:, 0], 0.15 + 1.85 * x) and np.all(d.times[:, 4] == datasets.T_BIAS)
    assert np.array_equal(d.labels, [datasets.yinyang_class(a, b) for a, b in zip(x, y)])


def test_iris_matches_scikit_learn_and_splits_are_stratified():
    sk = pytest.importorskip("sklearn.datasets")
    x, y = datasets.iris_raw()
    ref = sk.load_iris()
    assert np.array_equal(x, ref.data) and np.array_equal(y, ref.target)
    tr, te = datasets.iris("train", seed=5), datasets.iris("test", seed=5)
    assert len(tr) + len(te) == 150 and np.array_equal(np.bincount(te.labels), [17, 17, 17])
    assert tr.features.min() == 0.0 and tr.features.max() == 1.0
    # the two splits are disjoint: no raw row appears in both
    assert len({tuple(r) for r in tr.times.round(12)} & {tuple(r) for r in te.times.round(12)}) <= 1  # Iris holds one duplicated row


def test_xor_patterns():
    d = datasets.xor()
    assert np.array_equal(d.labels, [0, 1, 1, 0])
    assert np.array_equal(d.times[:, :2], [[0.15, 0.15], [0.15, 2.0], [2.0, 0.15], [2.0, 2.0]])


def test_bad_dataset_arguments():
    with pytest.raises(ValueError, match="split 'dev'"):
        datasets.yinyang("dev")
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        datasets.encode([[1.5]])
    with pytest.raises(ValueError, match="t_late"):
        datasets.encode([[0.5]], t_early=2.0, t_late=1.0)


# ------------------------------------------------------------------ packed patterns
def test_packed_patterns_take_equals_packing_the_lists():
    rng = np.random.default_rng(0)
    lists = [[sorted(rng.uniform(0, 2, rng.integers(0, 3)).tolist()) for _ in range(3)] for _ in range(7)]
    packed = Patterns.pack(lists, 3)
    idx = np.array([4, 0, 6, 4])
    sub, ref = packed.take(idx), Patterns.pack([lists[i] for i in idx], 3)
    for a, b in ((sub.times, ref.times), (sub.src, ref.src), (sub.ptr, ref.ptr)):
        assert np.array_equal(a, b)
    net = Network.feedforward([rng.normal(1.5, 0.5, (3, 4)), rng.normal(0.8, 0.3, (4, 2))])
    kw = dict(t_max=6.0, loss=Loss("ttfs_cross_entropy"), labels=[0, 1, 1, 0], params={"tau_syn": 0.5})
    r1 = batch_loss_grad("lif", net, [lists[i] for i in idx], **kw)
    r2 = batch_loss_grad("lif", net, sub, **kw)
    assert np.array_equal(r1.loss, r2.loss) and np.array_equal(r1.grad.weights, r2.grad.weights)


def test_first_spike_patterns_reject_bad_times():
    with pytest.raises(InputSpikeError, match=r"times\[1, 0\] = nan"):
        Patterns.first_spikes([[0.1, 0.2], [np.nan, 0.3]])
    with pytest.raises(ValueError, match="shape"):
        Patterns.first_spikes([0.1, 0.2])


# ------------------------------------------------------------------ optimiser
def test_adam_minimises_a_quadratic_and_first_step_is_lr_sign():
    p = [np.array([3.0, -2.0])]
    opt = Adam(p)
    opt.step([np.array([10.0, -0.1])], 0.1)
    # bias-corrected first step is lr * g / |g| (up to eps)
    assert np.allclose(p[0], [2.9, -1.9], atol=1e-6)
    for _ in range(2000):
        opt.step([2 * p[0]], 0.05)
    assert np.all(np.abs(p[0]) < 1e-2)


def test_learning_rate_schedules():
    assert learning_rate("constant", 0.1, 7, 10, 0.5, 3) == 0.1
    assert learning_rate("step", 0.1, 7, 10, 0.5, 3) == pytest.approx(0.1 * 0.25)
    assert learning_rate("cosine", 0.1, 0, 10, 0.1, 3) == pytest.approx(0.1)
    assert learning_rate("cosine", 0.1, 5, 10, 0.1, 3) == pytest.approx(0.01 + 0.045)
    with pytest.raises(ValueError, match="unknown"):
        learning_rate("linear", 0.1, 0, 10, 0.5, 3)


# ------------------------------------------------------------------ trainer
def test_trainer_gradient_is_the_gradient_of_the_mean_batch_loss():
    """The step's gradient (weights unflattened per layer, thresholds) vs central finite differences."""
    cfg = config_for("iris", hidden=6, learn_thresholds=True, seed=2)
    t = Trainer(cfg, progress=False)
    idx = np.arange(12)
    labels = t.data["train"].labels[idx]
    pats = t.patterns["train"].take(idx)
    captured = []
    t.opt.step = lambda grads, lr: captured.append([g.copy() for g in grads])
    t.config = cfg.__class__(**{**cfg.__dict__, "bump": 0.0})
    before = [w.copy() for w in t.state.weights], t.state.thresholds.copy()
    t.step(idx, 0.0)
    g_w1, g_w2, g_wb, g_th = captured[0]

    def mean_loss():
        return t.batch(pats, labels, want_grad=False).loss.mean()

    h = 1e-6
    for arr, g, picks in ((t.state.weights[0], g_w1, [(0, 1), (3, 5), (4, 2)]),
                          (t.state.weights[1], g_w2, [(1, 0), (5, 2)]),
                          (t.state.weights[2], g_wb, [(0,), (2,)]),
                          (t.state.thresholds, g_th, [(2,), (7,)])):
        for ij in picks:
            arr[ij] += h
            up = mean_loss()
            arr[ij] -= 2 * h
            down = mean_loss()
            arr[ij] += h
            assert g[ij] == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-7), ij
    assert np.allclose(before[0][0], t.state.weights[0], rtol=0, atol=1e-12)  # the step itself changed nothing (lr 0)


def test_xor_trains_to_100_percent(tmp_path):
    from exactsnn.training.command import train_to_folder

    result = train_to_folder(config_for("xor", seed=0), tmp_path, figures=True, progress=False)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["final"]["test_accuracy"] == 1.0 == result.test_accuracy
    assert m["format"] == "exactsnn-train/1" and len(m["history"]) == m["config"]["epochs"]
    assert (tmp_path / "curves.png").stat().st_size > 0 and (tmp_path / "first_spikes.png").exists()
    w = np.load(tmp_path / "weights.npz")
    assert w["w1"].shape == (3, m["config"]["hidden"]) and w["w2"].shape == (m["config"]["hidden"], 2)


def test_bad_training_config():
    with pytest.raises(ValueError, match="task 'mnist'"):
        config_for("mnist")
    with pytest.raises(ValueError, match="hidden = 0"):
        config_for("xor", hidden=0)
    with pytest.raises(ValueError, match="lr = -1"):
        config_for("xor", lr=-1.0)
    with pytest.raises(ValueError, match="gradient 'magic'"):
        train(config_for("xor"), gradient="magic")


def test_train_command_writes_metrics_and_rejects_bad_options(tmp_path, capsys):
    from exactsnn.cli import main

    assert main(["train", "xor", "--epochs", "3", "--hidden", "4", "--out", str(tmp_path), "--quiet",
                 "--no-figures"]) == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["config"]["hidden"] == 4 and len(m["history"]) == 3 and not (tmp_path / "curves.png").exists()
    assert "test accuracy" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["train", "yinyang", "--hidden", "0"])
    assert exc.value.code == 2
    assert "'0' must be a positive integer" in capsys.readouterr().err


def test_surrogate_training_requires_plain_layers():
    with pytest.raises(ValueError, match="surrogate"):
        config_for("xor", gradient="surrogate")
    cfg = config_for("xor", gradient="surrogate", output_bias=False, epochs=2, surrogate_dt=0.05)
    r = train(cfg, progress=False)
    assert len(r.history) == 2 and len(r.state.weights) == 2


def test_with_synapses_appends_a_block_and_rejects_bad_synapses():
    from exactsnn.errors import NetworkError

    net = Network.feedforward([np.ones((2, 3)), np.ones((3, 1))]).with_synapses("bias_output", [1], [3], [0.5])
    assert net.n_synapses == 10 and net.unflatten(np.arange(10.0))["bias_output"].tolist() == [9.0]
    with pytest.raises(NetworkError, match="post = \\[7\\]"):
        net.with_synapses("extra", [0], [7], [1.0])
    with pytest.raises(NetworkError, match="already used"):
        net.with_synapses("bias_output", [0], [3], [1.0])


def test_evaluation_follows_training_on_both_gradient_paths():
    """The evaluated (moving-average) weights must move with training for exact and surrogate steps."""
    for kw in ({}, dict(gradient="surrogate", output_bias=False, surrogate_dt=0.05)):
        t = Trainer(config_for("yinyang", train_size=100, ema=0.5, **kw), progress=False)
        before = [w.copy() for w in t.eval_state.weights]
        t.step(np.arange(50), 0.002)
        assert all(not np.array_equal(a, b) for a, b in zip(before, t.eval_state.weights)), kw
