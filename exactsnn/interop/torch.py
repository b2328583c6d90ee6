"""Exact spiking layers inside PyTorch: an ``autograd.Function`` and an ``nn.Module``.

The forward pass simulates the whole batch exactly and in parallel (``LayerSpec.simulate``: numba
``prange`` over patterns, no Python loop per sample) and returns the first spike time of every
output neuron. The backward pass runs the adjoint with the incoming gradient as ``dL/dt``: over the
records kept by the forward pass, or, when only first spikes are returned and their Jacobian is small,
as one contraction with the Jacobian rows the forward computed while each record was hot
(``jacobian_batch``; equal to the sweep over records to rounding):

    dL/dq = sum_b sum_k dL/dt_bk dt_bk/dq,   q in {weights, delays, model parameters},
    dL/dx_bc = sum_k dL/dt_bk dt_bk/dx_bc   for input spike times x (per pattern).

Conventions
-----------
- A silent output neuron reports ``t_max`` (exactsnn's loss convention) and ``silent = True``;
  it passes no gradient (a spike that does not exist has no time to move).
- float64 only (exactness). Other floating dtypes raise unless ``allow_cast=True``, which computes in
  float64 and casts outputs and gradients back.
- CPU only. Tensors on another device raise unless ``allow_cast=True``, which moves them to the CPU
  and the gradients back to their device (outputs stay on the CPU).
"""

from __future__ import annotations

import itertools
import weakref
from typing import NamedTuple

import numpy as np
import torch

from ..errors import InputSpikeError, InvalidInputError, ModelError, NetworkError
from ..network import Network
from ..simulate import DEFAULT_MAX_SPIKES
from .layer_spec import JACOBIAN_BYTES, LayerSpec
from .spike_batch import GRAD_KEYS

_ERRORS = {"weight": NetworkError, "delay": NetworkError, "params": ModelError, "input_times": InputSpikeError,
           "t_first": InvalidInputError}


class SpikeOutput(NamedTuple):
    """What the exact layer returns.

    t_first : (B, n_out) float64, differentiable; ``t_max`` where silent.
    silent : (B, n_out) bool.
    counts : (B, n_neurons) int64, spikes per neuron (for weight bumping, rate penalties, ...).
    spikes : (B, n_record, K) float64 or None, differentiable; every spike of the recorded neurons, ``t_max`` padding.
    spikes_mask : (B, n_record, K) bool or None; True where ``spikes`` holds a real spike.
    """

    t_first: torch.Tensor
    silent: torch.Tensor
    counts: torch.Tensor
    spikes: torch.Tensor | None = None
    spikes_mask: torch.Tensor | None = None


