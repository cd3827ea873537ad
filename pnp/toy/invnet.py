"""InvNet_L: an L-Lipschitz reconstruction network built from non-expansive Euler blocks.

    InvNet_L(y) = c * P( Phi_depth( ... Phi_1( E y ) ) ),   y in R^2, output in R^2,

- ``E``: lift by zero-padding R^2 -> R^width (an isometry, ``||E y|| = ||y||``);
- ``Phi_k(x) = x - h_k W_k^T ReLU(W_k x + b_k)``, W_k of shape (width, width): the explicit Euler
  step of the gradient flow of the convex potential ``g_k(x) = 1^T gamma(W_k x + b_k)`` (gamma the
  antiderivative of ReLU, convex). ``grad g_k = W_k^T ReLU(W_k x + b_k)`` is ``||W_k||^2``-Lipschitz,
  so ``Phi_k = I - h_k grad g_k`` is ``(h_k ||W_k||^2 / 2)``-averaged, hence non-expansive, whenever
  ``h_k ||W_k||^2 < 2`` (Baillon-Haddad);
- ``P = E^T``: keep the first 2 coordinates (1-Lipschitz);
- ``c``: a learnable scalar, initialised at 1 and kept in ``[-L, L]`` (projected after every
  optimiser step and clamped in the forward pass; so it starts at ``min(1, L)``).

So ``||InvNet_L(y1) - InvNet_L(y2)|| <= |c| ||y1 - y2|| <= L ||y1 - y2||``.

Step rule: ``h_k = 2 (1 - delta) sigmoid(a_k) / ||W_k||^2`` with a learnable ``a_k``, so that
``h_k ||W_k||^2 = 2 (1 - delta) sigmoid(a_k) <= 2 (1 - delta)``. In training, ``||W_k||`` is the
estimate of a power iteration warm-started from a stored vector (one step per forward pass, like
``torch.nn.utils.spectral_norm``); a power iteration *under*-estimates the norm, so in evaluation
mode (``model.eval()``), and for every certificate, ``||W_k||`` is the exact spectral norm
(``torch.linalg.matrix_norm(W, 2)``, an SVD of the 10x10 matrix): the evaluated network satisfies the
bound with the exact norm, and :func:`certificate` reports it.
"""

from __future__ import annotations

import math
from typing import cast
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ToyCertificate", "DenseEulerBlock", "InvNet", "certificate", "empirical_lipschitz"]


