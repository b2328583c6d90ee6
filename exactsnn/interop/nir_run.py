"""Trained runs out to NIR: ``export_run(run_dir, out)`` writes the network a run folder holds (every
trained block, delays, per-layer thresholds) as a NIR graph, via ``exactsnn.training.load`` and
``to_nir``. Used by ``exactsnn export-nir RUN_DIR OUT.nir`` and ``exactsnn train ... --export-nir OUT``.
"""

from __future__ import annotations

from pathlib import Path


def run_graph(run_dir):
    """The ``nir.NIRGraph`` of the trained network in ``run_dir``."""
    from ..training import load
    from .nir import to_nir

    trained = load(run_dir)
    return to_nir(trained.network, trained.model, trained.params, trained.populations)


def export_run(run_dir, out) -> Path:
    """Write the trained network in ``run_dir`` to the NIR file ``out``; returns its path."""
    from .nir import write_nir

    write_nir(out, run_graph(run_dir))
    return Path(out)
