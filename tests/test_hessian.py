"""Second derivatives (exactsnn.hessian): against the 50-digit reference (differences of its own IFT
Jacobian), against float64 differences of the exact adjoint gradient (Richardson), across methods
(forward over forward vs forward over adjoint), symmetry, and bad input."""

import numpy as np
import pytest

from exactsnn import (InvalidInputError, Loss, Network, adjoint, forward_propagation, hvp, loss_grad, simulate,
                      spike_curvature, spike_hessian)
from exactsnn.hessian import loss_derivatives, n_params
from exactsnn.models import get as get_model
from exactsnn.reference.second_order import reference_hessian

LIF = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}
T_MAX = 4.0


def _feedforward():
    """2 inputs -> 2 hidden -> 1 output; the hidden neurons fire 8 times each, the output 4 times."""
    net = Network.feedforward([np.array([[4.5, 3.8], [3.2, 4.2]]), np.array([[0.9], [0.7]])],
                              [np.array([[0.0, 0.1], [0.2, 0.05]]), np.array([[0.1], [0.3]])])
    return net, [[0.1, 0.6, 1.4], [0.3, 1.1]]


def _recurrent():
    """2 inputs -> 3 recurrent neurons with delays; several neurons fire more than once."""
    rng = np.random.default_rng(3)
    w = rng.uniform(-0.3, 1.5, (3, 3))
    np.fill_diagonal(w, 0.0)
    net = Network.recurrent(rng.uniform(1.5, 4.0, (2, 3)), w, outputs=[1, 2],
                            input_delays=rng.uniform(0, 0.3, (2, 3)), delays=rng.uniform(0.05, 0.4, (3, 3)))
    return net, [[0.1, 0.9], [0.3, 1.5]]


def _two_outputs():
    """As ``_feedforward`` with two output neurons (every delay > 0, so differences stay admissible)."""
    net = Network.feedforward([np.array([[4.5, 3.8], [3.2, 4.2]]), np.array([[0.9, 1.2], [0.7, 0.8]])],
                              [np.array([[0.02, 0.1], [0.2, 0.05]]), np.array([[0.1, 0.2], [0.3, 0.04]])])
    return net, [[0.1, 0.6, 1.4], [0.3, 1.1]]


def _q(net, inputs):
    return np.concatenate([net.weight, net.delay, np.concatenate([np.asarray(c, float) for c in inputs])])


def _run(net, inputs, q, model="lif", params=LIF, t_max=T_MAX):
    ns = net.n_synapses
    flat, out, at = q[2 * ns:], [], 0
    for c in inputs:
        out.append(flat[at:at + len(c)].tolist())
        at += len(c)
    return simulate(model, net.with_weights(q[:ns], q[ns:2 * ns]), out, t_max, params=params)


def _counts(r):
    return np.bincount(r.spike_neuron, minlength=r.network.n_neurons).tolist()


def _rel(got, want):
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def test_spike_hessian_matches_50_digit_reference():
    """d2 t_k / dq dq_b for every spike k (20 spikes, own resets), every q and three columns b (a weight,
    a delay, an input time) against the reference at 50 digits: relative error <= 1e-10 per column
    (measured 3.4e-14 at most)."""
    net, inputs = _feedforward()
    r = simulate("lif", net, inputs, T_MAX, params=LIF)
    assert _counts(r) == [8, 8, 4]
    h = spike_hessian(r, policy="flag")
    cols = [("weight", 0), ("delay", 1), ("input", 2)]
    ref = reference_hessian(get_model("lif"), LIF, net, inputs, T_MAX, columns=cols)
    jac_ref, hess_ref = ref.as_float()
    nq = n_params(r)
    assert np.max(np.abs(np.array([float(t) for t in ref.times]) - r.spike_time)) < 1e-13
    for c, (kind, i) in enumerate(cols):
        assert _rel(h[:, :, ref.flat_index(kind, i)], hess_ref[:, :nq, c]) < 1e-10, (kind, i)


