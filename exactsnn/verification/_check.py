"""``check_model``: the verification battery for a (user) neuron model, as a readable report.

1. symbolic: the derived partials are the derivatives of the kernels (exact, at a rational point);
2. kernels: every generated float64 kernel against the same SymPy expression at 50 digits in
   mpmath, in ulps of the kernel's largest magnitude over the sample points;
3. gradients: spike times and forward-propagation Jacobians of random small networks against
   the independent mpmath reference (times absolute, Jacobian rows relative to their largest entry).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from ..codegen.cache import compile_model
from ..derive import derive
from ..model import S, NeuronModel
from ..network import Network
from ..reference import reference_solve
from ..simulate import simulate
from .agreement import engine_vs_reference, kernel_ulps

KERNELS = ("psp", "dpsp_ds", "reset", "dreset_ds")


@dataclass
class ModelCheck:
    model: str
    strategy: str
    symbolic_ok: bool
    kernel_ulps: dict
    networks: list  # (spikes, max |dt|, max row-relative error) per random network

    @property
    def ok(self) -> bool:
        return (self.symbolic_ok and max(self.kernel_ulps.values()) <= 64
                and all(dt <= 1e-11 and row <= 1e-8 for _, dt, row in self.networks))

    def text(self) -> str:
        lines = [f"check_model({self.model!r}): {'OK' if self.ok else 'FAILED'}  (crossing strategy {self.strategy})",
                 f"  symbolic identities: {'hold' if self.symbolic_ok else 'VIOLATED'}",
                 "  kernels vs mpmath (ulps of scale): " + ", ".join(f"{k} {v:.1f}" for k, v in self.kernel_ulps.items())]
        for i, (n, dt, row) in enumerate(self.networks):
            lines.append(f"  random network {i}: {n} spikes, max |t - t_ref| {dt:.1e}, max Jacobian row error {row:.1e}")
        return "\n".join(lines)


def check_model(model: NeuronModel, n_networks: int = 2, seed: int = 0, dps: int = 30) -> ModelCheck:
    """Run the battery on ``model`` with its default parameter values; see the module docstring."""
    deriv = derive(model)
    compiled = compile_model(model)
    values = model.param_values()
    return ModelCheck(model.name, deriv.strategy, _symbolic_ok(model, deriv), _kernel_ulps(model, compiled, values),
                      [_network_errors(model, compiled, seed + i, dps) for i in range(n_networks)])


def _symbolic_ok(model, deriv) -> bool:
    e = deriv.branches[-1].exprs
    point = {p: sympy.Rational(7 + 3 * i, 5 + i) for i, p in enumerate(deriv.params)}
    point[S] = sympy.Rational(3, 4)
    checks = [e["dpsp_ds"] - sympy.diff(model.psp, S), e["dreset_ds"] - sympy.diff(model.reset, S)]
    checks += [d - sympy.diff(model.psp, p) for p, d in zip(deriv.params, e["dpsp_dp"])]
    try:
        return all(abs(sympy.N(c.subs(point), 40)) < 1e-30 for c in checks)
    except (TypeError, ZeroDivisionError):
        return False


def _kernel_ulps(model, compiled, values, points=np.linspace(0.02, 8.0, 25)) -> dict:
    return kernel_ulps(model, compiled, values, points)


def _network_errors(model, compiled, seed, dps) -> tuple:
    rng = np.random.default_rng(seed)
    for scale in (1.0, 2.0, 4.0, 8.0):  # grow the weights until the network spikes
        net = Network.feedforward([rng.uniform(0.3, 1.0, (2, 3)) * scale, rng.uniform(0.3, 1.0, (3, 1)) * scale])
        inputs = [sorted(rng.uniform(0, 1, 2).tolist()), [float(rng.uniform(0, 1))]]
        res = simulate(compiled, net, inputs, 4.0, params=dict(zip(model.param_names, model.param_values())))
        if res.n_spikes:
            break
    ref = reference_solve(model, {}, net, inputs, 4.0, dps=dps)
    try:
        dt, row = engine_vs_reference(res, ref, blocks=("weights",))
    except ValueError:  # a spike missing on one side
        return res.n_spikes, float("inf"), float("inf")
    return res.n_spikes, dt, row
