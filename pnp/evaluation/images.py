"""Benchmark images: a file read as (1, C, H, W) in [0, 1], optionally its central crop."""

from __future__ import annotations

from pathlib import Path

import torch

from ..io import read_image
from ..shapes import centre_crop

__all__ = ["load_crop"]


def load_crop(path: Path, size: int | None = None) -> torch.Tensor:
    """The image at ``path``, or its central ``size`` x ``size`` crop (clipped to the image)."""
    image = read_image(path).image
    if size is None:
        return image
    return centre_crop(image, size)
