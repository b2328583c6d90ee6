"""Checks for divided_differences.md: the Newton form of exponential sums (Leibniz's rule), the
Hermite-Genocchi shift form and the interval enclosure it gives, the Taylor series and the recursion
for G_k, the accuracy of the recursion, and the derivative rules used by ExpDD.fdiff.

The reference value of a divided difference is always the definition, eqs. (0.1)-(0.2), evaluated
with SymPy or with mpmath at a precision that absorbs the cancellation. Only the last test imports
exactsnn.numeric.expdd: it is a cross-check of the library against the definition, not part of
the proofs.
"""

import itertools
import math

import mpmath as mp
import pytest
import sympy

from exactsnn.model import S
from exactsnn.models import lif, lif_two_synapse

DPS = 50
#: extra digits for evaluating the definition (0.1): it cancels ~k * log10(1/gap) digits
GUARD = 70


def _zero(expr):
    return sympy.simplify(expr) == 0


# ------------------------------------------------------------------ the definition, eqs. (0.1)-(0.2)


def dd_sym(nodes, s=S):
    """Eq. (0.1), sum form, for distinct nodes: sum_r exp(-x_r s) / prod_{q != r} (x_r - x_q)."""
    return sympy.Add(*[sympy.exp(-x * s) / sympy.Mul(*[x - q for j, q in enumerate(nodes) if j != i])
                       for i, x in enumerate(nodes)])


def dd_rec_sym(nodes, s=S):
    """Eqs. (0.1)-(0.2) for nodes with repetitions: remove two different nodes x_i != x_j,
    f[X] = (f[X minus x_i] - f[X minus x_j]) / (x_j - x_i); if all nodes are x, (-s)^k/k! exp(-x s)."""
    nodes = list(nodes)
    for i, j in itertools.permutations(range(len(nodes)), 2):
        if nodes[i] != nodes[j]:
            without_i, without_j = nodes[:i] + nodes[i + 1:], nodes[:j] + nodes[j + 1:]
            return (dd_rec_sym(without_i, s) - dd_rec_sym(without_j, s)) / (nodes[j] - nodes[i])
    k = len(nodes) - 1
    return (-s) ** k / sympy.factorial(k) * sympy.exp(-nodes[0] * s)


def _dd_mp(nodes, s):
    nodes = sorted(nodes)
    if nodes[0] == nodes[-1]:
        k = len(nodes) - 1
        return (-s) ** k / mp.factorial(k) * mp.exp(-nodes[0] * s)
    return (_dd_mp(nodes[1:], s) - _dd_mp(nodes[:-1], s)) / (nodes[-1] - nodes[0])


def dd_mp(nodes, s):
    """Eqs. (0.1)-(0.2) in mpmath (smallest and largest node removed), GUARD extra digits."""
    with mp.workdps(mp.mp.dps + GUARD):
        value = _dd_mp([mp.mpf(x) for x in nodes], mp.mpf(s))
    return +value


def g_def(ys):
    """G_k(y) = (-1)^k g[0, y_1..y_k] with g(lam) = exp(-lam): eq. (2.1) at s = 1, m = 0."""
    return (-1) ** len(ys) * dd_mp([0] + list(ys), 1)


def simplex_quad(ys):
    """G_k by its integral over the simplex (eq. 2.1), k = 1 or 2, with mpmath.quad."""
    if len(ys) == 1:
        return mp.quad(lambda u: mp.exp(-u * ys[0]), [0, 1], method="gauss-legendre")
    y1, y2 = ys
    # u = a, v = (1 - a) b maps the unit square onto the triangle u, v >= 0, u + v <= 1
    return mp.quad(lambda a, b: (1 - a) * mp.exp(-a * y1 - (1 - a) * b * y2), [0, 1], [0, 1],
                   method="gauss-legendre")


# --------------------------------------------------------------------- Section 1: Newton form


def newton_coefficients(a, lam):
    """Prop. 1: v_r = a_r prod_{q != r} (lam_r - lam_q) and v[lam_1..lam_k] (sum form of (0.1))."""
    n = len(lam)
    v = [sympy.cancel(a[r] * sympy.Mul(*[lam[r] - lam[q] for q in range(n) if q != r])) for r in range(n)]
    return [sympy.cancel(sympy.Add(*[v[r] / sympy.Mul(*[lam[r] - lam[q] for q in range(k) if q != r])
                                     for r in range(k)]))
            for k in range(1, n + 1)]


