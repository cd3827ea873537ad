"""One GPU lease in one call: train every shipped prior at once, certify and score them, time the GPU.

Run through ``benchmarks/gpu/lease.sh`` (which installs the carried wheels first); see CONTRIBUTING.md,
"A GPU lease". Modes:

- ``full`` (default, about 8 minutes on an H100/H200): every shipped learned prior (the list is the
  zoo's own: :func:`training_plan`) trained concurrently on the one GPU, each for at most
  ``--minutes`` (5) of wall clock, warm-started from the shipped weights (``pnp train --init``) with
  the architecture and learning rate of its model card; runs are checkpointed in ``--runs``, so a
  second call continues them (``pnp train --resume``). Then each
  new net and the shipped one are scored on the same noisy draws of the first ``--val-images``
  BSDS500 val images at the prior's noise level (the draws of ``pnp benchmark denoising``), every
  Euler net is certified, and ``pnp benchmark speed --device cuda`` times PnP on a 481x321 image
  (one image and a batch of 16 in fp32, TF32, bf16, ours against deepinv's PGD).
- ``smoke`` (about a minute): 20 steps of every prior, 5 val images, the speed table on one size.
- ``cpu``: a tiny budget on the CPU (what the test suite runs, on a made-up data folder).

Everything comes back packed in at most 5 files under ``--out``: ``summary.json`` (scores,
certificates, steps, wall times, the GPU's name), ``runs.tar.gz`` (model.pt/json, last.pt,
log.jsonl and curves.png of each run), ``tables.tar.gz`` (the speed tables), ``lease.log`` (written
by lease.sh) and ``train_logs.tar.gz``. ``benchmarks/gpu/adopt.py`` takes them on the CPU.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import tarfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from pnp.denoisers import available, certify, load
from pnp.denoisers.zoo import BUILTIN, WEIGHTS_DIR

REPO = Path(__file__).resolve().parents[2]


LEARNING_RATES = {"euler": 2e-3, "dncnn": 1e-3}


@dataclass(frozen=True)
class Mode:
    """How big a lease call is: steps per run, training budget, batch, patch, val images, speed size."""

    steps: int
    minutes: float
    batch_size: int
    patch: int
    val_images: int
    val_every: int
    quick_speed: bool


MODES = {
    "full": Mode(steps=20_000, minutes=5.0, batch_size=16, patch=64, val_images=100, val_every=1000, quick_speed=False),
    "smoke": Mode(steps=20, minutes=0.75, batch_size=16, patch=64, val_images=5, val_every=20, quick_speed=True),
    "cpu": Mode(steps=2, minutes=0.5, batch_size=2, patch=16, val_images=1, val_every=2, quick_speed=True),
}


@dataclass(frozen=True)
class Prior:
    """A shipped learned prior and how to train it again: ``pnp train`` options from its model card."""

    name: str
    architecture: str
    sigma: float
    options: tuple[str, ...]


def training_plan(names: list[str] | None = None) -> list[Prior]:
    """Every shipped learned prior (``pnp models``), or those of ``names``, with its architecture,
    noise level and learning rate read from its model card; the list lives in the zoo alone."""
    shipped = [n for n in available() if n not in BUILTIN]
    unknown = sorted(set(names or []) - set(shipped))
    if unknown:
        raise SystemExit(f"error: not shipped: {', '.join(unknown)}; shipped: {', '.join(shipped)}")
    plan = []
    for name in names or shipped:
        card = json.loads((WEIGHTS_DIR / f"{name}.json").read_text())
        architecture, config = card["architecture"], card["config"]
        lr = re.search(r"--lr ([0-9][0-9.eE+-]*)", card.get("training_command", ""))
        options = ["--model", architecture, "--sigma", str(card["noise_level"]),
                   "--lr", lr.group(1) if lr else str(LEARNING_RATES[architecture])]
        if architecture == "euler":
            options += ["--channels", str(config["channels"]), "--blocks", str(config["blocks"]),
                        "--flow-time", str(config["flow"]["time"])]
            if config["flow"].get("max_substeps"):
                options += ["--max-substeps", str(config["flow"]["max_substeps"])]
            if config["flow"].get("symmetry", "none") != "none":  # flip-equivariant blocks (--init needs them)
                options += ["--symmetry", str(config["flow"]["symmetry"])]
        else:
            options += ["--channels", str(config["features"]), "--blocks", str(config["depth"])]
        plan.append(Prior(name, architecture, float(card["noise_level"]), tuple(options)))
    return plan


def _train_command(prior: Prior, mode: Mode, data: Path, runs: Path, device: str) -> list[str]:
    out = runs / prior.name
    command = [sys.executable, "-m", "pnp.cli", "train", *prior.options, "--data", str(data), "--out", str(out),
               "--steps", str(mode.steps), "--batch-size", str(mode.batch_size), "--patch", str(mode.patch),
               "--val-every", str(mode.val_every), "--val-images", "10" if mode.val_images >= 10 else "1",
               "--checkpoint-every", str(min(200, mode.steps)), "--device", device,
               "--max-minutes", str(mode.minutes)]
    # a new run warm-starts from the shipped weights (same architecture), a stopped one continues
    return command + (["--resume"] if (out / "last.pt").exists() else ["--init", prior.name])


def train_all(plan: list[Prior], mode: Mode, data: Path, runs: Path, device: str) -> dict[str, dict]:
    """Start every training at once, wait for all (each stops itself at its budget)."""
    runs.mkdir(parents=True, exist_ok=True)
    started, processes = time.time(), {}
    for prior in plan:
        (runs / prior.name).mkdir(parents=True, exist_ok=True)
        command = _train_command(prior, mode, data, runs, device)
        log = open(runs / f"{prior.name}.train.log", "a")
        print("+ " + shlex.join(command[1:]), flush=True)
        processes[prior.name] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO), command, log)
    report = {}
    for name, (process, command, log) in processes.items():
        try:
            code = process.wait(timeout=max(60 * mode.minutes + 180 - (time.time() - started), 1))
        except subprocess.TimeoutExpired:
            process.kill()
            code = "killed: over the budget"
        log.close()
        report[name] = {"command": "pnp " + shlex.join(command[3:]), "exit": code,
                        "wall_seconds": round(time.time() - started, 1)}
        print(f"{name}: exit {code} after {report[name]['wall_seconds']} s", flush=True)
    return report


def _val_images(data: Path, count: int) -> list[Path]:
    from pnp.training import find_bsds500

    return list(find_bsds500(data).val[:count])


def score(model: torch.nn.Module, files: list[Path], sigma: float, device: str, crop: int | None) -> list[float]:
    """PSNR on each val image of the same noisy draws as ``pnp benchmark denoising`` (index-seeded)."""
    from pnp.evaluation.denoising import noisy_copy
    from pnp.evaluation.images import load_crop
    from pnp.metrics import psnr

    scores = []
    with torch.inference_mode():
        for index, path in enumerate(files):
            clean = load_crop(path, crop)
            noisy = noisy_copy(clean, sigma, index).to(device)
            restored = model(noisy, sigma).float().clamp(0, 1).cpu()
            scores.append(round(float(psnr(restored, clean)[0]), 4))
    return scores


def evaluate(plan: list[Prior], mode: Mode, data: Path, runs: Path, device: str) -> dict[str, dict]:
    """New against shipped weights on the same draws; the certificate of every new Euler net."""
    files = _val_images(data, mode.val_images)
    crop = 32 if mode is MODES["cpu"] else None
    results = {}
    for prior in plan:
        path = runs / prior.name / "model.pt"
        if not path.exists():
            results[prior.name] = {"error": "no model.pt (see its train log)"}
            continue
        try:
            results[prior.name] = _evaluate_one(prior, path, files, device, crop)
        except Exception as error:  # one broken run must not cost the others' results
            results[prior.name] = {"error": f"{type(error).__name__}: {error}"}
            continue
        entry = results[prior.name]
        print(f"{prior.name}: new {entry['mean_new']:.3f} dB, shipped {entry['mean_shipped']:.3f} dB on "
              f"{len(files)} val images", flush=True)
    return results


def _evaluate_one(prior: Prior, path: Path, files: list[Path], device: str, crop: int | None) -> dict:
    new, shipped = load(path).to(device).eval(), load(prior.name).to(device).eval()
    entry = {"steps": new.metadata.get("steps"), "train_seconds": new.metadata.get("seconds"),
             "val_images": len(files), "sigma": prior.sigma,
             "psnr_new": score(new, files, prior.sigma, device, crop),
             "psnr_shipped": score(shipped, files, prior.sigma, device, crop)}
    entry["mean_new"] = sum(entry["psnr_new"]) / len(files)
    entry["mean_shipped"] = sum(entry["psnr_shipped"]) / len(files)
    if prior.architecture == "euler":  # the proof is exact; the empirical checks are cut short on a CPU
        certificate = certify(new, jacobian_iterations=5 if crop is None else 1, repeats=(10,) if crop is None else (2,),
                              rounds=2 if crop is None else 1)
        entry["certificate"] = {"certified": certificate.certified, "alpha": certificate.alpha,
                                "passed": certificate.passed}
    return entry


def speed(mode: Mode, data: Path, out: Path, device: str) -> int:
    command = [sys.executable, "-m", "pnp.cli", "benchmark", "speed", "--data", str(data), "--device", device,
               "--out", str(out), "--replace"] + (["--quick"] if mode.quick_speed else [])
    print("+ " + shlex.join(command[1:]), flush=True)
    try:
        return subprocess.run(command, cwd=REPO, timeout=150).returncode
    except subprocess.TimeoutExpired:
        return -1


def pack(out: Path, runs: Path, tables: Path) -> None:
    with tarfile.open(out / "runs.tar.gz", "w:gz") as archive:
        for path in sorted(runs.glob("*/*")):
            if path.name in {"model.pt", "model.json", "last.pt", "log.jsonl", "curves.png"}:
                archive.add(path, arcname=str(path.relative_to(runs)))
    with tarfile.open(out / "train_logs.tar.gz", "w:gz") as archive:
        for path in sorted(runs.glob("*.train.log")):
            archive.add(path, arcname=path.name)
    with tarfile.open(out / "tables.tar.gz", "w:gz") as archive:
        if tables.exists():
            archive.add(tables, arcname="tables")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="full")
    parser.add_argument("--data", type=Path, default=REPO / ".data" / "BSDS500")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "lease")
    parser.add_argument("--runs", type=Path, help="run folders (default runs/lease; runs/lease-smoke, runs/lease-cpu "
                        "for the other modes, so a smoke run never blocks the full run's --resume)")
    parser.add_argument("--minutes", type=float, help="training budget per call (default: the mode's)")
    parser.add_argument("--priors", nargs="*", help="shipped names to train (default: every shipped prior)")
    args = parser.parse_args(argv)
    mode = MODES[args.mode]
    args.runs = args.runs or REPO / "runs" / ("lease" if args.mode == "full" else f"lease-{args.mode}")
    if args.minutes is not None:
        mode = Mode(**{**asdict(mode), "minutes": args.minutes})
    device = "cpu" if args.mode == "cpu" else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA device here; use --mode cpu to check the script on a CPU", file=sys.stderr)
        return 2
    if not (args.data / "data" / "images" / "val").is_dir() and not (args.data / "images" / "val").is_dir():
        print(f"error: no BSDS500 at {args.data}; copy it there and carry it (CONTRIBUTING.md)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    print(f"lease: mode {args.mode}, device {gpu}, torch {torch.__version__}", flush=True)
    plan = training_plan(args.priors)
    summary = {"mode": args.mode, "device": gpu, "torch": torch.__version__,
               "date": time.strftime("%Y-%m-%d", time.gmtime()), "mode_settings": asdict(mode),
               "priors": [asdict(p) for p in plan]}
    tables = args.runs.parent / "lease-tables"

    def save() -> None:  # after every stage: a call cut short still brings back what it finished
        summary["wall_seconds"] = round(time.time() - started, 1)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        pack(args.out, args.runs, tables)

    summary["training"] = train_all(plan, mode, args.data, args.runs, device)
    save()
    summary["evaluation"] = evaluate(plan, mode, args.data, args.runs, device)
    save()
    summary["speed_exit"] = speed(mode, args.data, tables, device)
    save()
    print(f"lease: done in {summary['wall_seconds']} s; files in {args.out}", flush=True)
    failed = [n for n, r in summary["training"].items() if r["exit"] != 0] + \
             [n for n, r in summary["evaluation"].items() if "error" in r]
    return 1 if failed or summary["speed_exit"] != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
