"""Compare certified prior architectures trained for about equal CPU time (issue #18, point 1).

Each candidate (a checkpoint path or a shipped name) is scored on
- denoising at its training noise level on the first N BSDS500 ``val`` images, full size (the same
  noisy draws for every candidate: the noise is seeded by the image's index);
- deblurring on BSDS500 *train* problems (central crops, Levin kernels, circular blur, sigma 0.01
  and 0.03) as the prior of ``pnp deblur``'s solver (Tikhonov start, Anderson, tolerance 1e-4),
  strength 1; ``val`` and CBSD10 are not used for this;
- its cost: seconds per call on a 481x321 colour image, sub-steps weighted by resolution;
- its proven averagedness constant (``certify``, proven part).

Usage:
    python benchmarks/architecture_ablation.py euler-sigma0.01 runs/ablation/ms433/model.pt ... \
        --data ../shared/datasets/BSDS500 --out benchmarks/results

``--extend`` keeps the committed rows of candidates not named again (same images and crops).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from pnp.evaluation import deblurring
from pnp.evaluation.speed import seconds_per_call
from pnp.evaluation.tables import Table, earlier_rows, publish
from pnp.denoisers import certify, load
from pnp.io import read_image
from pnp.metrics import psnr
from pnp.training import find_bsds500

REPO = Path(__file__).resolve().parents[1]


SIGMAS = (0.01, 0.03)
KERNELS = (1, 3, 5, 8)


def denoising_psnr(model, files: list[Path], sigma: float) -> float:
    """Mean PSNR over ``files`` at noise ``sigma``, noise seeded by the image's index."""
    values = []
    for index, path in enumerate(files):
        clean = read_image(path).image
        noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(index))
        with torch.inference_mode():
            values.append(float(psnr(model(clean + sigma * noise, sigma).clamp(0, 1), clean)))
    return sum(values) / len(values)


def relative_cost(model) -> float | None:
    """Sub-steps weighted by the pixels of their level (a full-resolution sub-step counts 1)."""
    if hasattr(model, "relative_cost"):
        return model.relative_cost()
    return float(sum(model.substep_counts())) if hasattr(model, "substep_counts") else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="+", help="checkpoint paths or shipped names")
    parser.add_argument("--data", type=Path, required=True, help="BSDS500 root")
    parser.add_argument("--val-images", type=int, default=100, help="first N val images for denoising")
    parser.add_argument("--train-images", type=int, default=3, help="first N train images for deblurring")
    parser.add_argument("--crop", type=int, default=192)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--extend", action="store_true", help="keep the earlier rows of candidates not named again")
    args = parser.parse_args()

    splits = find_bsds500(args.data)
    val, train = splits.val[: args.val_images], splits.train[: args.train_images]
    table = Table("Certified prior architectures at about equal CPU training time",
                  ["candidate", "architecture", "config", "sigma_train", "steps", "training_seconds",
                   "val_psnr_training", "denoising_psnr", "relative_cost", "seconds_per_call_481x321", "alpha",
                   *[f"deblur_psnr_sigma{s:g}" for s in SIGMAS], "deblur_iterations"])
    table.notes += [
        f"denoising_psnr: the first {len(val)} BSDS500 val images, full size, at the candidate's training sigma, "
        "noise seeded by the image's index (the same draws for every candidate). val_psnr_training: the "
        "training run's own validation number (its first val images).",
        f"deblur_psnr_sigmaS: BSDS500 train images {', '.join(p.stem for p in train)}, central {args.crop}x{args.crop} "
        f"crops, Levin kernels {KERNELS}, circular blur, PnP-PGD as pnp deblur (Tikhonov start, Anderson, "
        "tolerance 1e-4, at most 300 iterations), strength 1. relative_cost: sub-steps weighted by the pixels of "
        "their resolution level. seconds_per_call_481x321: one call, "
        f"{torch.get_num_threads()} torch thread(s) (other jobs may have shared the CPU). alpha: proven. config: "
        "flips / flip-orbits mark flip-equivariant blocks (pnp train --symmetry); dilations the blocks' W "
        "dilations (pnp train --dilations).",
    ]
    if args.extend:
        names = {candidate_name(candidate) for candidate in args.candidates}
        kept, earlier = earlier_rows(args.out / "architecture_ablation.json", table.notes[0])
        table.rows = [row for row in kept if row["candidate"] not in names]
        table.notes += [f"Rows kept from earlier runs: {earlier}"] if table.rows else []
    for candidate in args.candidates:
        model = load(candidate).eval()
        card = model.metadata
        sigma = float(card["noise_level"])
        row = {"candidate": candidate_name(candidate), "architecture": card.get("architecture"),
               "config": describe_config(card.get("config", {})),
               "sigma_train": sigma, "steps": card.get("steps"), "training_seconds": card.get("seconds"),
               "val_psnr_training": card.get("validation_psnr"),
               "denoising_psnr": denoising_psnr(model, val, sigma), "relative_cost": relative_cost(model),
               "seconds_per_call_481x321": seconds_per_call(model),
               "alpha": certify(model, empirical=False).alpha}
        iterations = []
        for level in SIGMAS:
            problems = deblurring.observations(train, KERNELS, [level], crop=args.crop)
            scores = [deblurring.score(p, deblurring.pnp_method(model, 300, 1e-4)) for p in problems]
            row[f"deblur_psnr_sigma{level:g}"] = sum(s["psnr"] for s in scores) / len(scores)
            iterations += [s["iterations"] for s in scores]
        row["deblur_iterations"] = sum(iterations) / len(iterations)
        print(row, flush=True)
        table.add(**row)
        publish(table, args.out, "architecture_ablation")  # after every row: an interrupted run keeps its rows
    publish(table, args.out, "architecture_ablation")


def candidate_name(candidate: str) -> str:
    """A checkpoint's run folder (``runs/ablation/ms433/model.pt`` -> ``ms433``), or the shipped name."""
    return Path(candidate).parent.name if candidate.endswith(".pt") else candidate


def describe_config(config: dict, *, hidden: bool = True) -> str:
    """A card's architecture in a table cell: channels, blocks (or scales), the hidden width when
    ``hidden``, and the flip symmetry and dilations when used."""
    text = f"C={config.get('channels')}, blocks={config.get('scales') or config.get('blocks')}"
    text += f", hidden={config.get('hidden', config.get('channels'))}" if hidden else ""
    symmetry = config.get("flow", {}).get("symmetry", "none")
    text += f", {symmetry}" if symmetry != "none" else ""
    return text + (f", dilations={config['dilations']}" if config.get("dilations") else "")


if __name__ == "__main__":
    main()
