"""Errors at the image border of ``pnp deblur`` on real photos, for each prior border.

``pnp deblur IMAGE --kernel motion --simulate`` (reflect boundary, motion kernel of size 31 and
seed 0, noise ``--noise-level`` (0.01) seeded 0) on full BSDS500 images (``val`` by default; ``train`` to choose), with the default prior and each
``--prior-border`` (zeros, periodic, mirror; ``--extend`` adds to the table's earlier rows; ``--prior`` another
prior, a shipped name or a checkpoint, into a table of its own ``--name``). For each side, the worst mean absolute error over
the 20 outermost columns (rows), against the mean error inside (30 pixels in), in 1/255; and the
PSNR of the whole image and the seconds of the solve.

Usage:
    python benchmarks/border_band.py --data ../shared/datasets/BSDS500 --images 3096 12084 \
        --borders zeros periodic mirror --out benchmarks/results
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from pnp.choices import PriorBorder
from pnp.denoisers import load
from pnp.evaluation.tables import Table, earlier_rows, publish
from pnp.io import read_image
from pnp.metrics import psnr
from pnp.operators import kernels
from pnp.tasks import DeblurOptions, deblur, simulate_blur
from pnp.tasks.deblur import prior_noise_level
from pnp.training import find_bsds500

REPO = Path(__file__).resolve().parents[1]
SIDE = 20


def side_errors(restored: torch.Tensor, sharp: torch.Tensor) -> dict[str, float]:
    """Worst mean absolute error of the outermost ``SIDE`` columns/rows per side, and inside (1/255)."""
    error = (restored - sharp).abs()[0].mean(dim=0)  # (H, W)
    columns, rows = error.mean(dim=0), error.mean(dim=1)
    return {"left": float(columns[:SIDE].max()) * 255, "right": float(columns[-SIDE:].max()) * 255,
            "top": float(rows[:SIDE].max()) * 255, "bottom": float(rows[-SIDE:].max()) * 255,
            "inside": float(error[30:-30, 30:-30].mean()) * 255}


def restore(name: str, sharp: torch.Tensor, observed: torch.Tensor, kernel: torch.Tensor, prior, border: str,
            noise: float = 0.01) -> dict:
    """One row: ``pnp deblur``'s default solve with ``border`` at noise level ``noise``, scored against ``sharp``."""
    start = time.perf_counter()
    restoration = deblur(observed, kernel, prior, DeblurOptions(noise_level=noise, prior_border=PriorBorder(border)))
    return dict(image=name, border=border, psnr=float(psnr(restoration.restored, sharp)[0]),
                **side_errors(restoration.restored, sharp), iterations=restoration.result.iterations[0],
                seconds=time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="BSDS500 root")
    parser.add_argument("--split", choices=["val", "train"], default="val", help="BSDS500 split of --images")
    parser.add_argument("--images", nargs="+", default=["3096", "12084"], help="image names in --split")
    parser.add_argument("--name", default="border_band", help="table file name in --out")
    parser.add_argument("--borders", nargs="+", default=[b.value for b in PriorBorder],
                        choices=[b.value for b in PriorBorder])
    parser.add_argument("--prior", help="a shipped name or checkpoint path instead of pnp deblur's default prior")
    parser.add_argument("--noise-level", type=float, default=0.01,
                        help="noise of the simulated observation (the default prior is the one pnp deblur takes for it)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--extend", action="store_true",
                        help="keep the rows of an earlier run into the same table (same split, kernel and noise)")
    args = parser.parse_args()

    splits = find_bsds500(args.data)
    files = {path.stem: path for path in (splits.val if args.split == "val" else splits.train)}
    kernel = kernels.from_spec("motion", size=31, seed=0)
    noise = args.noise_level
    if not 0 < noise < 1:
        parser.error(f"--noise-level must lie in (0, 1), got {noise}")
    prior = (load("euler", sigma=prior_noise_level(noise), nearest=True) if args.prior is None else load(args.prior)).eval()
    which = f"default prior ({prior.card.name})" if args.prior is None else f"prior {args.prior}"
    table = Table("Errors at the border of pnp deblur --kernel motion --simulate, by prior border",
                  ["image", "border", "psnr", "left", "right", "top", "bottom", "inside", "iterations", "seconds"])
    table.notes += [
        f"Full BSDS500 {args.split} images; reflect boundary, motion kernel (size 31, seed 0), noise {noise:g} (seed 0), the "
        f"{which} and solver of pnp deblur. left/right/top/bottom: worst mean absolute "
        f"error (1/255) over the {SIDE} outermost columns/rows of that side; inside: mean beyond 30 pixels. "
        f"Seconds: the solve, one torch thread ({torch.get_num_threads()}), other jobs sharing the CPU.",
    ]
    if args.extend:
        table.rows, earlier = earlier_rows(args.out / f"{args.name}.json", table.notes[0])
        table.notes += [f"Rows kept from earlier runs: {earlier}"] if earlier else []
    done = {(row["image"], row["border"]) for row in table.rows}
    for name in args.images:
        sharp = read_image(files[name]).image
        observed = simulate_blur(sharp, kernel, boundary="reflect", noise_level=noise, seed=0)
        for border in args.borders:
            if (name, border) not in done:
                table.add(**restore(name, sharp, observed, kernel, prior, border, noise))
                publish(table, args.out, args.name)  # after every row: an interrupted run keeps its rows
    table.rows.sort(key=lambda row: (args.images.index(row["image"]) if row["image"] in args.images else len(args.images),
                                     [b.value for b in PriorBorder].index(row["border"])))
    publish(table, args.out, args.name)


if __name__ == "__main__":
    main()
