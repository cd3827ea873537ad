"""Tune the TV denoiser's regularisation weight per noise level on BSDS500 *train* crops.

For each sigma, adds seeded Gaussian noise to centre crops of the first ``--images`` train images
(sorted by name) and searches the weight gamma of ``pnp.denoisers.TV`` (the wrapper that ships,
same solver settings) maximising the mean PSNR: a log grid with ratio 2 around gamma = sigma,
extended while the best point is on its edge, then two refinements with ratios 2^(1/2) and
2^(1/4). Writes the chosen weights to ``pnp/denoisers/data/tv_weights.json`` (package data read by
``TV()``) and a report to ``benchmarks/results/tv_tuning.md``.

Usage: python benchmarks/tune_tv.py --data BSDS500/data/images/train [--images 8] [--crop 128] [--sigmas 0.05 0.10 0.15 0.01 0.02 0.03]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pnp.denoisers import TV
from pnp.io import atomic_write_bytes
from pnp.metrics import psnr

REPO = Path(__file__).resolve().parents[1]


def load_crops(folder: Path, count: int, crop: int) -> tuple[torch.Tensor, list[str]]:
    """Centre crops (count, 3, crop, crop) in [0, 1] of the first ``count`` images by name."""
    files = sorted(folder.glob("*.jpg"))[:count]
    if len(files) < count:
        raise SystemExit(f"need {count} images in {folder}, found {len(files)}")
    crops = []
    for path in files:
        array = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
        top, left = (array.shape[0] - crop) // 2, (array.shape[1] - crop) // 2
        crops.append(torch.from_numpy(array[top : top + crop, left : left + crop].transpose(2, 0, 1).copy()))
    return torch.stack(crops), [p.name for p in files]


def score(clean: torch.Tensor, noisy: torch.Tensor, gamma: float) -> float:
    with torch.no_grad():
        return float(psnr(TV(weight=gamma)(noisy), clean).mean())


def search(clean: torch.Tensor, noisy: torch.Tensor, sigma: float) -> tuple[float, dict[float, float]]:
    """Log-grid search of gamma; returns the best gamma and every (gamma, PSNR) evaluated."""
    tried: dict[float, float] = {}

    def evaluate(gamma: float) -> float:
        gamma = float(f"{gamma:.4g}")
        if gamma not in tried:
            tried[gamma] = score(clean, noisy, gamma)
            print(f"  sigma={sigma:<5} gamma={gamma:<9.4g} PSNR={tried[gamma]:.3f}", flush=True)
        return tried[gamma]

    for k in range(-2, 2):
        evaluate(sigma * 2.0**k)
    for _ in range(8):  # extend the grid while the best point is on its edge
        best = max(tried, key=tried.get)
        if best == min(tried):
            evaluate(best / 2)
        elif best == max(tried):
            evaluate(best * 2)
        else:
            break
    for ratio in (2**0.5, 2**0.25):
        best = max(tried, key=tried.get)
        evaluate(best / ratio)
        evaluate(best * ratio)
    best = max(tried, key=tried.get)
    return best, dict(sorted(tried.items()))


def report(path: Path, results: dict, meta: dict) -> None:
    lines = [
        "# TV weight tuning (BSDS500 train crops)",
        "",
        f"- Command: `{meta['command']}`",
        f"- Machine: {meta['machine']}",
        f"- Date: {meta['date']}",
        f"- Data: {meta['images']} BSDS500 train images (first by name), centre crops {meta['crop']}x{meta['crop']}, "
        f"seeded Gaussian noise (seed {meta['seed']}).",
        f"- Denoiser: `pnp.denoisers.TV` (deepinv TVDenoiser, Chambolle-Pock, tau {meta['tau']}, "
        f"at most {meta['max_iter']} iterations, tolerance {meta['tol']}, state reset per call).",
        "- Search: log grid (ratio 2) around gamma = sigma, extended at the edges, refined by 2^(1/2) and 2^(1/4).",
        f"- Total time: {meta['seconds']:.0f} s.",
        "",
        "| sigma | noisy PSNR (dB) | chosen weight | PSNR at chosen weight (dB) | weights tried |",
        "|---|---|---|---|---|",
    ]
    for sigma, r in results.items():
        tried = ", ".join(f"{g:g}: {p:.2f}" for g, p in r["tried"].items())
        lines.append(f"| {sigma:g} | {r['noisy_psnr']:.2f} | {r['weight']:g} | {r['psnr']:.2f} | {tried} |")
    lines += ["", "The chosen weights are stored in `pnp/denoisers/data/tv_weights.json`; `TV()` interpolates "
              "them log-log for other noise levels.", ""]
    atomic_write_bytes(path, "\n".join(lines).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="a folder of train images, e.g. ../shared/datasets/BSDS500/data/images/train")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.05, 0.10, 0.15, 0.01, 0.02, 0.03])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=REPO / "pnp" / "denoisers" / "data" / "tv_weights.json")
    parser.add_argument("--report", type=Path, default=REPO / "benchmarks" / "results" / "tv_tuning.md")
    parser.add_argument("--date", default="2026-11-23")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the cores are shared)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # the TV dual variables underflow; denormals slow the CPU down

    start = time.perf_counter()
    clean, names = load_crops(args.data, args.images, args.crop)
    results = {}
    for sigma in sorted(args.sigmas):
        generator = torch.Generator().manual_seed(args.seed + int(round(sigma * 1000)))
        noisy = clean + sigma * torch.randn(clean.shape, generator=generator)
        best, tried = search(clean, noisy, sigma)
        results[sigma] = {"weight": best, "psnr": tried[best], "tried": tried,
                          "noisy_psnr": float(psnr(noisy, clean).mean())}
    tv = TV(weight=1.0)
    meta = {
        "command": " ".join(["python benchmarks/tune_tv.py", *sys.argv[1:]]),
        "machine": f"2-core CPU (shared), {platform.machine()}, torch {torch.__version__}, "
                   f"torch threads: {torch.get_num_threads()}",
        "date": args.date, "images": args.images, "crop": args.crop, "seed": args.seed,
        "tau": tv.tau, "max_iter": tv.max_iter, "tol": tv.tol, "seconds": time.perf_counter() - start,
    }
    table = {
        "description": "TV regularisation weight gamma per noise level sigma, tuned on BSDS500 train crops "
                       "(benchmarks/tune_tv.py); TV() interpolates log-log between entries.",
        **{k: meta[k] for k in ("command", "date", "machine", "images", "crop", "seed")},
        "train_images": names,
        "weights": {f"{s:g}": r["weight"] for s, r in results.items()},
        "psnr": {f"{s:g}": round(r["psnr"], 3) for s, r in results.items()},
    }
    atomic_write_bytes(args.output, (json.dumps(table, indent=2) + "\n").encode())
    report(args.report, results, meta)
    print(json.dumps(table["weights"]))
    print(f"done in {meta['seconds']:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