def test_hvp_equals_full_hessian_contraction_and_is_symmetric():
    """Forward over adjoint (hvp) == J^T D J v + sum_k lam_k H_k v from forward over forward
    (spike_hessian) to 1e-12; u . Hv == v . Hu to 1e-12; spike_curvature == v^T H_k v; the edge
    Jacobian of the tangent sweep == the engine's forward propagation."""
    rng = np.random.default_rng(7)
    for net, inputs in (_feedforward(), _recurrent()):
        r = simulate("lif", net, inputs, 6.0, params=LIF)
        assert max(_counts(r)) >= 3
        nq = n_params(r)
        h = spike_hessian(r, policy="flag")
        assert np.max(np.abs(h - h.transpose(0, 2, 1))) <= 1e-13 * np.max(np.abs(h))
        jac = forward_propagation(r, policy="flag").dts_dq.flat()[:, :nq]
        lam, d = rng.normal(size=r.n_spikes), rng.normal(size=(r.n_spikes, r.n_spikes))
        d = d + d.T
        u, v = rng.normal(size=nq), rng.normal(size=nq)
        hv = hvp(r, (lam, d), v, policy="flag")
        hv = np.concatenate([hv.weights, hv.delays, hv.inputs])
        want = jac.T @ d @ jac @ v + np.einsum("k,kab,b->a", lam, h, v)
        assert _rel(hv, want) < 1e-12
        hu = hvp(r, (lam, d), u, policy="flag")
        hu = np.concatenate([hu.weights, hu.delays, hu.inputs])
        assert abs(u @ hv - v @ hu) <= 1e-12 * np.abs(u) @ np.abs(hv)
        tdot, tdd = spike_curvature(r, v, policy="flag")
        assert _rel(tdot, jac @ v) < 1e-13
        assert _rel(tdd, np.einsum("kab,a,b->k", h, v, v)) < 1e-12


def _richardson_gradient_difference(grad_at, q, v, h):
    """((4 D(h/2) - D(h)) / 3) with D(h) = (g(q + h v) - g(q - h v)) / 2h: error O(h^4)."""
    d = lambda s: (grad_at(q + s * v) - grad_at(q - s * v)) / (2 * s)  # noqa: E731
    return (4 * d(h / 2) - d(h)) / 3


@pytest.mark.parametrize("kind", ["first_spike_sum", "ttfs_cross_entropy"])
def test_hvp_of_loss_matches_richardson_differences_of_exact_gradient(kind):
    """hvp(result, Loss, v) == Richardson-extrapolated central differences of the exact adjoint
    gradient (float64, h = 2e-3, spike pattern checked unchanged) to 1e-9 relative (measured 6e-13, 8e-13)."""
    net, inputs = _two_outputs()
    loss = Loss(kind, label=1)
    q = _q(net, inputs)
    base = _run(net, inputs, q)
    nq = n_params(base)
    v = np.random.default_rng(11).normal(size=nq)
    v /= np.linalg.norm(v)

    def grad_at(qq):
        r = _run(net, inputs, qq)
        assert _counts(r) == _counts(base)
        g = loss_grad(r, loss, policy="flag")[1]
        return np.concatenate([g.weights, g.delays, g.inputs])

    fd = _richardson_gradient_difference(grad_at, q, v, 2e-3)
    hv = hvp(base, loss, v, policy="flag")
    assert _rel(np.concatenate([hv.weights, hv.delays, hv.inputs]), fd) < 1e-9


def test_loss_second_derivative_in_spike_times():
    """loss_derivatives: d2L/dt2 of ttfs_cross_entropy == central differences of its dL/dt in the
    output spike times (shifting a spike time in a copy of the result) to 1e-7."""
    net, inputs = _two_outputs()
    r = simulate("lif", net, inputs, T_MAX, params=LIF)
    loss = Loss("ttfs_cross_entropy", label=0, gamma=0.3)
    _, d2 = loss_derivatives(r, loss)
    _, ids = r.first_spikes()
    assert (ids >= 0).all()
    h = 1e-6
    for k in ids:
        moved = []
        for s in (h, -h):
            t = r.spike_time.copy()
            t[k] += s
            rr = simulate("lif", net, inputs, T_MAX, params=LIF)
            object.__setattr__(rr, "spike_time", t)
            moved.append(loss_derivatives(rr, loss)[0])
        col = (moved[0] - moved[1]) / (2 * h)
        assert np.max(np.abs(col - d2[:, k])) < 1e-7 * max(1.0, np.max(np.abs(d2)))
    assert np.max(np.abs(d2)) > 1.0


