"""CompiledModel: a model's generated numeric module, as the numeric path sees it.

Loading a built-in model reads its shipped kernel module (``exactsnn/_generated/NAME.py``) and has
``exactsnn.stamp`` append the engine templates: no SymPy. A user's ``NeuronModel`` is compiled by
``exactsnn.codegen.cache.compile_model``, which returns the same kind of object.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from .errors import ModelError
from .param_check import check_names, param_value

#: The built-in models: the one registry of their names. Each has a kernel module in exactsnn/_generated
#: and a symbolic definition in exactsnn/models/<name>.py.
BUILTIN_NAMES = ("lif", "nonleaky_if", "srm_alpha", "lif_dual_exp", "lif_two_synapse", "adaptive_threshold")


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """Handle on a generated module: parameter metadata plus the jitted engine."""

    module: ModuleType

    @property
    def name(self) -> str:
        return self.module.MODEL_NAME

    @property
    def param_names(self) -> tuple:
        return tuple(self.module.PARAM_NAMES)

    @property
    def defaults(self) -> dict:
        return dict(zip(self.param_names, self.module.PARAM_DEFAULTS))

    @property
    def strategy(self) -> str:
        return self.module.STRATEGY

    @property
    def content_hash(self) -> str:
        return self.module.MODEL_HASH

    def param_vector(self, params=None) -> tuple:
        """Validated parameter values in model order, as a tuple of floats (numba passes tuples by
        value, cheaper than arrays); missing names take defaults."""
        if isinstance(params, (np.ndarray, tuple)):
            params = dict(zip(self.param_names, np.asarray(params, float).tolist()))
        values = dict(params or {})
        check_names(self.name, values, self.param_names)
        m = self.module
        return tuple(param_value(values.get(name, m.PARAM_DEFAULTS[i]), m.PARAM_LOWER[i], m.PARAM_UPPER[i],
                                 f"parameter {name!r}") for i, name in enumerate(self.param_names))


    def param_table(self, params=None, n_pop: int = 1) -> np.ndarray:
        """(n_pop, n_params) table: one row of parameter values per population.

        ``params[name]`` is a number (shared by all populations) or a sequence of ``n_pop`` numbers.
        """
        values = dict(params or {})
        check_names(self.name, values, self.param_names)
        tab = np.empty((n_pop, len(self.param_names)))
        for c in range(n_pop):
            row = {}
            for name, v in values.items():
                if np.ndim(v) == 0:
                    row[name] = v
                elif len(v) == n_pop:
                    row[name] = v[c]
                else:
                    raise ModelError(f"parameter {name!r} has {len(v)} values; give one number or one per "
                                     f"population ({n_pop})")
            tab[c] = self.param_vector(row)
        return tab


    def call(self, name: str, *args):
        """Call the engine function ``name`` with ``args``. Every engine entry point takes the parameter
        table ``(n_pop, n_params)`` first; a division by zero inside the generated kernels (a singular
        parameter set the derivation has no branch for) becomes a ModelError naming those values, not a
        numba traceback."""
        try:
            return getattr(self.module, name)(*args)
        except ZeroDivisionError:
            rows = "; ".join(", ".join(f"{n}={v!r}" for n, v in zip(self.param_names, row)) for row in
                             np.asarray(args[0]).tolist())
            raise ModelError(
                f"model {self.name!r}: the parameter values ({rows}) lie on a singular set of its formulas "
                f"that has no special branch (handled: {list(self.module.SINGULAR_SETS) or 'none'}); "
                "perturb one of the equal parameters slightly"
            ) from None


_LOADED = {}


def load_builtin(name: str) -> CompiledModel:
    """The numeric module of a built-in model: its shipped kernels, stamped (no SymPy import)."""
    if name not in BUILTIN_NAMES:
        raise ModelError(f"unknown model name {name!r}; built-in models are {list(BUILTIN_NAMES)}")
    if name not in _LOADED:
        from .stamp import PACKAGE_DIR, load_model_module

        kernels = (PACKAGE_DIR / "_generated" / f"{name}.py").read_text()
        _LOADED[name] = CompiledModel(load_model_module(name, kernels))
    return _LOADED[name]
