"""Choosing where tensors live (``auto``, ``cpu``, ``cuda[:N]``) and in which arithmetic (:class:`Precision`)."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from .choices import Precision

__all__ = ["Precision", "precision", "resolve_device"]


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` picks CUDA when available; asking for ``cuda`` without a GPU is a clear error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")
        return torch.device(name if ":" in name else f"cuda:{local_rank}")
    if name != "cpu":
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda")
    return torch.device("cpu")


@contextlib.contextmanager
def precision(choice: Precision | str, device: torch.device) -> Iterator[None]:
    """Run the block in the arithmetic ``choice`` on ``device``; the global TF32 flags are restored after."""
    choice = Precision(choice)
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = choice is Precision.TF32
    try:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=choice is Precision.BF16):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
