"""Benchmark 1: Gaussian denoising on BSDS500 ``val`` (DESIGN.md §5).

For every image and noise level the noisy input is drawn once, from a generator seeded by the
image index and the level, and every method sees that same input. PSNR has peak 1; SSIM is the
Gaussian-window SSIM of :mod:`pnp.metrics`; time is the wall time of the denoiser call.

Besides the means over all images, :func:`denoising_tables` keeps every per-image score, so a
subset (CBSD68, :data:`CBSD68_IDS`) is a selection of rows, not a second run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import torch

from ..metrics import psnr, ssim
from .images import load_crop
from .tables import Table

__all__ = ["CBSD68_IDS", "DenoiseMethod", "DenoisingTables", "denoising_tables", "noisy_copy"]

DenoiseMethod = Callable[[torch.Tensor, float], torch.Tensor]
"""``method(noisy, sigma) -> denoised`` on (1, C, H, W)."""

CBSD68_IDS = frozenset("""
101085 101087 103070 105025 106024 108005 108070 108082 109053 119082 12084 123074 126007 130026
134035 14037 143090 145086 147091 148026 148089 157055 159008 160068 16077 163085 167062 167083
170057 175032 175043 182053 189080 19021 196073 197017 208001 210088 21077 216081 219090 220075
223061 227092 229036 236037 24077 241004 241048 253027 253055 260058 271035 285079 291000 295087
296007 296059 299086 300091 302008 304034 304074 306005 3096 33039 351093
""".split())
"""BSDS500 ``val`` file names (stems) of the CBSD68 test set as far as they could be identified:
67 of its 68 images, read off the file names of a public copy of CBSD68 (``testsets/CBSD68`` of the
IRCNN repository). The 68th could not be identified offline, so the "CBSD68" rows average these 67."""

NOISY = "noisy input"


@dataclass(frozen=True)
class Method:
    """A denoiser under test: what it is (``name``) and which weights it runs (``weights``)."""

    name: str
    weights: str
    run: DenoiseMethod


@dataclass
class DenoisingTables:
    """Means over all images, means over the CBSD68 subset, and every per-image score."""

    summary: Table
    cbsd68: Table
    per_image: Table


def noisy_copy(clean: torch.Tensor, sigma: float, image_index: int) -> torch.Tensor:
    """``clean + sigma * n`` with ``n`` seeded by (image index, sigma): identical for every method."""
    seed = 1_000_003 * image_index + round(sigma * 10_000)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))
    return clean + sigma * noise


def _score(restored: torch.Tensor, clean: torch.Tensor) -> tuple[float, float]:
    return float(psnr(restored, clean)[0]), float(ssim(restored, clean)[0])


def denoising_tables(
    files: list[Path],
    methods: Mapping[float, list[Method]],
    *,
    crop: int | None = None,
    device: torch.device = torch.device("cpu"),
    progress: Callable[[str], None] | None = None,
) -> DenoisingTables:
    """Score every method of ``methods[sigma]`` on every image at every noise level ``sigma``.

    Returns the mean PSNR, SSIM and seconds per image over all ``files`` (``summary``), over the
    files whose stem is in :data:`CBSD68_IDS` (``cbsd68``), and the per-image scores (``per_image``).
    """
    where = f"{len(files)} images{f', central {crop}x{crop} crops' if crop else ''}"
    columns = ["sigma", "method", "weights", "psnr", "ssim", "seconds_per_image", "images"]
    per_image = Table(f"Denoising, BSDS500 val ({where}): per-image scores",
                      ["image", "sigma", "method", "weights", "psnr", "ssim", "seconds"])
    images = [(path.stem, load_crop(path, crop)) for path in files]
    for sigma, chosen in methods.items():
        for index, (stem, clean) in enumerate(images):
            noisy = noisy_copy(clean, sigma, index)
            value_psnr, value_ssim = _score(noisy.clamp(0, 1), clean)
            per_image.add(image=stem, sigma=sigma, method=NOISY, weights="", psnr=value_psnr, ssim=value_ssim,
                          seconds=0.0)
            for method in chosen:
                start = time.perf_counter()
                with torch.inference_mode():
                    restored = method.run(noisy.to(device), sigma).float().clamp(0, 1).cpu()
                seconds = time.perf_counter() - start
                value_psnr, value_ssim = _score(restored, clean)
                per_image.add(image=stem, sigma=sigma, method=method.name, weights=method.weights, psnr=value_psnr,
                              ssim=value_ssim, seconds=seconds)
            if progress is not None:
                progress(f"sigma {sigma}: image {index + 1}/{len(images)} ({stem})")
    summary = _means(per_image, f"Denoising, BSDS500 val ({where})", columns, lambda stem: True)
    subset = [stem for stem, _ in images if stem in CBSD68_IDS]
    cbsd68 = _means(per_image, f"Denoising, CBSD68 subset of BSDS500 val ({len(subset)} of the {where})", columns,
                    lambda stem: stem in CBSD68_IDS)
    return DenoisingTables(summary, cbsd68, per_image)


def _means(per_image: Table, title: str, columns: list[str], keep: Callable[[str], bool]) -> Table:
    """Mean of every (sigma, method, weights) group of ``per_image`` over the images ``keep`` accepts."""
    table = Table(title, columns)
    groups: dict[tuple, list[dict]] = {}
    for row in per_image.rows:
        if keep(row["image"]):
            groups.setdefault((row["sigma"], row["method"], row["weights"]), []).append(row)
    for (sigma, method, weights), rows in groups.items():
        count = len(rows)
        table.add(sigma=sigma, method=method, weights=weights, psnr=sum(r["psnr"] for r in rows) / count,
                  ssim=sum(r["ssim"] for r in rows) / count,
                  seconds_per_image=sum(r["seconds"] for r in rows) / count, images=count)
    return table
