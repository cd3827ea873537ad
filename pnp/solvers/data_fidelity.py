"""The least-squares data term f(x) = 1/2 ||Ax - y||^2 and its step-size rule."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from deepinv.physics import LinearPhysics

__all__ = ["LeastSquares", "resolve_step"]


@dataclass(frozen=True)
class LeastSquares:
    """``f(x) = 1/2 ||A x - y||^2`` for a batch of measurements ``y`` (B, ...).

    ``grad f(x) = A^T (A x - y)`` is L-Lipschitz with ``L = ||A||^2``, so ``I - tau grad f`` is
    ``(tau L / 2)``-averaged for ``tau`` in ``(0, 2/L)``. Methods take the batch ``index`` of the
    images ``x`` belongs to, so that each image can stop on its own.

    The gradient is computed as ``A^T A x - A^T y`` with ``A^T y`` computed once and deepinv's
    ``A_adjoint_A`` (one FFT pair for a circular :class:`~pnp.operators.Blur`).
    """

    physics: LinearPhysics
    y: torch.Tensor
    adjoint_y: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "adjoint_y", self.physics.A_adjoint(self.y))

    def gradient(self, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self.physics.A_adjoint_A(x) - self.adjoint_y[index]

    def value(self, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Per-image value, shape (n,)."""
        return 0.5 * (self.physics.A(x) - self.y[index]).flatten(1).square().sum(dim=1)

    def initial_point(self, x0: torch.Tensor | None = None) -> torch.Tensor:
        """``x0`` checked against the shape of ``A^T y``, or ``A^T y`` itself when ``x0`` is None."""
        default = self.adjoint_y
        if x0 is None:
            return default
        if x0.shape != default.shape:
            raise ValueError(f"x0 has shape {tuple(x0.shape)}, expected {tuple(default.shape)}")
        return x0


def check_measurements(y: torch.Tensor) -> None:
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"y must be a torch.Tensor, got {type(y).__name__}")
    if y.ndim < 2:
        raise ValueError(f"y must be batched, shape (B, ...), got {tuple(y.shape)}")
    if not torch.isfinite(y).all():
        raise ValueError("y contains NaN or Inf values; clean the measurements first")


def resolve_step(
    physics: LinearPhysics,
    like: torch.Tensor,
    step: float | None,
    *,
    limit: float = 2.0,
    closed: bool = False,
    force: bool = False,
) -> float:
    """The gradient step tau: ``1/||A||^2`` by default, else ``step`` checked against ``limit/||A||^2``.

    ``||A||^2`` comes from ``physics.compute_sqnorm`` (closed form for this package's operators,
    the power method for any other deepinv physics). A step outside ``(0, limit/||A||^2)`` voids the
    convergence guarantee and raises ``ValueError`` unless ``force`` (``SolverOptions(force=True)``); with ``closed=True`` the
    end point ``limit/||A||^2`` itself is allowed (FISTA's ``tau <= 1/L``).
    """
    if step is not None and (not math.isfinite(step) or step <= 0):
        raise ValueError(f"step must be a positive number, got {step!r}")
    if like.shape[0] == 0:
        return 1.0 if step is None else float(step)
    lipschitz = float(physics.compute_sqnorm(like[:1], verbose=False))
    if not math.isfinite(lipschitz) or lipschitz <= 0:
        raise ValueError(f"could not compute ||A||^2 for this operator (got {lipschitz})")
    if step is None:
        return 1.0 / lipschitz
    bound = limit / lipschitz
    outside = step > bound or (step == bound and not closed)
    if outside and not force:
        raise ValueError(
            f"step {step:g} is outside (0, {bound:.6g}{']' if closed else ')'} = (0, {limit:g}/||A||^2) with ||A||^2 = "
            f"{lipschitz:.6g}: the convergence guarantee does not hold; pick a smaller step, "
            "or pass SolverOptions(force=True) (pnp: --force) to run anyway"
        )
    return float(step)
