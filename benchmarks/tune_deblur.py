"""Tune the regularisation of ``pnp deblur`` on BSDS500 *train* deblurring problems.

PnP-PGD's fixed point ``x = D(x - τ Aᵀ(Ax - y))`` balances data and prior through the step τ
(``τ‖A‖²`` in (0, 2) keeps the guarantee), the prior's level (which shipped net) and its strength
θ, and through what the prior sees past the border (:class:`pnp.choices.PriorBorder`). Each
configuration is scored by the mean PSNR of its fixed point on central crops of the first
``--images`` train images, under the standard protocol's kernels (circular blur, noise seeded per
image, kernel and level), with ``pnp deblur``'s solver (Tikhonov start, safeguarded Anderson,
tolerance 1e-5). The last column says whether the fixed point was worse than the best iterate on
the way. ``val`` is never touched.

Usage:
    python benchmarks/tune_deblur.py --data ../shared/datasets/BSDS500 --images 3 --crop 128 \
        --priors nearest --steps 0.5 1 1.5 --borders zeros \
        --out benchmarks/results
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import torch

from pnp.choices import PriorBorder
from pnp.denoisers import load, resolve
from pnp.evaluation.images import load_crop
from pnp.evaluation.protocol import KERNEL_NAMES, NOISE_LEVELS, noise_seed, protocol_kernel
from pnp.evaluation.tables import Table, earlier_rows, publish
from pnp.metrics import psnr
from pnp.operators import Blur, Boundary
from pnp.solvers import Stopping
from pnp.tasks.deblur import DeblurOptions, deblur, prior_noise_level
from pnp.training import find_bsds500

REPO = Path(__file__).resolve().parents[1]
NEAREST = "nearest"


def problems(files: list[Path], kernel_names: list[str], sigma: float, crop: int):
    """(name, sharp, kernel, observed, ‖A‖²) with the protocol's seeded noise and circular blur."""
    for path in files:
        sharp = load_crop(path, crop)
        for name in kernel_names:
            kernel = protocol_kernel(name)
            physics = Blur(kernel, boundary=Boundary.CIRCULAR)
            noise = torch.randn(sharp.shape, generator=torch.Generator().manual_seed(noise_seed(path.stem, name, sigma)))
            yield path.stem, sharp, kernel, physics.A(sharp) + sigma * noise, float(physics.compute_sqnorm(sharp))


def add_problem_arguments(parser: argparse.ArgumentParser, images: int) -> None:
    """The options that pick the train problems of :func:`problems` (shared by the tuning studies)."""
    parser.add_argument("--data", type=Path, required=True, help="BSDS500 root")
    parser.add_argument("--images", type=int, default=images, help="first N train images (sorted by name)")
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--kernels", nargs="+", default=["levin1", "levin4", "levin7", "box9", "gaussian25"],
                        choices=KERNEL_NAMES)
    parser.add_argument("--sigmas", type=float, nargs="+", default=list(NOISE_LEVELS))


def key(row: dict) -> tuple:
    """What identifies a configuration in the table."""
    return round(row["sigma"], 6), row["prior"], row["border"], float(row["step"]), float(row["strength"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_problem_arguments(parser, images=3)
    parser.add_argument("--priors", nargs="+", default=[NEAREST],
                        help=f"shipped names or checkpoint paths; {NEAREST!r}: the net pnp deblur takes at each level")
    parser.add_argument("--steps", type=float, nargs="+", default=[1.0], help="τ‖A‖², each in (0, 2)")
    parser.add_argument("--strengths", type=float, nargs="+", default=[1.0])
    parser.add_argument("--borders", nargs="+", default=[DeblurOptions().prior_border.value],
                        choices=[b.value for b in PriorBorder])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--name", default="deblur_tuning", help="table file name in --out")
    parser.add_argument("--extend", action="store_true",
                        help="keep the rows of an earlier run into the same table on the same problems")
    args = parser.parse_args()

    files = list(find_bsds500(args.data).train[: args.images])
    nets: dict[str, torch.nn.Module] = {}
    table = Table("Regularisation of pnp deblur, tuned on BSDS500 train problems",
                  ["sigma", "prior", "border", "step", "strength", "psnr", "best_iterate_psnr",
                   "fixed_point_below_best", "mean_iterations", "converged", "seconds"])
    table.notes += [
        f"Problems: the first {len(files)} BSDS500 train images ({', '.join(p.stem for p in files)}), central "
        f"{args.crop}x{args.crop} crops, kernels {', '.join(args.kernels)} (the standard protocol's), circular blur, "
        "noise seeded per image, kernel and level as in the protocol. pnp deblur's solver: Tikhonov start, "
        "safeguarded Anderson, relative-residual tolerance 1e-5, at most 500 iterations.",
        "step: τ‖A‖² (1 is the default τ = 1/‖A‖²); psnr: mean PSNR of the fixed point; best_iterate_psnr: mean of "
        "each run's best iterate on the way (hindsight, needs the sharp image); fixed_point_below_best: their mean "
        "gap. Seconds: the configuration's runs on this CPU, one torch thread, other jobs sharing it.",
    ]
    if args.extend:
        rows, earlier = earlier_rows(args.out / f"{args.name}.json", table.notes[0])
        table.rows = [{**row, "sigma": round(row["sigma"], 6)} for row in rows]
        table.notes += [f"Rows kept from earlier runs on the same problems: {earlier}"] if earlier else []
    done = {key(row) for row in table.rows}
    for sigma in args.sigmas:
        cases = list(problems(files, args.kernels, sigma, args.crop))
        for choice, border, step, strength in itertools.product(args.priors, args.borders, args.steps, args.strengths):
            prior = resolve("euler", prior_noise_level(sigma), nearest=True).stem if choice == NEAREST else choice
            if key(dict(sigma=sigma, prior=prior, border=border, step=step, strength=strength)) in done:
                continue
            if prior not in nets:
                nets[prior] = load(prior).eval()
            start, scores, peaks, iterations, converged = time.perf_counter(), [], [], [], 0
            for _, sharp, kernel, observed, sqnorm in cases:
                options = DeblurOptions(boundary=Boundary.CIRCULAR, noise_level=sigma, strength=strength, step=step / sqnorm,
                                        stopping=Stopping(500, 1e-5), prior_border=PriorBorder(border))
                with torch.inference_mode():
                    restoration = deblur(observed, kernel, nets[prior], options, reference=sharp)
                scores.append(float(psnr(restoration.restored, sharp)[0]))
                peaks.append(float(restoration.result.history.columns()["psnr"][:, 0].max()))
                iterations.append(restoration.result.iterations[0])
                converged += int(restoration.result.converged)
            row = dict(sigma=round(sigma, 6), prior=prior, border=border, step=step, strength=strength,
                       psnr=sum(scores) / len(scores), best_iterate_psnr=sum(peaks) / len(peaks),
                       fixed_point_below_best=sum(p - s for s, p in zip(scores, peaks)) / len(scores),
                       mean_iterations=sum(iterations) / len(iterations), converged=f"{converged}/{len(cases)}",
                       seconds=time.perf_counter() - start)
            table.add(**row)
            publish(table, args.out, args.name)  # after every configuration: an interrupted run keeps its rows


if __name__ == "__main__":
    main()