def test_bad_input_is_refused():
    """Wrong shapes, non-finite values, a model-parameter direction for spike_curvature (hvp accepts one), a
    non-result: InvalidInputError."""
    net, inputs = _feedforward()
    r = simulate("lif", net, inputs, T_MAX, params=LIF)
    nq = n_params(r)
    lam, d = np.zeros(r.n_spikes), np.zeros((r.n_spikes, r.n_spikes))
    with pytest.raises(InvalidInputError, match="shape"):
        hvp(r, (lam, d), np.ones(nq + 1))
    with pytest.raises(InvalidInputError, match="non-finite"):
        hvp(r, (lam, d), np.full(nq, np.nan))
    with pytest.raises(InvalidInputError, match="shapes"):
        hvp(r, (lam[:-1], d), np.ones(nq))
    with pytest.raises(InvalidInputError, match="Loss or a pair"):
        hvp(r, "loss", np.ones(nq))
    g = adjoint(r, np.ones(r.n_spikes))
    with pytest.raises(InvalidInputError, match="model block"):
        spike_curvature(r, g)
    assert hvp(r, (lam, d), g).model.shape == (3,)
    with pytest.raises(InvalidInputError, match="SimulationResult"):
        spike_hessian("not a result")
    with pytest.raises(InvalidInputError, match="spike ids"):
        spike_hessian(r, spikes=[r.n_spikes])


@pytest.mark.slow
def test_hvp_matches_50_digit_reference_recurrent_with_delays():
    """hvp on a recurrent network with delays (multi-spike) == J^T D J v + sum_k lam_k H_k v built from
    the reference's 50-digit Jacobian and second differences (all columns): 1e-9 relative (measured 4.2e-16 for
    the HVP, 1.6e-15 for spike_hessian; 15 spikes, 34 parameters)."""
    net, inputs = _recurrent()
    r = simulate("lif", net, inputs, 6.0, params=LIF)
    ref = reference_hessian(get_model("lif"), LIF, net, inputs, 6.0)
    jac, hess = ref.as_float()
    nq = n_params(r)
    jac, hess = jac[:, :nq], hess[:, :nq, :nq]
    rng = np.random.default_rng(5)
    lam, d = rng.normal(size=r.n_spikes), rng.normal(size=(r.n_spikes, r.n_spikes))
    d = d + d.T
    v = rng.normal(size=nq)
    hv = hvp(r, (lam, d), v, policy="flag")
    want = jac.T @ d @ jac @ v + np.einsum("k,kab,b->a", lam, hess, v)
    assert _rel(np.concatenate([hv.weights, hv.delays, hv.inputs]), want) < 1e-9
    assert _rel(spike_hessian(r, policy="flag"), hess) < 1e-9


