"""Denoising as a user meets it: a noisy image and a noise level -> a denoised image."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ..denoisers.adapters import ColourOnGrey
from ..metrics import before_after
from ..shapes import check_images

__all__ = ["Denoising", "denoise", "simulate_noise"]


@dataclass
class Denoising:
    """A finished denoising; ``metrics()`` needs the clean ``reference``."""

    noisy: torch.Tensor
    restored: torch.Tensor
    seconds: float
    reference: torch.Tensor | None = None

    def metrics(self) -> dict[str, float]:
        if self.reference is None:
            return {}
        return before_after(self.noisy, self.restored, self.reference)


def simulate_noise(clean: torch.Tensor, sigma: float, *, seed: int = 0) -> torch.Tensor:
    """``x + n``, ``n ~ N(0, sigma²)`` from ``torch.Generator().manual_seed(seed)`` (not clipped)."""
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed), dtype=clean.dtype)
    return clean + sigma * noise.to(clean.device)


def denoise(
    noisy: torch.Tensor, denoiser: torch.nn.Module, sigma: float, *, reference: torch.Tensor | None = None
) -> Denoising:
    """Apply ``denoiser(noisy, sigma)`` once to a (1, C, H, W) image (grey images via :class:`ColourOnGrey`)."""
    check_images(noisy, "the noisy image", channels=(1, 3), finite=True)
    start = time.perf_counter()
    with torch.inference_mode():
        restored = ColourOnGrey(denoiser)(noisy, sigma).clamp(0, 1)
    return Denoising(noisy, restored, time.perf_counter() - start, reference)
