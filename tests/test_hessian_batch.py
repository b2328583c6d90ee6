"""batch_hvp over every block (weights, delays, per-pattern input times, model parameters of two populations):
against the sum of single-pattern hvps, against Richardson differences of batch_loss_grad's exact gradients,
bad input; and the second-order numba code declared cacheable on disk (a fresh process compiles nothing)."""

import inspect
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba.core.caching import NullCache
from numba.core.registry import CPUDispatcher

from exactsnn import Gradients, InvalidInputError, Loss, batch_hvp, batch_loss_grad, hvp, loss_value_and_dt, simulate
from exactsnn.numeric import second_order, second_order_batch, second_order_params
from exactsnn.second_order_kernels import KERNELS, second_order_module
from test_hessian import T_MAX, _counts, _rel, _richardson_gradient_difference, _two_outputs

PARAMS = {"tau_syn": [0.5, 0.4], "tau_mem": [1.0, 1.3], "threshold": [1.0, 0.9]}
POPS = [0, 0, 1, 1]
LOSS = Loss("ttfs_cross_entropy", tau1=3.0, gamma=0.1)


def _patterns(n, seed):
    rng = np.random.default_rng(seed)
    return [[sorted(rng.uniform(0.05, 1.5, 3).tolist()), sorted(rng.uniform(0.05, 1.5, 2).tolist())]
            for _ in range(n)]


def _direction(net, pats, rng):
    """A random Gradients over every block; inputs (B, max_in) zero past each pattern's spikes."""
    n_in = [sum(len(c) for c in p) for p in pats]
    inputs = np.zeros((len(pats), max(n_in)))
    for b, n in enumerate(n_in):
        inputs[b, :n] = rng.normal(size=n)
    ns = net.n_synapses
    return Gradients(rng.normal(size=ns), rng.normal(size=ns), inputs, rng.normal(size=6))


def _flat(g):
    return np.concatenate([g.weights, g.delays, np.ravel(g.inputs), g.model])


def test_batch_hvp_over_every_block_equals_the_sum_of_single_pattern_hvps():
    """Shared blocks (weights, delays, model) == the mean of serial hvps, input rows == hvp_b.inputs / B, to
    1e-13 relative; multi-spike hidden neurons, two populations, per-pattern labels, a silent pattern, patterns
    of different input counts. model_block=False gives the same other blocks for a zero model direction."""
    net, _ = _two_outputs()
    pats = _patterns(5, 7) + [[[], []], [[0.2], []]]
    labels = [0, 1, 1, 0, 1, 0, 1]
    v = _direction(net, pats, np.random.default_rng(3))
    losses, h = batch_hvp("lif", net, pats, T_MAX, LOSS, v, labels=labels, params=PARAMS, populations=POPS,
                          policy="flag")
    n_b, ns = len(pats), net.n_synapses
    shared, rows, want_loss = np.zeros(2 * ns + 6), np.zeros_like(v.inputs), []
    for b, (p, lab) in enumerate(zip(pats, labels)):
        r = simulate("lif", net, p, T_MAX, params=PARAMS, populations=POPS)
        loss_b = Loss("ttfs_cross_entropy", label=lab, tau1=3.0, gamma=0.1)
        n_in = r.in_times.size
        one = hvp(r, loss_b, np.concatenate([v.weights, v.delays, v.inputs[b, :n_in], v.model]), policy="flag")
        shared += np.concatenate([one.weights, one.delays, one.model]) / n_b
        rows[b, :n_in] = one.inputs / n_b
        want_loss.append(loss_value_and_dt(r, loss_b)[0])
    assert max(_counts(simulate("lif", net, p, T_MAX, params=PARAMS, populations=POPS))[0] for p in pats) > 1
    assert _rel(np.concatenate([h.weights, h.delays, h.model]), shared) < 1e-13
    assert _rel(h.model, shared[-6:]) < 1e-13 and _rel(h.inputs, rows) < 1e-13
    assert np.allclose(losses, want_loss, rtol=1e-14, atol=0)
    zero_m = Gradients(v.weights, v.delays, v.inputs, np.zeros(6))
    full = batch_hvp("lif", net, pats, T_MAX, LOSS, zero_m, labels=labels, params=PARAMS, populations=POPS,
                     policy="flag")[1]
    fast = batch_hvp("lif", net, pats, T_MAX, LOSS, Gradients(v.weights, v.delays, v.inputs, np.zeros(0)),
                     labels=labels, params=PARAMS, populations=POPS, policy="flag", model_block=False)[1]
    assert fast.model.size == 0 and np.allclose(_flat(fast), _flat(full)[:-6], rtol=1e-14, atol=0)


