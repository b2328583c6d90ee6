"""The JAX bridge (exactsnn.jax): jax.grad through jit and vmap equals exactsnn's adjoint; vmap batches
into one callback call; bad input is refused with the argument named."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

import exactsnn as es  # noqa: E402
import exactsnn.interop.jax as bridge  # noqa: E402
from exactsnn.errors import InputSpikeError, NetworkError  # noqa: E402
from exactsnn.interop.jacobian_batch import JacobianBatch  # noqa: E402

T_MAX = 4.0
PARAMS = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}
TOL = 1e-12


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(3)  # a 3-5-2 network whose hidden neurons fire two or three times
    net = es.Network.feedforward([rng.normal(2.5, 0.8, (3, 5)), rng.normal(1.0, 0.5, (5, 2))])
    net = net.with_weights(delay=rng.uniform(0.05, 0.3, net.n_synapses))
    x = rng.uniform(0, 1, (3, 3))
    c = rng.normal(size=(3, 2))
    spec = bridge.LayerSpec.build(net, "lif", T_MAX)
    return spec, spec.initial(PARAMS), x, c


def _adjoints(net, patterns, c):
    """Serial exactsnn.adjoint per pattern for L = sum_o c_o t_first_o (the independent path)."""
    out = []
    for b, inputs in enumerate(patterns):
        res = es.simulate("lif", net, inputs, T_MAX, params=PARAMS)
        _, ids = res.first_spikes()
        dl_dt = np.zeros(res.n_spikes)
        for o, k in enumerate(ids):
            if k >= 0:
                dl_dt[k] += c[b, o]
        out.append(es.adjoint(res, dl_dt))
    return out


def _close(got, want):
    want = np.asarray(want)
    return np.max(np.abs(np.asarray(got) - want)) <= TOL * max(np.max(np.abs(want)), 1e-300)


def _loss(spec):
    def loss(w, d, p, x, c):
        return jnp.sum(bridge.spike_times(spec, w, d, p, x)[0] * c)
    return loss


@pytest.mark.parametrize("jit", [False, True])
def test_grad_equals_adjoint(setup, jit):
    spec, init, x, c = setup
    counts = np.array([np.bincount(r.spike_neuron, minlength=7) for r in (
        es.simulate("lif", spec.network, [[t] for t in row], T_MAX, params=PARAMS) for row in x)])
    assert counts[:, :5].max() >= 2 and (counts[:, 5:] >= 1).all()
    grad = jax.grad(_loss(spec), argnums=(0, 1, 2, 3))
    g = (jax.jit(grad) if jit else grad)(init["weight"], init["delay"], init["params"], jnp.asarray(x), c)
    ref = _adjoints(spec.network, [[[t] for t in row] for row in x], c)
    assert _close(g[0], sum(r.weights for r in ref))
    assert _close(g[1], sum(r.delays for r in ref))
    assert _close(np.ravel(g[2]), sum(r.model for r in ref))
    assert _close(g[3], np.stack([r.inputs for r in ref]))


def test_vmap_per_example_grads_in_one_callback(setup, monkeypatch):
    spec, init, x, c = setup
    calls = []
    real = bridge._run
    monkeypatch.setattr(bridge, "_run", lambda *a: calls.append(a[4].shape) or real(*a))
    per_example = jax.jit(jax.vmap(jax.grad(_loss(spec), argnums=(0, 3)), in_axes=(None, None, None, 0, 0)))
    gw, gx = per_example(init["weight"], init["delay"], init["params"], jnp.asarray(x), c)
    # one batch simulation of all 3 patterns; the backward callback reuses its memoised records
    assert calls == [(3, 3)], calls
    for b, r in enumerate(_adjoints(spec.network, [[[t] for t in row] for row in x], c)):
        assert _close(gw[b], r.weights) and _close(gx[b], r.inputs)


def test_backward_without_memo_simulates_again_with_equal_result(setup, monkeypatch):
    spec0, init, x, c = setup
    spec = bridge.LayerSpec.build(spec0.network, "lif", T_MAX)
    object.__setattr__(spec, "memo_size", 0)
    calls = []
    real = bridge._run
    monkeypatch.setattr(bridge, "_run", lambda *a: calls.append(a[4].shape) or real(*a))
    args = (init["weight"], init["delay"], init["params"], jnp.asarray(x), c)
    g0 = jax.grad(_loss(spec0))(*args)
    g1 = jax.grad(_loss(spec))(*args)
    assert len(calls) == 3 and np.array_equal(g0, g1)


def test_vmap_over_weights_matches_separate_calls(setup):
    spec, init, x, c = setup
    ws = jnp.stack([init["weight"], init["weight"] * 1.05])
    grad = jax.grad(_loss(spec))
    batched = jax.jit(jax.vmap(grad, in_axes=(0, None, None, None, None)))(ws, init["delay"], init["params"],
                                                                          jnp.asarray(x), c)
    for i in range(2):
        net = spec.network.with_weights(np.asarray(ws[i]))
        ref = _adjoints(net, [[[t] for t in row] for row in x], c)
        assert _close(batched[i], sum(r.weights for r in ref))


def test_multi_spike_inputs_with_padding(setup):
    spec0, init, _, _ = setup
    spec = bridge.LayerSpec.build(spec0.network, "lif", T_MAX, spikes_per_channel=2)
    x = np.array([[[0.1, 0.6], [0.3, np.inf], [0.2, 0.5]], [[0.0, np.inf], [0.4, 0.9], [np.inf, np.inf]]])
    c = np.array([[1.0, -0.5], [0.3, 2.0]])
    g = jax.jit(jax.grad(_loss(spec), argnums=(0, 3)))(init["weight"], init["delay"], init["params"], x, c)
    patterns = [[[t for t in ch if np.isfinite(t)] for ch in row] for row in x]
    ref = _adjoints(spec.network, patterns, c)
    assert _close(g[0], sum(r.weights for r in ref))
    for b, r in enumerate(ref):
        assert _close(np.asarray(g[1][b])[np.isfinite(x[b])], r.inputs)
        assert np.all(np.asarray(g[1][b])[~np.isfinite(x[b])] == 0)


def test_bad_input_is_named(setup):
    spec, init, x, _ = setup
    w, d, p = init["weight"], init["delay"], init["params"]
    with pytest.raises(InputSpikeError, match="input_times has dtype float32"):
        bridge.spike_times(spec, w, d, p, jnp.asarray(x, jnp.float32))
    with pytest.raises(InputSpikeError, match="input_times has dtype int"):
        bridge.spike_times(spec, w, d, p, jnp.asarray(x * 10, jnp.int64))
    with pytest.raises(InputSpikeError, match=r"input_times has shape \(3, 2\)"):
        bridge.spike_times(spec, w, d, p, jnp.asarray(x[:, :2]))
    with pytest.raises(NetworkError, match=r"weight has shape \(4,\)"):
        bridge.spike_times(spec, w[:4], d, p, jnp.asarray(x))
    with pytest.raises(Exception, match=r"input_times\[\(0, 1, 0\)\] = nan"):
        bridge.spike_times(spec, w, d, p, jnp.asarray(x).at[0, 1].set(jnp.nan))[0].block_until_ready()
    with pytest.raises(Exception, match="input spike times must be >= 0"):
        bridge.spike_times(spec, w, d, p, -jnp.asarray(x))[0].block_until_ready()


def test_jacrev_equals_forward_propagation_rows(setup):
    """jacrev (a vmap over cotangents of the backward callback) against the FP Jacobian: a second algorithm."""
    spec, init, x, _ = setup
    jac = jax.jit(jax.jacrev(lambda w: bridge.spike_times(spec, w, init["delay"], init["params"], x[:1])[0][0]))(
        init["weight"])
    res = es.simulate("lif", spec.network, [[t] for t in x[0]], T_MAX, params=PARAMS)
    fp = es.forward_propagation(res)
    _, ids = res.first_spikes()
    for o, k in enumerate(ids):
        assert k >= 0
        row = fp.dts_dq.weights[k]
        assert np.max(np.abs(np.asarray(jac[o]) - row)) <= 1e-12 * np.max(np.abs(row))


def test_public_pure_callback_route_gives_the_same_gradients(setup, monkeypatch):
    """Where jax_host's private lowering cannot load, jax.pure_callback serves; both routes agree bit for bit."""
    spec0, init, x, c = setup
    args = (init["weight"], init["delay"], init["params"], jnp.asarray(x), c)
    g_host = jax.jit(jax.grad(_loss(spec0), argnums=(0, 1, 2, 3)))(*args)
    monkeypatch.setattr(bridge, "host_call", bridge.public_host_call)
    spec = bridge.LayerSpec.build(spec0.network, "lif", T_MAX)  # a new spec: its layer is built on this route
    g_pub = jax.jit(jax.grad(_loss(spec), argnums=(0, 1, 2, 3)))(*args)
    assert all(np.array_equal(a, b) for a, b in zip(g_host, g_pub))
    per_example = jax.vmap(jax.grad(_loss(spec), argnums=0), in_axes=(None, None, None, 0, 0))
    gw = per_example(*args[:3], jnp.asarray(x)[:, None, :], c[:, None, :])
    assert np.allclose(np.sum(gw, axis=0), g_host[0], rtol=1e-12, atol=0)


