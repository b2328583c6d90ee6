"""exactsnn: exact gradients of spiking neural networks.

Spike times are defined implicitly by ``V(t) = threshold``; the implicit function theorem
makes them differentiable functions of the weights, delays, input times and model
parameters. exactsnn derives the needed partials symbolically (SymPy), generates numba
kernels for them, simulates networks exactly (event-driven, no time grid), and computes the
gradients by forward propagation (Lee, Haghighatshoar & Karbasi 2023, with the own-reset
term their code omits) and by the adjoint.

The numeric path (simulate, gradients, built-in models) never imports SymPy; ``NeuronModel``,
``kernel_model`` and ``compile_model`` do, and are loaded on first use. ``verify`` and ``compare``
(checks against the mpmath reference) import mpmath here and SymPy only when called. They are bound
eagerly because their modules share their names: a lazily bound function would be replaced by the
submodule as soon as ``exactsnn.verify`` or ``exactsnn.compare`` is imported.
"""

from .compiled import CompiledModel, load_builtin
from .diagnostics import Diagnostics, DegenerateSpikeWarning, diagnose
from .errors import (CaseFormatError, DegenerateSpikeError, ExactSNNError, InputSpikeError, ModelError,
                     NetworkError, SimulationError)
from .grad import Gradients, Jacobian, adjoint, forward_propagation
from .losses import Loss, batch_loss_grad, loss_grad, loss_value_and_dt
from .network import Network
from .simulate import SimulationResult, membrane_potential, simulate
from .verify import verify  # noqa: E402  (function, replaces the submodule attribute)
from .compare import compare  # noqa: E402

__version__ = "0.1.0"

_LAZY = {
    "NeuronModel": ("exactsnn.model", "NeuronModel"),
    "Param": ("exactsnn.model", "Param"),
    "kernel_model": ("exactsnn.model", "kernel_model"),
    "compile_model": ("exactsnn.codegen.cache", "compile_model"),
    "check_model": ("exactsnn.check", "check_model"),
    "load_case": ("exactsnn.case", "load_case"),
}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        mod, attr = _LAZY[name]
        return getattr(import_module(mod), attr)
    raise AttributeError(f"module 'exactsnn' has no attribute {name!r}")


__all__ = ["simulate", "forward_propagation", "adjoint", "Network", "Loss", "loss_grad", "loss_value_and_dt",
           "batch_loss_grad", "membrane_potential", "diagnose", "load_builtin", "CompiledModel", "Gradients",
           "Jacobian", "SimulationResult", "Diagnostics", "DegenerateSpikeWarning", *sorted(_LAZY),
           "ExactSNNError", "ModelError", "NetworkError", "InputSpikeError", "CaseFormatError", "SimulationError",
           "DegenerateSpikeError", "verify", "compare"]
