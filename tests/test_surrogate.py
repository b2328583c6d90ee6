"""Surrogate-gradient baseline (exactsnn.surrogate) against independent references.

- forward: grid potentials vs exactsnn's exact potential; spike times converge to exactsnn.simulate's
  (order measured);
- backward: BPTT vs an independent forward-mode (tangent) implementation of the same discrete graph written
  here in numpy, whose propagator comes from mpmath's matrix exponential and whose loss derivative comes from
  the complex step; that reference is itself checked by finite differences with a smooth spike function;
- the cosine similarity between surrogate and exact gradients on a small network at fine dt.
"""

import math

import mpmath
import numpy as np
import pytest

import exactsnn as es
from exactsnn.surrogate import simulate_discrete, surrogate_batch_loss_grad

P_NEAR = {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0}  # the Yin-Yang setting
P_EQUAL = {"tau_syn": 0.8, "tau_mem": 0.8, "threshold": 0.9}      # tau_syn == tau_mem
P_APART = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}


# ------------------------------------------------------------------ independent reference of the grid model
def _flow(params, s):
    """exp(A s) of d(I, V)/dt = A (I, V), A = [[-1/tau_syn, 0], [1, -1/tau_mem]], at 30 digits:
    (I -> I, I -> V, V -> V) factors."""
    with mpmath.workdps(30):
        a = mpmath.matrix([[-1 / mpmath.mpf(params["tau_syn"]), 0], [1, -1 / mpmath.mpf(params["tau_mem"])]])
        e = mpmath.expm(a * mpmath.mpf(s))
        return float(e[0, 0]), float(e[1, 0]), float(e[1, 1])


def _heaviside(slope):
    return lambda x: ((x >= 0).astype(float), 1.0 / (1.0 + slope * np.abs(x)) ** 2)


def _smooth(width):
    def f(x):
        s = 1.0 / (1.0 + np.exp(-x / width))
        return s, s * (1 - s) / width
    return f


def _ttfs(t, label, tau0=0.2, tau1=1.0, gamma=0.005):
    z = -t / tau0
    return -z[label] + np.log(np.sum(np.exp(z))) + gamma * (np.exp(t[label] / tau1) - 1)


def reference(weights, inputs, label, params, t_max, dt, spike_fn, detach, loss_fn=_ttfs, silent_grad=True):
    """Forward mode on the grid model: (loss, t_first, dloss/dw flat, spike steps per neuron).

    Every state carries its tangent with respect to all weights (leading axis n_w); dloss/dt comes from
    the complex step on ``loss_fn(t, label)``."""
    th = params["threshold"]
    mats = [np.asarray(w, float) for w in weights]
    n_w = sum(m.size for m in mats)
    tangents, start = [], 0
    for m in mats:
        tangents.append(np.eye(n_w)[:, start:start + m.size].reshape(n_w, *m.shape))
        start += m.size
    n_steps = int(math.floor(t_max / dt + 1e-9))
    a, c, b = _flow(params, dt)
    v = [np.zeros(m.shape[1]) for m in mats]
    i = [np.zeros(m.shape[1]) for m in mats]
    dv = [np.zeros((n_w, m.shape[1])) for m in mats]
    di = [np.zeros((n_w, m.shape[1])) for m in mats]
    arrivals = {}
    for ch, ts in enumerate(inputs):
        for t in ts:
            k = int(math.ceil(t / dt))
            aa, cc, _ = _flow(params, k * dt - t)
            arrivals.setdefault(k, []).append((ch, aa, cc))
    for ch, aa, _ in arrivals.get(0, []):
        i[0] = i[0] + aa * mats[0][ch]
        di[0] = di[0] + aa * tangents[0][:, ch]
    n_out = mats[-1].shape[1]
    p, dp = np.ones(n_out), np.zeros((n_w, n_out))
    t_first, dt_first = dt * p, dt * dp
    steps = [[] for m in mats for _ in range(m.shape[1])]
    for k in range(1, n_steps + 1):
        for l in range(len(mats)):
            v[l], dv[l] = b * v[l] + c * i[l], b * dv[l] + c * di[l]
            i[l], di[l] = a * i[l], a * di[l]
        for ch, aa, cc in arrivals.get(k, []):
            v[0], dv[0] = v[0] + cc * mats[0][ch], dv[0] + cc * tangents[0][:, ch]
            i[0], di[0] = i[0] + aa * mats[0][ch], di[0] + aa * tangents[0][:, ch]
        offset = 0
        for l in range(len(mats)):
            s, ds_dv = spike_fn(v[l] - th)
            ds = ds_dv * dv[l]
            for j in np.flatnonzero(v[l] >= th):
                steps[offset + j].append(k)
            offset += v[l].size
            v[l], dv[l] = v[l] - th * s, dv[l] - (0.0 if detach else th * ds)
            if l + 1 < len(mats):
                i[l + 1] = i[l + 1] + s @ mats[l + 1]
                di[l + 1] = di[l + 1] + s @ tangents[l + 1] + ds @ mats[l + 1]
            else:
                p, dp = p * (1 - s), dp * (1 - s) - p * ds
                weight = dt if k < n_steps else t_max - n_steps * dt
                t_first, dt_first = t_first + weight * p, dt_first + weight * dp
    h = 1e-20
    dl_dt = np.array([loss_fn(t_first + 1j * h * np.eye(n_out)[o], label).imag / h for o in range(n_out)])
    if not silent_grad:
        dl_dt[[not steps[len(steps) - n_out + o] for o in range(n_out)]] = 0.0
    return loss_fn(t_first, label), t_first, dt_first @ dl_dt, steps


