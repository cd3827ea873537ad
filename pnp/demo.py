"""Built-in sharp images (shipped in scikit-image's wheel, so nothing is downloaded), for
``pnp deblur --example``, ``pnp denoise --example`` and quick benchmarks without BSDS500."""

from __future__ import annotations

import torch

from .io import to_tensor

__all__ = ["BUILTIN_IMAGES", "builtin_image"]

BUILTIN_IMAGES = ("astronaut", "camera", "coffee", "chelsea")


def builtin_image(name: str = "astronaut") -> torch.Tensor:
    """A scikit-image sample image (shipped in its wheel) as (1, C, H, W) in [0, 1]."""
    import skimage.data

    if name not in BUILTIN_IMAGES:
        raise ValueError(f"unknown built-in image {name!r}; choose one of {', '.join(BUILTIN_IMAGES)}")
    return to_tensor(getattr(skimage.data, name)())
