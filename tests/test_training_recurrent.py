"""Recurrent hidden layers in the trainer (``TrainConfig.recurrent``) and the memory task.

A recurrent run saves, loads and reproduces its test accuracy bit for bit, resumes to the uninterrupted
result, and its hidden -> hidden gradient agrees with central finite differences of the batch loss.
"""

import json
from dataclasses import asdict

import numpy as np
import pytest

import exactsnn
from exactsnn.cli import main
from exactsnn.losses import Loss, Patterns, batch_loss_grad
from exactsnn.training import config_for, train_to_folder
from exactsnn.training.memory_task import T_ABSENT, memory
from exactsnn.training.recurrent import hidden_network, limit_recurrent
from exactsnn.training.saved import config_from_dict
from exactsnn.training.trainer import Trainer, TrainConfig
from test_training_saved import kill_and_resume

TINY = dict(hidden=6, epochs=3, train_size=40, batch_size=20)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("recurrent-run")
    return out, train_to_folder(config_for("memory", **TINY), out, figures=False, progress=False)


def test_memory_task_is_what_its_docstring_says():
    d = memory("train", size=500)
    cue, probe = d.times[:, :2] < T_ABSENT, d.times[:, 2:4] < T_ABSENT
    assert (cue.sum(1) == 1).all() and (probe.sum(1) == 1).all()
    c, p = cue.argmax(1), probe.argmax(1)
    assert np.array_equal(d.labels, (c != p).astype(int))
    t_cue, t_probe = d.times[np.arange(500), c], d.times[np.arange(500), 2 + p]
    gap = t_probe - t_cue
    assert (t_cue >= 0).all() and (t_cue <= 0.5).all() and (gap >= 6).all() and (gap <= 9).all()
    assert np.array_equal(d.times[:, 4], t_probe)  # the bias spike comes with the probe
    assert 0.4 < d.labels.mean() < 0.6 and 0.4 < c.mean() < 0.6
    assert np.array_equal(memory("test").times, memory("test").times)  # fixed seeds
    with pytest.raises(ValueError, match="split"):
        memory("nope")


def test_recurrent_run_saves_and_loads_exactly(tiny_run):
    out, result = tiny_run
    with np.load(out / "weights.npz", allow_pickle=False) as f:
        assert f["w_hidden_hidden"].shape == (6, 6)
        assert f["delays"].size == f["w1"].size + f["w2"].size + f["w_bias_output"].size + 36
    model = exactsnn.load(out)
    assert model.config == result.config and model.config.recurrent
    assert model.network.kind == "recurrent"
    assert [b[0] for b in model.network.blocks] == ["weights[0]", "weights[1]", "bias_output", "hidden_hidden"]
    assert np.array_equal(model.network.weight, result.state.network().weight)
    metrics = json.loads((out / "metrics.json").read_text())
    ev = model.evaluate("test")
    assert ev.accuracy == metrics["final"]["test_accuracy"] and ev.loss == metrics["final"]["test_loss"]


def test_recurrent_run_resumes_to_the_uninterrupted_result(tiny_run, tmp_path, monkeypatch):
    _, full = tiny_run
    resumed = kill_and_resume(config_for("memory", **TINY), tmp_path, monkeypatch, after=1)
    strip = [{k: v for k, v in r.items() if k != "wall_time_s"} for r in resumed.history]
    assert strip == [{k: v for k, v in r.items() if k != "wall_time_s"} for r in full.history]
    for a, b in zip(resumed.state.weights, full.state.weights):
        assert np.array_equal(a, b)


def test_hidden_hidden_gradient_matches_finite_differences():
    """The trainer's per-block gradient (the flat adjoint gradient split by blocks) on W_rec vs central
    differences of the mean batch loss: an independent check that the block is wired in the right order."""
    tr = Trainer(config_for("memory", hidden=5, train_size=8), progress=False)
    d = tr.data["train"]
    pats = Patterns.first_spikes(d.times)
    c = tr.config

    def loss_and_grad(state):
        res = batch_loss_grad(c.model, state.network(), pats, c.t_max, c.loss, labels=d.labels, params=c.params)
        return res.loss.mean(), state.network().unflatten(res.grad.weights.mean(axis=0))["hidden_hidden"]

    _, g = loss_and_grad(tr.state)
    assert np.abs(g).max() > 0
    eps = 1e-6
    for i, j in [(0, 0), (1, 3), (4, 2), (2, 2)]:
        plus, minus = tr.state.copy(), tr.state.copy()
        plus.weights[-1][i, j] += eps
        minus.weights[-1][i, j] -= eps
        fd = (loss_and_grad(plus)[0] - loss_and_grad(minus)[0]) / (2 * eps)
        assert fd == pytest.approx(g[i, j], rel=1e-4, abs=1e-8), (i, j)


