"""Image input/output with Pillow: tensors (1, C, H, W) in [0, 1]; atomic writes."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .shapes import check_images

__all__ = [
    "ImageData",
    "ImageError",
    "atomic_write_bytes",
    "read_image",
    "to_tensor",
    "to_uint8",
    "write_image",
]


class ImageError(ValueError):
    """An image that cannot be read or written; the message names the file and the fix."""


if os.environ.get("PNP_MAX_PIXELS", "").isdigit():  # Pillow refuses images over twice this many pixels
    Image.MAX_IMAGE_PIXELS = int(os.environ["PNP_MAX_PIXELS"]) // 2


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


@dataclass(frozen=True)
class ImageData:
    """An image file's content: colour/grey pixels, the alpha channel kept aside, the bit depth.

    ``image`` is (1, C, H, W) float32 in [0, 1] with C = 1 (grey) or 3 (RGB); ``alpha`` is
    (1, 1, H, W) or None; ``bit_depth`` is 8, 16 or 32 (float; what :func:`write_image` should write
    back). ``notes`` say in words what reading changed that writing will not undo (an EXIF rotation
    applied, a palette expanded, frames after the first left out, float values clipped); the CLI
    prints them.
    """

    image: torch.Tensor
    alpha: torch.Tensor | None = None
    bit_depth: int = 8
    notes: tuple[str, ...] = ()


def _png_bit_depth(path: Path) -> int:
    with path.open("rb") as stream:
        header = stream.read(26)
    return header[24] if header[:8] == b"\x89PNG\r\n\x1a\n" and len(header) >= 25 else 8


def _read_png16(path: Path) -> np.ndarray:
    import png

    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    planes = info["planes"]
    array = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, planes)
    return array[..., 0] if planes == 1 else array


def _read_array(path: Path) -> tuple[np.ndarray, list[str]]:
    """Pixels as (H, W) or (H, W, C) with C in {2, 3, 4}; uint8, uint16 or float; and notes on what changed."""
    suffix = path.suffix.lower()
    if suffix == ".png" and _png_bit_depth(path) == 16:
        return _read_png16(path), []
    if suffix in {".tif", ".tiff"}:
        import tifffile

        try:
            return np.asarray(tifffile.imread(path)), []
        except Exception:  # not a TIFF tifffile can read: let Pillow try
            pass
    notes = []
    with Image.open(path) as opened:
        frames = getattr(opened, "n_frames", 1)
        if frames > 1:
            notes.append(f"{path.name} has {frames} frames; only the first is read and written")
        opened.load()
        image: Image.Image = opened
        orientation = image.getexif().get(0x0112, 1)
        if orientation not in (1, None):
            image = ImageOps.exif_transpose(image)
            notes.append(f"EXIF orientation {orientation} applied: the result is stored upright, without the tag")
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
            notes.append(f"palette image: processed and written as {image.mode}")
        elif image.mode in {"1", "CMYK", "YCbCr", "LAB", "HSV"}:
            notes.append(f"{image.mode} image: processed and written as {'grey' if image.mode == '1' else 'RGB'}")
            image = image.convert("L" if image.mode == "1" else "RGB")
        elif image.mode in {"I", "I;16", "I;16B", "I;16L"}:
            return np.asarray(image).astype(np.uint16), notes
        return np.asarray(image), notes


def read_image(path: str | Path) -> ImageData:
    """Read PNG/JPEG/TIFF/... (8- or 16-bit or float; grey, grey+alpha, RGB, RGBA) into :class:`ImageData`.

    Float pixels are clipped to [0, 1] (the scale every solver assumes), with a note when any lay outside."""
    path = Path(path)
    if path.is_dir():
        raise ImageError(f"{path} is a folder; give an image file")
    if not path.is_file():
        raise ImageError(f"image not found: {path}")
    try:
        array, notes = _read_array(path)
    except Image.DecompressionBombError:
        raise ImageError(f"{path} has more pixels than the limit of {2 * (Image.MAX_IMAGE_PIXELS or 0)}; to read "
                         "it anyway, set the environment variable PNP_MAX_PIXELS to a larger pixel count (memory "
                         "grows with it)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise ImageError(f"cannot read {path} as an image ({error}); give a PNG, JPEG or TIFF file") from None
    if array.ndim == 3 and array.shape[-1] > 4 or array.ndim not in (2, 3) or array.size == 0:
        raise ImageError(f"{path} has an unsupported pixel layout {array.shape}; give a grey, RGB or RGBA image")
    bit_depth = {"u": 16 if array.dtype == np.uint16 else 8, "f": 32}.get(array.dtype.kind, 8)
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ImageError(f"{path} contains NaN or Inf pixels; fix the file")
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 1:
            notes.append(f"float pixels from {low:.4g} to {high:.4g} clipped to [0, 1] (the scale of every solver)")
        array = np.clip(array, 0, 1)
    tensor = to_tensor(array)
    alpha = None
    if tensor.shape[1] in (2, 4):
        tensor, alpha = tensor[:, :-1], tensor[:, -1:]
    return ImageData(tensor.contiguous(), alpha, bit_depth, tuple(notes))


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _to_integer(image: torch.Tensor, bit_depth: int) -> np.ndarray:
    if bit_depth == 32:  # float pixels, written as float32
        array = image[0].detach().float().clamp(0, 1).cpu().numpy().transpose(1, 2, 0)
        return array[..., 0] if array.shape[2] == 1 else array
    peak = 65535 if bit_depth == 16 else 255
    array = image[0].detach().float().clamp(0, 1).mul(peak).round().cpu().numpy()
    array = array.astype(np.uint16 if bit_depth == 16 else np.uint8).transpose(1, 2, 0)
    return array[..., 0] if array.shape[2] == 1 else array


def _encode(array: np.ndarray, path: Path, bit_depth: int) -> bytes:
    import io

    buffer = io.BytesIO()
    suffix = path.suffix.lower()
    if array.dtype == np.float32 and suffix in {".tif", ".tiff"}:
        import tifffile

        tifffile.imwrite(buffer, array)
        return buffer.getvalue()
    if array.dtype == np.float32:  # formats without float pixels: 16 bits for PNG, 8 otherwise
        array, bit_depth = np.round(array * 65535).astype(np.uint16), 16
    if bit_depth == 16 and suffix == ".png":
        import png

        height, width = array.shape[:2]
        planes = 1 if array.ndim == 2 else array.shape[2]
        writer = png.Writer(width, height, greyscale=planes <= 2, alpha=planes in (2, 4), bitdepth=16)
        writer.write(buffer, array.reshape(height, width * planes).tolist())
    elif bit_depth == 16 and suffix in {".tif", ".tiff"}:
        import tifffile

        tifffile.imwrite(buffer, array)
    else:
        if array.dtype == np.uint16:  # formats without 16-bit support (JPEG, ...) get 8 bits
            array = np.round(array / 257).astype(np.uint8)
        fmt = Image.registered_extensions().get(suffix)
        if fmt is None:
            raise ImageError(f"cannot write {path}: unknown image format {path.suffix!r}; use .png, .jpg or .tif")
        image = Image.fromarray(array)
        if fmt == "JPEG" and image.mode in {"LA", "RGBA"}:
            image = image.convert("RGB" if image.mode == "RGBA" else "L")
        image.save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def write_image(path: str | Path, image: torch.Tensor, *, bit_depth: int = 8, alpha: torch.Tensor | None = None) -> None:
    """Write (1, C, H, W) in [0, 1] (plus an optional (1, 1, H, W) alpha) atomically.

    ``bit_depth`` 16 is honoured for PNG and TIFF, 32 (float32 pixels) for TIFF (PNG gets 16 bits);
    other formats are written with 8 bits.
    """
    path = Path(path)
    if image.ndim == 3:
        image = image[None]
    check_images(image, "image", channels=(1, 3), single=True, floating=False)
    if alpha is not None:
        image = torch.cat([image, alpha.to(image)], dim=1)
    try:
        data = _encode(_to_integer(image, bit_depth), path, bit_depth)
    except (KeyError, ValueError, OSError) as error:
        if isinstance(error, ImageError):
            raise
        raise ImageError(f"cannot write {path}: {error}") from error
    atomic_write_bytes(path, data)
