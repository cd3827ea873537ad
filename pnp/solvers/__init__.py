"""Proximal algorithms returning a :class:`Result` with a typed per-iteration history.

- :func:`ista`, :func:`fista` -- l1-regularised least squares;
- :func:`projected_gradient` -- least squares over a convex set (:class:`Box`, :class:`L2Ball`);
- :func:`pnp_pgd` -- plug-and-play proximal gradient with any denoiser ``D(x, sigma)``, optionally
  with safeguarded :class:`Anderson` acceleration;
- :func:`tikhonov_estimate` -- a Wiener-like first estimate to start PnP from.

All work with any deepinv ``LinearPhysics``, stop per image on the relative fixed-point
residual (:class:`Stopping`) or on NaN, and report why (:class:`StopReason`). What every solver
shares (step, stopping rule, kept iterates, ``force``) is one frozen :class:`SolverOptions`.
"""

from .accelerators import Accelerator, Momentum
from .anderson import Anderson
from .callbacks import ProgressBar
from .data_fidelity import LeastSquares, resolve_step
from .engine import Callback, Stopping, run_fixed_point
from .options import SolverOptions
from .pnp_pgd import DenoiserFn, pnp_pgd
from .projections import Box, L2Ball
from .proximal import fista, fista_prox, ista, projected_gradient, soft_threshold
from .result import History, IterationRecord, Result, StopReason
from .tikhonov import tikhonov_estimate

__all__ = [
    "Accelerator",
    "Anderson",
    "Box",
    "Callback",
    "DenoiserFn",
    "History",
    "IterationRecord",
    "L2Ball",
    "LeastSquares",
    "Momentum",
    "ProgressBar",
    "Result",
    "SolverOptions",
    "StopReason",
    "Stopping",
    "fista",
    "fista_prox",
    "ista",
    "pnp_pgd",
    "projected_gradient",
    "resolve_step",
    "run_fixed_point",
    "soft_threshold",
    "tikhonov_estimate",
]
