"""``import exactsnn.jax``: the JAX bridge; everything is defined in ``exactsnn/interop/jax.py``."""
from .interop.jax import *  # noqa: F401,F403
from .interop.jax import __all__  # noqa: F401
