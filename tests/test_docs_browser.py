"""The documentation site's math renders in a real browser, offline (headless Chromium, Debian's ``chromium``).

The site is built with ``mkdocs build --strict``; formulas are MathML made at build time (docs/hooks.py), so
no script and no network is needed. A copy of a page gets a small script that measures the rendered formulas
(``getBoundingClientRect``) and writes the measurements into the page; ``chromium --headless --dump-dom`` runs
it and prints the page. A browser that did not lay out MathML would put a fraction's numerator and denominator
on one line; one that showed raw TeX would have no ``<math>`` boxes at all. A screenshot is taken too.

Skipped, with the reason, when ``chromium`` is not installed (``apt-get install chromium``).
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("latex2mathml")
from test_docs_site import site  # noqa: E402,F401  (the fixture: mkdocs build --strict into a temporary folder)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")

# Measures the page's formulas: how many <math> elements have a non-empty box, and for each <mfrac> whether the
# numerator's box lies above the denominator's (a vertical fraction is laid out).
PROBE = """<script>
(function () {
  const box = (e) => e.getBoundingClientRect();
  const maths = Array.from(document.querySelectorAll("math"));
  const fracs = Array.from(document.querySelectorAll("mfrac"));
  const r = {
    math: maths.length,
    math_visible: maths.filter((m) => box(m).width > 0 && box(m).height > 0).length,
    mfrac: fracs.length,
    mfrac_stacked: fracs.filter((f) => f.children.length === 2 &&
                                       box(f.children[0]).bottom <= box(f.children[1]).top + 1).length,
    namespace: maths.length ? maths[0].namespaceURI : null,
  };
  const out = document.createElement("pre");
  out.id = "exactsnn-probe";
  out.textContent = JSON.stringify(r);
  document.body.appendChild(out);
})();
</script>"""


def _chromium(*args, tmp):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp / 'profile'}",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _measure(site: Path, page: str, tmp: Path) -> dict:
    html = (site / page).read_text()
    probed = site / page.replace("index.html", "probe.html")
    probed.write_text(html.replace("</body>", PROBE + "</body>"))
    run = _chromium("--dump-dom", probed.as_uri(), tmp=tmp)
    m = re.search(r'<pre id="exactsnn-probe">(.*?)</pre>', run.stdout)
    assert m, f"chromium printed no measurement: {run.stderr[-2000:]}"
    return json.loads(m.group(1))


@pytest.mark.parametrize("page", ["models/index.html", "proofs/forward_propagation/index.html"])
def test_math_is_laid_out_as_mathml(site, page, tmp_path):
    html = (site / page).read_text()
    assert "cdn." not in html and "mathjax" not in html.lower()  # nothing to fetch
    text = re.sub(r"<math.*?</math>", "", html, flags=re.S)  # what is left outside the formulas
    body = text[text.index("<body"):]
    assert "$$" not in body and "\\frac" not in body and "\\begin{" not in body
    r = _measure(site, page, tmp_path)
    assert r["namespace"] == "http://www.w3.org/1998/Math/MathML"
    assert r["math"] >= 50 and r["math_visible"] == r["math"], r
    assert r["mfrac"] >= 3 and r["mfrac_stacked"] == r["mfrac"], r


def test_models_page_screenshot(site, tmp_path):
    shot = tmp_path / "models.png"
    run = _chromium(f"--screenshot={shot}", "--window-size=1200,1600", (site / "models" / "index.html").as_uri(),
                    tmp=tmp_path)
    assert shot.is_file(), run.stderr[-2000:]
    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("L"))
    assert img.shape == (1600, 1200)
    # the page is not blank: a good share of its pixels is ink (text and formulas)
    assert (img < 128).mean() > 0.01
