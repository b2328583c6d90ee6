"""Files in and out: the case format (``exactsnn-case/1``) and its result document
(``exactsnn-result/1``), and model files (a built-in name, or JSON/TOML kernel or linear-ODE models).

The contract is ``docs/case_format.md`` with JSON schemas in ``docs/schema/``. Formula strings in these
files are parsed by ``exactsnn.formula`` (an ``ast`` whitelist, never ``eval``). ``model_files`` imports
SymPy and is loaded on first use.
"""

from .case import Case as Case
from .case import dumps as dumps
from .case import load_case as load_case
from .case import result_document as result_document

_LAZY = {"load_model_spec", "formulas_text"}


def __getattr__(name):
    if name in _LAZY:
        from . import model_files

        return getattr(model_files, name)
    raise AttributeError(f"module 'exactsnn.io' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY)
