"""``pnp toy``: the ill-conditioned 2-D inverse problem, end to end (table, JSON, figures)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer

from .app import app, reports_errors


@app.command()
@reports_errors
def toy(
    train_size: int = typer.Option(100, "--train-size", help="Training pairs: 20, 100 or 500."),
    iterations: int = typer.Option(10_000, "--iterations", help="Adam iterations per InvNet."),
    seed: int = typer.Option(0, "--seed", help="Seed of the data, the initialisation and the Lipschitz pairs."),
    noise_level: float = typer.Option(0.25, "--noise-level", help="Standard deviation of the noise on y."),
    quick: bool = typer.Option(
        False, "--quick",
        help="Reduced run (as in the tests; pnp.toy.QUICK_OPTIONS): fewer iterations and test pairs, "
        "coarser solver settings.",
    ),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Write the PNG figures."),
    out: Path = typer.Option(Path("pnp-toy"), "--out", "-o", help="Folder for table.md, table.csv, results.json, *.png."),
) -> None:
    """Naive inversion vs Tikhonov vs L-Lipschitz InvNet (plus ISTA, projected GD) on
    y = A x + z, A = [[1+eps, 1], [1, 1+eps]], eps = 1/4.

    Example: pnp toy --train-size 100 --out pnp-toy
    """
    from ..io import atomic_write_bytes
    from ..toy import QUICK_OPTIONS, ToyConfig, run_toy

    config = ToyConfig(train_size=train_size, iterations=iterations, seed=seed, noise_level=noise_level)
    if quick:
        config = replace(config, **{**QUICK_OPTIONS, "iterations": min(iterations, int(QUICK_OPTIONS["iterations"]))})
    results = run_toy(config, progress=lambda message: typer.echo(message, err=True))
    table = results.to_markdown()
    atomic_write_bytes(out / "table.md", table.encode())
    atomic_write_bytes(out / "table.csv", results.to_csv().encode())
    atomic_write_bytes(out / "results.json", results.to_json().encode())
    written = ["table.md", "table.csv", "results.json"]
    if figures:
        from ..toy.figures import write_figures

        written += [path.name for path in write_figures(results, out)]
    typer.echo(table)
    typer.echo(f"{results.seconds:.1f} s; wrote {', '.join(written)} to {out}/")