def _net(rng, sizes, means, spreads):
    return [rng.normal(m, s, (a, b)) for a, b, m, s in zip(sizes[:-1], sizes[1:], means, spreads)]


def _flat(mats):
    return np.concatenate([np.ravel(m) for m in mats])


# ------------------------------------------------------------------ the reference checks itself
def test_reference_tangent_matches_finite_differences_with_a_smooth_spike():
    rng = np.random.default_rng(3)
    ws = _net(rng, (3, 4, 2), (0.9, 0.6), (0.4, 0.3))
    x = [[0.2], [0.5, 1.1], [0.9]]
    f = _smooth(0.05)
    _, _, g, _ = reference(ws, x, 1, P_APART, 3.0, 0.05, f, detach=False)
    h = 1e-6
    for q in range(g.size):
        wp = [m.copy() for m in ws]
        wm = [m.copy() for m in ws]
        l, idx = (0, q) if q < ws[0].size else (1, q - ws[0].size)
        wp[l].flat[idx] += h
        wm[l].flat[idx] -= h
        fd = (reference(wp, x, 1, P_APART, 3.0, 0.05, f, False)[0]
              - reference(wm, x, 1, P_APART, 3.0, 0.05, f, False)[0]) / (2 * h)
        assert abs(g[q] - fd) <= 1e-7 * (1 + abs(fd)), (q, g[q], fd)


# ------------------------------------------------------------------ backward: BPTT == forward-mode reference
_BUSY = dict(seed=5, sizes=(3, 5, 3), means=(2.5, 1.2), spreads=(0.8, 0.4))
_PATTERNS = [[[0.0], [0.5, 1.1], [0.9]], [[0.3, 1.7], [0.05], [1.25]]]


def _busy_net():
    rng = np.random.default_rng(_BUSY["seed"])
    ws = _net(rng, _BUSY["sizes"], _BUSY["means"], _BUSY["spreads"])
    ws[1][:, 2] = -1.0  # output 2 never fires: exercises the silent-output path
    return ws


def _sum_loss(t, label):
    return np.sum(t)


