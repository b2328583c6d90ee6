"""`exactsnn verify/validate`: claims checked before the reference, exit statuses, cost line."""

import importlib
import json
import re
from pathlib import Path

import pytest

from exactsnn.io.case import load_case
from exactsnn.cli import EXIT_DISAGREE, EXIT_INVALID, EXIT_OK, EXIT_REFERENCE_FAILED, main

from test_validate import FIXTURES, SMALL, engine_document

BROKEN_RESET = {"format": "exactsnn-case/1",
                "model": {"name": "kernel", "psp": "s*exp(-s)", "reset": "0*s", "threshold": "theta",
                          "params": {"theta": 1.0}},
                "network": {"kind": "feedforward", "weights": [[[6.0]]]}, "inputs": [[0.1]], "t_max": 3.0}


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def no_reference(monkeypatch):
    """Any reference run fails the test: the checks must come first."""
    def boom(*a, **k):
        raise AssertionError("the reference ran before the claim was checked")
    # the module that defines it (callers look it up there at call time)
    monkeypatch.setattr(importlib.import_module("exactsnn.verification"), "ground_truth", boom)


def _claim(tmp_path, mutate) -> Path:
    case = load_case(FIXTURES / "ff_lif_multispike.case.json")
    doc = engine_document(case)
    mutate(doc)
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(doc))
    return path


def test_transposed_block_names_both_shapes_before_the_reference(tmp_path, capsys, no_reference):
    case = load_case(FIXTURES / "ff_lif_multispike.case.json")
    w = engine_document(case)["grad"]["weights"][0]
    rows, cols = len(w), len(w[0])
    assert rows != cols
    path = _claim(tmp_path, lambda d: d["grad"]["weights"].__setitem__(0, [list(c) for c in zip(*w)]))
    code, _, err = run_cli(capsys, "validate", FIXTURES / "ff_lif_multispike.case.json", path)
    assert code == EXIT_INVALID
    assert f"{cols}x{rows}" in err and f"{rows}x{cols}" in err and "grad.weights" in err


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d["spikes"][0][0].__setitem__(0, None), "is not a number"),
    (lambda d: d["jacobian"][2]["d_weights"][0].pop(), r"jacobian\[2\].d_weights"),
    (lambda d: d["jacobian"][0].pop("neuron"), r"jacobian\[0\] must be an object with integer"),
    (lambda d: d["jacobian"][1].update(d_weight=d["jacobian"][1].pop("d_weights")),
     r"jacobian\[1\] has unknown key\(s\) \['d_weight'\]"),
    (lambda d: d.update(loss="abc"), "claimed loss = 'abc' is not a number"),
])
def test_malformed_claims_exit_2_before_the_reference(tmp_path, capsys, no_reference, mutate, match):
    path = _claim(tmp_path, mutate)
    code, _, err = run_cli(capsys, "validate", FIXTURES / "ff_lif_multispike.case.json", path)
    assert code == EXIT_INVALID and re.search(match, err), err


def test_reference_failure_has_its_own_exit_status(tmp_path, capsys):
    case = tmp_path / "case.json"
    case.write_text(json.dumps(BROKEN_RESET))
    claim = tmp_path / "claim.json"
    claim.write_text(json.dumps({"format": "exactsnn-result/1", "spikes": [[[0.3]]]}))
    for args in (("verify", case), ("validate", case, claim)):
        code, _, err = run_cli(capsys, *args)
        assert code == EXIT_REFERENCE_FAILED and "the reference cannot solve this case" in err, args
    assert len({EXIT_OK, EXIT_DISAGREE, EXIT_INVALID, EXIT_REFERENCE_FAILED}) == 4


