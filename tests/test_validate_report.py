"""`exactsnn validate` reports: spikes matched by time, missing/extra spikes listed first, JSON meanings."""

import json

import pytest
from mpmath import mp

from exactsnn import compare

from test_validate import engine_document, ff_case, ff_truth  # noqa: F401  (fixtures)


def _busiest(doc):
    """(layer, neuron) of the neuron with the most spikes in a result document."""
    return max(((l, n) for l, layer in enumerate(doc["spikes"]) for n in range(len(layer))),
               key=lambda ln: len(doc["spikes"][ln[0]][ln[1]]))


def test_missing_middle_spike_is_named_and_later_spikes_still_match(ff_case, ff_truth):  # noqa: F811
    doc = engine_document(ff_case)
    l, n = _busiest(doc)
    train = doc["spikes"][l][n]
    assert len(train) >= 3
    dropped = train.pop(1)
    # the Jacobian rows follow the claim's own numbering: drop row #1 and renumber the later ones
    rows = [e for e in doc["jacobian"] if not (e["layer"] == l + 1 and e["neuron"] == n and e["index"] == 1)]
    for e in rows:
        if e["layer"] == l + 1 and e["neuron"] == n and e["index"] > 1:
            e["index"] -= 1
    doc["jacobian"] = rows
    report = compare(ff_case, doc, truth=ff_truth)
    bad = report.disagreements
    assert [e.kind for e in bad] == ["count", "missing"], [e.where for e in bad]
    assert bad[1].where == f"missing spike L{l + 1} n{n} #1"
    assert abs(float(bad[1].expected) - dropped) < 1e-12  # the reference time of the missing spike
    summary = report.by_quantity()["spikes"]
    assert summary[3:] == (1, 0)  # one missing, no extra
    text = report.text()
    assert text.index("STRUCTURE") < len(text) and "DISAGREE" not in text
    assert f"missing: reference spike at t = {mp.nstr(bad[1].expected, 17)}" in text


def test_lost_spikes_are_counted_one_by_one_and_extra_spike_near_t_max(ff_case, ff_truth):  # noqa: F811
    doc = engine_document(ff_case)
    doc.pop("jacobian")
    l, n = _busiest(doc)
    train = doc["spikes"][l][n]
    lost = train[-2:]
    del train[-2:]
    other = (l, 1 - n) if len(doc["spikes"][l]) > 1 else (l, n)
    t_extra = float(ff_case.t_max) - 6e-7
    doc["spikes"][other[0]][other[1]].append(t_extra)
    doc["grad"]["weights"][0][0][0] *= 1.5  # one numeric disagreement, to be listed after the structure
    report = compare(ff_case, doc, truth=ff_truth)
    kinds = [e.kind for e in report.disagreements]
    assert kinds.count("missing") == 2 and kinds.count("extra") == 1 and kinds.count("count") == 2
    assert kinds[-1] == "numeric" and all(k != "numeric" for k in kinds[:-1])
    missing = sorted(float(e.expected) for e in report.disagreements if e.kind == "missing")
    assert missing == pytest.approx(lost, abs=1e-12)
    extra = [e for e in report.disagreements if e.kind == "extra"]
    assert float(extra[0].claimed) == t_extra
    text = report.text()
    assert text.index("STRUCTURE") < text.index("DISAGREE")
    assert f"extra: claimed spike at t = {mp.nstr(mp.mpf(t_extra), 17)}" in text
    assert "(2 missing, 1 extra)" in text


def test_json_rows_say_what_their_errors_mean(ff_case, ff_truth):  # noqa: F811
    doc = engine_document(ff_case)
    l, n = _busiest(doc)
    doc["spikes"][l][n][0] += 1e-6
    doc["spikes"][l][n].pop()
    doc.pop("jacobian")
    out = json.loads(json.dumps(compare(ff_case, doc, truth=ff_truth).to_dict()))
    rows = {r["kind"]: r for r in out["disagreements"]}
    assert rows["numeric"]["quantity"] == "spikes" and rows["numeric"]["rel_err"] is None
    assert rows["numeric"]["abs_err"] == pytest.approx(1e-6, rel=1e-6) and "absolute" in rows["numeric"]["error"]
    assert "reference spike" in rows["missing"]["error"] and rows["count"]["error"].startswith("the numbers")
    assert out["summary"]["spikes"]["missing"] == 1 and out["n_structural"] == 2
    assert [r["kind"] for r in out["disagreements"]] == ["count", "missing", "numeric"]


def _float32(x):
    import numpy as np

    if isinstance(x, dict):
        return {k: _float32(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_float32(v) for v in x]
    return float(np.float32(x)) if isinstance(x, float) else x


def test_float32_profile_passes_rounding_and_catches_a_lost_spike(ff_case, tmp_path, capsys):  # noqa: F811
    from exactsnn.cli import main

    from test_validate import FIXTURES

    case = FIXTURES / "ff_lif_multispike.case.json"
    rounded = _float32(engine_document(ff_case))
    path = tmp_path / "f32.json"
    path.write_text(json.dumps(rounded))
    saved = tmp_path / "ref.json"
    assert main(["validate", str(case), str(path), "--save-reference", str(saved)]) == 1  # rounding > 1e-9
    assert main(["validate", str(case), str(path), "--float32", "--reference", str(saved)]) == 0
    assert main(["validate", str(case), str(path), "--float32", "--atol-time", "1e-12", "--reference",
                 str(saved)]) == 1  # an explicit tolerance wins over the profile
    l, n = _busiest(rounded)
    rounded["spikes"][l][n].pop()
    rounded.pop("jacobian")
    path.write_text(json.dumps(rounded))
    capsys.readouterr()
    assert main(["validate", str(case), str(path), "--float32", "--reference", str(saved)]) == 1
    out = capsys.readouterr().out
    assert "STRUCTURE" in out and "missing: reference spike" in out and "atol_time" not in out
