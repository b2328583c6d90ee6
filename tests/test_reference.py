"""Tests of the independent mpmath reference solver (exactsnn.reference).

Every expected value here is computed independently of the solver: closed forms solved by hand,
hand-written kernels, or finite differences.
"""

import mpmath
import numpy as np
import pytest
import sympy
from mpmath import iv, mp

from exactsnn.errors import InputSpikeError, ModelError, SimulationError
from exactsnn.model import S, kernel_model
from exactsnn.models import get
from exactsnn.network import Network
from exactsnn.reference import ReferenceResult, reference_solve
from exactsnn.reference.expressions import compile_kernel, working_precision
from exactsnn.reference.kernels import kernel_table
from exactsnn.reference.potential import Potential, lower, upper

DPS = 50
BLOCKS = ("d_weights", "d_delays", "d_inputs", "d_model")


@pytest.fixture(scope="module")
def lif():
    return get("lif")


@pytest.fixture(scope="module")
def kmodel():
    return kernel_model("s/tau*exp(1 - s/tau)", "theta*exp(-s/tau_r)", "theta",
                        {"tau": 1.5, "tau_r": 0.8, "theta": 1.0})


def single(w):
    return Network.feedforward([[[w]]])


def fd_gap(res, blocks=BLOCKS):
    """max |IFT - FD| over the requested entries, relative to max(1, |IFT|)."""
    gap = mp.zero
    for name in blocks:
        for row, row_fd in zip(getattr(res, name), getattr(res, name + "_fd")):
            for x, y in zip(row, row_fd):
                if y is not None:
                    gap = max(gap, abs(x - y) / max(1, abs(x)))
    return gap


def lif_kernels(ts, tm, th):
    """Hand-written LIF kernels (generic tau_syn != tau_mem)."""
    def psp(s):
        return (mp.exp(-s / ts) - mp.exp(-s / tm)) / (1 / tm - 1 / ts) if s > 0 else mp.zero

    def reset(s):
        return th * mp.exp(-s / tm) if s > 0 else mp.zero

    return psp, reset


def potential_by_hand(psp, reset, net, inputs, spikes, j, t):
    """V_j(t) from the result's spike trains, summed directly from the definition."""
    v = mp.zero
    for k in range(net.n_synapses):
        if int(net.post[k]) != j:
            continue
        src = int(net.pre[k])
        times = inputs[src] if src < net.n_inputs else spikes[src - net.n_inputs]
        for tf in times:
            v += mp.mpf(float(net.weight[k])) * psp(t - mp.mpf(tf) - mp.mpf(float(net.delay[k])))
    for tm_ in spikes[j]:
        v -= reset(t - tm_)
    return v


# --------------------------------------------------------------------------- closed forms
def test_lif_closed_form_quadratic(lif):
    # tau_mem = 2 tau_syn = 2: psp(s) = 2 (x - x^2), x = exp(-s/2), so w psp = theta is a quadratic in x.
    w, t0, th = 3.0, 0.3, 1.0
    res = reference_solve(lif, {"tau_syn": 1.0, "tau_mem": 2.0, "threshold": th}, single(w), [[t0]], 10.0, dps=DPS)
    with mp.workdps(70):
        def t_closed(w_, th_, t0_):
            x = (1 + mp.sqrt(1 - 2 * mp.mpf(th_) / mp.mpf(w_))) / 2  # larger root = first crossing
            return mp.mpf(t0_) - 2 * mp.log(x)

        assert res.certified and res.undecided == [] and len(res.times) == 1
        assert abs(res.times[0] - t_closed(w, th, t0)) < mpmath.mpf("1e-40")
        # Gradients against derivatives of the closed form.
        assert abs(res.d_weights[0][0] - mp.diff(lambda v: t_closed(v, th, t0), w)) < mpmath.mpf("1e-30")
        assert abs(res.d_model[0][2] - mp.diff(lambda v: t_closed(w, v, t0), th)) < mpmath.mpf("1e-30")
        assert res.d_inputs[0][0] == 1 and res.d_delays[0][0] == 1