def exp_coefficients(expr, rates):
    """{rate: coefficient} of expr = sum_r c_r exp(-rate_r s); asserts that expr has this form."""
    marks = sympy.symbols(f"E0:{len(rates)}")
    linear = expr.subs({sympy.exp(-r * S): e for r, e in zip(rates, marks)})
    assert not linear.has(S)
    coeffs = [sympy.cancel(sympy.diff(linear, e)) for e in marks]
    # constant partial derivatives and no constant term: linear in the exponentials
    assert not any(c.has(*marks) for c in coeffs)
    assert sympy.cancel(linear.subs({e: 0 for e in marks})) == 0
    return coeffs


def newton_sum(coeffs, lam, dd=dd_sym):
    """Right side of eq. (1.2): sum_k v[lam_1..lam_k] f[lam_k..lam_n]."""
    return sympy.Add(*[c * dd(lam[k:]) for k, c in enumerate(coeffs)])


@pytest.mark.parametrize("n", [2, 3, 4])
def test_newton_form_of_an_exponential_sum(n):
    """Lemma 1 and Proposition 1, eq. (1.2): for symbolic a_r and distinct symbolic rates lam_r,
    sum_k v[lam_1..lam_k] f[lam_k..lam_n] has coefficient exactly a_r on exp(-lam_r s).
    Pairing the coefficients with the heads f[lam_1..lam_k] instead of the tails does not."""
    lam = sympy.symbols(f"lambda1:{n + 1}", positive=True)
    a = sympy.symbols(f"a1:{n + 1}")
    coeffs = newton_coefficients(a, lam)
    got = exp_coefficients(newton_sum(coeffs, lam), lam)
    assert all(sympy.cancel(g - ar) == 0 for g, ar in zip(got, a))
    heads = sympy.Add(*[c * dd_sym(lam[:k + 1]) for k, c in enumerate(coeffs)])
    wrong = exp_coefficients(heads, lam)
    assert any(sympy.cancel(g - ar) != 0 for g, ar in zip(wrong, a))


def test_lif_psp_is_minus_a_divided_difference():
    """Example (a) of Section 1, eq. (1.3): the lif psp has v = (-1, -1), Newton coefficients (-1, 0),
    so psp = -f[1/tau_mem, 1/tau_syn], whose confluent value is s exp(-s/tau) (eq. 0.2)."""
    m = lif.build()
    ts, tm = m.symbols["tau_syn"], m.symbols["tau_mem"]
    lam = (1 / tm, 1 / ts)
    a = exp_coefficients(m.psp, lam)
    coeffs = newton_coefficients(a, lam)
    assert coeffs == [-1, 0]
    assert _zero(m.psp + dd_sym(lam))
    assert _zero(-dd_rec_sym([1 / tm, 1 / tm]) - S * sympy.exp(-S / tm))
    # the plain coefficients blow up like 1/(lam_1 - lam_2)
    assert _zero(a[0] * (lam[0] - lam[1]) + 1) and _zero(a[1] * (lam[0] - lam[1]) - 1)


def dual_exp_psp(tr, td, tm):
    """The 3-rate kernel tau_decay tau_mem sum_tau tau exp(-s/tau) / prod_{sigma != tau} (tau - sigma)."""
    taus = (tr, td, tm)
    return td * tm * sympy.Add(*[tau * sympy.exp(-S / tau) / sympy.Mul(*[tau - sig for sig in taus if sig is not tau])
                                 for tau in taus])


def test_dual_exponential_psp_newton_form():
    """Example (b) of Section 1, eq. (1.4): for the dual-exponential kernel every v_r equals 1/tau_rise,
    so psp = f[1/tau_decay, 1/tau_mem, 1/tau_rise] / tau_rise; checked symbolically and exactly at
    rational points, and its limit tau_rise -> tau_decay equals the confluent Newton form."""
    tr, td, tm = sympy.symbols("tau_rise tau_decay tau_mem", positive=True)
    psp = dual_exp_psp(tr, td, tm)
    lam = (1 / td, 1 / tm, 1 / tr)
    a = exp_coefficients(psp, lam)
    assert newton_coefficients(a, lam) == [1 / tr, 0, 0]
    newton = dd_sym(lam) / tr
    for point in [(sympy.Rational(1, 10), sympy.Rational(1, 2), 1),
                  (sympy.Rational(2, 7), sympy.Rational(3, 5), sympy.Rational(4, 3))]:
        sub = dict(zip((tr, td, tm), point))
        assert _zero(psp.subs(sub) - newton.subs(sub))
        with mp.workdps(DPS):
            for s_val in ("0.3", "2.5"):
                x = sympy.N(psp.subs(sub).subs(S, sympy.Rational(s_val)), DPS)
                y = dd_mp([1 / mp.mpf(point[1]), 1 / mp.mpf(point[2]), 1 / mp.mpf(point[0])], mp.mpf(s_val))
                assert abs(mp.mpf(str(x)) - y / mp.mpf(point[0])) < mp.mpf("1e-45")
    # continuity: at tau_rise = tau_decay the right side is the confluent divided difference
    sub = {td: sympy.Rational(1, 2), tm: 1}
    lim = sympy.limit(psp.subs(sub), tr, sympy.Rational(1, 2))
    assert _zero(lim - dd_rec_sym([2, 1, 2]) * 2)


