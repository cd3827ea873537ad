"""Peak memory of ``pnp deblur`` on a large photo (issue #8: 4000x3000 colour on the CPU, <= 4 GB).

Makes a sharp 4000x3000 colour test image (scikit-image's astronaut, resized; no download),
blurs it (Levin kernel 3, reflect boundary, noise 0.01) and saves it as a 16-bit PNG, then runs the
real CLI on that photo in a child process, as a user would: ``pnp deblur blurred.png --kernel
levin3 --noise-level 0.01 --iters N`` with everything else at its default (Tikhonov start, Anderson
acceleration, reflect boundary, tiled denoising above 1024 px); it reads the child's peak resident
set size from ``getrusage(RUSAGE_CHILDREN)`` and scores the output against the sharp image here. The peak is reached in the first iterations (all
buffers, the Anderson history included, exist after ``memory`` iterations), so a few iterations
measure it; the wall time per iteration is reported too.

Usage: python benchmarks/peak_memory.py [--width 4000 --height 3000 --iters 8] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from pnp.evaluation.tables import Table, publish
from pnp.demo import builtin_image
from pnp.io import read_image, write_image
from pnp.metrics import psnr
from pnp.operators import Boundary, kernels
from pnp.tasks import simulate_blur

REPO = Path(__file__).resolve().parents[1]


def make_images(folder: Path, width: int, height: int) -> tuple[torch.Tensor, Path]:
    """The sharp image (kept here) and the path of its blurred, noisy 16-bit PNG."""
    sharp = torch.nn.functional.interpolate(builtin_image("astronaut"), size=(height, width), mode="bicubic",
                                            align_corners=False).clamp(0, 1)
    blurred = simulate_blur(sharp, kernels.levin(3), boundary=Boundary.REFLECT, noise_level=0.01, seed=0)
    path = folder / "blurred.png"
    write_image(path, blurred.clamp(0, 1), bit_depth=16)
    return sharp, path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--iters", type=int, default=8)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        sharp, image = make_images(Path(folder), args.width, args.height)
        command = [str(Path(sys.executable).with_name("pnp")), "deblur", str(image), "--kernel", "levin3",
                   "--noise-level", "0.01", "--iters", str(args.iters), "--device", "cpu",
                   "--json", str(Path(folder) / "result.json"), "-o", str(Path(folder) / "restored.png")]
        start = time.perf_counter()
        finished = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if finished.returncode != 0:
            raise SystemExit(f"pnp deblur failed:\n{finished.stderr[-2000:]}")
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
        record = json.loads((Path(folder) / "result.json").read_text())
        record["psnr_input"] = float(psnr(read_image(image).image, sharp)[0])
        record["psnr_restored"] = float(psnr(read_image(Path(folder) / "restored.png").image, sharp)[0])

    table = Table(f"Peak memory of pnp deblur on a {args.width}x{args.height} colour image",
                  ["image", "iterations", "peak_rss_gib", "wall_seconds", "solver_seconds", "seconds_per_iteration",
                   "psnr_input", "psnr_restored"])
    table.add(image=f"{args.width}x{args.height}x3", iterations=record["iterations"],
              peak_rss_gib=peak_kib / 2**20, wall_seconds=wall, solver_seconds=record["seconds"],
              seconds_per_iteration=record["seconds"] / max(record["iterations"], 1),
              psnr_input=record.get("psnr_input"), psnr_restored=record.get("psnr_restored"))
    table.notes.append(f"Child command: pnp deblur blurred.png --kernel levin3 --noise-level 0.01 --iters {args.iters} "
                       "(defaults otherwise); peak RSS of that process (getrusage). blurred.png: the astronaut resized "
                       "to the target size, blurred (reflect) with noise 0.01, 16-bit PNG. Iterations are capped, "
                       "which does not change the peak (every buffer exists once the Anderson memory is full); the "
                       "PSNR is that of the capped run.")
    publish(table, args.out, "peak_memory")


if __name__ == "__main__":
    main()