def test_nonleaky_closed_form_and_fd():
    # V = w ts (1 - exp(-s/ts)) - k theta after k spikes: t_k = t0 - ts log(1 - k theta / (w ts)).
    model = get("nonleaky_if")
    w, ts, t0 = 7.0, 0.5, 0.2
    res = reference_solve(model, {"tau_syn": ts}, single(w), [[t0]], 6.0, dps=DPS, finite_differences=True)
    assert res.certified and len(res.spikes[0]) == 3  # w ts = 3.5: three crossings
    with mp.workdps(60):
        for k, t in enumerate(res.spikes[0], start=1):
            closed = t0 - ts * mp.log(1 - k / (mp.mpf(w) * ts))
            assert abs(t - closed) < mpmath.mpf("1e-40")
    assert fd_gap(res) < mpmath.mpf("1e-26")  # observed ~4e-30


# ------------------------------------------------------------------- gradients vs FD
def test_multispike_lif_ift_matches_fd(lif):
    net = Network.feedforward([[[6.0], [5.0]]], delays=[[[0.0], [0.15]]])
    res = reference_solve(lif, {}, net, [[0.0, 0.9], [0.5]], 3.0, dps=DPS, finite_differences=True)
    assert res.certified and len(res.spikes[0]) >= 3
    gap = fd_gap(res)
    assert gap < mpmath.mpf("1e-26")  # observed ~1e-29
    # delay[0] = 0: its FD column uses the one-sided stencil and still agrees.
    assert all(row[0] is not None for row in res.d_delays_fd)


def test_own_reset_term_is_needed(lif):
    # One input, weight 7: the neuron fires twice. Compare d t2 / d w with and without the own-reset term.
    w, t0 = 7.0, 0.0
    res = reference_solve(lif, {}, single(w), [[t0]], 3.0, dps=DPS, finite_differences=True,
                          fd_subset=[("weight", 0)])
    assert len(res.times) == 2
    psp, reset = lif_kernels(mp.mpf(0.5), mp.mpf(1), mp.mpf(1))
    with mp.workdps(60):
        t1, t2 = res.times
        dpsp = lambda s: -mp.exp(-s) + 2 * mp.exp(-2 * s)  # noqa: E731 (lif, tau_syn=0.5, tau_mem=1)
        dreset = lambda s: -mp.exp(-s)  # noqa: E731
        dt1 = -psp(t1 - t0) / (w * dpsp(t1 - t0))
        vdot2 = w * dpsp(t2 - t0) - dreset(t2 - t1)
        right = -(psp(t2 - t0) + dreset(t2 - t1) * dt1) / vdot2
        wrong = -psp(t2 - t0) / vdot2  # the authors' public code drops the own-reset term
        fd = res.d_weights_fd[1][0]
        assert abs(res.d_weights[1][0] - right) < mpmath.mpf("1e-40")
        assert abs(right - fd) < mpmath.mpf("1e-26")
        assert abs(wrong - fd) > mpmath.mpf("1e-2") * abs(fd)
        assert abs(res.vdot[1] - vdot2) < mpmath.mpf("1e-40")


def test_kernel_model_spikes_and_gradients(kmodel):
    net = Network.feedforward([[[1.5], [1.2]]], delays=[[[0.1], [0.0]]])
    inputs = [[0.0], [1.0]]
    res = reference_solve(kmodel, {}, net, inputs, 3.0, dps=DPS, finite_differences=True,
                          fd_subset=[("weight", 0), ("weight", 1), ("delay", 0), ("delay", 1), ("input", 1),
                                     ("model", "tau"), ("model", "tau_r"), ("model", "theta")])
    assert res.certified and len(res.times) >= 3
    psp = lambda s: s / 1.5 * mp.exp(1 - s / 1.5) if s > 0 else mp.zero  # noqa: E731
    reset = lambda s: mp.exp(-s / mp.mpf(0.8)) if s > 0 else mp.zero  # noqa: E731
    with mp.workdps(60):
        for t in res.spikes[0]:
            v = potential_by_hand(psp, reset, net, inputs, res.spikes, 0, t)
            assert abs(v - 1) < mpmath.mpf("1e-45")
    assert fd_gap(res) < mpmath.mpf("1e-26")
    # d t / d input time of an input that has not arrived yet is exactly 0.
    assert res.d_inputs[0][1] == 0


