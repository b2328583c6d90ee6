"""Compile a NeuronModel: generate its module into a content-hashed file and import it.

Files live in ``$EXACTSNN_CACHE_DIR`` (default ``~/.cache/exactsnn``), named
``<model>_<hash>.py``. The hash covers everything that changes the output (the printed
kernels and the engine templates), so a stale file is never reused. Writing is atomic
(temporary file + ``os.replace``), so concurrent processes compiling the same model are safe:
both write identical bytes and either rename wins. numba's on-disk cache sits beside the file.

Trust model. A cached module is Python that is imported, so the cache directory is trusted like
code: whoever can write it can run code in every process that compiles a model. exactsnn creates it
readable and writable by its owner only (``0700``, files ``0600``); do not point
``EXACTSNN_CACHE_DIR`` at a directory other users can write. Against corruption and against code
appended to a cached file, each module has a sidecar ``<file>.sha256`` holding the SHA-256 of the
whole file: the loader hashes the bytes it is about to import, compares, and compiles exactly those
bytes (never re-reading the file, never a stale ``.pyc``). A mismatch regenerates the module.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

from ..compiled import BUILTIN_NAMES, CompiledModel, load_builtin
from ..derive import derive
from ..model import NeuronModel
from .module import input_hash, module_source, read_input_hash

_BY_HASH = {}
GENERATED_DIR = Path(__file__).resolve().parent.parent / "_generated"


def cache_dir() -> Path:
    root = os.environ.get("EXACTSNN_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "exactsnn")
    path = Path(root)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def compile_model(model: NeuronModel) -> CompiledModel:
    """Generate (or reuse) the numeric module of ``model`` and return its handle.

    The file is found by the model's input hash (expressions, parameters and generator sources),
    so a model compiled before, in this process or another, is loaded without deriving again.
    """
    if not isinstance(model, NeuronModel):
        raise TypeError(f"compile_model expects a NeuronModel, got {type(model).__name__}")
    key = input_hash(model)
    if key in _BY_HASH:
        return _BY_HASH[key]
    if model.name in BUILTIN_NAMES and read_input_hash(GENERATED_DIR / f"{model.name}.py") == key:
        compiled = load_builtin(model.name)
    else:
        path = cache_dir() / f"{model.name}_{key[:20]}.py"
        source = _verified_source(path)
        if source is None or read_input_hash(path) != key:
            source, _ = module_source(derive(model))
            _atomic_write(path, source)
            _atomic_write(_sidecar(path), _sha256(source))
        compiled = CompiledModel(_import_source(f"exactsnn_model_{model.name}_{key[:20]}", path, source))
    _BY_HASH[key] = compiled
    return compiled


def _atomic_write(path: Path, text: str):
    """Write ``text`` to ``path`` atomically, readable by the owner only (mkstemp's 0600)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _verified_source(path: Path) -> str | None:
    """The module's text if its SHA-256 matches the sidecar's, else None (missing, corrupt or edited)."""
    try:
        source = path.read_bytes().decode()
        recorded = _sidecar(path).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return source if _sha256(source) == recorded else None


class _VerifiedLoader(importlib.machinery.SourceFileLoader):
    """Imports exactly the verified text: no re-read of the file, no bytecode cache."""

    def __init__(self, fullname, path, source):
        super().__init__(fullname, str(path))
        self._source = source

    def get_code(self, fullname):
        return compile(self._source, self.path, "exec", dont_inherit=True)


def _import_source(name: str, path: Path, source: str):
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


def write_builtins(check: bool = False) -> list:
    """(Re)generate exactsnn/_generated/<name>.py for every built-in model.

    With ``check=True`` nothing is written; returns the names whose file is out of date.
    """
    from .. import models

    stale = []
    for name in BUILTIN_NAMES:
        model = models.get(name)
        path = GENERATED_DIR / f"{name}.py"
        if read_input_hash(path) == input_hash(model):
            continue
        stale.append(name)
        if not check:
            source, _ = module_source(derive(model))
            _atomic_write(path, source)
    return stale


if __name__ == "__main__":
    print("regenerated:", write_builtins() or "nothing (all up to date)")