def test_parameter_columns_only_when_parameters_are_differentiated(setup, monkeypatch):
    """The forward learns from JAX (symbolic zeros) whether the model parameters (and delays) are
    differentiated and skips their columns when not; gradients equal the adjoint either way, and a loss that uses only
    the spike counts (no cotangent for t_first) gets zero gradients without a backward callback."""
    spec0, init, x, c = setup
    spec = bridge.LayerSpec.build(spec0.network, "lif", T_MAX)
    flags = []
    real = bridge._run
    monkeypatch.setattr(bridge, "_run", lambda *a: flags.append(a[5:]) or real(*a))
    args = (init["weight"], init["delay"], init["params"], jnp.asarray(x), c)
    ref = _adjoints(spec.network, [[[t] for t in row] for row in x], c)
    gw = jax.jit(jax.grad(_loss(spec)))(*args)
    gw_p = jax.jit(jax.grad(_loss(spec), argnums=(0, 2)))(*args)
    assert [(j, "params" in k, "delay" in k) for j, k in flags] == [(True, False, False), (True, True, False)], flags
    assert _close(gw, sum(r.weights for r in ref)) and np.array_equal(gw, gw_p[0])
    assert _close(np.ravel(gw_p[1]), sum(r.model for r in ref))
    counts_only = jax.grad(lambda w: jnp.sum(bridge.spike_times(spec, w, *args[1:4])[2] * 1.0))(init["weight"])
    assert len(flags) == 3 and not np.asarray(counts_only).any()


def test_backward_contracts_only_the_differentiated_inputs(setup, monkeypatch):
    """The forward learns from JAX which inputs are differentiated and the backward contracts only their
    columns (zeros for the others, which JAX discards); the gradients asked for are unchanged."""
    spec0, init, x, c = setup
    spec = bridge.LayerSpec.build(spec0.network, "lif", T_MAX)
    asked = []
    real = JacobianBatch.grads
    monkeypatch.setattr(JacobianBatch, "grads", lambda self, g, *a, keys=(), **k: asked.append(tuple(keys)) or real(
        self, g, *a, keys=keys, **k))
    args = (init["weight"], init["delay"], init["params"], jnp.asarray(x), c)
    every = jax.jit(jax.grad(_loss(spec), argnums=(0, 1, 2, 3)))(*args)
    some = jax.jit(jax.grad(_loss(spec), argnums=(0, 2)))(*args)
    assert asked == [("weight", "delay", "params", "input_times"), ("weight", "params")], asked
    assert _close(some[0], every[0]) and _close(some[1], every[2])
