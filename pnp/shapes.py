"""One check for "a batch of images", used by every denoiser, operator, task and writer.

Images are float tensors of shape (B, C, H, W); a function that takes one image asks for B = 1,
and one that takes colour or grey asks for C in (1, 3). The message names the argument and what
was given, so a user sees which input was wrong.
"""

from __future__ import annotations

from typing import Iterable

import torch

__all__ = ["centre_crop", "check_images"]


def check_images(
    x: object, name: str = "x", *, channels: int | Iterable[int] | None = None, single: bool = False,
    floating: bool = True, finite: bool = False,
) -> None:
    """Raise ``ValueError`` unless ``x`` is a (B, C, H, W) tensor meeting the requirements.

    Args:
        x: the candidate.
        name: how the message calls it ("the observed image", "x", ...).
        channels: the channel count C required (an int, or the allowed counts).
        single: require B = 1.
        floating: require a floating-point dtype.
        finite: refuse NaN and Inf values (a full pass over the data).
    """
    batch = "1" if single else "B"
    allowed = None if channels is None else ((channels,) if isinstance(channels, int) else tuple(channels))
    wanted = f"({batch}, C, H, W)" + ("" if allowed is None else f" with C = {' or '.join(map(str, allowed))}")
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or (single and x.shape[0] != 1):
        raise ValueError(f"{name} must be a tensor of shape {wanted}, got {tuple(getattr(x, 'shape', ())) or type(x).__name__}")
    if allowed is not None and x.shape[1] not in allowed:
        raise ValueError(f"{name} has {x.shape[1]} channels, expected {' or '.join(map(str, allowed))} "
                         f"(shape {wanted})")
    if floating and not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if finite and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf values")


def centre_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size`` x ``size`` window of ``x`` (..., H, W), clipped to the image (a view)."""
    top, left = max((x.shape[-2] - size) // 2, 0), max((x.shape[-1] - size) // 2, 0)
    return x[..., top : top + size, left : left + size]
