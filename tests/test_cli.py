"""The case format and the command line: result documents match the Python API."""

import json
import subprocess
import sys

import numpy as np
import pytest

from exactsnn import Loss, forward_propagation, loss_grad, simulate
from exactsnn.io.case import load_case

FF = {"format": "exactsnn-case/1",
      "model": {"name": "lif", "tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0},
      "network": {"kind": "feedforward", "weights": [[[4.0, 2.5], [3.0, -1.0]], [[1.5], [2.0]]],
                  "delays": [[[0.0, 0.1], [0.2, 0.0]], [[0.05], [0.0]]]},
      "inputs": [[0.1, 0.8], [0.35]], "t_max": 6.0,
      "loss": {"kind": "ttfs_cross_entropy", "label": 0}}
REC = {"format": "exactsnn-case/1", "model": {"name": "lif", "tau_syn": 0.7, "tau_mem": None, "threshold": 1.0},
       "network": {"kind": "recurrent", "input_weights": [[3.0, 0.0, 1.0]], "outputs": [1, 2],
                   "weights": [[0.2, 1.0, 0.0], [0.0, 0.3, 0.8], [0.5, 0.0, 0.1]],
                   "delays": [[0.1, 0.2, 0.1], [0.1, 0.1, 0.3], [0.2, 0.1, 0.1]]},
       "inputs": [[0.0, 0.4]], "t_max": 3.0, "loss": {"kind": "first_spike_sum"}}


def _run(tmp_path, doc, *args):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(doc))
    return subprocess.run([sys.executable, "-m", "exactsnn.cli", *args, str(path)], capture_output=True, text=True)


@pytest.mark.parametrize("doc", [FF, REC], ids=["feedforward", "recurrent-nonleaky"])
def test_grad_document_matches_api(tmp_path, doc):
    out = _run(tmp_path, doc, "grad", "--jacobian")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["format"] == "exactsnn-result/1"
    case = load_case(doc)
    r = simulate(case.model, case.network, case.inputs, case.t_max, params=case.params)
    value, g = loss_grad(r, case.loss)
    assert res["loss"] == value
    flat_w = np.concatenate([np.ravel(x) for x in (res["grad"]["weights"] if case.network.kind == "feedforward"
                                                   else [res["grad"]["input_weights"], res["grad"]["weights"]])])
    np.testing.assert_array_equal(flat_w, g.weights)
    assert sorted(res["grad"]["model"]) == sorted(r.model.param_names)
    assert [len(c) for c in res["grad"]["inputs"]] == [len(c) for c in doc["inputs"]]
    jac = forward_propagation(r, policy="flag")
    assert len(res["jacobian"]) == r.n_spikes
    for k, entry in enumerate(res["jacobian"]):
        assert entry["time"] == r.spike_time[k]
        key = "d_weights"
        blocks = entry[key] if case.network.kind == "feedforward" else [entry["d_input_weights"], entry[key]]
        np.testing.assert_array_equal(np.concatenate([np.ravel(b) for b in blocks]), jac.dts_dq.weights[k])


def test_spikes_layout_feedforward(tmp_path):
    res = json.loads(_run(tmp_path, FF, "simulate").stdout)
    assert len(res["spikes"]) == 2 and len(res["spikes"][0]) == 2 and len(res["spikes"][1]) == 1
    assert "grad" not in res and "loss" not in res


def test_invalid_case_exits_2_with_message(tmp_path):
    bad = dict(FF, inputs=[[0.5, 0.1], [0.2]])
    out = _run(tmp_path, bad, "grad")
    assert out.returncode == 2 and "not ascending" in out.stderr and out.stdout == ""


def test_degenerate_spike_under_raise_policy_exits_3_no_answer(tmp_path):
    doc = dict(FF, network={"kind": "feedforward", "weights": [[[4.0 * (1 + 1e-13)]]]},
               model={"name": "lif", "tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0},
               inputs=[[0.0]], loss={"kind": "first_spike_sum"})
    out = _run(tmp_path, doc, "grad", "--policy", "raise")
    assert out.returncode == 3 and "tangential" in out.stderr


def test_kernel_model_case(tmp_path):
    doc = dict(FF, model={"name": "kernel", "psp": "s/tau*exp(1 - s/tau)", "reset": "theta*exp(-s/tau_r)",
                          "threshold": "theta", "params": {"tau": 1.5, "tau_r": 0.8, "theta": 1.0}},
               network={"kind": "feedforward", "weights": [[[1.5], [1.2]]]}, t_max=4.0,
               loss={"kind": "first_spike_sum"})
    out = _run(tmp_path, doc, "grad")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert set(res["grad"]["model"]) == {"tau", "tau_r", "theta"}


def test_demo_runs_and_reports_agreement(tmp_path):
    png = tmp_path / "demo.png"
    out = subprocess.run([sys.executable, "-m", "exactsnn.cli", "demo", "--plot", str(png)], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    fp_adj = float(text.split("max rel. difference")[1].split()[0])
    fd = float(text.split("max rel. difference")[2].split()[0])
    wrong = float(text.split("max rel. error")[1].split()[0])
    assert fp_adj < 1e-12 and fd < 1e-6 and wrong > 1e-3
    assert png.stat().st_size > 10_000
