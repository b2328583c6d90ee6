"""`exactsnn validate` / `exactsnn.compare`, and the conformance fixtures in tests/fixtures.

The wrong implementation is written here: the paper's forward propagation without the own-reset
coupling (``forward_propagation(result, _own_reset=False)``), packed into a result document.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import mpmath
import pytest
from mpmath import mp

from exactsnn import compare, forward_propagation, loss_value_and_dt, simulate
from exactsnn.io.case import dumps, load_case, result_document
from exactsnn.cli import main
from exactsnn.errors import CaseFormatError
from exactsnn.reference import reference_solve
from exactsnn.verification import ground_truth, symbolic_model

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NAMES = sorted(p.name[:-len(".case.json")] for p in FIXTURES.glob("*.case.json"))
SMALL = "single_burst"


def engine_document(case, own_reset=True) -> dict:
    """exactsnn's float64 answer; ``own_reset=False`` is the deliberately wrong variant."""
    res = simulate(case.model, case.network, case.inputs, case.t_max, params=case.params)
    jac = forward_propagation(res, policy="flag", _own_reset=own_reset)
    value, dl_dt, _ = loss_value_and_dt(res, case.loss)
    return json.loads(dumps(result_document(case, res, value, jac.contract(dl_dt), jac)))


@pytest.fixture(scope="module")
def ff_case():
    return load_case(FIXTURES / "ff_lif_multispike.case.json")


@pytest.fixture(scope="module")
def ff_truth(ff_case):
    return ground_truth(ff_case, 50)


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_fixtures_present():
    assert len(NAMES) >= 5 and SMALL in NAMES
    for name in NAMES:
        assert (FIXTURES / f"{name}.answer.json").exists(), name


# ------------------------------------------------------------------------------------- correct answers
@pytest.mark.parametrize("name", NAMES)
def test_engine_answers_validate(tmp_path, capsys, name):
    case = load_case(FIXTURES / f"{name}.case.json")
    claimed = tmp_path / "claimed.json"
    claimed.write_text(json.dumps(engine_document(case)))
    code, out, _ = run_cli(capsys, "validate", FIXTURES / f"{name}.case.json", claimed)
    assert code == 0, out
    assert "OK: every number agrees within tolerance" in out
    assert "0 disagree" in out and "jacobian" in out and "grad" in out


def test_validate_subprocess_exit_codes(tmp_path):
    case = FIXTURES / f"{SMALL}.case.json"
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    c = load_case(case)
    good.write_text(json.dumps(engine_document(c)))
    bad.write_text(json.dumps(engine_document(c, own_reset=False)))
    run = [sys.executable, "-m", "exactsnn.cli", "validate", str(case)]
    assert subprocess.run(run + [str(good)], capture_output=True, text=True).returncode == 0
    out = subprocess.run(run + [str(bad)], capture_output=True, text=True)
    assert out.returncode == 1 and "jacobian[L1 n0 #1]" in out.stdout
    assert subprocess.run(run + [str(case)], capture_output=True, text=True).returncode == 2


# ------------------------------------------------------------------------------------- the wrong variant
def test_dropped_own_reset_is_caught_and_named(tmp_path, capsys, ff_case):
    doc = engine_document(ff_case, own_reset=False)
    path = tmp_path / "paper.json"
    path.write_text(json.dumps(doc))
    code, out, _ = run_cli(capsys, "validate", FIXTURES / "ff_lif_multispike.case.json", path, "--rows", 1000)
    assert code == 1
    assert "DISAGREE" in out
    table = out[out.index("DISAGREE"):]
    bad_rows = set(re.findall(r"^  jacobian\[(L\d n\d #\d)\]", table, flags=re.M))
    # Second spikes of hidden neurons are wrong; first spikes of the first layer cannot be (no earlier own
    # spike, inputs as parents) and are not named.
    assert {"L1 n0 #1", "L1 n1 #1"} <= bad_rows
    assert not any(r.startswith("L1") and r.endswith("#0") for r in bad_rows)
    assert "grad.weights" in out
    report = compare(ff_case, doc, dps=30)
    summary = report.by_quantity()
    assert summary["spikes"][1] == 0 and summary["loss"][1] == 0
    assert summary["jacobian"][1] > 50 and summary["grad"][1] > 5
    worst = max(report.disagreements, key=lambda e: e.rel_err)
    assert worst.rel_err > 1e-2