def test_two_synapse_psp_newton_form():
    """Example (c) of Section 1, eq. (1.5): the lif_two_synapse psp in the rate order
    (1/tau_mem, 1/tau_slow, 1/tau_fast) has the regular Newton coefficients
    (-(lam_m - phi lam_f - (1 - phi) lam_s), -1, 0); the identity holds exactly at rational points,
    and at tau_fast = tau_mem the Newton form with a repeated node is the limit of the psp."""
    m = lif_two_synapse.build()
    tf, tsl, phi, tm = (m.symbols[k] for k in ("tau_fast", "tau_slow", "frac_slow", "tau_mem"))
    lam = (1 / tm, 1 / tsl, 1 / tf)
    coeffs = newton_coefficients(exp_coefficients(m.psp, lam), lam)
    expected = [-(lam[0] - phi * lam[2] - (1 - phi) * lam[1]), sympy.Integer(-1), sympy.Integer(0)]
    assert all(sympy.cancel(c - e) == 0 for c, e in zip(coeffs, expected))
    newton = newton_sum(expected, lam)
    point = {tf: sympy.Rational(1, 4), tsl: 2, phi: sympy.Rational(3, 10), tm: 1}
    assert _zero((m.psp - newton).subs(point))
    point_eq = {tsl: 2, phi: sympy.Rational(3, 10), tm: 1}
    lim = sympy.limit(m.psp.subs(point_eq), tf, 1)
    confluent = newton_sum([c.subs(point_eq).subs(tf, 1) for c in expected], (1, sympy.Rational(1, 2), 1),
                           dd=dd_rec_sym)
    assert _zero(lim - confluent)


# ------------------------------------------------------------ Section 2: Hermite-Genocchi


def test_shift_form_symbolic():
    """Proposition 2, eq. (2.1), k = 1, 2: the simplex integral G_k (sympy.integrate) times
    (-s)^k exp(-m s) equals the definition (0.1) for symbolic sorted distinct nodes; G_k(0) = 1/k!
    for k = 1, 2, 3 (the simplex volume); the Dirichlet integral used in Prop. 3 for small exponents."""
    m, d1, d2, y1, y2, u, v, w = sympy.symbols("m d1 d2 y1 y2 u v w", positive=True)
    g1 = sympy.integrate(sympy.exp(-u * y1), (u, 0, 1))
    assert _zero(-S * sympy.exp(-m * S) * g1.subs(y1, d1 * S) - dd_sym([m, m + d1]))
    g2 = sympy.integrate(sympy.exp(-u * y1 - v * y2), (v, 0, 1 - u), (u, 0, 1), conds="none")
    lhs = S**2 * sympy.exp(-m * S) * g2.subs({y1: d1 * S, y2: (d1 + d2) * S}, simultaneous=True)
    assert _zero(lhs - dd_sym([m, m + d1, m + d1 + d2]))
    assert sympy.integrate(1, (u, 0, 1)) == 1
    assert sympy.integrate(1, (v, 0, 1 - u), (u, 0, 1)) == sympy.Rational(1, 2)
    assert sympy.integrate(1, (w, 0, 1 - u - v), (v, 0, 1 - u), (u, 0, 1)) == sympy.Rational(1, 6)
    # Dirichlet: int_simplex u^a v^b (1 - u - v)^c = a! b! c! / (a + b + c + 2)!
    for a_, b_, c_ in [(0, 0, 0), (1, 0, 0), (2, 1, 0), (3, 2, 1), (0, 4, 2)]:
        val = sympy.integrate(u**a_ * v**b_ * (1 - u - v) ** c_, (v, 0, 1 - u), (u, 0, 1))
        assert val == sympy.factorial(a_) * sympy.factorial(b_) * sympy.factorial(c_) / sympy.factorial(a_ + b_ + c_ + 2)


