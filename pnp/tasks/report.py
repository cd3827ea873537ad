"""Reports of a restoration: a figure of the images, the convergence plot, and a JSON record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import strict_json
from ..io import atomic_write_bytes
from ..plotting import pyplot, save_figure
from ..solvers import Result

__all__ = ["result_record", "write_convergence_plot", "write_image_figure", "write_json"]


def _as_display(image: torch.Tensor) -> np.ndarray:
    array = image[0].detach().float().clamp(0, 1).cpu().numpy().transpose(1, 2, 0)
    return array[..., 0] if array.shape[2] == 1 else array


def write_image_figure(panels: dict[str, torch.Tensor], kernel: torch.Tensor | None, path: Path) -> None:
    """One row: each (1, C, H, W) panel with its title, then the kernel (if given)."""
    plt = pyplot()
    count = len(panels) + (kernel is not None)
    figure, axes = plt.subplots(1, count, figsize=(4.2 * count, 4.2))
    axes = np.atleast_1d(axes)
    for axis, (title, image) in zip(axes, panels.items()):
        axis.imshow(_as_display(image), cmap="gray", vmin=0, vmax=1)
        axis.set_title(title)
    if kernel is not None:
        axes[-1].imshow(kernel.detach().cpu().numpy(), cmap="magma")
        axes[-1].set_title(f"kernel {tuple(kernel.shape)}")
    for axis in axes:
        axis.axis("off")
    save_figure(figure, path, dpi=110)


def write_convergence_plot(result: Result, path: Path) -> None:
    """Relative residual per iteration (log scale) and, when recorded, PSNR per iteration."""
    plt = pyplot()
    columns = result.history.columns()
    has_psnr = "psnr" in columns
    figure, axes = plt.subplots(1, 2 if has_psnr else 1, figsize=(10 if has_psnr else 5.5, 3.8))
    axes = np.atleast_1d(axes)
    axes[0].semilogy(columns["iteration"], columns["relative_residual"][:, 0])
    axes[0].set(xlabel="iteration k", ylabel=r"$\|x_{k+1} - x_k\| \,/\, \|x_k\|$", title="relative residual")
    if has_psnr:
        axes[1].plot(columns["iteration"], columns["psnr"][:, 0])
        axes[1].set(xlabel="iteration k", ylabel="PSNR (dB)", title="PSNR of the iterate")
    for axis in axes:
        axis.grid(alpha=0.3, which="both")
    save_figure(figure, path, dpi=110)


def result_record(result: Result) -> dict:
    """The solver outcome as JSON-ready fields."""
    return {
        "converged": result.converged,
        "stop_reason": result.stop_reason.value,
        "stop_message": str(result.stop_reason),
        "iterations": result.iterations[0] if result.iterations else 0,
        "evaluations": _evaluations(result),
        "final_relative_residual": float(result.final_relative_residual[0]) if result.iterations else None,
        "step": result.history.records[0].step_size if result.history.records else None,
    }


def _evaluations(result: Result) -> int:
    """Evaluations of the solver's map (denoiser calls for PnP) of the first image."""
    columns = result.history.columns()
    return int(columns["evaluations"][-1, 0]) if "evaluations" in columns else 0


def write_json(record: dict, path: Path) -> None:
    atomic_write_bytes(path, (strict_json.dumps(record, indent=2) + "\n").encode())
