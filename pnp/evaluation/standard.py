"""Deblurring on the standard protocol (:mod:`pnp.evaluation.protocol`), every method on the same inputs.

Methods (:class:`Method`):

- ``euler``: PnP-Euler exactly as ``pnp deblur`` runs by default (:func:`pnp.tasks.deblur.deblur`
  with ``DeblurOptions(boundary=circular, noise_level=σ)``: the shipped Euler prior trained nearest
  σ, Tikhonov start, safeguarded Anderson acceleration, relative-residual tolerance 1e-5, at most
  500 iterations);
- ``euler-discrepancy``: the same, with the prior chosen per problem among the shipped Euler nets by
  the discrepancy principle (``pnp deblur --prior-choice discrepancy``,
  :func:`pnp.tasks.deblur_by_discrepancy`); iterations and convergence are those of every solve it
  made (summed; converged when all did);
- ``dncnn``: the same pipeline with the shipped DnCNN nearest σ and an iteration cap (DnCNN is
  not averaged: its iterations need not converge);
- ``tv``: isotropic TV deconvolution (:func:`pnp.evaluation.tv_admm.tv_deconvolution`), its weight
  tuned per σ on BSDS500 *train* images only;
- ``bm3d``: BM3D deblurring (:func:`pnp.evaluation.anchors.bm3d_deblur`; optional package).

Each method's runs are kept in a :class:`~pnp.evaluation.runs.RunLog` (``<out>/deblurring/runs_<method>``),
so an interrupted benchmark continues where it stopped, and methods can run in parallel processes.
The tables are rendered from every log present.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from ..choices import Method
from ..denoisers import family, load, resolve
from ..metrics import psnr, ssim
from ..operators import Boundary
from ..solvers import Stopping
from ..tasks.deblur import DeblurOptions, deblur, prior_noise_level
from ..tasks.prior_choice import deblur_by_discrepancy, family_from_nearest
from . import anchors
from .protocol import Problem
from .tuning import grid_search
from .tv_admm import tv_deconvolution

__all__ = ["Method", "Outcome", "Solve", "build_solver", "score"]


@dataclass(frozen=True)
class Outcome:
    """What a method gives on one problem: the estimate, its iterations (0 for a one-pass method)
    and whether its iteration reached the tolerance (True for a one-pass method)."""

    estimate: torch.Tensor
    iterations: int
    converged: bool
    weights: str = ""


Solve = Callable[[Problem], Outcome]


def _pnp(family: str, sigmas: Sequence[float], device: torch.device, max_iter: int | None) -> Solve:
    """``pnp deblur``'s default pipeline with the shipped ``family`` prior nearest the noise level
    (loaded once per level, not once per run)."""
    names = {round(s, 6): resolve(family, prior_noise_level(s), nearest=True).stem for s in sigmas}
    models = {name: load(name).to(device).eval() for name in set(names.values())}
    default = DeblurOptions().stopping
    stopping = default if max_iter is None else Stopping(max_iter, default.tol)

    def solve(problem: Problem) -> Outcome:
        name = names[round(problem.sigma, 6)]
        options = DeblurOptions(boundary=Boundary.CIRCULAR, noise_level=problem.sigma, stopping=stopping)
        restoration = deblur(problem.observed.to(device), problem.physics.kernel, models[name], options)
        result = restoration.result
        return Outcome(restoration.restored, int(result.iterations[0]), bool(result.converged), name)
    return solve


def _pnp_discrepancy(sigmas: Sequence[float], device: torch.device) -> Solve:
    """``pnp deblur --prior-choice discrepancy``: every shipped Euler level on offer, the search
    starting at the one nearest the noise level."""
    names = family("euler")
    priors = [(name, load(name).to(device).eval()) for name in names]
    first = {round(s, 6): family_from_nearest("euler", s)[1] for s in sigmas}

    def solve(problem: Problem) -> Outcome:
        options = DeblurOptions(boundary=Boundary.CIRCULAR, noise_level=problem.sigma)
        restoration, chosen, trials = deblur_by_discrepancy(problem.observed.to(device), problem.physics.kernel,
                                                             priors, options, first=first[round(problem.sigma, 6)])
        return Outcome(restoration.restored, sum(t.iterations for t in trials), all(t.converged for t in trials), chosen)
    return solve


def _tv(weights: dict[float, float], device: torch.device) -> Solve:
    def solve(problem: Problem) -> Outcome:
        weight = weights[round(problem.sigma, 6)]
        result = tv_deconvolution(problem.physics.to(device), problem.observed.to(device), weight)
        return Outcome(result.x, result.iterations, result.converged, f"lambda={weight:g}")
    return solve


def _bm3d(problem: Problem) -> Outcome:
    return Outcome(anchors.bm3d_deblur(problem.physics, problem.observed, problem.sigma), 0, True)


def build_solver(method: Method, sigmas: Sequence[float], device: torch.device, *, dncnn_iterations: int = 100,
                 tv_weights: dict[float, float] | None = None, max_iter: int | None = None) -> Solve:
    """The solver of ``method`` for the noise levels ``sigmas``; ``max_iter`` caps PnP-Euler (quick
    runs only: the default is pnp deblur's)."""
    if method is Method.EULER:
        return _pnp("euler", sigmas, device, max_iter)
    if method is Method.EULER_DISCREPANCY:
        return _pnp_discrepancy(sigmas, device)
    if method is Method.DNCNN:
        return _pnp("dncnn", sigmas, device, dncnn_iterations if max_iter is None else min(max_iter, dncnn_iterations))
    if method is Method.TV:
        if tv_weights is None:
            raise ValueError("the TV method needs its weights per noise level (tune them on train images)")
        return _tv(tv_weights, device)
    return _bm3d


def score(problem: Problem, solve: Solve) -> dict:
    """Run ``solve`` on ``problem``: PSNR/SSIM (peak 1, whole image) of the clipped estimate,
    iterations, converged, seconds, the weights or parameter it used, and the scores of the
    blurred, noisy input (the baseline row of the tables)."""
    start = time.perf_counter()
    with torch.inference_mode():
        outcome = solve(problem)
    seconds = time.perf_counter() - start
    estimate = outcome.estimate.detach().float().clamp(0, 1).cpu()
    observed = problem.observed.clamp(0, 1)
    return {"image": problem.image, "kernel": problem.kernel, "sigma": round(problem.sigma, 6),
            "psnr": float(psnr(estimate, problem.sharp)[0]), "ssim": float(ssim(estimate, problem.sharp)[0]),
            "iterations": outcome.iterations, "converged": bool(outcome.converged), "seconds": round(seconds, 3),
            "weights": outcome.weights, "input_psnr": float(psnr(observed, problem.sharp)[0]),
            "input_ssim": float(ssim(observed, problem.sharp)[0])}


def tune_tv(train: list[Problem], grid: list[float], device: torch.device, *, ratio: float = 2.0,
            max_extensions: int = 4) -> tuple[float, dict[float, float]]:
    """The TV weight with the best mean PSNR on ``train`` (BSDS500 train problems); a best value on
    the edge of ``grid`` extends the grid by ``ratio``. Returns the weight and the PSNR of each tried."""
    def mean_psnr(weight: float) -> float:
        solve = _tv({round(p.sigma, 6): weight for p in train}, device)
        return sum(score(p, solve)["psnr"] for p in train) / len(train)

    return grid_search(mean_psnr, grid, ratio=ratio, max_extensions=max_extensions)
