"""Benchmark 1: Gaussian denoising on BSDS500 ``val`` (DESIGN.md §5).

For every image and noise level the noisy input is drawn once, from a generator seeded by the
image index and the level, and every method sees that same input. PSNR has peak 1; SSIM is the
Gaussian-window SSIM of :mod:`pnp.metrics`; time is the wall time of the denoiser call.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import torch

from ..metrics import psnr, ssim
from .images import load_crop
from .tables import Table

__all__ = ["DenoiseMethod", "denoising_table", "noisy_copy"]

DenoiseMethod = Callable[[torch.Tensor, float], torch.Tensor]
"""``method(noisy, sigma) -> denoised`` on (1, C, H, W)."""


def noisy_copy(clean: torch.Tensor, sigma: float, image_index: int) -> torch.Tensor:
    """``clean + sigma * n`` with ``n`` seeded by (image index, sigma): identical for every method."""
    seed = 1_000_003 * image_index + round(sigma * 10_000)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))
    return clean + sigma * noise


def denoising_table(
    files: list[Path],
    sigmas: list[float],
    methods: dict[str, DenoiseMethod],
    *,
    crop: int | None = None,
    device: torch.device = torch.device("cpu"),
) -> Table:
    """Mean PSNR, SSIM and seconds per image of every method at every noise level."""
    table = Table(
        f"Denoising, BSDS500 val ({len(files)} images{f', central {crop}x{crop} crops' if crop else ''})",
        ["sigma", "method", "psnr", "ssim", "seconds_per_image", "images"],
    )
    images = [load_crop(path, crop) for path in files]
    for sigma in sigmas:
        scores: dict[str, list[tuple[float, float, float]]] = {"noisy input": [], **{name: [] for name in methods}}
        for index, clean in enumerate(images):
            noisy = noisy_copy(clean, sigma, index)
            scores["noisy input"].append((float(psnr(noisy.clamp(0, 1), clean)[0]), float(ssim(noisy.clamp(0, 1), clean)[0]), 0.0))
            for name, method in methods.items():
                start = time.perf_counter()
                with torch.inference_mode():
                    restored = method(noisy.to(device), sigma).float().clamp(0, 1).cpu()
                seconds = time.perf_counter() - start
                scores[name].append((float(psnr(restored, clean)[0]), float(ssim(restored, clean)[0]), seconds))
        for name, values in scores.items():
            count = len(values)
            table.add(sigma=sigma, method=name, psnr=sum(v[0] for v in values) / count,
                      ssim=sum(v[1] for v in values) / count, seconds_per_image=sum(v[2] for v in values) / count,
                      images=count)
    return table
