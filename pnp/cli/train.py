"""``pnp train``: train an Euler-block or DnCNN denoiser on BSDS500 (or any folders of images)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    from ..training import Splits

from ..choices import Symmetry
from .app import app, reports_errors


@app.command("train")
@reports_errors
def train_command(
    model: str = typer.Option("euler", help="Architecture: euler or dncnn."),
    sigma: float = typer.Option(0.15, help="Training noise level (or the low end with --sigma-max)."),
    sigma_max: Optional[float] = typer.Option(None, help="Draw the noise level uniformly in [sigma, sigma-max]."),
    sigma_log: bool = typer.Option(False, "--sigma-log", help="With --sigma-max: draw the noise level uniformly in log sigma."),
    data: Optional[Path] = typer.Option(None, help="BSDS500 root (train on train+test, validate on val)."),
    train_dir: Optional[Path] = typer.Option(None, help="Flat folder of training images (instead of --data)."),
    val_dir: Optional[Path] = typer.Option(None, help="Flat folder of validation images (with --train-dir)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: checkpoints, log.jsonl, curves.png, model.pt."),
    steps: int = typer.Option(20_000, help="Optimiser steps."),
    batch_size: int = typer.Option(16, help="Patches per step (per process)."),
    patch: int = typer.Option(64, help="Patch side in pixels."),
    lr: float = typer.Option(1e-3, help="Adam learning rate (cosine decay to 1%)."),
    channels: int = typer.Option(64, help="Feature channels."),
    blocks: int = typer.Option(10, help="Euler blocks (DnCNN: depth)."),
    flow_time: float = typer.Option(1.0, help="Euler: flow time T of each block."),
    max_substeps: Optional[int] = typer.Option(None, help="Euler: cap on sub-steps per block (bounds the cost of a call)."),
    scales: Optional[str] = typer.Option(None, help="Euler: blocks per resolution level, finest first, e.g. 2,2,2 (a multi-scale net between orthonormal Haar transforms; replaces --blocks)."),
    hidden: Optional[int] = typer.Option(None, help="Euler: output channels of every W (default --channels; implies the multi-scale net's class)."),
    dilations: Optional[str] = typer.Option(None, help="Euler: dilation of each block's W, cycled over the blocks in the order they run, e.g. 1,2,4 (each sub-step sees further at the same cost and the same certified step; implies the multi-scale net's class)."),
    noise_channel: bool = typer.Option(False, "--noise-channel", help="Euler: condition the net on the noise level (one model for every level; train with --sigma-max)."),
    symmetry: Symmetry = typer.Option(Symmetry.NONE, help="Euler: flips and flip-orbits build every W from base kernels and their three flips, so the net commutes with flipping the image and sees the mirror past the border at no extra cost (--prior-border mirror); flip-orbits also lets the state channels past the image's carry oriented features (orbits of four). The hidden width must be a multiple of 4."),
    grayscale: bool = typer.Option(False, help="Train a one-channel model."),
    val_every: int = typer.Option(1000, help="Validate every N steps."),
    val_images: int = typer.Option(100, help="How many validation images to use."),
    checkpoint_every: int = typer.Option(500, help="Write last.pt every N steps."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    resume: bool = typer.Option(False, help="Continue the run in --out from its last checkpoint."),
    init: Optional[str] = typer.Option(None, "--init", help="Warm start: the weights of a shipped name (euler-sigma0.15) or a checkpoint path, same architecture; fresh optimiser."),
    max_minutes: Optional[float] = typer.Option(None, help="Wall-clock budget of this call: stop, validate, checkpoint and export when it is spent (continue with --resume)."),
    seed: int = typer.Option(0, help="Seed of initialisation, patches and noise."),
    export: bool = typer.Option(False, "--export", help="Only export the best checkpoint of the (stopped) run in --out."),
    quick_run: bool = typer.Option(False, "--quick", help="Preset: 8 channels, 2 blocks, 60 steps of 4 32x32 patches, 2 val images (overrides those options)."),
) -> None:
    """Train a denoiser. Example (GPU): pnp train --model euler --sigma 0.15 --data BSDS500 --out runs/euler

    A run killed at any moment continues with --resume (same options); --export writes model.pt from
    its best checkpoint so far.
    """
    from ..training import ModelConfig, NoiseRange, TrainConfig, export_best, quick, train

    if export:
        summary = export_best(out)
        typer.echo(f"exported the best checkpoint (step {summary.best_step}, validation PSNR "
                   f"{summary.best_val_psnr:.2f} dB) of {summary.steps} steps to {summary.model_path}")
        return
    config = TrainConfig(
        model=ModelConfig(name=model, channels=channels, blocks=blocks, in_channels=1 if grayscale else 3,
                          flow_time=flow_time, max_substeps=max_substeps, scales=_scales(scales), hidden=hidden,
                          noise_channel=noise_channel, symmetry=Symmetry(symmetry).value,
                          dilations=_integers(dilations, "--dilations", "dilations", "1,2,4")),
        noise=NoiseRange(sigma, sigma_max, sigma_log), steps=steps, batch_size=batch_size, patch=patch, lr=lr,
        val_every=val_every, val_images=val_images, checkpoint_every=checkpoint_every, seed=seed, device=device,
        init=init,
    )
    if quick_run:
        config = quick(config)
    if max_minutes is not None and not max_minutes > 0:
        raise ValueError(f"--max-minutes must be positive, got {max_minutes}")
    summary = train(config, _splits(data, train_dir, val_dir), out, resume=resume,
                    max_seconds=None if max_minutes is None else 60 * max_minutes)
    stopped = f"; stopped by --max-minutes after step {summary.steps} of {config.steps}" if summary.steps < config.steps else ""
    typer.echo(
        f"best validation PSNR {summary.best_val_psnr:.2f} dB (sigma {config.noise.nominal:g}) at step "
        f"{summary.best_step}; {summary.patches_per_second:.1f} patches/s; model in {summary.model_path}{stopped}"
    )


def _splits(data: Path | None, train_dir: Path | None, val_dir: Path | None) -> Splits:
    from ..training import Splits, find_bsds500

    if train_dir is not None or val_dir is not None:
        if train_dir is None or val_dir is None or data is not None:
            raise ValueError("give either --data BSDS500_ROOT, or both --train-dir and --val-dir")
        return Splits.from_folders(train_dir, val_dir)
    if data is None:
        raise ValueError("no training data: pass --data BSDS500_ROOT (or --train-dir and --val-dir)")
    return find_bsds500(data)


def _scales(text: str | None) -> tuple[int, ...] | None:
    """``"2,2,2"`` -> (2, 2, 2); a clear error for anything else."""
    return _integers(text, "--scales", "block counts", "2,2,2")


def _integers(text: str | None, flag: str, what: str, example: str) -> tuple[int, ...] | None:
    """``"1,2,4"`` -> (1, 2, 4) for ``flag``; a clear error for anything else."""
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"{flag} takes {what} separated by commas, e.g. {example}; got {text!r}") from None
