"""Interoperability with other SNN tools: NIR graphs in and out, spike data files.

``to_nir``/``from_nir`` need the ``nir`` package (a dependency, pinned in pyproject); it is imported
on first use, so ``import exactsnn`` does not load it.
"""

from .nir import NIR_VERSION, from_nir, read_nir, to_nir, write_nir

__all__ = ["to_nir", "from_nir", "read_nir", "write_nir", "NIR_VERSION"]
