"""What a solver returns: the estimate, why it stopped, and a typed per-iteration history."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import strict_json

__all__ = ["History", "IterationRecord", "Result", "StopReason"]


class StopReason(enum.Enum):
    """Why an iteration stopped; ``str(reason)`` tells the user what to do next."""

    CONVERGED = "converged"
    MAX_ITER = "max_iter"
    DIVERGED = "diverged"

    def __str__(self) -> str:
        return _STOP_MESSAGES[self]


_STOP_MESSAGES = {
    StopReason.CONVERGED: "converged: the relative residual fell below the tolerance",
    StopReason.MAX_ITER: (
        "iteration budget reached before the tolerance; raise max_iter or loosen tol "
        "(the residual history shows how far it was)"
    ),
    StopReason.DIVERGED: (
        "stopped on NaN/Inf; lower the step size, check the input for NaN, "
        "or use an averaged denoiser (the last finite iterate is returned)"
    ),
}
_SEVERITY = {StopReason.CONVERGED: 0, StopReason.MAX_ITER: 1, StopReason.DIVERGED: 2}


@dataclass(frozen=True)
class IterationRecord:
    """One iteration of a batched solver; per-image values are (B,) tensors, NaN for images
    that had already stopped.

    Attributes:
        iteration: 1-based iteration index k (the record describes x_k vs x_{k-1}).
        residual: ``||x_k - x_{k-1}||`` per image.
        relative_residual: ``||x_k - x_{k-1}|| / ||x_{k-1}||`` per image.
        objective: objective value at x_k where the problem has one, else None.
        psnr, ssim: against the reference image when one was given, else None.
        step_size: the gradient step tau used.
        time: seconds since the solver started.
        active: number of images still iterating at the start of this iteration.
        evaluations: cumulative evaluations of the solver's map T per image (an accelerated
            iteration may spend two); None when not tracked.
    """

    iteration: int
    residual: torch.Tensor
    relative_residual: torch.Tensor
    objective: torch.Tensor | None
    psnr: torch.Tensor | None
    ssim: torch.Tensor | None
    step_size: float
    time: float
    active: int
    evaluations: torch.Tensor | None = None


_COLUMNS = ("residual", "relative_residual", "objective", "psnr", "ssim", "evaluations")


@dataclass
class History:
    """Per-iteration records of a run; :meth:`columns` gives arrays for plotting."""

    records: list[IterationRecord] = field(default_factory=list)

    def append(self, record: IterationRecord) -> None:
        self.records.append(record)

    def __len__(self) -> int:
        return len(self.records)

    def columns(self) -> dict[str, np.ndarray]:
        """Arrays keyed by field: per-image fields have shape (K, B), scalars shape (K,).

        Fields that were never measured (objective without an objective, psnr/ssim without a
        reference) are omitted.
        """
        out: dict[str, np.ndarray] = {
            "iteration": np.array([r.iteration for r in self.records], dtype=np.int64),
            "step_size": np.array([r.step_size for r in self.records], dtype=np.float64),
            "time": np.array([r.time for r in self.records], dtype=np.float64),
        }
        for name in _COLUMNS:
            values = [getattr(r, name) for r in self.records]
            if values and values[0] is not None:
                out[name] = torch.stack(values).double().cpu().numpy()
        return out

    def to_dict(self) -> dict[str, list]:
        """JSON-ready columns (NaN becomes null)."""
        return {
            key: strict_json.finite(array.tolist()) for key, array in self.columns().items()
        }

    def to_json(self) -> str:
        return strict_json.dumps(self.to_dict())


@dataclass
class Result:
    """Outcome of a solver run on a batch of B problems.

    Attributes:
        x: the final estimate, same shape as the initial point. For an image that diverged, its
            last finite iterate.
        stop_reasons: why each image stopped.
        iterations: iterations run for each image (each image stops on its own).
        history: per-iteration :class:`History`.
        iterates: x_0, x_1, ... (on the CPU) when the solver was asked to keep them, else None.
        acceleration: per image, the accelerator's counters (Anderson: accepted and rejected
            proposals), or None for a plain run.
    """

    x: torch.Tensor
    stop_reasons: tuple[StopReason, ...]
    iterations: tuple[int, ...]
    history: History
    iterates: list[torch.Tensor] | None = None
    acceleration: tuple[dict[str, int], ...] | None = None

    @property
    def converged(self) -> bool:
        """True when every image of the batch reached the tolerance."""
        return all(reason is StopReason.CONVERGED for reason in self.stop_reasons)

    @property
    def stop_reason(self) -> StopReason:
        """The most severe stop reason over the batch (diverged > max_iter > converged)."""
        if not self.stop_reasons:
            return StopReason.CONVERGED
        return max(self.stop_reasons, key=_SEVERITY.__getitem__)

    @property
    def final_relative_residual(self) -> torch.Tensor:
        """Last relative residual of each image, (B,)."""
        if not self.history.records:
            return torch.full((len(self.stop_reasons),), float("nan"))
        stacked = torch.stack([r.relative_residual for r in self.history.records])
        nan = torch.tensor(float("nan"), dtype=stacked.dtype)
        last = [stacked[n - 1, i] if n else nan for i, n in enumerate(self.iterations)]
        return torch.stack(last) if last else torch.empty(0)

    def distance_to(self, x_ref: torch.Tensor) -> torch.Tensor:
        """``||x_k - x_ref||`` per kept iterate and image, shape (K+1, B).

        Needs ``keep_iterates=True`` at solve time. With ``x_ref`` the fixed point (from a long
        run) this is the error curve of the convergence figures.
        """
        if self.iterates is None:
            raise ValueError("distance_to needs the iterates: call the solver with keep_iterates=True")
        reference = x_ref.detach().to("cpu", torch.float64)
        return torch.stack(
            [torch.linalg.vector_norm((x.double() - reference).flatten(1), dim=1) for x in self.iterates]
        )

    def summary(self) -> str:
        """One line: stop reason, iterations, final relative residual."""
        residual = self.final_relative_residual
        worst = float(residual.max()) if residual.numel() else float("nan")
        return (
            f"{'converged' if self.converged else 'not converged'} after {max(self.iterations, default=0)} "
            f"iterations (max relative residual {worst:.2e}): {self.stop_reason}"
        )
