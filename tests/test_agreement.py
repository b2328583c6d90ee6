"""End-to-end tier: the float64 engine against the independent 50-digit mpmath reference.

The reference (``exactsnn.reference``) shares no numeric code with the float64 path: its own
certified root isolation (interval arithmetic) and its own implicit-function sweep. Tolerances are
those of the acceptance criteria: spike times within 1e-12 absolute (issue 14: 1e-11 before the engine
polished its spikes on the O(1) state instead of the history); every Jacobian entry within 1e-8 relative
to the largest entry of its row.
"""

import numpy as np
import pytest

from exactsnn.verification.agreement import engine_vs_reference
from exactsnn import Network, simulate
from exactsnn import models
from exactsnn.model import kernel_model
from exactsnn.reference import reference_solve

TIME_TOL = 1e-12
ROW_TOL = 1e-8


def _ff(seed, sizes=(2, 4, 2), w_hi=3.5, delays=True):
    rng = np.random.default_rng(seed)
    ws = [rng.uniform(0.4, w_hi, (a, b)) * (1 if l == 0 else 0.6) for l, (a, b) in enumerate(zip(sizes, sizes[1:]))]
    ds = [rng.uniform(0, 0.3, w.shape) for w in ws] if delays else None
    return Network.feedforward(ws, ds)


def _rec(seed):
    rng = np.random.default_rng(seed)
    u = rng.uniform(1.0, 4.0, (2, 3))
    w = rng.uniform(-0.4, 1.0, (3, 3))
    return Network.recurrent(u, w, outputs=[2], input_delays=rng.uniform(0, 0.2, (2, 3)),
                             delays=rng.uniform(0.05, 0.3, (3, 3)))


ALPHA = kernel_model("s/tau*exp(1 - s/tau)", "theta*exp(-s/tau_r)", "theta", {"tau": 1.0, "tau_r": 0.5, "theta": 1.0})

CASES = {
    "ff-lif": ("lif", {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}, _ff(1), [[0.1, 0.7], [0.3]], 4.0),
    "ff-lif-equal-tau": ("lif", {"tau_syn": 0.8, "tau_mem": 0.8, "threshold": 1.0}, _ff(2), [[0.0], [0.2, 0.9]], 4.0),
    "ff-lif-yinyang-tau": ("lif", {"tau_syn": 1 / 0.999, "tau_mem": 1.0, "threshold": 1.0}, _ff(3), [[0.2], [0.5]], 4.0),
    "ff-nonleaky": ("nonleaky_if", {"tau_syn": 0.6, "threshold": 1.0}, _ff(4, w_hi=2.5), [[0.1], [0.4]], 2.5),
    "rec-lif-self": ("lif", {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}, _rec(5), [[0.0, 0.5], [0.25]], 3.0),
    "ff-lif-burst": ("lif", {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}, _ff(7, w_hi=9.0), [[0.0, 0.4], [0.2]],
                     3.0),
    "ff-kernel-alpha": (ALPHA, {}, _ff(6, sizes=(2, 3, 1), w_hi=2.0, delays=True), [[0.1], [0.3]], 3.0),
}
SLOW = {"rec-lif-self", "ff-kernel-alpha"}


def _params(name):
    return [pytest.param(k, marks=pytest.mark.slow) if k in SLOW else k for k in name]


def _symbolic(model):
    return models.get(model) if isinstance(model, str) else model


@pytest.mark.parametrize("case", _params(list(CASES)))
def test_float64_engine_matches_reference(case):
    model, params, net, inputs, t_max = CASES[case]
    res = simulate(model, net, inputs, t_max, params=params)
    ref = reference_solve(_symbolic(model), params, net, inputs, t_max, dps=40)
    assert ref.certified, ref.undecided
    assert res.n_spikes == len(ref.times) and res.n_spikes > 0
    assert max(len(s) for s in res.spikes) >= 2, "case should contain multi-spike neurons"
    worst_t, worst_row = engine_vs_reference(res, ref)
    print(f"{case}: {res.n_spikes} spikes, times {worst_t:.1e}, rows {worst_row:.1e}")
    assert worst_t <= TIME_TOL, worst_t
    assert worst_row <= ROW_TOL, worst_row
