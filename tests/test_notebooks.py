"""Execute every notebook in ``notebooks/`` top to bottom; any cell error fails the test.

Kernel: ``python3``. If no kernelspec of that name is installed, jupyter_client falls back to
the native ipykernel spec of the running interpreter (ipykernel is a dev dependency), and a
spec whose argv starts with ``python`` is run with this interpreter either way.
"""

from pathlib import Path

import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
#: Notebooks whose paragraph in notebooks/README.md quotes only percentages the notebook prints.
QUOTED_NUMBERS = ("train_yinyang.ipynb",)
PERCENT = re.compile(r"(\d+\.\d)\s?%")


def readme_paragraph(name: str) -> str:
    """The paragraph of notebooks/README.md that starts with the notebook's name in backquotes."""
    paragraphs = (NOTEBOOK_DIR / "README.md").read_text().split("\n\n")
    return next(p for p in paragraphs if p.startswith(f"`{name}`"))


def printed_text(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream")


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    # The kernel inherits this process's environment: headless plotting.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=600, allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
    if path.name in QUOTED_NUMBERS:
        quoted = set(PERCENT.findall(readme_paragraph(path.name)))
        printed = set(PERCENT.findall(printed_text(nb)))
        assert quoted and quoted <= printed, (f"notebooks/README.md quotes {sorted(quoted - printed)} % for "
                                              f"{path.name}, which printed {sorted(printed)} %")
