"""The measuring code behind ``pnp benchmark``: denoising and deblurring tables (the standard
protocol), convergence and stability figures, certificates, speed; each output carries its command,
machine, date and version (:class:`Provenance`).

``pnp benchmark NAME`` runs them (:mod:`pnp.evaluation.suite`). The repository's ``benchmarks/``
folder holds what uses this code: the committed results (``benchmarks/results/``), one-off studies,
training campaigns and the GPU lease.
"""

from .tables import Provenance, Table, machine_description

__all__ = ["Provenance", "Table", "machine_description"]
