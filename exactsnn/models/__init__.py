"""Built-in neuron models.

The registry maps a name to the module that builds its symbolic ``NeuronModel``. Building a
model imports SymPy, so the numeric path never calls ``get``: it loads the model's generated
kernels from ``exactsnn._generated`` by name instead.
"""

from importlib import import_module

from ..errors import ModelError

BUILTINS = {
    "lif": "lif",
    "nonleaky_if": "nonleaky_if",
}


def get(name: str):
    """The built-in symbolic model called ``name`` (imports SymPy)."""
    if name not in BUILTINS:
        raise ModelError(f"unknown model name {name!r}; built-in models are {sorted(BUILTINS)}")
    return import_module(f"{__name__}.{BUILTINS[name]}").build()
