"""Input text is data: no formula string, model file or cached module can run code (issue 18, part 1).

Each hostile string asks the shell to create a marker file. The test passes only if every entry point
refuses it with a clear error (exit status 2 on the command line) and the marker never appears.
"""

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sympy

import exactsnn as es
from exactsnn.errors import ModelError
from exactsnn.formula import parse_formula
from exactsnn.model import reserved_names, top_level_names

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]


def _injections(marker: Path) -> list:
    """Ways of smuggling code into a formula; each would create ``marker`` if evaluated."""
    cmd = f"touch {marker}"
    return [
        f"s/tau*exp(1 - s/tau) + 0*__import__('os').system('{cmd}')",
        f"__import__('os').system('{cmd}')",
        f"exp(s) + (lambda: __import__('os').system('{cmd}'))()",
        f"().__class__.__base__.__subclasses__()[0] and __import__('os').system('{cmd}')",
        f"eval(\"__import__('os').system('{cmd}')\")",
        f"exec(\"import os; os.system('{cmd}')\")",
        f"[__import__('os').system('{cmd}') for _ in [1]][0]",
        f"s.__class__.__init__.__globals__['__builtins__']['__import__']('os').system('{cmd}')",
        f"getattr(__import__('os'), 'system')('{cmd}')",
        f"Function('f')(s) + __import__('subprocess').call(['touch', '{marker}'])",
        f"exp(s)*(s := __import__('os').system('{cmd}'))",
        f"open('{marker}', 'w').write('x')",
    ]


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "a formula string ran code"


@pytest.mark.parametrize("field", ["psp", "reset", "threshold"])
def test_kernel_model_refuses_every_injection(marker, field):
    good = {"psp": "s/tau*exp(1 - s/tau)", "reset": "theta*exp(-s/tau_r)", "threshold": "theta"}
    for text in _injections(marker):
        args = dict(good, **{field: text})
        with pytest.raises(ModelError, match="not allowed|does not parse"):
            es.kernel_model(args["psp"], args["reset"], args["threshold"], {"tau": 1.0, "tau_r": 0.5, "theta": 1.0})


def test_neuron_model_refuses_strings_it_would_have_evaluated(marker):
    for text in _injections(marker):
        with pytest.raises(ModelError):
            es.NeuronModel("m", psp=text, reset="exp(-s)", threshold=1, params=())


def test_neuron_model_accepts_formula_strings_through_the_safe_parser():
    m = es.NeuronModel("m", psp="s*exp(-s/tau)", reset="exp(-s)", threshold="1",
                       params=(es.Param("tau", 2.0),))
    tau, s = m.symbols["tau"], sympy.Symbol("s", positive=True)
    assert sympy.simplify(m.psp - s * sympy.exp(-s / tau)) == 0


def test_ode_model_file_refuses_injection(marker):
    from exactsnn.models.ode import ode_model_from_dict

    base = {"name": "ode", "states": ["I", "V"], "equations": ["dI/dt = -I/tau_syn", "dV/dt = -V/tau_mem + I"],
            "jump": ["I += w"], "membrane": "V", "threshold": "theta", "reset": ["V -= theta"],
            "params": {"tau_syn": 0.5, "tau_mem": 1.0, "theta": 1.0}}
    for text in _injections(marker):
        for key, value in [("equations", [f"dI/dt = {text}", "dV/dt = -V/tau_mem + I"]), ("membrane", text),
                           ("threshold", text), ("jump", [f"I += w*({text})"]), ("reset", [f"V -= {text}"])]:
            doc = dict(base, **{key: value})
            with pytest.raises(ModelError):
                ode_model_from_dict(doc)


def _case_with_psp(text):
    doc = json.loads((FIXTURES / "ff_kernel_alpha.case.json").read_text())
    doc["model"]["psp"] = text
    return doc


