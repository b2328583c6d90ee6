"""Gradients from the feed-forward path's pools, without a time-sorted record (issue 14).

``batch_loss_grad`` and the bridges' ``batch_simulate_jacobian`` run the adjoint on the feed-forward path's
neuron-major pools (``_pool_sim``), visiting the spikes the sweep reaches by decreasing time from a max-heap
(``adjoint_cone``, ``jacobian_cone``), instead of first putting every spike and arrival in time order. The
claim is bit-identity: the visits come in the order of ``adjoint_core`` on the time-sorted record, so losses,
first spikes, counts and every gradient block must equal the general engine's serial results exactly
(``np.array_equal``), on random feed-forward networks (one delay per layer, where the arrivals are walked,
and random delays, where they are sorted), several models and populations, with and without model-parameter
gradients. Where the pools cannot give the time order's bits (two arrivals at one neuron at one time, two
visited spikes at one time, a pattern the general engine must settle) the pattern must be handed to the
record path, and the results still equal.
"""

import numpy as np
import pytest

from exactsnn import Loss, Network, Patterns, batch_loss_grad, loss_grad, simulate
from exactsnn.interop.layer_spec import LayerSpec
from exactsnn.resolve import resolve
from exactsnn.simulate import Topology

CASES = [
    ("lif", {"tau_syn": 1.0, "tau_mem": 1.0, "threshold": 1.0}, 0.45),
    ("lif", {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0}, 0.45),
    ("srm_alpha", {"tau": 0.8, "threshold": 1.0}, 0.2),
    ("nonleaky_if", {"tau_syn": 0.5, "threshold": 1.0}, 1.0),
]
T_MAX = 4.0


