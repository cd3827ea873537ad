"""Dense matrix operator on batches of vectors, and the 2x2 ill-conditioned toy matrix."""

from __future__ import annotations

import math

import torch
from deepinv.physics import LinearPhysics
from deepinv.physics.noise import NoiseModel, ZeroNoise

__all__ = ["Matrix", "ill_conditioned_matrix"]


class Matrix(LinearPhysics):
    """``A x = M x`` for a dense matrix ``M`` of shape (m, n), acting on batches (B, n) -> (B, m).

    Closed forms: ``||A||^2 = lambda_max(M^T M)``; the prox of ``(gamma/2)||Ax - y||^2`` at ``z`` is
    ``(I + gamma M^T M)^{-1} (z + gamma M^T y)``; the pseudo-inverse is ``M^+ y``.

    Args:
        matrix: (m, n) real matrix; finite entries.
        noise_model: deepinv noise model used by ``physics(x)``; noiseless by default.
    """

    def __init__(self, matrix: torch.Tensor, *, noise_model: NoiseModel | None = None) -> None:
        super().__init__(noise_model=noise_model if noise_model is not None else ZeroNoise())
        matrix = torch.as_tensor(matrix)
        if matrix.ndim != 2 or matrix.numel() == 0:
            raise ValueError(f"matrix must be a non-empty 2-D tensor, got shape {tuple(matrix.shape)}")
        if not torch.isfinite(matrix).all():
            raise ValueError("matrix contains NaN or Inf entries")
        self.register_buffer("matrix", matrix.to(torch.get_default_dtype()))

    def _cast(self, like: torch.Tensor) -> torch.Tensor:
        return self.matrix.to(device=like.device, dtype=like.dtype)

    def _check(self, v: torch.Tensor, size: int, argument: str) -> None:
        if v.ndim != 2 or v.shape[1] != size:
            raise ValueError(f"{argument} must have shape (B, {size}), got {tuple(v.shape)}")

    def A(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """``M x`` for x of shape (B, n)."""
        self._check(x, self.matrix.shape[1], "x")
        return x @ self._cast(x).T

    def A_adjoint(self, y: torch.Tensor, **kwargs) -> torch.Tensor:
        """``M^T y`` for y of shape (B, m)."""
        self._check(y, self.matrix.shape[0], "y")
        return y @ self._cast(y)

    def compute_sqnorm(self, x0: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        """``||M||_2^2``, the largest eigenvalue of ``M^T M`` (exact)."""
        return torch.linalg.matrix_norm(self.matrix.double(), ord=2).square().to(self.matrix.dtype)

    def prox_l2(self, z: torch.Tensor, y: torch.Tensor, gamma: float, **kwargs) -> torch.Tensor:
        """``argmin_x (gamma/2)||Mx - y||^2 + (1/2)||x - z||^2`` in closed form."""
        m = self._cast(z)
        system = torch.eye(m.shape[1], dtype=z.dtype, device=z.device) + gamma * m.T @ m
        rhs = z + gamma * self.A_adjoint(y)
        return torch.linalg.solve(system, rhs.T).T

    def A_dagger(self, y: torch.Tensor, **kwargs) -> torch.Tensor:
        """Moore-Penrose pseudo-inverse ``M^+ y``."""
        self._check(y, self.matrix.shape[0], "y")
        return y @ torch.linalg.pinv(self._cast(y)).T

    def extra_repr(self) -> str:
        return f"shape={tuple(self.matrix.shape)}"


def ill_conditioned_matrix(eps: float = 0.25, *, noise_model: NoiseModel | None = None) -> Matrix:
    """The toy operator ``A = [[1+eps, 1], [1, 1+eps]]``.

    Symmetric with eigenvectors (1, 1)/sqrt(2) and (1, -1)/sqrt(2), eigenvalues ``2 + eps`` and
    ``eps``, so ``||A||^2 = (2 + eps)^2`` and the condition number is ``1 + 2/eps`` (9 for the
    default ``eps = 1/4``): inverting it amplifies noise along (1, -1) by ``1/eps``.
    """
    if not eps > 0 or not math.isfinite(eps):
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    matrix = torch.tensor([[1.0 + eps, 1.0], [1.0, 1.0 + eps]], dtype=torch.float64)
    return Matrix(matrix.to(torch.get_default_dtype()), noise_model=noise_model)
