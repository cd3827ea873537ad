"""Euclidean projections onto simple closed convex sets, for :func:`pnp.solvers.projected_gradient`.

A projection is any callable ``x -> P_C(x)`` acting on a batch (B, ...) image by image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Box", "L2Ball"]


@dataclass(frozen=True)
class Box:
    """``C = {x : lower <= x <= upper}`` element-wise; ``P_C(x) = clamp(x, lower, upper)``."""

    lower: float = 0.0
    upper: float = 1.0

    def __post_init__(self) -> None:
        if not self.lower <= self.upper:
            raise ValueError(f"Box needs lower <= upper, got [{self.lower}, {self.upper}]")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(self.lower, self.upper)

    def contains(self, x: torch.Tensor, atol: float = 0.0) -> torch.Tensor:
        """Per-image membership, shape (B,)."""
        inside = (x >= self.lower - atol) & (x <= self.upper + atol)
        return inside.flatten(1).all(dim=1)


@dataclass(frozen=True)
class L2Ball:
    """``C = {x : ||x - center|| <= radius}`` per image (norm over all non-batch dims).

    ``P_C(x) = center + (x - center) * min(1, radius / ||x - center||)``. ``center`` is a scalar or a
    tensor broadcastable to one sample.
    """

    radius: float
    center: float | torch.Tensor = 0.0

    def __post_init__(self) -> None:
        if not self.radius >= 0:
            raise ValueError(f"L2Ball radius must be >= 0, got {self.radius}")

    def _offset(self, x: torch.Tensor) -> torch.Tensor:
        return x - torch.as_tensor(self.center, dtype=x.dtype, device=x.device)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        offset = self._offset(x)
        norms = torch.linalg.vector_norm(offset.flatten(1), dim=1)
        scale = (self.radius / norms.clamp_min(torch.finfo(x.dtype).tiny)).clamp(max=1.0)
        return x - offset + offset * scale.view(-1, *([1] * (x.ndim - 1)))

    def contains(self, x: torch.Tensor, atol: float = 0.0) -> torch.Tensor:
        """Per-image membership, shape (B,)."""
        return torch.linalg.vector_norm(self._offset(x).flatten(1), dim=1) <= self.radius + atol
