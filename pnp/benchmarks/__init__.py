"""Benchmarks: denoising and deblurring tables, convergence and stability figures, certificates,
speed; each output carries its command, machine, date and version (:class:`Provenance`).

``pnp benchmark NAME`` runs them (:mod:`pnp.benchmarks.suite`); results live in
``benchmarks/results/`` of the repository.
"""

from .tables import Provenance, Table, machine_description

__all__ = ["Provenance", "Table", "machine_description"]
