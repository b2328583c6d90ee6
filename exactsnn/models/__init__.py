"""Built-in neuron models.

The registry maps a name to the module that builds its symbolic ``NeuronModel``. Building a
model imports SymPy, so the numeric path never calls ``get``: it loads the model's generated
kernels from ``exactsnn._generated`` by name instead.
"""

from functools import lru_cache
from importlib import import_module

from ..compiled import BUILTIN_NAMES
from ..errors import ModelError

#: Name -> module of this package that builds it: the one list of built-in names is
#: ``exactsnn.compiled.BUILTIN_NAMES`` (the numeric path needs it without SymPy); each has a module here.
BUILTINS = {name: name for name in BUILTIN_NAMES}


def get(name: str):
    """The built-in symbolic model called ``name`` (imports SymPy).

    Models are frozen, so each is built once per process and shared (validating a model with
    three exponentials takes SymPy seconds).
    """
    if name not in BUILTINS:
        raise ModelError(f"unknown model name {name!r}; built-in models are {sorted(BUILTINS)}")
    return _build(name)


@lru_cache(maxsize=None)
def _build(name: str):
    return import_module(f"{__name__}.{BUILTINS[name]}").build()
