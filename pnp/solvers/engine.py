"""The batched fixed-point loop shared by every solver.

A solver supplies one memoryless map ``operator(x_active, index) -> T(x_active)`` (its fixed-point
operator T, restricted to the images ``index`` of the batch that are still iterating) and this loop
does the rest: per-image stopping on the relative fixed-point residual ``||T(x_k) - x_k|| / ||x_k||``,
the NaN/Inf stop, the history, the optional iterates and the callbacks. How the run moves between
points beyond ``x_{k+1} = T(x_k)`` (Anderson extrapolation, FISTA's momentum) is an
:class:`~pnp.solvers.accelerators.Accelerator`, whose per-image state this loop owns. Printing and
progress bars live in callbacks, never here. (``step_size`` is the solver's τ, recorded in the
history; the map is the operator.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import torch

from ..metrics import psnr, ssim
from .accelerators import Accelerator
from .result import History, IterationRecord, Result, StopReason

__all__ = ["Callback", "FixedPointMap", "Stopping", "run_fixed_point"]

FixedPointMap = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``operator(x_active, index)``: one application of the solver's map T to the images ``index``."""

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
            raise ValueError(f"max_iter (pnp: --iters) must be a non-negative integer, got {self.max_iter!r}")
        if not self.tol >= 0:
            raise ValueError(f"tol (pnp: --tol) must be >= 0, got {self.tol!r}")


def _per_image_norm(v: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(v.flatten(1), dim=1)


def _scatter(values: torch.Tensor, index: torch.Tensor, batch: int) -> torch.Tensor:
    full = torch.full((batch,), float("nan"), dtype=torch.float64)
    full[index.cpu()] = values.detach().double().cpu()
    return full


def _expand(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.view(-1, *([1] * (like.ndim - 1)))


def _advance(
    operator: FixedPointMap, point: torch.Tensor, index: torch.Tensor, accelerator: Accelerator | None,
    states: dict[int, Any],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(base, T(base), next point, iterate, extra evaluations)`` for the active images."""
    mapped = operator(point, index)
    extra = torch.zeros(point.shape[0], dtype=torch.int64, device=point.device)
    if accelerator is None:
        return point, mapped, mapped, mapped, extra
    moves = []
    for row, image in enumerate(index.tolist()):
        single = index[row : row + 1]
        state = states.setdefault(image, accelerator.new_state())
        def on_image(v: torch.Tensor, single: torch.Tensor = single) -> torch.Tensor:
            return operator(v[None], single)[0]

        move = accelerator.step(state, point[row], mapped[row], on_image)
        moves.append(move)
        extra[row] = move.extra
    columns = list(zip(*moves))
    return (*(_batch(list(column)) for column in columns[:4]), extra)  # type: ignore[return-value]


def _batch(rows: list[torch.Tensor]) -> torch.Tensor:
    """``torch.stack(rows)``, as a view (no copy) for a single image: large images are one-image batches."""
    return rows[0].unsqueeze(0) if len(rows) == 1 else torch.stack(rows)


def run_fixed_point(
    operator: FixedPointMap,
    x0: torch.Tensor,
    *,
    step_size: float,
    stopping: Stopping,
    objective: ObjectiveFn | None = None,
    reference: torch.Tensor | None = None,
    callback: Callback | None = None,
    keep_iterates: bool = False,
    accelerator: Accelerator | None = None,
) -> Result:
    """Iterate ``x_{k+1} = T(x_k)`` (``T = operator``) on a batch until each image stops.

    The residual that decides convergence is the fixed-point residual ``‖T(x_k) − x_k‖`` (relative
    to ``‖x_k‖``); for the plain iteration it is ``‖x_{k+1} − x_k‖``. An image that converges ends
    at ``T(x_k)``.

    Args:
        operator: the solver's map T, memoryless, applied to the still-active images.
        x0: initial point, (B, ...) with B >= 0.
        step_size: recorded in the history.
        stopping: iteration budget and tolerance.
        objective: per-image objective, recorded when given.
        reference: ground truth shaped like ``x0``; PSNR (and SSIM for images) are recorded.
        callback: called with each :class:`IterationRecord`.
        keep_iterates: keep every iterate (on the CPU) for :meth:`Result.distance_to`.
        accelerator: e.g. :class:`pnp.solvers.Anderson` (its safeguard keeps the guarantee of the
            plain iteration) or FISTA's :class:`~pnp.solvers.accelerators.Momentum`; its per-image
            state lives for this run only, and its counters end in ``Result.acceleration``.
            ``history`` then records the evaluations of T per image.
    """
    if reference is not None and reference.shape != x0.shape:
        raise ValueError(f"reference has shape {tuple(reference.shape)}, expected {tuple(x0.shape)}")
    batch = x0.shape[0]
    x = x0.detach().clone()
    point = x  # where T is evaluated next: the iterate itself unless an accelerator moves elsewhere
    states: dict[int, Any] = {}
    active = torch.ones(batch, dtype=torch.bool, device=x.device)
    reasons: list[StopReason] = [StopReason.MAX_ITER] * batch
    iterations = [0] * batch
    history = History()
    iterates = [x.detach().cpu().clone()] if keep_iterates else None
    evaluations = torch.zeros(batch, dtype=torch.int64, device=x.device)
    start = time.perf_counter()
    with torch.no_grad():
        for k in range(1, stopping.max_iter + 1):
            index = active.nonzero().squeeze(1)
            if index.numel() == 0:
                break
            everything = index.numel() == batch
            p_active = point if everything else point[index]  # no copy while every image iterates
            base, mapped, p_next, x_next, extra = _advance(operator, p_active, index, accelerator, states)
            evaluations[index] += 1 + extra
            residual = _per_image_norm(mapped - base)
            finite = torch.isfinite(residual)  # base is finite, so this is "T(base) is finite", in one pass
            relative = residual / _per_image_norm(base).clamp_min(torch.finfo(x.dtype).tiny)
            converged = finite & (relative <= stopping.tol)
            # converged images end at T(x_k); the others go on from the next point
            if bool(converged.any()):
                x_next = torch.where(_expand(converged, x_next), mapped, x_next)
                p_next = x_next if accelerator is None else torch.where(_expand(converged, p_next), mapped, p_next)
            safe = finite
            if accelerator is not None:
                safe = safe & torch.isfinite(x_next.flatten(1)).all(dim=1) & torch.isfinite(p_next.flatten(1)).all(dim=1)
            x = _updated(x, x_next, index, safe, everything)
            point = x if accelerator is None else _updated(point, p_next, index, safe, everything)
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
                evaluations=_scatter(evaluations[index].double(), index, batch),
            )
            history.append(record)
            if iterates is not None:
                iterates.append(x.detach().cpu().clone())
            if callback is not None:
                callback(record)
    acceleration = None if accelerator is None else tuple(
        accelerator.summary(states[i]) if i in states else {} for i in range(batch))
    return Result(x=x, stop_reasons=tuple(reasons), iterations=tuple(iterations), history=history, iterates=iterates,
                  acceleration=acceleration)


def _updated(current: torch.Tensor, new: torch.Tensor, index: torch.Tensor, safe: torch.Tensor,
             everything: bool) -> torch.Tensor:
    """``current`` with the safe rows of ``index`` replaced by ``new``, keeping its dtype."""
    if everything and bool(safe.all()):
        # rebound, never written into (an accelerator may hold views of old iterates); the
        # iterate keeps the dtype of x0 whatever precision the map computed in
        return new if new.dtype == current.dtype else new.to(current.dtype)
    current = current.clone() if everything else current
    current[index[safe]] = new[safe].to(current.dtype)
    return current
