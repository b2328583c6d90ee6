"""`exactsnn.verify` / `exactsnn verify`: float64 engine vs the mpmath reference, and the conditioning report."""

import json
from pathlib import Path

import numpy as np
import pytest
from mpmath import mp

from exactsnn import Loss, Network, diagnose, forward_propagation, simulate, verify
from exactsnn.io.case import load_case
from exactsnn.cli import main
from exactsnn.compiled import load_builtin
from exactsnn.diagnostics import WELL_VDOT_TOL, conditioning
from exactsnn.errors import ModelError, NetworkError
from exactsnn.reference import reference_solve
from exactsnn.verification import ground_truth, symbolic_model

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LIF = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}
# With these constants psp(s) = exp(-s) - exp(-2 s) peaks at 1/4 (s = ln 2): weight 4 grazes threshold.
GRAZE = 4.0


def single(w, t_max=3.0, t0=0.0, extra=None):
    inputs = [[t0]] + ([extra] if extra is not None else [])
    weights = [[w]] + ([[0.5]] if extra is not None else [])
    return dict(network=Network.feedforward([weights]), inputs=inputs, t_max=t_max, params=LIF)


def test_report_numbers_are_true():
    """Every summary number recomputed here from the engine and an independent reference run."""
    path = FIXTURES / "ff_lif_multispike.case.json"
    rep = verify(path, dps=40)
    assert rep.ok and rep.well_conditioned and rep.certified and rep.spike_counts_match
    case = load_case(path)
    res = simulate(case.model, case.network, case.inputs, case.t_max, params=case.params)
    ref = reference_solve(symbolic_model(case.model), case.params, case.network, case.inputs, case.t_max, dps=40)
    jac = forward_propagation(res, policy="flag")
    with mp.workdps(40):
        t_err = [abs(mp.mpf(float(t)) - ref.spikes[j][i])
                 for t, j, i in zip(res.spike_time, res.spike_neuron, res.spike_index)]
    assert rep.max_abs_err_spike_times == pytest.approx(float(max(t_err)), rel=1e-12)
    worst_row = 0.0
    for k, (j, i) in enumerate(zip(res.spike_neuron, res.spike_index)):
        r = ref.row(int(j), int(i))
        for ours, theirs in ((jac.dts_dq.weights, ref.d_weights), (jac.dts_dq.delays, ref.d_delays), (jac.dts_dq.model, ref.d_model)):
            exact = np.array([float(x) for x in theirs[r]])
            worst_row = max(worst_row, np.max(np.abs(ours[k] - exact)) / np.max(np.abs(exact)))
    assert rep.max_rel_err_gradients >= 0.5 * worst_row  # float rounding of `exact` above aside
    assert rep.max_abs_err_spike_times < 1e-11 and rep.max_rel_err_gradients < 1e-8
    assert rep.min_vdot == pytest.approx(float(np.min(diagnose(res).vdot)), rel=1e-15)
    assert [s.near_margin for s in rep.spikes] == [float(res.near_margin[s.neuron]) for s in rep.spikes]
    n_q = 2 * case.network.n_synapses + res.in_times.size + 3
    assert len(rep.spikes) == res.n_spikes and len(rep.params) == n_q
    assert {p.block for p in rep.params} == {"weights", "delays", "inputs", "model"}
    assert rep.params[0].label == "weights[0][0, 0]" and rep.params[-1].label == "model.threshold"
    assert all(p.grad_ref is not None for p in rep.params)  # the case has a loss
    assert rep.fp_vs_adjoint < 1e-12


def test_parts_and_case_agree():
    doc = json.loads((FIXTURES / "ff_lif_equal_tau.case.json").read_text())
    case = load_case(doc)
    a = verify(doc, dps=30)
    b = verify("lif", network=case.network, inputs=case.inputs, t_max=case.t_max, params=case.params,
               loss=case.loss, dps=30)
    assert a.to_dict() == b.to_dict() and a.ok


def test_user_kernel_model():
    rep = verify(FIXTURES / "ff_kernel_alpha.case.json", dps=30)
    assert rep.ok and rep.well_conditioned
    assert max(s.index for s in rep.spikes) >= 3  # bursting neurons
    assert rep.title.startswith("kernel,")


def test_verdict_fails_against_other_answers():
    case = load_case(FIXTURES / "single_burst.case.json")
    other = json.loads((FIXTURES / "single_burst.case.json").read_text())
    other["network"]["weights"][0][0][0] = 7.0 + 1e-6
    rep = verify(case, truth=ground_truth(other, 30))
    assert not rep.ok and rep.spike_counts_match
    assert 1e-8 < rep.max_abs_err_spike_times < 1e-5
    other["network"]["weights"][0][0][0] = 9.0  # more spikes
    rep = verify(case, truth=ground_truth(other, 30))
    assert not rep.ok and not rep.spike_counts_match
    assert rep.unmatched and all(kind == "reference only" for _, kind, _ in rep.unmatched)
    assert "MISMATCH" in rep.text()


