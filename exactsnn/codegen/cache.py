"""Compile a NeuronModel: print its kernel module (once per content), then load it through the stamper.

A user model's kernel module is cached as ``<cache>/<model>_<input hash>_kernels.py`` (with a SHA-256
sidecar, owner-only; see ``exactsnn.stamp`` for the cache directory and its trust model). The input
hash covers the model's expressions and parameters, the model/derivation/printing sources and SymPy's
version, so a stale file is never reused and a cached model loads without deriving again. Built-in
models ship their kernel modules in ``exactsnn/_generated/NAME.py``; ``python -m exactsnn.codegen.cache``
regenerates those.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..compiled import BUILTIN_NAMES, CompiledModel, load_builtin
from ..derive import derive
from ..model import NeuronModel
from ..stamp import cache_dir, load_model_module, read_verified, write_verified
from .module import input_hash, kernels_module_source, read_input_hash

_BY_HASH = {}
GENERATED_DIR = Path(__file__).resolve().parent.parent / "_generated"


def compile_model(model: NeuronModel) -> CompiledModel:
    """Generate (or reuse) the numeric module of ``model`` and return its handle.

    The kernel file is found by the model's input hash, so a model compiled before, in this process or
    another, is loaded without deriving again.
    """
    if not isinstance(model, NeuronModel):
        raise TypeError(f"compile_model expects a NeuronModel, got {type(model).__name__}")
    key = input_hash(model)
    if key in _BY_HASH:
        return _BY_HASH[key]
    if model.name in BUILTIN_NAMES and read_input_hash(_shipped(model.name)) == key:
        compiled = load_builtin(model.name)
    else:
        path = cache_dir() / f"{model.name}_{key[:20]}_kernels.py"
        kernels = read_verified(path)
        if kernels is None or read_input_hash(kernels) != key:
            print(f"exactsnn: deriving model {model.name!r} and printing its kernels (first use) ...",
                  file=sys.stderr)
            kernels = kernels_module_source(derive(model))
            write_verified(path, kernels)
        compiled = CompiledModel(load_model_module(model.name, kernels))
    _BY_HASH[key] = compiled
    return compiled


def _shipped(name: str) -> str | None:
    try:
        return (GENERATED_DIR / f"{name}.py").read_text()
    except OSError:
        return None


def write_builtins(check: bool = False) -> list:
    """(Re)generate exactsnn/_generated/<name>.py (kernel modules) for every built-in model.

    With ``check=True`` nothing is written; returns the names whose file is out of date.
    """
    from .. import models

    stale = []
    for name in BUILTIN_NAMES:
        model = models.get(name)
        if read_input_hash(_shipped(name)) == input_hash(model):
            continue
        stale.append(name)
        if not check:
            (GENERATED_DIR / f"{name}.py").write_text(kernels_module_source(derive(model)))
    return stale


if __name__ == "__main__":
    print("regenerated:", write_builtins() or "nothing (all up to date)")
