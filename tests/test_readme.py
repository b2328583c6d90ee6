"""README.md runs as written: its Python blocks, in order, print what it shows; its demo block is `exactsnn demo`.

A ```python block followed by a ```text block (only blank lines between) must print exactly that text.
All Python blocks run in one interpreter session, in a temporary directory, with every warning an error.
If `exactsnn demo` changes, paste its output into the block after "exactsnn demo output" in README.md.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
MARK = "# ---- README block {} ----"


def blocks(text):
    """[(language, body, expected output or None)] of the fenced blocks, each python block with its output."""
    found = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    out = []
    for i, (lang, body, _, end) in enumerate(found):
        if lang != "python":
            continue
        nxt = found[i + 1] if i + 1 < len(found) else None
        expected = nxt[1] if nxt and nxt[0] == "text" and not text[end:nxt[2]].strip() else None
        out.append((body, expected))
    return out


def _env():
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return env


def test_readme_python_blocks_run_clean_and_print_what_they_show(tmp_path):
    pytest.importorskip("torch")  # one block is the PyTorch layer (the dev extra installs torch)
    code = blocks(README.read_text())
    assert len(code) >= 4
    script = "\n".join(f"print({MARK.format(i)!r}, flush=True)\n{body}" for i, (body, _) in enumerate(code))
    run = subprocess.run([sys.executable, "-W", "error", "-c", script], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Warning" not in run.stderr, run.stderr[-3000:]
    printed = re.split("|".join(re.escape(MARK.format(i)) + r"\n" for i in range(len(code))), run.stdout)[1:]
    assert len(printed) == len(code)
    for i, ((body, expected), got) in enumerate(zip(code, printed)):
        if expected is not None:
            assert got == expected, f"README block {i} printed\n{got}\ninstead of\n{expected}\n(block:\n{body})"


def test_readme_demo_block_is_what_exactsnn_demo_prints():
    text = README.read_text()
    at = text.index("<!-- exactsnn demo output")
    expected = FENCE.search(text, at).group(2)
    run = subprocess.run([sys.executable, "-m", "exactsnn.cli", "demo"], env=_env(), capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout == expected


def test_train_to_folder_imports_as_the_readme_says():
    from exactsnn.training import train_to_folder  # noqa: F401
    import exactsnn

    assert callable(exactsnn.load) and callable(train_to_folder)
