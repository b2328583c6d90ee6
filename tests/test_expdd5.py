"""expdd5 (five-node divided difference of exp(-lam s), used by the second parameter derivatives of three-rate
kernels such as lif_dual_exp) against mpmath at 60 digits: distinct, nearly equal and equal nodes."""

import mpmath as mp
import numpy as np

from exactsnn.numeric.expdd import expdd5


def _dd(s, xs):
    """f[x_0..x_4] of exp(-x s) for distinct nodes: sum_i exp(-x_i s) / prod_{j != i} (x_i - x_j)."""
    with mp.workdps(60):
        xs = [mp.mpf(x) for x in xs]
        s = mp.mpf(s)
        return mp.fsum(mp.exp(-xs[i] * s) / mp.fprod(xs[i] - xs[j] for j in range(5) if j != i) for i in range(5))


def test_expdd5_against_mpmath():
    rng = np.random.default_rng(0)
    for _ in range(200):
        s, xs = float(rng.uniform(0.01, 6)), rng.uniform(0.1, 4, 5).tolist()
        want = _dd(s, xs)
        assert abs(expdd5(s, *xs) - want) < 1e-13 * abs(want)
    close = [1.0, 1.0 + 1e-7, 1.0 + 2e-7, 1.0 + 3e-7, 1.0 + 5e-7]
    assert abs(expdd5(2.0, *close) - _dd(2.0, close)) < 1e-14 * abs(_dd(2.0, close))
    for x, s in ((1.0, 0.5), (2.0, 3.0)):  # confluent limit s^4 / 24 exp(-x s)
        assert abs(expdd5(s, x, x, x, x, x) / (s ** 4 / 24 * np.exp(-x * s)) - 1) < 1e-14
