"""Checks for second_order.md: the second-order IFT of spike times and forward-over-adjoint HVPs.

The formulas are evaluated here in mpmath (50 digits) on the proofs' own simulator (``mp_network``),
with kernels lambdified from the model's SymPy expressions, and compared with closed forms and with
finite differences of spike times and of the first-order adjoint gradient.
"""

import mpmath as mp
import sympy

from exactsnn.model import S
from exactsnn.models import lif

from . import cases
from .mp_network import adjoint, ift_system, simulate

DPS = 50


# ---------------------------------------------------------------------------- the formulas, in mpmath
def _second_kernels():
    m = lif.build()
    syms = [m.symbols[n] for n in m.param_names]
    f = lambda e: sympy.lambdify([S] + syms, e, modules="mpmath")  # noqa: E731
    return f(sympy.diff(m.psp, S, 2)), f(sympy.diff(m.reset, S, 2))


def _edges(rec):
    """Per spike (time order): [(syn or None, w, s, source)], source = ("x", c, f) or a spike's position."""
    index = {e: n for n, e in enumerate(rec.events)}
    out = []
    for i, kk in rec.events:
        t = rec.spikes[i][kk]
        row = []
        for a, w, syn, src in rec.arrivals[i]:
            if a < t:
                row.append((syn, w, t - a, ("x", src[1], src[2]) if src[0] == "in" else index[(src[1], src[2])]))
        row += [(None, 0, t - rec.spikes[i][m], index[(i, m)]) for m in range(kk)]
        out.append(row)
    return out


def _tau_dot(syn, src, v, tdot):
    x = v.get(src, 0) if isinstance(src, tuple) else tdot[src]
    return x + (v.get(("d", syn), 0) if syn is not None else 0)


def second_tangent(rec, v):
    """Eqs. (2.2)-(2.3) along direction ``v`` (key -> value): lists (t_dot, t_ddot, vdot) in time order."""
    k, q = rec.net.kern, rec.net.q
    d2psp, d2reset = _second_kernels()
    tdot, tdd, vdots = [], [], []
    for n, row in enumerate(_edges(rec)):
        vd = sum((w * k.dpsp(s, *q) if syn is not None else -k.dreset(s, *q) for syn, w, s, _ in row), mp.mpf(0))
        first = mp.mpf(0)
        for syn, w, s, src in row:
            x = _tau_dot(syn, src, v, tdot)
            first += (k.psp(s, *q) * v.get(("w", syn), 0) - w * k.dpsp(s, *q) * x) if syn is not None \
                else k.dreset(s, *q) * x
        tdot.append(-first / vd)
        acc = mp.mpf(0)
        for syn, w, s, src in row:
            u = tdot[n] - _tau_dot(syn, src, v, tdot)
            dd = 0 if isinstance(src, tuple) else tdd[src]
            if syn is not None:
                acc += w * d2psp(s, *q) * u**2 + 2 * v.get(("w", syn), 0) * k.dpsp(s, *q) * u - w * k.dpsp(s, *q) * dd
            else:
                acc += -d2reset(s, *q) * u**2 + k.dreset(s, *q) * dd
        tdd.append(-acc / vd)
        vdots.append(vd)
    return tdot, tdd, vdots