SHIFT_CASES = [  # (s, nodes): distinct, nearly equal, spread out, and with repeated nodes
    ("0.7", ["1", "2"]),
    ("3", ["0.5", "0.500001"]),
    ("7.5", ["2", "0.25"]),
    ("1.3", ["1", "2", "4"]),
    ("2", ["0.3", "0.300001", "0.3000015"]),
    ("6", ["3", "0.5", "1"]),
    ("1.1", ["1", "1", "2"]),
    ("2.5", ["0.5", "0.5", "0.5"]),
]


@pytest.mark.parametrize("s, nodes", SHIFT_CASES)
def test_shift_form_numeric(s, nodes):
    """Proposition 2, eq. (2.1), at 50 digits: (-s)^k exp(-m s) G_k(y) with G_k by mpmath.quad over the
    simplex equals the definition (0.1)-(0.2), for distinct, nearly equal, and repeated nodes
    (so the recursive definition with repeated nodes is the continuous extension)."""
    with mp.workdps(DPS):
        s = mp.mpf(s)
        xs = sorted(mp.mpf(x) for x in nodes)
        k = len(xs) - 1
        ys = [(x - xs[0]) * s for x in xs[1:]]
        shift = (-s) ** k * mp.exp(-xs[0] * s) * simplex_quad(ys)
        ref = dd_mp(xs, s)
        assert abs(shift - ref) < mp.mpf("1e-45") * abs(ref)


def test_g_positive_decreasing_bounded():
    """Proposition 2 (a)-(c): G_k > 0, dG_k/dy_i < 0, exp(-max y)/k! <= G_k <= 1/k! (so
    f[x_0..x_k] = (-s)^k/k! exp(-xi s) with xi between the nodes), and the scaling bound
    0 <= -sum_i y_i d_i log G_k <= k, with the upper end approached for large y."""
    with mp.workdps(30):
        samples = [[mp.mpf(y) for y in ys] for ys in (
            ["0"], ["0.3"], ["5"], ["0", "0"], ["0.2", "0.9"], ["1", "40"], ["0", "0", "1"],
            ["0.1", "2", "3"], ["7", "8", "30"], ["200"], ["200", "200", "200"])]
        for ys in samples:
            k = len(ys)
            g = g_def(ys)
            assert g > 0
            assert mp.exp(-max(ys)) / mp.factorial(k) <= g * (1 + mp.mpf("1e-25"))
            assert g <= 1 / mp.factorial(k) * (1 + mp.mpf("1e-25"))
            for i in range(k):
                def along(t, i=i):
                    return g_def([y + t if j == i else y for j, y in enumerate(ys)])
                assert mp.diff(along, 0, h=mp.mpf("1e-12")) < 0
            scale = -mp.diff(lambda t: g_def([t * y for y in ys]), 1) / g
            assert -mp.mpf("1e-20") <= scale <= k
        big = [mp.mpf(200)] * 3
        assert -mp.diff(lambda t: g_def([t * y for y in big]), 1) / g_def(big) > 2.9


ENCLOSURE_CASES = [  # (nodes, s_lo, s_hi)
    (["1", "1.0000000001"], "0.5", "0.75"),
    (["0.5", "3"], "0", "2"),
    (["1", "2", "4"], "1", "1.5"),
    (["2", "2", "2.000000001"], "0.1", "3"),
    (["0.1", "0.9", "0.9", "5"], "0.25", "0.5"),
]


@pytest.mark.parametrize("nodes, s_lo, s_hi", ENCLOSURE_CASES)
def test_enclosure_from_monotone_factors(nodes, s_lo, s_hi):
    """Corollary 2, eq. (2.3): on [s_lo, s_hi] the factors s^k, exp(-m s), G_k(y(s)) are positive and
    monotone (checked on a grid), so (-1)^k f[x] lies between the products of the endpoint values;
    the box does not widen as the gaps shrink (it only depends on s_hi - s_lo)."""
    with mp.workdps(30):
        xs = sorted(mp.mpf(x) for x in nodes)
        k, m = len(xs) - 1, xs[0]
        lo, hi = mp.mpf(s_lo), mp.mpf(s_hi)

        def factors(s):
            return [s**k, mp.exp(-m * s), g_def([(x - m) * s for x in xs[1:]])]

        f_lo, f_hi = factors(lo), factors(hi)
        box_lo = mp.fprod(min(a, b) for a, b in zip(f_lo, f_hi))
        box_hi = mp.fprod(max(a, b) for a, b in zip(f_lo, f_hi))
        grid = [lo + (hi - lo) * j / 40 for j in range(41)]
        vals = [factors(s) for s in grid]
        for col in range(3):
            steps = [vals[j + 1][col] - vals[j][col] for j in range(40)]
            assert all(d >= 0 for d in steps) or all(d <= 0 for d in steps)
        for s in grid:
            value = (-1) ** k * dd_mp(xs, s)
            assert box_lo * (1 - mp.mpf("1e-25")) <= value <= box_hi * (1 + mp.mpf("1e-25"))