def test_recurrent_self_connection_and_delays(lif):
    net = Network.recurrent(
        [[6.0, 0.0], [0.0, 3.0]], [[1.0, 2.5], [-1.5, 0.0]], [1],
        input_delays=[[0.1, 0.0], [0.0, 0.2]], delays=[[0.3, 0.2], [0.1, 0.0]],
    )
    inputs = [[0.0, 1.0], [0.5]]
    res = reference_solve(lif, {}, net, inputs, 3.0, dps=DPS, finite_differences=True,
                          fd_subset=[("weight", 4), ("weight", 5), ("weight", 6), ("delay", 4), ("delay", 7),
                                     ("input", 0), ("model", 0), ("model", 2)])
    assert res.certified
    assert res.times == sorted(res.times)
    assert all(res.times[g] == res.spikes[j][i] for g, (j, i) in enumerate(res.order))
    assert len(res.spikes[0]) >= 2 and len(res.spikes[1]) >= 1  # neuron 1 is driven by neuron 0
    psp, reset = lif_kernels(mp.mpf(0.5), mp.mpf(1), mp.mpf(1))
    with mp.workdps(60):
        for j, i in res.order:
            t = res.spikes[j][i]
            assert abs(potential_by_hand(psp, reset, net, inputs, res.spikes, j, t) - 1) < mpmath.mpf("1e-45")
    # An independent (non-rigorous) look for missed crossings: V < theta on a fine grid off the spikes.
    for j in range(2):
        for t in np.linspace(0.01, 3.0, 300):
            t = mp.mpf(t)
            if all(abs(t - s) > 1e-3 for s in res.spikes[j]):
                assert potential_by_hand(psp, reset, net, inputs, res.spikes, j, t) < 1
    assert fd_gap(res) < mpmath.mpf("1e-26")


def test_zero_delay_self_connection(lif):
    # Self-excitation without delay acts like a weaker reset; its own arrival is not a coincidence.
    net = Network.recurrent([[7.0]], [[0.5]], [0])
    res = reference_solve(lif, {}, net, [[0.0]], 3.0, dps=DPS, finite_differences=True)
    assert res.certified and len(res.times) == 2 and res.coincident == []
    assert fd_gap(res) < mpmath.mpf("1e-26")  # observed ~2e-31 (delay[1] = 0 one-sided)


def test_coincident_spikes_are_reported(lif):
    # Two identical neurons exciting each other without delay spike at exactly the same times: each
    # spike meets an arrival at the same instant, where the spike time has a kink.
    net = Network.recurrent([[7.0, 7.0]], [[0.0, 1.0], [1.0, 0.0]], [0, 1])
    res = reference_solve(lif, {}, net, [[0.0]], 2.0, dps=DPS)
    assert res.certified and len(res.spikes[0]) == len(res.spikes[1]) == 3
    assert res.spikes[0] == res.spikes[1]
    assert sorted(res.coincident) == [(j, i) for j in range(2) for i in range(3)]


