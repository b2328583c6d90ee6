"""Heterogeneous parameters: per-population thresholds and time constants, and their gradients."""

import numpy as np
import pytest

from exactsnn import Network, adjoint, forward_propagation, simulate

NET = Network.feedforward([np.array([[3.0, 2.6, 1.9], [1.2, 2.4, 3.1]]), np.array([[1.4], [1.1], [0.9]])],
                          [np.full((2, 3), 0.05), np.full((3, 1), 0.1)])
INPUTS = [[0.1, 0.6], [0.3]]
LAYERS = [0, 0, 0, 1]  # population = layer


def test_equal_population_values_reproduce_shared_parameters():
    shared = simulate("lif", NET, INPUTS, 5.0, params={"threshold": 1.0})
    split = simulate("lif", NET, INPUTS, 5.0, params={"threshold": [1.0, 1.0]}, populations=LAYERS)
    np.testing.assert_array_equal(shared.spike_time, split.spike_time)
    j1 = forward_propagation(shared, policy="flag")
    j2 = forward_propagation(split, policy="flag")
    # chain rule: d/d(shared p) = sum over populations of d/d(p of that population)
    np.testing.assert_allclose(j2.dts_dq.model.reshape(-1, 2, 3).sum(axis=1), j1.dts_dq.model, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(j1.dts_dq.weights, j2.dts_dq.weights)


@pytest.mark.parametrize("column", range(6))
def test_per_population_parameter_gradients_match_finite_differences(column):
    params = {"tau_syn": [0.5, 0.7], "tau_mem": [1.0, 1.3], "threshold": [1.0, 0.8]}
    r = simulate("lif", NET, INPUTS, 5.0, params=params, populations=LAYERS)
    assert r.n_spikes >= 4 and r.n_populations == 2
    jac = forward_propagation(r, policy="flag")
    pop, i = divmod(column, 3)
    name = ("tau_syn", "tau_mem", "threshold")[i]
    h = 1e-6
    shifted = []
    for sign in (1, -1):
        values = {k: list(v) for k, v in params.items()}
        values[name][pop] += sign * h
        shifted.append(simulate("lif", NET, INPUTS, 5.0, params=values, populations=LAYERS))
    assert all(s.n_spikes == r.n_spikes for s in shifted)
    fd = (shifted[0].spike_time - shifted[1].spike_time) / (2 * h)
    np.testing.assert_allclose(jac.dts_dq.model[:, column], fd, atol=1e-7 * max(1.0, np.abs(fd).max()))


def test_populations_fp_equals_adjoint(rng):
    r = simulate("lif", NET, INPUTS, 5.0, params={"threshold": [1.0, 0.8], "tau_mem": [1.0, 1.0]},
                 populations=LAYERS)
    g = rng.normal(size=r.n_spikes)
    np.testing.assert_allclose(adjoint(r, g, policy="flag").flat(), forward_propagation(r, policy="flag").contract(g).flat(),
                               rtol=0, atol=1e-12 * np.abs(adjoint(r, g, policy="flag").flat()).max())


@pytest.mark.parametrize("pops,match", [([0, 0, 1], "populations must be 4"), ([0, 2, 2, 2], "missing \\[1\\]"),
                                        ([0, 0, 0, -1], "non-negative")])
def test_bad_populations(pops, match):
    with pytest.raises(ValueError, match=match):
        simulate("lif", NET, INPUTS, 5.0, populations=pops)


def test_wrong_number_of_population_values():
    with pytest.raises(ValueError, match="has 3 values; give one number or one per population \\(2\\)"):
        simulate("lif", NET, INPUTS, 5.0, params={"threshold": [1.0, 1.1, 1.2]}, populations=LAYERS)