def _box(xs, lo, hi):
    """Eq. (2.3): products of the smaller and of the larger endpoint values of the three factors."""
    k, m = len(xs) - 1, xs[0]
    ends = [[s**k, mp.exp(-m * s), g_def([(x - m) * s for x in xs[1:]])] for s in (lo, hi)]
    return mp.fprod(min(a, b) for a, b in zip(*ends)), mp.fprod(max(a, b) for a, b in zip(*ends))


def test_enclosure_width_does_not_depend_on_the_gap():
    """Corollary 2: for f[1, 1 + g] and f[1, 1 + g, 2] on s in [0.5, 0.501] the box (2.3) has the same
    width, to 1e-6 relative, for g = 1e-10 as for g = 0, while the plain quotient (0.1) in interval
    arithmetic (mpmath.iv) is more than 1e6 times wider for g = 1e-10."""
    with mp.workdps(30):
        lo, hi = mp.mpf("0.5"), mp.mpf("0.501")
        gap = mp.mpf("1e-10")
        for tail in ([], [mp.mpf(2)]):
            b_gap = _box([mp.mpf(1), 1 + gap] + tail, lo, hi)
            b_eq = _box([mp.mpf(1), mp.mpf(1)] + tail, lo, hi)
            w_gap, w_eq = b_gap[1] - b_gap[0], b_eq[1] - b_eq[0]
            assert abs(w_gap - w_eq) < mp.mpf("1e-6") * w_eq
        s_iv = mp.iv.mpf([str(lo), str(hi)])  # mpmath's interval context, double precision
        x0, x1 = mp.iv.mpf(1), mp.iv.mpf(1) + mp.iv.mpf("1e-10")
        naive = (mp.iv.exp(-x1 * s_iv) - mp.iv.exp(-x0 * s_iv)) / (x1 - x0)
        naive_width = mp.mpf(naive.b) - mp.mpf(naive.a)
        b = _box([mp.mpf(1), 1 + gap], lo, hi)
        assert naive_width > mp.mpf("1e6") * (b[1] - b[0])


# ------------------------------------------------------------------ Section 3: Taylor series


def h_complete(n, ys):
    """Complete homogeneous symmetric polynomial: the sum of all monomials of degree n."""
    return mp.fsum(mp.fprod(c) for c in itertools.combinations_with_replacement(ys, n))


def h_series(ys, terms):
    """h_0..h_{terms-1} as the coefficients of prod_i 1 / (1 - y_i t) (product of geometric series)."""
    out = [mp.mpf(1)] + [mp.mpf(0)] * (terms - 1)
    for y in ys:
        powers = [y**j for j in range(terms)]
        out = [mp.fsum(out[a] * powers[n - a] for a in range(n + 1)) for n in range(terms)]
    return out


def taylor(ys, terms):
    """Eq. (3.1) truncated after `terms` terms."""
    k = len(ys)
    return mp.fsum((-1) ** n * h / mp.factorial(n + k) for n, h in enumerate(h_series(ys, terms)))


def remainder_bound(rho, k, n_terms):
    """Eq. (3.2)."""
    n = n_terms
    return (mp.mpf(rho) ** n / (mp.factorial(k - 1) * mp.factorial(n) * (n + k))
            * (n + 1) / (n + 1 - mp.mpf(rho)))


TAYLOR_CASES = [["1e-12"], ["0.5"], ["0.999"], ["0", "1e-9"], ["1e-6", "0.3"], ["0.5", "0.999"],
                ["0", "0", "0"], ["1e-8", "2e-8", "0.5"], ["0.2", "0.7", "0.999"], ["0.999", "0.999", "0.999"]]