# ----------------------------------------------------------------------- singular set
def test_equal_tau_uses_limit(lif):
    w, t0 = 3.0, 0.25
    eq = reference_solve(lif, {"tau_syn": 1.0, "tau_mem": 1.0}, single(w), [[t0]], 6.0, dps=DPS,
                         finite_differences=True, fd_subset=[("model", "tau_syn"), ("model", "tau_mem")])
    assert eq.limits and eq.limits[0][0] == "tau_syn" and eq.certified
    with mp.workdps(60):
        # psp = s exp(-s): w s exp(-s) = 1, first root on the principal branch of Lambert W.
        closed = t0 - mp.lambertw(-1 / mp.mpf(w))
        assert abs(eq.times[0] - closed) < mpmath.mpf("1e-40")
    assert fd_gap(eq, ["d_model"]) < mpmath.mpf("1e-25")
    near = reference_solve(lif, {"tau_syn": "1.00000000000000000001", "tau_mem": 1.0}, single(w), [[t0]],
                           6.0, dps=DPS)
    assert near.limits == () and near.certified
    assert abs(near.times[0] - eq.times[0]) < mpmath.mpf("1e-15")
    assert abs(near.times[0] - eq.times[0]) > 0  # really a different parameter point
    for name in BLOCKS:
        for x, y in zip(getattr(eq, name)[0], getattr(near, name)[0]):
            assert abs(x - y) < mpmath.mpf("1e-15")


def test_taylor_form_beats_dependency_near_singular(lif):
    with working_precision(90):
        values = {"tau_syn": mp.mpf("1.00000000000000000001"), "tau_mem": mp.mpf(1), "threshold": mp.mpf(1)}
        table = kernel_table(lif, values, 13)
        pot = Potential(table, [(mp.mpf(3), mp.mpf(0))], [], taylor_order=12)
        lo, hi = mp.mpf("0.5"), mp.mpf("0.55")
        nat, tay = pot.natural(lo, hi), pot.taylor(lo, hi)
        for t in (lo, (lo + hi) / 2, hi):
            g = pot.point(mp, t)
            assert lower(nat) <= g <= upper(nat) and lower(tay) <= g <= upper(tay)
        assert upper(tay) - lower(tay) < mpmath.mpf("1e-10") * (upper(nat) - lower(nat))
    assert table.extra_digits >= 20


# --------------------------------------------------------------------- certification
@pytest.mark.parametrize("w, expect_spike", [(1.0 - 2.0 ** -52, False), (1.0 + 2.0 ** -52, True)])
def test_near_grazing_is_decided(kmodel, w, expect_spike):
    res = reference_solve(kmodel, {}, single(w), [[0.25]], 4.0, dps=DPS)
    assert res.certified and res.undecided == []
    assert len(res.times) == int(expect_spike)


def test_exact_grazing_is_undecided(kmodel):
    # psp peaks at exactly 1 at s = tau = 1.5, so with w = theta = 1, V touches theta tangentially at 1.75.
    res = reference_solve(kmodel, {}, single(1.0), [[0.25]], 4.0, dps=DPS)
    assert not res.certified and res.times == []
    assert len(res.undecided) == 1
    j, lo, hi = res.undecided[0]
    assert j == 0 and lo <= mpmath.mpf("1.75") <= hi and hi - lo < mpmath.mpf("1e-20")


# ------------------------------------------------------------------- hygiene, errors
def test_precision_is_local(lif):
    dps, prec = mp.dps, iv.prec
    reference_solve(lif, {}, single(7.0), [[0.0]], 2.0, dps=40)
    assert (mp.dps, iv.prec) == (dps, prec)
    with pytest.raises(SimulationError):
        reference_solve(lif, {}, single(7.0), [[0.0]], 2.0, dps=40, max_spikes=1)
    assert (mp.dps, iv.prec) == (dps, prec)


