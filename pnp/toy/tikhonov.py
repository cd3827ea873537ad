"""Naive inversion and Tikhonov regularisation for a dense matrix, with their Lipschitz constants.

With the SVD ``A = U diag(s) V^T``, the Tikhonov reconstruction

    x_tau = (A^T A + tau I)^{-1} A^T y = V diag(s_i / (s_i^2 + tau)) U^T y

is linear in y, with operator norm (its Lipschitz constant)

    L(tau) = max_i s_i / (s_i^2 + tau),

defined for ``tau > -s_min^2`` (where ``A^T A + tau I`` is positive definite) and strictly
decreasing there, from +infinity to 0. ``L(0) = 1/s_min`` is the constant of the naive inverse.
Inverting: ``L(tau) <= L`` iff ``tau >= s_i/L - s_i^2`` for every i, so the unique tau with
``L(tau) = L`` is ``tau(L) = max_i (s_i/L - s_i^2)``; it is negative (an *anti*-regularised map,
noisier than the naive inverse) exactly when ``L > 1/s_min``.

Shapes: y and x are batches (B, n); matrices are (m, n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = [
    "GridSearch",
    "mse",
    "naive_inverse",
    "singular_values",
    "tau_for_lipschitz",
    "tikhonov",
    "tikhonov_grid_search",
    "tikhonov_lipschitz",
]


def mse(estimate: torch.Tensor, truth: torch.Tensor) -> float:
    """Mean squared error over all entries: ``mean((estimate - truth)^2)``."""
    if estimate.shape != truth.shape:
        raise ValueError(f"estimate {tuple(estimate.shape)} and truth {tuple(truth.shape)} differ in shape")
    return float((estimate - truth).square().mean())


def naive_inverse(matrix: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``A^{-1} y`` for a square invertible A, batch (B, n): noise along small singular values blows up."""
    return torch.linalg.solve(matrix.to(y.dtype), y.T).T


def singular_values(matrix: torch.Tensor) -> torch.Tensor:
    """Singular values of ``matrix`` in float64, descending."""
    return torch.linalg.svdvals(matrix.double())


def tikhonov(matrix: torch.Tensor, y: torch.Tensor, tau: float) -> torch.Tensor:
    """``(A^T A + tau I)^{-1} A^T y`` for y of shape (B, m), by the spectral filter ``s/(s^2 + tau)``.

    Raises:
        ValueError: when ``tau <= -s_min^2`` (the normal matrix is then not positive definite).
    """
    u, s, vh = torch.linalg.svd(matrix.double(), full_matrices=False)
    if not tau > -float(s.min()) ** 2:
        raise ValueError(f"tau must exceed -s_min^2 = {-float(s.min()) ** 2:.6g}, got {tau!r}")
    filtered = (y.double() @ u) * (s / (s.square() + tau))
    return (filtered @ vh).to(y.dtype)


def tikhonov_lipschitz(svals: torch.Tensor, tau: float | torch.Tensor) -> torch.Tensor:
    """``L(tau) = max_i s_i / (s_i^2 + tau)``; ``tau`` may be a tensor of values (returns its shape)."""
    tau = torch.as_tensor(tau, dtype=torch.float64)
    ratios = svals.double() / (svals.double().square() + tau.unsqueeze(-1))
    return ratios.max(dim=-1).values


def tau_for_lipschitz(svals: torch.Tensor, lipschitz: float) -> float:
    """The unique ``tau > -s_min^2`` with ``L(tau) = lipschitz``: ``max_i (s_i/L - s_i^2)``."""
    if not lipschitz > 0 or not math.isfinite(lipschitz):
        raise ValueError(f"lipschitz must be a positive number, got {lipschitz!r}")
    s = svals.double()
    return float((s / lipschitz - s.square()).max())


@dataclass(frozen=True)
class GridSearch:
    """Training MSE of ``tikhonov(A, y, tau)`` on a logarithmic grid; ``best_tau`` minimises it."""

    taus: torch.Tensor
    errors: torch.Tensor
    best_tau: float
    best_error: float


def tikhonov_grid_search(
    matrix: torch.Tensor, x: torch.Tensor, y: torch.Tensor, *, low: float = 1e-4, high: float = 1e2, points: int = 61
) -> GridSearch:
    """Pick tau on ``points`` log-spaced values in ``[low, high]`` by the MSE on the pairs (x, y)."""
    if not 0 < low < high or points < 2:
        raise ValueError(f"need 0 < low < high and points >= 2, got low={low}, high={high}, points={points}")
    taus = torch.logspace(math.log10(low), math.log10(high), points, dtype=torch.float64)
    errors = torch.tensor([mse(tikhonov(matrix, y, float(t)), x) for t in taus], dtype=torch.float64)
    best = int(errors.argmin())
    return GridSearch(taus=taus, errors=errors, best_tau=float(taus[best]), best_error=float(errors[best]))