def test_disagreements_are_exactly_the_wrong_entries(ff_case, ff_truth):
    right, wrong = engine_document(ff_case), engine_document(ff_case, own_reset=False)
    named = {e.where for e in compare(ff_case, wrong, truth=ff_truth).disagreements}
    assert named and not compare(ff_case, right, truth=ff_truth).disagreements
    for e_right, e_wrong in zip(right["jacobian"], wrong["jacobian"]):
        label = f"jacobian[L{e_right['layer']} n{e_right['neuron']} #{e_right['index']}]"
        for k, v in e_right["d_model"].items():
            differs = abs(v - e_wrong["d_model"][k]) > 1e-6 * max(abs(x) for x in e_right["d_model"].values())
            assert differs == (f"{label}.d_model.{k}" in named), (label, k)


def test_tolerances_are_settable(capsys, tmp_path, ff_case):
    path = tmp_path / "paper.json"
    path.write_text(json.dumps(engine_document(ff_case, own_reset=False)))
    case = FIXTURES / "ff_lif_multispike.case.json"
    assert run_cli(capsys, "validate", case, path, "--rtol", "10", "--dps", "30")[0] == 0  # errors reach 155 %
    code, out, _ = run_cli(capsys, "validate", case, FIXTURES / "ff_lif_multispike.answer.json", "--atol-time", "0",
                           "--rtol", "0", "--atol", "0", "--dps", "30")
    assert code == 1 and "spikes[" in out  # 40-digit answers differ from a 30-digit reference
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(case), str(path), "--rtol", "-1"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    helptext = " ".join(capsys.readouterr().out.split())
    for default in ("default 1e-06", "default 1e-09", "default 1e-12", "default 50"):
        assert default in helptext


def test_spike_count_and_jacobian_rows(ff_case, ff_truth):
    doc = engine_document(ff_case)
    doc["spikes"][0][0] = doc["spikes"][0][0][:-1]  # drop the last spike of layer 1 neuron 0
    extra = dict(doc["jacobian"][0], index=9)
    doc["jacobian"] = doc["jacobian"][1:] + [extra]
    report = compare(ff_case, doc, truth=ff_truth)
    where = {e.where for e in report.disagreements}
    assert "spike count of L1 n0" in where
    assert "jacobian[L1 n0 #9]" in where  # no such spike
    missing = [e.where for e in report.disagreements if e.claimed == "missing" and e.quantity == "jacobian"]
    assert missing == ["jacobian[L1 n0 #0]"]  # the removed first entry
    text = report.text()  # structural findings only: a count, a missing spike, a missing and an extra row
    assert "STRUCTURE" in text and "count: reference" in text and "missing: no claimed row" in text
    assert "extra: a row for a spike that does not exist" in text and "DISAGREE" not in text


def test_partial_documents_compare_what_is_present(ff_case, ff_truth):
    doc = engine_document(ff_case)
    partial = {"format": "exactsnn-result/1", "spikes": doc["spikes"], "grad": {"model": {"tau_mem": doc["grad"]
                                                                                          ["model"]["tau_mem"]}}}
    report = compare(ff_case, partial, truth=ff_truth)
    assert report.ok and len([e for e in report.entries if e.quantity == "grad"]) == 1
    partial["grad"]["model"]["tau_mem"] *= 1.001
    bad = compare(ff_case, partial, truth=ff_truth).disagreements
    assert [e.where for e in bad] == ["grad.model.tau_mem"]
    # relative to the largest exact entry of the whole block, though only one entry was claimed
    g = ff_truth.grad["model"]
    scale = max(abs(x) for x in g)
    assert bad[0].rel_err == pytest.approx(float(abs(g[1]) * mp.mpf("0.001") / scale), rel=1e-9)


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.update(format="something/1"), "format = 'something/1'"),
    (lambda d: d["grad"]["weights"][0].pop(), r"grad.weights does not have the case's shape"),
    (lambda d: d["grad"]["model"].update(tau=1.0), r"grad.model has unknown name\(s\) \['tau'\]"),
    (lambda d: d["grad"].update(bias=[1.0]), r"grad.bias is unknown"),
    (lambda d: d["jacobian"][0]["d_weights"][0][0].__setitem__(0, "abc"), r"jacobian\[L1 n0 #0\].d_weights.*'abc'"),
    (lambda d: d["spikes"].pop(), "one list per layer"),
    (lambda d: d.pop("spikes"), "no 'spikes'"),
])
def test_invalid_claims(ff_case, ff_truth, mutate, match):
    doc = engine_document(ff_case)
    mutate(doc)
    with pytest.raises(CaseFormatError, match=match):
        compare(ff_case, doc, truth=ff_truth)