def network(rng, delays, scale, sizes=(4, 12, 8, 3)):
    ws = [scale * rng.normal(1.4, 0.9, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    if delays == "uniform":
        ds = [np.full(w.shape, rng.uniform(0.0, 0.3)) for w in ws]
    else:
        ds = [rng.uniform(0.0, 0.3, w.shape) for w in ws]
    return Network.feedforward(ws, ds)


def patterns(rng, n_in, n):
    return [[sorted(rng.uniform(0.0, 1.5, rng.integers(1, 4)).tolist()) for _ in range(n_in)] for _ in range(n)]


def pool_verdict(model, net, x, params, label=0):
    """``_pool_loss_grad``'s ok on one pattern: whether the pools gave the result (else the record path ran)."""
    m, topo = resolve(model).module, Topology.of(net)
    p = Patterns.pack([x], net.n_inputs)
    ptab = resolve(model).param_table(params)
    return bool(m._pool_loss_grad(ptab, np.zeros(net.n_neurons, np.int64), p.times, p.src, net.n_inputs,
                                  net.n_neurons, topo.syn_post, topo.syn_w, topo.syn_d, topo.out_ptr, topo.out_syn,
                                  T_MAX, 10 ** 5, net.outputs.astype(np.int64), 2, label, 1.0, 1.0, 0.0, True,
                                  True, m.ff_tables(net.n_inputs, net.n_neurons, topo.syn_post, topo.out_ptr,
                                                    topo.out_syn))[0])


def assert_batch_equals_general(model, net, pats, params, labels, model_grad=True):
    batch = batch_loss_grad(model, net, pats, T_MAX, Loss("ttfs_cross_entropy"), labels=labels, params=params,
                            model_grad=model_grad)
    for b, (x, lab) in enumerate(zip(pats, labels)):
        slow = simulate(model, net, x, T_MAX, params=params, engine="general")
        value, g = loss_grad(slow, Loss("ttfs_cross_entropy", label=int(lab)), policy="flag")
        t_first, _ = slow.first_spikes()
        assert batch.loss[b] == value
        np.testing.assert_array_equal(batch.t_first[b], t_first)
        np.testing.assert_array_equal(batch.counts[b], np.bincount(slow.spike_neuron, minlength=net.n_neurons))
        for block in ("weights", "delays") + (("model",) if model_grad else ()):
            np.testing.assert_array_equal(getattr(batch.grad, block)[b], getattr(g, block))
        np.testing.assert_array_equal(batch.grad.inputs[b][:g.inputs.size], g.inputs)


@pytest.mark.parametrize("model,params,scale", CASES)
@pytest.mark.parametrize("delays", ["uniform", "random"])
def test_pool_gradients_equal_the_general_engine(model, params, scale, delays):
    rng = np.random.default_rng(21)
    net = network(rng, delays, scale)
    pats = patterns(rng, net.n_inputs, 6)
    labels = rng.integers(0, 3, len(pats))
    assert sum(pool_verdict(model, net, x, params) for x in pats) >= 5, "the pools were not used"
    assert_batch_equals_general(model, net, pats, params, labels)
    assert_batch_equals_general(model, net, pats, params, labels, model_grad=False)


def test_pool_gradients_with_two_populations():
    rng = np.random.default_rng(4)
    net = network(rng, "random", 0.45)
    pops = np.array([0] * 12 + [1] * 11)
    params = {"tau_syn": [1.0, 0.5], "tau_mem": [1.0, 1.0], "threshold": [1.0, 0.8]}
    pats = patterns(rng, net.n_inputs, 4)
    labels = rng.integers(0, 3, len(pats))
    batch = batch_loss_grad("lif", net, pats, T_MAX, Loss("ttfs_cross_entropy"), labels=labels, params=params,
                            populations=pops)
    for b, (x, lab) in enumerate(zip(pats, labels)):
        slow = simulate("lif", net, x, T_MAX, params=params, populations=pops, engine="general")
        value, g = loss_grad(slow, Loss("ttfs_cross_entropy", label=int(lab)), policy="flag")
        assert batch.loss[b] == value
        np.testing.assert_array_equal(batch.grad.model[b], g.model)
        np.testing.assert_array_equal(batch.grad.weights[b], g.weights)


def test_arrival_tie_goes_to_the_record_path():
    """Two input channels spike at one time onto one neuron (same delay): its arrival order is the event loop's
    to settle, so the pools decline and the record path gives the general engine's bits."""
    net = Network.feedforward([[[3.0, 2.5], [2.5, 3.0]], [[2.0], [2.5]]])
    params = CASES[0][1]
    x = [[0.3], [0.3]]
    assert not pool_verdict("lif", net, x, params)
    assert simulate("lif", net, x, T_MAX, params=params).n_spikes >= 2
    assert_batch_equals_general("lif", net, [x, [[0.2], [0.5]]], params, [0, 0])
    assert pool_verdict("lif", net, [[0.2], [0.5]], params)


def test_visited_spikes_at_one_time_go_to_the_record_path():
    """Two hidden neurons with equal input weights fire at equal times and reach the output with different
    delays (no arrival tie): the sweep visits two spikes at one time, whose order only the event loop's record
    has, so the cone sweep declines and the results still equal the general engine's."""
    delays = [np.zeros((1, 2)), np.array([[0.1, 0.1], [0.25, 0.25]])]
    net = Network.feedforward([np.array([[6.0, 6.0]]), np.array([[3.0, 1.5], [3.0, 1.5]])], delays)
    params = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}
    x = [[0.1, 0.4]]
    run = simulate("lif", net, x, T_MAX, params=params)
    np.testing.assert_array_equal(run.spikes[0], run.spikes[1])
    assert run.spikes[0][0] + 0.25 < min(run.spikes[2][0], run.spikes[3][0])  # both hidden spikes in the cone
    assert not pool_verdict("lif", net, x, params)
    assert_batch_equals_general("lif", net, [x], params, [0])


@pytest.mark.parametrize("delays", ["uniform", "random"])
def test_pool_jacobians_equal_the_records(delays):
    """The bridges' forward (``batch_simulate_jacobian``, pools + ``jacobian_cone``) against the one that keeps
    time-sorted records (``SpikeBatch``): first spikes (their indices in the time order), counts, sizes, and
    each output's row equal to the record sweep seeded with 1 there."""
    rng = np.random.default_rng(8)
    net = network(rng, delays, 0.8)  # about 500 spikes per pattern
    spec = LayerSpec.build(net, "lif", T_MAX)
    init = spec.initial(CASES[1][1])
    x = rng.uniform(0.0, 1.5, (6, net.n_inputs))
    jb = spec.simulate(init["weight"], init["delay"], init["params"], x, jacobian=True)
    sb = spec.simulate(init["weight"], init["delay"], init["params"], x)
    for name in ("t_first", "first", "counts", "sizes"):
        np.testing.assert_array_equal(getattr(jb, name), getattr(sb, name))
    assert (~jb.silent).all()
    for o in range(3):
        seed = np.zeros(sb.t_first.shape)
        seed[:, o] = 1.0
        got, want = jb.grads(seed, per_pattern=True), sb.grads(seed, per_pattern=True)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
