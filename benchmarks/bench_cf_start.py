"""Where a closed-form start pays for a crossing's polish (issue 14, thirteenth pass): ``CF_TAYLOR_NEAR``.

A crossing of the Newton state ``F(u) = c0 N0(u) + c1 N1(u) - theta`` is polished by Halley's iteration
(``state_polish``) from a start: the root ``u_T`` of F's Taylor quadratic at 0 (``state_taylor_root``) or,
where the nodes admit one, the model's closed form (``cf_newton_state``: Lambert W for equal nodes, a quadratic
for nodes in ratio 2, a logarithm for a zero node). The closed form is nearly the root, but costs its own
evaluation; the Taylor start is within ~(x u_T)^2 relative, so near 0 Halley needs one evaluation from either.

For random states with a crossing (bracket (0, hi], ``state_bracket``), binned by ``u_T max(|x0|, |x1|)``, this
times the two ways the engine can start (both compute u_T first, as the engine does to decide): the closed
form then the polish, and the polish from u_T. Prints ns per crossing (best of --rounds, one thread) and
the gate the engine uses (``engine_crossing.CF_TAYLOR_NEAR``, ``CF_TAYLOR_NEAR_LAMBERT``).

Run:  python benchmarks/bench_cf_start.py [--cases 4000] [--rounds 7]
"""

import argparse
import math
import time

import numpy as np
from numba import njit

from exactsnn.numeric.closed_form_roots import cf_newton_state
from exactsnn.numeric.newton_state import state_bracket, state_polish, state_taylor_root
from exactsnn.numeric.templates.engine_crossing import CF_TAYLOR_NEAR, CF_TAYLOR_NEAR_LAMBERT

NODES = {  # (x0, x1): rates 1 / tau_mem and 1 / tau_syn of lif (Newton form, not plain)
    "Lambert (tau_syn = tau_mem = 1)": (1.0, 1.0),
    "quadratic (tau_syn = 0.5, tau_mem = 1)": (1.0, 2.0),
    "quadratic (tau_syn = 2, tau_mem = 1)": (1.0, 0.5),
}
BINS = [0.0, 0.01, 0.02, 0.05, 0.1, 0.3, 1.0, 10.0]
THETA = 1.0


def states(x0, x1, n, seed=0):
    """(c0, c1, f0, hi, u_T) rows of random states below threshold whose first crossing is bracketed from 0."""
    rng = np.random.default_rng(seed)
    rows = []
    while len(rows) < n:
        c0, c1 = rng.uniform(-1.0, 0.99), -rng.uniform(0.1, 20.0)
        f0 = c0 - THETA
        lo, hi, _ = state_bracket(x0, x1, c0, c1, THETA, f0, 5.0, False)
        if lo == 0.0:  # nan otherwise, or a bracket after a minimum (started from its midpoint)
            rows.append((c0, c1, f0, hi, state_taylor_root(x0, x1, c0, c1, f0, False)))
    return np.array(rows)


@njit(cache=True)
def _run(rows, x0, x1, closed, reps):
    total = 0.0
    for _ in range(reps):
        for k in range(rows.shape[0]):
            c0, c1, f0, hi = rows[k, 0], rows[k, 1], rows[k, 2], rows[k, 3]
            ut = state_taylor_root(x0, x1, c0, c1, f0, False)
            u = cf_newton_state(x0, x1, c0, c1, THETA, f0, False) if closed else math.nan
            if not 0.0 < u <= hi:
                u = ut if 0.0 < ut < hi else 0.5 * hi
            total += state_polish(x0, x1, c0, c1, THETA, 0.0, hi, u, False)
    return total


def best_ns(rows, x0, x1, closed, rounds, reps=20):
    _run(rows[:2], x0, x1, closed, 1)
    best = math.inf
    for _ in range(rounds):
        t = time.perf_counter()
        _run(rows, x0, x1, closed, reps)
        best = min(best, time.perf_counter() - t)
    return best / (reps * rows.shape[0]) * 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    print(f"gate: closed form when u_T max|x| >= {CF_TAYLOR_NEAR} (Lambert: {CF_TAYLOR_NEAR_LAMBERT})")
    print("| nodes | u_T max(x) | crossings | closed-form start ns | Taylor start ns | closed / Taylor |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (x0, x1) in NODES.items():
        rows = states(x0, x1, args.cases)
        key = rows[:, 4] * max(abs(x0), abs(x1))
        for lo, hi in zip(BINS[:-1], BINS[1:]):
            sel = rows[(key >= lo) & (key < hi)]
            if len(sel) < 20:
                continue
            cf = best_ns(sel, x0, x1, True, args.rounds)
            ty = best_ns(sel, x0, x1, False, args.rounds)
            print(f"| {name} | [{lo}, {hi}) | {len(sel)} | {cf:.1f} | {ty:.1f} | {cf / ty:.2f} |")


if __name__ == "__main__":
    main()
