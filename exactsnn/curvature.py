"""Curvature of a loss from exact Hessian-vector products: Lanczos spectra and conjugate gradients.

Both take the Hessian only as a function ``matvec(v) = H v`` (``exactsnn.hvp``, ``exactsnn.batch_hvp``, or
``loss_hessian_operator`` below), so they never form ``H``.

- ``lanczos``: ``k`` steps of the Lanczos recursion with full reorthogonalisation. The Ritz values (the
  eigenvalues of the tridiagonal ``T_k = Q_k^T H Q_k``) approximate the extreme eigenvalues of ``H`` first;
  by Cauchy interlacing they lie in ``[lambda_min(H), lambda_max(H)]``, and with ``k = n`` they are the
  whole spectrum.
- ``cg``: (damped) conjugate gradients on ``(H + damping I) x = b``, stopped at a direction of
  non-positive curvature (Steihaug), as a truncated Newton step needs.
- ``newton_cg``: a damped (Levenberg-Marquardt) truncated Newton minimiser on ``cg`` steps with a backtracking
  line search.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import time

import numpy as np

from .errors import InvalidInputError
from .hessian import batch_hvp


class LanczosResult(NamedTuple):
    """values (m,) ascending Ritz values; vectors (n, m) Ritz vectors; residuals (m,) ``|H y - theta y|`` bounds
    ``|beta_m s_mi|``; steps m (< k when an invariant subspace was found)."""

    values: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray
    steps: int


def _apply(matvec, x, n, what) -> np.ndarray:
    y = np.asarray(matvec(x), dtype=np.float64)
    if y.shape != (n,) or not np.isfinite(y).all():
        raise InvalidInputError(f"{what}: matvec must return {n} finite numbers, got shape {y.shape}"
                                + ("" if y.shape != (n,) else " with non-finite entries"))
    return y


def lanczos(matvec: Callable, n: int, k: int, v0=None, seed: int = 0) -> LanczosResult:
    """Extreme eigenvalues of a symmetric operator by ``k`` Lanczos steps with full reorthogonalisation.

    Parameters
    ----------
    matvec : callable, ``(n,) -> (n,)``, ``x -> H x`` with ``H`` symmetric
    n : int     dimension
    k : int     steps, ``1 <= k <= n``
    v0 : (n,) array, optional   start vector (default: Gaussian from ``seed``)

    Returns
    -------
    LanczosResult

    Notes
    -----
    ``beta_j q_{j+1} = H q_j - alpha_j q_j - beta_{j-1} q_{j-1}`` with ``alpha_j = q_j . H q_j``; the new
    vector is orthogonalised twice against all earlier ``q`` (classical Gram-Schmidt, twice is enough) so the
    Ritz values carry no spurious copies. ``T = tridiag(beta, alpha, beta) = S diag(theta) S^T``; Ritz vectors
    ``Q S``; ``|H y_i - theta_i y_i| = |beta_m S_{m-1, i}|``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidInputError(f"lanczos: n = {n!r} must be a positive integer")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise InvalidInputError(f"lanczos: k = {k!r} must be an integer in [1, n = {n}]")
    q = np.random.default_rng(seed).normal(size=n) if v0 is None else np.asarray(v0, dtype=np.float64)
    if q.shape != (n,) or not np.isfinite(q).all() or not np.any(q):
        raise InvalidInputError(f"lanczos: v0 must be {n} finite numbers, not all zero")
    basis = np.zeros((n, k))
    alpha, beta = np.zeros(k), np.zeros(k)
    q = q / np.linalg.norm(q)
    m = k
    for j in range(k):
        basis[:, j] = q
        w = _apply(matvec, q, n, "lanczos")
        alpha[j] = q @ w
        for _ in range(2):
            w -= basis[:, :j + 1] @ (basis[:, :j + 1].T @ w)
        beta[j] = np.linalg.norm(w)
        scale = max(np.abs(alpha[: j + 1]).max(), beta[: j + 1].max(), 1e-300)
        if j + 1 < k and beta[j] <= 1e-12 * scale:
            m = j + 1  # invariant subspace: T_m's eigenvalues are exact eigenvalues of H
            break
        q = w / beta[j] if beta[j] > 0 else w
    t = np.diag(alpha[:m]) + np.diag(beta[:m - 1], 1) + np.diag(beta[:m - 1], -1)
    theta, s = np.linalg.eigh(t)
    return LanczosResult(theta, basis[:, :m] @ s, np.abs(beta[m - 1] * s[m - 1]), m)


class CGResult(NamedTuple):
    """x (n,) the step; iterations; negative_curvature True if stopped at ``p.(H + damping I)p <= 0``;
    residual ``|b - (H + damping I) x| / |b|``."""

    x: np.ndarray
    iterations: int
    negative_curvature: bool
    residual: float


