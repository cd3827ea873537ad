"""Iterative solvers on the toy problem: ISTA (l1 prior) and projected gradient (box, ball).

- ISTA minimises ``1/2 ||A x - y||^2 + lam ||x||_1``; ``lam`` is picked on a logarithmic grid by
  the training MSE, like tau for Tikhonov.
- Projected gradient descent minimises ``1/2 ||A x - y||^2`` over a convex set containing the
  training ground truths: the box ``[min, max]^2`` of their coordinates, or the ball centred at
  the origin of radius ``max ||x_i||``. Every iterate lies in the set.

Both use the step ``1/||A||^2`` of :mod:`pnp.solvers` and start from ``A^T y``; each test point is
a batch element that stops on its own relative residual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..operators import Matrix
from ..solvers import Box, L2Ball, Result, SolverOptions, Stopping, ista, projected_gradient
from .tikhonov import mse

__all__ = ["LambdaSearch", "SolverRun", "feasible_sets", "filled_history", "ista_grid_search", "run_solvers"]


@dataclass(frozen=True)
class LambdaSearch:
    """Training MSE of ISTA for each ``lam`` on a log grid; ``best_lam`` minimises it."""

    lams: torch.Tensor
    errors: torch.Tensor
    best_lam: float


@dataclass
class SolverRun:
    """A solver's result on the test measurements: the estimate, MSE and full history."""

    name: str
    label: str
    parameter: str
    result: Result
    test_mse: float
    train_mse: float


def ista_grid_search(
    physics: Matrix, x: torch.Tensor, y: torch.Tensor, *, stopping: Stopping,
    low: float = 1e-3, high: float = 1e1, points: int = 13,
) -> LambdaSearch:
    """Pick the l1 weight on ``points`` log-spaced values in ``[low, high]`` by the MSE on (x, y)."""
    if not 0 < low < high or points < 2:
        raise ValueError(f"need 0 < low < high and points >= 2, got low={low}, high={high}, points={points}")
    lams = torch.logspace(math.log10(low), math.log10(high), points, dtype=torch.float64)
    errors = torch.tensor([mse(ista(physics, y, lam=float(lam), options=SolverOptions(stopping)).x, x) for lam in lams])
    return LambdaSearch(lams=lams, errors=errors, best_lam=float(lams[int(errors.argmin())]))


def feasible_sets(x_train: torch.Tensor) -> dict[str, Box | L2Ball]:
    """The box and the ball (centred at 0) that contain every training ground truth."""
    box = Box(lower=float(x_train.min()), upper=float(x_train.max()))
    ball = L2Ball(radius=float(torch.linalg.vector_norm(x_train, dim=1).max()))
    return {"box": box, "ball": ball}


def run_solvers(
    physics: Matrix, data_train: tuple[torch.Tensor, torch.Tensor], data_test: tuple[torch.Tensor, torch.Tensor],
    *, stopping: Stopping, lam_grid: tuple[float, float, int],
) -> tuple[LambdaSearch, dict[str, SolverRun]]:
    """ISTA with the grid-searched ``lam`` and PGD onto the box and the ball, on the test set.

    Test runs keep their iterates (``Result.iterates``) for the trajectory figure and the
    feasibility check.
    """
    (x_train, y_train), (x_test, y_test) = data_train, data_test
    low, high, points = lam_grid
    search = ista_grid_search(physics, x_train, y_train, stopping=stopping, low=low, high=high, points=points)
    runs: dict[str, SolverRun] = {}
    lam = search.best_lam
    result = ista(physics, y_test, lam=lam, options=SolverOptions(stopping, keep_iterates=True))
    train = ista(physics, y_train, lam=lam, options=SolverOptions(stopping)).x
    runs["ista"] = SolverRun("ista", "ISTA, l1 prior", f"lam={lam:.3g}", result, mse(result.x, x_test), mse(train, x_train))
    for kind, project in feasible_sets(x_train).items():
        result = projected_gradient(physics, y_test, project=project, options=SolverOptions(stopping, keep_iterates=True))
        train = projected_gradient(physics, y_train, project=project, options=SolverOptions(stopping)).x
        parameter = (f"[{project.lower:.3g}, {project.upper:.3g}]^2" if isinstance(project, Box)
                     else f"radius={project.radius:.3g}")
        runs[f"pgd_{kind}"] = SolverRun(
            f"pgd_{kind}", f"projected GD onto the {kind}", parameter, result, mse(result.x, x_test), mse(train, x_train),
        )
    return search, runs


def filled_history(result: Result, name: str) -> np.ndarray:
    """History column ``name`` (K, B) with each image's value carried forward after it stopped.

    The solvers record NaN for images that have already stopped; carrying the last value forward
    makes batch means over iterations meaningful (an image that converged keeps its final value).
    """
    array = np.array(result.history.columns()[name], dtype=np.float64, copy=True)
    for k in range(1, array.shape[0]):
        stopped = np.isnan(array[k])
        array[k, stopped] = array[k - 1, stopped]
    return array
