"""Figures of the toy experiment, written as PNG files atomically.

Uses :class:`matplotlib.figure.Figure` directly (the Agg renderer, no pyplot state), so it works
headless and from several threads. Each figure is rendered into memory and written through a
temporary file in the target folder and a rename (:func:`pnp.io.atomic_write_bytes`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from ..plotting import save_figure
from .classical import filled_history
from .results import ToyResults
from .tikhonov import tau_for_lipschitz, tikhonov_lipschitz

__all__ = ["FIGURES", "write_figures"]

_DPI = 130
_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


def _save(fig: Figure, path: Path) -> Path:
    return save_figure(fig, path, dpi=_DPI)


def _finish_log_axes(ax, xlabel: str, ylabel: str, title: str, *, legend_size: int = 8, ncol: int = 1) -> None:
    """Labels, title, log-scale grid and legend of a one-panel curve figure."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=legend_size, ncol=ncol)


def _arc_curve(results: ToyResults) -> np.ndarray:
    arc = results.data.arc
    angles = torch.linspace(arc.t0, arc.t1, 200, dtype=torch.float64)
    return arc.points(angles).numpy()


def _scatter_panel(ax, results: ToyResults, estimate: torch.Tensor, title: str, limit: float) -> None:
    """Test estimates (dots) linked to their ground truths, with the arc."""
    truth, est = results.data.x_test.numpy(), estimate.detach().numpy()
    shown = slice(0, min(150, truth.shape[0]))
    links = [np.stack((a, b)) for a, b in zip(truth[shown], est[shown])]
    ax.add_collection(LineCollection(links, colors="0.8", linewidths=0.5, zorder=1))
    ax.scatter(est[:, 0], est[:, 1], s=4, color="tab:red", alpha=0.5, label="estimate", zorder=2)
    curve = _arc_curve(results)
    ax.plot(curve[:, 0], curve[:, 1], color="k", lw=1.2, label="arc of x†", zorder=3)
    ax.set_title(title, fontsize=9)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)


def _limit(*tensors: torch.Tensor) -> float:
    values = torch.cat([t.detach().abs().flatten() for t in tensors])
    return float(torch.quantile(values, 0.99)) * 1.1 + 0.1


def figure_data(results: ToyResults, path: Path) -> Path:
    """Ground truths on the arc, clean and noisy measurements of the training set."""
    data = results.data
    fig = Figure(figsize=(10, 4.6))
    left, right = fig.subplots(1, 2)
    left.scatter(*data.x_test.T.numpy(), s=3, color="0.6", label=f"test ({data.x_test.shape[0]})")
    left.scatter(*data.x_train.T.numpy(), s=10, color="tab:blue", label=f"train ({data.x_train.shape[0]})")
    left.set_title("ground truths x† on an arc", fontsize=10)
    clean = data.physics.A(data.x_train)
    right.scatter(*clean.T.numpy(), s=8, color="tab:blue", label="A x† (train)")
    right.scatter(*data.y_train.T.numpy(), s=8, color="tab:red", label=f"y = A x† + z, σ = {data.noise_level:g}")
    right.set_title("measurements", fontsize=10)
    for ax in (left, right):
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def figure_naive(results: ToyResults, path: Path) -> Path:
    """Naive inversion of the test measurements: the noise is amplified along (1, -1)."""
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    estimate = results.estimates["naive"]
    row = results.row("naive")
    _scatter_panel(ax, results, estimate, f"naive inversion A⁻¹y, test MSE {row.test_mse:.3f}", _limit(estimate))
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def figure_tau_search(results: ToyResults, path: Path) -> Path:
    """Training MSE of Tikhonov along the logarithmic tau grid."""
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    ax.loglog(results.grid.taus.numpy(), results.grid.errors.numpy(), ".-", label="training MSE")
    ax.axvline(results.tau_star, color="tab:red", ls="--", label=f"τ* = {results.tau_star:.3g}")
    ax.axhline(results.row("naive").train_mse, color="0.5", ls=":", label="naive inversion")
    _finish_log_axes(ax, "τ", "MSE", "Tikhonov: grid search for τ on the training set")
    return _save(fig, path)


def figure_lipschitz(results: ToyResults, path: Path) -> Path:
    """``L(tau) = max_i s_i/(s_i^2 + tau)`` with the compared levels marked."""
    svals = torch.tensor(results.singular_values, dtype=torch.float64)
    taus = results.grid.taus
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    ax.loglog(taus.numpy(), tikhonov_lipschitz(svals, taus).numpy(), color="k", label="L(τ)")
    ax.axhline(1 / min(results.singular_values), color="0.5", ls=":", label="1/σ_min (naive)")
    tikhonov_rows = [r for r in results.rows if r.method == "tikhonov"]
    for colour, row in zip(_COLOURS, tikhonov_rows):
        if row.lipschitz is None:
            continue
        tau = tau_for_lipschitz(svals, row.lipschitz)
        if tau > 0:
            ax.plot([tau], [row.lipschitz], "o", color=colour, label=f"{row.label.split(', ')[1]} = {row.lipschitz:.3g}")
    _finish_log_axes(ax, "τ", "Lipschitz constant", "Lipschitz constant of the Tikhonov map")
    return _save(fig, path)


