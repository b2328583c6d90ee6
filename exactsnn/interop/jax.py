"""Exact spiking layers inside JAX: ``jax.custom_vjp`` over a host call.

``spike_times(spec, weight, delay, params, input_times)`` returns the first spike time of every
output neuron (``t_max`` where silent), the silent mask and the spike count of every neuron. Its VJP
is exactsnn's adjoint with the cotangent as ``dL/dt``:

    dL/dq = sum_b sum_k dL/dt_bk dt_bk/dq,   q in {weights, delays, model parameters},
    dL/dx_bc = sum_k dL/dt_bk dt_bk/dx_bc    for input spike times x.

It works under ``jax.jit``, ``jax.grad`` and ``jax.vmap``. The callbacks are ``jax_host.host_call``s:
``jax.pure_callback``'s contract with ``vmap_method="expand_dims"``, without its per-call conversion of every
argument to a jax Array and back (about 0.3 ms of CPU per call on a batch of 50). A vmap over input patterns
becomes one batch call (simulated in parallel on all cores), not one call per pattern; a vmap over weights, delays
or parameters runs one batch call per parameter set. A callback cannot hand Python objects to another, so the
forward callback memoises its batches on the spec (``LayerSpec.remember``, the last ``memo_size``) and returns a
token as a residual; the backward callback runs only the adjoint sweeps on their causal records, or, when the
first-spike Jacobian is small, contracts the cotangent with the Jacobian rows the forward computed
(``jacobian_batch``; equal to the sweeps to rounding). When jit drops the forward callback (only gradients used) or
the record is gone, the backward callback simulates the batch again: bit-identical spikes, one more simulation.

Requirements: ``jax.config.update("jax_enable_x64", True)`` (exactness needs float64). Shapes and
dtypes are checked when tracing; spike-time values (NaN, negative) are checked in the callback,
whose exception reaches the caller eagerly and as a runtime error under ``jit``.
"""

from __future__ import annotations

import functools
import weakref

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from ..errors import ExactSNNError, InputSpikeError, ModelError, NetworkError
try:  # private JAX names (jax_host.py), checked with the pinned jax 0.10.2
    from .jax_host import host_call
except (ImportError, AttributeError):  # pragma: no cover - another JAX: the public route, ~0.3 ms more a call
    host_call = None


def public_host_call(fn, result_shapes, *args) -> tuple:
    """``host_call`` through the public ``jax.pure_callback`` (the route when ``jax_host`` cannot load)."""
    return tuple(jax.pure_callback(fn, tuple(result_shapes), *args, vmap_method="expand_dims"))


if host_call is None:  # pragma: no cover
    host_call = public_host_call
from .layer_spec import LayerSpec
from .spike_batch import GRAD_KEYS

_ERRORS = {"weight": NetworkError, "delay": NetworkError, "params": ModelError, "input_times": InputSpikeError}


_FUNCTIONS: "weakref.WeakKeyDictionary[LayerSpec, object]" = weakref.WeakKeyDictionary()


def layer_function(spec: LayerSpec):
    """The ``jax.custom_vjp`` function ``(weight, delay, params, input_times) -> outputs`` of ``spec`` (built once)."""
    fn = _FUNCTIONS.get(spec)
    if fn is None:
        fn = _FUNCTIONS[spec] = _layer(spec)
    return fn


def _check(x, name, tail):
    err = _ERRORS[name]
    if not jnp.issubdtype(jnp.result_type(x), jnp.floating):
        raise err(f"{name} has dtype {jnp.result_type(x)}; it must be float64")
    if jnp.result_type(x) != jnp.float64:
        raise err(f"{name} has dtype {jnp.result_type(x)}; exact spike times need float64: enable it with "
                  "jax.config.update('jax_enable_x64', True) and pass float64 arrays")
    if jnp.ndim(x) < len(tail) or tuple(jnp.shape(x)[jnp.ndim(x) - len(tail):]) != tail:
        raise err(f"{name} has shape {jnp.shape(x)}; expected (..., {', '.join(map(str, tail))})"
                  if name == "input_times" else f"{name} has shape {jnp.shape(x)}; expected {tail}")


def _parameter_sets(spec, w, d, p, x):
    """Split callback arguments into vmap dims ``lv`` and yield (index, w, d, p, patterns (N, ...), batch shape)."""
    nv = w.ndim - 1
    lv = np.broadcast_shapes(w.shape[:nv], d.shape[:nv], p.shape[:nv], x.shape[:nv])
    batch = x.shape[nv:x.ndim - spec.input_rank]
    tail = x.shape[x.ndim - spec.input_rank:]
    shared = all(int(np.prod(a.shape[:nv])) == 1 for a in (w, d, p))
    if shared:  # one parameter set: every pattern of every vmap index in one batch call
        xs = np.broadcast_to(x, lv + x.shape[nv:]).reshape((-1,) + tail)
        yield None, w.reshape(-1), d.reshape(-1), p.reshape(p.shape[nv:]), xs, lv, batch
        return
    for idx in np.ndindex(*lv):
        pick = [tuple(min(i, s - 1) for i, s in zip(idx, a.shape[:nv])) for a in (w, d, p, x)]
        yield idx, w[pick[0]], d[pick[1]], p[pick[2]], x[pick[3]].reshape((-1,) + tail), lv, batch


