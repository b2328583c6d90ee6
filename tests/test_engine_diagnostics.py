"""Diagnostics recorded by the engine during the run equal the ones recomputed from the causal record.

``simulate`` records each spike's ``dV/dt`` (from the neuron's O(1) state, or its history for the
interval strategy) and its distance to the nearest arrival at its neuron, so ``diagnose`` is a
vectorised pass. The second algorithm here is the old one: ``vdot_core`` (the IFT's own partials over
the spike's full history) and a search over every arrival (``diagnostics._recompute``).
"""

import dataclasses

import numpy as np
import pytest

from exactsnn import Network, diagnose, simulate
from exactsnn.diagnostics import _recompute

CASES = {
    "lif-ff": ("lif", {}, 0),
    "lif-near-singular": ("lif", {"tau_syn": 1.0 + 1e-12, "tau_mem": 1.0}, 1),
    "nonleaky_if": ("nonleaky_if", {}, 2),
    "srm_alpha": ("srm_alpha", {"tau": 0.7}, 3),
    "adaptive_threshold (interval)": ("adaptive_threshold", {}, 4),
}


def _net(seed, recurrent):
    rng = np.random.default_rng(seed)
    if recurrent:
        return Network.recurrent(rng.uniform(0.5, 4.0, (2, 3)), rng.uniform(-0.3, 1.5, (3, 3)), outputs=[2],
                                 input_delays=rng.uniform(0, 0.2, (2, 3)), delays=rng.uniform(0.05, 0.3, (3, 3)))
    return Network.feedforward([rng.uniform(0.5, 5.0, (2, 3)), rng.uniform(0.3, 3.0, (3, 2))],
                               [rng.uniform(0, 0.3, (2, 3)), rng.uniform(0, 0.3, (3, 2))])


def _between(values):
    """A tolerance between two well-separated sorted values near the median (no value within rounding)."""
    v = np.sort(values[np.isfinite(values)])
    for i in range(v.size // 2, v.size - 1):
        if v[i + 1] - v[i] > 1e-9 * v[i + 1]:
            return float(0.5 * (v[i] + v[i + 1]))
    return float(v[-1] * 2)


@pytest.mark.parametrize("recurrent", [False, True], ids=["ff", "recurrent"])
@pytest.mark.parametrize("case", CASES)
def test_recorded_diagnostics_equal_recomputed(case, recurrent):
    model, params, seed = CASES[case]
    res = simulate(model, _net(seed, recurrent), [[0.0, 0.4, 0.9], [0.2, 0.2]], 3.0, params=params)
    assert res.n_spikes >= 5 and res.spike_vdot is not None
    vdot, gap = _recompute(res)
    np.testing.assert_array_equal(res.spike_event_gap, gap)
    np.testing.assert_allclose(res.spike_vdot, vdot, rtol=1e-10, atol=1e-12 * np.max(np.abs(vdot)))
    assert np.all(vdot > 0)
    tols = {"vdot_tol": _between(vdot), "time_tol": _between(gap)}  # about half the spikes flagged
    recorded = diagnose(res, **tols)
    old = diagnose(dataclasses.replace(res, spike_vdot=None, spike_event_gap=None), **tols)
    assert recorded.flags and [f[:2] for f in recorded.flags] == [f[:2] for f in old.flags]


def test_spike_on_an_arrival_is_flagged_from_the_record():
    """A spike exactly at an arrival (input delivered at the spike time) has a recorded gap of 0."""
    net = Network.feedforward([[[6.0], [0.5]]])
    res = simulate("lif", net, [[0.0], []], 3.0)
    t_spk = float(res.spike_time[0])
    res2 = simulate("lif", net, [[0.0], [t_spk]], 3.0)
    assert res2.spike_time[0] == t_spk and res2.spike_event_gap[0] == 0.0
    assert diagnose(res2).spike_findings(0)[0][0] == "spike on an incoming event"
