"""Total-variation deconvolution under circular blur by ADMM, every linear solve one FFT division.

Solves ``min_x ½‖k ⊛ x − y‖² + λ Σ_p ‖(∇x)_p‖₂`` (isotropic TV per channel, forward differences
with periodic boundary) by ADMM on the splitting ``z = ∇x`` (as FTVd, Wang–Yang–Yin–Zhang 2008):

- ``x ← F⁻¹[(conj(V) F y + ρ F ∇ᵀ(z − u)) / (|V|² + ρ |D|²)]`` (``V``: DFT of the blur, ``|D|²``
  that of ``∇ᵀ∇``; exact because both are circulant),
- ``z ← shrink(∇x + u, λ/ρ)`` (group soft-thresholding of each pixel's gradient),
- ``u ← u + ∇x − z``,

with residual balancing of ρ (Boyd et al. 2011, §3.4.1). It reaches the TV minimiser far faster
than FISTA with an inner TV prox on full-size images, which is what makes a TV row on the full
protocol affordable on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..operators import Blur, Boundary

__all__ = ["TVResult", "tv_deconvolution"]


@dataclass(frozen=True)
class TVResult:
    x: torch.Tensor
    iterations: int
    converged: bool


def _grad(x: torch.Tensor) -> torch.Tensor:
    """Periodic forward differences, (B, C, H, W) -> (B, C, 2, H, W)."""
    return torch.stack((torch.roll(x, -1, -2) - x, torch.roll(x, -1, -1) - x), dim=2)


def _grad_adjoint(p: torch.Tensor) -> torch.Tensor:
    return (torch.roll(p[:, :, 0], 1, -2) - p[:, :, 0]) + (torch.roll(p[:, :, 1], 1, -1) - p[:, :, 1])


def _spectra(physics: Blur, height: int, width: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """DFTs of the blur and of ``∇ᵀ∇`` on an (height, width) grid."""
    impulse = like.new_zeros(1, 1, height, width)
    impulse[..., 0, 0] = 1.0
    laplacian = torch.fft.fft2(_grad_adjoint(_grad(impulse))).real
    return physics.transfer_function(height, width).to(like.device), laplacian


def tv_deconvolution(physics: Blur, y: torch.Tensor, weight: float, *, max_iter: int = 500, tol: float = 1e-5,
                     rho: float | None = None) -> TVResult:
    """The TV-regularised deconvolution of ``y`` (B, C, H, W) under the circular ``physics``.

    Stops when the relative change ``‖x_k − x_{k−1}‖ / ‖x_k‖`` falls below ``tol`` (``converged``)
    or after ``max_iter`` iterations. ``rho`` is the initial penalty (default ``10 λ``).
    """
    if physics.boundary is not Boundary.CIRCULAR:
        raise ValueError("tv_deconvolution needs circular blur (Blur(..., boundary='circular'))")
    if not weight > 0:
        raise ValueError(f"TV weight must be > 0, got {weight}")
    blur, laplacian = _spectra(physics, y.shape[-2], y.shape[-1], y)
    numerator_data = blur.conj() * torch.fft.fft2(y)
    rho = 10.0 * weight if rho is None else rho
    x = y.clone()
    z = _grad(x)
    u = torch.zeros_like(z)
    for iteration in range(1, max_iter + 1):
        spectrum = (numerator_data + rho * torch.fft.fft2(_grad_adjoint(z - u))) / (blur.abs() ** 2 + rho * laplacian)
        new_x = torch.fft.ifft2(spectrum).real
        change = float((new_x - x).norm() / new_x.norm().clamp_min(1e-12))
        x = new_x
        gradient = _grad(x)
        w = gradient + u
        magnitude = w.norm(dim=2, keepdim=True).clamp_min(1e-12)
        z_old, z = z, w * (1 - (weight / rho) / magnitude).clamp_min(0)
        u = w - z
        if change < tol:
            return TVResult(x, iteration, True)
        primal = float((gradient - z).norm())
        dual = rho * float(_grad_adjoint(z - z_old).norm())
        if primal > 10 * dual:
            rho, u = rho * 2, u / 2
        elif dual > 10 * primal:
            rho, u = rho / 2, u * 2
    return TVResult(x, max_iter, False)
