"""Choose the training noise level of the default deblurring prior (issue #4), on *train* images only.

Each candidate denoiser (a checkpoint path or a shipped name) is scored as a PnP-PGD prior on the
deblurring protocol of DESIGN.md applied to BSDS500 ``train`` images: central crops, the 8 Levin
kernels, circular blur, noise sigma in {0.01, 0.03}, the solver of ``pnp deblur`` (Tikhonov start,
safeguarded Anderson, step 1/||A||^2, tolerance 1e-4), at strength theta in {0.5, 0.75, 1} (the
knob ``pnp deblur --strength``). It also times one call of each candidate on a 481x321 colour
image, since the prior's cost sets the speed of ``pnp deblur``. ``val`` is never touched.

Usage:
    python benchmarks/prior_sweep.py runs/euler24-s0.01/model.pt runs/euler24-s0.02/model.pt ... \
        --data ../shared/datasets/BSDS500 --images 3 --out benchmarks/results
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from pnp.evaluation import deblurring
from pnp.evaluation.speed import seconds_per_call
from pnp.evaluation.tables import Table, publish
from pnp.denoisers import load
from pnp.denoisers.adapters import Relaxed
from pnp.training import find_bsds500

REPO = Path(__file__).resolve().parents[1]


STRENGTHS = (0.5, 0.75, 1.0)
SIGMAS = (0.01, 0.03)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="+", help="checkpoint paths or shipped names")
    parser.add_argument("--data", type=Path, required=True, help="BSDS500 root")
    parser.add_argument("--images", type=int, default=3, help="first N train images")
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()

    files = find_bsds500(args.data).train[: args.images]
    table = Table("Deblurring-prior sweep on BSDS500 train problems",
                  ["candidate", "sigma_train", "substeps", "seconds_per_call_481x321",
                   *[f"psnr_sigma{s:g}" for s in SIGMAS], *[f"strength_sigma{s:g}" for s in SIGMAS],
                   "psnr_strength1_mean", "mean_iterations"])
    for candidate in args.candidates:
        model = load(candidate).eval()
        row = {"candidate": Path(candidate).parent.name if candidate.endswith(".pt") else candidate,
               "sigma_train": model.card.noise_level,
               "substeps": sum(model.substep_counts()) if hasattr(model, "substep_counts") else None,
               "seconds_per_call_481x321": seconds_per_call(model)}
        plain, iterations = [], []
        for sigma in SIGMAS:
            problems = deblurring.observations(files, range(1, 9), [sigma], crop=args.crop)
            best, grid = deblurring.tune(problems, lambda t: deblurring.pnp_method(Relaxed(model, t), 300, 1e-4),
                                         STRENGTHS)
            row[f"psnr_sigma{sigma:g}"], row[f"strength_sigma{sigma:g}"] = grid[best], best
            plain.append(grid[1.0])
            scores = [deblurring.score(p, deblurring.pnp_method(model, 300, 1e-4))
                      for p in problems[:4]]
            iterations += [s["iterations"] for s in scores]
            print(candidate, sigma, grid, flush=True)
        row["psnr_strength1_mean"] = sum(plain) / len(plain)
        row["mean_iterations"] = sum(iterations) / len(iterations)
        table.add(**row)
    table.notes += [
        f"Problems: the first {len(files)} BSDS500 train images ({', '.join(p.stem for p in files)}), central "
        f"{args.crop}x{args.crop} crops, Levin kernels 1-8, circular blur, sigma {SIGMAS}; PnP-PGD as pnp deblur "
        "(Tikhonov start, Anderson, tolerance 1e-4, at most 300 iterations).",
        f"psnr_sigmaS: mean PSNR at the best strength in {STRENGTHS} (strength_sigmaS); psnr_strength1_mean: "
        "mean over both sigma at strength 1 (the prior as shipped); mean_iterations: on 4 problems per sigma, "
        "strength 1. seconds_per_call_481x321: one call on a 481x321 colour image, torch threads "
        f"{torch.get_num_threads()} (other jobs may have shared the CPU).",
    ]
    publish(table, args.out, "prior_sweep")


if __name__ == "__main__":
    main()
