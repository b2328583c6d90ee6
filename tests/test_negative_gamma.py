"""Any finite gamma in the TTFS loss (the seed code of Göltz et al. uses gamma = -0.005): API, case
file, CLI; the float64 loss and gradient agree with the mpmath reference for a negative gamma."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest

import exactsnn as es
from exactsnn.cli import main
from exactsnn.training import config_for

CASE = json.loads((Path(__file__).parent / "fixtures" / "rec_lif_self.case.json").read_text())


def test_loss_accepts_any_finite_gamma_and_rejects_the_rest():
    for g in (-0.005, -3.0, 0.0, 2.5):
        assert es.Loss("ttfs_cross_entropy", gamma=g).gamma == g
    for g in (float("nan"), float("inf"), -float("inf"), True, "0.1", None):
        with pytest.raises(ValueError, match="gamma"):
            es.Loss("ttfs_cross_entropy", gamma=g)
    with pytest.raises(ValueError, match="gamma"):
        config_for("xor", gamma=float("nan"))


def test_negative_gamma_case_agrees_with_the_reference():
    doc = copy.deepcopy(CASE)
    doc["loss"]["gamma"] = -0.005
    case = es.load_case(doc)
    assert case.loss.gamma == -0.005
    report = es.verify(case, dps=30)
    assert report.ok, report


def test_negative_gamma_changes_the_loss_by_the_regulariser(tmp_path, capsys):
    """L(gamma) - L(0) = gamma (exp(t_label / tau1) - 1), t_label from the spikes; via ``exactsnn grad``."""
    out = []
    for g in (0.0, -0.005):
        doc = copy.deepcopy(CASE)
        doc["loss"]["gamma"] = g
        path = tmp_path / f"case{g}.json"
        path.write_text(json.dumps(doc))
        assert main(["grad", str(path)]) == 0
        res = json.loads(capsys.readouterr().out)
        case = es.load_case(doc)
        sim = es.simulate(case.model, case.network, case.inputs, case.t_max, params=case.params)
        out.append((res["loss"], sim.first_spikes()[0]))
    (l0, t0), (l1, t1) = out
    k, tau1 = CASE["loss"]["label"], CASE["loss"].get("tau1", 1.0)
    assert np.array_equal(t0, t1)
    assert abs((l1 - l0) - (-0.005) * (np.exp(t0[k] / tau1) - 1)) < 1e-13


def test_cli_train_takes_a_negative_gamma(tmp_path, capsys):
    assert main(["train", "xor", "--epochs", "1", "--hidden", "4", "--gamma", "-0.005", "--out", str(tmp_path),
                 "--no-figures", "--quiet"]) == 0
    assert json.loads((tmp_path / "metrics.json").read_text())["config"]["gamma"] == -0.005
    with pytest.raises(SystemExit) as e:
        main(["train", "xor", "--gamma", "nan"])
    assert e.value.code == 2
