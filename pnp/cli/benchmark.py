"""``pnp benchmark``: regenerate the tables and figures of ``benchmarks/results/``."""

from __future__ import annotations

import enum
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from ..choices import ImageSet, Method
from .app import app, reports_errors

RESULTS, QUICK_RESULTS = Path("benchmarks/results"), Path("out/benchmarks-quick")


def _images(images: str | None, name: "Benchmark") -> tuple[int | None, ImageSet | None]:
    """``--images``: a count (denoising) or an image set (deblurring)."""
    if images is None:
        return None, None
    if images.lower() in {s.value for s in ImageSet}:
        if name not in (Benchmark.DEBLURRING, Benchmark.ALL):
            raise ValueError(f"--images {images} is an image set of the deblurring benchmark; give a number of images")
        return None, ImageSet(images.lower())
    if not images.isdigit() or int(images) < 1:
        raise ValueError(f"--images must be cbsd10, cbsd68 or a positive number of val images, got {images!r}")
    if name is Benchmark.DEBLURRING:
        raise ValueError("the deblurring benchmark takes --images cbsd10 or cbsd68")
    return int(images), None


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
    out: Optional[Path] = typer.Option(None, "--out", "-o", help=f"Folder for tables and figures (default: {RESULTS} for full runs, {QUICK_RESULTS} with --quick)."),
    quick: bool = typer.Option(False, help="A few small crops and few iterations: checks the pipeline in about a minute."),
    images: Optional[str] = typer.Option(None, help="Deblurring: cbsd10 (default) or cbsd68. Denoising: a number of val images, taken from the end of val (default: all 100)."),
    methods: Optional[list[Method]] = typer.Option(None, "--methods", help="Deblurring methods to run (repeatable; default: euler, bm3d, tv, dncnn; also euler-discrepancy). Runs are kept per method, so methods can run in parallel processes into one --out."),
    replace: bool = typer.Option(False, help="Overwrite tables made under another protocol or with more images (refused otherwise)."),
    tables_only: bool = typer.Option(False, "--tables-only", help="Deblurring: write the tables from the run logs present (e.g. while other processes run), computing nothing."),
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
    from ..evaluation import suite
    from ..device import resolve_device

    count, image_set = _images(images, name)
    out = out if out is not None else (QUICK_RESULTS if quick else RESULTS)
    settings = suite.Settings(out=out, data=data, quick=quick, images=count, device=resolve_device(device),
                              image_set=image_set, methods=tuple(methods) if methods else None, replace=replace,
                              render_only=tables_only,
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
    suite.preflight(settings, [benchmark.value for benchmark in chosen])
    for benchmark in chosen:
        start = time.perf_counter()
        table = runners[benchmark](settings)
        typer.echo(f"# {table.title} ({time.perf_counter() - start:.0f} s)\n{table.markdown()}")
    typer.echo(f"wrote {out}/")
