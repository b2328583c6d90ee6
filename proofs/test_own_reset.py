"""Checks for own_reset.md: the own-reset term of the IFT, and what dropping it does.

Example (own_reset.md, Section 3): LIF with tau_syn = 0.5, tau_mem = 1, theta = 1, one input at
time 0 with weight w = 8, so V(t) = 8 (exp(-t) - exp(-2t)) - sum_k exp(-(t - t_k)); two spikes.
"""

import mpmath as mp
import sympy

from exactsnn.model import S
from exactsnn.models import lif, nonleaky_if

from . import cases
from .mp_network import central_difference, forward_propagation, ift_system, simulate

DPS = 50
W = 8


def example(w=W):
    return cases.single_neuron(cases.lif_kernels(), cases.LIF_Q, [[0]], [w], 3)


def closed_form_spikes():
    """Eqs. (3.2)-(3.3) as SymPy expressions in w: x_k = exp(-t_k) solve quadratics."""
    w = sympy.Symbol("w", positive=True)
    x1 = (1 + sympy.sqrt(1 - 4 / w)) / 2
    c = w - 1 / x1
    x2 = (c + sympy.sqrt(c**2 - 4 * w)) / (2 * w)
    return w, -sympy.log(x1), -sympy.log(x2)


def test_reset_derivative_in_own_spike_time():
    """Eqs. (1.3)-(1.4): dF/dt_i^{k'} = +reset'(t - t_i^{k'}); for lif this is
    -(theta/tau_mem) exp(-(t - t^{k'})/tau_mem); for non-leaky IF it is 0."""
    m = lif.build()
    th, tm = m.symbols["threshold"], m.symbols["tau_mem"]
    t, tk = sympy.symbols("t t_k", positive=True)
    f_term = -m.reset.subs(S, t - tk)          # the own-spike term of F = V - theta
    d = sympy.diff(f_term, tk)
    assert sympy.simplify(d - (-(th / tm) * sympy.exp(-(t - tk) / tm))) == 0
    assert sympy.simplify(d - sympy.diff(m.reset, S).subs(S, t - tk)) == 0
    n = nonleaky_if.build()
    assert sympy.diff(-n.reset.subs(S, t - tk), tk) == 0


def test_example_has_exactly_two_spikes_matching_closed_form():
    """Section 3: the simulator finds exactly two spikes on [0, 3], equal to eqs. (3.2)-(3.3)."""
    with mp.workdps(DPS):
        rec = simulate(example())
        assert len(rec.spikes[0]) == 2
        w, t1, t2 = closed_form_spikes()
        for got, expr in zip(rec.spikes[0], (t1, t2)):
            assert abs(got - mp.mpf(sympy.N(expr.subs(w, W), 60))) < mp.mpf("1e-45")
        assert abs(rec.spikes[0][0] - mp.mpf("0.158347183820374938893")) < 1e-20
        assert abs(rec.spikes[0][1] - mp.mpf("0.406746451638970513977")) < 1e-20


def test_second_spike_derivative_with_and_without_own_reset_term():
    """Section 3, Table 1: d t_2/d w with the own-reset term matches central differences
    (h = 1e-15, 50 digits) to < 1e-20 and matches the derivative of the closed form (3.3) to
    < 1e-45; without the term it is off by 0.0079303 (8.3 %). Same for tau_syn, tau_mem, theta."""
    with mp.workdps(DPS):
        net = example()
        rec = simulate(net)
        right = forward_propagation(ift_system(rec))
        wrong = forward_propagation(ift_system(rec, own_reset=False))
        h = mp.mpf("1e-15")
        w, _t1, t2 = closed_form_spikes()
        exact_sym = mp.mpf(sympy.N(sympy.diff(t2, w).subs(w, W), 60))
        assert abs(right[1][("w", 0)] - exact_sym) < mp.mpf("1e-45")
        measured = {}
        for key in [("w", 0), ("q", "tau_syn"), ("q", "tau_mem"), ("q", "threshold")]:
            fd = central_difference(net, key, h, lambda r: r.spikes[0][1])
            assert abs(right[1][key] - fd) < mp.mpf("1e-20"), key
            measured[key] = wrong[1][key] - fd
            # the first spike has no earlier own spike: both variants agree there
            assert right[0][key] == wrong[0][key]
        assert abs(right[1][("w", 0)] - mp.mpf("-0.0953090381479728")) < 1e-15
        assert abs(wrong[1][("w", 0)] - mp.mpf("-0.0873787344568158")) < 1e-15
        assert abs(measured[("w", 0)] - mp.mpf("0.0079303036911570")) < 1e-15
        for key, table_value in [(("q", "tau_syn"), "0.019561833"), (("q", "tau_mem"), "0.0051554717"),
                                 (("q", "threshold"), "-0.063442430")]:
            assert abs(measured[key] - mp.mpf(table_value)) < 1e-4 * abs(mp.mpf(table_value)), key


def test_missing_term_formula():
    """Eq. (2.1): wrong - right = reset'(t_2 - t_1) (dt_1/dw) / Vdot(t_2), evaluated independently."""
    with mp.workdps(DPS):
        rec = simulate(example())
        t1, t2 = rec.spikes[0]
        sys_ = ift_system(rec)
        right = forward_propagation(sys_)
        wrong = forward_propagation(ift_system(rec, own_reset=False))
        dreset = -mp.exp(-(t2 - t1))
        predicted = dreset * right[0][("w", 0)] / sys_.vdot[1]
        assert abs((wrong[1][("w", 0)] - right[1][("w", 0)]) - predicted) < mp.mpf("1e-45")
        assert abs(predicted) > 1e-3


def test_nonleaky_if_is_immune():
    """Remark 2: for non-leaky IF reset' = 0, so both variants coincide (and match differences)."""
    with mp.workdps(DPS):
        net = cases.single_neuron(cases.nonleaky_kernels(), ("0.5", "1"), [[0]], [9], 3)
        rec = simulate(net)
        assert len(rec.spikes[0]) == 4
        right = forward_propagation(ift_system(rec))
        wrong = forward_propagation(ift_system(rec, own_reset=False))
        fd = central_difference(net, ("w", 0), mp.mpf("1e-15"), lambda r: list(r.spikes[0]))
        for e in range(4):
            assert right[e][("w", 0)] == wrong[e][("w", 0)]
            assert abs(right[e][("w", 0)] - fd[e]) < mp.mpf("1e-20")
