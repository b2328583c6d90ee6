"""``resolve(model)``: the one place where a symbolic model becomes a compiled one.

The runtime API (``simulate``, ``batch_loss_grad``) accepts a built-in name, a ``CompiledModel`` or a
``NeuronModel``. Only the last needs the code generator, which imports SymPy; it is imported here, on
that path only. ``exactsnn.compiled`` (the handle the numeric path uses) stays below the symbolic
layers and never imports them (``tests/test_layering.py``).
"""

from __future__ import annotations

import sys

from .compiled import CompiledModel, load_builtin
from .errors import ModelError


def resolve(model) -> CompiledModel:
    """A CompiledModel from a built-in name, a CompiledModel or a NeuronModel."""
    if isinstance(model, CompiledModel):
        return model
    if isinstance(model, str):
        return load_builtin(model)
    symbolic = sys.modules.get("exactsnn.model")  # a NeuronModel exists only if its module was imported
    if symbolic is not None and isinstance(model, symbolic.NeuronModel):
        from .codegen.cache import compile_model

        return compile_model(model)
    raise ModelError(f"model must be a built-in name, a NeuronModel or a CompiledModel, got {type(model).__name__}")
