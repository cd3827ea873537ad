"""One noise-conditioned Euler net against the shipped per-level nets (issue #18, point 2).

For each shipped level σ of ``euler-sigma<σ>``, the first N BSDS500 ``val`` images (full size) with
the noise of the denoising table (:func:`pnp.evaluation.denoising.noisy_copy`, the same draws for
both nets) are denoised by the per-level net and by the conditioned net called with that σ.

Usage:
    python benchmarks/noise_conditioned.py runs/campaign/ms2222-nc/model.pt --data ../shared/datasets/BSDS500 \
        --images 5 --out benchmarks/results
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from pnp.denoisers import available, load
from pnp.evaluation.denoising import noisy_copy
from pnp.evaluation.tables import Table, publish
from pnp.io import read_image
from pnp.metrics import psnr
from pnp.training import find_bsds500

REPO = Path(__file__).resolve().parents[1]


def mean_psnr(model, images: list[torch.Tensor], sigma: float) -> float:
    """Mean PSNR (peak 1) of ``model(noisy, sigma)`` clipped to [0, 1] over ``images``."""
    values = []
    with torch.inference_mode():
        for index, clean in enumerate(images):
            values.append(float(psnr(model(noisy_copy(clean, sigma, index), sigma).clamp(0, 1), clean)[0]))
    return sum(values) / len(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("conditioned", help="checkpoint of the noise-conditioned net")
    parser.add_argument("--data", type=Path, required=True, help="BSDS500 root")
    parser.add_argument("--images", type=int, default=5, help="first N val images")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()

    conditioned = load(args.conditioned).eval()
    images = [read_image(path).image for path in find_bsds500(args.data).val[: args.images]]
    levels = sorted(float(name.split("sigma")[1]) for name in available() if name.startswith("euler-sigma"))
    card = conditioned.metadata
    table = Table("One noise-conditioned Euler net against the shipped per-level nets",
                  ["sigma", "per_level_net", "per_level_psnr", "conditioned_psnr", "difference"])
    table.notes += [
        f"The first {len(images)} BSDS500 val images, full size; noise of the denoising table (seeded by image and "
        f"level, the same draws for both nets); PSNR of the output clipped to [0, 1]. Conditioned net: "
        f"{args.conditioned} (architecture {card.get('architecture')}, trained on sigma in {card.get('noise_range')}, "
        f"{card.get('steps')} steps, best step {card.get('best_step')}, {card.get('seconds', 0):.0f} s).",
    ]
    for sigma in levels:
        name = f"euler-sigma{sigma:g}"
        per_level = mean_psnr(load(name).eval(), images, sigma)
        mine = mean_psnr(conditioned, images, sigma)
        table.add(sigma=sigma, per_level_net=name, per_level_psnr=per_level, conditioned_psnr=mine,
                  difference=mine - per_level)
    publish(table, args.out, "noise_conditioned")


if __name__ == "__main__":
    main()