def hvp_forward_over_adjoint(rec, g, hess_l, v):
    """Theorem 2: ``(d2 L/dq2) v`` for ``L`` with ``dl/dt = g`` and ``d2l/dt2 = diag(hess_l)``; dict by key."""
    k, q = rec.net.kern, rec.net.q
    d2psp, d2reset = _second_kernels()
    sys_ = ift_system(rec)
    tdot, _, vdots = second_tangent(rec, v)
    lam, _ = adjoint(sys_, g)
    mu = [-lam[e] / vdots[e] for e in range(len(lam))]
    w_t = [hess_l[e] * tdot[e] for e in range(len(lam))]
    w_q = {key: mp.mpf(0) for key in sys_.keys}
    for n, row in enumerate(_edges(rec)):
        for syn, w, s, src in row:
            u = tdot[n] - _tau_dot(syn, src, v, tdot)
            if syn is not None:
                a = mu[n] * (w * d2psp(s, *q) * u + k.dpsp(s, *q) * v.get(("w", syn), 0))
                w_q[("w", syn)] += mu[n] * k.dpsp(s, *q) * u
                w_q[("d", syn)] -= a
            else:
                a = -mu[n] * d2reset(s, *q) * u
            w_t[n] += a
            if isinstance(src, tuple):
                w_q[src] -= a
            else:
                w_t[src] -= a
    _, back = adjoint(sys_, w_t)
    return {key: w_q[key] + back[key] for key in sys_.keys}


# ---------------------------------------------------------------------------- checks
def test_scalar_second_order_ift_equals_implicit_differentiation():
    """Eq. (1.1) equals SymPy's implicit differentiation (idiff) on two equations F(t, x) = 0."""
    t, x = sympy.symbols("t x")
    for F in (x * (sympy.exp(-t) - sympy.exp(-2 * t)) - 1, t**3 + x * t - x**2 - sympy.sin(x * t)):
        ft, fx = sympy.diff(F, t), sympy.diff(F, x)
        t1 = -fx / ft
        formula = -(sympy.diff(F, t, 2) * t1**2 + 2 * sympy.diff(F, t, x) * t1 + sympy.diff(F, x, 2)) / ft
        assert sympy.simplify(formula - sympy.idiff(F, t, x, 2)) == 0


def test_table_of_second_partials():
    """Section 2, the table: second partials of w psp(t - tau) and -reset(t - t_m) for lif."""
    m = lif.build()
    t, tau, w = sympy.symbols("t tau w")
    psp = lambda e: m.psp.subs(S, e)  # noqa: E731
    d1, d2 = (sympy.diff(m.psp, S, n).subs(S, t - tau) for n in (1, 2))
    term = w * psp(t - tau)
    expected = {(t, t): w * d2, (t, tau): -w * d2, (tau, tau): w * d2, (t, w): d1, (tau, w): -d1, (w, w): 0}
    for (a, b), e in expected.items():
        assert sympy.simplify(sympy.diff(term, a, b) - e) == 0
    r2 = sympy.diff(m.reset, S, 2).subs(S, t - tau)
    reset_term = -m.reset.subs(S, t - tau)
    for (a, b), e in {(t, t): -r2, (t, tau): r2, (tau, tau): -r2}.items():
        assert sympy.simplify(sympy.diff(reset_term, a, b) - e) == 0


def test_own_reset_example_matches_closed_form_second_derivative():
    """Theorem 1 on the own_reset.md example (LIF, one input, weight 8, two spikes): t_1''(w) and
    t_2''(w) equal the second derivatives of the closed forms (own_reset.md (3.2)-(3.3)) to 1e-45.
    Dropping the own-reset terms of (2.2)-(2.3) misses t_2'' by more than 1e-3."""
    wsym = sympy.Symbol("w", positive=True)
    x1 = (1 + sympy.sqrt(1 - 4 / wsym)) / 2
    c = wsym - 1 / x1
    x2 = (c + sympy.sqrt(c**2 - 4 * wsym)) / (2 * wsym)
    with mp.workdps(DPS):
        rec = simulate(cases.single_neuron(cases.lif_kernels(), cases.LIF_Q, [[0]], [8], 3))
        assert len(rec.spikes[0]) == 2
        _, tdd, _ = second_tangent(rec, {("w", 0): mp.mpf(1)})
        for got, expr in zip(tdd, (-sympy.log(x1), -sympy.log(x2))):
            exact = mp.mpf(sympy.N(sympy.diff(expr, wsym, 2).subs(wsym, 8), 60))
            assert abs(got - exact) < mp.mpf("1e-45") * abs(exact)
        # the second spike's curvature without its own-reset terms (the first spike is a parent only via reset)
        t1, t2 = rec.spikes[0]
        d2psp, d2reset = _second_kernels()
        k, q = rec.net.kern, rec.net.q
        tdot, _, vd = second_tangent(rec, {("w", 0): mp.mpf(1)})
        own = -d2reset(t2 - t1, *q) * (tdot[1] - tdot[0]) ** 2 + k.dreset(t2 - t1, *q) * tdd[0]
        assert abs(own / vd[1]) > 1e-3


