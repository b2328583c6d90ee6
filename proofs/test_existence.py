"""Checks for existence.md: differentiability on the regular set, and a counterexample per condition.

Running example (existence.md, Section 4, and proofs/README.md): LIF with tau_syn = 0.5,
tau_mem = 1, theta = 1, so psp(s) = exp(-s) - exp(-2 s), and one input at time 0 with weight w
gives V(t) = w psp(t).
"""

import mpmath as mp
import pytest

from . import cases
from .mp_network import central_difference, forward_propagation, ift_system, simulate as _simulate

DPS = 50


def simulate(net):
    """Simulation that resolves potentials down to 1e-45 below theta (monotone approaches only)."""
    return _simulate(net, min_width=mp.mpf("1e-45"))


def psp(s):
    return mp.exp(-s) - mp.exp(-2 * s)


def dpsp(s):
    return -mp.exp(-s) + 2 * mp.exp(-2 * s)


def t_first(w):
    """Eq. (4.1): first solution of w psp(t) = 1, i.e. -log((1 + sqrt(1 - 4/w)) / 2), for w >= 4."""
    return -mp.log((1 + mp.sqrt(1 - 4 / w)) / 2)


def one_input(w, t_max):
    return cases.single_neuron(cases.lif_kernels(), cases.LIF_Q, [[0]], [w], t_max)


def first_spike_loss(rec):
    """The case format's first_spike_sum loss for one output: its first spike, or t_max if silent."""
    return rec.spikes[0][0] if rec.spikes[0] else rec.net.t_max


def test_ift_derivative_equals_finite_differences_on_regular_set():
    """Theorem 1 item 3, eqs. (2.2)-(2.3): at a regular point every spike time is differentiable in
    every weight, delay, input time, tau_syn, tau_mem and theta, with the derivative (2.2).

    Two inputs (one inhibitory), two output spikes, nine parameters; central differences at
    h = 1e-15 and 50 digits agree with eq. (2.2) to < 1e-20 (a wrong formula would be off by far more).
    """
    with mp.workdps(DPS):
        net = cases.single_neuron(cases.lif_kernels(), cases.LIF_Q, [[0], [0.25]], [8, -1], 3,
                                  delays=[mp.mpf("0.01"), mp.mpf("0.02")])
        rec = simulate(net)
        assert len(rec.spikes[0]) == 2
        sys_ = ift_system(rec)
        assert min(sys_.vdot) > 0.5  # transversal
        jac = forward_propagation(sys_)
        h = mp.mpf("1e-15")
        for key in sys_.keys:
            fd = central_difference(net, key, h, lambda r: list(r.spikes[0]))
            for e in range(2):
                assert abs(fd[e] - jac[e][key]) < mp.mpf("1e-20"), (key, e)
            assert any(abs(jac[e][key]) > 1e-3 for e in range(2)), key  # not vacuous


def test_grazing_spike_time_has_square_root_law():
    """Proposition 2, eqs. (4.1)-(4.3): at w_c = 4 the crossing is tangent at t_c = log 2, and
    t*(w) = log 2 - sqrt(w - 4)/2 + O(w - 4), so dt*/dw ~ -1/(4 sqrt(w - 4)) -> -infinity.

    Checks: the closed form (4.1) is the simulator's first crossing; (t* - log 2)/sqrt(h) -> -1/2;
    the IFT derivative -psp/(w psp') at w_c + h grows like h^(-1/2) (it would stay bounded if the
    spike time were C^1 up to the boundary).
    """
    with mp.workdps(DPS):
        for w in (mp.mpf(5), 4 + mp.mpf("1e-6")):
            rec = simulate(one_input(w, 3))
            assert abs(rec.spikes[0][0] - t_first(w)) < mp.mpf("1e-40")
        ratios, slopes = [], []
        for h in (mp.mpf("1e-20"), mp.mpf("1e-24")):
            t = t_first(4 + h)
            ratios.append((t - mp.log(2)) / mp.sqrt(h))
            slopes.append(-psp(t) / ((4 + h) * dpsp(t)))
        for r in ratios:
            assert abs(r + mp.mpf(1) / 2) < mp.mpf("1e-9")
        assert abs(slopes[0] * 4 * mp.sqrt(mp.mpf("1e-20")) + 1) < mp.mpf("1e-9")
        assert abs(slopes[1] / slopes[0] - 100) < mp.mpf("1e-6")  # h / 1e4  ->  slope * 1e2
        assert abs(slopes[1]) > mp.mpf("1e11")