def cg(matvec: Callable, b, damping: float = 0.0, max_iter: int = 50, tol: float = 1e-6) -> CGResult:
    """Conjugate gradients for ``(H + damping I) x = b`` (truncated Newton: ``b = -gradient``).

    Stops when ``|r| <= tol |b|``, after ``max_iter`` HVPs, or at a search direction ``p`` with
    ``p.(H + damping I)p <= 0`` (Steihaug): then the iterate so far is returned (the gradient direction
    ``b`` itself if that happens at once), a descent direction when ``b = -gradient``.
    """
    b = np.asarray(b, dtype=np.float64)
    if b.ndim != 1 or not np.isfinite(b).all():
        raise InvalidInputError(f"cg: b must be a finite vector, got shape {b.shape}")
    if not np.isfinite(damping) or damping < 0:
        raise InvalidInputError(f"cg: damping = {damping!r} must be finite and >= 0")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InvalidInputError(f"cg: max_iter = {max_iter!r} must be a positive integer")
    n, nb = b.size, np.linalg.norm(b)
    x, r, p = np.zeros(n), b.copy(), b.copy()
    if nb == 0:
        return CGResult(x, 0, False, 0.0)
    rr = r @ r
    for it in range(1, max_iter + 1):
        hp = _apply(matvec, p, n, "cg") + damping * p
        curv = p @ hp
        if curv <= 0:
            return CGResult(x if it > 1 else b.copy(), it, True, float(np.sqrt(rr) / nb))
        a = rr / curv
        x += a * p
        r -= a * hp
        rr_new = r @ r
        if np.sqrt(rr_new) <= tol * nb:
            return CGResult(x, it, False, float(np.sqrt(rr_new) / nb))
        p = r + (rr_new / rr) * p
        rr = rr_new
    return CGResult(x, max_iter, False, float(np.sqrt(rr) / nb))


class NewtonResult(NamedTuple):
    """x the final point; history: one dict per accepted or rejected step with keys ``f`` (objective after
    the step), ``hvps`` and ``evals`` (cumulative HVPs and objective evaluations), ``seconds`` (wall time since
    the start), ``damping`` (the damping the step used) and ``t`` (line-search step length, 0 if rejected)."""

    x: np.ndarray
    history: list


def newton_cg(value_grad: Callable, hess_vec: Callable, x0, max_steps: int = 50, damping: float = 1e-2,
              cg_iter: int = 20, cg_tol=None, target: float = -np.inf) -> NewtonResult:
    """Minimise ``f`` by damped truncated Newton steps on exact Hessian-vector products.

    Parameters
    ----------
    value_grad : callable, ``x -> (f(x), grad f(x))``
    hess_vec : callable, ``(x, v) -> H(x) v``
    x0 : (n,) array
    max_steps : int      Newton steps (each: up to ``cg_iter`` HVPs and a line search)
    damping : float      initial Levenberg-Marquardt damping ``lambda``
    cg_iter, cg_tol      CG limits per step; ``cg_tol=None``: the forcing tolerance ``min(0.5, sqrt|g|)``
    target : float       stop once ``f <= target``

    Notes
    -----
    Step ``p`` solves ``(H + lambda I) p = -g`` by ``cg`` (at negative curvature the truncated iterate).
    Backtracking: ``t = 1, 1/2, ...`` (10 trials) until ``f(x + t p) <= f + 1e-4 t g.p`` (none: ``x``
    stays). With ``rho`` = actual / predicted decrease of the undamped model
    ``m(tp) = f + t g.p + t^2 p.Hp / 2`` (one more HVP), ``lambda`` is multiplied by 4 after negative
    curvature, a rejected step or ``rho < 1/4``, and divided by 4 when ``rho > 3/4``.
    """
    x = np.array(x0, dtype=np.float64)
    f, g = value_grad(x)
    start, hvps, evals, lam, hist = time.perf_counter(), 0, 1, float(damping), []
    for _ in range(max_steps):
        if f <= target:
            break
        step = cg(lambda v: hess_vec(x, v), -g, damping=lam, max_iter=cg_iter,
                  tol=min(0.5, float(np.sqrt(np.linalg.norm(g)))) if cg_tol is None else cg_tol)
        p, curv = step.x, float(step.x @ hess_vec(x, step.x))
        hvps += step.iterations + 1
        t, lam_used = _backtrack(value_grad, x, p, f, float(g @ p)), lam
        evals += t[2]
        if t[0] > 0:
            pred = -(t[0] * float(g @ p) + 0.5 * t[0] ** 2 * curv)
            rho = (f - t[1][0]) / pred if pred > 0 else 0.0
            x, (f, g) = x + t[0] * p, t[1]
        else:
            rho = -1.0
        lam = lam * 4 if step.negative_curvature or rho < 0.25 else (lam / 4 if rho > 0.75 else lam)
        hist.append({"f": float(f), "hvps": hvps, "evals": evals, "seconds": time.perf_counter() - start,
                     "damping": lam_used, "t": t[0]})
    return NewtonResult(x, hist)


def _backtrack(value_grad, x, p, f, slope) -> tuple:
    """(t, (f, g) at x + t p, evaluations): the first ``t = 1, 1/2, ...`` (10 trials) with
    ``f(x + t p) <= f + 1e-4 t slope``, or ``t = 0``."""
    t = 1.0
    for k in range(1, 11):
        fg = value_grad(x + t * p)
        if fg[0] <= f + 1e-4 * t * slope:
            return t, fg, k
        t *= 0.5
    return 0.0, None, 10


def loss_hessian_operator(model, network, patterns, t_max, loss, labels=None, params=None,
                          delays: bool = False) -> Callable:
    """``v -> (d2/dw2 mean_b L_b) v`` over the weights (and the delays with ``delays=True``): ``batch_hvp``
    with the other block of the direction zero, as a ``matvec`` for ``lanczos`` and ``cg``."""
    n_syn = network.n_synapses

    def matvec(v):
        full = np.asarray(v, dtype=np.float64) if delays else np.concatenate([v, np.zeros(n_syn)])
        h = batch_hvp(model, network, patterns, t_max, loss, full, labels=labels, params=params, policy="flag",
                      model_block=False)[1]
        return np.concatenate([h.weights, h.delays]) if delays else h.weights

    return matvec


__all__ = ["lanczos", "LanczosResult", "cg", "CGResult", "newton_cg", "NewtonResult", "loss_hessian_operator"]
