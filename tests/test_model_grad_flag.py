"""``batch_loss_grad(..., model_grad=False)``: no model-parameter gradients, every other result unchanged.

Oracle: the same call with ``model_grad=True`` (the default). The flag only skips the kernels' parameter
derivatives in the adjoint, so losses, first spikes, counts and the weight, delay and input-time gradients
must be the same bits, on feed-forward and recurrent networks, one and two populations, full runs and the
first-spike exit; the model block must be absent (shape (B, 0)), not zeros that could be read as a gradient.
"""

import numpy as np
import pytest

from exactsnn import Loss, Network, batch_loss_grad


def _nets(rng):
    ff = Network.feedforward([rng.normal(1.2, 0.8, (3, 10)), rng.normal(1.0, 0.6, (10, 2))])
    w = rng.normal(0.0, 0.5, (8, 8)) * (rng.random((8, 8)) < 0.4)
    np.fill_diagonal(w, 0.0)
    rec = Network.recurrent(rng.normal(1.2, 0.8, (3, 8)), w, outputs=[6, 7], delays=rng.uniform(0.01, 0.2, (8, 8)))
    return ff, rec


CASES = [
    ("lif", {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0}, False),
    ("lif", {"tau_syn": [0.5, 0.4], "tau_mem": [1.0, 1.3], "threshold": [1.0, 0.9]}, True),
    ("srm_alpha", {"tau": 1.0, "threshold": 1.0}, False),
]


@pytest.mark.parametrize("model,params,two_pops", CASES)
@pytest.mark.parametrize("exit_early", [False, True])
def test_model_grad_off_changes_nothing_else(model, params, two_pops, exit_early):
    rng = np.random.default_rng(3)
    for net in _nets(rng):
        pats = [[sorted(rng.uniform(0.0, 1.5, rng.integers(1, 3)).tolist()) for _ in range(3)] for _ in range(10)]
        labels = rng.integers(0, 2, len(pats))
        pops = (np.arange(net.n_neurons) % 2) if two_pops else None
        kw = dict(labels=labels, params=params, populations=pops, first_spike_exit=exit_early)
        full = batch_loss_grad(model, net, pats, 3.0, Loss("ttfs_cross_entropy"), **kw)
        lean = batch_loss_grad(model, net, pats, 3.0, Loss("ttfs_cross_entropy"), model_grad=False, **kw)
        for field in ("loss", "t_first", "counts"):
            np.testing.assert_array_equal(getattr(lean, field), getattr(full, field))
        for block in ("weights", "delays", "inputs"):
            np.testing.assert_array_equal(getattr(lean.grad, block), getattr(full.grad, block))
        assert lean.grad.model.shape == (len(pats), 0)
        assert np.abs(full.grad.model).max() > 0.0  # the skipped block is real work


def test_model_grad_must_be_a_bool():
    net = Network.feedforward([np.ones((1, 1))])
    with pytest.raises(ValueError, match="model_grad"):
        batch_loss_grad("lif", net, [[[0.1]]], 2.0, Loss("first_spike_sum"), model_grad="no")