@pytest.mark.parametrize("params", [P_APART, P_EQUAL, P_NEAR], ids=["apart", "equal", "near"])
@pytest.mark.parametrize("detach", [True, False], ids=["detached", "attached"])
@pytest.mark.parametrize("kind", ["ttfs_cross_entropy", "first_spike_sum"])
def test_bptt_equals_forward_mode_reference(params, detach, kind):
    ws, labels, slope, t_max, dt = _busy_net(), [2, 0], 5.0, 3.02, 0.04  # N = 75 steps plus a 0.02 tail
    loss_fn = _ttfs if kind == "ttfs_cross_entropy" else _sum_loss
    res = surrogate_batch_loss_grad(ws, _PATTERNS, labels, params, t_max, dt, slope, es.Loss(kind),
                                    detach_reset=detach)
    total = np.zeros(sum(w.size for w in ws))
    for b, (x, lab) in enumerate(zip(_PATTERNS, labels)):
        ref = reference(ws, x, lab, params, t_max, dt, _heaviside(slope), detach, loss_fn)
        counts = [len(s) for s in ref[3]]
        assert max(counts[:5]) >= 3 and min(counts[5:7]) >= 2 and counts[7] == 0  # multi-spike and silent cases
        assert abs(res.loss[b] - ref[0]) <= 1e-12 * (1 + abs(ref[0]))
        assert np.allclose(res.t_first[b], ref[1], rtol=0, atol=1e-12)
        total += ref[2]
    assert res.t_first[0, 2] == pytest.approx(t_max, abs=1e-12)
    g = _flat(res.grad_weights)
    assert [m.shape for m in res.grad_weights] == [w.shape for w in ws]
    assert np.max(np.abs(g - total)) <= 1e-12 * np.max(np.abs(total)), np.max(np.abs(g - total))


def test_silent_outputs_can_pass_no_gradient_like_the_exact_path():
    ws, x, slope = _busy_net(), _PATTERNS[0], 5.0
    ref = reference(ws, x, 2, P_APART, 3.0, 0.05, _heaviside(slope), True, _ttfs, silent_grad=False)
    res = surrogate_batch_loss_grad(ws, [x], [2], P_APART, 3.0, 0.05, slope, es.Loss("ttfs_cross_entropy"),
                                    silent_grad=False)
    with_silent = surrogate_batch_loss_grad(ws, [x], [2], P_APART, 3.0, 0.05, slope, es.Loss("ttfs_cross_entropy"))
    g = _flat(res.grad_weights)
    assert np.max(np.abs(g - ref[2])) <= 1e-12 * np.max(np.abs(ref[2]))
    assert np.all(res.grad_weights[1][:, 2] == 0.0) and np.any(with_silent.grad_weights[1][:, 2] != 0.0)


# ------------------------------------------------------------------ forward: the grid model is lif's discretisation
@pytest.mark.parametrize("params", [P_APART, P_EQUAL, P_NEAR], ids=["apart", "equal", "near"])
def test_first_layer_grid_potential_is_exact_until_its_first_spike(params):
    rng = np.random.default_rng(8)
    ws = _net(rng, (4, 6, 2), (1.5, 0.8), (0.6, 0.4))
    x = [[0.0, 0.9], [0.37], [0.5], [1.234]]  # t = 0, a spike on a grid point, spikes between grid points
    exact = es.simulate("lif", es.Network.feedforward(ws), x, 3.0, params=params)
    run = simulate_discrete(ws, x, params, 3.0, 0.05)
    checked = 0
    for j in range(6):
        t_end = exact.spikes[j][0] if exact.spikes[j].size else 3.0
        k = np.flatnonzero(run.times < t_end)
        v_exact = es.membrane_potential(exact, j, run.times[k])
        assert np.max(np.abs(run.potential[k, j] - v_exact)) <= 1e-12, j
        checked += k.size
    assert checked > 50 and sum(len(s) for s in exact.spikes[:6]) >= 4


