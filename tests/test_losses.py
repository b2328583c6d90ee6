"""Losses: values against the formula written out independently, dL/dt against central differences."""

import math

import numpy as np
import pytest

from exactsnn.numeric.losses_nb import LOSS_FIRST_SPIKE_SUM, LOSS_TTFS_CROSS_ENTROPY, loss_and_grad


def _ttfs_reference(t, k, tau0, tau1, gamma):
    z = [math.exp(-x / tau0) for x in t]
    return -math.log(z[k] / sum(z)) + gamma * (math.exp(t[k] / tau1) - 1)


@pytest.mark.parametrize("label", [0, 1, 2])
def test_ttfs_cross_entropy_value_and_gradient(label):
    t = np.array([1.3, 0.7, 2.2])
    g = np.zeros(3)
    v = loss_and_grad(LOSS_TTFS_CROSS_ENTROPY, t, np.zeros(3, bool), label, 0.2, 1.0, 0.005, g)
    assert abs(v - _ttfs_reference(t, label, 0.2, 1.0, 0.005)) < 1e-13
    h = 1e-6
    for o in range(3):
        tp, tm = t.copy(), t.copy()
        tp[o] += h
        tm[o] -= h
        fd = (_ttfs_reference(tp, label, 0.2, 1.0, 0.005) - _ttfs_reference(tm, label, 0.2, 1.0, 0.005)) / (2 * h)
        assert abs(g[o] - fd) < 1e-7


def test_ttfs_is_stable_for_large_times():
    t = np.array([300.0, 301.0])
    g = np.zeros(2)
    v = loss_and_grad(LOSS_TTFS_CROSS_ENTROPY, t, np.zeros(2, bool), 1, 0.2, 1e9, 0.0, g)
    assert abs(v - (math.log1p(math.exp(-5.0)) + 5.0)) < 1e-12 and np.all(np.isfinite(g))


def test_silent_outputs_pass_no_gradient():
    t = np.array([0.5, 6.0])
    g = np.zeros(2)
    v = loss_and_grad(LOSS_FIRST_SPIKE_SUM, t, np.array([False, True]), 0, 0.2, 1.0, 0.0, g)
    assert v == 6.5 and g.tolist() == [1.0, 0.0]
    loss_and_grad(LOSS_TTFS_CROSS_ENTROPY, t, np.array([False, True]), 1, 0.2, 1.0, 0.1, g)
    assert g[1] == 0.0 and g[0] != 0.0
