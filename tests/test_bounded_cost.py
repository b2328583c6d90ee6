"""Bounded cost (issue 18, part 4): work that could grow without end stops at a stated budget with an error
that names the budget and what to change. No timing is asserted: the bound holds by construction, and each
test checks that the run stopped where the budget says (spikes emitted, pieces tested).
"""

import json
import re

import numpy as np
import pytest

import exactsnn as es
from exactsnn import cli, models
from exactsnn.errors import SimulationError
from exactsnn.reference import isolate, reference_solve

LAYERS = [[[2.5, 2.0], [1.5, 2.9]], [[1.2], [1.1]]]
NET = es.Network.feedforward([np.array(w) for w in LAYERS])
INPUTS = [[0.1, 0.6], [0.3]]
FAR = {"tau_syn": 1e300, "tau_mem": 2e300, "threshold": 1.0}


def _runaway_spec(n=3, seed=0):
    """All-to-all excitatory recurrent lif (a case's network dict): every spike brings the others above
    threshold again; random weights and delays, so that no two spikes coincide."""
    rng = np.random.default_rng(seed)
    return {"kind": "recurrent", "input_weights": rng.uniform(6.0, 9.0, (1, n)).tolist(),
            "weights": rng.uniform(2.5, 4.0, (n, n)).tolist(), "outputs": [n - 1],
            "delays": rng.uniform(0.03, 0.08, (n, n)).tolist()}


def _runaway():
    spec = _runaway_spec()
    return es.Network.recurrent(spec["input_weights"], spec["weights"], spec["outputs"], None, spec["delays"])


def test_runaway_network_stops_at_the_spike_cap():
    """The engine raises at spike cap + 1, naming the cap and how to raise it; just before that spike's time
    the same network emits exactly ``cap`` spikes, so the failing run simulated no more than the cap."""
    net, cap = _runaway(), 3000
    with pytest.raises(SimulationError, match=rf"more than max_spikes={cap} spikes.*raise max_spikes") as info:
        es.simulate("lif", net, [[0.0]], 1e6, max_spikes=cap)
    t_next = float(re.search(r"at t=([-+0-9.e]+)\)", str(info.value)).group(1))
    res = es.simulate("lif", net, [[0.0]], float(np.nextafter(t_next, 0.0)), max_spikes=cap)
    assert res.n_spikes == cap
    n_arrivals = res.record[2]
    assert n_arrivals <= (cap + 1) * net.n_neurons  # each spike fans out to n synapses, plus the one input


def test_runaway_network_on_the_command_line_exits_3_naming_the_cap(tmp_path, capsys):
    doc = {"format": "exactsnn-case/1", "model": {"name": "lif", "tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0},
           "network": _runaway_spec(), "inputs": [[0.0]], "t_max": 1e6}
    path = tmp_path / "runaway.json"
    path.write_text(json.dumps(doc))
    assert cli.main(["simulate", str(path), "--max-spikes", "2000"]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "max_spikes=2000" in err and "raise max_spikes" in err and "Traceback" not in err


def _count_pieces(monkeypatch):
    calls = []
    classify = isolate._classify
    monkeypatch.setattr(isolate, "_classify", lambda *a, **k: calls.append(1) or classify(*a, **k))
    return calls


def test_reference_work_is_bounded_at_extreme_time_constants(monkeypatch):
    """tau = 1e300 with t_max = 2 cancels ~300 digits in the lif kernel, so at 30 digits no enclosure of V ever
    narrows and the bisection could never decide. The search stops after ``ENCLOSURE_BUDGET`` pieces (lowered
    to 200 here to keep the test short) with an error naming the parameters, their values, the range and the
    digits needed."""
    monkeypatch.setattr(isolate, "ENCLOSURE_BUDGET", 200)
    calls = _count_pieces(monkeypatch)
    with pytest.raises(SimulationError, match="ENCLOSURE_BUDGET = 200") as info:
        reference_solve(models.get("lif"), FAR, NET, INPUTS, 2.0, dps=30)
    msg = str(info.value)
    assert 200 <= len(calls) <= 210  # the failing search's 200, plus the few of the decided searches before it
    assert "neuron 0" in msg and "tau_syn = 1.0e+300" in msg and "tau_mem = 2.0e+300" in msg
    assert "[2.0e-6, 2.0e+6]" in msg and "Raise dps to at least 321" in msg and "threshold =" not in msg


def test_budget_is_far_above_what_a_well_posed_search_uses(monkeypatch):
    """The same network at tau_syn = 0.5, tau_mem = 1 is solved with every search well inside the budget."""
    calls = []
    first_crossing = isolate.first_crossing

    def counted(*args):
        before = len(pieces)
        out = first_crossing(*args)
        calls.append(len(pieces) - before)
        return out

    pieces = _count_pieces(monkeypatch)
    monkeypatch.setattr("exactsnn.reference.simulate.first_crossing", counted)
    ref = reference_solve(models.get("lif"), {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}, NET, INPUTS, 2.0,
                          dps=30)
    assert ref.certified and len(ref.times) == 3 and calls
    assert max(calls) <= isolate.ENCLOSURE_BUDGET // 16, calls


@pytest.mark.slow
def test_verify_at_tau_1e300_exits_3_with_the_reason(tmp_path, capsys):
    """The default budget, through the command line: the reference cannot solve the case (exit 3), and says why."""
    doc = {"format": "exactsnn-case/1", "model": {"name": "lif", **FAR},
           "network": {"kind": "feedforward", "weights": LAYERS},
           "inputs": INPUTS, "t_max": 2.0}
    path = tmp_path / "far.json"
    path.write_text(json.dumps(doc))
    assert cli.main(["verify", str(path), "--dps", "30"]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "the reference cannot solve this case" in err and "tau_syn = 1.0e+300" in err and "Raise dps" in err
