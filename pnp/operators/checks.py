"""Numerical checks that users can run on any linear operator, theirs included."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from deepinv.physics import LinearPhysics

__all__ = ["AdjointCheck", "check_adjoint"]


@dataclass(frozen=True)
class AdjointCheck:
    """Outcome of :func:`check_adjoint`.

    Attributes:
        inner_product_error: max over trials of ``|<Ax, y> - <x, A^T y>| / (||A|| ||x|| ||y||)``.
        autograd_error: max over trials of ``||A^T y - J_A^T y|| / (||A|| ||y||)``, where
            ``J_A^T y`` is the vector-Jacobian product computed by autograd through ``A``.
        operator_norm: the ``||A||`` used to normalise (square root of ``compute_sqnorm``).
        tolerance: the threshold both errors are compared with.
    """

    inner_product_error: float
    autograd_error: float
    operator_norm: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return max(self.inner_product_error, self.autograd_error) <= self.tolerance


def check_adjoint(
    physics: LinearPhysics,
    x_shape: tuple[int, ...],
    *,
    trials: int = 3,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
    tolerance: float | None = None,
    generator: torch.Generator | None = None,
) -> AdjointCheck:
    """Check that ``physics.A_adjoint`` is the adjoint of ``physics.A`` on inputs of ``x_shape``.

    The inner-product error is normalised as in ODL, ``|<Ax,y> - <x,A^T y>| / (||A|| ||x|| ||y||)``,
    which is scale-free and of the order of the dtype's precision for a correct adjoint. The
    adjoint is also compared with autograd's vector-Jacobian product of ``A``.

    Args:
        physics: any deepinv ``LinearPhysics``.
        x_shape: shape of an input, batch dimension included, e.g. (2, 3, 37, 31).
        trials: number of random (x, y) pairs.
        dtype, device: where to run the check (float64 by default, to resolve small errors).
        tolerance: pass threshold (default ``1e3 * eps(dtype)``).
        generator: seeded ``torch.Generator`` for reproducible draws.
    """
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    tolerance = tolerance if tolerance is not None else 1e3 * torch.finfo(dtype).eps
    x_probe = torch.zeros(x_shape, dtype=dtype, device=device)
    y_shape = physics.A(x_probe).shape
    norm = float(physics.compute_sqnorm(x_probe, verbose=False).sqrt())
    inner_errors, autograd_errors = [], []
    for _ in range(trials):
        x = torch.randn(x_shape, generator=generator, dtype=dtype).to(device)
        y = torch.randn(y_shape, generator=generator, dtype=dtype).to(device)
        lhs = torch.vdot(physics.A(x).flatten(), y.flatten())
        adjoint_y = physics.A_adjoint(y)
        rhs = torch.vdot(x.flatten(), adjoint_y.flatten())
        scale = norm * torch.linalg.vector_norm(x) * torch.linalg.vector_norm(y)
        inner_errors.append(float(torch.abs(lhs - rhs) / scale))
        vjp = torch.func.vjp(physics.A, x)[1]
        autograd_y = vjp(y)[0]
        difference = torch.linalg.vector_norm(adjoint_y - autograd_y)
        autograd_errors.append(float(difference / (norm * torch.linalg.vector_norm(y))))
    return AdjointCheck(max(inner_errors), max(autograd_errors), norm, tolerance)
