"""After a GPU lease, on the CPU: ship the nets that beat the shipped ones, with their model cards.

Usage: python benchmarks/gpu/adopt.py FOLDER [--ship] [--runs runs/lease]

FOLDER holds what ``benchmarks/gpu/lease.sh`` brought back (``summary.json``, ``runs.tar.gz``; the
device tool's ``files_at``). The runs are unpacked into ``--runs`` (so a later lease can continue
them with ``--resume``), and every prior is listed with its new and shipped val PSNR on the same
noisy draws. With ``--ship``, each new net that (a) was scored on all 100 val images (a full lease,
not a smoke run), (b) beats the shipped weights there and (c) for an Euler net, passed its
certificate, replaces the shipped file, with a model card naming the GPU, the steps, the wall time
and the lease's training command; the certificate is verified again when the file is loaded. Then
re-run the tables that use the priors (each refuses to mix old and new weights):
``pnp benchmark certificates --data BSDS500 --replace``, ``pnp benchmark denoising --data BSDS500``
and ``pnp benchmark deblurring --data BSDS500`` (move ``benchmarks/results/deblurring/runs_euler.json``
aside first: its runs were made with the old weights).
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
from pathlib import Path

from pnp.denoisers import load, save_checkpoint
from pnp.denoisers.zoo import WEIGHTS_DIR

REPO = Path(__file__).resolve().parents[2]


FULL_VAL = 100


def decisions(summary: dict) -> list[dict]:
    """For every prior of the lease: its scores and whether it may replace the shipped weights."""
    rows = []
    for name, entry in summary.get("evaluation", {}).items():
        row = {"name": name, "new": entry.get("mean_new"), "shipped": entry.get("mean_shipped"),
               "images": entry.get("val_images", 0), "steps": entry.get("steps")}
        certificate = entry.get("certificate")
        if "error" in entry:
            row["ship"], row["why"] = False, entry["error"]
        elif row["images"] < FULL_VAL:
            row["ship"], row["why"] = False, f"scored on {row['images']} val images, not all {FULL_VAL}"
        elif row["new"] <= row["shipped"]:
            row["ship"], row["why"] = False, "does not beat the shipped weights"
        elif certificate is not None and not (certificate["certified"] and certificate["passed"]):
            row["ship"], row["why"] = False, "certificate failed"
        else:
            row["ship"], row["why"] = True, f"+{row['new'] - row['shipped']:.3f} dB on {row['images']} val images"
        rows.append(row)
    return rows


def ship(name: str, run: Path, summary: dict, row: dict) -> Path:
    model = load(run / "model.pt")  # re-verifies the certified step sizes of an Euler net
    training = summary.get("training", {}).get(name, {"command": "see the lease's summary.json", "wall_seconds": "?"})
    card = dict(model.metadata)
    card.update({
        "name": name, "hardware": f"{summary['device']} (GPU lease, {summary['mode']} mode)", "date": summary["date"],
        "training_command": training["command"],
        "note": (f"trained in a GPU lease: {row['steps']} steps, {training['wall_seconds']} s wall for all the lease's "
                 f"trainings at once; val PSNR on all {row['images']} BSDS500 val images at sigma {card.get('noise_level')}: "
                 f"{row['new']:.3f} dB against {row['shipped']:.3f} dB for the weights it replaced (benchmarks/gpu/adopt.py)"),
    })
    return save_checkpoint(model, WEIGHTS_DIR / f"{name}.pt", card)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "lease")
    parser.add_argument("--ship", action="store_true", help="replace the shipped weights that lost")
    args = parser.parse_args(argv)
    summary_path = args.folder / "summary.json"
    if not summary_path.is_file():
        print(f"error: no summary.json in {args.folder}; give the folder the lease's files came back to", file=sys.stderr)
        return 2
    summary = json.loads(summary_path.read_text())
    archive = args.folder / "runs.tar.gz"
    if archive.is_file():
        args.runs.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as runs:
            runs.extractall(args.runs, filter="data")
    print(f"lease of {summary['date']} on {summary['device']} ({summary['mode']} mode)")
    for row in decisions(summary):
        scores = "no model" if row["new"] is None else f"new {row['new']:.3f} dB, shipped {row['shipped']:.3f} dB"
        verdict = "ship" if row["ship"] else "keep the shipped weights"
        print(f"  {row['name']}: {scores} ({row['why']}): {verdict}")
        if row["ship"] and args.ship:
            print(f"    wrote {ship(row['name'], args.runs / row['name'], summary, row)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
