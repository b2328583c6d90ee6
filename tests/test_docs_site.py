"""The documentation site builds with warnings as errors (`mkdocs build --strict`) and holds what it should."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")  # the dev extra installs it

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                          "--site-dir", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "WARNING" not in run.stderr, run.stderr[-3000:]
    return out


def test_site_has_every_page(site):
    for page in ["index.html", "case_format/index.html", "nir/index.html", "distributed/index.html",
                 "notebooks/index.html", "benchmarks/index.html", "api/index.html", "proofs/index.html",
                 "proofs/existence/index.html", "proofs/recursive_state/index.html"]:
        assert (site / page).is_file(), page
    # the home page is the README, its links into docs/ point at the site's pages
    home = (site / "index.html").read_text()
    assert "exactsnn demo: exact gradients of a 4-20-3 LIF network" in home
    assert 'href="case_format/"' in home and 'href="docs/case_format.md"' not in home


def test_api_page_is_generated_from_the_docstrings(site):
    import exactsnn
    from exactsnn import plot

    api = (site / "api" / "index.html").read_text()
    for name in exactsnn.__all__:
        assert f"exactsnn.{name}</code>" in api, name
    assert "exactsnn.plot.raster</code>" in api
    first_line = plot.membrane.__doc__.strip().split("\n")[0]
    assert first_line.replace("``", "").split(",")[0] in api.replace("``", "")


MATH_BLOCK = '<div class="math"><math xmlns="http://www.w3.org/1998/Math/MathML" display="block">'


def test_proof_formulas_reach_the_page_as_mathml(site):
    page = (site / "proofs" / "recursive_state" / "index.html").read_text()
    # $$F(u)=c_0N_0(u)+c_1N_1(u)-\theta ...$$ as MathML, made at build time (no script, no network)
    assert (MATH_BLOCK + '<mrow><mi>F</mi><mo stretchy="false">&#x00028;</mo><mi>u</mi><mo stretchy="false">'
            '&#x00029;</mo><mo>&#x0003D;</mo><msub><mi>c</mi><mn>0</mn></msub><msub><mi>N</mi><mn>0</mn></msub>') in page
    assert "exactsnnmath" not in page and "\\frac" not in page and "mathjax" not in page.lower()


def test_models_page_renders_every_built_in_model(site):
    from exactsnn.compiled import BUILTIN_NAMES

    page = (site / "models" / "index.html").read_text()
    for name in BUILTIN_NAMES:
        assert f"Model <code>{name}</code>" in page, name
    # each branch's table of partials (\begin{aligned}) is a MathML table
    assert page.count(MATH_BLOCK + "<mrow><mtable") >= len(BUILTIN_NAMES)
    assert "exactsnnmath" not in page and "\\begin{aligned}" not in page


def test_headings_and_the_contents_show_their_formulas_as_mathml(site):
    page = (site / "proofs" / "models" / "index.html").read_text()
    heading = re.search(r"<h2[^>]*>2\. lif with (.*?)</h2>", page, re.S).group(1)
    assert heading.startswith('<span class="math"><math') and "$" not in heading
    # and so does the sidebar's table of contents
    assert '#2-lif-with-tau_syntau_memtau" class="nav-link">2. lif with <span class="math"><math' in page


def test_a_formula_latex2mathml_cannot_render_fails_the_build():
    import importlib.util

    spec = importlib.util.spec_from_file_location("hooks", ROOT / "docs" / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    with pytest.raises(ValueError, match="gathered"):
        hooks.mathml(r"\begin{gathered} a \\ b &= c \end{gathered}", True)
    assert "<mtable" in hooks.mathml(r"\begin{aligned} a &= b \\ c &= d \end{aligned}", True)


@pytest.mark.slow
def test_models_page_is_current():
    """docs/models.md is what docs/models_page.py generates from the current derivation (about 2.5 min)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("models_page", ROOT / "docs" / "models_page.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (ROOT / "docs" / "models.md").read_text() == mod.page(), "regenerate: python docs/models_page.py"
