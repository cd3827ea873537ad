"""The field's standard deblurring protocol (DPIR, GS-PnP, Prox-PnP), so our numbers sit beside theirs.

- Images: CBSD68, the 68 BSDS500 ``val`` images of the colour Berkeley test set
  (:data:`CBSD68_IDS`), or its 10-image subset CBSD10 (:data:`CBSD10_IDS`, the images GS-PnP's code
  evaluates on), at full size (481×321 or 321×481).
- Kernels, in this order: the 8 motion kernels of Levin et al. (2009), a 9×9 uniform kernel and a
  25×25 Gaussian of standard deviation 1.6 (:data:`KERNEL_NAMES`).
- Circular convolution ``y = k ⊛ x + n``, ``n ~ N(0, σ²)`` with σ ∈ {2.55/255, 7.65/255}
  (:data:`NOISE_LEVELS`), drawn from a generator seeded by (image, kernel, σ) alone
  (:func:`noise_seed`), so a run is reproducible whatever else is being run.
- Scores: PSNR with peak 1 over the whole image (no border crop) and SSIM, of the estimate
  clipped to [0, 1].
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import torch

from ..choices import ImageSet
from ..operators import Blur, Boundary, kernels
from .images import load_crop

__all__ = ["CBSD10_IDS", "CBSD68_IDS", "ImageSet", "KERNEL_NAMES", "NOISE_LEVELS", "Problem", "image_files", "image_stems",
           "noise_seed", "problems", "protocol_kernel"]

CBSD10_IDS = ("3096", "12084", "14037", "16077", "19021", "21077", "24077", "33039", "101085", "101087")
"""The CBSD10 images, in the order of their file names in GS-PnP's ``CBSD10`` folder."""

CBSD68_IDS = frozenset("""
101085 101087 102061 103070 105025 106024 108005 108070 108082 109053 119082 12084 123074 126007
130026 134035 14037 143090 145086 147091 148026 148089 157055 159008 160068 16077 163085 167062
167083 170057 175032 175043 182053 189080 19021 196073 197017 208001 210088 21077 216081 219090
220075 223061 227092 229036 236037 24077 241004 241048 253027 253055 260058 271035 285079 291000
295087 296007 296059 299086 300091 302008 304034 304074 306005 3096 33039 351093
""".split())
"""The 68 BSDS500 ``val`` file names (stems) of CBSD68."""

KERNEL_NAMES = tuple(f"levin{i}" for i in range(1, 9)) + ("box9", "gaussian25")
NOISE_LEVELS = (2.55 / 255, 7.65 / 255)


def image_stems(image_set: ImageSet) -> list[str]:
    """The file stems of an image set, CBSD10 in GS-PnP's order, CBSD68 by number."""
    return list(CBSD10_IDS) if ImageSet(image_set) is ImageSet.CBSD10 else sorted(CBSD68_IDS, key=int)


def protocol_kernel(name: str) -> torch.Tensor:
    """One of :data:`KERNEL_NAMES` as a normalised 2-D tensor."""
    if name not in KERNEL_NAMES:
        raise ValueError(f"unknown protocol kernel {name!r}; choose from {', '.join(KERNEL_NAMES)}")
    if name.startswith("levin"):
        return kernels.levin(int(name[5:]))
    if name == "box9":
        return kernels.box(9)
    return kernels.gaussian(1.6, size=25)


def image_files(val_files: Sequence[Path], image_set: ImageSet) -> list[Path]:
    """The files of ``image_set`` among BSDS500's ``val`` files, in the set's order."""
    by_stem = {Path(path).stem: Path(path) for path in val_files}
    missing = [stem for stem in image_stems(image_set) if stem not in by_stem]
    if missing:
        raise ValueError(f"BSDS500 val lacks {len(missing)} {image_set.value.upper()} image(s) "
                         f"({', '.join(missing[:3])}...); pass --data with a complete BSDS500")
    return [by_stem[stem] for stem in image_stems(image_set)]


def noise_seed(image: str, kernel: str, sigma: float) -> int:
    """A seed that depends on (image, kernel, σ) only."""
    return zlib.crc32(f"{image}/{kernel}/{sigma:.6f}".encode())


@dataclass(frozen=True)
class Problem:
    """One deblurring problem of the protocol: sharp image, kernel, noise level, observation."""

    image: str
    kernel: str
    sigma: float
    sharp: torch.Tensor
    physics: Blur
    observed: torch.Tensor

    @property
    def key(self) -> tuple[str, str, float]:
        return self.image, self.kernel, round(self.sigma, 6)


def problems(files: Sequence[Path], kernel_names: Sequence[str], sigmas: Sequence[float], *,
             crop: int | None = None) -> Iterator[Problem]:
    """Yield the problems image by image, kernel by kernel, level by level (lazily: one image in memory)."""
    for path in files:
        sharp = load_crop(path, crop)
        for name in kernel_names:
            physics = Blur(protocol_kernel(name), boundary=Boundary.CIRCULAR)
            clean = physics.A(sharp)
            for sigma in sigmas:
                generator = torch.Generator().manual_seed(noise_seed(path.stem, name, sigma))
                noise = torch.randn(sharp.shape, generator=generator)
                yield Problem(path.stem, name, sigma, sharp, physics, clean + sigma * noise)