def check_tensor(x, name: str, shape: tuple, allow_cast: bool) -> torch.Tensor:
    """``x`` as a float64 CPU tensor of ``shape`` (None entries: any size), or a clear error naming it
    (``name`` is an argument, or ``params.<parameter>`` for one of ``ExactSNN``'s parameter columns)."""
    err = _ERRORS[name.split(".")[0]]
    if not isinstance(x, torch.Tensor):
        raise err(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise err(f"{name} has dtype {x.dtype}; it must be a floating tensor (torch.float64)")
    if x.device.type != "cpu" and not allow_cast:
        raise err(f"{name} is on device {x.device}; exactsnn simulates on the CPU only: move it with .cpu() "
                  "or build the layer with allow_cast=True (gradients are moved back to the device)")
    if x.dtype != torch.float64 and not allow_cast:
        raise err(f"{name} has dtype {x.dtype}; exact spike times need torch.float64 (use .double(), or "
                  "allow_cast=True to compute in float64 and cast back)")
    if x.dim() != len(shape) or any(s is not None and s != d for s, d in zip(shape, x.shape)):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise err(f"{name} has shape {tuple(x.shape)}; expected {want}")
    return x


def _plain(x, shape) -> bool:
    """True when ``x`` is a float64 CPU tensor of ``shape`` (None: any): the common case, which
    ``check_tensor`` would pass unchanged."""
    return isinstance(x, torch.Tensor) and x.dtype == torch.float64 and x.is_cpu and (shape is None or x.shape == shape)


_VIEWS: dict = {}  # id(parameter) -> (weak reference, storage address, shape, numpy view)
MAX_VIEWS = 16


def _numpy(x: torch.Tensor) -> np.ndarray:
    """A float64 CPU view of ``x`` (no copy when it is one already).

    A parameter (``nn.Parameter``) is the same tensor at every step, updated in place, so its view is
    kept and reused while the tensor, its storage address and its shape are unchanged (``detach().numpy()``
    costs a few tens of microseconds right after a simulation has evicted the caches). A view shares the
    tensor's memory, so it always holds the current values, however they were written (``.data.add_``
    included). Other tensors (a batch, an incoming gradient) are new at every step and are not kept.
    """
    hit = _VIEWS.get(id(x))
    if hit is not None and hit[0]() is x and hit[1] == x.data_ptr() and hit[2] == x.shape:
        return hit[3]
    if x.dtype != torch.float64 or not x.is_cpu:
        return x.detach().to("cpu", torch.float64).numpy()
    view = (x.detach() if x.requires_grad else x).numpy()  # a tensor outside autograd needs no detached alias
    if type(x) is torch.nn.Parameter:  # exact type: no Python-level isinstance hook per call
        if len(_VIEWS) >= MAX_VIEWS:
            _VIEWS.clear()
        _VIEWS[id(x)] = (weakref.ref(x), x.data_ptr(), x.shape, view)
    return view


class ExactSpikeFunction(torch.autograd.Function):
    """Exact forward simulation and adjoint backward. Call through ``spike_times`` or ``ExactSNN``.

    ``params`` is the (n_populations, n_params) table, or None when ``columns`` hold it as one
    (n_populations,) tensor per model parameter (``ExactSNN``'s parameters: the table is built in numpy
    from their views, so the graph has no stacking node and each column receives its own gradient).
    """

    @staticmethod
    def forward(ctx, spec, weight, delay, params, input_times, *columns):
        need = ctx.needs_input_grad
        if params is not None:
            table = _numpy(params)
        else:  # filled column by column: np.stack is a dozen Python-level calls
            table = np.empty((spec.n_pop, len(columns)))
            for i, c in enumerate(columns):
                table[:, i] = _numpy(c)
        ctx.param_grads = need[3] or any(need[5:])
        batch = spec.simulate(_numpy(weight), _numpy(delay), table, _numpy(input_times),
                              jacobian=any(need[1:]), param_grads=ctx.param_grads, delay_grads=need[2])
        ctx.batch = batch
        ctx.like = [(t.dtype, t.device) for t in (weight, delay, weight if params is None else params,
                                                   input_times, *columns)] if spec.allow_cast else None
        out = [torch.from_numpy(batch.t_first), torch.from_numpy(batch.silent), torch.from_numpy(batch.counts)]
        ctx.index = None
        if spec.record is not None:
            times, mask, ctx.index = batch.spikes_of(spec.record, spec.max_spikes_per_neuron)
            out += [torch.from_numpy(times), torch.from_numpy(mask)]
        if spec.allow_cast:  # float outputs in the caller's dtype
            out[0] = out[0].to(input_times.dtype)
            out[3:4] = [o.to(input_times.dtype) for o in out[3:4]]
        ctx.mark_non_differentiable(*out[1:3], *out[4:])
        ctx.set_materialize_grads(False)  # no zero tensors for silent/counts/mask or an unused t_first
        return tuple(out)

    @staticmethod
    def backward(ctx, g_first, _g_silent, _g_counts, g_spikes=None, _g_mask=None):
        need = ctx.needs_input_grad
        pairs = [] if g_spikes is None or ctx.index is None else [(ctx.index, _numpy(g_spikes))]
        wanted = (need[1], need[2], ctx.param_grads, need[4])
        keys = [k for k, w in zip(GRAD_KEYS, wanted) if w]
        g = ctx.batch.grads(None if g_first is None else _numpy(g_first), pairs, keys)
        grads = [None] * (len(need) - 1)
        for i, key in enumerate(GRAD_KEYS):
            if need[i + 1]:
                grads[i] = torch.from_numpy(np.ascontiguousarray(g[key]))
        if len(need) > 5 and any(need[5:]):  # the parameter columns of ExactSNN: one array, one view per column
            columns = torch.from_numpy(np.ascontiguousarray(g["params"].T)).unbind(0)
            grads[4:] = [c if n else None for c, n in zip(columns, need[5:])]
        if ctx.like is not None:
            grads = [s if s is None else s.to(dtype=like[0], device=like[1]) for s, like in zip(grads, ctx.like)]
        return (None, *grads)


def spike_times(spec: LayerSpec, weight, delay, params, input_times) -> SpikeOutput:
    """Differentiable exact spike times of a batch (see the module docstring for conventions).

    Parameters
    ----------
    spec : LayerSpec
    weight, delay : (n_synapses,) tensors, in ``spec.network``'s synapse order; delays >= 0.
    params : (n_populations, n_params) tensor, columns in ``spec.compiled.param_names`` order.
    input_times : (B, n_inputs) or (B, n_inputs, K) tensor; ``+inf`` means no spike (padding).
    """
    table = (spec.n_pop, len(spec.compiled.param_names))
    if not _plain(params, table):
        params = check_tensor(params, "params", table, spec.allow_cast)
    return _apply(spec, weight, delay, params, input_times)


def _apply(spec: LayerSpec, weight, delay, params, input_times, columns=()) -> SpikeOutput:
    """``ExactSpikeFunction`` on checked tensors (``params`` is checked by the caller; None with ``columns``)."""
    n_syn, n_in = spec.network.n_synapses, spec.network.n_inputs
    if not (_plain(weight, (n_syn,)) and _plain(delay, (n_syn,)) and _plain(input_times, None)
            and input_times.dim() in (2, 3) and input_times.shape[1] == n_in):
        weight = check_tensor(weight, "weight", (n_syn,), spec.allow_cast)
        delay = check_tensor(delay, "delay", (n_syn,), spec.allow_cast)
        shape = (None, n_in) + ((None,) if input_times.dim() == 3 else ()) \
            if isinstance(input_times, torch.Tensor) else (None, n_in)
        input_times = check_tensor(input_times, "input_times", shape, spec.allow_cast)
    return SpikeOutput(*ExactSpikeFunction.apply(spec, weight, delay, params, input_times, *columns))


class ExactSNN(torch.nn.Module):
    """An exact spiking network as a PyTorch module: weights, delays and model parameters are ``nn.Parameter``s.

    Parameters
    ----------
    network : exactsnn.Network
        Topology and initial weights and delays (``Network.feedforward(...)``, ``with_synapses``, ...).
    model : str or NeuronModel
        A built-in model name or a user model (compiled on first use).
    t_max : float
        End of the simulated window.
    params : dict, optional
        Initial model parameter values (a number, or one per population); defaults otherwise.
    populations : sequence of int, optional
        Population of each neuron: model parameters are learned per population.
    learn : iterable of str
        What requires grad: ``"weight"``, ``"delay"`` and model parameter names (e.g. ``"threshold"``).
    record : sequence of int, optional
        Neurons whose every spike is returned (``SpikeOutput.spikes``), up to ``max_spikes_per_neuron`` each.
    allow_cast : bool
        Accept non-float64 or non-CPU tensors (computed in float64 on the CPU, cast and moved back).
    jacobian_bytes : int
        Largest first-spike Jacobian a training forward keeps instead of causal records (default 64 MB;
        its backward equals the adjoint sweep to rounding); 0 keeps records, whose backward is the sweep
        itself (``exactsnn.adjoint`` bit for bit).

    ``state_dict`` holds ``weight``, ``delay`` and ``params.<name>``; the topology is part of the
    constructor, so load a state into a module built with the same network.
    """

    def __init__(self, network: Network, model="lif", t_max: float = 4.0, params=None, populations=None,
                 learn=("weight",), record=None, max_spikes_per_neuron: int = 4, allow_cast: bool = False,
                 max_spikes: int = DEFAULT_MAX_SPIKES, jacobian_bytes: int = JACOBIAN_BYTES):
        super().__init__()
        if not isinstance(network, Network):
            raise NetworkError(f"network must be an exactsnn.Network, got {type(network).__name__}")
        self.spec = LayerSpec.build(network, model, t_max, populations, max_spikes, record=record,
                                    max_spikes_per_neuron=int(max_spikes_per_neuron), allow_cast=bool(allow_cast),
                                    jacobian_bytes=int(jacobian_bytes))
        table = self.spec.initial(params)["params"]
        names = self.spec.compiled.param_names
        unknown = set(learn) - {"weight", "delay", *names}
        if unknown:
            raise ModelError(f"learn = {sorted(unknown)} is unknown; allowed: ['weight', 'delay', *{list(names)}]")
        self.weight = torch.nn.Parameter(torch.tensor(network.weight), requires_grad="weight" in learn)
        self.delay = torch.nn.Parameter(torch.tensor(network.delay), requires_grad="delay" in learn)
        self.params = torch.nn.ParameterDict({n: torch.nn.Parameter(torch.tensor(table[:, i].copy()),
                                                                    requires_grad=n in learn)
                                              for i, n in enumerate(names)})

    @property
    def param_table(self) -> torch.Tensor:
        """(n_populations, n_params) in the model's parameter order (differentiable: a stack of the parameters)."""
        return torch.stack(self._columns(), dim=1)

    def _columns(self) -> list:
        table = self.params._parameters  # the ParameterDict's own storage: no Module.__getattr__ per name
        return [table[n] for n in self.spec.compiled.param_names]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """``Module.zero_grad``: the same effect, over the layer's own parameters (``weight``, ``delay``,
        ``params.<name>``) without the generic traversal of submodules (about 50 us of a training step);
        a layer holding other submodules (a subclass) or a replica takes ``Module``'s own path."""
        if set_to_none and set(self._modules) == {"params"} and not self.params._modules \
                and not getattr(self, "_is_replica", False):
            for p in itertools.chain(self._parameters.values(), self.params._parameters.values()):
                if p is not None:
                    p.grad = None
            return
        super().zero_grad(set_to_none)

    def network(self) -> Network:
        """The current weights and delays as an ``exactsnn.Network`` (for ``simulate``, ``verify``, ...)."""
        return self.spec.network.with_weights(_numpy(self.weight), _numpy(self.delay))

    def forward(self, input_times: torch.Tensor) -> SpikeOutput:
        columns = self._columns()  # passed as they are: the table is built in numpy from their views
        shape = (self.spec.n_pop,)
        for name, c in zip(self.spec.compiled.param_names, columns):
            if not _plain(c, shape):
                check_tensor(c, f"params.{name}", shape, self.spec.allow_cast)
        return _apply(self.spec, self.weight, self.delay, None, input_times, columns)


__all__ = ["ExactSNN", "ExactSpikeFunction", "LayerSpec", "SpikeOutput", "spike_times", "check_tensor"]
