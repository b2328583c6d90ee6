"""A pure host function inside JAX programs, without ``jax.pure_callback``'s per-call conversions.

``host_call(fn, shapes, *args)`` has ``jax.pure_callback(fn, shapes, *args, vmap_method="expand_dims")``'s
contract: ``fn`` is a pure function of numpy arrays returning arrays of the declared shapes and dtypes;
it works eagerly and under ``jit``, ``vmap`` (batched arguments get the vmap axis first, the others a
leading axis of size 1, and ``fn`` is called once) and, through a ``custom_vjp``, ``grad``; an unused
call is removed by ``jit`` like any pure operation.

Why not ``pure_callback``: before calling ``fn`` it puts every numpy argument XLA hands it back on the
CPU device as a jax Array (``device_put``), which ``fn`` then turns into numpy again. For the exact
layer on a batch of 50 that cost about 0.3 ms of CPU per call, two calls per training step (forward,
backward): about 5 % of the step (``benchmarks/README.md``, issue 13). Here the primitive is lowered
with ``jax.interpreters.mlir.emit_python_callback``, the function ``pure_callback`` itself lowers to,
which passes XLA's numpy buffers to ``fn`` directly. Those arrays are valid only during the call:
``fn`` must copy whatever it keeps (the exact layer copies weights, delays and parameters into its
memoised records; ``tests/test_jax_bridge.py`` checks the memoised backward against the adjoint).
"""

from __future__ import annotations

import numpy as np

import jax.numpy as jnp
from jax.core import ShapedArray
from jax.extend.core import Primitive
from jax.interpreters import batching, mlir

host_call_p = Primitive("exactsnn_host_call")
host_call_p.multiple_results = True


def host_call(fn, result_shapes, *args) -> tuple:
    """``fn(*numpy args)`` as a JAX operation; ``result_shapes`` are ``jax.ShapeDtypeStruct``s."""
    avals = tuple(ShapedArray(tuple(s.shape), np.dtype(s.dtype)) for s in result_shapes)
    return tuple(host_call_p.bind(*args, fn=fn, result_avals=avals))


def _checked(outs, result_avals) -> tuple:
    """``fn``'s results as arrays of the declared shapes and dtypes (a mismatch is a bug: raise)."""
    outs = tuple(np.asarray(o) for o in outs)
    if len(outs) != len(result_avals) or any(o.shape != a.shape or o.dtype != a.dtype
                                             for o, a in zip(outs, result_avals)):
        raise RuntimeError(f"host function returned {[(o.shape, o.dtype) for o in outs]}; declared "
                           f"{[(a.shape, a.dtype) for a in result_avals]}")
    return outs


def _abstract_eval(*args, fn, result_avals):
    return list(result_avals)


def _impl(*args, fn, result_avals):
    """Eager call: numpy in, jax arrays out."""
    return [jnp.asarray(o) for o in _checked(fn(*(np.asarray(a) for a in args)), result_avals)]


def _lowering(ctx, *args, fn, result_avals):
    def run(*arrays):
        return _checked(fn(*arrays), result_avals)

    results, _, _ = mlir.emit_python_callback(ctx, run, None, list(args), ctx.avals_in, ctx.avals_out,
                                              has_side_effect=False, returns_token=False)
    return results


def _batch(args, dims, *, fn, result_avals):
    """vmap as ``expand_dims``: one call with the vmap axis first on every argument and result."""
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    args = [jnp.expand_dims(a, 0) if d is None else jnp.moveaxis(a, d, 0) for a, d in zip(args, dims)]
    avals = tuple(ShapedArray((size,) + a.shape, a.dtype) for a in result_avals)
    return host_call_p.bind(*args, fn=fn, result_avals=avals), [0] * len(avals)


host_call_p.def_abstract_eval(_abstract_eval)
host_call_p.def_impl(_impl)
mlir.register_lowering(host_call_p, _lowering, platform="cpu", cacheable=False)
batching.primitive_batchers[host_call_p] = _batch

__all__ = ["host_call", "host_call_p"]
