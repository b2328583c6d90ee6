"""Checks of the checking tool itself (mp_network.py), which all documents rely on."""

import mpmath as mp
import numpy as np

from . import cases
from .mp_network import simulate


def test_curvature_bounds_hold():
    """The scan discards a cell only through |psp''| <= curv_psp and |reset''| <= curv_reset;
    sample both on a fine grid for the kernels the checks use (and nearby time constants)."""
    with mp.workdps(20):
        for ts, tm in ((0.5, 1.0), (0.3, 1.0), (1.0, 0.5)):
            kern = cases.lif_kernels(ts, tm)
            q = (mp.mpf(ts), mp.mpf(tm), mp.mpf(1))
            d2p = [abs(mp.diff(lambda s: kern.psp(s, *q), s, 2)) for s in np.linspace(1e-6, 10, 400)]
            d2r = [abs(mp.diff(lambda s: kern.reset(s, *q), s, 2)) for s in np.linspace(1e-6, 10, 100)]
            assert max(d2p) <= kern.curv_psp and max(d2r) <= kern.curv_reset
        kern = cases.nonleaky_kernels(0.5)
        q = (mp.mpf("0.5"), mp.mpf(1))
        d2p = [abs(mp.diff(lambda s: kern.psp(s, *q), s, 2)) for s in np.linspace(1e-6, 10, 400)]
        assert max(d2p) <= kern.curv_psp


def test_scan_finds_a_crossing_that_a_grid_misses():
    """w = 4 + 1e-6: V exceeds theta only on an interval of width ~1e-3 around log 2. A grid with
    step 0.01 sees no sample above theta; the scan still finds the crossing (existence.md eq. 4.1)."""
    with mp.workdps(30):
        w = 4 + mp.mpf("1e-6")
        samples = [w * (mp.exp(-t) - mp.exp(-2 * t)) for t in mp.arange(0, 3, mp.mpf("0.01"))]
        assert max(samples) < 1
        net = cases.single_neuron(cases.lif_kernels(), cases.LIF_Q, [[0]], [w], 3)
        spikes = simulate(net).spikes[0]
        assert len(spikes) == 1
        assert abs(spikes[0] + mp.log((1 + mp.sqrt(1 - 4 / w)) / 2)) < mp.mpf("1e-25")


def test_shift_displaces_the_spike_and_its_reset():
    """simulate(shift={(i, k): h}) emits spike k at its crossing + h; the next spike moves too."""
    with mp.workdps(30):
        net = cases.single_neuron(cases.lif_kernels(), cases.LIF_Q, [[0]], [8], 3)
        base = simulate(net).spikes[0]
        moved = simulate(net, shift={(0, 0): mp.mpf("0.01")}).spikes[0]
        assert abs(moved[0] - base[0] - mp.mpf("0.01")) < mp.mpf("1e-25")
        assert abs(moved[1] - base[1]) > 1e-4
