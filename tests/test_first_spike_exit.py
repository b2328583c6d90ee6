"""First-spike early exit (issue 14): stopping once every output has fired changes no first-spike result.

Oracle: the same engine run to ``t_max`` (``first_spike_exit=False``). On random feed-forward and recurrent
networks, three models and both losses, the early-exit run must give bit-identical losses, first output
spike times and gradients (every block), and its spikes must be a prefix of the full run's spikes; the
test also requires that the exit really cut spikes off in most patterns (a test that cannot fail is a defect).
"""

import numpy as np
import pytest

from exactsnn import Loss, Network, batch_loss_grad, loss_grad, simulate

CASES = [
    ("lif", {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0}),
    ("lif", {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}),
    ("srm_alpha", {"tau": 1.0, "threshold": 1.0}),
    ("nonleaky_if", {"tau_syn": 0.5, "threshold": 1.0}),
]


def feedforward(rng, n_in=4, hidden=25, n_out=3):
    return Network.feedforward([rng.normal(1.2, 0.8, (n_in, hidden)), rng.normal(1.0, 0.6, (hidden, n_out))])


def recurrent(rng, n_in=3, n=12, n_out=3):
    w = rng.normal(0.0, 0.5, (n, n)) * (rng.random((n, n)) < 0.4)
    np.fill_diagonal(w, 0.0)
    return Network.recurrent(rng.normal(1.2, 0.8, (n_in, n)), w, outputs=list(range(n - n_out, n)),
                             input_delays=rng.uniform(0.0, 0.1, (n_in, n)), delays=rng.uniform(0.01, 0.2, (n, n)))


def patterns(rng, n_in, n):
    return [[sorted(rng.uniform(0.0, 1.5, rng.integers(1, 3)).tolist()) for _ in range(n_in)] for _ in range(n)]


@pytest.mark.parametrize("model,params", CASES)
@pytest.mark.parametrize("kind", ["ttfs_cross_entropy", "first_spike_sum"])
def test_batch_early_exit_bit_identical(model, params, kind):
    rng = np.random.default_rng(7)
    shortened = total = 0
    for net in (feedforward(rng), recurrent(rng)):
        pats = patterns(rng, net.n_inputs, 12)
        labels = rng.integers(0, net.outputs.size, len(pats))
        loss = Loss(kind)
        full = batch_loss_grad(model, net, pats, 3.0, loss, labels=labels, params=params)
        fast = batch_loss_grad(model, net, pats, 3.0, loss, labels=labels, params=params, first_spike_exit=True)
        np.testing.assert_array_equal(fast.loss, full.loss)
        np.testing.assert_array_equal(fast.t_first, full.t_first)
        for block in ("weights", "delays", "inputs", "model"):
            np.testing.assert_array_equal(getattr(fast.grad, block), getattr(full.grad, block))
        out_full, out_fast = full.counts[:, net.outputs], fast.counts[:, net.outputs]
        np.testing.assert_array_equal(out_fast > 0, out_full > 0)  # silent outputs stay silent
        assert (fast.counts <= full.counts).all()
        shortened += int((fast.counts.sum(axis=1) < full.counts.sum(axis=1)).sum())
        total += len(pats)
    assert shortened >= total // 3, f"the exit cut spikes in only {shortened} of {total} patterns"


@pytest.mark.parametrize("model,params", CASES[:3])
def test_simulate_early_exit_is_a_prefix(model, params):
    rng = np.random.default_rng(11)
    net = feedforward(rng)
    checked = 0
    for x in patterns(rng, net.n_inputs, 8):
        full = simulate(model, net, x, 3.0, params=params)
        fast = simulate(model, net, x, 3.0, params=params, first_spike_exit=True)
        n = fast.n_spikes
        np.testing.assert_array_equal(fast.spike_time, full.spike_time[:n])
        np.testing.assert_array_equal(fast.spike_neuron, full.spike_neuron[:n])
        np.testing.assert_array_equal(fast.spike_vdot, full.spike_vdot[:n])
        t_full, _ = full.first_spikes()
        t_fast, _ = fast.first_spikes()
        np.testing.assert_array_equal(t_fast, t_full)
        if n < full.n_spikes:
            checked += 1
            assert set(fast.spike_neuron.tolist()) >= set(net.outputs.tolist())  # stopped only once all fired
            lv_full, g_full = loss_grad(full, Loss("ttfs_cross_entropy", label=1), policy="flag")
            lv_fast, g_fast = loss_grad(fast, Loss("ttfs_cross_entropy", label=1), policy="flag")
            assert lv_fast == lv_full
            np.testing.assert_array_equal(g_fast.weights, g_full.weights)
    assert checked >= 2


def test_first_spike_exit_must_be_bool():
    net = Network.feedforward([np.ones((1, 1))])
    with pytest.raises(ValueError, match="first_spike_exit"):
        simulate("lif", net, [[0.1]], 1.0, first_spike_exit="yes")
