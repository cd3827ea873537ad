"""What a shortcut of the discrepancy search costs and saves, on BSDS500 *train* problems.

``pnp deblur --prior-choice discrepancy`` decides on trials solved to 10x the final tolerance and
continues only the chosen prior's trial to the final tolerance (:mod:`pnp.tasks.prior_choice`).
For every problem (central crops of the first ``--images`` train images, protocol kernels, circular
blur, the protocol's seeded noise, ``pnp deblur``'s solver and final tolerance 1e-5) this runs the
search twice: the baseline (trials at 10x the final tolerance, each from ``pnp deblur``'s start)
and a variant, ``--variant full`` (every trial solved fully: ``search_tolerance`` = the final
tolerance; the baseline is the shortcut here) or ``--variant warm`` (each trial after the first
started where the previous one stopped: ``warm_start=True``). It records both choices, the largest
difference between their trials' discrepancy ratios, the PSNR of both results, the largest pixel
difference between them and the iterations each took (all solves). ``val`` is never touched.

Usage:
    python benchmarks/discrepancy_search.py --data ../shared/datasets/BSDS500 --images 2 --crop 128 \
        --kernels levin1 levin4 --out benchmarks/results
    python benchmarks/discrepancy_search.py --variant warm ... (table discrepancy_search_warm)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pnp.denoisers import load
from pnp.evaluation.tables import Table, publish
from pnp.metrics import psnr
from pnp.operators import Boundary
from pnp.tasks.deblur import DeblurOptions
from pnp.tasks.prior_choice import deblur_by_discrepancy, family_from_nearest
from pnp.training import find_bsds500

from tune_deblur import add_problem_arguments, problems

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_problem_arguments(parser, images=2)
    parser.add_argument("--variant", choices=["full", "warm"], default="full",
                        help="full: every trial solved to the final tolerance; warm: trials warm-started")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    kind = args.variant
    name = "discrepancy_search" if kind == "full" else f"discrepancy_search_{kind}"
    title = {"full": "trials at 10x the final tolerance against every trial solved fully",
             "warm": "trials from pnp deblur's start against trials warm-started from the previous one"}[kind]

    files = list(find_bsds500(args.data).train[: args.images])
    table = Table(f"The discrepancy search: {title}",
                  ["image", "kernel", "sigma", "chosen", f"chosen_{kind}", "max_ratio_difference", "psnr", f"psnr_{kind}",
                   "max_pixel_difference", "iterations", f"iterations_{kind}"])
    table.notes.append(
        f"Problems: the first {len(files)} BSDS500 train images, central {args.crop}x{args.crop} crops, kernels "
        f"{', '.join(args.kernels)}, circular blur, noise levels {args.sigmas}, the protocol's seeded noise. Both "
        "searches use pnp deblur's solver (Tikhonov start, Anderson, final tolerance 1e-5, at most 500 iterations) "
        "and every shipped Euler prior, starting at the one nearest the noise level. iterations: all solves of the "
        "search, the chosen prior's continuation included where the trials stop at 10x the final tolerance. "
        "max_ratio_difference: over the priors both searches tried.")
    cache: dict[str, object] = {}
    for sigma in args.sigmas:
        names, first = family_from_nearest("euler", sigma)
        priors = [(name, cache.setdefault(name, load(name).eval())) for name in names]
        options = DeblurOptions(boundary=Boundary.CIRCULAR, noise_level=sigma)
        for kernel_name, (image, sharp, kernel, observed, _) in ((k, p) for k in args.kernels
                                                                  for p in problems(files, [k], sigma, args.crop)):
            base, chosen, trials = deblur_by_discrepancy(observed, kernel, priors, options, first=first, warm_start=False)
            variant_options = {"search_tolerance": options.stopping.tol} if kind == "full" else {"warm_start": True}
            other, chosen_other, other_trials = deblur_by_discrepancy(observed, kernel, priors, options, first=first,
                                                                      **variant_options)
            exact = {t.name: t.discrepancy_ratio for t in other_trials if not t.final}
            differences = [abs(t.discrepancy_ratio - exact[t.name]) for t in trials if not t.final and t.name in exact]
            row = {"image": image, "kernel": kernel_name,
                   "sigma": sigma, "chosen": chosen, f"chosen_{kind}": chosen_other,
                   "max_ratio_difference": max(differences),
                   "psnr": float(psnr(base.restored, sharp)[0]), f"psnr_{kind}": float(psnr(other.restored, sharp)[0]),
                   "max_pixel_difference": float((base.restored - other.restored).abs().max()),
                   "iterations": sum(t.iterations for t in trials),
                   f"iterations_{kind}": sum(t.iterations for t in other_trials)}
            print(row, flush=True)
            table.add(**row)
            publish(table, args.out, name)
    publish(table, args.out, name)


if __name__ == "__main__":
    main()