@pytest.mark.parametrize("ys", TAYLOR_CASES)
def test_taylor_series(ys):
    """Proposition 3, eqs. (3.1)-(3.2), at 50 digits: 30 terms of the series differ from G_k (the
    definition) by at most the bound (3.2), which is < 1e-33 relative for k <= 3 and max y < 1;
    60 terms agree to 1e-45; the sum of absolute values of the terms is at most exp(2 max y) G_k."""
    with mp.workdps(DPS):
        ys = [mp.mpf(y) for y in ys]
        k, rho = len(ys), max(ys)
        g = g_def(ys)
        hs = h_series(ys, 60)
        assert all(abs(hs[n] - h_complete(n, ys)) <= mp.mpf("1e-45") * hs[n] for n in range(7))
        err30 = abs(taylor(ys, 30) - g)
        assert err30 <= remainder_bound(rho, k, 30) * (1 + mp.mpf("1e-10")) + mp.mpf("1e-48")
        assert err30 < mp.mpf("1e-33") * g
        assert abs(taylor(ys, 60) - g) < mp.mpf("1e-45") * g
        absolute = mp.fsum(h / mp.factorial(n + k) for n, h in enumerate(hs))
        assert absolute <= mp.exp(2 * rho) * g


@pytest.mark.parametrize("ys", TAYLOR_CASES)
def test_taylor_terms_decrease(ys):
    """Proposition 3, eqs. (3.4)-(3.5), at 50 digits: h_{n+1}(y) = sum_i y_i h_n(y_i..y_k) (checked
    against the monomial sum for n < 6), the terms t_n = h_n / (n + k)! satisfy
    t_{n+1} <= k max(y) t_n / (n + k + 1), and the remainder after N terms is at most the first omitted
    term t_N, for N = 1..30 (which justifies stopping once a term is negligible)."""
    with mp.workdps(DPS):
        ys = [mp.mpf(y) for y in ys]
        k, rho = len(ys), max(ys)
        for n in range(6):
            split = mp.fsum(ys[i] * h_complete(n, ys[i:]) for i in range(k))
            assert abs(split - h_complete(n + 1, ys)) <= mp.mpf("1e-45") * (1 + split)
        g = g_def(ys)
        terms = [h / mp.factorial(n + k) for n, h in enumerate(h_series(ys, 32))]
        for n in range(31):
            assert terms[n + 1] <= k * rho * terms[n] / (n + k + 1) * (1 + mp.mpf("1e-40"))
        partial = mp.mpf(0)
        for n in range(31):
            if n > 0:
                assert abs(g - partial) <= terms[n] * (1 + mp.mpf("1e-30")) + mp.mpf("1e-48")
            partial += (-1) ** n * terms[n]


def test_taylor_remainder_numbers():
    """Eq. (3.3): for k <= 3 and max y < 1 the bound (3.2) after 30 terms is < 1.3e-34 absolute and,
    divided by the lower bound exp(-1)/k! of G_k, < 1e-33 relative (far below the 1e-26 quoted in
    expdd.py); after 15 terms the bound would not be below double precision's 1e-16 for k = 1."""
    with mp.workdps(DPS):
        for k in (1, 2, 3):
            b = remainder_bound(1, k, 30)
            assert b < mp.mpf("1.3e-34")
            assert b * mp.e * mp.factorial(k) < mp.mpf("1e-33")
        assert remainder_bound("0.999", 1, 15) * mp.e > mp.mpf("1e-16")


# ------------------------------------------------------------------- Section 4: the recursion


def recursion(ys):
    """Eq. (4.1): (G_{k-1}(y_1..y_{k-1}) - exp(-y_1) G_{k-1}(y_2 - y_1, .., y_k - y_1)) / y_k, the two
    G_{k-1} from the definition; evaluated with GUARD extra digits (for small y_k it cancels: that
    is why the code uses it only for y_k >= 1, Lemma 4)."""
    with mp.workdps(mp.mp.dps + GUARD):
        first = g_def(ys[:-1]) if len(ys) > 1 else mp.mpf(1)
        second = g_def([y - ys[0] for y in ys[1:]]) if len(ys) > 1 else mp.mpf(1)
        value = (first - mp.exp(-ys[0]) * second) / ys[-1]
    return +value


RECURSION_CASES = [["1e-9"], ["1"], ["50"], ["0", "1e-7"], ["1e-3", "2e-3"], ["0", "1"], ["0.5", "1"],
                   ["3", "3"], ["1", "50"], ["0", "0", "1e-5"], ["0", "0", "1"], ["0.2", "0.9", "1"],
                   ["1", "1", "1"], ["2", "10", "50"], ["1e-4", "20", "20.5"], ["0", "1", "2", "3"]]


@pytest.mark.parametrize("ys", RECURSION_CASES)
def test_recursion(ys):
    """Proposition 4, eq. (4.1), at 50 digits, for y near 0, around 1, up to 50, and repeated values.
    Dropping the factor exp(-y_1), or the sign, breaks it except when y_1 = 0."""
    with mp.workdps(DPS):
        ys = [mp.mpf(y) for y in ys]
        g = g_def(ys)
        assert abs(recursion(ys) - g) < mp.mpf("1e-45") * g
        if ys[0] > 0 and len(ys) > 1:
            no_exp = (g_def(ys[:-1]) - g_def([y - ys[0] for y in ys[1:]])) / ys[-1]
            assert abs(no_exp - g) > mp.mpf("1e-10") * g


