"""Benchmark images: a file read as (1, C, H, W) in [0, 1], optionally its central crop."""

from __future__ import annotations

from pathlib import Path

import torch

from ..io import load_image

__all__ = ["load_crop"]


def load_crop(path: Path, size: int | None = None) -> torch.Tensor:
    """The image at ``path``, or its central ``size`` x ``size`` crop (clipped to the image)."""
    image = load_image(path)
    if size is None:
        return image
    top, left = max((image.shape[-2] - size) // 2, 0), max((image.shape[-1] - size) // 2, 0)
    return image[..., top : top + size, left : left + size]
