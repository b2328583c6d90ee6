"""The feed-forward fast path (issue 14, item 3) against the general event loop, bit for bit.

Oracle: the general engine (``simulate(..., engine="general")``, the event heap and candidate min-tree),
a second algorithm over the same crossing code. On random feed-forward networks (lif at tau_syn = 1 and
1/0.999, srm_alpha, nonleaky_if; with and without delays; hidden neurons that fire many times) every
output of the fast path must equal the general engine's with ``np.array_equal``: spike times and neurons,
the causal record (its links; the fast path numbers arrivals neuron after neuron, the event loop by time:
``causal_links``), dV/dt and event gaps, near margins, the closed-form count, and every gradient block of
the adjoint and of forward propagation. ``batch_loss_grad`` (which takes the fast path) must equal the
general engine's serial results, with and without the first-spike early exit. The tests also check that
the fast path really runs on a feed-forward pattern (its own status), that a recurrent network does not
qualify, and that a pattern with simultaneous spikes is handed to the general engine with equal results.
(Whether the fast path is faster is a benchmark question: benchmarks/bench_engine.py.)
"""

import numpy as np
import pytest

from exactsnn import Loss, Network, batch_loss_grad, forward_propagation, loss_grad, simulate
from exactsnn.errors import InvalidInputError
from exactsnn.resolve import resolve
from exactsnn.simulate import Topology

#: (model, params, weight scale): busy networks (hidden neurons firing several times, a few hundred spikes
#: per pattern) that do not run away
CASES = [
    ("lif", {"tau_syn": 1.0, "tau_mem": 1.0, "threshold": 1.0}, 0.45),
    ("lif", {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0}, 0.45),
    ("lif", {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}, 1.0),
    ("srm_alpha", {"tau": 0.8, "threshold": 1.0}, 0.2),
    ("nonleaky_if", {"tau_syn": 0.5, "threshold": 1.0}, 1.0),
]


