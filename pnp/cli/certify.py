"""``pnp certify`` and ``pnp models``: what a denoiser guarantees, and what ships."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import typer

from .app import app, reports_errors


@app.command("certify")
@reports_errors
def certify_command(
    model: str = typer.Argument(..., help="A shipped name (see `pnp models`), a family (euler: the weights trained nearest --sigma) or a checkpoint path."),
    sigma: float = typer.Option(0.15, help="Noise level of the empirical test inputs (and of the weights a family name picks)."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the certificate as JSON here."),
) -> None:
    """Print the averagedness certificate of MODEL and its repeated-application test.

    Exits with code 1 when the certificate fails (not proven averaged, or contradicted by a check).

    Example: pnp certify euler --json certificate.json
    """
    from ..denoisers import TV, certify, load
    from ..io import atomic_write_bytes

    if not (math.isfinite(sigma) and 0 < sigma < 1):
        raise ValueError(f"--sigma must lie in (0, 1) (images are on a [0, 1] scale), got {sigma}")
    denoiser = load(model, sigma=sigma, nearest=True)
    if isinstance(denoiser, TV):
        raise ValueError(f"{model} is not certifiable here: the TV prior is the proximal operator of a convex "
                         "function (firmly non-expansive when solved exactly), computed by an inner iteration whose "
                         "empirical tests would take minutes; certify euler, dncnn or a checkpoint")
    certificate = certify(denoiser, sigma=sigma)
    if json_path is not None:
        atomic_write_bytes(json_path, (certificate.to_json() + "\n").encode())
    typer.echo(str(certificate))
    if not certificate.passed:
        raise typer.Exit(code=1)


@app.command("models")
@reports_errors
def models_command(
    json_output: bool = typer.Option(False, "--json", help="Print the model cards as JSON."),
) -> None:
    """List the shipped denoisers: noise level, size, training data, validation PSNR.

    Example: pnp models
    """
    from ..denoisers.zoo import cards

    shipped = cards()
    if json_output:
        typer.echo(json.dumps({name: card.to_dict() for name, card in shipped.items()}, indent=2))
        return
    typer.echo(f"{'name':<20} {'arch':<8} {'sigma':>6} {'size':>9} {'val PSNR':>9}  lineage")
    for name, card in shipped.items():
        size = f"{card.size_bytes / 1e6:.2f} MB" if card.size_bytes else "-"
        level = card.noise_level if card.noise_level is not None else "any"
        psnr = f"{card.validation_psnr:.2f} dB" if card.validation_psnr else "-"
        data = f"{card.training_data}; " if card.training_data else ""
        typer.echo(f"{name:<20} {card.architecture:<8} {level:>6} {size:>9} {psnr:>9}  {data}{card.lineage}")
