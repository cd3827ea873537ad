"""The training-curve figure: loss and validation PSNR against the step."""

from __future__ import annotations

from pathlib import Path

from ..plotting import pyplot, save_figure

__all__ = ["plot_curves"]


def plot_curves(entries: list[dict], path: Path) -> None:
    """Write a PNG with the interval-mean loss (log scale) and the validation PSNR per step."""
    plt = pyplot()
    figure, (loss_axis, psnr_axis) = plt.subplots(1, 2, figsize=(10, 3.6))
    steps = [e["step"] for e in entries]
    loss_axis.semilogy(steps, [e["loss"] for e in entries], marker=".")
    loss_axis.set(xlabel="step", ylabel="training MSE (interval mean)", title="loss")
    validated = [(e["step"], e["val_psnr"]) for e in entries if e.get("val_psnr") is not None]
    if validated:
        psnr_axis.plot(*zip(*validated), marker="o")
    psnr_axis.set(xlabel="step", ylabel="PSNR (dB, peak 1)", title="validation PSNR")
    for axis in (loss_axis, psnr_axis):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    save_figure(figure, path, dpi=110)
