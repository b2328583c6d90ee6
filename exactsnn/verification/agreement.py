"""The one comparison of a float64 run with the reference, and the one kernel-accuracy check, shared by
``check_model`` and the test suite (so a test and a user's check measure the same thing).

- ``engine_vs_reference(result, ref)``: the worst spike-time error and the worst relative error of a
  forward-propagation Jacobian row, over spikes matched by (neuron, index).
- ``kernel_expressions(model)``: the kernels and their derivatives as the model's own SymPy expressions
  (never the derived or printed ones), and ``kernel_ulps(...)``: a compiled kernel's error at sample
  points against them at 50 digits, in ulps of the kernel's scale.
"""

from __future__ import annotations

import numpy as np

from ..grad import forward_propagation

BLOCKS = ("weights", "delays", "inputs", "model")


def spike_positions(result) -> dict:
    """``{(neuron, index of the spike at that neuron): row of the spike in the result}``: how a float64 run's
    spikes are matched with the reference's ``ref.order`` (the one place that says so)."""
    return {(int(j), int(i)): k for k, (j, i) in enumerate(zip(result.spike_neuron, result.spike_index))}


def engine_vs_reference(result, ref, blocks=BLOCKS) -> tuple:
    """``(worst |t - t_ref|, worst row error)`` of ``result`` against the reference ``ref``.

    A row's error is ``max |ours - exact|`` over its entries divided by the exact row's largest entry,
    for each Jacobian block in ``blocks``. Raises ``ValueError`` if the spike sets differ: matching
    is by (neuron, index), so a missing or extra spike must be reported, not averaged over.
    """
    pos = spike_positions(result)
    if set(pos) != {tuple(int(x) for x in key) for key in ref.order}:
        raise ValueError(f"spike sets differ: {result.n_spikes} float64 spikes, {len(ref.order)} reference spikes")
    jac = forward_propagation(result, policy="flag")
    pairs = [(getattr(jac.dts_dq, b), getattr(ref, f"d_{b}")) for b in blocks]
    worst_t = worst_row = 0.0
    for r, (j, i) in enumerate(ref.order):
        k = pos[(int(j), int(i))]
        worst_t = max(worst_t, abs(float(result.spike_time[k]) - float(ref.times[r])))
        for ours, theirs in pairs:
            row = np.array([float(x) for x in theirs[r]])
            if row.size:
                worst_row = max(worst_row, float(np.max(np.abs(ours[k] - row)) / max(np.max(np.abs(row)), 1e-300)))
    return worst_t, worst_row


def kernel_expressions(model, parameters: bool = True) -> tuple:
    """``(parameter symbols, {kernel name: SymPy expression})``: psp, reset, their first and second
    s-derivatives (the second ones feed ``exactsnn.hessian``) and, with
    ``parameters``, their parameter derivatives (``dpsp_dp[i]``), from the model's own formulas."""
    import sympy

    from ..model import S

    syms = [model.symbols[n] for n in model.param_names]
    exprs = {"psp": model.psp, "dpsp_ds": sympy.diff(model.psp, S), "reset": model.reset,
             "dreset_ds": sympy.diff(model.reset, S), "d2psp_ds2": sympy.diff(model.psp, S, 2),
             "d2reset_ds2": sympy.diff(model.reset, S, 2)}
    if parameters:
        for i, sym in enumerate(syms):
            exprs[f"dpsp_dp[{i}]"] = sympy.diff(model.psp, sym)
            exprs[f"dreset_dp[{i}]"] = sympy.diff(model.reset, sym)
    return syms, exprs


def kernel_ulps(model, compiled, values, points) -> dict:
    """``{kernel: max |float64 - exact| / ulp(scale)}`` for psp, reset and their s-derivatives, where the
    exact value is the model's own expression at 50 digits and ``scale`` its largest magnitude."""
    import mpmath
    import sympy

    from ..model import S

    syms, exprs = kernel_expressions(model, parameters=False)
    out = {}
    with mpmath.workdps(50):
        args = [mpmath.mpf(float(v)) for v in values]
        for name, expr in exprs.items():
            f = sympy.lambdify([S] + syms, expr, "mpmath")
            ref = np.array([float(f(mpmath.mpf(float(s)), *args)) for s in points])
            got = np.array([getattr(compiled.module, name)(float(s), tuple(values)) for s in points])
            scale = np.max(np.abs(ref))
            out[name] = float(np.max(np.abs(got - ref)) / np.spacing(scale)) if scale > 0 else 0.0
    return out
