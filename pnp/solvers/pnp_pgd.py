"""Plug-and-play proximal gradient descent.

``T(x) = D(x - tau grad f(x))`` with ``f(x) = 1/2 ||Ax - y||^2`` and a denoiser D in place of a
proximal operator, iterated with optional relaxation ``x_{k+1} = (1 - lam) x_k + lam T(x_k)``.

Convergence (the theorem this package is built on): ``I - tau grad f`` is ``(tau L/2)``-averaged
for ``tau`` in ``(0, 2/L)``, ``L = ||A||^2``. If D is averaged, T is a composition of averaged maps,
hence averaged (Combettes-Yamada), and the Krasnosel'skii-Mann iterates with ``lam`` in ``(0, 1]``
converge to a fixed point of T whenever one exists. The fixed-point residual
``||x_{k+1} - x_k||`` of an averaged map is non-increasing. With a denoiser that is not averaged
(DnCNN, say) none of this is guaranteed and the run may stall or diverge; the result's stop
reason says so.
"""

from __future__ import annotations

from typing import Callable

import torch
from deepinv.physics import LinearPhysics

from .anderson import Anderson
from .data_fidelity import LeastSquares, check_measurements, resolve_step
from .engine import Callback, run_fixed_point
from .options import SolverOptions
from .result import Result

__all__ = ["DenoiserFn", "pnp_pgd"]

DenoiserFn = Callable[[torch.Tensor, float], torch.Tensor]
"""``denoiser(x, sigma) -> x_denoised``; every deepinv ``Denoiser`` is one."""


def pnp_pgd(
    physics: LinearPhysics,
    y: torch.Tensor,
    denoiser: DenoiserFn,
    *,
    sigma: float,
    relaxation: float = 1.0,
    x0: torch.Tensor | None = None,
    reference: torch.Tensor | None = None,
    callback: Callback | None = None,
    acceleration: Anderson | None = None,
    options: SolverOptions = SolverOptions(),
) -> Result:
    """PnP proximal gradient: ``x_{k+1} = (1 - lam) x_k + lam D(x_k - tau A^T(A x_k - y), sigma)``.

    Args:
        physics: any deepinv ``LinearPhysics`` A.
        y: measurements (B, ...).
        denoiser: called as ``denoiser(x, sigma)``; any deepinv ``Denoiser`` works, and so does a
            plain function of that signature.
        sigma: noise level passed to the denoiser.
        relaxation: lam in ``(0, 1]`` (1 = plain PnP-PGD); outside it, ``ValueError`` unless
            ``options.force``.
        x0: initial point (default ``A^T y``).
        reference: ground truth for PSNR/SSIM in the history.
        callback: called after each iteration with its record (e.g. a progress bar).
        acceleration: ``Anderson()`` for safeguarded Anderson acceleration (same fixed point, far
            fewer denoiser calls; the safeguard falls back to the plain step, so the guarantee
            holds).
        options: the step tau (default ``1/||A||^2``; outside ``(0, 2/||A||^2)`` a ``ValueError``
            unless ``force``), stopping rule and the rest (:class:`SolverOptions`).

    Returns:
        A :class:`Result`; the objective is not recorded (PnP has none in general).
    """
    check_measurements(y)
    if not (0 < relaxation <= 1) and not options.force:
        raise ValueError(
            f"relaxation must lie in (0, 1] for the convergence guarantee, got {relaxation}; "
            "pass SolverOptions(force=True) (pnp: --force) to run anyway"
        )
    data = LeastSquares(physics, y)
    start = data.initial_point(x0)
    tau = resolve_step(physics, start, options.step, force=options.force)

    def operator(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        denoised = denoiser(x - tau * data.gradient(x, index), sigma)
        if relaxation == 1.0:
            return denoised
        return (1 - relaxation) * x + relaxation * denoised

    return run_fixed_point(
        operator, start, step_size=tau, stopping=options.stopping, reference=reference,
        callback=callback, keep_iterates=options.keep_iterates, accelerator=acceleration,
    )