def test_errors(lif, kmodel):
    with pytest.raises(SimulationError, match="max_spikes"):
        reference_solve(lif, {}, single(7.0), [[0.0]], 2.0, max_spikes=1)
    weak = kernel_model("s*exp(-s)", "theta*(1 - exp(-s))", "theta", {"theta": 0.2})  # reset(0+) = 0
    with pytest.raises(SimulationError, match="after the reset"):
        reference_solve(weak, {}, single(1.0), [[0.0]], 3.0)
    below = kernel_model("s*exp(-s)", "0.5 + 0*s", "theta", {"theta": -0.5})
    with pytest.raises(SimulationError, match="V\\(0\\)"):
        reference_solve(below, {}, single(1.0), [[0.0]], 3.0)
    with pytest.raises(InputSpikeError):
        reference_solve(lif, {}, single(7.0), [[0.5, 0.1]], 2.0)
    with pytest.raises(ModelError):
        reference_solve(lif, {"tau": 1.0}, single(7.0), [[0.0]], 2.0)
    with pytest.raises(SimulationError, match="'theta'.*spike counts"):
        # the peak of V exceeds theta by ~1e-18, less than the FD step 10^-((30 + 15) // 3) = 1e-15:
        # the spike disappears under the perturbation.
        reference_solve(kmodel, {}, single(1.0 + 2.0 ** -60), [[0.0]], 3.0, dps=30, finite_differences=True,
                        fd_subset=[("model", "theta")])


def test_result_helpers(lif):
    net = Network.feedforward([[[7.0, 0.0]]])
    res = reference_solve(lif, {}, net, [[0.0]], 2.0, dps=30)
    assert isinstance(res, ReferenceResult) and res.dps == 30
    assert res.first_spike_times([0, 1]) == [res.spikes[0][0], None]
    arr = res.as_float()
    assert arr["times"].shape == (2,) and arr["d_weights"].shape == (2, 2) and arr["d_model"].shape == (2, 3)
    assert "d_weights_fd" not in arr and res.d_weights_fd is None
    assert np.all(arr["vdot"] > 0)
    assert arr["times"][0] == pytest.approx(0.18955546, abs=1e-8)


def test_compiled_kernels_match_sympy():
    a = sympy.Symbol("a", positive=True)
    exprs = [sympy.sqrt(S) * a, S ** sympy.Rational(3, 2) / a, sympy.tanh(S / a), S / 3 + sympy.pi,
             sympy.Float("0.1") * sympy.exp(-S) * sympy.cos(S), 2 ** S, sympy.Abs(S - 1) * sympy.log(1 + S),
             a ** S, S ** a]
    with working_precision(40):
        s_mp, a_mp = mp.mpf(7) / 10, mp.mpf(13) / 10
        for e in exprs:
            bind = compile_kernel(e, S, [a])
            exact = mp.mpf(str(sympy.N(e.subs({S: sympy.Rational(7, 10), a: sympy.Rational(13, 10)}), 50)))
            assert abs(bind(mp, (a_mp,))(s_mp) - exact) < mpmath.mpf("1e-38")
            box = bind(iv, (iv.mpf(a_mp),))(iv.mpf(7) / 10)  # encloses the exact value
            assert lower(box) <= exact <= upper(box)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_two_layer_networks_ift_vs_fd(lif, seed):
    rng = np.random.default_rng(seed)
    w1, w2 = rng.uniform(1.0, 6.0, (2, 3)), rng.uniform(1.0, 5.0, (3, 2))
    d1, d2 = rng.uniform(0.0, 0.3, (2, 3)), rng.uniform(0.0, 0.3, (3, 2))
    net = Network.feedforward([w1, w2], [d1, d2])
    inputs = [sorted(rng.uniform(0.0, 1.0, 2).tolist()), rng.uniform(0.0, 1.0, 1).tolist()]
    # dps = 60 (h = 1e-20): a spike with a small dV/dt makes the O(h^2) FD truncation error
    # visible at dps = 50 (seed 1: 2e-25, shrinking by h^2 as dps grows: the IFT side is exact).
    res = reference_solve(lif, {"tau_syn": 0.4, "tau_mem": 1.1}, net, inputs, 3.0, dps=60,
                          finite_differences=True)
    assert res.certified and res.n_spikes > 0
    assert fd_gap(res) < mpmath.mpf("1e-30")
