"""The batched fixed-point loop shared by every solver.

A solver supplies one map ``step(x_active, index) -> x_next`` (its fixed-point operator T,
restricted to the images ``index`` of the batch that are still iterating) and this loop does the
rest: per-image stopping on the relative fixed-point residual ``||x_{k+1} - x_k|| / ||x_k||``,
the NaN/Inf stop, the history, the optional iterates and the callbacks. Printing and progress
bars live in callbacks, never here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Protocol

import torch

from ..metrics import psnr, ssim
from .result import History, IterationRecord, Result, StopReason

__all__ = ["Callback", "StepMap", "Stopping", "run_fixed_point"]

StepMap = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``step(x_active, index)``: one application of the solver's map to the images ``index``."""

ObjectiveFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``objective(x_active, index)``: per-image objective values, shape (n_active,)."""


class Callback(Protocol):
    """Called after every iteration with its record (e.g. :class:`pnp.solvers.ProgressBar`)."""

    def __call__(self, record: IterationRecord) -> None: ...


@dataclass(frozen=True)
class Stopping:
    """When to stop: ``max_iter`` iterations, or relative residual ``<= tol`` (per image)."""

    max_iter: int = 500
    tol: float = 1e-5

    def __post_init__(self) -> None:
        if not isinstance(self.max_iter, int) or self.max_iter < 0:
            raise ValueError(f"max_iter must be a non-negative integer, got {self.max_iter!r}")
        if not self.tol >= 0:
            raise ValueError(f"tol must be >= 0, got {self.tol!r}")


def _per_image_norm(v: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(v.flatten(1), dim=1)


def _scatter(values: torch.Tensor, index: torch.Tensor, batch: int) -> torch.Tensor:
    full = torch.full((batch,), float("nan"), dtype=torch.float64)
    full[index.cpu()] = values.detach().double().cpu()
    return full


def run_fixed_point(
    step: StepMap,
    x0: torch.Tensor,
    *,
    step_size: float,
    stopping: Stopping,
    objective: ObjectiveFn | None = None,
    reference: torch.Tensor | None = None,
    callback: Callback | None = None,
    keep_iterates: bool = False,
) -> Result:
    """Iterate ``x_{k+1} = step(x_k)`` on a batch until each image stops.

    Args:
        step: the solver's map, applied to the still-active images.
        x0: initial point, (B, ...) with B >= 0.
        step_size: recorded in the history.
        stopping: iteration budget and tolerance.
        objective: per-image objective, recorded when given.
        reference: ground truth shaped like ``x0``; PSNR (and SSIM for images) are recorded.
        callback: called with each :class:`IterationRecord`.
        keep_iterates: keep every iterate (on the CPU) for :meth:`Result.distance_to`.
    """
    if reference is not None and reference.shape != x0.shape:
        raise ValueError(f"reference has shape {tuple(reference.shape)}, expected {tuple(x0.shape)}")
    batch = x0.shape[0]
    x = x0.detach().clone()
    active = torch.ones(batch, dtype=torch.bool, device=x.device)
    reasons: list[StopReason] = [StopReason.MAX_ITER] * batch
    iterations = [0] * batch
    history = History()
    iterates = [x.detach().cpu().clone()] if keep_iterates else None
    start = time.perf_counter()
    with torch.no_grad():
        for k in range(1, stopping.max_iter + 1):
            index = active.nonzero().squeeze(1)
            if index.numel() == 0:
                break
            x_active = x[index]
            x_next = step(x_active, index)
            finite = torch.isfinite(x_next.flatten(1)).all(dim=1)
            residual = _per_image_norm(x_next - x_active)
            relative = residual / _per_image_norm(x_active).clamp_min(torch.finfo(x.dtype).tiny)
            x[index[finite]] = x_next[finite]
            converged = finite & (relative <= stopping.tol)
            for image in index.tolist():
                iterations[image] = k
            for image in index[~finite].tolist():
                reasons[image] = StopReason.DIVERGED
            for image in index[converged].tolist():
                reasons[image] = StopReason.CONVERGED
            active[index[converged | ~finite]] = False
            record = IterationRecord(
                iteration=k,
                residual=_scatter(residual, index, batch),
                relative_residual=_scatter(relative, index, batch),
                objective=None if objective is None else _scatter(objective(x[index], index), index, batch),
                psnr=None if reference is None else _scatter(psnr(x[index], reference[index]), index, batch),
                ssim=None if reference is None else _scatter(ssim(x[index], reference[index]), index, batch),
                step_size=float(step_size),
                time=time.perf_counter() - start,
                active=int(index.numel()),
            )
            history.append(record)
            if iterates is not None:
                iterates.append(x.detach().cpu().clone())
            if callback is not None:
                callback(record)
    return Result(x=x, stop_reasons=tuple(reasons), iterations=tuple(iterations), history=history, iterates=iterates)
