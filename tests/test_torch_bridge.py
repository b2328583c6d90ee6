"""The PyTorch bridge (exactsnn.torch): gradcheck, bit-equality with the adjoint, the mpmath reference,
bad input, state_dict, and 20 Adam steps against exactsnn's own trainer."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import exactsnn as es  # noqa: E402
from exactsnn.errors import InputSpikeError, ModelError, NetworkError  # noqa: E402
from exactsnn.torch import ExactSNN  # noqa: E402

T_MAX = 4.0
PARAMS = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}


def _net(seed=3):
    """A 3-5-2 network whose hidden neurons fire two or three times (seed 3: checked in the tests)."""
    rng = np.random.default_rng(seed)
    net = es.Network.feedforward([rng.normal(2.5, 0.8, (3, 5)), rng.normal(1.0, 0.5, (5, 2))])
    return net.with_weights(delay=rng.uniform(0.05, 0.3, net.n_synapses)), rng.uniform(0, 1, (2, 3))


def _serial(net, x, params=PARAMS):
    return [es.simulate("lif", net, [[t] for t in row], T_MAX, params=params) for row in x]


def test_gradcheck_weights_delays_inputs_params_multispike():
    net, x = _net()
    counts = np.array([np.bincount(r.spike_neuron, minlength=7) for r in _serial(net, x)])
    assert counts[:, :5].max() >= 2 and (counts[:, 5:] >= 1).all(), "hidden neurons must fire repeatedly"
    layer = ExactSNN(net, "lif", T_MAX, PARAMS, learn=("weight", "delay", "tau_syn", "threshold"),
                     record=range(5), max_spikes_per_neuron=3)

    def f(w, d, p, xt):
        out = es.torch.spike_times(layer.spec, w, d, p, xt)
        return out.t_first, out.spikes

    args = (layer.weight.detach().clone().requires_grad_(), layer.delay.detach().clone().requires_grad_(),
            layer.param_table.detach().clone().requires_grad_(), torch.tensor(x, requires_grad=True))
    assert torch.autograd.gradcheck(f, args, eps=1e-6, atol=1e-6, rtol=1e-5)


def _same(got, want, exact):
    """Bit for bit (records kept), or to rounding (the Jacobian contraction: the same products summed in
    another order; 1e-14 of the largest entry)."""
    if exact:
        return np.array_equal(got, want)
    return np.max(np.abs(got - want)) <= 1e-14 * np.max(np.abs(want))


@pytest.mark.parametrize("jacobian_bytes", [0, 64 << 20])
def test_backward_equals_serial_adjoint(jacobian_bytes):
    """Records kept (jacobian_bytes = 0): the backward is exactsnn's adjoint bit for bit. First-spike
    Jacobians (the default for small layers): equal to it to rounding."""
    net, x = _net()
    layer = ExactSNN(net, "lif", T_MAX, PARAMS, learn=("weight", "delay", "tau_mem"), jacobian_bytes=jacobian_bytes)
    exact = jacobian_bytes == 0
    xt = torch.tensor(x, requires_grad=True)
    out = layer(xt)
    c = torch.tensor(np.random.default_rng(7).normal(size=out.t_first.shape))
    (out.t_first * c).sum().backward()
    per = []
    for b, res in enumerate(_serial(net, x)):
        t_first, ids = res.first_spikes()
        assert np.array_equal(t_first, out.t_first[b].detach().numpy())
        dl_dt = np.zeros(res.n_spikes)
        for o, k in enumerate(ids):
            if k >= 0:
                dl_dt[k] += c[b, o].item()
        per.append(es.adjoint(res, dl_dt))
        assert _same(xt.grad[b].numpy(), per[-1].inputs, exact)
    assert _same(layer.weight.grad.numpy(), np.stack([g.weights for g in per]).sum(axis=0), exact)
    assert _same(layer.delay.grad.numpy(), np.stack([g.delays for g in per]).sum(axis=0), exact)
    assert _same(layer.params["tau_mem"].grad.numpy(), np.stack([g.model for g in per]).sum(axis=0)[1:2], exact)
    assert layer.params["threshold"].grad is None


def test_gradients_match_mpmath_reference():
    from exactsnn import models
    from exactsnn.reference import reference_solve

    net, x = _net()
    x = x[:1]
    layer = ExactSNN(net, "lif", T_MAX, PARAMS, learn=("weight", "delay", "tau_syn", "tau_mem", "threshold"))
    xt = torch.tensor(x, requires_grad=True)
    out = layer(xt)
    assert not out.silent.any()
    c = np.array([0.7, -1.3])
    (out.t_first[0] * torch.tensor(c)).sum().backward()
    ref = reference_solve(models.get("lif"), PARAMS, net, [[t] for t in x[0]], T_MAX, dps=40)
    assert ref.certified
    rows = {j: r for r, (j, i) in reversed(list(enumerate(ref.order))) if i == 0}
    for name, got, block in (("weight", layer.weight.grad, ref.d_weights), ("delay", layer.delay.grad, ref.d_delays),
                             ("input_times", xt.grad[0], ref.d_inputs), ("params", torch.cat(
                                 [layer.params[n].grad for n in ("tau_syn", "tau_mem", "threshold")]), ref.d_model)):
        want = sum(c[o] * np.array([float(v) for v in block[rows[j]]]) for o, j in enumerate(net.outputs))
        err = np.max(np.abs(got.numpy() - want)) / np.max(np.abs(want))
        assert err < 1e-8, (name, err)


@pytest.mark.parametrize("bad, error, match", [
    (lambda x: x.float(), InputSpikeError, "input_times has dtype torch.float32"),
    (lambda x: x.long(), InputSpikeError, "input_times has dtype torch.int64"),
    (lambda x: x.to("meta"), InputSpikeError, "input_times is on device meta"),
    (lambda x: x[:, :2], InputSpikeError, r"input_times has shape \(2, 2\)"),
    (lambda x: x.numpy(), InputSpikeError, "input_times must be a torch.Tensor"),
    (lambda x: torch.where(x > 0.5, torch.nan, x), InputSpikeError, "input_times.*nan"),
    (lambda x: -x, InputSpikeError, "input_times.*>= 0"),
])
def test_bad_input_times(bad, error, match):
    net, x = _net()
    layer = ExactSNN(net, "lif", T_MAX, PARAMS)
    with pytest.raises(error, match=match):
        layer(bad(torch.tensor(x)))


def test_bad_parameters_are_named():
    net, x = _net()
    layer = ExactSNN(net, "lif", T_MAX, PARAMS)
    f = es.torch.spike_times
    with pytest.raises(NetworkError, match="weight has dtype torch.float32"):
        f(layer.spec, layer.weight.float(), layer.delay, layer.param_table, torch.tensor(x))
    with pytest.raises(NetworkError, match=r"delay has shape \(3,\)"):
        f(layer.spec, layer.weight, layer.delay[:3], layer.param_table, torch.tensor(x))
    with pytest.raises(NetworkError, match="delay"):
        f(layer.spec, layer.weight, -layer.delay, layer.param_table, torch.tensor(x))
    with pytest.raises(ModelError, match="threshold"):
        f(layer.spec, layer.weight, layer.delay, -layer.param_table, torch.tensor(x))
    with pytest.raises(ModelError, match="learn"):
        ExactSNN(net, "lif", T_MAX, learn=("bogus",))
    layer.params["threshold"].data = torch.tensor([1.0], dtype=torch.float32)
    with pytest.raises(ModelError, match="params.threshold has dtype torch.float32"):
        layer(torch.tensor(x))
    layer.params["threshold"].data = torch.tensor([1.0, 1.0], dtype=torch.float64)
    with pytest.raises(ModelError, match=r"params.threshold has shape \(2,\); expected \(1\)"):
        layer(torch.tensor(x))
    layer.params["threshold"].data = torch.tensor([-1.0], dtype=torch.float64)
    with pytest.raises(ModelError, match="threshold"):
        layer(torch.tensor(x))
    with pytest.raises(RuntimeError, match="floating point"):  # torch refuses: only floating tensors can require grad
        torch.tensor([1, 2]).requires_grad_()


def test_cached_views_and_parameter_table_follow_every_kind_of_update():
    """The layer reuses numpy views of its parameters between steps and builds the parameter table from
    them; in-place updates (also through ``.data``, which bumps no version counter), new storage
    (``.data =``), replaced parameters and ``load_state_dict`` must all reach the simulation (oracle: a
    freshly built layer with the new values)."""
    net, x = _net()
    xt = torch.tensor(x)
    layer = ExactSNN(net, "lif", T_MAX, PARAMS)
    state0 = {k: v.clone() for k, v in layer.state_dict().items()}
    out0 = layer(xt).t_first.detach().clone()

    def fresh(weight=net.weight, **params):
        return ExactSNN(net.with_weights(weight), "lif", T_MAX, {**PARAMS, **params})(xt).t_first

    with torch.no_grad():
        layer.weight.mul_(1.1)
    assert torch.equal(layer(xt).t_first, fresh(net.weight * 1.1))
    with torch.no_grad():
        layer.params["threshold"].add_(0.25)
    assert torch.equal(layer(xt).t_first, fresh(net.weight * 1.1, threshold=1.25))
    layer.params["threshold"].data = torch.tensor([1.5], dtype=torch.float64)
    layer.weight.data = torch.tensor(net.weight * 0.9)
    assert torch.equal(layer(xt).t_first, fresh(net.weight * 0.9, threshold=1.5))
    layer.params["tau_mem"] = torch.nn.Parameter(torch.tensor([1.2], dtype=torch.float64), requires_grad=False)
    assert torch.equal(layer(xt).t_first, fresh(net.weight * 0.9, threshold=1.5, tau_mem=1.2))
    layer.load_state_dict(state0)
    assert torch.equal(layer(xt).t_first, out0) and not torch.equal(out0, fresh(net.weight * 0.9))
    layer.params["threshold"].data.fill_(1.3)  # through .data: no version bump, the storage is the same
    layer.weight.data.mul_(1.05)
    assert torch.equal(layer(xt).t_first, fresh(net.weight * 1.05, threshold=1.3))


@pytest.mark.parametrize("jacobian_bytes", [0, 64 << 20])
def test_parameter_columns_get_the_table_gradient(jacobian_bytes):
    """``ExactSNN`` hands its parameters to the autograd function as separate columns (no stacking
    node): each column's gradient equals the matching column of the stacked table's gradient through
    ``spike_times``, with two populations; a column that is not learned gets none."""
    net, x = _net()
    layer = ExactSNN(net, "lif", T_MAX, {"tau_syn": [0.5, 0.6], "tau_mem": 1.0, "threshold": [1.0, 0.9]},
                     populations=[0] * 5 + [1] * 2, learn=("weight", "tau_syn", "threshold"),
                     jacobian_bytes=jacobian_bytes)
    c = torch.tensor(np.random.default_rng(5).normal(size=(2, 2)))
    (layer(torch.tensor(x)).t_first * c).sum().backward()
    table = layer.param_table.detach().clone().requires_grad_()
    weight = layer.weight.detach().clone().requires_grad_()
    (es.torch.spike_times(layer.spec, weight, layer.delay, table, torch.tensor(x)).t_first * c).sum().backward()
    assert table.grad.shape == (2, 3) and table.grad[:, [0, 2]].abs().min() > 0
    assert torch.equal(layer.weight.grad, weight.grad)
    for i, name in enumerate(("tau_syn", "tau_mem", "threshold")):
        got = layer.params[name].grad
        assert got is None if name == "tau_mem" else torch.equal(got, table.grad[:, i])


def test_zero_grad_clears_every_parameter_like_module_zero_grad():
    """``ExactSNN.zero_grad`` skips ``Module``'s traversal; oracle: ``torch.nn.Module.zero_grad`` on the
    same layer (every learned parameter's gradient None, or zero with ``set_to_none=False``), also for a
    subclass holding a submodule, whose parameters only the general path reaches."""

    class WithHead(ExactSNN):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.head = torch.nn.Linear(2, 1).double()

    net, x = _net()
    for cls in (ExactSNN, WithHead):
        layer = cls(net, "lif", T_MAX, PARAMS, learn=("weight", "delay", "threshold"))
        learned = [p for p in layer.parameters() if p.requires_grad]
        for set_to_none in (True, False):
            out = layer(torch.tensor(x)).t_first
            (out.sum() + (layer.head(out).sum() if cls is WithHead else 0)).backward()
            assert all(p.grad is not None and p.grad.abs().max() > 0 for p in learned)
            layer.zero_grad(set_to_none)
            got = [p.grad for p in learned]
            for p in learned:
                p.grad = torch.ones_like(p)
            torch.nn.Module.zero_grad(layer, set_to_none)
            want = [p.grad for p in learned]
            assert all((g is None) == (w is None) and (g is None or torch.equal(g, w)) for g, w in zip(got, want))
            assert all(g is None for g in got) if set_to_none else all(not g.any() for g in got)


def test_allow_cast_float32_and_state_dict_round_trip():
    net, x = _net()
    layer = ExactSNN(net, "lif", T_MAX, PARAMS, allow_cast=True)
    out32 = layer(torch.tensor(x, dtype=torch.float32))
    assert out32.t_first.dtype == torch.float32
    with torch.no_grad():
        layer.weight.mul_(1.1)
    twin = ExactSNN(net, "lif", T_MAX)
    twin.load_state_dict(layer.state_dict())
    assert set(layer.state_dict()) == {"weight", "delay", "params.tau_syn", "params.tau_mem", "params.threshold"}
    assert torch.equal(twin(torch.tensor(x)).t_first, layer(torch.tensor(x)).t_first)
    assert not torch.equal(twin(torch.tensor(x)).t_first, ExactSNN(net, "lif", T_MAX, PARAMS)(torch.tensor(x)).t_first)


def _torch_step(layer, opt, x, labels, c):
    """The trainer's recipe through public pieces: TTFS cross-entropy (silent outputs at t_max, no gradient),
    samples with a silent label neuron pass no gradient, Adam, then weight bumping of silent neurons."""
    out = layer(torch.tensor(x))
    t = out.t_first
    rows = torch.arange(len(labels))
    lab = torch.tensor(labels)
    t_lab = t[rows, lab]
    ce = -torch.log_softmax(-t / c.tau0, dim=1)[rows, lab] + c.gamma * (torch.exp(t_lab / c.tau1) - 1)
    keep = ~out.silent[rows, lab]
    opt.zero_grad()
    ((ce * keep).sum() / len(labels)).backward()
    opt.step()
    counts = out.counts.numpy()
    dead = np.flatnonzero((counts[:, :c.hidden] == 0).all(axis=0))
    silent_labels = np.unique(labels[~keep.numpy()])
    with torch.no_grad():
        post = torch.tensor(np.isin(layer.spec.network.post, np.concatenate([dead, c.hidden + silent_labels])))
        layer.weight[post] += c.bump


def test_twenty_adam_steps_match_the_trainer():
    from exactsnn.training.trainer import Trainer, config_for

    c = config_for("yinyang", hidden=30, train_size=1000, ema=0.0)
    trainer = Trainer(c, progress=False)
    layer = ExactSNN(trainer.state.network(), c.model, c.t_max, c.params)
    opt = torch.optim.Adam([layer.weight], lr=c.lr, betas=(0.9, 0.999), eps=1e-8)
    data = trainer.data["train"]
    perm = np.random.default_rng(c.seed + 1_000_003).permutation(len(data))
    for s in range(20):
        idx = perm[s * c.batch_size:(s + 1) * c.batch_size]
        trainer.step(idx, c.lr)
        _torch_step(layer, opt, data.times[idx], data.labels[idx], c)
    ours = layer.weight.detach().numpy()
    theirs = np.concatenate([w.ravel() for w in trainer.state.weights])
    assert np.max(np.abs(theirs - layer.spec.network.weight)) > 1e-3, "training must move the weights"
    assert np.max(np.abs(ours - theirs)) <= 1e-10 * np.max(np.abs(theirs)), np.max(np.abs(ours - theirs))


def test_multi_spike_inputs_and_recorded_spikes_match_serial():
    net, _ = _net()
    x = np.array([[[0.1, 0.6], [0.3, np.inf], [0.2, 0.5]], [[0.0, np.inf], [0.4, 0.9], [np.inf, np.inf]]])
    layer = ExactSNN(net, "lif", T_MAX, PARAMS, record=[0, 2, 6], max_spikes_per_neuron=3)
    xt = torch.tensor(x, requires_grad=True)
    out = layer(xt)
    c = torch.tensor(np.random.default_rng(2).normal(size=out.spikes.shape))
    (out.spikes * c).sum().backward()
    for b in range(2):
        res = es.simulate("lif", net, [[t for t in ch if np.isfinite(t)] for ch in x[b]], T_MAX, params=PARAMS)
        dl_dt = np.zeros(res.n_spikes)
        for r, j in enumerate([0, 2, 6]):
            mine = np.flatnonzero(res.spike_neuron == j)[:3]
            n = mine.size
            assert np.array_equal(out.spikes[b, r, :n].detach().numpy(), res.spike_time[mine])
            assert out.spikes_mask[b, r, :n].all() and not out.spikes_mask[b, r, n:].any()
            dl_dt[mine] = c[b, r, :n].numpy()
        ref = es.adjoint(res, dl_dt)
        assert np.array_equal(xt.grad[b].numpy()[np.isfinite(x[b])], ref.inputs)
        assert (xt.grad[b].numpy()[~np.isfinite(x[b])] == 0).all()
