"""``exactsnn derive --latex`` is a LaTeX fragment: environments balance, every formula and symbol is in
math mode, prose has its specials escaped, one align row per derived partial; compiled with pdflatex
when one is installed."""

import re
import shutil
import subprocess

import pytest

from exactsnn import models
from exactsnn.derive import derive, implicit_partials_text
from exactsnn.io.latex import escape, formulas_latex, symbol_tex

_MATH = re.compile(r"\$[^$]*\$|\\\[.*?\\\]|\\begin\{align\*\}.*?\\end\{align\*\}", re.S)


def _outside_math(tex: str) -> str:
    return _MATH.sub(" ", tex)


@pytest.mark.parametrize("name", ["lif", "adaptive_threshold"])
def test_fragment_structure(name):
    model = models.get(name)
    tex = formulas_latex(model)
    assert tex.count(r"\begin{align*}") == tex.count(r"\end{align*}") > 0
    assert tex.count("{") == tex.count("}") and tex.count(r"\[") == tex.count(r"\]")
    text = _outside_math("\n".join(l for l in tex.splitlines() if not l.startswith("%")))
    # no math outside math mode: no unescaped ^ or _, no = sign, no math commands, no parameter names
    assert not re.search(r"(?<!\\)[_^=]", text), text
    assert not re.search(r"\\(frac|partial|tau|mathit|left|right|sum)\b", text), text
    for p in model.param_names:
        assert not re.search(rf"(?<![\\\w{{]){p}\b", text), (p, text)
    # one align row per partial, per branch
    tables = implicit_partials_text(derive(model))
    aligns = re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S)
    assert [a.count("&=") for a in aligns[:len(tables)]] == [len(t) for t in tables.values()]


def test_symbols_and_escapes():
    assert symbol_tex("tau_syn") == r"\tau_{\mathrm{syn}}" and symbol_tex("threshold") == r"\mathit{threshold}"
    assert symbol_tex("frac_slow") == r"\mathit{frac}_{\mathrm{slow}}" and symbol_tex("s") == "s"
    assert escape("a_b 50% {x}") == r"a\_b 50\% \{x\}"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex installed")
def test_fragment_compiles(tmp_path):
    body = formulas_latex(models.get("srm_alpha"))
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
                                      + body + "\n\\end{document}\n")
    out = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:]


def test_cli_version(capsys):
    import exactsnn
    from exactsnn.cli import main

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"exactsnn {exactsnn.__version__}"
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert exactsnn.__version__ == project["version"]
