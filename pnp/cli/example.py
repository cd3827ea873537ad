"""``pnp example``: an end-to-end deblurring run on a built-in image."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..demo import deblur_example
from ..io import atomic_write_bytes, save_image
from ..solvers import ProgressBar, Stopping
from .app import app, reports_errors


@app.command()
@reports_errors
def example(
    kernel: str = typer.Option("levin3", help="Kernel spec: levin1..levin8, motion, gaussian:SIGMA, box:N or a file."),
    image: str = typer.Option("astronaut", help="Built-in image: astronaut, camera, coffee or chelsea."),
    noise_level: float = typer.Option(0.01, help="Standard deviation of the added Gaussian noise."),
    width: float = typer.Option(0.3, help="Width (pixels) of the Gaussian-smoothing prior."),
    max_iter: int = typer.Option(500, help="Iteration budget."),
    tol: float = typer.Option(1e-5, help="Stop when the relative residual falls below this."),
    seed: int = typer.Option(0, help="Seed of the noise (and of a generated motion kernel)."),
    out: Path = typer.Option(Path("pnp-example"), "--out", "-o", help="Folder for the images and result.json."),
) -> None:
    """Blur and noise a built-in image, restore it by PnP-PGD, report PSNR/SSIM.

    Example: pnp example --kernel levin3 --out pnp-example
    """
    with ProgressBar(total=max_iter, description="PnP-PGD") as bar:
        run = deblur_example(
            image=image, kernel=kernel, noise_level=noise_level, smoothing_width=width,
            seed=seed, stopping=Stopping(max_iter=max_iter, tol=tol), callback=bar,
        )
    metrics = run.metrics()
    for name, tensor in (("sharp", run.sharp), ("blurred", run.blurred), ("restored", run.restored)):
        save_image(tensor, out / f"{name}.png")
    report = {
        "image": image, "kernel": kernel, "noise_level": noise_level, "prior": f"GaussianSmoother(width={width})",
        "converged": run.result.converged, "stop_reason": run.result.stop_reason.value,
        "iterations": run.result.iterations[0], "seconds": run.seconds,
        "final_relative_residual": float(run.result.final_relative_residual[0]), **metrics,
    }
    atomic_write_bytes(out / "result.json", json.dumps(report, indent=2).encode())
    typer.echo(
        f"blurred {metrics['psnr_blurred']:.2f} dB -> restored {metrics['psnr_restored']:.2f} dB "
        f"(SSIM {metrics['ssim_blurred']:.3f} -> {metrics['ssim_restored']:.3f}); {run.result.summary()}; "
        f"{run.seconds:.1f} s; images in {out}/"
    )
