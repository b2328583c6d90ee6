"""The JSON Schemas of docs/schema describe what the code reads and writes.

- every case fixture validates against ``exactsnn-case-1.schema.json``; every answer fixture, and the
  documents that ``exactsnn grad`` / ``exactsnn simulate`` print, against ``exactsnn-result-1.schema.json``;
- mutated cases are rejected by the schema AND by ``exactsnn.load_case`` (schema and loader agree);
- the schema's enums (model names, network kinds, loss kinds) are exactly what the loader accepts.
"""

import copy
import json
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")

import exactsnn as es  # noqa: E402
from exactsnn.cli import main  # noqa: E402
from exactsnn.compiled import BUILTIN_NAMES  # noqa: E402
from exactsnn.losses import KINDS as LOSS_KINDS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CASES = sorted(FIXTURES.glob("*.case.json"))
ANSWERS = sorted(FIXTURES.glob("*.answer.json"))


def _validator(name):
    schema = json.loads((ROOT / "docs" / "schema" / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


CASE_SCHEMA = _validator("exactsnn-case-1.schema.json")
RESULT_SCHEMA = _validator("exactsnn-result-1.schema.json")


def _errors(validator, doc):
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_there_are_fixtures():
    assert len(CASES) >= 6 and len(ANSWERS) == len(CASES)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_case_fixture_is_schema_valid_and_loads(path):
    doc = json.loads(path.read_text())
    assert _errors(CASE_SCHEMA, doc) == []
    es.load_case(doc)


@pytest.mark.parametrize("path", ANSWERS, ids=lambda p: p.name)
def test_answer_fixture_is_schema_valid(path):
    assert _errors(RESULT_SCHEMA, json.loads(path.read_text())) == []


@pytest.mark.parametrize("argv", [["grad", "rec_lif_self.case.json", "--jacobian"],
                                  ["grad", "ff_lif_multispike.case.json", "--jacobian"],
                                  ["grad", "single_burst.case.json"],
                                  ["simulate", "single_burst.case.json"]], ids=" ".join)
def test_cli_output_is_schema_valid(argv, capsys):
    """What ``python -m exactsnn.cli grad|simulate CASE`` prints is a valid result document."""
    assert main([argv[0], str(FIXTURES / argv[1])] + argv[2:]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert _errors(RESULT_SCHEMA, doc) == []
    assert doc["format"] == "exactsnn-result/1"
    assert ("grad" in doc) == (argv[0] == "grad") and ("jacobian" in doc) == ("--jacobian" in argv)


def _base(name):
    return json.loads((FIXTURES / name).read_text())


def _set(doc, path, value):
    """A copy of ``doc`` with the entry at ``path`` (keys/indices) replaced, or deleted when value is DELETE."""
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


DELETE = object()
# (fixture, path, new value): each makes the case invalid in a way the schema can see.
MUTATIONS = {
    "format version": ("single_burst.case.json", ["format"], "exactsnn-case/2"),
    "no t_max": ("single_burst.case.json", ["t_max"], DELETE),
    "no inputs": ("single_burst.case.json", ["inputs"], DELETE),
    "t_max zero": ("single_burst.case.json", ["t_max"], 0.0),
    "negative input time": ("single_burst.case.json", ["inputs", 0, 0], -0.1),
    "input times not numbers": ("single_burst.case.json", ["inputs", 0], [None]),
    "unknown model": ("single_burst.case.json", ["model", "name"], "izhikevich"),
    "unknown built-in-like name": ("single_burst.case.json", ["model", "name"], "srm"),
    "unknown srm_alpha key": ("single_burst.case.json", ["model"], {"name": "srm_alpha", "tau_syn": 1.0}),
    "frac_slow above 1": ("single_burst.case.json", ["model"], {"name": "lif_two_synapse", "frac_slow": 1.5}),
    "zero beta": ("single_burst.case.json", ["model"], {"name": "adaptive_threshold", "beta": 0.0}),
    "negative tau_syn": ("single_burst.case.json", ["model", "tau_syn"], -0.5),
    "zero threshold": ("single_burst.case.json", ["model", "threshold"], 0.0),
    "threshold as string": ("single_burst.case.json", ["model", "threshold"], "1.0"),
    "null tau_syn": ("single_burst.case.json", ["model", "tau_syn"], None),
    "unknown lif key": ("single_burst.case.json", ["model", "tau_ref"], 0.1),
    "kernel without params": ("ff_kernel_alpha.case.json", ["model", "params"], DELETE),
    "kernel param _x": ("ff_kernel_alpha.case.json", ["model", "params", "_x"], 1.0),
    "kernel params not an object": ("ff_kernel_alpha.case.json", ["model", "params"], [1.0]),
    "kernel psp not a formula": ("ff_kernel_alpha.case.json", ["model", "psp"], ["s"]),
    "empty psp": ("ff_kernel_alpha.case.json", ["model", "psp"], ""),
    "unknown network kind": ("single_burst.case.json", ["network", "kind"], "convolutional"),
    "unknown network key": ("single_burst.case.json", ["network", "bias"], [1.0]),
    "no layers": ("single_burst.case.json", ["network", "weights"], []),
    "empty row": ("single_burst.case.json", ["network", "weights", 0], [[]]),
    "weight not a number": ("single_burst.case.json", ["network", "weights", 0, 0, 0], None),
    "negative delay": ("ff_kernel_alpha.case.json", ["network", "delays", 0, 0, 1], -0.1),
    "recurrent without outputs": ("rec_lif_self.case.json", ["network", "outputs"], DELETE),
    "empty outputs": ("rec_lif_self.case.json", ["network", "outputs"], []),
    "repeated outputs": ("rec_lif_self.case.json", ["network", "outputs"], [1, 1]),
    "negative output": ("rec_lif_self.case.json", ["network", "outputs"], [-1]),
    "negative input delay": ("rec_lif_self.case.json", ["network", "input_delays", 0, 2], -0.1),
    "unknown loss": ("single_burst.case.json", ["loss"], {"kind": "mse"}),
    "loss without kind": ("single_burst.case.json", ["loss"], {"label": 0}),
    "first_spike_sum with label": ("single_burst.case.json", ["loss"], {"kind": "first_spike_sum", "label": 0}),
    "ttfs without label": ("rec_lif_self.case.json", ["loss", "label"], DELETE),
    "negative label": ("rec_lif_self.case.json", ["loss", "label"], -1),
    "fractional label": ("rec_lif_self.case.json", ["loss", "label"], 0.5),
    "zero tau0": ("rec_lif_self.case.json", ["loss", "tau0"], 0.0),
    "gamma as string": ("rec_lif_self.case.json", ["loss", "gamma"], "-0.1"),
    "not an object": (None, None, [1, 2]),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_schema_and_loader_both_reject(name):
    fixture, path, value = MUTATIONS[name]
    doc = value if fixture is None else _set(_base(fixture), path, value)
    assert _errors(CASE_SCHEMA, doc), f"the schema accepts the invalid case ({name})"
    with pytest.raises(es.ExactSNNError):
        es.load_case(json.dumps(doc))  # as JSON text, the way a case file arrives


def test_result_schema_rejects_malformed_documents():
    good = json.loads((FIXTURES / "rec_lif_self.answer.json").read_text())
    for path, value in ((["format"], "exactsnn-case/1"), (["spikes"], DELETE), (["spikes"], 1.0),
                        (["loss"], "nan"), (["loss"], [0.1]), (["grad", "biases"], [1.0]),
                        (["grad", "model", "tau_syn"], None), (["jacobian", 0, "neuron"], DELETE),
                        (["jacobian", 0, "index"], -1), (["jacobian", 0, "time"], "soon")):
        assert _errors(RESULT_SCHEMA, _set(good, path, value)), (path, value)


def _enum(schema, *path):
    node = schema.schema["properties"]
    for key in path:
        node = node[key]
    return set(node["enum"])


def test_model_name_enum_is_what_the_loader_accepts():
    """Names in the enum load (every built-in by name, ``kernel`` from its fixture); every other name is refused."""
    names = _enum(CASE_SCHEMA, "model", "properties", "name")
    assert names == set(BUILTIN_NAMES) | {"kernel"}
    assert "kernel" in {json.loads(p.read_text())["model"]["name"] for p in CASES}
    for name in set(BUILTIN_NAMES):
        doc = _set(_base("single_burst.case.json"), ["model"], {"name": name})
        assert _errors(CASE_SCHEMA, doc) == [] and es.load_case(doc).model == name
    for name in {"LIF", "Kernel", "", "srm", "lif ", "nonleaky", "Adaptive_threshold"}:
        doc = _set(_base("single_burst.case.json"), ["model", "name"], name)
        with pytest.raises(es.ExactSNNError, match="model.name"):
            es.load_case(doc)


def test_network_and_loss_enums_are_what_the_loader_accepts():
    assert _enum(CASE_SCHEMA, "network", "properties", "kind") == {
        json.loads(p.read_text())["network"]["kind"] for p in CASES}
    loss = CASE_SCHEMA.schema["properties"]["loss"]["oneOf"][1]
    assert set(loss["properties"]["kind"]["enum"]) == set(LOSS_KINDS)
    for kind in ("mse", "first_spike", "TTFS_CROSS_ENTROPY"):
        with pytest.raises(es.ExactSNNError, match="loss.kind"):
            es.load_case(_set(_base("single_burst.case.json"), ["loss"], {"kind": kind}))
