"""``pnp denoise``: one pass of a zoo denoiser over a noisy image (or a simulated noisy one)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from .app import app, reports_errors
from .common import load_model, output_path, read_input
from .outputs import Output, check_outputs


@app.command("denoise")
@reports_errors
def denoise_command(
    image: Optional[Path] = typer.Argument(None, help="Noisy image (PNG, JPEG, TIFF; 8/16-bit; grey, RGB, RGBA)."),
    sigma: float = typer.Option(0.15, help="Noise standard deviation (added with --simulate)."),
    model: str = typer.Option("euler", help="Denoiser: euler, dncnn, tv, or a checkpoint path."),
    simulate: bool = typer.Option(False, help="IMAGE is clean: add noise, denoise, report PSNR/SSIM."),
    example: bool = typer.Option(False, help="Run --simulate on a built-in image (no file needed)."),
    seed: int = typer.Option(0, help="Seed of the simulated noise."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output image (default IMAGE_denoised.EXT)."),
    report: Optional[Path] = typer.Option(None, help="Folder for figure.png and result.json."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the machine-readable result here."),
) -> None:
    """Denoise IMAGE.

    Example: pnp denoise photo.png --sigma 0.1 --model euler
    """
    from ..device import resolve_device
    from ..io import write_image
    from ..tasks import denoise, simulate_noise
    from ..tasks.report import write_image_figure, write_json

    if not (math.isfinite(sigma) and 0 < sigma < 1):
        raise ValueError(f"--sigma must lie in (0, 1): images are on a [0, 1] scale (25.5/255 = 0.1), got {sigma}")
    data, input_name = read_input(image, example)
    simulate = simulate or example
    target = output_path(image, out, "denoised", example_name="example_denoised.png")
    model_file = Path(model) if Path(model).suffix and Path(model).exists() else None
    check_outputs({"the input image": image, "the checkpoint (--model)": model_file},
                  [Output(target, "-o", image=True)] + ([Output(json_path, "--json")] if json_path else [])
                  + ([Output(report / n, "--report") for n in ("figure.png", "result.json")] if report else []))
    where = resolve_device(device)
    denoiser = load_model(model, where, sigma)
    clean = data.image.to(where)
    noisy = simulate_noise(clean, sigma, seed=seed) if simulate else clean
    outcome = denoise(noisy, denoiser, sigma, reference=clean if simulate else None)
    write_image(target, outcome.restored.cpu(), bit_depth=data.bit_depth, alpha=data.alpha)
    metrics = outcome.metrics()
    record = {"input": input_name, "output": str(target), "simulated": simulate, "sigma": sigma, "model": model,
              "device": str(where), "seconds": outcome.seconds, **metrics}
    if json_path is not None:
        write_json(record, json_path)
    if report is not None:
        panels = {"clean": clean.cpu()} if simulate else {}
        panels.update({"noisy input": noisy.cpu(), "denoised": outcome.restored.cpu()})
        write_image_figure(panels, None, report / "figure.png")
        write_json(record, report / "result.json")
    quality = f"; PSNR {metrics['psnr_input']:.2f} -> {metrics['psnr_restored']:.2f} dB" if metrics else ""
    typer.echo(f"denoised in {outcome.seconds:.2f} s{quality}; wrote {target}")
