"""Issue 14's training speed-ups change no number: the network is built from a cached layout, and weight
bumping re-simulates only the hidden neurons still silent at the early stop. The oracles are the
algorithm before the change (the network assembled from its blocks with the public ``Network`` API for
every batch, the whole hidden layer re-run to ``t_max``) and the full simulation without early exit.
The final result reuses the evaluations of the returned weights made during training; the oracle is a
fresh evaluation of those weights."""

import numpy as np
import pytest

from exactsnn import Loss, batch_loss_grad
from exactsnn.network import Network
from exactsnn.training.state import params_of, populations_of
from exactsnn.training.trainer import Trainer, config_for


def _blocks_network(state):
    """The network of ``state`` assembled from its blocks (the construction before the layout cache)."""
    net = Network.feedforward(state.weights[:2])
    if len(state.weights) == 3:
        n_in, n_hidden = state.weights[0].shape
        outputs = n_hidden + np.arange(state.weights[1].shape[1])
        net = net.with_synapses("bias_output", np.full(outputs.size, n_in - 1), outputs, state.weights[2])
    return net.with_weights(delay=state.delays)


class ReferenceTrainer(Trainer):
    """The trainer before the speed-ups: a network assembled per batch, the whole hidden layer re-run."""

    def batch(self, patterns, labels, want_grad=True):
        c = self.config
        return batch_loss_grad(c.model, _blocks_network(self.state), patterns, c.t_max, c.loss, labels=labels,
                               params=self._params(), want_grad=want_grad, populations=self._populations(),
                               first_spike_exit=True)

    def _hidden_counts(self, patterns, counts):
        c = self.config
        if c.bump <= 0 or not (counts[:, :c.hidden] == 0).all(axis=0).any():
            return counts
        w1 = self.state.weights[0]
        hidden_net = Network.feedforward([w1]).with_weights(delay=self.state.delays[:w1.size])
        theta = self.state.thresholds[:c.hidden]
        res = batch_loss_grad(c.model, hidden_net, patterns, c.t_max, Loss("first_spike_sum"),
                              params=params_of(c, theta), want_grad=False, populations=populations_of(c, theta))
        counts = counts.copy()
        counts[:, :c.hidden] = res.counts
        return counts


def _perturbed(config):
    """A trainer whose state has random delays, per-neuron thresholds and a few weak hidden neurons."""
    t = Trainer(config, progress=False)
    rng = np.random.default_rng(5)
    t.state.delays[:] = rng.uniform(0.0, 0.1, t.state.delays.size)
    t.state.thresholds[:] = rng.uniform(0.9, 1.1, t.state.thresholds.size)
    t.state.weights[0][:, ::5] *= 0.25  # hidden neurons silent for every sample
    t.state.weights[1][:] += 0.6  # outputs fire early: other hidden neurons fire only after the early stop
    return t


