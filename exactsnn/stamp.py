"""A model's numeric module: its printed kernels with the engine templates stamped below, cached on disk.

The code generator (``exactsnn.codegen``) prints only what is model-specific: the kernels, their
derivatives and enclosures, closed forms (for built-in models these ship as ``exactsnn/_generated/
NAME.py``). At load time this module appends the engine templates (``numeric/templates``, with every
line marked ``# stamp: drop`` removed), gathers all imports into one block, writes the result to the
cache as ``<model>_<digest>.py`` and imports it. Plain text work, no SymPy. numba compiles the file
with ``cache=True``; its on-disk cache sits beside it.

The digest covers the kernels, every numeric source file (templates and helpers: numba's cache checks
only the stamped file, so a change to any code it calls must change the file) and the numba version.

Trust model. A cached module is Python that is imported, so the cache directory is trusted like code:
whoever can write it can run code in every process that loads a model. exactsnn creates it readable
and writable by its owner only (``0700``, files ``0600``), and does not use a directory owned by
someone else or writable by others. Do not point ``EXACTSNN_CACHE_DIR`` at a shared directory. Against
corruption and against code appended to a cached file, every cached file has a sidecar ``.sha256``
with the SHA-256 of the whole file: the loader hashes the bytes it is about to import, compares, and
compiles exactly those bytes (no re-read, no ``.pyc``). A mismatch rewrites the file.

Where the cache lives: ``$EXACTSNN_CACHE_DIR``, else ``~/.cache/exactsnn``. If that cannot be created
or written (a read-only install, an unwritable HOME), a private directory under the system's temporary
directory is used instead, with a one-line warning.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.machinery
import importlib.util
import os
import re
import stat
import sys
import tempfile
from pathlib import Path

import numba

FORMAT_VERSION = "2"
PACKAGE_DIR = Path(__file__).resolve().parent
NUMERIC_DIR = PACKAGE_DIR / "numeric"
TEMPLATE_DIR = NUMERIC_DIR / "templates"
#: Stamped in this order below the kernels.
TEMPLATES = ("engine_sim.py", "engine_crossing.py", "engine_record.py", "engine_feedforward.py", "engine_loop.py",
             "engine_grad.py", "engine_batch.py", "engine_pooled.py", "engine_jacobian.py")
DROP_MARK = "# stamp: drop"

_CACHE_DIR = None


# ----------------------------------------------------------------------------- the cache directory
def cache_dir() -> Path:
    """The private, writable cache directory (created on first use)."""
    global _CACHE_DIR
    if _CACHE_DIR is None:
        root = os.environ.get("EXACTSNN_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "exactsnn")
        path = _usable_dir(Path(root))
        if path is None:
            path = _usable_dir(Path(tempfile.gettempdir()) / f"exactsnn-{os.getuid()}") or Path(
                tempfile.mkdtemp(prefix="exactsnn-"))
            print(f"exactsnn: warning: cache directory {root} is not writable; compiled models go to {path}",
                  file=sys.stderr)
        _CACHE_DIR = path
    return _CACHE_DIR


def _usable_dir(path: Path) -> Path | None:
    """``path`` if it is (or can be made) a directory that only this user can write, else None."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError:
        return None
    private = info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return path if private and os.access(path, os.W_OK | os.X_OK) else None


def configure_numba_cache():
    """Give numba a writable cache when the installed package is read-only.

    ``@njit(cache=True)`` picks its cache directory when a function is decorated: beside the source file,
    else numba's user-wide directory under HOME. In a read-only install with an unwritable HOME neither
    works and numba refuses to cache ("no locator available"). Then numba's cache goes to our cache
    directory (or its temporary fallback). Called by ``exactsnn/__init__`` before any jitted module loads;
    ``NUMBA_CACHE_DIR``, if set, wins.
    """
    from numba.core import config

    if config.CACHE_DIR or os.access(NUMERIC_DIR, os.W_OK):
        return
    if _usable_dir(Path(os.path.expanduser("~")) / ".cache") is not None:
        return  # numba's user-wide locator works
    config.CACHE_DIR = str(cache_dir() / "numba")


# ----------------------------------------------------------------------------- verified files
def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def read_verified(path: Path) -> str | None:
    """The file's text if its SHA-256 matches its sidecar's, else None (missing, corrupt or edited)."""
    try:
        text = path.read_bytes().decode()
        recorded = _sidecar(path).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if sha256(text) == recorded else None


def write_verified(path: Path, text: str):
    """Write ``text`` and its sidecar, each atomically (temporary file + rename) and owner-only.

    Concurrent writers of the same file write identical bytes, so either rename may win.
    """
    for target, data in ((path, text), (_sidecar(path), sha256(text) + "\n")):
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.stem, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(data)
        os.replace(tmp, target)


