"""benchmarks/surrogate_vs_exact_torch.py: its snnTorch twin is the same network as the exact layer.

Oracle: exactsnn's exact spike times. The twin is an Euler discretisation on a grid of step dt, so its
first output spike times must approach the exact ones as dt shrinks (first order, a few steps), and the
two gradients it is compared with must be gradients with respect to one shared weight tensor.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("snntorch")

import exactsnn as es  # noqa: E402

PARAMS = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}
T_MAX = 4.0


def _script():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "surrogate_vs_exact_torch.py"
    spec = importlib.util.spec_from_file_location("surrogate_vs_exact_torch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _setup():
    rng = np.random.default_rng(5)
    net = es.Network.feedforward([rng.normal(2.5, 0.8, (3, 6)), rng.normal(1.5, 0.5, (6, 2))])
    return net, rng.uniform(0, 1, (8, 3))


def test_grid_first_spikes_converge_to_the_exact_ones():
    m = _script()
    net, x = _setup()
    exact = es.torch.ExactSNN(net, "lif", T_MAX, PARAMS)
    with torch.no_grad():
        t_exact = exact(torch.tensor(x)).t_first.numpy()
    assert (t_exact < T_MAX).mean() > 0.8, "most outputs must fire for the comparison to mean something"
    errors = []
    for dt in (0.02, 0.005):
        twin = m.SnnTorchTwin(net, torch.nn.Parameter(torch.tensor(net.weight)), PARAMS, T_MAX, dt)
        with torch.no_grad():
            t_grid = twin(x)[0].numpy()
        errors.append(np.mean(np.abs(t_grid - t_exact)))
    # first order: a 4x finer grid cuts the mean error at least in half, and it ends within a few steps
    assert errors[1] < 0.5 * errors[0] and errors[1] < 4 * 0.005, errors


def test_both_gradients_reach_the_one_shared_weight_tensor():
    m = _script()
    net, x = _setup()
    weight = torch.nn.Parameter(torch.tensor(net.weight))
    twin = m.SnnTorchTwin(net, weight, PARAMS, T_MAX, 0.01)
    c = es.training.config_for("xor")
    labels = np.arange(len(x)) % 2
    g = m.gradient(twin, weight, x, labels, c)
    assert g.shape == (net.n_synapses,) and np.isfinite(g).all() and np.count_nonzero(g) > 0
