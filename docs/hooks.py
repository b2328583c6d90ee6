"""MkDocs hooks (``mkdocs.yml``: ``hooks``): pages that live outside ``docs/`` and the API reference.

- ``index.md`` is the repository's README.md (links into ``docs/`` rewritten to the site's pages);
- ``notebooks.md``, ``benchmarks.md``: ``notebooks/README.md``, ``benchmarks/README.md``;
- ``proofs/*.md``: the proof documents (``proofs/README.md`` is their index);
- ``api.md``: every public name's signature and docstring, read from the code by ``inspect``.

- formulas (``$...$``, ``$$...$$``) in ``models.md`` and the proofs become MathML at build time (``mathml``), so
  the pages render their math with no script (``tests/test_docs_browser.py`` checks it in headless Chromium).

Nothing is fetched from the network; the pages are generated at each build, so they cannot drift.
"""

from __future__ import annotations

import inspect
import re
from html import unescape
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent

#: (module, names or None for the module's ``__all__``), in the API page's order.
API = [
    ("exactsnn", None),
    ("exactsnn.plot", ["raster", "membrane", "gradient_check", "layer_groups"]),
    ("exactsnn.training", ["config_for", "TrainConfig", "train", "train_to_folder", "load", "Trainer",
                           "TrainResult", "TrainedModel"]),
    ("exactsnn.verification", ["verify", "compare", "check_model", "ground_truth", "VerifyReport",
                               "CompareReport"]),
    ("exactsnn.io", ["load_case", "Case"]),
    ("exactsnn.torch", None),
    ("exactsnn.jax", None),
]


def _readme_page(text: str) -> str:
    """The README as the site's home page: links into docs/ point at the site's own pages."""
    return text.replace("](docs/", "](")


def _signature(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


def _entry(module: str, name: str, obj) -> list:
    kind = "class" if inspect.isclass(obj) else "function" if callable(obj) else "value"
    lines = [f"### `{module}.{name}`", ""]
    if kind != "value":
        lines += ["```python", f"{'class ' if kind == 'class' else ''}{name}{_signature(obj)}", "```", ""]
    doc = inspect.getdoc(obj) if kind != "value" else None
    if doc:
        lines += ["```text", doc, "```", ""]
    if kind == "class":
        methods = [(m, f) for m, f in vars(obj).items() if not m.startswith("_") and callable(f)]
        for m, f in methods:
            first = (inspect.getdoc(f) or "").split("\n")[0]
            lines.append(f"- `{m}{_signature(f)}`" + (f": {first}" if first else ""))
        if methods:
            lines.append("")
    return lines


def api_page() -> str:
    """Markdown of the public API, generated from the docstrings."""
    from importlib import import_module

    lines = ["# API reference", "",
             "Generated from the docstrings at build time (`docs/hooks.py`). `import exactsnn as es` gives the",
             "runtime names; the symbolic and verification names load SymPy or mpmath on first use.", ""]
    for module, names in API:
        mod = import_module(module)
        names = sorted(getattr(mod, "__all__", [])) if names is None else names
        lines += [f"## `{module}`", ""]
        for name in names:
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                continue
            lines += _entry(module, name, obj)
    return "\n".join(lines)


def on_files(files, config):
    """Add the pages generated from files outside docs/."""
    pages = {
        "index.md": _readme_page((ROOT / "README.md").read_text()),
        "notebooks.md": (ROOT / "notebooks" / "README.md").read_text(),
        "benchmarks.md": (ROOT / "benchmarks" / "README.md").read_text(),
        "api.md": api_page(),
    }
    for path in sorted((ROOT / "proofs").glob("*.md")):
        pages[f"proofs/{path.name}"] = path.read_text()
    for uri, content in pages.items():
        files.append(File.generated(config, uri, content=content))
    return files


# ----------------------------------------------------------------------------- math in the proofs
# Markdown would read `[a, b](u)` inside a formula as a link. Formulas are set aside before Markdown runs and put
# back into the HTML as MathML, converted at build time by latex2mathml (browsers render MathML natively: the
# pages need no script and no network). The TeX stays in the page as the <math> element's annotation.
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$", re.S)
_STASH: dict = {}


#: TeX environments latex2mathml does not know, and the one it knows that lays them out the same way
_ENVIRONMENTS = {"aligned": "align*"}


def mathml(tex: str, display: bool) -> str:
    """``tex`` as a MathML ``<math>`` element (``display="block"`` for display math) in a ``div``/``span`` of class
    ``math``. Raises ``ValueError`` naming the formula if latex2mathml cannot convert it (the build then fails)."""
    from latex2mathml.converter import convert

    for env, alias in _ENVIRONMENTS.items():
        tex = tex.replace(f"\\begin{{{env}}}", f"\\begin{{{alias}}}").replace(f"\\end{{{env}}}", f"\\end{{{alias}}}")
    try:
        out = convert(tex, display="block" if display else "inline")
    except Exception as e:  # latex2mathml raises its own exception classes for unknown commands
        raise ValueError(f"docs: cannot convert the formula {tex!r} to MathML: {e}") from e
    if "<merror" in out or "<mi>&</mi>" in out:  # an error, or an alignment `&` outside a known environment
        raise ValueError(f"docs: latex2mathml cannot render the formula {tex!r}: {out}")
    tag = "div" if display else "span"
    return f'<{tag} class="math">{out}</{tag}>'


def on_page_markdown(markdown, page, config, files):
    if not (page.file.src_uri.startswith("proofs/") or page.file.src_uri == "models.md"):
        return markdown
    stash = _STASH.setdefault(page.file.src_uri, [])
    stash.clear()

    def put(m):
        line_start = markdown.rfind("\n", 0, m.start()) + 1
        if markdown.startswith("#", line_start):  # headings become page titles: keep their TeX as written
            return m.group(0)
        display = m.group(1) is not None
        stash.append((display, m.group(1) if display else m.group(2)))
        return f"exactsnnmath{len(stash) - 1}x"

    return _MATH.sub(put, markdown)


_HEADING = re.compile(r"(<h[1-6][^>]*>)(.*?)(</h[1-6]>)", re.S)


def on_page_content(html, page, config, files):
    stash = _STASH.get(page.file.src_uri)
    if stash is None:
        return html

    def back(m):
        display, tex = stash[int(m.group(1))]
        return mathml(tex, display)

    def heading(m):  # headings kept their TeX for the page title; the heading itself shows MathML
        body = _MATH.sub(lambda f: mathml(unescape(f.group(1) or f.group(2)), f.group(1) is not None), m.group(2))
        return m.group(1) + body + m.group(3)

    _toc_math(page.toc)
    return _HEADING.sub(heading, re.sub(r"exactsnnmath(\d+)x", back, html))


def _toc_math(items):
    """The page's table of contents (the sidebar) shows a heading's formula as MathML too."""
    for item in items:
        item.title = _MATH.sub(lambda f: mathml(unescape(f.group(1) or f.group(2)), False), item.title)
        _toc_math(item.children)
