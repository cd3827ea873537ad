"""Benchmarks 3 and 4: convergence of PnP iterations, and stability under repeated application.

Convergence: for one image and kernel, each method runs ``iterations`` steps (or to 1e-9) keeping
its iterates; ``x̂`` is the method's own fixed point from a long accelerated run, and the figure
shows ``‖x_k − x̂‖``, ``‖x_{k+1} − x_k‖`` and PSNR per iteration on log scales.

Stability: ``D^k(y)`` for k = 1, 10, 50, 200 on one noisy image: an averaged denoiser's orbit stays
bounded (its iterates approach a fixed point of D), a non-averaged one may drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..metrics import psnr
from ..plotting import pyplot, save_figure
from ..solvers import Result
from .tables import Provenance, Table

__all__ = ["calls_to_tolerance", "convergence_figure", "repeated_application", "stability_figure"]

Run = Callable[[int, float, bool], Result]
"""``run(max_iter, tol, keep_iterates) -> Result`` for one method on the fixed problem."""


def convergence_figure(
    runs: dict[str, tuple[Run, Run]], iterations: int, path: Path, provenance: Provenance, *, long_iterations: int
) -> Table:
    """``runs[name] = (plain_run, fixed_point_run)``; writes the figure, returns a summary table.

    The fixed point x̂ of each method comes from ``fixed_point_run(long_iterations, 1e-10)``.
    """
    plt = pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    table = Table("Convergence", ["method", "iterations", "final_relative_residual", "distance_to_fixed_point",
                                  "psnr_final", "rate_last_100"])
    for name, (plain, long_run) in runs.items():
        fixed_point = long_run(long_iterations, 1e-10, False).x
        result = plain(iterations, 1e-9, True)
        distance = result.distance_to(fixed_point)[:, 0].numpy()
        columns = result.history.columns()
        axes[0].semilogy(np.maximum(distance, 1e-16), label=name)
        axes[1].semilogy(columns["iteration"], columns["residual"][:, 0], label=name)
        if "psnr" in columns:
            axes[2].plot(columns["iteration"], columns["psnr"][:, 0], label=name)
        tail = distance[-101:]
        rate = float((tail[-1] / tail[0]) ** (1 / (len(tail) - 1))) if len(tail) > 1 and tail[0] > 0 else float("nan")
        table.add(method=name, iterations=result.iterations[0],
                  final_relative_residual=float(result.final_relative_residual[0]),
                  distance_to_fixed_point=float(distance[-1]),
                  psnr_final=float(columns["psnr"][-1, 0]) if "psnr" in columns else None, rate_last_100=rate)
    axes[0].set(xlabel="iteration k", ylabel="‖x_k − x̂‖", title="distance to the method's fixed point")
    axes[1].set(xlabel="iteration k", ylabel="‖x_{k+1} − x_k‖", title="fixed-point residual")
    axes[2].set(xlabel="iteration k", ylabel="PSNR (dB)", title="PSNR")
    for axis in axes:
        axis.grid(alpha=0.3, which="both")
        axis.legend()
    figure.suptitle(provenance.command, fontsize=8)
    save_figure(figure, path)
    return table


def calls_to_tolerance(
    variants: dict[str, Callable[[float], Result]], tolerances: list[float], fixed_point: torch.Tensor,
    reference: torch.Tensor,
) -> Table:
    """Denoiser calls each variant needs to reach each relative-residual tolerance, and where it ends.

    ``variants[name](tol) -> Result`` solves the same problem (e.g. plain or Anderson-accelerated,
    started at ``y`` or at a Tikhonov estimate). Each row reports, per tolerance, the evaluations
    of the solver's map (denoiser calls), and at the tightest tolerance the relative distance
    ``||x - x̂|| / ||x̂||`` to the common fixed point ``x̂`` and the PSNR: the variants must agree.
    """
    columns = [f"calls_to_{tol:g}" for tol in tolerances]
    table = Table("Denoiser calls to tolerance (same problem, same fixed point)",
                  ["variant", *columns, "relative_distance_to_fixed_point", "psnr"])
    for name, run in variants.items():
        row: dict[str, object] = {}
        for tol, column in zip(tolerances, columns):
            result = run(tol)
            calls = result.history.columns().get("evaluations")
            count = int(calls[-1, 0]) if calls is not None else result.iterations[0]
            row[column] = count if result.converged else f">{count}"
        row["relative_distance_to_fixed_point"] = float((result.x - fixed_point).norm() / fixed_point.norm())
        row["psnr"] = float(psnr(result.x.float().clamp(0, 1).cpu(), reference.cpu())[0])
        table.add(variant=name, **row)
    return table


def repeated_application(denoiser, noisy: torch.Tensor, clean: torch.Tensor, counts: list[int]) -> dict[int, tuple[torch.Tensor, float]]:
    """``{k: (D^k(y), PSNR(D^k(y), x))}`` for each k in ``counts``."""
    wanted, out = sorted(set(counts)), {}
    z = noisy
    with torch.inference_mode():
        for k in range(1, wanted[-1] + 1):
            z = denoiser(z, None)
            if k in wanted:
                out[k] = (z.float().cpu(), float(psnr(z.float().clamp(0, 1).cpu(), clean)[0]))
    return out


def stability_figure(orbits: dict[str, dict[int, tuple[torch.Tensor, float]]], path: Path, provenance: Provenance) -> Table:
    """Image grid (rows: methods, columns: k) plus the PSNR-vs-k curve."""
    plt = pyplot()
    counts = sorted(next(iter(orbits.values())))
    figure, axes = plt.subplots(len(orbits), len(counts) + 1, figsize=(3.2 * (len(counts) + 1), 3.2 * len(orbits)))
    axes = np.atleast_2d(axes)
    table = Table("Repeated application D^k(y)", ["method", *[f"k={k}" for k in counts]])
    for row, (name, orbit) in enumerate(orbits.items()):
        for column, k in enumerate(counts):
            image = orbit[k][0][0].clamp(0, 1).numpy().transpose(1, 2, 0)
            axes[row, column].imshow(image.squeeze(), cmap="gray", vmin=0, vmax=1)
            axes[row, column].set_title(f"{name}: k={k}, {orbit[k][1]:.2f} dB", fontsize=9)
            axes[row, column].axis("off")
        axes[row, -1].plot(counts, [orbit[k][1] for k in counts], marker="o")
        axes[row, -1].set(xscale="log", xlabel="k", ylabel="PSNR (dB)", title=f"{name}: PSNR of D^k(y)")
        axes[row, -1].grid(alpha=0.3)
        table.add(method=name, **{f"k={k}": orbit[k][1] for k in counts})
    figure.suptitle(provenance.command, fontsize=8)
    save_figure(figure, path)
    return table