def test_batch_hvp_matches_richardson_differences_of_batch_gradients():
    """batch_hvp along a random direction over every block == Richardson differences of the exact gradient of
    the mean loss (batch_loss_grad: shared blocks averaged, input rows / B) to 1e-8 (spike counts unchanged)."""
    net, _ = _two_outputs()
    pats = _patterns(3, 5)
    ns, n_b = net.n_synapses, len(pats)
    labels = [1, 0, 1]
    n_in = [sum(len(c) for c in p) for p in pats]
    max_in = max(n_in)

    def unpack(q):
        x = q[2 * ns:2 * ns + n_b * max_in].reshape(n_b, max_in)
        out = []
        for b, p in enumerate(pats):
            out.append([x[b, :len(p[0])].tolist(), x[b, len(p[0]):n_in[b]].tolist()])
        pm = q[-6:].reshape(2, 3)
        params = {"tau_syn": pm[:, 0].tolist(), "tau_mem": pm[:, 1].tolist(), "threshold": pm[:, 2].tolist()}
        return net.with_weights(q[:ns], q[ns:2 * ns]), out, params

    x0 = np.zeros((n_b, max_in))
    for b, p in enumerate(pats):
        x0[b, :n_in[b]] = np.concatenate([np.asarray(c, float) for c in p])
    pm0 = np.array([PARAMS[k] for k in ("tau_syn", "tau_mem", "threshold")]).T.ravel()
    q = np.concatenate([net.weight, net.delay, x0.ravel(), pm0])
    base_counts = batch_loss_grad("lif", net, pats, T_MAX, LOSS, labels=labels, params=PARAMS,
                                  populations=POPS).counts

    def grad_at(qq):
        n, pp, par = unpack(qq)
        res = batch_loss_grad("lif", n, pp, T_MAX, LOSS, labels=labels, params=par, populations=POPS)
        assert np.array_equal(res.counts, base_counts)
        g = res.grad
        assert g.model.shape == (n_b, 6)
        return np.concatenate([g.weights.mean(0), g.delays.mean(0), (g.inputs / n_b).ravel(), g.model.mean(0)])

    v = _direction(net, pats, np.random.default_rng(9))
    vq = _flat(v)
    vq /= np.linalg.norm(vq)
    v = Gradients(vq[:ns], vq[ns:2 * ns], vq[2 * ns:-6].reshape(n_b, max_in), vq[-6:])
    got = _flat(batch_hvp("lif", net, pats, T_MAX, LOSS, v, labels=labels, params=PARAMS, populations=POPS,
                          policy="flag")[1])
    fd = _richardson_gradient_difference(grad_at, q, vq, 1e-3)
    assert _rel(got, fd) < 1e-8
    assert _rel(got[-6:], fd[-6:]) < 1e-8 and _rel(got[2 * ns:-6], fd[2 * ns:-6]) < 1e-8