def _triple(results: ToyResults, method: str, path: Path, title: str) -> Path:
    rows = [r for r in results.rows if r.method == method]
    fig = Figure(figsize=(4.2 * len(rows), 4.4))
    axes = np.atleast_1d(fig.subplots(1, len(rows)))
    limit = _limit(results.data.x_test, *(results.estimates[r.key] for r in rows))
    for ax, row in zip(axes, rows):
        _scatter_panel(ax, results, results.estimates[row.key],
                       f"{row.label} ({row.lipschitz:.3g})\ntest MSE {row.test_mse:.4f}", limit)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def figure_tikhonov(results: ToyResults, path: Path) -> Path:
    """Tikhonov reconstructions of the test set for the compared Lipschitz levels."""
    return _triple(results, "tikhonov", path, "Tikhonov (A^TA + τI)^-1 A^T y")


def figure_invnet(results: ToyResults, path: Path) -> Path:
    """InvNet_L reconstructions of the test set for the compared Lipschitz levels."""
    return _triple(results, "invnet", path, "InvNet_L = c · project ∘ Φ_5 ∘ … ∘ Φ_1 ∘ lift")


def figure_training(results: ToyResults, path: Path) -> Path:
    """Training (solid) and monitored test (dashed) MSE of each InvNet along Adam's iterations."""
    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    for colour, (key, curve) in zip(_COLOURS, results.curves.items()):
        ax.semilogy(np.array(curve.steps) + 1, curve.train_mse, color=colour, lw=1, label=f"{key} train")
        ax.semilogy(curve.test_steps, curve.test_mse, color=colour, ls="--", lw=1, label=f"{key} test")
    ax.axhline(results.row("tikhonov[L*]").test_mse, color="k", ls=":", label="Tikhonov τ*, test")
    _finish_log_axes(ax, "Adam iteration", "MSE", "InvNet training curves", legend_size=7, ncol=2)
    return _save(fig, path)


def figure_solvers(results: ToyResults, path: Path) -> Path:
    """ISTA and projected GD: mean objective and relative residual per iteration, trajectories."""
    fig = Figure(figsize=(14, 4.4))
    objective_ax, residual_ax, path_ax = fig.subplots(1, 3)
    for colour, run in zip(_COLOURS, results.solver_runs.values()):
        objective = filled_history(run.result, "objective").mean(axis=1)
        residual = filled_history(run.result, "relative_residual").mean(axis=1)
        steps = np.arange(1, objective.shape[0] + 1)
        objective_ax.loglog(steps, objective, color=colour, label=run.label)
        residual_ax.semilogy(steps, residual, color=colour, label=run.label)
        iterates = torch.stack(run.result.iterates or [])[:, :3].numpy()
        for index in range(iterates.shape[1]):
            path_ax.plot(iterates[:, index, 0], iterates[:, index, 1], color=colour, lw=1,
                         label=run.label if index == 0 else None)
            path_ax.plot(iterates[-1, index, 0], iterates[-1, index, 1], "o", color=colour, ms=4)
    truth = results.data.x_test[:3].numpy()
    path_ax.plot(truth[:, 0], truth[:, 1], "k*", ms=10, label="x†")
    curve = _arc_curve(results)
    path_ax.plot(curve[:, 0], curve[:, 1], color="k", lw=0.8)
    objective_ax.set_title("mean objective (test set)", fontsize=10)
    residual_ax.set_title("mean relative residual ‖x_k+1 − x_k‖/‖x_k‖", fontsize=10)
    path_ax.set_title("iterates for three test points (from Aᵀy)", fontsize=10)
    path_ax.set_aspect("equal")
    for ax in (objective_ax, residual_ax):
        ax.set_xlabel("iteration")
    for ax in (objective_ax, residual_ax, path_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path)


FIGURES = {
    "data.png": figure_data,
    "naive.png": figure_naive,
    "tau_search.png": figure_tau_search,
    "lipschitz.png": figure_lipschitz,
    "tikhonov.png": figure_tikhonov,
    "invnet.png": figure_invnet,
    "training.png": figure_training,
    "solvers.png": figure_solvers,
}
"""File name -> function ``(results, path) -> path`` of every figure."""


def write_figures(results: ToyResults, out: str | Path) -> list[Path]:
    """Write every figure of :data:`FIGURES` into the folder ``out``; returns the paths."""
    out = Path(out)
    return [draw(results, out / name) for name, draw in FIGURES.items()]