@pytest.mark.parametrize("output_bias", [True, False])
def test_state_network_equals_the_network_assembled_from_its_blocks(output_bias):
    t = _perturbed(config_for("yinyang", hidden=7, train_size=20, learn_delays=True, output_bias=output_bias))
    got, want = t.state.network(), _blocks_network(t.state)
    for name in ("kind", "n_inputs", "n_neurons", "blocks", "layer_sizes"):
        assert getattr(got, name) == getattr(want, name), name
    for name in ("pre", "post", "weight", "delay", "outputs"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    t.state.weights[1][0, 0] += 1.0  # a later call sees the new values, the earlier network keeps its own
    assert t.state.network().weight[t.state.weights[0].size] == got.weight[t.state.weights[0].size] + 1.0


def test_hidden_counts_tell_which_hidden_neurons_fire_in_the_full_run():
    """Oracle: the whole network simulated to ``t_max`` without early exit."""
    c = config_for("yinyang", hidden=30, train_size=100, learn_delays=True, learn_thresholds=True)
    t = _perturbed(c)
    net = t.state.network()
    n_dead = n_cand = 0
    for start in range(0, 100, 25):
        idx = np.arange(start, start + 25)
        pats, labels = t.patterns["train"].take(idx), t.data["train"].labels[idx]
        early = t.batch(pats, labels, want_grad=False)
        full = batch_loss_grad(c.model, net, pats, c.t_max, c.loss, labels=labels, params=t._params(),
                               want_grad=False, populations=t._populations()).counts[:, :c.hidden]
        got = t._hidden_counts(pats, early.counts)[:, :c.hidden]
        cand = (early.counts[:, :c.hidden] == 0).all(axis=0)
        assert np.array_equal((got == 0).all(axis=0), (full == 0).all(axis=0))  # the dead neurons
        assert np.array_equal(got[:, cand] > 0, full[:, cand] > 0)  # every re-run neuron, per sample
        n_dead += int((full == 0).all(axis=0).sum())
        n_cand += int(cand.sum())
    assert n_dead > 0 and n_cand > n_dead  # both kinds occur: dead neurons and late first spikes


@pytest.mark.parametrize("extra", [dict(), dict(learn_delays=True, learn_thresholds=True, ema=0.0)])
def test_training_history_and_state_equal_the_reference_algorithm(extra):
    c = config_for("yinyang", hidden=16, train_size=150, batch_size=25, epochs=3, eval_every=1, seed=3, **extra)
    runs = [cls(c, progress=False) for cls in (Trainer, ReferenceTrainer)]
    results = [r.run() for r in runs]
    (new, ref), (res_new, res_ref) = runs, results
    strip = [[{k: v for k, v in row.items() if k != "wall_time_s"} for row in r.history] for r in runs]
    assert strip[0] == strip[1]
    assert new.bumps == ref.bumps > 0
    for a, b in zip(res_new.state.weights + [res_new.state.delays, res_new.state.thresholds],
                    res_ref.state.weights + [res_ref.state.delays, res_ref.state.thresholds]):
        assert np.array_equal(a, b)
    for a, b in zip(new.opt.m + new.opt.v, ref.opt.m + ref.opt.v):
        assert np.array_equal(a, b)
    for split in ("train", "test"):
        assert np.array_equal(res_new.final[split].t_first, res_ref.final[split].t_first)


def test_hidden_subnetwork_equals_the_feedforward_network_of_those_neurons():
    t = _perturbed(config_for("yinyang", hidden=9, train_size=20, learn_delays=True))
    w1 = t.state.weights[0]
    for cand in (np.array([0, 3, 4, 8]), np.array([7]), np.array([1, 2, 5])):
        got = t.state.hidden_subnetwork(cand)
        d = t.state.delays[:w1.size].reshape(w1.shape)
        want = Network.feedforward([w1[:, cand]], [d[:, cand]])
        for name in ("kind", "n_inputs", "n_neurons", "blocks", "layer_sizes"):
            assert getattr(got, name) == getattr(want, name), name
        for name in ("pre", "post", "weight", "delay", "outputs"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), name


@pytest.mark.parametrize("task, extra", [("yinyang", dict(select_best=True)), ("yinyang", dict(select_best=False)),
                                         ("iris", dict(hidden=30, epochs=3))])
def test_final_evaluations_equal_a_fresh_evaluation_of_the_returned_weights(task, extra):
    kw = dict(hidden=60, epochs=5, train_size=100, eval_every=1, ema=0.0) if task == "yinyang" else {}
    t = Trainer(config_for(task, seed=1, **{**kw, **extra}), progress=False)
    res = t.run()
    if extra.get("select_best"):  # the returned weights are an earlier epoch's, not the last one's
        assert max(res.history, key=lambda r: r["validation_accuracy"])["epoch"] < len(res.history)
    assert res.state is t.eval_state
    for split in ("train", "test"):
        fresh = t.evaluate(split)
        got = res.final[split]
        assert got.loss == fresh.loss and got.accuracy == fresh.accuracy
        for name in ("predictions", "t_first", "silent"):
            assert np.array_equal(getattr(got, name), getattr(fresh, name)), (split, name)
