"""Seeded data for the 2-D toy inverse problem ``y = A x + z``.

Ground truths lie on a circular arc ``x = center + radius (cos t, sin t)``, ``t ~ U[t0, t1]``, a
curved (non-convex) set, so that the best reconstruction map is *non-linear*: a linear map such as
Tikhonov cannot project noisy estimates back onto the arc, a network can. Measurements are
``y = A x + noise_level * n`` with ``n ~ N(0, I_2)`` and ``A = [[1+eps, 1], [1, 1+eps]]``.

Reproducibility: the training and the test sets come from independent ``torch.Generator`` streams
derived from ``seed``; the training set of size n is the first n pairs of a fixed pool of
``max(n, POOL)`` pairs, so the 20-pair set is contained in the 100-pair set, which is contained in
the 500-pair set, and the test set does not depend on the training size. Everything is float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..operators import Matrix, ill_conditioned_matrix

__all__ = ["POOL", "Arc", "ToyData", "make_data", "sample_arc", "seeded_generator"]

POOL = 500
"""Size of the training pool from which every training set is a prefix."""

_TRAIN_STREAM, _TEST_STREAM = 1, 2


def seeded_generator(seed: int, stream: int = 0) -> torch.Generator:
    """A CPU generator for the ``stream``-th independent random stream of ``seed`` (0 <= stream < 16)."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return torch.Generator().manual_seed(16 * seed + stream)


@dataclass(frozen=True)
class Arc:
    """The circular arc ``{center + radius (cos t, sin t) : t0 <= t <= t1}`` (angles in radians)."""

    radius: float = 1.0
    center: tuple[float, float] = (0.0, 0.0)
    t0: float = 0.0
    t1: float = math.pi

    def __post_init__(self) -> None:
        if not self.radius > 0:
            raise ValueError(f"arc radius must be positive, got {self.radius!r}")
        if not self.t0 < self.t1:
            raise ValueError(f"arc needs t0 < t1, got [{self.t0}, {self.t1}]")

    def points(self, angles: torch.Tensor) -> torch.Tensor:
        """Points (N, 2) of the arc at ``angles`` (N,)."""
        center = torch.tensor(self.center, dtype=angles.dtype)
        return center + self.radius * torch.stack((torch.cos(angles), torch.sin(angles)), dim=1)


def sample_arc(n: int, arc: Arc, *, generator: torch.Generator) -> torch.Tensor:
    """``n`` points (n, 2), float64, with angles uniform on ``[arc.t0, arc.t1]``."""
    angles = arc.t0 + (arc.t1 - arc.t0) * torch.rand(n, generator=generator, dtype=torch.float64)
    return arc.points(angles)


@dataclass(frozen=True)
class ToyData:
    """Training and test pairs, (N, 2) float64 each, and the operator that produced them."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    physics: Matrix
    noise_level: float
    arc: Arc


def _pairs(n: int, physics: Matrix, noise_level: float, arc: Arc, generator: torch.Generator):
    x = sample_arc(n, arc, generator=generator)
    noise = torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return x, physics.A(x) + noise_level * noise


def make_data(
    *,
    train_size: int = 100,
    test_size: int = 1000,
    noise_level: float = 0.1,
    eps: float = 0.25,
    arc: Arc = Arc(),
    seed: int = 0,
) -> ToyData:
    """Draw the seeded training and test sets of the toy problem (see the module docstring).

    Raises:
        ValueError: for a non-positive size, a negative noise level or a bad seed.
    """
    for name, size in (("train_size", train_size), ("test_size", test_size)):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"{name} must be a positive integer, got {size!r}")
    if not noise_level >= 0 or not math.isfinite(noise_level):
        raise ValueError(f"noise_level must be a non-negative number, got {noise_level!r}")
    physics = ill_conditioned_matrix(eps)
    physics.matrix = physics.matrix.double()
    x_pool, y_pool = _pairs(max(train_size, POOL), physics, noise_level, arc, seeded_generator(seed, _TRAIN_STREAM))
    x_test, y_test = _pairs(test_size, physics, noise_level, arc, seeded_generator(seed, _TEST_STREAM))
    return ToyData(
        x_train=x_pool[:train_size].clone(), y_train=y_pool[:train_size].clone(),
        x_test=x_test, y_test=y_test, physics=physics, noise_level=float(noise_level), arc=arc,
    )