def _run(spec, w, d, p, xs, jacobian=False, keys=GRAD_KEYS):
    """One batch forward of one parameter set: ``LayerSpec.simulate`` (with ``jacobian``, first-spike
    Jacobians instead of causal records when they are small; the forward kept for a backward and the
    backward's own simulation make the same choice, so gradients do not depend on the memo; without
    'params' or 'delay' in ``keys`` the Jacobian's parameter or delay columns are left out, the others
    are the same bits)."""
    return spec.simulate(w, d, p, xs, jacobian, "params" in keys, "delay" in keys)


def _grads(sb, g, keys=GRAD_KEYS, per_pattern=False) -> dict:
    """``sb.grads`` of ``keys``, the inputs the forward was told are differentiated (``custom_vjp``'s
    ``perturbed``), and zeros for the others, which JAX discards (so their contractions are skipped)."""
    skip = {k for k, has in (("params", "with_params"), ("delay", "with_delays")) if not getattr(sb, has, True)}
    keys = tuple(k for k in keys if k not in skip)  # columns left out: the forward knew they are not needed
    r = sb.grads(g, keys=keys, per_pattern=per_pattern)
    lead = (sb.t_first.shape[0],) if per_pattern else ()
    shapes = {"weight": lead + sb.topology.syn_w.shape, "delay": lead + sb.topology.syn_d.shape,
              "params": lead + sb.ptab.shape, "input_times": sb.input_shape}
    return {k: r[k] if k in r else np.zeros(shapes[k]) for k in GRAD_KEYS}


def _host_forward(spec, w, d, p, x, keep=False, keys=GRAD_KEYS):
    """Outputs of every parameter set; with ``keep``, the batches are memoised for the backward callback
    with ``keys``, the differentiated inputs (the backward computes only their gradients; without
    'params' or 'delay' the Jacobian's parameter or delay columns are skipped, see ``_run``), and a token naming them is
    returned last (shape ``lv``)."""
    w, d, p, x = (np.asarray(a) for a in (w, d, p, x))
    if w.ndim == 1:  # not under vmap: one batch call, no scatter into vmap slots
        sb = _run(spec, w, d, p, x.reshape((-1,) + x.shape[x.ndim - spec.input_rank:]), keep, keys)
        lead = x.shape[:x.ndim - spec.input_rank]
        outs = tuple(a.reshape(lead + a.shape[1:]) for a in (sb.t_first, sb.silent, sb.counts))
        return outs + (np.asarray(spec.remember({None: sb, "keys": keys}), np.int64),) if keep else outs
    outs, kept = None, {}
    for idx, wi, di, pi, xs, lv, batch in _parameter_sets(spec, w, d, p, x):
        sb = _run(spec, wi, di, pi, xs, keep, keys)
        kept[idx] = sb
        got = (sb.t_first, sb.silent, sb.counts)
        if outs is None:
            outs = tuple(np.zeros(lv + batch + a.shape[1:], a.dtype) for a in got)
        sel = () if idx is None else idx
        for o, a in zip(outs, got):
            o[sel] = a.reshape(o[sel].shape)
    if not keep:
        return outs
    kept["keys"] = keys
    return outs + (np.full(lv, spec.remember(kept), np.int64),)


def _host_vjp(spec, w, d, p, x, token, g):
    kept = spec.recall(int(np.asarray(token).flat[0]))
    keys = kept.pop("keys", GRAD_KEYS)  # a forgotten memo: simulate again and compute every gradient
    w, d, p, x, g = (np.asarray(a) for a in (w, d, p, x, g))
    if w.ndim == 1 and g.ndim == x.ndim - spec.input_rank + 1:  # not under vmap: one parameter set
        sb = kept.get(None)
        xs = x.reshape((-1,) + x.shape[x.ndim - spec.input_rank:])
        if sb is None or sb.t_first.shape[0] != xs.shape[0]:
            sb = _run(spec, w, d, p, xs, True)
        r = _grads(sb, g.reshape((-1, g.shape[-1])), keys)
        return r["weight"], r["delay"], r["params"], np.ascontiguousarray(r["input_times"]).reshape(x.shape)
    nv = w.ndim - 1
    lv = np.broadcast_shapes(w.shape[:nv], d.shape[:nv], p.shape[:nv], x.shape[:nv], g.shape[:nv])
    gw, gd, gp = np.zeros(lv + w.shape[nv:]), np.zeros(lv + d.shape[nv:]), np.zeros(lv + p.shape[nv:])
    x = np.broadcast_to(x, lv + x.shape[nv:])  # e.g. jacrev: cotangents batched, patterns not
    gx = np.zeros(x.shape)
    g = np.broadcast_to(g, lv + g.shape[nv:])
    for idx, wi, di, pi, xs, _, batch in _parameter_sets(spec, w, d, p, x):
        sb = kept.get(idx)
        if sb is None or sb.t_first.shape[0] != xs.shape[0]:  # not memoised (or another vmap layout): simulate
            sb = _run(spec, wi, di, pi, xs, True)
        gi = g.reshape((-1, g.shape[-1])) if idx is None else g[idx].reshape((-1, g.shape[-1]))
        r = _grads(sb, gi, keys, per_pattern=True)
        n_b = int(np.prod(batch, dtype=np.int64))
        sel, lead = ((), lv) if idx is None else (idx, ())
        gw[sel] = _sum_batch(r["weight"], lead, n_b)
        gd[sel] = _sum_batch(r["delay"], lead, n_b)
        gp[sel] = _sum_batch(r["params"], lead, n_b)
        gx[sel] = r["input_times"].reshape(gx[sel].shape)
    return gw, gd, gp, gx