def test_invalid_files_exit_2(tmp_path, capsys):
    case = FIXTURES / f"{SMALL}.case.json"
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    assert run_cli(capsys, "validate", case, junk)[0] == 2
    assert run_cli(capsys, "validate", junk, case)[0] == 2
    assert run_cli(capsys, "validate", case, tmp_path / "missing.json")[0] == 2
    no_loss = json.loads(case.read_text())
    no_loss.pop("loss")
    path = tmp_path / "noloss.json"
    path.write_text(json.dumps(no_loss))
    code, _, err = run_cli(capsys, "validate", path, FIXTURES / f"{SMALL}.answer.json")
    assert code == 2 and "defines no loss" in err


# ------------------------------------------------------------------------------------- the fixtures
@pytest.mark.parametrize("name", NAMES)
def test_stored_answers_match_a_fresh_reference(capsys, name):
    """The 40-digit answers agree with an independent 30-digit run to 1e-25 (and validate themselves)."""
    case, answer = FIXTURES / f"{name}.case.json", FIXTURES / f"{name}.answer.json"
    doc = json.loads(answer.read_text())
    assert doc["format"] == "exactsnn-reference/1" and doc["reference"]["certified"] is True
    assert all(isinstance(t, str) and len(t.replace("-", "").replace(".", "").lstrip("0")) >= 30
               for e in doc["jacobian"] for t in [e["time"]])
    counts = [len(s) for layer in doc["spikes"] for s in (layer if isinstance(layer[0], list) else [layer])]
    assert max(counts) >= 2, "every fixture has a multi-spike neuron"
    code, out, _ = run_cli(capsys, "validate", case, answer, "--dps", "30", "--rtol", "1e-25", "--atol-time",
                           "1e-25", "--atol", "1e-28")
    assert code == 0, out


def fd_self_gap(name) -> mpmath.mpf:
    """max |IFT - FD| / max(1, |IFT|) over every Jacobian entry of fixture ``name``.

    The IFT Jacobian is the reference's at 50 digits. The finite differences are the reference's own
    (central, spike pattern fixed) from a 60-digit run, whose step h = 1e-20 keeps the O(h^2)
    truncation below 1e-30; at dps = 50 the step is 1e-16 and the truncation alone is 4e-30 to 1e-29
    on these fixtures.
    """
    case = load_case(FIXTURES / f"{name}.case.json")
    args = (symbolic_model(case.model), case.params, case.network, case.inputs, case.t_max)
    ift = reference_solve(*args, dps=50)
    fd = reference_solve(*args, dps=60, finite_differences=True)
    assert ift.order == fd.order
    gap = mp.zero
    for block in ("d_weights", "d_delays", "d_inputs", "d_model"):
        for row, row_fd in zip(getattr(ift, block), getattr(fd, block + "_fd")):
            for x, y in zip(row, row_fd):
                gap = max(gap, abs(x - y) / max(1, abs(x)))
    return gap


def test_reference_ift_matches_finite_differences_small():
    assert fd_self_gap(SMALL) < mpmath.mpf("1e-30")


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if n != SMALL])
def test_reference_ift_matches_finite_differences(name):
    assert fd_self_gap(name) < mpmath.mpf("1e-30")


@pytest.mark.slow
def test_fixtures_are_up_to_date():
    sys.path.insert(0, str(FIXTURES))
    try:
        import make_fixtures
    finally:
        sys.path.remove(str(FIXTURES))
    assert make_fixtures.check() == [], "run: python tests/fixtures/make_fixtures.py"