@pytest.mark.parametrize("params", [P_APART, P_EQUAL, P_NEAR], ids=["apart", "equal", "near"])
@pytest.mark.parametrize("dt", [0.1, 0.013, 0.001])
def test_first_layer_first_spike_lands_on_the_next_grid_point(params, dt):
    rng = np.random.default_rng(9)
    ws = [rng.normal(1.5, 0.5, (5, 8))]
    x = [[t] for t in rng.uniform(0.1, 1.5, 5)]
    exact = es.simulate("lif", es.Network.feedforward(ws), x, 3.0, params=params)
    run = simulate_discrete(ws, x, params, 3.0, dt)
    fired = [j for j in range(8) if exact.spikes[j].size]
    assert len(fired) >= 6
    for j in fired:
        assert run.spikes[j][0] == pytest.approx(math.ceil(exact.spikes[j][0] / dt) * dt, abs=1e-12)


@pytest.mark.parametrize("params", [P_APART, P_EQUAL, P_NEAR], ids=["apart", "equal", "near"])
def test_spike_times_converge_to_the_exact_ones_at_first_order(params):
    """Every spike of a 4-6-2 network with multi-spike neurons, at dt = 0.01 .. 0.00125."""
    rng = np.random.default_rng(21)
    ws = _net(rng, (4, 6, 2), (1.2, 0.9), (0.6, 0.4))
    net = es.Network.feedforward(ws)
    pats = [[[t] for t in rng.uniform(0.1, 1.5, 4)] for _ in range(5)]
    exact = [es.simulate("lif", net, x, 3.0, params=params) for x in pats]
    assert max(len(s) for r in exact for s in r.spikes) >= 2  # resets are exercised
    dts, mean_err = [0.01, 0.005, 0.0025, 0.00125], []
    for dt in dts:
        err = []
        for x, r in zip(pats, exact):
            run = simulate_discrete(ws, x, params, 3.0, dt)
            assert [len(s) for s in run.spikes] == [len(s) for s in r.spikes]
            err.extend(np.abs(np.concatenate(run.spikes) - np.concatenate(r.spikes)))
        assert max(err) <= 10 * dt
        mean_err.append(np.mean(err))
    order = np.polyfit(np.log(dts), np.log(mean_err), 1)[0]
    assert 0.8 <= order <= 1.2, order


# ------------------------------------------------------------------ surrogate vs exact gradients
def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("params", [P_APART, P_EQUAL, P_NEAR], ids=["apart", "equal", "near"])
def test_surrogate_gradient_aligns_with_the_exact_one_as_the_surrogate_sharpens(params):
    """One LIF neuron, L = t_first, dt = 0.001. The exact gradient is -psp(t* - t_i) / Vdot. The surrogate one
    weights dV(t_k)/dw = psp(t_k - t_i) by a window of width ~ 1/(slope Vdot) before the crossing, so it turns
    parallel to the exact one as the slope grows: 1 - cos shrinks with slope and is tiny at slope 1000."""
    rng = np.random.default_rng(4)
    ws = [rng.normal(1.0, 0.5, (5, 1))]
    pats = rng.uniform(0.1, 1.5, (4, 5))
    exact = es.batch_loss_grad("lif", es.Network.feedforward(ws), [[[t] for t in p] for p in pats], 3.0,
                               es.Loss("first_spike_sum"), params=params)
    assert np.all(exact.t_first < 3.0)
    for b in range(len(pats)):
        gaps = [1 - _cos(exact.grad.weights[b], surrogate_batch_loss_grad(
            ws, pats[b:b + 1], None, params, 3.0, 0.001, slope, es.Loss("first_spike_sum")).grad_weights[0].ravel())
            for slope in (25.0, 100.0, 1000.0)]
        assert gaps[0] > gaps[1] > gaps[2] >= 0 and gaps[2] < 1e-3, gaps


# ------------------------------------------------------------------ bad input: a clear error naming the input
def _call(**change):
    args = dict(weights=[np.ones((2, 3)), np.ones((3, 2))], patterns=np.array([[0.1, 0.2], [0.3, 0.4]]),
                labels=[0, 1], params=P_APART, t_max=2.0, dt=0.1, slope=5.0, loss=es.Loss("ttfs_cross_entropy"))
    args.update(change)
    return surrogate_batch_loss_grad(**args)