@pytest.mark.slow
def test_spike_hessian_of_user_kernel_model_matches_reference():
    """A user ``kernel`` model (alpha psp, exponential reset), compiled from strings: spike_hessian against the
    50-digit reference in every column, 1e-9 relative (measured 2.0e-15; interval strategy, 199 spikes);
    hvp against the contraction of the reference Hessian."""
    from exactsnn import compile_model, kernel_model

    model = kernel_model("s/tau*exp(1 - s/tau)", "theta*exp(-s/tau_r)", "theta",
                         {"tau": 0.7, "tau_r": 0.4, "theta": 1.0}, name="alpha_user")
    net = Network.feedforward([np.array([[2.5, 1.6], [1.2, 2.4]]), np.array([[0.9], [0.8]])],
                              [np.array([[0.02, 0.1], [0.2, 0.05]]), np.array([[0.1], [0.3]])])
    inputs = [[0.1, 0.6], [0.3]]
    r = simulate(compile_model(model), net, inputs, T_MAX)
    assert max(_counts(r)) >= 2
    ref = reference_hessian(model, None, net, inputs, T_MAX)
    jac, hess = ref.as_float()
    nq = n_params(r)
    jac, hess = jac[:, :nq], hess[:, :nq, :nq]
    assert _rel(spike_hessian(r, policy="flag"), hess) < 1e-9
    rng = np.random.default_rng(2)
    lam, v = rng.normal(size=r.n_spikes), rng.normal(size=nq)
    hv = hvp(r, (lam, np.zeros((r.n_spikes, r.n_spikes))), v, policy="flag")
    assert _rel(np.concatenate([hv.weights, hv.delays, hv.inputs]), np.einsum("k,kab,b->a", lam, hess, v)) < 1e-9


def test_batch_hvp_matches_richardson_differences_of_batch_gradient():
    """batch_hvp (mean over 4 patterns, per-pattern labels) == Richardson differences of the mean gradient
    from the engine's batch_loss_grad (a separate code path) along v in weights and delays, to 1e-8."""
    from exactsnn import batch_hvp, batch_loss_grad

    net, _ = _two_outputs()
    rng = np.random.default_rng(4)
    pats = [[sorted(rng.uniform(0.05, 1.5, 2).tolist()), sorted(rng.uniform(0.05, 1.5, 2).tolist())] for _ in range(4)]
    labels = [0, 1, 1, 0]
    loss = Loss("ttfs_cross_entropy")
    ns = net.n_synapses
    v = rng.normal(size=2 * ns)
    v /= np.linalg.norm(v)
    q = np.concatenate([net.weight, net.delay])

    def grad_at(qq):
        b = batch_loss_grad("lif", net.with_weights(qq[:ns], qq[ns:]), pats, T_MAX, loss, labels=labels, params=LIF)
        return np.concatenate([b.grad.weights.mean(axis=0), b.grad.delays.mean(axis=0)])

    fd = _richardson_gradient_difference(grad_at, q, v, 2e-3)
    losses, h = batch_hvp("lif", net, pats, T_MAX, loss, v, labels=labels, params=LIF, policy="flag")
    assert losses.shape == (4,)
    assert _rel(np.concatenate([h.weights, h.delays]), fd) < 1e-8


def _grazing(delta):
    """One LIF neuron (psp = e^-s - e^-2s, max 1/4), one input at 0 with weight 4 (1 + delta): a spike whose
    slope vanishes like sqrt(delta) as delta -> 0. Closed form: t = -log x, x = (1 + sqrt(1 - 4/w)) / 2."""
    w = 4.0 * (1.0 + delta)
    net = Network.feedforward([np.array([[w]])])
    return simulate("lif", net, [[0.0]], 3.0, params=LIF), w


def test_second_derivative_blows_up_like_inverse_vdot_cubed_and_is_flagged():
    """Near a tangential crossing (second_order.md, 'Blow-up'): d2t/dw2 equals the closed form's second
    derivative (mpmath, 40 digits) to 1e-6 and t'' Vdot^3 tends to a constant (the ratio at delta = 1e-6 and
    1e-8 is 1 within 1e-2), while t'' itself grows 1000-fold; at delta = 1e-13 (Vdot < 1e-6) the policy
    'raise' refuses the spike."""
    import mpmath

    from exactsnn import DegenerateSpikeError

    products, curv = [], []
    for delta in (1e-6, 1e-8):
        r, w = _grazing(delta)
        assert r.n_spikes == 1
        h = spike_hessian(r, policy="flag")[0, 0, 0]
        with mpmath.workdps(40):
            exact = mpmath.diff(lambda x: -mpmath.log((1 + mpmath.sqrt(1 - 4 / x)) / 2), mpmath.mpf(w), 2)
        assert abs(h - float(exact)) < 1e-6 * abs(float(exact))
        products.append(h * r.spike_vdot[0] ** 3)
        curv.append(h)
    assert abs(products[1] / products[0] - 1) < 1e-2
    assert abs(curv[1] / curv[0]) > 500
    r, _ = _grazing(1e-13)
    assert r.n_spikes == 1 and r.spike_vdot[0] < 1e-6
    with pytest.raises(DegenerateSpikeError):
        spike_hessian(r, policy="raise")


