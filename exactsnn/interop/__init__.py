"""Interoperability with other SNN tools.

- ``nir``, ``nir_case``, ``spike_data``: NIR graphs in and out, spike data files (``nir`` is a dependency,
  pinned in pyproject; it is imported on first use, so ``import exactsnn`` does not load it).
- ``adapters/``: run jaxsnn or snnTorch on a NIR graph and write their answers as a claim for the validator.
- ``torch``, ``jax``: exact spiking layers inside PyTorch and JAX programs (optional extras; public as
  ``exactsnn.torch`` and ``exactsnn.jax``).
"""

from .nir import NIR_VERSION, from_nir, read_nir, to_nir, write_nir

__all__ = ["to_nir", "from_nir", "read_nir", "write_nir", "NIR_VERSION"]
