"""Benchmark 2: non-blind deblurring (DESIGN.md §5).

BSDS500 ``val`` images, the 8 Levin kernels, circular boundary, Gaussian noise σ ∈ {0.01, 0.03};
the observation of (image, kernel, σ) is drawn once from a seeded generator and shared by every
method. A method maps ``(physics, y, sigma, reference)`` to a solver :class:`Result`; the table
reports mean PSNR/SSIM of the (clipped) estimate, mean iterations, the fraction of runs that
reached the tolerance, and seconds per run. Tuning helpers grid-search a method's parameter on
*training* images only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import torch

from ..metrics import psnr, ssim
from ..operators import Blur, Boundary, kernels
from ..solvers import Anderson, Result, Stopping, fista_prox, pnp_pgd
from ..tasks.deblur import Start, starting_point
from .images import load_crop
from .tables import Table

__all__ = ["DeblurMethod", "Observation", "deblurring_table", "observations", "per_noise_level", "pnp_method",
           "score", "tune", "tv_fista_method", "tv_prox"]

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


def deblurring_table(
    problems: list[Observation], methods: dict[str, DeblurMethod], *, title: str,
    device: torch.device = torch.device("cpu"), progress: Callable[[str], None] | None = None,
) -> Table:
    """Mean scores per (σ, method), plus the blurred input as a baseline row."""
    table = Table(title, ["sigma", "method", "psnr", "ssim", "iterations", "converged", "seconds", "runs"])
    for sigma in sorted({p.sigma for p in problems}):
        subset = [p for p in problems if p.sigma == sigma]
        blurred = [(float(psnr(p.y.clamp(0, 1), p.sharp)[0]), float(ssim(p.y.clamp(0, 1), p.sharp)[0])) for p in subset]
        table.add(sigma=sigma, method="blurred input", psnr=sum(b[0] for b in blurred) / len(blurred),
                  ssim=sum(b[1] for b in blurred) / len(blurred), runs=len(subset))
        for name, method in methods.items():
            scores = [score(p, method, device) for p in subset]
            if progress is not None:
                progress(f"sigma {sigma}: {name} done")
            mean = {key: sum(s[key] for s in scores) / len(scores) for key in scores[0]}
            table.add(sigma=sigma, method=name, runs=len(scores), **mean)
    return table


def tune(
    problems: list[Observation], build: Callable[[float], DeblurMethod], grid: Iterable[float],
    device: torch.device = torch.device("cpu"), *, extend: float | None = None, max_extensions: int = 4,
) -> tuple[float, dict[float, float]]:
    """The grid value whose method has the best mean PSNR on ``problems`` (training images only).

    With ``extend`` (a ratio > 1), a best value on the edge of the grid adds ``edge * extend`` (or
    ``edge / extend``), up to ``max_extensions`` times, so the optimum is not a grid artefact.
    Returns the best value and the mean PSNR of every value tried.
    """
    means: dict[float, float] = {}

    def evaluate(value: float) -> None:
        value = float(f"{value:.4g}")
        if value not in means:
            method = build(value)
            means[value] = sum(score(p, method, device)["psnr"] for p in problems) / len(problems)

    for value in grid:
        evaluate(value)
    for _ in range(max_extensions if extend else 0):
        best = max(means, key=means.get)
        if best == min(means):
            evaluate(best / extend)
        elif best == max(means):
            evaluate(best * extend)
        else:
            break
    return max(means, key=means.get), dict(sorted(means.items()))


# -- the methods of the table --------------------------------------------------------------
def pnp_method(denoiser, iterations: int, tol: float, *, start: Start = Start.TIKHONOV) -> DeblurMethod:
    """PnP-PGD with safeguarded Anderson acceleration, step ``1/||A||^2``, started as ``pnp deblur``
    does (:func:`pnp.tasks.deblur.starting_point`)."""
    def method(physics: Blur, y, sigma, reference):
        return pnp_pgd(physics, y, denoiser, sigma=sigma, x0=starting_point(physics, y, sigma, start),
                       stopping=Stopping(iterations, tol), acceleration=Anderson())
    return method


def tv_prox(weight: float, inner_iterations: int = 100):
    """``v, tau -> prox_{tau weight TV}(v)`` by Chambolle-Pock iterations (deepinv's TV denoiser)."""
    from ..denoisers import TV

    tv = TV(weight=1.0, max_iter=inner_iterations)

    def prox(v, tau):
        tv.weight = tau * weight
        return tv(v, None)
    return prox


def tv_fista_method(weight: float, iterations: int, tol: float) -> DeblurMethod:
    """FISTA on ``1/2 ||Ax - y||^2 + weight TV(x)`` (inexact prox), started at ``y``."""
    def method(physics: Blur, y, sigma, reference):
        return fista_prox(physics, y, prox=tv_prox(weight), x0=y, stopping=Stopping(iterations, tol))
    return method


def per_noise_level(methods: dict[float, DeblurMethod]) -> DeblurMethod:
    """One method per noise level (e.g. tuned per sigma), dispatched on the problem's sigma."""
    def method(physics: Blur, y, sigma, reference):
        if sigma not in methods:
            raise ValueError(f"no method tuned for sigma={sigma}; tuned for {sorted(methods)}")
        return methods[sigma](physics, y, sigma, reference)
    return method