class DenseEulerBlock(nn.Module):
    """``x -> x - h W^T ReLU(W x + b)`` on (B, width), non-expansive by the step rule above.

    Args:
        width: dimension of the state.
        generator: seeds the initial W (entries N(0, 1/width)) and b (N(0, 0.01)).
        delta: safety margin of the step rule, ``h ||W||^2 <= 2 (1 - delta)``.
    """

    weight: nn.Parameter
    power_vector: torch.Tensor

    def __init__(self, width: int, *, generator: torch.Generator, delta: float = 0.01) -> None:
        super().__init__()
        if not 0 < delta < 1:
            raise ValueError(f"delta must lie in (0, 1), got {delta!r}")
        self.delta = float(delta)
        weight = torch.randn(width, width, generator=generator, dtype=torch.float64) / math.sqrt(width)
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(0.1 * torch.randn(width, generator=generator, dtype=torch.float64))
        self.step_logit = nn.Parameter(torch.zeros((), dtype=torch.float64))
        vector = torch.randn(width, generator=generator, dtype=torch.float64)
        self.register_buffer("power_vector", vector / vector.norm())

    def exact_norm(self) -> torch.Tensor:
        """The spectral norm ``||W||_2`` (largest singular value), differentiable."""
        return torch.linalg.matrix_norm(self.weight, ord=2)

    def _power_norm(self) -> torch.Tensor:
        """One warm-started power step; returns ``u^T W v`` (differentiable in W, u and v fixed)."""
        with torch.no_grad():
            v = self.weight.T @ self.power_vector
            v = v / v.norm().clamp_min(1e-30)
            u = self.weight @ v
            u = u / u.norm().clamp_min(1e-30)
            self.power_vector.copy_(u)
        return u @ self.weight @ v

    def step_size(self) -> torch.Tensor:
        """``h = 2 (1 - delta) sigmoid(a) / ||W||^2``: power estimate in training, exact norm otherwise."""
        norm = self._power_norm() if self.training else self.exact_norm()
        return 2 * (1 - self.delta) * torch.sigmoid(self.step_logit) / norm.square().clamp_min(1e-30)

    def step_times_sqnorm(self) -> float:
        """``h ||W||^2``: the evaluation-mode step times the squared largest singular value of W
        (computed independently by ``svdvals``); a value < 2 certifies the block non-expansive."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return float(self.step_size() * torch.linalg.svdvals(self.weight)[0].square())
        finally:
            self.train(was_training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.step_size() * torch.relu(x @ self.weight.T + self.bias) @ self.weight


class InvNet(nn.Module):
    """``y -> c * P(Phi_depth(... Phi_1(E y)))``, L-Lipschitz (see the module docstring).

    Args:
        lipschitz: the bound L > 0; ``c`` is kept in ``[-L, L]``.
        generator: seeds every block.
        width, depth: lifted dimension (>= 2) and number of Euler blocks.
        delta: step-rule margin of the blocks.
        dim: dimension of y and of the output.
    """

    def __init__(
        self, lipschitz: float, *, generator: torch.Generator, width: int = 10, depth: int = 5,
        delta: float = 0.01, dim: int = 2,
    ) -> None:
        super().__init__()
        if not lipschitz > 0 or not math.isfinite(lipschitz):
            raise ValueError(f"lipschitz must be a positive number, got {lipschitz!r}")
        if width < dim or depth < 0:
            raise ValueError(f"need width >= {dim} and depth >= 0, got width={width}, depth={depth}")
        self.lipschitz, self.width, self.dim = float(lipschitz), width, dim
        self.blocks = nn.ModuleList(DenseEulerBlock(width, generator=generator, delta=delta) for _ in range(depth))
        self.scale = nn.Parameter(torch.ones((), dtype=torch.float64))
        self.clamp_scale()

    @property
    def euler_blocks(self) -> list[DenseEulerBlock]:
        """The blocks, typed (``self.blocks`` is the ``nn.ModuleList`` that registers them)."""
        return [cast(DenseEulerBlock, block) for block in self.blocks]

    @torch.no_grad()
    def clamp_scale(self) -> None:
        """Project ``c`` onto ``[-L, L]`` (called after every optimiser step)."""
        self.scale.clamp_(-self.lipschitz, self.lipschitz)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if y.ndim != 2 or y.shape[1] != self.dim:
            raise ValueError(f"y must have shape (B, {self.dim}), got {tuple(y.shape)}")
        x = nn.functional.pad(y.to(self.scale.dtype), (0, self.width - self.dim))
        for block in self.euler_blocks:
            x = block(x)
        return self.scale.clamp(-self.lipschitz, self.lipschitz) * x[:, : self.dim]


@dataclass(frozen=True)
class ToyCertificate:
    """Proof data for ``InvNet_L``: every block has ``h ||W||^2 < 2`` (exact norm), so the network
    is ``|c|``-Lipschitz; ``bound = |c| <= L`` when ``valid``."""

    lipschitz: float
    scale: float
    step_times_sqnorms: tuple[float, ...]

    @property
    def bound(self) -> float:
        return abs(self.scale)

    @property
    def valid(self) -> bool:
        return all(v < 2.0 for v in self.step_times_sqnorms) and self.bound <= self.lipschitz


def certificate(model: InvNet) -> ToyCertificate:
    """The Lipschitz certificate of ``model`` as evaluated in ``eval()`` mode (exact norms)."""
    with torch.no_grad():
        scale = float(model.scale.clamp(-model.lipschitz, model.lipschitz))
    return ToyCertificate(
        lipschitz=model.lipschitz, scale=scale,
        step_times_sqnorms=tuple(block.step_times_sqnorm() for block in model.euler_blocks),
    )


def empirical_lipschitz(
    fn, y: torch.Tensor, *, pairs: int = 4096, spread: float = 0.5, generator: torch.Generator
) -> float:
    """``max ||f(y1) - f(y2)|| / ||y1 - y2||`` over random pairs near the measurements ``y`` (N, d).

    Half the pairs are two independent points ``y_i + spread * n`` (far pairs), half are
    ``(y_i + spread * n, y_i + spread * n + 1e-3 * n')`` (near pairs, which probe the Jacobian).
    A lower bound on the true Lipschitz constant.
    """
    half = max(pairs // 2, 1)
    index = torch.randint(0, y.shape[0], (3, half), generator=generator)
    noise = torch.randn(4, half, y.shape[1], generator=generator, dtype=y.dtype)
    a = y[index[0]] + spread * noise[0]
    b = y[index[1]] + spread * noise[1]
    c = y[index[2]] + spread * noise[2]
    d = c + 1e-3 * noise[3]
    first, second = torch.cat((a, c)), torch.cat((b, d))
    with torch.no_grad():
        num = torch.linalg.vector_norm(fn(first) - fn(second), dim=1)
    den = torch.linalg.vector_norm(first - second, dim=1).clamp_min(1e-30)
    return float((num / den).max())