def network(rng, delays, sizes=(4, 12, 8, 3), scale=1.0):
    ws = [scale * rng.normal(1.4, 0.9, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    if delays == "uniform":  # one delay per layer: the fast path walks the layer's sorted spikes, no sort
        ds = [np.full(w.shape, rng.uniform(0.0, 0.3)) for w in ws]
    else:
        ds = [rng.uniform(0.0, 0.3, w.shape) for w in ws] if delays else None
    return Network.feedforward(ws, ds)


def patterns(rng, n_in, n):
    return [[sorted(rng.uniform(0.0, 1.5, rng.integers(1, 4)).tolist()) for _ in range(n_in)] for _ in range(n)]


def causal_links(res):
    """The causal record without its arrival numbering: each arrival as (time, synapse, source spike) with its
    previous arrival at the same neuron (sorted), each spike's last arrival, each spike's previous own spike."""
    head, prev, n_arr, arr_time, arr_syn, arr_src, arr_prev = res.record

    def key(a):
        return (float(arr_time[a]), int(arr_syn[a]), int(arr_src[a])) if a >= 0 else None

    assert len(arr_time) == len(arr_syn) == len(arr_src) == len(arr_prev) == n_arr
    links = sorted((key(a), key(arr_prev[a]) or ()) for a in range(n_arr))
    return links, [key(a) for a in head], prev.tolist()


def assert_same_run(a, b):
    assert a.n_spikes == b.n_spikes
    np.testing.assert_array_equal(a.spike_time, b.spike_time)
    np.testing.assert_array_equal(a.spike_neuron, b.spike_neuron)
    assert causal_links(a) == causal_links(b)
    np.testing.assert_array_equal(a.near_margin, b.near_margin)
    np.testing.assert_array_equal(a.spike_vdot, b.spike_vdot)
    np.testing.assert_array_equal(a.spike_event_gap, b.spike_event_gap)
    assert a.n_closed_form == b.n_closed_form


@pytest.mark.parametrize("model,params,scale", CASES)
@pytest.mark.parametrize("delays", [False, True, "uniform"])
def test_feedforward_path_equals_general_engine(model, params, scale, delays):
    rng = np.random.default_rng(11)
    multi = neuron_major = 0
    for _ in range(3):
        net = network(rng, delays, scale=scale)
        for x in patterns(rng, net.n_inputs, 4):
            fast = simulate(model, net, x, 4.0, params=params)
            slow = simulate(model, net, x, 4.0, params=params, engine="general")
            assert_same_run(fast, slow)
            hidden = fast.spike_neuron[fast.spike_neuron < net.n_neurons - 3]
            multi = max(multi, int(np.bincount(hidden).max()) if hidden.size else 0)
            post = Topology.of(net).syn_post[fast.record.arrival_synapse]
            neuron_major += bool(np.all(np.diff(post) >= 0)) and not np.all(np.diff(fast.record.arrival_time) >= 0)
            loss = Loss("ttfs_cross_entropy", label=int(rng.integers(0, 3)))
            (la, ga), (lb, gb) = loss_grad(fast, loss, policy="flag"), loss_grad(slow, loss, policy="flag")
            assert la == lb
            ja, jb = forward_propagation(fast).dts_dq, forward_propagation(slow).dts_dq
            for block in ("weights", "delays", "inputs", "model"):
                np.testing.assert_array_equal(getattr(ga, block), getattr(gb, block))
                np.testing.assert_array_equal(getattr(ja, block), getattr(jb, block))
    assert multi >= 3, "no hidden neuron fired several times: the test would not see the reset coupling"
    assert neuron_major >= 6, "the fast path's own record (arrivals neuron after neuron) was hardly compared"


@pytest.mark.parametrize("model,params,scale", CASES[:2] + CASES[3:])
@pytest.mark.parametrize("first_spike_exit", [False, True])
def test_batch_takes_fast_path_with_general_results(model, params, scale, first_spike_exit):
    rng = np.random.default_rng(5)
    net = network(rng, True, scale=scale)
    pats = patterns(rng, net.n_inputs, 8)
    labels = rng.integers(0, 3, len(pats))
    loss = Loss("ttfs_cross_entropy")
    batch = batch_loss_grad(model, net, pats, 4.0, loss, labels=labels, params=params,
                            first_spike_exit=first_spike_exit)
    for b, (x, lab) in enumerate(zip(pats, labels)):
        slow = simulate(model, net, x, 4.0, params=params, engine="general")
        value, g = loss_grad(slow, Loss("ttfs_cross_entropy", label=int(lab)), policy="flag")
        assert batch.loss[b] == value
        for block in ("weights", "delays", "model"):
            np.testing.assert_array_equal(getattr(batch.grad, block)[b], getattr(g, block))


def _engine_path_taken(model, net, x, params):
    """(status of simulate_feedforward, its spike count): the fast path's own verdict on this pattern."""
    compiled = resolve(model)
    topo = Topology.of(net)
    from exactsnn.simulate import pack_inputs
    times, src = pack_inputs(x)
    ptab = compiled.param_table(params)
    ok = compiled.module.feedforward_ok(net.n_inputs, net.n_neurons, topo.syn_post, topo.out_ptr, topo.out_syn)
    res = compiled.module.simulate_feedforward(ptab, np.zeros(net.n_neurons, np.int64), times, src, net.n_inputs,
                                               net.n_neurons, topo.syn_post, topo.syn_w, topo.syn_d, topo.out_ptr,
                                               topo.out_syn, 4.0, 100000, True,
                                               compiled.module.ff_tables(net.n_inputs, net.n_neurons, topo.syn_post,
                                                                         topo.out_ptr, topo.out_syn))
    return ok, int(res[0]), int(res[1])


def test_fast_path_runs_on_feedforward_and_not_on_recurrent():
    rng = np.random.default_rng(3)
    net = network(rng, True)
    x = patterns(rng, net.n_inputs, 1)[0]
    ok, status, n_spk = _engine_path_taken("lif", net, x, CASES[0][1])
    assert ok and status == 0 and n_spk == simulate("lif", net, x, 4.0, params=CASES[0][1]).n_spikes > 0
    w = np.zeros((5, 5))
    w[3, 1] = 0.5  # a synapse from neuron 3 back to neuron 1
    rec = Network.recurrent(rng.normal(1.5, 0.5, (2, 5)), w, outputs=[4])
    topo = Topology.of(rec)
    assert not resolve("lif").module.feedforward_ok(2, 5, topo.syn_post, topo.out_ptr, topo.out_syn)


def test_simultaneous_spikes_fall_back_to_the_general_engine():
    """Two hidden neurons with equal weights spike at the same times: the general engine's order decides,
    the fast path hands the pattern over, and the results are still equal."""
    net = Network.feedforward([[[6.0, 6.0, 4.0]], [[3.0], [3.0], [1.0]]])
    params = CASES[2][1]
    _, status, _ = _engine_path_taken("lif", net, [[0.1, 0.4]], params)
    assert status == -1  # FF_FALLBACK
    fast = simulate("lif", net, [[0.1, 0.4]], 4.0, params=params)
    assert_same_run(fast, simulate("lif", net, [[0.1, 0.4]], 4.0, params=params, engine="general"))
    np.testing.assert_array_equal(fast.spikes[0], fast.spikes[1])
    assert fast.spikes[0].size >= 1


@pytest.mark.parametrize("delays", ["one per layer", "mixed"])
def test_bursting_neurons_grow_every_pool(delays):
    """One input spike makes three hidden neurons fire 34-44 times each (non-leaky, strong synapses): the spike
    pool grows before and during the hidden layer's run, the arrival pool, the sorted-spike list (one delay per
    layer) or the sort scratch (mixed delays) grow before the outputs gather theirs. Every regrowth restarts the
    neuron loop where it stopped; the run must still be the general engine's, bit for bit, by the fast path."""
    ds = None if delays == "one per layer" else [np.array([[0.0, 0.05, 0.1]]),
                                                 np.array([[0.0, 0.01], [0.02, 0.03], [0.04, 0.05]])]
    net = Network.feedforward([[[81.3, 70.7, 89.9]], [[0.2, 0.1], [0.15, 0.2], [0.1, 0.12]]], ds)
    params = {"tau_syn": 0.5, "threshold": 1.0}
    x = [[0.1]]
    _, status, n_spk = _engine_path_taken("nonleaky_if", net, x, params)
    fast = simulate("nonleaky_if", net, x, 4.0, params=params)
    slow = simulate("nonleaky_if", net, x, 4.0, params=params, engine="general")
    assert status == 0 and n_spk == fast.n_spikes
    assert min(len(fast.spikes[j]) for j in range(3)) > 2 * 1 + 16  # more than the pool's room for the layer
    assert_same_run(fast, slow)
    loss = Loss("ttfs_cross_entropy", label=1)
    (la, ga), (lb, gb) = loss_grad(fast, loss, policy="flag"), loss_grad(slow, loss, policy="flag")
    assert la == lb
    for block in ("weights", "delays", "inputs", "model"):
        np.testing.assert_array_equal(getattr(ga, block), getattr(gb, block))


@pytest.mark.parametrize("bad", ["fast", 1, None, ["auto"]])
def test_engine_option_is_checked(bad):
    net = Network.feedforward([[[2.0]]])
    with pytest.raises(InvalidInputError, match="engine"):
        simulate("lif", net, [[0.1]], 2.0, engine=bad)