def phi(k, big_y):
    """Eq. (4.2): phi_k(Y) = int_0^Y exp(-v) (1 - v/Y)^(k-1) dv."""
    return mp.quad(lambda v: mp.exp(-v) * (1 - v / big_y) ** (k - 1), [0, big_y])


def test_cancellation_bound():
    """Lemma 4, eqs. (4.2)-(4.4): y_k G_k >= phi_k(y_k) G_{k-1}(y_1..y_{k-1}) at sampled sorted points,
    with equality when y_1 = .. = y_{k-1} = 0; phi_k is increasing; phi_k(1) = 1 - 1/e, 1/e, 1 - 2/e,
    6/e - 2 (k = 1..4) and >= 1/(e k); the amplification 2/phi_k(1) - 1 is 2.16, 4.44, 6.57, 8.65."""
    with mp.workdps(30):
        e = mp.e
        closed = [1 - 1 / e, 1 / e, 1 - 2 / e, 6 / e - 2]
        amplification = ["2.164", "4.437", "6.569", "8.649"]
        for k in range(1, 5):
            p1 = phi(k, 1)
            assert abs(p1 - closed[k - 1]) < mp.mpf("1e-25")
            assert p1 >= 1 / (e * k)
            assert abs(2 / p1 - 1 - mp.mpf(amplification[k - 1])) < mp.mpf("1e-3")
            assert phi(k, mp.mpf("0.5")) < p1 < phi(k, 2) < phi(k, 20)
        for ys in (["0.3", "1"], ["1", "1"], ["0.9", "4"], ["0.5", "0.6", "1"], ["2", "3", "3"],
                   ["0", "0.4", "1.5"], ["0.1", "0.2", "0.3", "1"]):
            ys = [mp.mpf(y) for y in ys]
            assert ys[-1] * g_def(ys) >= phi(len(ys), ys[-1]) * g_def(ys[:-1])
        for big_y in ("1", "1.7", "9"):
            for k in (2, 3, 4):
                ys = [mp.mpf(0)] * (k - 1) + [mp.mpf(big_y)]
                assert abs(ys[-1] * g_def(ys) - phi(k, ys[-1]) * g_def(ys[:-1])) < mp.mpf("1e-25")


def _g_float(ys):
    """The evaluation scheme of Props. 3-4 in float64, written here for this check: G_1 by expm1,
    the Taylor series (30 terms) when max y < 1, the recursion (4.1) otherwise."""
    k = len(ys)
    if k == 0:
        return 1.0
    if k == 1:
        return 1.0 if ys[0] == 0.0 else -math.expm1(-ys[0]) / ys[0]
    if ys[-1] < 1.0:
        hs = [1.0] * k  # hs[j] = h_n(y_1..y_{j+1})
        total, fact = 0.0, float(math.factorial(k))
        for n in range(30):
            if n > 0:  # h_n(y_1..y_j) = y_j h_{n-1}(y_1..y_j) + h_n(y_1..y_{j-1})
                hs[0] *= ys[0]
                for j in range(1, k):
                    hs[j] = ys[j] * hs[j] + hs[j - 1]
                fact *= n + k
            total += (-1) ** n * hs[k - 1] / fact
        return total
    return (_g_float(ys[:-1]) - math.exp(-ys[0]) * _g_float([y - ys[0] for y in ys[1:]])) / ys[-1]


def test_float64_scheme_loses_little():
    """Section 4, accuracy: the scheme of Props. 3-4 carried out in float64 (own implementation) has
    relative error below 32 units of 2^-53 (19 measured) on a grid of sorted y with k <= 3, including the
    worst configuration (0, .., 0, 1) of Lemma 4 and points just below and above the switch at 1."""
    values = [0.0, 1e-9, 0.03, 0.4, 0.97, 0.999999, 1.0, 1.000001, 1.05, 1.6, 3.0, 12.0, 45.0]
    worst = 0.0
    with mp.workdps(30):
        for k in (1, 2, 3):
            for ys in itertools.combinations_with_replacement(values, k):
                ys = list(ys)
                ref = g_def([mp.mpf(y) for y in ys])
                worst = max(worst, float(abs(mp.mpf(_g_float(ys)) - ref) / ref))
    assert worst < 32 * 2.0**-53


