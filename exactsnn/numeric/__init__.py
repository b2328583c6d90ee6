"""Numeric layer: numpy + numba only. Never imports SymPy."""
