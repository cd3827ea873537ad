"""Benchmark 1: Gaussian denoising on BSDS500 ``val`` (DESIGN.md §5).

For every image and noise level the noisy input is drawn once, from a generator seeded by the
image index and the level, and every method sees that same input. PSNR has peak 1; SSIM is the
Gaussian-window SSIM of :mod:`pnp.metrics`; time is the wall time of the denoiser call.

Besides the means over all images, :func:`denoising_tables` keeps every per-image score, so a
subset (CBSD68, :data:`pnp.evaluation.protocol.CBSD68_IDS`) is a selection of rows, not a second
run, and rows of an earlier run of the same protocol (``previous``) are kept: only the missing
(image, level, method, weights) scores are computed, so a method can be added to a finished table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import torch

from ..metrics import psnr, ssim
from .images import load_crop
from .protocol import CBSD68_IDS
from .tables import Table

__all__ = ["CBSD68_IDS", "DenoiseMethod", "DenoisingTables", "denoising_tables", "noisy_copy"]

DenoiseMethod = Callable[[torch.Tensor, float], torch.Tensor]
"""``method(noisy, sigma) -> denoised`` on (1, C, H, W)."""

NOISY = "noisy input"


@dataclass(frozen=True)
class Method:
    """A denoiser under test: what it is (``name``), which weights it runs (``weights``) and a
    fingerprint of those weights (``fingerprint``, e.g. a file hash; an earlier row is reused only
    when its fingerprint is the same, so retrained weights under an old name are scored again)."""

    name: str
    weights: str
    run: DenoiseMethod
    fingerprint: str = ""


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
    previous: list[dict] | None = None,
    on_image: Callable[[Table], None] | None = None,
) -> DenoisingTables:
    """Score every method of ``methods[sigma]`` on every image at every noise level ``sigma``.

    Returns the mean PSNR, SSIM and seconds per image over all ``files`` (``summary``), over the
    files whose stem is in :data:`CBSD68_IDS` (``cbsd68``), and the per-image scores (``per_image``).
    ``previous`` rows (same protocol) are kept and not recomputed; ``on_image(per_image)`` is called
    after every image that needed work (to save progress).
    """
    where = f"{len(files)} images{f', central {crop}x{crop} crops' if crop else ''}"
    columns = ["sigma", "method", "weights", "psnr", "ssim", "seconds_per_image", "images"]
    per_image = Table(f"Denoising, BSDS500 val ({where}): per-image scores",
                      ["image", "sigma", "method", "weights", "psnr", "ssim", "seconds", "weights_sha"])
    current = {(m.name, m.weights): m.fingerprint for chosen in methods.values() for m in chosen}
    kept = {(r["image"], r["sigma"], r["method"], r["weights"]): r for r in previous or []
            if current.get((r["method"], r["weights"]), r.get("weights_sha", "")) == r.get("weights_sha", "")}
    per_image.rows = list(kept.values())
    stems = [path.stem for path in files]
    for sigma, chosen in methods.items():
        for index, path in enumerate(files):
            stem = path.stem
            missing = [m for m in chosen if (stem, sigma, m.name, m.weights) not in kept]
            if not missing and (stem, sigma, NOISY, "") in kept:
                continue
            clean = load_crop(path, crop)
            noisy = noisy_copy(clean, sigma, index)
            if (stem, sigma, NOISY, "") not in kept:
                value_psnr, value_ssim = _score(noisy.clamp(0, 1), clean)
                per_image.add(image=stem, sigma=sigma, method=NOISY, weights="", psnr=value_psnr, ssim=value_ssim,
                              seconds=0.0)
            for method in missing:
                start = time.perf_counter()
                with torch.inference_mode():
                    restored = method.run(noisy.to(device), sigma).float().clamp(0, 1).cpu()
                seconds = time.perf_counter() - start
                value_psnr, value_ssim = _score(restored, clean)
                per_image.add(image=stem, sigma=sigma, method=method.name, weights=method.weights, psnr=value_psnr,
                              ssim=value_ssim, seconds=seconds, weights_sha=method.fingerprint)
            if progress is not None:
                progress(f"sigma {sigma}: image {index + 1}/{len(files)} ({stem})")
            if on_image is not None:
                on_image(per_image)
    summary = _means(per_image, f"Denoising, BSDS500 val ({where})", columns, lambda stem: True)
    subset = [stem for stem in stems if stem in CBSD68_IDS]
    cbsd68 = _means(per_image, f"Denoising, CBSD68 subset of BSDS500 val ({len(subset)} of the {where})", columns,
                    lambda stem: stem in CBSD68_IDS)
    return DenoisingTables(summary, cbsd68, per_image)


def _means(per_image: Table, title: str, columns: list[str], keep: Callable[[str], bool]) -> Table:
    """Mean of every (sigma, method, weights) group of ``per_image`` over the images ``keep`` accepts, by
    increasing sigma (methods in their order of first appearance: a method re-scored later stays with its level)."""
    table = Table(title, columns)
    groups: dict[tuple, list[dict]] = {}
    for row in per_image.rows:
        if keep(row["image"]):
            groups.setdefault((row["sigma"], row["method"], row["weights"]), []).append(row)
    for (sigma, method, weights), rows in sorted(groups.items(), key=lambda group: group[0][0]):
        count = len(rows)
        table.add(sigma=sigma, method=method, weights=weights, psnr=sum(r["psnr"] for r in rows) / count,
                  ssim=sum(r["ssim"] for r in rows) / count,
                  seconds_per_image=sum(r["seconds"] for r in rows) / count, images=count)
    return table
