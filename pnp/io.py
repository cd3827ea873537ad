"""Image input/output with Pillow: tensors (1, C, H, W) in [0, 1]; atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

__all__ = ["ImageError", "atomic_write_bytes", "load_image", "save_image", "to_tensor", "to_uint8"]


class ImageError(ValueError):
    """An image that cannot be read or written; the message names the file and the fix."""


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, C) uint8/uint16/float array -> float32 tensor (1, C, H, W) in [0, 1]."""
    if array.dtype == np.uint8:
        scaled = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        scaled = array.astype(np.float32) / 65535.0
    else:
        scaled = array.astype(np.float32)
    if scaled.ndim == 2:
        scaled = scaled[..., None]
    return torch.from_numpy(np.ascontiguousarray(scaled.transpose(2, 0, 1)))[None]


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) or (C, H, W) tensor in [0, 1] -> (H, W) or (H, W, C) uint8 array (clipped)."""
    if image.ndim == 4:
        if image.shape[0] != 1:
            raise ValueError(f"expected a single image, got a batch of {image.shape[0]}")
        image = image[0]
    array = image.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()
    array = array.transpose(1, 2, 0)
    return array[..., 0] if array.shape[2] == 1 else array


def load_image(path: str | Path) -> torch.Tensor:
    """Read a grayscale or RGB image file as (1, C, H, W) float32 in [0, 1] (C = 1 or 3)."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"image not found: {path}")
    try:
        with Image.open(path) as image:
            image.load()
            converted = image.convert("L") if image.mode in {"L", "I;16", "I", "1"} else image.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise ImageError(f"cannot read {path} as an image ({error}); give a PNG, JPEG or TIFF file") from None
    return to_tensor(np.asarray(converted))


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_image(image: torch.Tensor, path: str | Path) -> None:
    """Save a (1, C, H, W) or (C, H, W) tensor in [0, 1] as an 8-bit image, atomically.

    The format follows the suffix of ``path`` (PNG, JPEG, TIFF, ...).
    """
    import io

    path = Path(path)
    buffer = io.BytesIO()
    try:
        Image.fromarray(to_uint8(image)).save(buffer, format=Image.registered_extensions().get(path.suffix.lower()))
    except (KeyError, ValueError) as error:
        raise ImageError(f"cannot write {path}: unknown image format {path.suffix!r}; use .png") from error
    atomic_write_bytes(path, buffer.getvalue())