def test_hidden_network_reproduces_the_hidden_spikes():
    """Weight bumping simulates the hidden layer alone; its spikes equal the whole network's hidden spikes."""
    tr = Trainer(config_for("memory", hidden=7, train_size=10), progress=False)
    c, s = tr.config, tr.state
    pats = Patterns.first_spikes(tr.data["train"].times)
    whole = batch_loss_grad(c.model, s.network(), pats, c.t_max, Loss("first_spike_sum"), params=c.params,
                            want_grad=False)
    alone = batch_loss_grad(c.model, hidden_network(s.weights, s.delays), pats, c.t_max,
                            Loss("first_spike_sum"), params=c.params, want_grad=False)
    assert whole.counts[:, :7].sum() > 0
    assert np.array_equal(whole.counts[:, :7], alone.counts)


def test_options_and_bad_input(tmp_path):
    assert not config_for("memory", recurrent=False).recurrent and config_for("memory").recurrent
    assert config_for("xor", recurrent=True).recurrent and not config_for("xor").recurrent
    with pytest.raises(ValueError, match="recurrent"):
        config_for("memory", gradient="surrogate", output_bias=False)
    for bad in [(1.0,), (1.0, -0.1), (float("nan"), 0.1), "1.2"]:
        with pytest.raises(ValueError, match="init_recurrent"):
            config_for("memory", init_recurrent=bad)
    with pytest.raises(ValueError, match="recurrent"):
        config_for("memory", recurrent="yes")
    # a config saved before recurrent training existed still loads (feed-forward)
    old = asdict(config_for("iris"))
    del old["recurrent"], old["init_recurrent"], old["max_recurrent_in"]
    assert config_from_dict(old) == config_for("iris")
    assert main(["train", "memory", "--resume", str(tmp_path), "--no-recurrent", "--quiet"]) == 2


def test_feedforward_state_is_unchanged_by_the_recurrent_option():
    """Feed-forward runs draw their weights exactly as before (the recurrent block is drawn last)."""
    ff = Trainer(config_for("memory", recurrent=False, hidden=4, train_size=4), progress=False).state
    rec = Trainer(config_for("memory", hidden=4, train_size=4), progress=False).state
    assert len(rec.weights) == len(ff.weights) + 1 and ff.network().kind == "feedforward"
    for a, b in zip(ff.weights, rec.weights):
        assert np.array_equal(a, b)
    w = rec.weights[-1]
    assert (np.diag(w) > 0).all() and (np.diag(w) <= TrainConfig().init_recurrent[0]).all()
    assert (np.maximum(w, 0).sum(axis=0) <= TrainConfig().max_recurrent_in * (1 + 1e-12)).all()


def test_limit_recurrent_bounds_each_neurons_excitatory_input():
    rng = np.random.default_rng(3)
    w = rng.normal(0.2, 0.8, (9, 9))
    before = w.copy()
    limit_recurrent(w, 1.3)
    pos = np.maximum(w, 0).sum(axis=0)
    over = np.maximum(before, 0).sum(axis=0) > 1.3
    assert over.any() and (~over).any()
    assert np.allclose(pos[over], 1.3, rtol=1e-12) and np.array_equal(w[:, ~over], before[:, ~over])
    assert np.array_equal(w[before < 0], before[before < 0])  # inhibition untouched
    assert np.all(np.sign(w) == np.sign(before))


def test_trained_recurrent_weights_respect_the_bound(tiny_run):
    _, result = tiny_run
    pos = np.maximum(result.state.weights[-1], 0).sum(axis=0)
    assert (pos <= result.config.max_recurrent_in * (1 + 1e-12)).all()


@pytest.mark.slow
def test_recurrence_helps_on_the_memory_task():
    """The task's point (README, "Recurrent task"): with the default recipe, seed 0, the recurrent network
    carries the cue across the gap and the feed-forward one does not (about 2 min)."""
    from exactsnn.training import train

    rec = train(config_for("memory", seed=0), progress=False)
    ff = train(config_for("memory", seed=0, recurrent=False), progress=False)
    assert rec.test_accuracy >= 0.95 and ff.test_accuracy <= 0.85, (rec.test_accuracy, ff.test_accuracy)
