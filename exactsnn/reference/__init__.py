"""Independent high-precision reference solver (mpmath only, plus the model's SymPy kernels).

    from exactsnn.reference import reference_solve, ReferenceResult
    res = reference_solve(model, params, network, inputs, t_max, dps=50)

- :mod:`.expressions`  SymPy -> closures for ``mp`` (points) and ``iv`` (intervals); local precision.
- :mod:`.kernels`      kernel derivatives, singular-parameter limits (``tau_syn = tau_mem``).
- :mod:`.potential`    ``V - theta`` on one segment, natural and Taylor-form enclosures.
- :mod:`.expstate`     kernels read as exponential polynomials (by this package, from the model's own
                       SymPy kernels), and per-neuron state sums of them: ``V`` and its enclosures
                       in ``O(#rates)`` instead of ``O(#history events)``, rigorous in ``iv``.
- :mod:`.isolate`      certified first-crossing isolation and polishing.
- :mod:`.simulate`     global event loop (feed-forward, recurrent, delays, multi-spike).
- :mod:`.gradients`    implicit-function-theorem Jacobian and finite differences.
- :mod:`.state_gradients` the same Jacobian from vector state sums (fixed-point integers).
- :mod:`.solve`        :func:`reference_solve`.

It never imports ``exactsnn.numeric``, ``derive``, ``codegen``, ``simulate`` or ``grad``: it must
stay an independent check of them. The state sums use no formula of the engine: the exponential
polynomial form is read off the model's kernel by :mod:`.expstate` (and checked against it), the
crossing search still proves every sub-interval by an outward-rounded enclosure, and kernels without
such a form are summed term by term as before.
"""

from .result import ReferenceResult
from .solve import GUARD_DIGITS, TAYLOR_ORDER, reference_solve

__all__ = ["reference_solve", "ReferenceResult", "GUARD_DIGITS", "TAYLOR_ORDER"]
