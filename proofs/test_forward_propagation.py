"""Checks for forward_propagation.md: triangular structure, FP == adjoint, and the operation counts."""

import mpmath as mp
import numpy as np

from . import cases
from .mp_network import adjoint, central_difference, forward_propagation, ift_system, simulate

DPS = 50


def random_system(seed, n=12, p=6, density=0.4):
    """A random instance of eq. (1.2): lower-triangular ``A`` (positive diagonal), sparse ``B``, ``g``.

    Entries are rationals k/16 drawn with a seeded generator, then converted at the working precision.
    """
    rng = np.random.default_rng(seed)
    diag = [mp.mpf(int(k)) / 16 for k in rng.integers(8, 33, n)]
    off = [{j: mp.mpf(int(rng.integers(-32, 33))) / 16 for j in range(e) if rng.random() < density}
           for e in range(n)]
    b = [{c: mp.mpf(int(rng.integers(-32, 33))) / 16 for c in range(p) if rng.random() < 0.5}
         for e in range(n)]
    g = [mp.mpf(int(k)) / 16 for k in rng.integers(-32, 33, n)]
    return diag, off, b, g


def fp_solve(diag, off, b, p):
    """Algorithm FP (eq. 2.1): rows of J in time order; returns (J, multiply-add count)."""
    jac, ops = [], 0
    for e in range(len(diag)):
        row = [b[e].get(c, mp.mpf(0)) for c in range(p)]
        for parent, a in off[e].items():
            for c in range(p):
                row[c] += a * jac[parent][c]
            ops += p
        jac.append([-x / diag[e] for x in row])
        ops += p
    return jac, ops


def adjoint_solve(diag, off, b, g, p, transpose=True):
    """Algorithm ADJ (eqs. 3.1-3.2): back substitution on A^T mu = g, then dL/dp = -mu^T B.

    ``transpose=False`` is the wrong variant that back-substitutes with A itself.
    """
    n = len(diag)
    mu, ops = [mp.mpf(0)] * n, 0
    for e in reversed(range(n)):
        acc = g[e]
        for c in range(e + 1, n):
            coef = off[c].get(e) if transpose else off[e].get(c)
            if coef is not None:
                acc -= coef * mu[c]
                ops += 1
        mu[e] = acc / diag[e]
        ops += 1
    grad = [mp.mpf(0)] * p
    for e in range(n):
        for c, val in b[e].items():
            grad[c] -= mu[e] * val
            ops += 1
    return grad, ops


def test_fp_contracted_equals_adjoint_random_system():
    """Theorem 2 (eq. 3.3): g^T J computed by forward substitution equals -mu^T B from the
    transposed system, to < 1e-40 at 50 digits; both equal an independent LU solve of A J = -B."""
    with mp.workdps(DPS):
        for seed in range(3):
            diag, off, b, g = random_system(seed)
            n, p = len(diag), 6
            jac, _ = fp_solve(diag, off, b, p)
            fp = [sum(g[e] * jac[e][c] for e in range(n)) for c in range(p)]
            adj, _ = adjoint_solve(diag, off, b, g, p)
            amat = mp.matrix(n, n)
            bmat = mp.matrix(n, p)
            for e in range(n):
                amat[e, e] = diag[e]
                for j, v in off[e].items():
                    amat[e, j] = v
                for c, v in b[e].items():
                    bmat[e, c] = v
            for c in range(p):
                ref = -mp.lu_solve(amat, bmat.column(c))
                assert max(abs(jac[e][c] - ref[e]) for e in range(n)) < mp.mpf("1e-40")
                assert abs(fp[c] - adj[c]) < mp.mpf("1e-40")
            assert max(abs(x) for x in fp) > 0.1  # not vacuous


def test_adjoint_without_transpose_disagrees():
    """Remark after Theorem 2: back substitution with A instead of A^T is not the adjoint; on the
    same random systems it differs from g^T J by more than 1e-3 (the check above would fail for it)."""
    with mp.workdps(DPS):
        for seed in range(3):
            diag, off, b, g = random_system(seed)
            jac, _ = fp_solve(diag, off, b, 6)
            fp = [sum(g[e] * jac[e][c] for e in range(len(diag))) for c in range(6)]
            wrong, _ = adjoint_solve(diag, off, b, g, 6, transpose=False)
            assert max(abs(x - y) for x, y in zip(fp, wrong)) > 1e-3


def test_operation_counts():
    """Proposition 3: FP costs P (N + E) multiply-adds, the adjoint N + E + nnz(B),
    with E = number of causal edges (off-diagonal nonzeros of A)."""
    with mp.workdps(20):
        for seed in range(3):
            diag, off, b, g = random_system(seed, n=15, p=9)
            n, p = len(diag), 9
            e_count = sum(len(x) for x in off)
            nnz_b = sum(len(x) for x in b)
            _, ops_fp = fp_solve(diag, off, b, p)
            _, ops_adj = adjoint_solve(diag, off, b, g, p)
            assert ops_fp == p * (n + e_count)
            assert ops_adj == n + e_count + nnz_b


def test_spike_system_is_lower_triangular():
    """Lemma 1: in the time order of spikes, every causal parent of a spike precedes it strictly,
    so the matrix A of the two-layer LIF network is lower-triangular with Vdot > 0 on the diagonal."""
    with mp.workdps(DPS):
        rec = simulate(cases.two_layer_lif())
        sys_ = ift_system(rec)
        times = [rec.time(e) for e in rec.events]
        assert times == sorted(times)
        for e, parents in enumerate(sys_.a_off):
            for p in parents:
                assert p < e and times[p] < times[e]
        assert min(sys_.vdot) > 0
        assert {len(x) for x in sys_.a_off} >= {0, 1, 4}  # input-only, own reset, mixed parents


def test_fp_on_lif_network_matches_finite_differences_and_adjoint():
    """Theorem 1 and Theorem 2 on an actual network (cases.two_layer_lif: 5 spikes, 14 parameters:
    4 weights, 4 delays, 3 input times, tau_syn, tau_mem, theta).

    FP rows equal central differences (h = 1e-15, 50 digits) to < 1e-20; for the loss
    L = sum_e (e + 1) t_e^2 / 2, g^T J equals the adjoint gradient to < 1e-40.
    """
    with mp.workdps(DPS):
        net = cases.two_layer_lif()
        rec = simulate(net)
        assert [len(x) for x in rec.spikes] == [3, 2]
        sys_ = ift_system(rec)
        jac = forward_propagation(sys_)
        n = len(rec.events)
        h = mp.mpf("1e-15")
        for key in sys_.keys:
            fd = central_difference(net, key, h, lambda r: [r.time(e) for e in rec.events])
            for e in range(n):
                assert abs(fd[e] - jac[e][key]) < mp.mpf("1e-20"), (key, e)
        g = [(e + 1) * rec.time(ev) for e, ev in enumerate(rec.events)]
        _lam, grad = adjoint(sys_, g)
        for key in sys_.keys:
            fp = sum(g[e] * jac[e][key] for e in range(n))
            assert abs(fp - grad[key]) < mp.mpf("1e-40"), key
        assert max(abs(v) for v in grad.values()) > 0.1
