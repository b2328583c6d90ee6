"""Built-in neuron models.

The registry maps a name to the module that builds its symbolic ``NeuronModel``. Building a
model imports SymPy, so the numeric path never calls ``get``: it loads the model's generated
kernels from ``exactsnn._generated`` by name instead.
"""

from functools import lru_cache
from importlib import import_module

from ..errors import ModelError

BUILTINS = {
    "lif": "lif",
    "nonleaky_if": "nonleaky_if",
    "srm_alpha": "srm_alpha",
    "lif_dual_exp": "lif_dual_exp",
    "lif_two_synapse": "lif_two_synapse",
    "adaptive_threshold": "adaptive_threshold",
}


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