def test_batch_hvp_refuses_bad_input():
    """Labels, policy, model_block, a nonzero padded input entry, wrong block shapes: InvalidInputError."""
    net, _ = _two_outputs()
    pats = _patterns(2, 1) + [[[0.3], []]]
    ns = net.n_synapses
    good = {"labels": [0, 1, 0], "params": PARAMS, "populations": POPS}
    v = np.ones(2 * ns)
    padded = np.ones((3, 5))
    bad_v = [np.ones(2 * ns + 1), Gradients(v[:ns], v[ns:], padded, np.zeros(6)),
             Gradients(v[:ns], v[ns:], np.ones((2, 5)), np.zeros(0)), Gradients(v[:ns], v[ns:], np.zeros(0), v[:4]),
             np.full(2 * ns, np.nan)]
    for bad in bad_v:
        with pytest.raises(InvalidInputError):
            batch_hvp("lif", net, pats, T_MAX, LOSS, bad, **good)
    with pytest.raises(InvalidInputError):
        batch_hvp("lif", net, pats, T_MAX, LOSS, Gradients(v[:ns], v[ns:], np.zeros(0), np.ones(6)),
                  model_block=False, **good)
    for bad in ({"labels": [0, 1]}, {"labels": [0, 1, 2]}, {"policy": "ignore"}, {"model_block": 1}):
        with pytest.raises(InvalidInputError):
            batch_hvp("lif", net, pats, T_MAX, LOSS, v, **{**good, **bad})


def _dispatchers(module):
    return {name: d for name, d in vars(module).items()
            if isinstance(d, CPUDispatcher) and d.py_func.__module__ == module.__name__}


def test_second_order_numba_code_is_declared_cacheable():
    """Every jitted function of the second-order modules, and of the model's stamped second-order module, has a
    disk cache (cache=True), and none takes a model kernel as an argument (numba cannot cache a function keyed
    on dispatcher arguments): the kernels are the stamped module's globals."""
    stamped = second_order_module(simulate("lif", *_two_outputs(), T_MAX).model)
    found = 0
    for module in (second_order, second_order_batch, second_order_params, stamped):
        for name, d in _dispatchers(module).items():
            assert not isinstance(d._cache, NullCache), f"{module.__name__}.{name} is not cache=True"
            assert not set(inspect.signature(d.py_func).parameters) & set(KERNELS), name
            found += 1
    assert {"edges_core", "param_edges", "hvp_core", "sample_hvp", "batch_hvp_records"} <= set(_dispatchers(stamped))
    assert found >= 20


FRESH = """
import numpy as np
from exactsnn import Loss, Network, batch_hvp, hvp, simulate
from exactsnn.second_order_kernels import second_order_module
net = Network.feedforward([np.array([[4.5, 3.8], [3.2, 4.2]]), np.array([[0.9, 1.2], [0.7, 0.8]])])
r = simulate("lif", net, [[0.1, 0.6], [0.3]], 4.0)
hvp(r, Loss("first_spike_sum"), np.ones(2 * net.n_synapses + 3 + 3))
batch_hvp("lif", net, [[[0.1, 0.6], [0.3]]], 4.0, Loss("first_spike_sum"), np.ones(2 * net.n_synapses + 3))
mod = second_order_module(r.model)
for name in ("hvp_core", "batch_hvp_records"):
    s = getattr(mod, name).stats
    print(name, sum(s.cache_hits.values()), sum(s.cache_misses.values()))
"""


@pytest.mark.slow
def test_a_fresh_process_loads_the_second_order_code_from_the_disk_cache():
    """Two fresh interpreters run hvp and batch_hvp (every block); the second compiles nothing: numba reports
    only cache hits for the stamped hvp_core and batch_hvp_records."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for run in range(2):
        out = subprocess.run([sys.executable, "-c", FRESH], env=env, capture_output=True, text=True, check=True).stdout
    counts = [line.split() for line in out.splitlines()]
    assert [c[0] for c in counts] == ["hvp_core", "batch_hvp_records"]
    assert all(int(hits) >= 1 and int(misses) == 0 for _, hits, misses in counts), out