@pytest.mark.parametrize("command", ["simulate", "grad", "verify", "derive", "validate"])
def test_every_command_refuses_the_hostile_case_with_exit_2(tmp_path, marker, command):
    text = _injections(marker)[0]
    case = tmp_path / "case.json"
    case.write_text(json.dumps(_case_with_psp(text)))
    if command == "derive":
        model = tmp_path / "model.toml"
        model.write_text(f'psp = "{text}"\nreset = "exp(-s)"\nthreshold = 1\n[params]\ntau = 1.0\n'.replace(
            "'", "\\u0027"))
        args = ["derive", str(model)]
    elif command == "validate":
        claim = FIXTURES / "ff_kernel_alpha.answer.json"
        args = ["validate", str(case), str(claim)]
    else:
        args = [command, str(case)]
    out = subprocess.run([sys.executable, "-m", "exactsnn.cli", *args], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "not allowed" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("text, what", [
    ("I*s", "unknown name 'I'"), ("sin(s)", "function 'sin'"), ("Heaviside(s)", "function 'Heaviside'"),
    ("Abs(s)", "function 'Abs'"), ("lambda s: s", "Lambda"), ("10**(10**8)", "larger than"),
    ("2**(10**8)*s", "larger than"), ("1e400*s", "finite"), ("s if s else 1", "IfExp"), ("s < 1", "Compare"),
    ("'s'", "literal"), ("1j*s", "literal"), ("s.real", "Attribute"), ("exp(s, 1)", "one positional"),
    ("exp(x=s)", "one positional"), ("s @ s", "MatMult"), ("s // 2", "FloorDiv"), ("s % 2", "Mod"),
])
def test_unsupported_formulas_are_refused_with_what_is_supported(text, what):
    with pytest.raises(ModelError, match="supported|allowed|larger|finite") as info:
        es.kernel_model(text, "exp(-s)", "1", {"tau": 1.0})
    assert what in str(info.value)


def test_size_bounds_hold_before_any_arithmetic():
    with pytest.raises(ModelError, match="characters"):
        parse_formula("s+" * 5000 + "s", {"s": sympy.Symbol("s")}, "psp")
    with pytest.raises(ModelError, match="nested|parse"):
        parse_formula("(" * 1500 + "s" + ")" * 1500, {"s": sympy.Symbol("s")}, "psp")
    with pytest.raises(ModelError, match="syntax nodes"):
        parse_formula("s+" * 1500 + "s", {"s": sympy.Symbol("s")}, "psp")
    with pytest.raises(ModelError, match="larger"):  # nested powers stop at the first that is too large
        parse_formula("((10**64)**64)**64", {}, "x")


def test_formula_numbers_and_powers_parse_to_exact_sympy_values():
    s = sympy.Symbol("s", positive=True)
    assert parse_formula("1/2*s", {"s": s}, "x") == s / 2
    assert parse_formula("0.25*s", {"s": s}, "x") == sympy.Float(0.25) * s
    assert parse_formula("2**3", {}, "x") == 8
    assert parse_formula("-(s) + +s", {"s": s}, "x") == 0
    assert parse_formula("expm1(s) - (exp(s) - 1)", {"s": s}, "x") == 0
    assert parse_formula("log1p(s) - log(1 + s)", {"s": s}, "x") == 0
    assert parse_formula("pi", {}, "x") == sympy.pi
    assert parse_formula(3.0, {}, "x") == 3 and parse_formula(0.1, {}, "x") == sympy.Float(0.1)


def test_power_with_symbolic_exponent_compiles_and_matches_its_formula():
    """``2**tau`` (SymPy prints it as exp2, which numba lacks) simulates like the same model written
    with the number 2**tau substituted."""
    import numpy as np

    net = es.Network.feedforward([np.array([[2.5, 2.0], [1.5, 2.9]]), np.array([[1.2], [1.1]])])
    a = es.kernel_model("s/tau*exp(1 - s/tau)*2**(tau - 1)", "exp(-s/tau)", "1", {"tau": 1.5})
    b = es.kernel_model(f"s/tau*exp(1 - s/tau)*{2 ** 0.5!r}", "exp(-s/tau)", "1", {"tau": 1.5})
    ra = es.simulate(a, net, [[0.1, 0.6], [0.3]], 6.0)
    rb = es.simulate(b, net, [[0.1, 0.6], [0.3]], 6.0)
    assert ra.spike_time.size > 0
    np.testing.assert_allclose(ra.spike_time, rb.spike_time, rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", ["pi", "exp", "log", "sqrt", "expm1", "expdd2", "iv_add", "psp", "dpsp_dp",
                                  "newton_state", "range", "float", "MODEL_NAME", "lambda", "_x", "math", "np"])
def test_parameter_names_that_collide_with_generated_or_formula_names_are_refused(name):
    with pytest.raises(ModelError, match="reserved|identifier"):
        es.Param(name, 1.0)


def test_a_parameter_named_after_a_constant_is_refused_not_silently_replaced():
    """A parameter ``E`` used to become Euler's number silently (so dL/dE = 0); now the name is refused,
    and ``E`` in a formula is Euler's number."""
    with pytest.raises(ModelError, match="'E' is reserved"):
        es.kernel_model("E*s*exp(-s)", "exp(-s)", "1", {"E": 2.0})
    m = es.kernel_model("E*s*exp(-s)", "exp(-s)", "1", {"tau": 2.0})
    assert m.psp.has(sympy.E)


def test_reserved_names_cover_every_top_level_name_of_a_generated_module():
    """A parameter is a local variable of every kernel; no generated module-level name may be free for it."""
    for name in ("lif", "srm_alpha"):
        text = Path(es.load_builtin(name).module.__file__).read_text()
        assert top_level_names(text) <= reserved_names(), name


CACHE_CODE = textwrap.dedent("""
    import json, sys
    import exactsnn
    m = exactsnn.kernel_model("s/tau*exp(1 - s/tau)", "theta*exp(-s/tau_r)", "theta",
                              {"tau": 1.4, "tau_r": 0.6, "theta": 1.0})
    cm = exactsnn.compile_model(m)
    r = exactsnn.simulate(cm, exactsnn.Network.feedforward([[[2.0]]]), [[0.0]], 4.0)
    print(json.dumps({"file": cm.module.__file__, "spikes": r.spike_time.tolist()}))
""")


def test_cache_refuses_a_tampered_module_and_is_private(tmp_path):
    cache = tmp_path / "cache"
    env = dict(os.environ, EXACTSNN_CACHE_DIR=str(cache))
    first = subprocess.run([sys.executable, "-c", CACHE_CODE], env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout.strip().splitlines()[-1])
    path = Path(result["file"])
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    marker = tmp_path / "PWNED"
    original = path.read_text()
    path.write_text(original + f"\nimport os\nos.system('touch {marker}')\n")  # the INPUT_HASH line is intact
    again = subprocess.run([sys.executable, "-c", CACHE_CODE], env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert not marker.exists(), "appended code in the cache ran"
    assert json.loads(again.stdout.strip().splitlines()[-1]) == result
    assert path.read_text() == original  # rewritten from the kernels