def _direction():
    return {("w", 0): mp.mpf("0.3"), ("w", 1): mp.mpf("-0.5"), ("w", 2): mp.mpf("0.7"), ("w", 3): mp.mpf("0.2"),
            ("d", 0): mp.mpf("0.4"), ("d", 2): mp.mpf("-0.6"), ("x", 0, 1): mp.mpf("0.25"),
            ("x", 1, 0): mp.mpf("-0.35")}


def _moved(net, v, h):
    for key, val in v.items():
        net = net.perturbed(key, h * val)
    return net


def test_directional_second_derivative_matches_second_differences():
    """Theorem 1 on cases.two_layer_lif (three spikes of neuron 0, two of neuron 1: every edge kind and
    parent-of-parent chains) along a direction in weights, delays and input times equals
    (t(q + h v) - 2 t(q) + t(q - h v)) / h^2, h = 1e-12, to 1e-18 relative."""
    with mp.workdps(DPS):
        net, v, h = cases.two_layer_lif(), _direction(), mp.mpf("1e-12")
        rec = simulate(net)
        assert [len(s) for s in rec.spikes] == [3, 2]
        _, tdd, _ = second_tangent(rec, v)
        up, down = simulate(_moved(net, v, h)), simulate(_moved(net, v, -h))
        for n, (i, kk) in enumerate(rec.events):
            fd = (up.spikes[i][kk] - 2 * rec.spikes[i][kk] + down.spikes[i][kk]) / h**2
            assert abs(tdd[n] - fd) < mp.mpf("1e-18") * max(1, abs(tdd[n])), (i, kk)
        assert max(abs(x) for x in tdd) > mp.mpf("0.01")


def test_forward_over_adjoint_equals_difference_of_exact_gradients():
    """Theorem 2 on cases.two_layer_lif with L = sum_e c_e t_e + sum_e b_e t_e^2 / 2: the HVP equals
    (grad L(q + h v) - grad L(q - h v)) / 2h of the first-order adjoint gradient, h = 1e-15, to 1e-25
    relative, in every weight, delay and input-time entry."""
    with mp.workdps(DPS):
        net, v, h = cases.two_layer_lif(), _direction(), mp.mpf("1e-15")
        c = [mp.mpf(x) for x in ("0.5", "-1.2", "0.8", "1.5", "-0.7")]
        b = [mp.mpf(x) for x in ("0.3", "1.1", "-0.4", "0.9", "0.6")]

        def grad(r):
            t = [r.time(e) for e in r.events]
            return adjoint(ift_system(r), [c[n] + b[n] * t[n] for n in range(len(t))])[1]

        rec = simulate(net)
        got = hvp_forward_over_adjoint(rec, [c[n] + b[n] * rec.time(e) for n, e in enumerate(rec.events)], b, v)
        gu, gd = grad(simulate(_moved(net, v, h))), grad(simulate(_moved(net, v, -h)))
        scale = max(abs(x) for x in got.values())
        for key in got:
            if key[0] == "q":
                continue  # model parameters: not covered by Section 2
            assert abs(got[key] - (gu[key] - gd[key]) / (2 * h)) < mp.mpf("1e-25") * scale, key


