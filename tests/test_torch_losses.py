"""exactsnn's losses as single torch autograd nodes (exactsnn.torch.ttfs_cross_entropy, first_spike_sum,
spike_loss): against the loss written in torch ops (an independent oracle), against exactsnn's own
``loss_value_and_dt`` and ``batch_loss_grad`` (bit for bit), gradcheck, silent outputs, bad input."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import exactsnn as es  # noqa: E402
from exactsnn.errors import InvalidInputError  # noqa: E402
from exactsnn.losses import Loss, batch_loss_grad, loss_value_and_dt  # noqa: E402
from exactsnn.torch import ExactSNN, first_spike_sum, spike_loss, ttfs_cross_entropy  # noqa: E402

T_MAX = 4.0
PARAMS = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}
LOSSES = [Loss("ttfs_cross_entropy", tau0=0.05, tau1=6.4, gamma=0.003),
          Loss("ttfs_cross_entropy", tau0=0.5, tau1=2.0, gamma=-0.005), Loss("first_spike_sum")]


def _torch_formula(loss, t, labels, reduction):
    """The loss in torch operations (bench_bridges.py's ``torch_loss``, the trainer's formula)."""
    if loss.kind == "first_spike_sum":
        per_row = t.sum(dim=1)
    else:
        rows = torch.arange(t.shape[0])
        per_row = -torch.log_softmax(-t / loss.tau0, dim=1)[rows, labels] + loss.gamma * (
            torch.exp(t[rows, labels] / loss.tau1) - 1)
    return {"mean": per_row.mean(), "sum": per_row.sum(), "none": per_row}[reduction]


def _node(loss, t, labels, silent=None, reduction="mean"):
    if loss.kind == "first_spike_sum":
        return first_spike_sum(t, silent, reduction=reduction)
    return ttfs_cross_entropy(t, labels, silent, tau0=loss.tau0, tau1=loss.tau1, gamma=loss.gamma, reduction=reduction)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss", LOSSES, ids=["trainer", "negative_gamma", "first_spike_sum"])
def test_value_and_gradient_equal_the_loss_written_in_torch(loss, reduction):
    rng = np.random.default_rng(0)
    t_np, labels = rng.uniform(0.2, 3.0, (40, 3)), torch.tensor(rng.integers(0, 3, 40))
    grads, values = [], []
    for f in (_torch_formula, lambda *a: _node(a[0], a[1], a[2], None, a[3])):
        t = torch.tensor(t_np, requires_grad=True)
        v = f(loss, t, labels, reduction)
        v.backward(torch.linspace(0.5, 2.0, 40, dtype=torch.float64) if reduction == "none" else None)
        values.append(v.detach().numpy())
        grads.append(t.grad.numpy())
    # relative to the largest entry: a row whose label wins clearly is a cancellation (t_k/tau0 + lse ~ 0)
    for got, want in zip((values[1], grads[1]), (values[0], grads[0])):
        assert np.max(np.abs(got - want)) <= 1e-14 * np.max(np.abs(want))


def _silent_case():
    """A 3-5-2 network whose output 1 (neuron 6) is silent for some of 12 patterns (labels alternate, so
    some silent outputs are labels)."""
    rng = np.random.default_rng(3)
    net = es.Network.feedforward([rng.normal(2.5, 0.8, (3, 5)), rng.normal(1.0, 0.5, (5, 2))])
    net = net.with_weights(delay=rng.uniform(0.05, 0.3, net.n_synapses))
    w = net.weight.copy()
    w[net.post == 6] *= 0.5
    x = np.random.default_rng(1).uniform(0, 1.5, (12, 3))
    return net.with_weights(w), x, np.arange(12) % 2


@pytest.mark.parametrize("loss", LOSSES, ids=["trainer", "negative_gamma", "first_spike_sum"])
def test_rows_equal_exactsnn_losses_bit_for_bit_with_silent_outputs(loss):
    """Per row (reduction "none", incoming gradient 1): the value is batch_loss_grad's loss, the
    gradient at each output is loss_value_and_dt's dL/dt at that output's first spike (0 if silent):
    identical bits. The mean is numpy's mean of batch_loss_grad's losses, its gradient dL/dt / B."""
    net, x, labels = _silent_case()
    res = batch_loss_grad("lif", net, [[[t] for t in row] for row in x], T_MAX, loss, labels=labels, params=PARAMS)
    silent = res.counts[:, net.outputs] == 0
    assert silent.any() and (~silent).any() and silent[np.arange(12), labels].any()
    t = torch.tensor(res.t_first, requires_grad=True)
    lab, sil = torch.tensor(labels), torch.tensor(silent)
    per_row = _node(loss, t, lab, sil, "none")
    per_row.backward(torch.ones(12, dtype=torch.float64))
    assert np.array_equal(per_row.detach().numpy(), res.loss)
    for b, row in enumerate(x):
        r = es.simulate("lif", net, [[v] for v in row], T_MAX, params=PARAMS)
        value, dl_dt, t_first = loss_value_and_dt(r, Loss(loss.kind, int(labels[b]), loss.tau0, loss.tau1, loss.gamma))
        want = np.zeros(2)
        for o, j in enumerate(net.outputs):
            k = np.flatnonzero(r.spike_neuron == j)
            want[o] = dl_dt[k[0]] if k.size else 0.0
        assert np.array_equal(t_first, res.t_first[b]) and value == res.loss[b]
        assert np.array_equal(t.grad.numpy()[b], want)
        assert (want[silent[b]] == 0).all()
    t_mean = torch.tensor(res.t_first, requires_grad=True)
    mean = _node(loss, t_mean, lab, sil, "mean")
    mean.backward()
    assert mean.item() == np.mean(res.loss)
    assert np.array_equal(t_mean.grad.numpy(), t.grad.numpy() / 12)


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("loss", LOSSES[1:], ids=["ttfs_cross_entropy", "first_spike_sum"])
def test_gradcheck_float64(loss, reduction):
    rng = np.random.default_rng(2)
    t = torch.tensor(rng.uniform(0.2, 2.0, (6, 3)), requires_grad=True)
    labels, silent = torch.tensor([0, 1, 2, 2, 1, 0]), torch.zeros(6, 3, dtype=torch.bool)
    assert torch.autograd.gradcheck(lambda u: _node(loss, u, labels, silent, reduction), (t,))


def test_silent_outputs_count_t_max_and_pass_no_gradient():
    t = torch.tensor([[T_MAX, 0.5, 1.0], [0.3, T_MAX, T_MAX]], dtype=torch.float64, requires_grad=True)
    silent = t.detach() == T_MAX
    labels = torch.tensor([0, 2])
    value = ttfs_cross_entropy(t, labels, silent, reduction="sum")
    value.backward()
    oracle = _torch_formula(Loss("ttfs_cross_entropy"), t.detach(), labels, "sum").item()
    assert value.item() == pytest.approx(oracle, rel=1e-14)
    assert (t.grad[silent] == 0).all() and (t.grad[~silent] != 0).all()


def test_spike_loss_through_the_layer_equals_the_trainers_mean_gradient():
    """spike_loss(layer(x), loss, labels).backward() with records kept: the mean over the batch of
    batch_loss_grad's per-sample weight gradients (to rounding: dL/dt is divided by B before the
    contraction, the trainer divides the summed gradients)."""
    net, x, labels = _silent_case()
    loss = LOSSES[0]
    layer = ExactSNN(net, "lif", T_MAX, PARAMS, jacobian_bytes=0)
    value = spike_loss(layer(torch.tensor(x)), loss, torch.tensor(labels))
    value.backward()
    res = batch_loss_grad("lif", net, [[[t] for t in row] for row in x], T_MAX, loss, labels=labels, params=PARAMS)
    assert value.item() == np.mean(res.loss)
    want = res.grad.weights.mean(axis=0)
    assert np.max(np.abs(layer.weight.grad.numpy() - want)) <= 1e-14 * np.max(np.abs(want))
    assert spike_loss(layer(torch.tensor(x)), Loss("first_spike_sum")).item() == np.mean(
        batch_loss_grad("lif", net, [[[t] for t in row] for row in x], T_MAX, Loss("first_spike_sum"),
                        params=PARAMS).loss)


def test_allow_cast_computes_in_float64_and_casts_back():
    t64 = torch.tensor([[0.4, 0.9], [1.3, 0.2]], dtype=torch.float64)
    t32 = t64.float().requires_grad_()
    value = ttfs_cross_entropy(t32, torch.tensor([1, 0]), allow_cast=True)
    value.backward()
    assert value.dtype == torch.float32 and t32.grad.dtype == torch.float32
    t = t64.double().requires_grad_()
    ttfs_cross_entropy(t, torch.tensor([1, 0])).backward()
    assert torch.equal(t32.grad, t.grad.float())


GOOD = torch.tensor([[0.4, 0.9], [1.3, 0.2]], dtype=torch.float64)
LAB = torch.tensor([1, 0])


@pytest.mark.parametrize("call, match", [
    (lambda: ttfs_cross_entropy(GOOD.float(), LAB), r"t_first has dtype torch.float32.*float64"),
    (lambda: ttfs_cross_entropy(GOOD.to("meta"), LAB), r"t_first is on device meta.*CPU only"),
    (lambda: ttfs_cross_entropy(GOOD[0], LAB), r"t_first has shape \(2,\); expected \(\*, \*\)"),
    (lambda: ttfs_cross_entropy(GOOD.numpy(), LAB), r"t_first must be a torch.Tensor, got ndarray"),
    (lambda: ttfs_cross_entropy(GOOD[:0], LAB[:0]), r"t_first has shape \(0, 2\)"),
    (lambda: ttfs_cross_entropy(torch.tensor([[0.4, float("nan")]], dtype=torch.float64), LAB[:1]),
     r"t_first\[0, 1\] = nan: first spike times must be finite"),
    (lambda: ttfs_cross_entropy(GOOD, torch.tensor([1.0, 0.0])), r"labels has dtype torch.float32.*integer"),
    (lambda: ttfs_cross_entropy(GOOD, [1, 0]), r"labels must be a torch.Tensor.*got list"),
    (lambda: ttfs_cross_entropy(GOOD, torch.tensor([1, 2])), r"labels\[1\] = 2: class indices must be in \[0, 2\)"),
    (lambda: ttfs_cross_entropy(GOOD, torch.tensor([-1, 0])), r"labels\[0\] = -1"),
    (lambda: ttfs_cross_entropy(GOOD, torch.tensor([1, 0, 1])), r"labels has shape \(3,\); expected \(2,\)"),
    (lambda: ttfs_cross_entropy(GOOD, None), r"labels is required"),
    (lambda: ttfs_cross_entropy(GOOD, LAB, torch.zeros(2, 2)), r"silent must be a torch.bool tensor.*float32"),
    (lambda: ttfs_cross_entropy(GOOD, LAB, torch.zeros(2, 3, dtype=torch.bool)), r"silent has shape \(2, 3\)"),
    (lambda: ttfs_cross_entropy(GOOD, LAB, reduction="avg"), r"reduction = 'avg' is unknown"),
    (lambda: ttfs_cross_entropy(GOOD, LAB, tau0=0.0), r"tau0 = 0.0 must be a finite number > 0"),
    (lambda: ttfs_cross_entropy(GOOD, LAB, gamma=float("inf")), r"gamma = inf must be a finite number"),
    (lambda: ttfs_cross_entropy(GOOD, LAB, tau1=1e-3), r"overflowed.*raise tau1"),
    (lambda: spike_loss(GOOD, "ttfs_cross_entropy"), r"loss must be an exactsnn.losses.Loss, got str"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises(InvalidInputError, match=match):
        call()


def test_any_integer_label_dtype_and_first_spike_sum_without_labels():
    t = GOOD.clone().requires_grad_()
    value = ttfs_cross_entropy(t, LAB.to(torch.int32), reduction="none")
    assert torch.equal(value, ttfs_cross_entropy(GOOD, LAB, reduction="none"))
    assert spike_loss(es.torch.SpikeOutput(GOOD, GOOD > 1.0, None), Loss("first_spike_sum"), LAB).item() == \
        first_spike_sum(GOOD).item() == pytest.approx(GOOD.sum().item() / 2, rel=1e-15)
