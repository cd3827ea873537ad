"""Small deblurring problems for the convergence, speed and prior-sweep experiments.

Crops of BSDS500 images, Levin kernels, circular boundary, Gaussian noise; the observation of
(image, kernel, σ) is drawn once from a seeded generator and shared by every method. A method maps
``(physics, y, sigma, reference)`` to a solver :class:`Result`; :func:`tune` grid-searches a
method's parameter on *training* images only. The deblurring *table* runs the field's standard
protocol instead (:mod:`pnp.evaluation.protocol`, :mod:`pnp.evaluation.deblurring_suite`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import torch

from ..metrics import psnr, ssim
from ..operators import Blur, Boundary, kernels
from ..solvers import Anderson, Result, SolverOptions, Stopping, pnp_pgd
from ..tasks.deblur import Start, starting_point
from .images import load_crop
from .tuning import grid_search

__all__ = ["DeblurMethod", "Observation", "observations", "pnp_method", "score", "tune", "tv_prox"]

DeblurMethod = Callable[[Blur, torch.Tensor, float, torch.Tensor], Result]
"""``method(physics, y, sigma, reference) -> Result`` (reference only for the history)."""


@dataclass(frozen=True)
class Observation:
    """One deblurring problem: sharp image, kernel index, noise level and the blurred-noisy data."""

    name: str
    sharp: torch.Tensor
    kernel: int
    sigma: float
    physics: Blur
    y: torch.Tensor


def observations(
    files: Iterable[Path], kernel_indices: Iterable[int], sigmas: Iterable[float], *, crop: int | None = None
) -> list[Observation]:
    """``y = k * x + n`` (circular), noise seeded by (image, kernel, σ)."""
    problems = []
    for image_index, path in enumerate(files):
        sharp = load_crop(path, crop)
        for kernel in kernel_indices:
            physics = Blur(kernels.levin(kernel), boundary=Boundary.CIRCULAR)
            for sigma in sigmas:
                seed = 1_000_003 * image_index + 1009 * kernel + round(sigma * 10_000)
                noise = torch.randn(sharp.shape, generator=torch.Generator().manual_seed(seed))
                problems.append(Observation(Path(path).stem, sharp, kernel, sigma, physics, physics.A(sharp) + sigma * noise))
    return problems


def score(problem: Observation, method: DeblurMethod, device: torch.device = torch.device("cpu")) -> dict:
    """PSNR, SSIM (of the clipped estimate), iterations, converged (0/1) and seconds of one run."""
    physics = problem.physics.to(device)
    start = time.perf_counter()
    result = method(physics, problem.y.to(device), problem.sigma, problem.sharp.to(device))
    seconds = time.perf_counter() - start
    estimate = result.x.float().clamp(0, 1).cpu()
    return {"psnr": float(psnr(estimate, problem.sharp)[0]), "ssim": float(ssim(estimate, problem.sharp)[0]),
            "iterations": result.iterations[0], "converged": float(result.converged), "seconds": seconds}


def tune(
    problems: list[Observation], build: Callable[[float], DeblurMethod], grid: Iterable[float],
    device: torch.device = torch.device("cpu"), *, extend: float | None = None, max_extensions: int = 4,
) -> tuple[float, dict[float, float]]:
    """The grid value whose method has the best mean PSNR on ``problems`` (training images only).

    With ``extend`` (a ratio > 1), a best value on the edge of the grid adds ``edge * extend`` (or
    ``edge / extend``), up to ``max_extensions`` times, so the optimum is not a grid artefact.
    Returns the best value and the mean PSNR of every value tried.
    """
    def mean_psnr(value: float) -> float:
        method = build(value)
        return sum(score(p, method, device)["psnr"] for p in problems) / len(problems)

    return grid_search(mean_psnr, grid, ratio=extend, max_extensions=max_extensions)


# -- the methods of the table --------------------------------------------------------------
def pnp_method(denoiser, iterations: int, tol: float, *, start: Start = Start.TIKHONOV) -> DeblurMethod:
    """PnP-PGD with safeguarded Anderson acceleration, step ``1/||A||^2``, started as ``pnp deblur``
    does (:func:`pnp.tasks.deblur.starting_point`)."""
    def method(physics: Blur, y, sigma, reference):
        return pnp_pgd(physics, y, denoiser, sigma=sigma, x0=starting_point(physics, y, sigma, start),
                       options=SolverOptions(Stopping(iterations, tol)), acceleration=Anderson())
    return method


def tv_prox(weight: float, inner_iterations: int = 100):
    """``v, tau -> prox_{tau weight TV}(v)`` by Chambolle-Pock iterations (deepinv's TV denoiser)."""
    from ..denoisers import TV

    tv = TV(weight=1.0, max_iter=inner_iterations)

    def prox(v, tau):
        tv.weight = tau * weight
        return tv(v, None)
    return prox