# -------------------------------------------------------------- Section 5: derivatives


@pytest.mark.parametrize("n_nodes", [1, 2, 3])
def test_derivative_in_s(n_nodes):
    """Proposition 5, eq. (5.1): d/ds f[x_0..x_k] = -(x_0 f[x_0..x_k] + f[x_1..x_k]) for distinct
    symbolic nodes (diff of the explicit formula (0.1)), and with a repeated node (definition (0.2));
    the opposite sign of the tail term is wrong."""
    xs = list(sympy.symbols(f"x0:{n_nodes}", positive=True))
    f = dd_sym(xs)
    tail = dd_sym(xs[1:]) if n_nodes > 1 else 0
    assert _zero(sympy.diff(f, S) + xs[0] * f + tail)
    if n_nodes > 1:
        assert not _zero(sympy.diff(f, S) + xs[0] * f - tail)
        rep = [xs[0]] + xs  # x_0 repeated
        fr = dd_rec_sym(rep)
        assert _zero(sympy.diff(fr, S) + xs[0] * fr + dd_rec_sym(rep[1:]))


@pytest.mark.parametrize("n_nodes", [2, 3])
def test_derivative_in_a_node(n_nodes):
    """Proposition 5, eq. (5.2): d/dx_j f[x_0..x_k] = f[x_0..x_k, x_j] for 2 and 3 distinct symbolic
    nodes and every j (right side from the definition with a repeated node)."""
    xs = list(sympy.symbols(f"x0:{n_nodes}", positive=True))
    f = dd_sym(xs)
    for xj in xs:
        assert _zero(sympy.diff(f, xj) - dd_rec_sym(xs + [xj]))


def test_confluent_limits_and_chain_rule():
    """Eq. (0.2) and Prop. 5: f[x, x] = lim_{t -> x} f[x, t] = -s exp(-x s) (sympy.limit), and
    f[x, x+h, x+2h] -> s^2/2 exp(-x s); a parameter in two node positions gets both terms of (5.2):
    d/dx f[x, x] = 2 f[x, x, x], not f[x, x, x]."""
    x, t, h = sympy.symbols("x t h", positive=True)
    assert _zero(sympy.limit(dd_sym([x, t]), t, x) + S * sympy.exp(-x * S))
    assert _zero(sympy.limit(dd_sym([x, x + h, x + 2 * h]), h, 0) - S**2 / 2 * sympy.exp(-x * S))
    d = sympy.diff(-S * sympy.exp(-x * S), x)
    assert _zero(d - 2 * dd_rec_sym([x, x, x]))
    assert not _zero(d - dd_rec_sym([x, x, x]))


# ------------------------------------------------- cross-check of the library (not part of the proofs)

CROSS_CHECK_POINTS = [  # (s, nodes)
    (0.5, (1.0, 2.0)),
    (3.0, (2.0, 2.0)),
    (1.7, (0.25, 0.25 + 1e-9)),
    (12.0, (4.0, 0.1)),
    (0.8, (1.0, 2.0, 4.0)),
    (2.0, (3.0, 3.0, 3.0)),
    (1.5, (1.0, 1.0, 2.5)),
    (0.9, (0.5, 0.5 + 1e-7, 0.5 + 3e-7)),
    (6.0, (0.1, 2.0, 10.0)),
    (0.3, (1.0, 2.0, 3.0, 4.0)),
    (2.5, (1.0, 1.0, 1.0, 1.0)),
    (1.2, (2.0, 0.5, 2.0, 0.5)),
    (4.0, (1.0, 1.0 + 1e-8, 1.5, 9.0)),
    (10.0, (4.0, 0.25, 1.0, 0.5)),
]


@pytest.mark.parametrize("s, nodes", CROSS_CHECK_POINTS)
def test_cross_check_library_expdd(s, nodes):
    """CROSS-CHECK OF THE LIBRARY, not part of the proofs: exactsnn.numeric.expdd's expdd2/expdd3/expdd4
    (which implement Props. 2-4) agree with the definition (0.1)-(0.2), evaluated in mpmath at 50
    digits from the same float inputs, to 1e-13 relative, at points with distinct, nearly equal and
    equal nodes."""
    from exactsnn.numeric.expdd import expdd2, expdd3, expdd4

    fn = {2: expdd2, 3: expdd3, 4: expdd4}[len(nodes)]
    with mp.workdps(DPS):
        ref = dd_mp([mp.mpf(x) for x in nodes], mp.mpf(s))
        got = mp.mpf(fn(s, *nodes))
        assert abs(got - ref) < mp.mpf("1e-13") * abs(ref)