def test_near_threshold_maximum_is_flagged():
    rep = verify("lif", **single(GRAZE * (1 - 1e-9)), dps=30)
    assert rep.certified and not rep.spikes
    ((neuron, kind, margin, level),) = rep.neuron_findings
    assert neuron == 0 and "sub-threshold maximum" in kind and level == "degenerate"
    assert margin == pytest.approx(0.25e-9 * GRAZE, rel=1e-3)
    assert not rep.well_conditioned and rep.min_near_margin == margin


def test_tangential_crossing_is_ill_conditioned():
    rep = verify("lif", **single(GRAZE * (1 + 1e-8)), dps=30)
    s = rep.spikes[0]
    # V'' = -2 at the peak; V_max - theta = 1e-8: the crossing has dV/dt ~ 2 sqrt(1e-8) = 2e-4.
    assert s.vdot == pytest.approx(2e-4, rel=0.05)
    assert s.vdot < WELL_VDOT_TOL
    assert [(k, lv) for k, _, lv in s.findings] == [("tangential crossing (dV/dt)", "ill-conditioned")]
    assert not rep.well_conditioned and rep.ok  # still accurate here, but not promised
    assert "ill-conditioned" in rep.text()


@pytest.mark.parametrize("gap, level", [(1e-8, "ill-conditioned"), (1e-10, "degenerate")])
def test_spike_near_t_max(gap, level):
    t1 = float(simulate("lif", **single(7.0)).spike_time[0])
    rep = verify("lif", **single(7.0, t_max=t1 + gap), dps=30)
    assert len(rep.spikes) == 1
    assert rep.spikes[0].tmax_gap == pytest.approx(gap, rel=1e-5)
    assert [(k, lv) for k, _, lv in rep.spikes[0].findings] == [("spike at t_max", level)]


def test_spike_on_an_incoming_event():
    t1 = float(simulate("lif", **single(7.0)).spike_time[0])
    rep = verify("lif", **single(7.0, extra=[t1]), dps=30)
    kinds = {k for s in rep.spikes for k, _, _ in s.findings}
    assert "spike on an incoming event" in kinds
    assert rep.spikes[0].event_gap == 0.0 and not rep.well_conditioned


def test_cli_text_json_and_exit_codes(capsys, tmp_path):
    case = str(FIXTURES / "rec_lif_self.case.json")
    assert main(["verify", case, "--dps", "30"]) == 0
    out = capsys.readouterr().out
    assert "verdict         OK (well-conditioned)" in out and "n2 #1" in out
    assert main(["verify", case, "--dps", "30", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("max_abs_err_spike_times", "max_rel_err_gradients", "min_vdot"):
        assert isinstance(doc[key], float)
    assert doc["max_abs_err_spike_times"] < 1e-11 and doc["max_rel_err_gradients"] < 1e-8 and doc["min_vdot"] > 0
    assert len(doc["spikes"]) == doc["n_spikes"] == 6 and doc["ok"] is True
    assert doc["spikes"][0]["time_ref"].startswith(repr(doc["spikes"][0]["time"])[:12])
    assert main(["verify", case, "--dps", "30", "--grad-rtol", "0"]) == 1  # rounding errors are > 0
    capsys.readouterr()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "exactsnn-case/1", "model": {"name": "lif"}}))
    assert main(["verify", str(bad)]) == 2
    assert "missing key" in capsys.readouterr().err


def test_bad_arguments():
    net = Network.feedforward([[[7.0]]])
    with pytest.raises(NetworkError, match="network must be an exactsnn.Network"):
        verify("lif", network=[[7.0]], inputs=[[0.0]], t_max=2.0)
    with pytest.raises(TypeError, match="inputs and t_max are required"):
        verify("lif", network=net)
    with pytest.raises(TypeError, match="pass them with network="):
        verify(str(FIXTURES / "single_burst.case.json"), t_max=2.0)
    with pytest.raises(ModelError, match="'tau'"):
        verify("lif", network=net, inputs=[[0.0]], t_max=2.0, params={"tau": 1.0})
    with pytest.raises(ValueError, match="dps = 5"):
        verify("lif", network=net, inputs=[[0.0]], t_max=2.0, dps=5)
    with pytest.raises(ModelError, match="symbolic model"):
        symbolic_model("lfi")
    assert symbolic_model(load_builtin("lif")).name == "lif"
    with pytest.raises(ValueError, match="label = 3"):
        verify("lif", network=net, inputs=[[0.0]], t_max=2.0, loss=Loss("ttfs_cross_entropy", label=3))


def test_conditioning_is_stricter_than_diagnose():
    res = simulate("lif", **single(GRAZE * (1 + 1e-8)))
    assert diagnose(res).ok and not conditioning(res).ok
    assert diagnose(res, margin_tol=0.0).flags == diagnose(res).flags
    (kind, margin), = conditioning(res).spike_findings(0)
    assert kind.startswith("tangential") and margin == pytest.approx(2e-4, rel=0.05)
    quiet = simulate("lif", **single(GRAZE * (1 - 1e-9)))
    assert diagnose(quiet).neuron_findings(0) and not diagnose(quiet, margin_tol=1e-12).neuron_findings(0)
    # weight 1: V peaks at 1/4, so the margin below threshold 1 is 3/4
    assert diagnose(simulate("lif", **single(1.0))).near_margin[0] == pytest.approx(0.75, rel=1e-9)
