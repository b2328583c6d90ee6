"""The one validator of model parameter values, shared by the symbolic model (``Param``) and the compiled
handle (``CompiledModel``): same rules, same messages.

A value must be a real number (a Python or numpy int or float; not a bool, a string or None), finite, and
inside the parameter's open interval ``(lower, upper)``.
"""

from __future__ import annotations

import math
from numbers import Real

from .errors import ModelError


def param_value(value, lower: float, upper: float, what: str) -> float:
    """``value`` as a float, or ``ModelError`` naming ``what``, the value and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, Real) or type(value).__name__ == "bool_":
        raise ModelError(f"{what} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or not (lower < v < upper):
        raise ModelError(f"{what} = {value!r} is outside the allowed range ({lower}, {upper})")
    return v


def check_names(model: str, given, known) -> None:
    """Refuse parameter names the model does not have."""
    unknown = set(given) - set(known)
    if unknown:
        raise ModelError(f"model {model!r} has no parameter(s) {sorted(unknown)}; it has {list(known)}")
