"""exactsnn: exact gradients of spiking neural networks.

Spike times are defined implicitly by ``V(t) = threshold``; the implicit function theorem
makes them differentiable functions of the weights, delays, input times and model
parameters. exactsnn derives the needed partials symbolically (SymPy), generates numba
kernels for them, simulates networks exactly (event-driven, no time grid), and computes the
gradients by forward propagation (Lee, Haghighatshoar & Karbasi 2023, with the own-reset
term their code omits) and by the adjoint.

The runtime names (simulate, gradients, losses, networks, built-in models) are imported here and
never load SymPy. The symbolic names (``NeuronModel``, ``kernel_model``, ``linear_ode_model``,
``compile_model``, ``check_model``) and the verification names (``verify``, ``compare``: mpmath) are
loaded on first use; ``dir(exactsnn)`` lists both. Every name lives in a module of another name, so
``import exactsnn.verification`` and ``exactsnn.verify`` never shadow each other.
"""

from .stamp import configure_numba_cache as _configure_numba_cache

_configure_numba_cache()  # before any jitted module is imported (a read-only install needs it)

from .compiled import CompiledModel as CompiledModel  # noqa: E402
from .compiled import load_builtin as load_builtin
from .diagnostics import DegenerateSpikeWarning as DegenerateSpikeWarning
from .diagnostics import Diagnostics as Diagnostics
from .diagnostics import diagnose as diagnose
from .errors import CaseFormatError as CaseFormatError
from .errors import DegenerateSpikeError as DegenerateSpikeError
from .errors import ExactSNNError as ExactSNNError
from .errors import InputSpikeError as InputSpikeError
from .errors import InvalidInputError as InvalidInputError
from .errors import ModelError as ModelError
from .errors import NetworkError as NetworkError
from .errors import SimulationError as SimulationError
from .grad import Gradients as Gradients
from .grad import Jacobian as Jacobian
from .grad import adjoint as adjoint
from .grad import forward_propagation as forward_propagation
from .hessian import batch_hvp as batch_hvp
from .hessian import hvp as hvp
from .hessian import spike_curvature as spike_curvature
from .hessian import spike_hessian as spike_hessian
from .losses import Loss as Loss
from .losses import Patterns as Patterns
from .losses import batch_loss_grad as batch_loss_grad
from .losses import loss_grad as loss_grad
from .losses import loss_value_and_dt as loss_value_and_dt
from .network import Network as Network
from .simulate import SimulationResult as SimulationResult
from .simulate import membrane_potential as membrane_potential
from .simulate import simulate as simulate

__version__ = "0.1.0"

#: Public names loaded on first use: name -> (module, attribute).
_LAZY = {
    "NeuronModel": ("exactsnn.model", "NeuronModel"),
    "Param": ("exactsnn.model", "Param"),
    "kernel_model": ("exactsnn.model", "kernel_model"),
    "linear_ode_model": ("exactsnn.models.ode", "linear_ode_model"),
    "compile_model": ("exactsnn.codegen.cache", "compile_model"),
    "check_model": ("exactsnn.verification", "check_model"),
    "verify": ("exactsnn.verification", "verify"),
    "compare": ("exactsnn.verification", "compare"),
    "load_case": ("exactsnn.io", "load_case"),
    "load": ("exactsnn.training.saved", "load"),  # a trained run folder (exactsnn train --out DIR)
    "campaign": ("exactsnn.distributed", "campaign"),  # needs the 'distributed' extra when it runs
}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        mod, attr = _LAZY[name]
        value = getattr(import_module(mod), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'exactsnn' has no attribute {name!r}")


__all__ = sorted([
    "simulate", "membrane_potential", "SimulationResult", "forward_propagation", "adjoint", "Gradients",
    "Jacobian", "Network", "Loss", "Patterns", "loss_grad", "loss_value_and_dt", "batch_loss_grad", "diagnose",
    "Diagnostics", "DegenerateSpikeWarning", "load_builtin", "CompiledModel", "ExactSNNError", "InvalidInputError",
    "ModelError", "NetworkError", "InputSpikeError", "CaseFormatError", "SimulationError", "DegenerateSpikeError",
    "hvp", "batch_hvp", "spike_hessian", "spike_curvature",
    *_LAZY,
])


def __dir__():
    return sorted(set(globals()) | set(__all__))