def _sum_batch(per_pattern, lv, n_b):
    """(N, ...) per-pattern gradients -> summed over each vmap index's own patterns: (lv..., ...)."""
    return per_pattern.reshape(lv + (n_b,) + per_pattern.shape[1:]).sum(axis=len(lv))


def _result_shapes(spec, x_shape):
    lead = x_shape[:len(x_shape) - spec.input_rank]
    n_out, n = spec.network.outputs.size, spec.network.n_neurons
    return (jax.ShapeDtypeStruct(lead + (n_out,), jnp.float64), jax.ShapeDtypeStruct(lead + (n_out,), jnp.bool_),
            jax.ShapeDtypeStruct(lead + (n,), jnp.int64))


def _layer(spec):
    """The custom_vjp function of ``spec`` (built once per spec)."""

    run = {}  # (keep, keys) -> host function (one object per variant: jit caches by it)
    vjp = functools.partial(_host_vjp, spec)

    def forward(w, d, p, x, keep=False, keys=GRAD_KEYS):
        shapes = _result_shapes(spec, jnp.shape(x)) + ((jax.ShapeDtypeStruct((), jnp.int64),) if keep else ())
        fn = run.get((keep, keys))
        if fn is None:
            fn = run[keep, keys] = functools.partial(_host_forward, spec, keep=keep, keys=keys)
        return host_call(fn, shapes, w, d, p, x)

    @jax.custom_vjp
    def layer(w, d, p, x):
        return forward(w, d, p, x)

    def fwd(w, d, p, x):  # symbolic zeros: each argument says whether it is differentiated (``perturbed``)
        keys = tuple(k for k, a in zip(GRAD_KEYS, (w, d, p, x)) if a.perturbed)
        *out, token = forward(w.value, d.value, p.value, x.value, keep=True, keys=keys)
        return tuple(out), (w.value, d.value, p.value, x.value, token)

    def bwd(res, cot):
        shapes = tuple(jax.ShapeDtypeStruct(jnp.shape(a), jnp.float64) for a in res[:4])
        if isinstance(cot[0], SymbolicZero):  # t_first not used (e.g. only counts): nothing to propagate
            return tuple(jnp.zeros(s.shape, s.dtype) for s in shapes)
        return host_call(vjp, shapes, *res, cot[0])

    layer.defvjp(fwd, bwd, symbolic_zeros=True)
    return layer


def spike_times(spec: LayerSpec, weight, delay, params, input_times):
    """(t_first (..., n_out), silent (..., n_out), counts (..., n_neurons)) of a batch, differentiable.

    Parameters
    ----------
    spec : LayerSpec
    weight, delay : (n_synapses,) float64, in ``spec.network``'s synapse order; delays >= 0.
    params : (n_populations, n_params) float64, columns in ``spec.compiled.param_names`` order.
    input_times : (..., n_inputs) float64, one spike per channel, or (..., n_inputs, K) with
        ``spec.spikes_per_channel = K``; ``+inf`` means no spike. Leading dims are patterns.
    """
    if not isinstance(spec, LayerSpec):
        raise ExactSNNError(f"spec must be an exactsnn.jax.LayerSpec, got {type(spec).__name__}")
    n_syn = spec.network.n_synapses
    _check(weight, "weight", (n_syn,))
    _check(delay, "delay", (n_syn,))
    _check(params, "params", (spec.n_pop, len(spec.compiled.param_names)))
    k = () if spec.spikes_per_channel is None else (int(spec.spikes_per_channel),)
    _check(input_times, "input_times", (spec.network.n_inputs,) + k)
    for name, a in (("weight", weight), ("delay", delay), ("params", params)):
        if jnp.ndim(a) != (1 if name != "params" else 2):
            raise _ERRORS[name](f"{name} has shape {jnp.shape(a)}; vmap over it instead of adding dimensions")
    return layer_function(spec)(weight, delay, params, input_times)


__all__ = ["LayerSpec", "spike_times", "layer_function"]