class _VerifiedLoader(importlib.machinery.SourceFileLoader):
    """Imports exactly the verified text: no re-read of the file, no bytecode cache."""

    def __init__(self, fullname, path, source):
        super().__init__(fullname, str(path))
        self._source = source

    def get_code(self, fullname):
        return compile(self._source, self.path, "exec", dont_inherit=True)


def import_verified(name: str, path: Path, source: str):
    """Import ``source`` (already verified) as module ``name`` with ``path`` as its file."""
    if name in sys.modules:
        return sys.modules[name]
    loader = _VerifiedLoader(name, path, source)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


# ----------------------------------------------------------------------------- stamping
def template_source() -> str:
    """The engine templates in stamping order, without their ``# stamp: drop`` lines."""
    chunks = []
    for name in TEMPLATES:
        kept = [ln for ln in (TEMPLATE_DIR / name).read_text().splitlines() if not ln.rstrip().endswith(DROP_MARK)]
        chunks.append(f"# {'=' * 20} stamped from exactsnn/numeric/templates/{name} {'=' * 20}\n" + "\n".join(kept))
    return "\n\n\n".join(chunks) + "\n"


def engine_digest(kernels: str) -> str:
    """SHA-256 of everything the stamped module's behaviour depends on."""
    numeric = "".join(f.read_text() for f in sorted(NUMERIC_DIR.rglob("*.py")))
    return sha256(f"{FORMAT_VERSION}\nnumba {numba.__version__}\n{kernels}\n{numeric}")


def stamped_source(kernels: str) -> tuple:
    """(source, digest): the kernels, one import block, ``MODEL_HASH`` and the stamped templates."""
    digest = engine_digest(kernels)
    doc, kernel_imports, kernel_body = _split_imports(kernels)
    _, template_imports, template_body = _split_imports(template_source())
    imports = _merge_imports(kernel_imports + template_imports)
    source = (f"{doc}\n\n{imports}\n\nMODEL_HASH = {digest!r}\n{kernel_body.strip()}\n\n\n"
              f"{template_body.strip()}\n")
    return re.sub(r"\n{4,}", "\n\n\n", source), digest


def load_model_module(name: str, kernels: str):
    """Stamp ``kernels`` (a model's printed kernel module) into the cache and import the result."""
    source, digest = stamped_source(kernels)
    path = cache_dir() / f"{name}_{digest[:20]}.py"
    if read_verified(path) != source:
        print(f"exactsnn: compiling model {name!r} for this machine (first use; numba caches it in {path.parent}, "
              "about 20 s) ...", file=sys.stderr)
        write_verified(path, source)
    return import_verified(f"exactsnn_model_{name}_{digest[:20]}", path, source)


def _split_imports(source: str) -> tuple:
    """(module docstring, [import nodes], source without them): top-level imports only."""
    tree = ast.parse(source)
    lines = source.splitlines()
    doc = ""
    drop = set()
    nodes = []
    for k, node in enumerate(tree.body):
        if k == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            doc = "\n".join(lines[node.lineno - 1:node.end_lineno])
            drop.update(range(node.lineno - 1, node.end_lineno))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            nodes.append(node)
            drop.update(range(node.lineno - 1, node.end_lineno))
    body = "\n".join(ln for i, ln in enumerate(lines) if i not in drop)
    return doc, nodes, body


def _merge_imports(nodes) -> str:
    """One sorted import block: ``import x`` lines, then ``from m import a, b`` per module."""
    plain, names = set(), {}
    for node in nodes:
        if isinstance(node, ast.Import):
            plain.update(a.name if a.asname is None else f"{a.name} as {a.asname}" for a in node.names)
        else:
            names.setdefault(node.module, set()).update(
                a.name if a.asname is None else f"{a.name} as {a.asname}" for a in node.names)
    out = [f"import {n}" for n in sorted(plain)]
    for module in sorted(names, key=lambda m: (not m.startswith(("numpy", "numba")), m)):
        out.append(_wrapped(f"from {module} import ", sorted(names[module])))
    return "\n".join(out) + "\n"


def _wrapped(head: str, items, width: int = 110) -> str:
    text = head + ", ".join(items)
    if len(text) <= width:
        return text
    lines, line = [], head + "("
    for item in items:
        piece = item + ", "
        if len(line) + len(piece) > width:
            lines.append(line.rstrip())
            line = " " * 4
        line += piece
    lines.append(line.rstrip().rstrip(",") + ")")
    return "\n".join(lines)
