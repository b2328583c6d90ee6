"""Every built-in model by name in a case file: ``exactsnn grad CASE`` equals ``exactsnn.simulate`` +
``loss_grad`` with the same model, echoes the parameters used (the schema's documented defaults for
absent ones), and out-of-range or unknown parameters are refused naming the key."""

import json
from pathlib import Path

import numpy as np
import pytest

import exactsnn as es
from exactsnn.cli import main
from exactsnn.compiled import BUILTIN_NAMES

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "schema" / "exactsnn-case-1.schema.json")
                    .read_text())
# one non-default value per model (the others take their documented defaults)
GIVEN = {"lif": {"tau_syn": 0.4}, "nonleaky_if": {"tau_syn": 0.6}, "srm_alpha": {"tau": 0.8},
         "lif_dual_exp": {"tau_rise": 0.15}, "lif_two_synapse": {"frac_slow": 0.4},
         "adaptive_threshold": {"beta": 0.3}}
RNG = np.random.default_rng(7)
WEIGHTS = [RNG.normal(3.0, 1.0, (2, 3)).round(3), RNG.normal(2.5, 1.0, (3, 2)).round(3)]
INPUTS = [[0.1, 0.9, 1.7], [0.4, 1.2]]


def _schema_defaults(name):
    props = SCHEMA["$defs"][f"{name}_model"]["properties"]
    return {k: v["default"] for k, v in props.items() if k != "name"}


def _case(name, params):
    return {"format": "exactsnn-case/1", "model": {"name": name, **params},
            "network": {"kind": "feedforward", "weights": [w.tolist() for w in WEIGHTS]},
            "inputs": INPUTS, "t_max": 5.0, "loss": {"kind": "first_spike_sum"}}


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_builtin_by_name_matches_the_python_api(name, tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(_case(name, GIVEN[name])))
    assert main(["grad", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["params"] == {**_schema_defaults(name), **GIVEN[name]}
    net = es.Network.feedforward(WEIGHTS)
    res = es.simulate(name, net, INPUTS, 5.0, params=GIVEN[name])
    assert res.n_spikes >= 3, "the test network should spike"
    assert doc["spikes"] == [[s.tolist() for s in res.spikes[:3]], [s.tolist() for s in res.spikes[3:]]]
    value, grads = es.loss_grad(res, es.Loss("first_spike_sum"))
    assert doc["loss"] == value
    assert doc["grad"]["model"] == dict(zip(res.model.param_names, grads.model.tolist()))


@pytest.mark.parametrize("name", [n for n in BUILTIN_NAMES if n != "lif"])
def test_builtin_parameters_are_checked(name):
    first = next(iter(_schema_defaults(name)))
    with pytest.raises(es.CaseFormatError, match=first):
        es.load_case(_case(name, {first: -1.0}))
    with pytest.raises(es.CaseFormatError, match="unknown key.*each optional"):
        es.load_case(_case(name, {"tau_ref": 1.0}))
    with pytest.raises(es.CaseFormatError, match=f"model.{first}"):
        es.load_case(_case(name, {first: "1.0"}))
