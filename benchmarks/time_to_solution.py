"""Wall time of ``pnp deblur`` as a user runs it (issue #8's CPU floor), start-up included.

Runs the real CLI in child processes on a 481x321 BSDS500 ``val`` colour image:

1. ``pnp deblur IMAGE --simulate --kernel levin3 --noise-level 0.01`` with every other option at
   its default (shipped deblurring prior, reflect boundary, Tikhonov start, Anderson acceleration,
   tolerance 1e-5), timed from process start to exit (Python and torch imports, model loading,
   ||A||^2, the solve and writing the output);
2. the same problem solved to a tight tolerance (``--tol 1e-6 --iters 1000``), whose PSNR stands
   for the fixed point's;
3. optionally ``--no-accelerate --start observed`` (the plain iteration from y), for comparison;
4. optionally the defaults with another prior (``--also-model NAME_OR_PATH``, repeatable: e.g. the
   weights shipped before, to time both priors in one run on the same machine).

and reports wall time, iterations, final relative residual and PSNR, and the PSNR gap to the tight
solve (of the default prior's rows only). Usage: python benchmarks/time_to_solution.py --data
../shared/datasets/BSDS500 [--plain] [--also-model PATH ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from pnp.evaluation.tables import Table, publish
from pnp.training import find_bsds500

REPO = Path(__file__).resolve().parents[1]


def run_cli(image: Path, folder: Path, name: str, extra: list[str]) -> tuple[dict, float]:
    result_path = folder / f"{name}.json"
    command = [str(Path(sys.executable).with_name("pnp")), "deblur", str(image), "--simulate", "--kernel", "levin3",
               "--noise-level", "0.01", "--device", "cpu", "--json", str(result_path),
               "-o", str(folder / f"{name}.png"), *extra]
    start = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{finished.stderr[-2000:]}")
    return json.loads(result_path.read_text()), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="BSDS500 root")
    parser.add_argument("--image", default=None, help="val image stem (default: the last val image)")
    parser.add_argument("--plain", action="store_true", help="also time the plain iteration from y")
    parser.add_argument("--also-model", action="append", default=[], metavar="NAME_OR_PATH",
                        help="also time the defaults with this prior (pnp deblur --model); repeatable")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()

    val = find_bsds500(args.data).val
    image = next(p for p in val if p.stem == args.image) if args.image else val[-1]
    variants = {"pnp deblur (defaults)": []}
    if args.plain:
        variants["plain PnP from y (--no-accelerate --start observed)"] = ["--no-accelerate", "--start", "observed"]
    for model in args.also_model:
        variants[f"pnp deblur --model {model}"] = ["--model", model]
    variants["reference: tight tolerance (--tol 1e-6 --iters 1000)"] = ["--tol", "1e-6", "--iters", "1000"]
    columns = ["variant", "wall_seconds", "solver_seconds", "iterations", "denoiser_calls", "final_relative_residual",
               "psnr_input", "psnr", "psnr_gap_to_reference"]
    table = Table(f"Time to solution of pnp deblur, BSDS500 val {image.stem} (481x321 colour), Levin kernel 3, "
                  "sigma 0.01", columns)
    with tempfile.TemporaryDirectory() as folder:
        records = {name: run_cli(image, Path(folder), f"run{i}", extra) for i, (name, extra) in enumerate(variants.items())}
    reference = records[list(variants)[-1]][0]["psnr_restored"]
    for name, (record, wall) in records.items():
        table.add(variant=name, wall_seconds=wall, solver_seconds=record["seconds"], iterations=record["iterations"],
                  denoiser_calls=record["evaluations"], final_relative_residual=record["final_relative_residual"],
                  psnr_input=record["psnr_input"], psnr=record["psnr_restored"],
                  psnr_gap_to_reference=None if "--model" in variants[name] else record["psnr_restored"] - reference)
    table.notes.append("Each row is a separate `pnp deblur IMAGE --simulate --kernel levin3 --noise-level 0.01 "
                       "--device cpu [options]` process; wall_seconds is measured around the whole process "
                       f"(start-up included). torch threads: {torch.get_num_threads()}.")
    publish(table, args.out, "time_to_solution")


if __name__ == "__main__":
    main()