def test_hvp_with_two_populations_and_a_silent_network():
    """Heterogeneous parameters (two populations) == Richardson differences of the exact gradient, 1e-9
    (measured 3.3e-13); a network without spikes has a zero HVP and an empty spike Hessian."""
    net, inputs = _two_outputs()
    params = {"tau_syn": [0.5, 0.4], "tau_mem": [1.0, 1.3], "threshold": [1.0, 0.9]}
    pops = [0, 0, 1, 1]
    ns = net.n_synapses
    loss = Loss("ttfs_cross_entropy", label=0)

    def run(q):
        flat = q[2 * ns:]
        return simulate("lif", net.with_weights(q[:ns], q[ns:2 * ns]), [flat[:3].tolist(), flat[3:].tolist()], T_MAX,
                        params=params, populations=pops)

    q = _q(net, inputs)
    base = run(q)
    v = np.random.default_rng(1).normal(size=n_params(base))
    v /= np.linalg.norm(v)

    def grad_at(qq):
        r = run(qq)
        assert _counts(r) == _counts(base)
        g = loss_grad(r, loss, policy="flag")[1]
        return np.concatenate([g.weights, g.delays, g.inputs])

    h = hvp(base, loss, v, policy="flag")
    fd = _richardson_gradient_difference(grad_at, q, v, 2e-3)
    assert _rel(np.concatenate([h.weights, h.delays, h.inputs]), fd) < 1e-9
    silent = simulate("lif", net, [[], []], T_MAX, params=LIF)
    assert silent.n_spikes == 0 and spike_hessian(silent).shape == (0, 2 * ns, 2 * ns)
    h0 = hvp(silent, loss, np.ones(2 * ns))
    assert not np.any(h0.weights) and not np.any(h0.delays)


def _every_block(g):
    return np.concatenate([g.weights, g.delays, g.inputs, g.model])


def _every_block_gradient(run, base, loss):
    """q -> the exact gradient over every block at run(q), whose spike counts must equal base's."""
    def grad_at(qq):
        r = run(qq)
        assert _counts(r) == _counts(base)
        return _every_block(loss_grad(r, loss, policy="flag")[1])
    return grad_at


def two_population_run():
    """``(run, q)``: ``_two_outputs`` with neurons 0, 1 in population 0 and 2, 3 in population 1; ``run(q)``
    simulates ``q = [weights | delays | 5 input times | (tau_syn, tau_mem, threshold) of each population]``."""
    net, inputs = _two_outputs()
    ns = net.n_synapses

    def run(q):
        flat, pm = q[2 * ns:2 * ns + 5], q[2 * ns + 5:].reshape(2, 3)
        params = {"tau_syn": pm[:, 0].tolist(), "tau_mem": pm[:, 1].tolist(), "threshold": pm[:, 2].tolist()}
        return simulate("lif", net.with_weights(q[:ns], q[ns:2 * ns]), [flat[:3].tolist(), flat[3:].tolist()], T_MAX,
                        params=params, populations=[0, 0, 1, 1])

    return run, np.concatenate([_q(net, inputs), [0.5, 1.0, 1.0, 0.4, 1.3, 0.9]])


