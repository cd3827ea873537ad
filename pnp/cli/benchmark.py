"""``pnp benchmark``: regenerate the tables and figures of ``benchmarks/results/``."""

from __future__ import annotations

import enum
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from ..device import resolve_device
from .app import app, reports_errors


class Benchmark(str, enum.Enum):
    DENOISING = "denoising"
    DEBLURRING = "deblurring"
    CONVERGENCE = "convergence"
    STABILITY = "stability"
    CERTIFICATES = "certificates"
    SPEED = "speed"
    ALL = "all"


@app.command("benchmark")
@reports_errors
def benchmark_command(
    name: Benchmark = typer.Argument(..., help="Which benchmark, or all."),
    data: Optional[Path] = typer.Option(None, help="BSDS500 root (val scores, train tunes); --quick works without."),
    out: Path = typer.Option(Path("benchmarks/results"), "--out", "-o", help="Folder for tables and figures."),
    quick: bool = typer.Option(False, help="A few small crops and few iterations: checks the pipeline in about a minute."),
    images: Optional[int] = typer.Option(None, help="Number of val images, taken from the end of val (default: all 100 for denoising, 3 for deblurring)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    sigma: Optional[list[float]] = typer.Option(None, "--sigma", help="Denoising noise levels (repeatable; default 0.05, 0.10 and 0.15)."),
    euler: str = typer.Option("euler-sigma0.15", help="Euler denoiser (denoising, stability): shipped name or checkpoint path."),
    dncnn: str = typer.Option("dncnn-sigma0.15", help="DnCNN denoiser (denoising, stability): shipped name or checkpoint path."),
    prior_euler: Optional[str] = typer.Option(None, help="Euler deblurring prior (deblurring, convergence, speed); default: as pnp deblur."),
    prior_dncnn: Optional[str] = typer.Option(None, help="DnCNN deblurring prior; default: the shipped DnCNN nearest the Euler prior's noise level."),
) -> None:
    """Run a benchmark and write Markdown/CSV/JSON tables and PNG figures with their provenance.

    Example: pnp benchmark all --quick --out /tmp/bench
    """
    from ..benchmarks import suite

    settings = suite.Settings(out=out, data=data, quick=quick, images=images, device=resolve_device(device),
                              euler=euler, dncnn=dncnn, prior_euler=prior_euler, prior_dncnn=prior_dncnn,
                              sigmas=tuple(sigma) if sigma else None,
                              progress=lambda message: typer.echo(message, err=True),
                              command="pnp " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["benchmark"] else
                              f"pnp benchmark {name.value}{' --quick' if quick else ''}")
    runners = {
        Benchmark.DENOISING: suite.run_denoising, Benchmark.DEBLURRING: suite.run_deblurring,
        Benchmark.CONVERGENCE: suite.run_convergence, Benchmark.STABILITY: suite.run_stability,
        Benchmark.CERTIFICATES: suite.run_certificates, Benchmark.SPEED: suite.run_speed,
    }
    chosen = list(runners) if name is Benchmark.ALL else [name]
    for benchmark in chosen:
        start = time.perf_counter()
        table = runners[benchmark](settings)
        typer.echo(f"# {table.title} ({time.perf_counter() - start:.0f} s)\n{table.markdown()}")
    typer.echo(f"wrote {out}/")