def test_reports_give_the_reference_cost_and_precision(tmp_path, capsys):
    case = FIXTURES / f"{SMALL}.case.json"
    code, out, _ = run_cli(capsys, "verify", case, "--dps", "30")
    assert code == EXIT_OK
    line = [x for x in out.splitlines() if x.startswith("reference:")]
    m = re.search(r"reference: [0-9.]+ s \([0-9.]+ s CPU\) for \d+ spikes \(solved\), 30 digits reported, "
                  r"(\d+) carried",
                  line[0] if line else "")
    assert m and int(m.group(1)) >= 45  # dps + GUARD_DIGITS, plus any digits lost to cancellation
    claim = tmp_path / "claim.json"
    claim.write_text(json.dumps(engine_document(load_case(case))))
    code, out, _ = run_cli(capsys, "validate", case, claim, "--json", "--dps", "30")
    run = json.loads(out)["reference_run"]
    assert code == EXIT_OK and run["dps"] == 30 and run["working_dps"] >= 45 and run["seconds"] > 0
    assert run["n_spikes"] == sum(len(s) for layer in json.loads(claim.read_text())["spikes"] for s in layer)


def test_saved_reference_is_reused_and_refused_for_another_case(tmp_path, capsys, monkeypatch):
    case = FIXTURES / "ff_lif_multispike.case.json"
    saved = tmp_path / "ref.json"
    claim = tmp_path / "claim.json"
    claim.write_text(json.dumps(engine_document(load_case(case))))
    code, out1, _ = run_cli(capsys, "validate", case, claim, "--json", "--save-reference", saved)
    assert code == EXIT_OK and json.loads(saved.read_text())["format"] == "exactsnn-reference-run/1"
    text = saved.read_text()
    assert "pickle" not in text and json.loads(text)["dps"] == 50
    # reused: the same report without solving again (any solve would fail the test)
    def boom(*a, **k):
        raise AssertionError("solved again")
    monkeypatch.setattr(importlib.import_module("exactsnn.verification"), "ground_truth", boom)
    code, out2, _ = run_cli(capsys, "validate", case, claim, "--json", "--reference", saved)
    a, b = json.loads(out1), json.loads(out2)
    assert code == EXIT_OK and b["reference_run"]["loaded_from"] == str(saved)
    a.pop("reference_run"), b.pop("reference_run")
    assert a == b
    code, out, _ = run_cli(capsys, "verify", case, "--reference", saved)
    assert code == EXIT_OK and "loaded from" in out
    # another case (one weight changed) and a higher precision are refused
    other = json.loads(case.read_text())
    other["network"]["weights"][0][0][0] += 1e-9
    other_path = tmp_path / "other.json"
    other_path.write_text(json.dumps(other))
    code, _, err = run_cli(capsys, "verify", other_path, "--reference", saved)
    assert code == EXIT_INVALID and "computed for another case" in err
    code, _, err = run_cli(capsys, "verify", case, "--reference", saved, "--dps", "60")
    assert code == EXIT_INVALID and "dps = 50" in err


def test_thorough_cross_checks_the_reference_by_finite_differences(tmp_path, capsys):
    case = FIXTURES / f"{SMALL}.case.json"
    code, out, _ = run_cli(capsys, "verify", case, "--dps", "30", "--thorough")
    m = re.search(r"thorough: (\d+) Jacobian entries by finite differences agree with the IFT to (\S+)", out)
    n_spikes = sum(1 for line in out.splitlines() if re.match(r"  L\d n\d+ #\d", line))
    assert code == EXIT_OK and m and float(m.group(2)) < 1e-20
    assert int(m.group(1)) == n_spikes * (3 + sum(len(ts) for ts in load_case(case).inputs))  # 3 lif params
    code, out, _ = run_cli(capsys, "verify", case, "--dps", "30")
    assert "thorough:" not in out
    saved = tmp_path / "ref.json"
    run_cli(capsys, "verify", case, "--save-reference", saved)
    code, _, err = run_cli(capsys, "verify", case, "--thorough", "--reference", saved)
    assert code == EXIT_INVALID and "cannot be combined" in err
