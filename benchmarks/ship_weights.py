"""Copy a finished training run's model into the package as shipped weights, with its model card.

Usage: python benchmarks/ship_weights.py RUN_DIR_OR_PT NAME --command "pnp train ..." --hardware "..."

Reads RUN_DIR/model.pt (written by ``pnp train`` or ``pnp train --export``), or a model file itself (e.g. one
committed under ``benchmarks/campaign/checkpoints/``), checks that it loads
(for Euler nets: the certified step sizes are re-verified), and writes
``pnp/denoisers/weights/NAME.pt`` + ``NAME.json`` whose metadata is the run's plus the model card
fields given here (training command, hardware, date).
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

from pnp.denoisers import load, save_checkpoint
from pnp.denoisers.zoo import WEIGHTS_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a pnp train run folder (its model.pt) or a model .pt file")
    parser.add_argument("name")
    parser.add_argument("--command", required=True, help="the pnp train command that produced the run")
    parser.add_argument("--hardware", required=True)
    parser.add_argument("--note", default="")
    parser.add_argument("--date", default=datetime.date.today().isoformat(),
                        help="the day the run trained (ISO 8601; default today)")
    parser.add_argument("--training-data", help="override the run's description of its training data")
    args = parser.parse_args()
    model = load(args.run if args.run.suffix == ".pt" else args.run / "model.pt")
    card = dict(model.metadata)
    card.update({
        "name": args.name, "training_command": args.command, "hardware": args.hardware,
        "date": datetime.date.fromisoformat(args.date).isoformat(), "note": args.note,
    })
    if args.training_data:
        card["training_data"] = args.training_data
    path = save_checkpoint(model, WEIGHTS_DIR / f"{args.name}.pt", card)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) and {path.with_suffix('.json').name}")


if __name__ == "__main__":
    main()
