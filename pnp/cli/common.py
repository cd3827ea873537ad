"""Pieces shared by the image commands: inputs, outputs, models, devices, the summary line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    import torch

    from ..io import ImageData

__all__ = ["example_input", "load_model", "output_path", "read_input"]


def read_input(image: Path | None, example: bool) -> tuple[ImageData, str]:
    """The input image and a name for it: a file, or the built-in example with ``--example``.

    What reading changed (an EXIF rotation, a palette expanded, ...) is printed as ``note: ...`` lines."""
    if example:
        if image is not None:
            raise ValueError("give either an IMAGE or --example, not both")
        return example_input(), "astronaut (built-in example)"
    if image is None:
        raise ValueError("no input image: give IMAGE, or --example to run on a built-in image")
    from ..io import read_image

    data = read_image(image)
    for note in data.notes:
        typer.echo(f"note: {note}", err=True)
    return data, str(image)


def example_input() -> ImageData:
    from ..demo import builtin_image
    from ..io import ImageData

    return ImageData(builtin_image("astronaut"), None, 8)


def output_path(image: Path | None, out: Path | None, tag: str, *, example_name: str) -> Path:
    """``-o`` when given, else ``IMAGE_<tag>.<ext>`` next to the input. Whether it may be written
    (not an input, not a folder, ...) is :func:`pnp.cli.outputs.check_outputs`'s to say."""
    if out is None:
        out = Path(example_name) if image is None else image.with_name(f"{image.stem}_{tag}{image.suffix}")
    return out


def load_model(name: str, device: torch.device, sigma: float | None = None) -> torch.nn.Module:
    """A zoo denoiser by name (``euler``, ``dncnn``, ``tv``, ...) or from a checkpoint path, on ``device``.

    A family name (``euler``) takes the shipped weights trained at the noise level nearest ``sigma``.
    """
    from ..denoisers import load

    return load(name, sigma=sigma, nearest=sigma is not None).to(device).eval()
