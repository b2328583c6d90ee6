"""``exactsnn derive``: the printed formulas are the model's own derivatives."""

import json
import subprocess
import sys

import sympy

from exactsnn.io.model_files import formulas_text, load_model_spec
from exactsnn.model import S


def test_printed_psp_derivative_is_the_derivative_of_the_kernel(tmp_path):
    path = tmp_path / "alpha.json"
    path.write_text(json.dumps({"psp": "s/tau*exp(1 - s/tau)", "reset": "theta*exp(-s/tau_r)", "threshold": "theta",
                                "params": {"tau": 1.5, "tau_r": 0.8, "theta": 1.0}}))
    model = load_model_spec(str(path))
    text = formulas_text(model)
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("psp'(s) ="))
    printed = sympy.sympify(line.split("=", 1)[1], locals={**{n: model.symbols[n] for n in model.param_names}, "s": S})
    assert sympy.simplify(printed - sympy.diff(model.psp, S)) == 0


def test_cli_derive_builtin_text_and_latex():
    out = subprocess.run([sys.executable, "-m", "exactsnn.cli", "derive", "lif"], capture_output=True, text=True)
    assert out.returncode == 0 and "branch: tau_mem = tau_syn" in out.stdout and "dF/dt_own" in out.stdout
    tex = subprocess.run([sys.executable, "-m", "exactsnn.cli", "derive", "nonleaky_if", "--latex"],
                         capture_output=True, text=True)
    assert tex.returncode == 0 and "\\tau_{\\mathrm{syn}}" in tex.stdout


def test_cli_derive_unknown_model_exits_2():
    out = subprocess.run([sys.executable, "-m", "exactsnn.cli", "derive", "no_such_model"], capture_output=True,
                         text=True)
    assert out.returncode == 2 and "neither a built-in" in out.stderr


def test_printed_newton_form_is_the_kernel():
    """The Newton-form line of ``exactsnn derive lif`` read back with SymPy (ExpDD evaluated from the
    divided-difference definition) equals the lif psp at rational points, to 40 digits."""
    from exactsnn import models
    from exactsnn.derive.expsum import ExpDD

    model = models.get("lif")
    text = formulas_text(model)
    line = next(ln for ln in text.split("evaluated numerically in Newton form")[1].splitlines()
                if ln.strip().startswith("psp(s) ="))
    names = {n: model.symbols[n] for n in model.param_names}
    printed = sympy.sympify(line.split("=", 1)[1], locals={**names, "s": S, "ExpDD": ExpDD})
    assert printed.has(ExpDD)
    for point in ({"tau_syn": sympy.Rational(1, 2), "tau_mem": 1}, {"tau_syn": 3, "tau_mem": sympy.Rational(7, 5)}):
        subs = {names[k]: v for k, v in point.items()} | {S: sympy.Rational(9, 4)}
        got = printed.subs(subs).evalf(50)
        want = model.psp.subs(subs).evalf(50)
        assert abs(got - want) <= 1e-40 * abs(want)