def test_grazing_makes_first_spike_loss_jump():
    """Proposition 2, eq. (4.4): below w_c the neuron is silent (L = T = 3, certified by the
    scan), just above it fires at ~log 2, so L jumps by ~T - log 2 (2.3074 at w = 4 -/+ 1e-6)."""
    with mp.workdps(DPS):
        h = mp.mpf("1e-6")
        below = simulate(one_input(4 - h, 3))
        above = simulate(one_input(4 + h, 3))
        assert below.spikes[0] == [] and len(above.spikes[0]) == 1
        jump = first_spike_loss(below) - first_spike_loss(above)
        assert abs(jump - (3 - mp.log(2))) < 1e-3
        assert jump > 2.3


def _two_inputs(w2, a):
    return cases.single_neuron(cases.lif_kernels(), cases.LIF_Q, [[0], [a]], [5, w2], 3)


def test_coincidence_with_excitatory_input_gives_a_kink():
    """Proposition 3 (a), eq. (4.5): w1 = 5 at time 0 fires at t1; a second input (w2 = 2) at time a.
    For a > t1 the spike does not move (slope 0); for a < t1 the one-sided slope tends to
    w2 psp'(0+) / (Vdot1 + w2 psp'(0+)) = 2 / (Vdot1 + 2) = 0.5528. The two one-sided slopes differ."""
    with mp.workdps(DPS):
        t1 = t_first(mp.mpf(5))
        vdot1 = 5 * dpsp(t1)
        h = mp.mpf("1e-25")
        t_right = simulate(_two_inputs(2, t1 + h)).spikes[0][0]
        t_left = simulate(_two_inputs(2, t1 - h)).spikes[0][0]
        right = (t_right - t1) / h
        left = (t1 - t_left) / h
        predicted = 2 / (vdot1 + 2)
        assert abs(right) < mp.mpf("1e-20")
        assert abs(left - predicted) < mp.mpf("1e-15")
        assert abs(predicted - mp.mpf("0.5527864045")) < 1e-9
        assert left - right > mp.mpf("0.5")


def test_coincidence_with_inhibitory_input_makes_spike_vanish():
    """Proposition 3 (b): same neuron, w2 = -3 < -Vdot1. An inhibitory input arriving 1e-6 after
    t1 leaves the spike at t1; arriving 1e-6 before t1 it turns Vdot negative while V < theta,
    and the neuron stays silent on [0, 3] (certified by the scan): L jumps by 3 - t1."""
    with mp.workdps(DPS):
        t1 = t_first(mp.mpf(5))
        assert 5 * dpsp(t1) - 3 < 0
        h = mp.mpf("1e-6")
        late = simulate(_two_inputs(-3, t1 + h))
        early = simulate(_two_inputs(-3, t1 - h))
        assert len(late.spikes[0]) == 1 and abs(late.spikes[0][0] - t1) < mp.mpf("1e-40")
        assert early.spikes[0] == []
        assert first_spike_loss(early) - first_spike_loss(late) > 2.6


def test_spike_at_t_max_gives_one_sided_derivatives():
    """Proposition 4, eq. (4.6): T = 0.5 and w_T = 1/psp(T) put the spike exactly at T.
    With L = first spike time (T if silent): left derivative 0, right derivative
    -psp(T)/(w_T psp'(T)) = -0.44073."""
    with mp.workdps(DPS):
        t_max = mp.mpf("0.5")
        w_t = 1 / psp(t_max)
        h = mp.mpf("1e-20")
        loss_at = first_spike_loss(simulate(one_input(w_t, t_max)))
        assert abs(loss_at - t_max) < mp.mpf("1e-40")
        left = (loss_at - first_spike_loss(simulate(one_input(w_t - h, t_max)))) / h
        right = (first_spike_loss(simulate(one_input(w_t + h, t_max))) - loss_at) / h
        predicted = -psp(t_max) / (w_t * dpsp(t_max))
        assert left == 0
        assert abs(right - predicted) < mp.mpf("1e-15")
        assert abs(predicted + mp.mpf("0.440727288142")) < 1e-11


@pytest.mark.parametrize("w", [mp.mpf(5), mp.mpf(8)])
def test_closed_form_4_1_solves_threshold_equation(w):
    """Eq. (4.1) is a root of w psp(t) = 1 (support for the counterexamples above)."""
    with mp.workdps(DPS):
        assert abs(w * psp(t_first(w)) - 1) < mp.mpf("1e-45")