@pytest.mark.parametrize("change, match", [
    (dict(weights=[np.ones((2, 3)), np.ones((2, 2))]), r"weights\[1\] has shape \(2, 2\)"),
    (dict(weights=[np.full((2, 3), np.nan), np.ones((3, 2))]), r"weights\[0\]\[0, 0\] = nan is not finite"),
    (dict(patterns=np.array([[0.1, -0.2], [0.3, 0.4]])), r"patterns\[0\]\[1\]\[0\] = -0.2 is negative"),
    (dict(patterns=np.array([[0.1, np.inf], [0.3, 0.4]])), r"patterns\[0\]\[1\]\[0\] = inf is not finite"),
    (dict(patterns=np.array([[0.1, 0.2, 0.3]])), r"patterns\[0\] has 3 channels; the network has 2 inputs"),
    (dict(patterns=[[[0.5, 0.1], [0.2]]], labels=[0]), r"patterns\[0\]\[0\] is not ascending"),
    (dict(patterns=np.zeros((2, 2, 1))), r"patterns as an array must have shape \(B, n_in = 2\)"),
    (dict(patterns=[]), r"patterns must be a non-empty"),
    (dict(labels=[0, 2]), r"labels\[1\] = 2 is outside \[0, 2\)"),
    (dict(labels=[5, -1], loss=es.Loss("first_spike_sum")), r"labels\[1\] = -1 is outside >= 0"),
    (dict(labels=[0]), r"labels must be 2 integers"),
    (dict(labels=[0.5, 1.0]), r"labels must be 2 integers"),
    (dict(params={"tau_syn": 0.5, "tau_m": 1.0}), r"no parameter\(s\) \['tau_m'\]"),
    (dict(params={"tau_syn": -0.5}), r"parameter 'tau_syn' = -0.5 is outside the allowed range"),
    (dict(params={"tau_mem": None}), r"parameter 'tau_mem' must be a number"),
    (dict(t_max=np.nan), r"t_max = nan must be finite, > 0"),
    (dict(dt=0.0), r"dt = 0.0 must be a finite time step in \(0, t_max = 2.0\]"),
    (dict(dt=3.0), r"dt = 3.0 must be a finite time step in \(0, t_max = 2.0\]"),
    (dict(dt=1e-9), r"dt = 1e-09 gives 2000000000 steps"),
    (dict(slope=0.0), r"slope = 0.0 must be a finite number > 0"),
    (dict(slope=np.inf), r"slope = inf must be a finite number > 0"),
    (dict(loss="ttfs_cross_entropy"), r"loss must be an exactsnn.Loss"),
    (dict(loss=es.Loss("ttfs_cross_entropy", label=5), labels=None), r"label = 5 must be < the number of outputs"),
    (dict(detach_reset="yes"), r"detach_reset = 'yes' must be True or False"),
    (dict(silent_grad=None), r"silent_grad = None must be True or False"),
])
def test_bad_input_is_named(change, match):
    with pytest.raises(ValueError, match=match):
        _call(**change)


def test_bad_input_to_simulate_discrete_is_named():
    with pytest.raises(ValueError, match=r"inputs has 1 channels; the network has 2 inputs"):
        simulate_discrete([np.ones((2, 3))], [[0.1]], P_APART, 2.0, 0.1)
    with pytest.raises(ValueError, match=r"dt = -0.1 must be a finite time step"):
        simulate_discrete([np.ones((2, 3))], [[0.1], [0.2]], P_APART, 2.0, -0.1)


def test_pattern_forms_agree():
    """(B, n_in) array, list of (n_in,) rows and batch_loss_grad's nested lists give the same result."""
    ws, times = _busy_net(), np.array([[0.1, 0.7, 0.3], [0.9, 0.2, 0.0]])
    forms = [times, list(times), [[[t] for t in row] for row in times]]
    out = [surrogate_batch_loss_grad(ws, f, [0, 1], P_NEAR, 3.0, 0.05, 5.0, es.Loss("ttfs_cross_entropy"))
           for f in forms]
    for r in out[1:]:
        assert np.array_equal(r.loss, out[0].loss) and np.array_equal(_flat(r.grad_weights), _flat(out[0].grad_weights))
