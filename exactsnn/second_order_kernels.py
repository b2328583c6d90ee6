"""A model's second-order numba module: ``numeric/second_order_model.py`` stamped below its kernels' import.

The second-order sweeps that call a model's kernels (the causal edges with ``psp, psp', psp''``, the
parameter partials ``dK/dp, d2K/ds dp, d2K/dp2``, the per-pattern and batch HVP) must see the kernels as
module globals for numba to cache them on disk; passed as arguments they make every new process compile
them again (about 20 s). This module writes ``second_order_model.py`` with its ``# stamp: drop`` lines
replaced by ``from <the model's stamped module> import psp, dpsp_ds, ...`` into the cache directory
(verified like the model modules, ``exactsnn.stamp``) and imports it once per process and model. The file
name carries the SHA-256 of its text, which names the model module (itself named by the digest of the
kernels and of every numeric source), so a change of either gives a new file and a new numba cache.
"""

from __future__ import annotations

from .compiled import CompiledModel
from .errors import ModelError
from .stamp import DROP_MARK, NUMERIC_DIR, cache_dir, import_verified, read_verified, sha256, write_verified

TEMPLATE = NUMERIC_DIR / "second_order_model.py"
#: The kernels the template calls (declared in ``numeric/templates/kernel_stubs.py``).
KERNELS = ("psp", "dpsp_ds", "d2psp_ds2", "dreset_ds", "d2reset_ds2", "p_load", "dpsp_dp", "d2psp_dsdp",
           "d2psp_dp2", "dreset_dp", "d2reset_dsdp", "d2reset_dp2", "dthreshold_dp", "d2threshold_dp2")

_LOADED: dict = {}


def second_order_source(module_name: str) -> str:
    """The template's text with its stub imports replaced by one import from the model module ``module_name``."""
    lines = [ln for ln in TEMPLATE.read_text().splitlines() if not ln.rstrip().endswith(DROP_MARK)]
    head = f"from {module_name} import ({', '.join(KERNELS)})"
    at = next(i for i, ln in enumerate(lines) if ln.startswith("from numba import"))
    return "\n".join(lines[:at + 1] + ["", head] + lines[at + 1:]) + "\n"


def second_order_module(compiled: CompiledModel):
    """The stamped second-order module of ``compiled`` (written to the cache on first use, then imported)."""
    mod = compiled.module
    if mod.__name__ in _LOADED:
        return _LOADED[mod.__name__]
    missing = [k for k in KERNELS if not hasattr(mod, k)]
    if missing:
        raise ModelError(f"model {compiled.name!r}: its kernel module predates the second-order kernels "
                         f"({', '.join(missing)}); regenerate it (python -m exactsnn.codegen.cache)")
    source = second_order_source(mod.__name__)
    digest = sha256(source)[:20]
    path = cache_dir() / f"{compiled.name}_second_order_{digest}.py"
    if read_verified(path) != source:
        write_verified(path, source)
    _LOADED[mod.__name__] = import_verified(f"exactsnn_second_order_{compiled.name}_{digest}", path, source)
    return _LOADED[mod.__name__]
