"""The model-parameter block of spike_hessian and spike_curvature (thresholds, time constants of two
populations): against Richardson differences of the exact first derivative (forward propagation over every
block), against hvp (forward over adjoint), and against the 50-digit reference (slow)."""

import numpy as np
import pytest

from exactsnn import InvalidInputError, forward_propagation, hvp, simulate, spike_curvature, spike_hessian
from exactsnn.hessian import n_model, n_params
from exactsnn.models import get as get_model
from exactsnn.reference.second_order import reference_hessian
from test_hessian import LIF, T_MAX, _counts, _feedforward, _rel, _richardson_gradient_difference, two_population_run


def test_spike_hessian_model_block_matches_richardson_differences_of_the_exact_jacobian():
    """spike_hessian(model=True) contracted with a random direction over every block == Richardson differences
    of forward_propagation's exact Jacobian (every block, model columns included) along it, to 1e-8 (measured
    1.9e-10; the model rows on their own scale too); H symmetric;
    spike_curvature(model=True) == (J v, v^T H_k v) and model=False
    == the first n_q columns; hvp with (lam, 0) == lam . H v (forward over adjoint against forward over forward)."""
    run, q = two_population_run()
    base = run(q)
    counts = _counts(base)
    assert max(counts) > 1
    rng = np.random.default_rng(5)
    v = rng.normal(size=q.size)
    v /= np.linalg.norm(v)

    def jac_at(qq):
        r = run(qq)
        assert _counts(r) == counts
        return forward_propagation(r, policy="flag").dts_dq.flat()

    h = spike_hessian(base, policy="flag", model=True)
    nq = n_params(base)
    assert h.shape == (base.n_spikes, nq + 6, nq + 6) and n_model(base) == 6
    assert np.max(np.abs(h - h.transpose(0, 2, 1))) <= 1e-13 * np.max(np.abs(h))
    fd = _richardson_gradient_difference(jac_at, q, v, 1e-4)  # O(h^4): 7e-9 at 2.5e-4
    hv = h @ v
    assert _rel(hv, fd) < 1e-8
    assert _rel(hv[:, nq:], fd[:, nq:]) < 1e-8
    assert _rel(spike_hessian(base, policy="flag"), h[:, :nq, :nq]) < 1e-15
    tdot, tdd = spike_curvature(base, v, policy="flag", model=True)
    assert _rel(tdot, jac_at(q) @ v) < 1e-13
    assert _rel(tdd, np.einsum("kab,a,b->k", h, v, v)) < 1e-12
    lam = rng.normal(size=base.n_spikes)
    got = hvp(base, (lam, np.zeros((base.n_spikes, base.n_spikes))), v, policy="flag")
    assert _rel(np.concatenate([got.weights, got.delays, got.inputs, got.model]), lam @ hv) < 1e-12


def test_spike_curvature_model_block_matches_second_differences_of_spike_times():
    """v^T H_k v from spike_curvature(model=True) == Richardson second differences of the spike times along v
    (an independent route: simulations only) to 1e-6 (measured 3.5e-8); bad ``model`` flags are refused."""
    run, q = two_population_run()
    base = run(q)
    v = np.random.default_rng(6).normal(size=q.size)
    v /= np.linalg.norm(v)
    tdd = spike_curvature(base, v, policy="flag", model=True)[1]

    def second(s):
        return (run(q + s * v).spike_time - 2 * base.spike_time + run(q - s * v).spike_time) / s ** 2

    assert _rel((4 * second(2.5e-4) - second(5e-4)) / 3, tdd) < 1e-6  # measured 3.5e-8
    for fn, args in ((spike_hessian, ()), (spike_curvature, (v,))):
        with pytest.raises(InvalidInputError):
            fn(base, *args, model="yes")


@pytest.mark.slow
def test_spike_hessian_model_block_matches_the_50_digit_reference():
    """d2 t_k / dq dp for every spike, every q and the three model parameters (tau_syn, tau_mem, threshold) ==
    the reference's differences of its own 50-digit IFT Jacobian, to 1e-8 per column (measured 2.1e-14); the
    multi-spike feed-forward net (hidden neurons fire 8 times: own-reset and parent-of-parent terms)."""
    net, inputs = _feedforward()
    r = simulate("lif", net, inputs, T_MAX, params=LIF)
    cols = [("model", 0), ("model", 1), ("model", 2)]
    _, hess_ref = reference_hessian(get_model("lif"), LIF, net, inputs, T_MAX, columns=cols).as_float()
    h = spike_hessian(r, policy="flag", model=True)
    nq = n_params(r)
    for c in range(3):
        assert _rel(h[:, :, nq + c], hess_ref[:, :, c]) < 1e-8, c