def test_hvp_is_symmetric():
    """Section 3, symmetry: u . (H v) == v . (H u) for two directions, to 1e-40."""
    with mp.workdps(DPS):
        rec = simulate(cases.two_layer_lif())
        g = [mp.mpf(x) for x in ("0.5", "-1.2", "0.8", "1.5", "-0.7")]
        hl = [mp.mpf(x) for x in ("0.3", "1.1", "-0.4", "0.9", "0.6")]
        v = _direction()
        u = {("w", 1): mp.mpf("0.9"), ("w", 2): mp.mpf("-0.2"), ("d", 1): mp.mpf("0.5"), ("d", 3): mp.mpf("0.3"),
             ("x", 0, 0): mp.mpf("-0.6")}
        hv, hu = hvp_forward_over_adjoint(rec, g, hl, v), hvp_forward_over_adjoint(rec, g, hl, u)
        lhs = sum((u.get(key, 0) * x for key, x in hv.items()), mp.mpf(0))
        rhs = sum((v.get(key, 0) * x for key, x in hu.items()), mp.mpf(0))
        assert abs(lhs - rhs) < mp.mpf("1e-40") * max(abs(lhs), 1)
        assert abs(lhs) > 1e-3


def test_model_parameter_rows_of_the_lagrangian_edge_pass():
    """Section 4: for lif, F = w psp(t - tau; p) - reset(t - t_m; p) - threshold(p) with p = (tau_syn, tau_mem,
    threshold), the Hessian of F in (t, tau, t_m, w, p) applied to a direction equals the rows the edge pass adds
    (the table of Section 4 together with that of Section 2), at a rational point (tau_syn != tau_mem) to 40
    digits."""
    m = lif.build()
    ps = [m.symbols[n] for n in m.param_names]
    t, tau, tm, w = sympy.symbols("t tau t_m w")
    F = w * m.psp.subs(S, t - tau) - m.reset.subs(S, t - tm) - m.threshold
    xs = [t, tau, tm, w] + ps
    d = sympy.symbols("d0:%d" % len(xs))
    hd = sympy.hessian(F, xs) * sympy.Matrix(d)
    dt, dtau, dtm, vw, vp = d[0], d[1], d[2], d[3], sympy.Matrix(d[4:])
    at = lambda e, s: e.subs(S, s)  # noqa: E731
    ua, um = dt - dtau, dt - dtm
    psp_sp = sympy.Matrix([at(sympy.diff(m.psp, S, q), t - tau) for q in ps])
    psp_p = sympy.Matrix([at(sympy.diff(m.psp, q), t - tau) for q in ps])
    psp_pp = sympy.Matrix([[at(sympy.diff(m.psp, a, b), t - tau) for b in ps] for a in ps])
    rs_sp = sympy.Matrix([at(sympy.diff(m.reset, S, q), t - tm) for q in ps])
    rs_pp = sympy.Matrix([[at(sympy.diff(m.reset, a, b), t - tm) for b in ps] for a in ps])
    th_pp = sympy.hessian(m.threshold, ps)
    p2, r2 = at(sympy.diff(m.psp, S, 2), t - tau), at(sympy.diff(m.reset, S, 2), t - tm)
    p1 = at(sympy.diff(m.psp, S), t - tau)
    a_arr = w * p2 * ua + p1 * vw + w * (psp_sp.T * vp)[0]
    a_own = -(r2 * um + (rs_sp.T * vp)[0])
    want = [a_arr + a_own, -a_arr, -a_own, p1 * ua + (psp_p.T * vp)[0]]
    want += list(w * psp_sp * ua + vw * psp_p + w * psp_pp * vp - (rs_sp * um + rs_pp * vp) - th_pp * vp)
    point = dict(zip(list(xs) + list(d), [sympy.Rational(k, 7) for k in (23, 3, 1, 9, 3, 8, 6)] +
                     [sympy.Rational(k, 5) for k in (2, -3, 4, 1, -2, 3, 5)]))
    for i in range(len(xs)):  # equal as functions: exact at a rational point, then at 40 digits
        gap = (hd[i] - want[i]).subs(point)
        assert abs(sympy.N(gap, 40)) < sympy.Float("1e-35"), i