def test_hvp_model_block_matches_richardson_differences_of_exact_gradient():
    """Every block including the model parameters (tau_syn, tau_mem, threshold of two populations): hvp along a
    random direction over weights, delays, input times and model parameters == Richardson differences of the
    exact gradient (loss_grad, all four blocks) to 1e-8; u.Hv == v.Hu to 1e-12 relative; model=False gives the
    other blocks of a direction with a zero model part."""
    loss = Loss("ttfs_cross_entropy", label=1)
    run, q = two_population_run()
    base = run(q)
    assert max(_counts(base)) > 1
    rng = np.random.default_rng(11)
    v, u = rng.normal(size=q.size), rng.normal(size=q.size)
    v /= np.linalg.norm(v)

    grad_at = _every_block_gradient(run, base, loss)
    flat = _every_block
    hv = flat(hvp(base, loss, v, policy="flag"))
    fd = _richardson_gradient_difference(grad_at, q, v, 1e-3)
    assert _rel(hv, fd) < 1e-8
    assert _rel(hv[-6:], fd[-6:]) < 1e-8  # the model block on its own scale
    hu = flat(hvp(base, loss, u, policy="flag"))
    assert abs(u @ hv - v @ hu) < 1e-12 * np.linalg.norm(u) * np.linalg.norm(hv)
    nq = n_params(base)
    fast = hvp(base, loss, v[:nq], policy="flag", model=False)  # the model block skipped: same other blocks
    assert fast.model.size == 0
    full = flat(hvp(base, loss, np.concatenate([v[:nq], np.zeros(6)]), policy="flag"))
    assert np.allclose(flat(fast), full[:nq], rtol=1e-14, atol=0)


@pytest.mark.slow
def test_hvp_model_block_matches_the_50_digit_reference():
    """hvp with v = e_p (tau_syn, tau_mem, threshold) and a loss (lam, 0) == sum_k lam_k d2t_k/dq dp from the
    reference (differences of its own 50-digit IFT Jacobian in the model parameters), every block, 1e-8; the
    multi-spike feed-forward net (hidden neurons fire 8 times: own-reset and parent-of-parent terms)."""
    net, inputs = _feedforward()
    r = simulate("lif", net, inputs, T_MAX, params=LIF)
    cols = [("model", 0), ("model", 1), ("model", 2)]
    ref = reference_hessian(get_model("lif"), LIF, net, inputs, T_MAX, columns=cols)
    _, hess_ref = ref.as_float()
    nq = n_params(r)
    lam = np.random.default_rng(8).normal(size=r.n_spikes)
    for c in range(3):
        v = np.zeros(nq + 3)
        v[nq + c] = 1.0
        h = hvp(r, (lam, np.zeros((r.n_spikes, r.n_spikes))), v, policy="flag")
        got = np.concatenate([h.weights, h.delays, h.inputs, h.model])
        assert _rel(got, lam @ hess_ref[:, :, c]) < 1e-8, c


@pytest.mark.slow
def test_hvp_model_block_of_a_three_rate_model():
    """lif_dual_exp (tau_rise, tau_decay, tau_mem, threshold; its d2psp/dp2 needs five-node divided differences,
    expdd5), every neuron firing 12-15 times: hvp over every block == Richardson differences of the exact gradient
    to 1e-9 (measured 8.6e-12; model block alone 1.6e-11)."""
    names = get_model("lif_dual_exp").param_names
    p0 = np.array([0.1, 0.5, 1.0, 1.0])
    net, _ = _two_outputs()
    net = net.with_weights(net.weight * 1.5)
    ns = net.n_synapses
    loss = Loss("ttfs_cross_entropy", label=1)

    def run(q):
        flat = q[2 * ns:2 * ns + 5]
        return simulate("lif_dual_exp", net.with_weights(q[:ns], q[ns:2 * ns]), [flat[:3].tolist(), flat[3:].tolist()],
                        6.0, params=dict(zip(names, q[2 * ns + 5:].tolist())))

    q = np.concatenate([net.weight, net.delay, [0.1, 0.6, 1.4, 0.3, 1.1], p0])
    base = run(q)
    v = np.random.default_rng(2).normal(size=q.size)
    v /= np.linalg.norm(v)

    grad_at = _every_block_gradient(run, base, loss)
    got = _every_block(hvp(base, loss, v, policy="flag"))
    fd = _richardson_gradient_difference(grad_at, q, v, 1e-3)
    assert _rel(got, fd) < 1e-9 and _rel(got[-4:], fd[-4:]) < 1e-9
