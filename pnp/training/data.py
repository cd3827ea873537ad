"""BSDS500 (or any folder of images) for denoiser training: find, decode once, crop on the fly.

The protocol of DESIGN.md: train on BSDS500 ``train`` + ``test`` (400 images), validate and test on
``val`` (100 images), never the other way round. Images are decoded once and kept in memory as
uint8 (about 180 MB for the 400 training images); each step crops random patches, applies a random
flip and 90-degree rotation (the 8 symmetries of the square), and the loop adds fresh noise.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

__all__ = ["DataError", "DataWarning", "ImageBank", "PatchSampler", "Splits", "find_bsds500", "image_files"]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"}

# Where the split folders live below the folder a user passes, for each layout we recognise:
# the official archive, deepinv's download (BSDS500-master), and a bare images/ folder.
_LAYOUTS = (
    Path("data/images"),
    Path("BSDS500/data/images"),
    Path("BSDS500-master/BSDS500/data/images"),
    Path("BSR/BSDS500/data/images"),
    Path("images"),
    Path("."),
)

EXPECTED_LAYOUT = (
    "expected BSDS500 as ROOT/data/images/{train,val,test}/*.jpg (the official layout), "
    "ROOT/BSDS500-master/BSDS500/data/images/... (deepinv's), or pass flat folders of images "
    "with --train-dir and --val-dir"
)


class DataError(ValueError):
    """The training data cannot be found or read; the message names the expected layout."""


class DataWarning(UserWarning):
    """Some training or validation images could not be read and were left out (named in the message)."""


def image_files(folder: Path) -> list[Path]:
    """The image files directly inside ``folder``, sorted by name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


@dataclass(frozen=True)
class Splits:
    """Training and validation image files."""

    train: tuple[Path, ...]
    val: tuple[Path, ...]

    @classmethod
    def from_folders(cls, train: Path, val: Path) -> "Splits":
        """Flat folders of images: every image in ``train`` trains, every one in ``val`` validates."""
        splits = cls(tuple(image_files(Path(train))), tuple(image_files(Path(val))))
        for name, folder, files in (("train", train, splits.train), ("val", val, splits.val)):
            if not files:
                raise DataError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in the {name} folder {folder}")
        return splits


def find_bsds500(root: str | Path) -> Splits:
    """Locate BSDS500 below ``root``: train = ``train`` + ``test`` (400), val = ``val`` (100)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}; {EXPECTED_LAYOUT}")
    for layout in _LAYOUTS:
        images = root / layout
        train = image_files(images / "train") + image_files(images / "test")
        val = image_files(images / "val")
        if train and val:
            return Splits(tuple(train), tuple(val))
    raise DataError(f"no BSDS500 split folders with images below {root}; {EXPECTED_LAYOUT}")


def _decode(path: Path, channels: int) -> torch.Tensor:
    try:
        with Image.open(path) as image:
            mode = "L" if channels == 1 else "RGB"
            array = np.asarray(image.convert(mode), dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(f"cannot read training image {path}: {error}") from error
    tensor = torch.from_numpy(array.copy())
    return tensor[None] if channels == 1 else tensor.permute(2, 0, 1).contiguous()


class ImageBank:
    """Images decoded once and kept as uint8 tensors (C, H, W) in memory."""

    def __init__(self, files: tuple[Path, ...] | list[Path], *, channels: int = 3) -> None:
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        if not files:
            raise DataError("no images to load")
        self.channels = channels
        decoded, self.skipped = [], []
        for file in files:
            try:
                decoded.append((Path(file), _decode(Path(file), channels)))
            except DataError as error:
                self.skipped.append((Path(file), str(error)))
        if not decoded:
            raise DataError(f"none of the {len(files)} images could be read; first: {self.skipped[0][1]}")
        if self.skipped:
            names = ", ".join(path.name for path, _ in self.skipped[:5]) + (" ..." if len(self.skipped) > 5 else "")
            warnings.warn(f"left out {len(self.skipped)} unreadable image(s) of {len(files)}: {names} "
                          f"({self.skipped[0][1]})", DataWarning, stacklevel=2)
        self.files = tuple(path for path, _ in decoded)
        self.images = [image for _, image in decoded]

    def __len__(self) -> int:
        return len(self.images)

    def image(self, index: int) -> torch.Tensor:
        """Image ``index`` as float (1, C, H, W) in [0, 1]."""
        return self.images[index][None].float() / 255

    @property
    def nbytes(self) -> int:
        return sum(image.numel() for image in self.images)


class PatchSampler:
    """Random ``patch`` x ``patch`` crops with a random symmetry of the square, drawn reproducibly.

    Each call draws ``batch`` image indices, crop corners and one of 8 symmetries from its own
    ``torch.Generator`` (saved and restored with :meth:`state_dict`, so a resumed run draws the same
    patches). With several processes, ``rank``/``world_size`` give each its own stream.
    """

    def __init__(self, bank: ImageBank, *, patch: int, seed: int, rank: int = 0) -> None:
        smallest = min(min(image.shape[-2:]) for image in bank.images)
        if not 1 <= patch <= smallest:
            raise ValueError(f"patch size must be in [1, {smallest}] (the smallest image side), got {patch}")
        self.bank, self.patch = bank, patch
        self.generator = torch.Generator().manual_seed(seed * 1_000_003 + rank)

    def _integer(self, high: int) -> int:
        return int(torch.randint(high, (1,), generator=self.generator))

    def __call__(self, batch: int) -> torch.Tensor:
        """A batch of clean patches, float (batch, C, patch, patch) in [0, 1]."""
        patches = []
        for _ in range(batch):
            image = self.bank.images[self._integer(len(self.bank))]
            top = self._integer(image.shape[-2] - self.patch + 1)
            left = self._integer(image.shape[-1] - self.patch + 1)
            crop = image[:, top : top + self.patch, left : left + self.patch]
            symmetry = self._integer(8)
            crop = torch.rot90(crop, symmetry % 4, dims=(-2, -1))
            if symmetry >= 4:
                crop = crop.flip(-1)
            patches.append(crop)
        return torch.stack(patches).float() / 255

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
