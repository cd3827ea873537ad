"""Priors on flat images: deblurring the flattest BSDS500 *train* crops (issue #18's weak spot).

The standard protocol's `3096` (mostly sky) is where the certified prior loses most to BM3D
deblurring. To choose architectures for that weakness without tuning on the protocol's images, this
study picks the ``--images`` train images whose central ``--crop`` crop has the smallest mean absolute
finite difference of its grey values (the flattest; listed in the table's notes), blurs them with
the Levin kernels of the architecture ablation (circular, σ = 0.01 and 0.03, noise seeded per image,
kernel and level) and scores each candidate as the prior of ``pnp deblur``'s solver (Tikhonov start,
Anderson, tolerance 1e-4, at most 300 iterations, strength 1), as `architecture_ablation.py` does on
its textured crops. ``--anchors`` adds BM3D deblurring (``pip install "stable-pnp[anchors]"``) on the
same observations, for scale.

Usage:
    python benchmarks/flat_deblurring.py euler-sigma0.01 runs/ablation/orbits/model.pt ... \
        --data ../shared/datasets/BSDS500 --out benchmarks/results [--anchors] [--extend]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from pnp.denoisers import load
from pnp.evaluation import anchors, deblurring
from pnp.evaluation.images import load_crop
from pnp.evaluation.tables import Table, earlier_rows, publish
from pnp.training import find_bsds500

from architecture_ablation import candidate_name, describe_config

REPO = Path(__file__).resolve().parents[1]
SIGMAS = (0.01, 0.03)
KERNELS = (1, 3, 5, 8)


def flatness(image: torch.Tensor) -> float:
    """Mean absolute horizontal and vertical difference of the grey values (0 for a constant image)."""
    grey = image.mean(dim=-3)
    return float((grey.diff(dim=-1).abs().mean() + grey.diff(dim=-2).abs().mean()) / 2)


def flattest(files: list[Path], count: int, crop: int) -> list[tuple[Path, float]]:
    """The ``count`` files whose central crop is flattest, flattest first, with their flatness."""
    scored = sorted(((path, flatness(load_crop(path, crop))) for path in files), key=lambda item: item[1])
    return scored[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="*", help="checkpoint paths or shipped names")
    parser.add_argument("--data", type=Path, required=True, help="BSDS500 root")
    parser.add_argument("--images", type=int, default=3, help="how many of the flattest train crops")
    parser.add_argument("--crop", type=int, default=192)
    parser.add_argument("--anchors", action="store_true", help="add BM3D deblurring on the same observations")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--extend", action="store_true", help="keep the earlier rows of candidates not named again")
    args = parser.parse_args()
    if not args.candidates and not args.anchors:
        parser.error("name at least one candidate, or --anchors")
    if args.anchors and not anchors.available():
        parser.error('--anchors needs the bm3d package: pip install "stable-pnp[anchors]"')

    chosen = flattest(find_bsds500(args.data).train, args.images, args.crop)
    columns = ["candidate", "config", *[f"deblur_psnr_sigma{s:g}" for s in SIGMAS], "iterations"]
    table = Table("Priors on the flattest train crops: deblurring PSNR", columns)
    table.notes += [
        f"Problems: the {len(chosen)} BSDS500 train images whose central {args.crop}x{args.crop} crop is flattest "
        f"(mean absolute grey difference: {', '.join(f'{p.stem} {f:.4f}' for p, f in chosen)}), Levin kernels "
        f"{KERNELS}, circular blur, noise levels {SIGMAS}, noise seeded per image, kernel and level.",
        "Candidates: PnP-PGD as pnp deblur (Tikhonov start, Anderson, tolerance 1e-4, at most 300 iterations), "
        "strength 1, the candidate as the prior at both noise levels. bm3d-deb: BM3D deblurring (the protocol's "
        "BM3D-DEB) on the same observations.",
    ]
    names = {candidate_name(c) for c in args.candidates} | ({"bm3d-deb"} if args.anchors else set())
    if args.extend:
        kept, earlier = earlier_rows(args.out / "flat_deblurring.json", table.notes[0])
        for row in kept:
            if row["candidate"] not in names:
                table.add(**row)
        if earlier:
            table.notes.append(f"Rows kept from earlier runs: {earlier}")
    problems = {level: deblurring.observations([p for p, _ in chosen], KERNELS, [level], crop=args.crop)
                for level in SIGMAS}
    runs: list[tuple[str, str | None]] = [(candidate_name(c), c) for c in args.candidates]
    if args.anchors:
        runs.append(("bm3d-deb", None))
    for name, candidate in runs:
        if candidate is None:
            method = lambda physics, y, sigma, sharp: _Estimate(anchors.bm3d_deblur(physics, y, sigma))  # noqa: E731
            row: dict = {"candidate": name, "config": "BM3D deblurring (bm3d 4.0.3)"}
        else:
            model = load(candidate).eval()
            method = deblurring.pnp_method(model, 300, 1e-4)
            row = {"candidate": name, "config": describe_config(model.metadata.get("config", {}), hidden=False)}
        iterations = []
        for level in SIGMAS:
            scores = [deblurring.score(p, method) for p in problems[level]]
            row[f"deblur_psnr_sigma{level:g}"] = sum(s["psnr"] for s in scores) / len(scores)
            iterations += [s["iterations"] for s in scores]
        row["iterations"] = sum(iterations) / len(iterations) if candidate is not None else None
        print(row, flush=True)
        table.add(**row)
        publish(table, args.out, "flat_deblurring")  # after every row: an interrupted run keeps its rows
    publish(table, args.out, "flat_deblurring")


class _Estimate:
    """What :func:`pnp.evaluation.deblurring.score` reads from a method's result, for a one-shot method."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x, self.iterations, self.converged = x, [0], True


if __name__ == "__main__":
    main()
