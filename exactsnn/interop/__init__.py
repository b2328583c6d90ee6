"""Bridges to other frameworks: PyTorch (``exactsnn.torch``) and JAX (``exactsnn.jax``), optional extras."""
