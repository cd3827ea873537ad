"""Choose the deblurring prior per image by Morozov's discrepancy principle, on BSDS500 *train* problems.

``pnp deblur`` takes the shipped Euler net trained nearest the data's noise level σ. On flat images
(sky) that prior is far too weak: its fixed point keeps the grain the deconvolution amplifies. The
discrepancy principle is the classical, parameter-free way to choose a regularisation per problem:
of the fixed points ``x_p`` of the priors ``p`` on offer, ordered from weakest to strongest, take the
strongest whose residual stays within the noise, ``‖A x_p − y‖ ≤ σ √N`` (N the number of values in
``y``); if none does, the weakest. Each fixed point keeps its own guarantee (each prior is certified),
so the choice costs solves, not convergence.

For every problem (central crops of the first ``--images`` train images, protocol kernels, circular
blur, the protocol's seeded noise, ``pnp deblur``'s solver) this solves with every shipped Euler
prior and records PSNR and ``‖A x − y‖ / (σ √N)``; the summary compares, per noise level, the
nearest-level rule, the discrepancy rule and the per-problem best prior in hindsight (an upper bound
that needs the sharp image). ``val`` is never touched.

Usage:
    python benchmarks/discrepancy_prior.py --data ../shared/datasets/BSDS500 --images 4 --crop 128 \
        --out benchmarks/results
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from pnp.choices import PriorBorder
from pnp.denoisers import available, load, resolve
from pnp.evaluation.tables import Provenance, Table, publish
from pnp.metrics import psnr
from pnp.operators import Blur, Boundary
from pnp.solvers import Stopping
from pnp.tasks.deblur import DeblurOptions, deblur, prior_noise_level
from pnp.tasks.prior_choice import discrepancy_ratio
from pnp.training import find_bsds500

from tune_deblur import add_problem_arguments, problems

REPO = Path(__file__).resolve().parents[1]


def discrepancy_choice(ratios: dict[str, float], order: list[str], limit: float = 1.0) -> str:
    """The strongest prior of ``order`` (weakest first) whose discrepancy ratio is at most ``limit``,
    else the weakest."""
    accepted = [name for name in order if ratios[name] <= limit]
    return accepted[-1] if accepted else order[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_problem_arguments(parser, images=4)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--name", default="discrepancy_prior", help="table file names in --out")
    args = parser.parse_args()

    files = list(find_bsds500(args.data).train[: args.images])
    order = sorted((n for n in available() if n.startswith("euler-sigma")), key=lambda n: float(n.split("sigma")[1]))
    nets = {name: load(name).eval() for name in order}
    runs = Table("Every prior on every problem: PSNR and discrepancy of the fixed point",
                 ["image", "kernel", "sigma", "prior", "psnr", "discrepancy_ratio", "iterations", "converged", "seconds"])
    summary = Table("Choosing the deblurring prior per problem by the discrepancy principle (BSDS500 train)",
                    ["sigma", "problems", "rule", "psnr", "gain_over_nearest", "picks_best", "priors_chosen"])
    described = (f"Problems: the first {len(files)} BSDS500 train images ({', '.join(p.stem for p in files)}), central "
                 f"{args.crop}x{args.crop} crops, kernels {', '.join(args.kernels)} (the standard protocol's), circular "
                 "blur, noise seeded per image, kernel and level as in the protocol; pnp deblur's solver (Tikhonov start, "
                 "safeguarded Anderson, tolerance 1e-5, at most 500 iterations, prior border auto), strength 1, step "
                 f"1/‖A‖². Priors: {', '.join(order)}.")
    runs.notes.append(described + " discrepancy_ratio: ‖A x − y‖ / (σ √N) at the fixed point x.")
    summary.notes += [described,
                      "nearest: the shipped rule (the net trained nearest σ); discrepancy: the strongest prior whose "
                      "fixed point has ‖A x − y‖ ≤ σ √N, else the weakest; best in hindsight: each problem's best prior "
                      "(needs the sharp image; an upper bound for any choice among these nets). picks_best: problems "
                      "where the rule's prior is the hindsight best.",
                      "Seconds (per run, in the runs table): one torch thread, other jobs sharing the CPU."]
    for sigma in args.sigmas:
        nearest = resolve("euler", prior_noise_level(sigma), nearest=True).stem
        chosen: dict[str, list[tuple[str, float, bool]]] = {"nearest": [], "discrepancy": [], "best in hindsight": []}
        count = 0
        cases = ((kernel_name, case) for path in files for kernel_name in args.kernels
                 for case in problems([path], [kernel_name], sigma, args.crop))
        for kernel_name, (image, sharp, kernel, observed, _) in cases:
            physics = Blur(kernel, boundary=Boundary.CIRCULAR)
            scores, ratios = {}, {}
            for name in order:
                start = time.perf_counter()
                options = DeblurOptions(boundary=Boundary.CIRCULAR, noise_level=sigma, stopping=Stopping(500, 1e-5),
                                        prior_border=PriorBorder.AUTO)
                with torch.inference_mode():
                    restoration = deblur(observed, kernel, nets[name], options, reference=sharp)
                scores[name] = float(psnr(restoration.restored, sharp)[0])
                ratios[name] = discrepancy_ratio(physics, observed, restoration.restored, sigma)
                runs.add(image=image, kernel=kernel_name, sigma=round(sigma, 6), prior=name,
                         psnr=scores[name], discrepancy_ratio=ratios[name], iterations=restoration.result.iterations[0],
                         converged=restoration.result.converged, seconds=time.perf_counter() - start)
            best = max(order, key=scores.__getitem__)
            for rule, name in (("nearest", nearest), ("discrepancy", discrepancy_choice(ratios, order)),
                               ("best in hindsight", best)):
                chosen[rule].append((name, scores[name], name == best))
            count += 1
            runs.write(args.out, f"{args.name}_runs", Provenance.of_script(), markdown=False)  # an interrupted run keeps its rows
        base = sum(score for _, score, _ in chosen["nearest"]) / count
        for rule, picks in chosen.items():
            mean = sum(score for _, score, _ in picks) / count
            names = sorted({name for name, _, _ in picks})
            summary.add(sigma=round(sigma, 6), problems=count, rule=rule, psnr=mean, gain_over_nearest=mean - base,
                        picks_best=f"{sum(hit for _, _, hit in picks)}/{count}",
                        priors_chosen=", ".join(f"{n.split('sigma')[1]}×{sum(p == n for p, _, _ in picks)}" for n in names))
        publish(summary, args.out, args.name)


if __name__ == "__main__":
    main()
