"""The engine's per-neuron state near singular parameter sets, against the mpmath reference.

The ``expsum`` strategy keeps each neuron's potential between events as two coefficients. In the plain
basis ``a_0 exp(-x_0 u) + a_1 exp(-x_1 u)`` they grow like ``1 / (x_1 - x_0)`` and cancel: at
``tau_syn = 1.000000000000001, tau_mem = 1`` a 2-2-1 ``lif`` network lost spikes (issue 18, section 2).
The state is now in Newton form (``exactsnn/numeric/newton_state.py``). Here every distance ``10^-k``,
``k = 1..16``, on both sides of each singular set of each built-in ``expsum`` model is simulated and the
spike times (within ``TIME_TOL``) and Jacobian rows (within ``ROW_TOL`` of the row's largest entry) are
compared with the independent 30-digit reference. Default tier: ``k`` in ``DEFAULT_K`` (and the set
itself); the full sweep is marked slow.

Measured (full sweep, ``pytest -s -m "slow or not slow"``, 63 s on one core): 28-33 spikes per case,
spike times within 1.6e-15 and Jacobian rows within 4.0e-15 of the reference at every distance. The engine before the Newton-form state failed the 1e-15 cases (a
SimulationError: its plain state put the neuron above threshold after a reset).
"""

import numpy as np
import pytest

from exactsnn import Network, models, simulate
from exactsnn.compiled import BUILTIN_NAMES, load_builtin
from exactsnn.reference import reference_solve

from exactsnn.verification.agreement import engine_vs_reference

TIME_TOL = 1e-12
ROW_TOL = 1e-8
#: model -> (moved parameter, its value on the set, other parameters): the singular set is moved == value.
SETS = {"lif": ("tau_syn", 1.0, {"tau_mem": 1.0})}
DEFAULT_K = (1, 15)
INPUTS = [[0.0, 0.4], [0.2]]
T_MAX = 2.0


def _net():
    """2-2-1 feed-forward, strong enough for ~30 spikes (most of them multi-spike output)."""
    rng = np.random.default_rng(5)
    return Network.feedforward([rng.uniform(0.5, 6.0, (2, 2)), rng.uniform(0.5, 4.0, (2, 1))])


def _cases():
    out = []
    for model in SETS:
        out.append(pytest.param(model, 0, 0, id=f"{model}-on-set"))
        for k in range(1, 17):
            for sign in (1, -1):
                marks = () if k in DEFAULT_K else (pytest.mark.slow,)
                out.append(pytest.param(model, k, sign, marks=marks, id=f"{model}-{'+-'[sign < 0]}1e-{k}"))
    return out


def test_every_expsum_singular_set_is_covered():
    """A new built-in ``expsum`` model with a singular set must get a row in SETS."""
    with_sets = {n for n in BUILTIN_NAMES if load_builtin(n).module.STRATEGY_EXPSUM
                 and load_builtin(n).module.SINGULAR_SETS}
    assert with_sets == set(SETS)


@pytest.mark.parametrize("model,k,sign", _cases())
def test_spikes_and_gradients_near_singular_set(model, k, sign):
    moved, value, others = SETS[model]
    params = dict(others, **{moved: value * (1.0 + sign * 10.0 ** -k) if k else value})
    net = _net()
    res = simulate(model, net, INPUTS, T_MAX, params=params)
    ref = reference_solve(models.get(model), params, net, INPUTS, T_MAX, dps=30)
    assert ref.certified, ref.undecided
    assert res.n_spikes == len(ref.times) >= 20
    assert max(len(s) for s in res.spikes) >= 10, "the output neuron should fire many times"
    worst_t, worst_row = engine_vs_reference(res, ref)
    print(f"{model} {moved}={params[moved]!r}: {res.n_spikes} spikes, times {worst_t:.1e}, rows {worst_row:.1e}")
    assert worst_t <= TIME_TOL
    assert worst_row <= ROW_TOL
