"""exactsnn.curvature: Lanczos with full reorthogonalisation against numpy.linalg.eigvalsh of an explicit
Hessian (a random symmetric matrix, and a spiking network's Hessian built column by column from batch_hvp),
and conjugate gradients against numpy.linalg.solve."""

import numpy as np
import pytest

from exactsnn import InvalidInputError, Loss, Network
from exactsnn.curvature import cg, lanczos, loss_hessian_operator

LIF = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}


def _sym(n, seed):
    a = np.random.default_rng(seed).normal(size=(n, n))
    return a + a.T


def test_lanczos_full_and_partial_spectrum_of_a_symmetric_matrix():
    """k = n: every eigenvalue (eigvalsh) to 1e-10 relative; k < n: the Ritz values interlace (inside
    [lambda_min, lambda_max]), the extreme ones approach the extreme eigenvalues, and the residual bounds
    hold (|H y - theta y| equals the reported residual to 1e-8)."""
    h = _sym(30, 0)
    eig = np.linalg.eigvalsh(h)
    full = lanczos(lambda x: h @ x, 30, 30)
    assert full.steps == 30
    assert np.max(np.abs(full.values - eig)) < 1e-10 * np.max(np.abs(eig))
    part = lanczos(lambda x: h @ x, 30, 12, seed=3)
    assert part.values.min() >= eig[0] - 1e-12 and part.values.max() <= eig[-1] + 1e-12
    assert abs(part.values[-1] - eig[-1]) < 0.05 * abs(eig[-1])
    res = np.linalg.norm(h @ part.vectors - part.vectors * part.values, axis=0)
    assert np.allclose(res, part.residuals, rtol=1e-6, atol=1e-8 * np.abs(eig).max())


def test_lanczos_stops_on_an_invariant_subspace():
    """A matrix with 3 distinct eigenvalues: Lanczos stops after 3 steps with those values exactly."""
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(20, 20)))
    h = q @ np.diag(np.repeat([-2.0, 1.0, 5.0], [5, 7, 8])) @ q.T
    res = lanczos(lambda x: h @ x, 20, 15)
    assert res.steps == 3
    assert np.allclose(res.values, [-2.0, 1.0, 5.0], rtol=0, atol=1e-10)


def test_lanczos_on_spiking_network_hessian_from_hvps():
    """A 2-2-2 LIF net, mean TTFS loss over 3 patterns, weights and delays (16 parameters): the Hessian built
    from 16 batch_hvp columns is symmetric to 1e-12, and Lanczos on the same HVPs (k = 16) reproduces its
    eigvalsh to 1e-9 (each distinct eigenvalue once); with k = 6 the extreme Ritz values lie inside the spectrum."""
    net = Network.feedforward([np.array([[4.5, 3.8], [3.2, 4.2]]), np.array([[0.9, 1.2], [0.7, 0.8]])],
                              [np.array([[0.02, 0.1], [0.2, 0.05]]), np.array([[0.1, 0.2], [0.3, 0.04]])])
    pats = [[[0.1, 0.6, 1.4], [0.3, 1.1]], [[0.2, 0.9], [0.15]], [[0.05], [0.4, 1.2]]]
    op = loss_hessian_operator("lif", net, pats, 4.0, Loss("ttfs_cross_entropy"), labels=[0, 1, 1], params=LIF,
                               delays=True)
    n = 2 * net.n_synapses
    h = np.column_stack([op(e) for e in np.eye(n)])
    assert np.max(np.abs(h - h.T)) < 1e-12 * np.max(np.abs(h))
    eig = np.linalg.eigvalsh(0.5 * (h + h.T))
    res = lanczos(op, n, n)
    gap = np.abs(res.values[:, None] - eig[None, :])  # a repeated eigenvalue (0: unused parameters) is found once
    assert gap.min(axis=0).max() < 1e-9 * np.max(np.abs(eig)) and gap.min(axis=1).max() < 1e-9 * np.max(np.abs(eig))
    part = lanczos(op, n, 6)
    assert eig[0] - 1e-9 <= part.values.min() and part.values.max() <= eig[-1] + 1e-9
    assert eig[0] < 0 < eig[-1]  # indefinite: the test net has saddle directions


def test_cg_solves_damped_systems_and_stops_at_negative_curvature():
    """SPD: cg equals numpy.linalg.solve to 1e-8; damping solves (H + d I) x = b; an indefinite H stops at
    the first direction of non-positive curvature with a descent direction (b.x > 0)."""
    a = np.random.default_rng(2).normal(size=(12, 12))
    spd = a @ a.T + 0.5 * np.eye(12)
    b = np.random.default_rng(3).normal(size=12)
    out = cg(lambda x: spd @ x, b, max_iter=100, tol=1e-12)
    assert not out.negative_curvature
    assert np.allclose(out.x, np.linalg.solve(spd, b), rtol=1e-8, atol=1e-10)
    damped = cg(lambda x: spd @ x, b, damping=2.0, max_iter=100, tol=1e-12)
    assert np.allclose(damped.x, np.linalg.solve(spd + 2.0 * np.eye(12), b), rtol=1e-8, atol=1e-10)
    ind = cg(lambda x: _sym(12, 4) @ x, b, max_iter=100)
    assert ind.negative_curvature and b @ ind.x > 0


@pytest.mark.parametrize("call", [lambda: lanczos(lambda x: x, 0, 1), lambda: lanczos(lambda x: x, 3, 4),
                                  lambda: lanczos(lambda x: x, 3, 2, v0=np.zeros(3)),
                                  lambda: lanczos(lambda x: x[:2], 3, 2), lambda: cg(lambda x: x, [np.nan]),
                                  lambda: cg(lambda x: x, [1.0], damping=-1.0),
                                  lambda: cg(lambda x: x * np.inf, [1.0])])
def test_curvature_bad_input(call):
    with pytest.raises(InvalidInputError):
        call()


def test_newton_cg_minimises_rosenbrock_and_solves_a_quadratic_in_one_step():
    """Rosenbrock (exact gradient and Hessian, minimum at (1, 1)) from (-1.2, 1): within 1e-6 in at most 60
    steps, the objective never increases; a convex quadratic with damping 0: the first step lands on
    A^-1 b (numpy.linalg.solve) to 1e-8."""
    from exactsnn.curvature import newton_cg

    def vg(x):
        a, b = x
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2, np.array([-2 * (1 - a) - 400 * a * (b - a * a),
                                                                200 * (b - a * a)])

    def hv(x, v):
        a, b = x
        return np.array([[2 - 400 * (b - 3 * a * a), -400 * a], [-400 * a, 200.0]]) @ v

    out = newton_cg(vg, hv, [-1.2, 1.0], max_steps=60, damping=1e-3, cg_iter=5)
    assert np.max(np.abs(out.x - 1.0)) < 1e-6
    fs = [h["f"] for h in out.history]
    assert all(b <= a for a, b in zip(fs, fs[1:]))
    a = np.random.default_rng(5).normal(size=(6, 6))
    spd, rhs = a @ a.T + np.eye(6), np.arange(6.0)
    quad = newton_cg(lambda x: (0.5 * x @ spd @ x - rhs @ x, spd @ x - rhs), lambda x, v: spd @ v, np.zeros(6),
                     max_steps=1, damping=0.0, cg_iter=6, cg_tol=1e-13)
    assert np.allclose(quad.x, np.linalg.solve(spd, rhs), rtol=1e-8, atol=1e-10)
