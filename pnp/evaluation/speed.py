"""Benchmark 6: the cost of a PnP iteration, ours against deepinv's own ``PGD`` + ``PnP``.

All variants use the same denoiser, image, kernel and step, in one process. Timings are
interleaved (bare denoiser calls, our iterations, deepinv's iterations, again and again) and the
median over the repeats is reported, so a slow moment of a shared machine does not land on one
variant only. The *overhead* of a solver is its time per iteration beyond the denoiser call,
measured two ways: against the median bare call (``overhead_vs_denoiser``, a ratio) and directly,
by timing the denoiser calls inside the solver (``solver_ms_per_iteration``: the milliseconds per
iteration spent outside the denoiser, insensitive to the denoiser's own jitter).

On a GPU the table adds iterations per second for one image and for a batch of 16, and the
precision variants (TF32 matmuls/convolutions, bfloat16 autocast) with their PSNR change.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, TypeVar
from dataclasses import dataclass

import torch

from ..device import Precision, precision
from ..metrics import psnr
from ..operators import Blur
from ..solvers import Anderson, SolverOptions, Stopping, pnp_pgd
from ..tasks.deblur import Start, starting_point
from .tables import Table

__all__ = ["precision_rows", "speed_table"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


T = TypeVar("T")


def _timed(function: Callable[[], T], device: torch.device) -> tuple[T, float]:
    _sync(device)
    start = time.perf_counter()
    value = function()
    _sync(device)
    return value, time.perf_counter() - start


class _TimedDenoiser(torch.nn.Module):
    """The same denoiser, with the wall time of its calls added up in ``seconds``; extra arguments
    (deepinv's ``PnP`` passes some) are ignored, as every denoiser of this package ignores them."""

    def __init__(self, denoiser) -> None:
        super().__init__()
        self.denoiser, self.seconds = denoiser, 0.0

    def forward(self, x: torch.Tensor, sigma, *args, **kwargs) -> torch.Tensor:
        _sync(x.device)
        start = time.perf_counter()
        out = self.denoiser(x, sigma)
        _sync(x.device)
        self.seconds += time.perf_counter() - start
        return out


def _deepinv_pgd(physics: Blur, y: torch.Tensor, denoiser, sigma: float, iterations: int, tol: float | None):
    from deepinv.optim import PGD, PnP
    from deepinv.optim.data_fidelity import L2

    model = PGD(data_fidelity=L2(), prior=PnP(denoiser=denoiser), stepsize=1.0 / float(physics.compute_sqnorm(y)),
                sigma_denoiser=sigma, max_iter=iterations, early_stop=tol is not None,
                thres_conv=tol if tol is not None else 1e-5, crit_conv="residual")
    return model(y, physics)


@dataclass
class _Samples:
    per_iteration: list[float]
    outside_denoiser: list[float]

    def add(self, total: float, in_denoiser: float, iterations: int) -> None:
        self.per_iteration.append(total / iterations)
        self.outside_denoiser.append((total - in_denoiser) / iterations)


def speed_table(physics: Blur, y: torch.Tensor, denoiser, sigma: float, *, iterations: int, tol: float,
                repeats: int = 5) -> Table:
    """Seconds per iteration (``repeats`` interleaved runs of ``iterations``, medians) and seconds to
    relative residual ``tol`` (at most 60 denoiser calls)."""
    device = y.device
    table = Table(f"PnP iteration cost, image {tuple(y.shape)}",
                  ["variant", "seconds_per_iteration", "overhead_vs_denoiser", "solver_ms_per_iteration",
                   "seconds_to_tol", "denoiser_calls_to_tol", "reached_tol"])
    timed = _TimedDenoiser(denoiser)
    budget = SolverOptions(Stopping(max_iter=iterations, tol=0.0))
    with torch.inference_mode():
        denoiser(y, sigma)  # warm-up, then the interleaved repeats
        pnp_pgd(physics, y, timed, sigma=sigma, x0=y, options=SolverOptions(Stopping(1, 0.0)))
        _deepinv_pgd(physics, y, timed, sigma, 1, None)
        bare: list[float] = []
        ours, theirs = _Samples([], []), _Samples([], [])
        for _ in range(repeats):
            _, seconds = _timed(lambda: [denoiser(y, sigma) for _ in range(iterations)], device)
            bare.append(seconds / iterations)
            for samples, run in ((ours, lambda: pnp_pgd(physics, y, timed, sigma=sigma, x0=y, options=budget)),
                                 (theirs, lambda: _deepinv_pgd(physics, y, timed, sigma, iterations, None))):
                timed.seconds = 0.0
                _, seconds = _timed(run, device)
                samples.add(seconds, timed.seconds, iterations)
        per_call = statistics.median(bare)
        table.add(variant="bare denoiser call", seconds_per_iteration=per_call, overhead_vs_denoiser=0.0)
        to_tol = SolverOptions(Stopping(max_iter=60, tol=tol))
        plain, plain_seconds = _timed(lambda: pnp_pgd(physics, y, denoiser, sigma=sigma, x0=y, options=to_tol), device)
        table.add(variant="stable-pnp pnp_pgd", seconds_per_iteration=statistics.median(ours.per_iteration),
                  overhead_vs_denoiser=statistics.median(ours.per_iteration) / per_call - 1,
                  solver_ms_per_iteration=1000 * statistics.median(ours.outside_denoiser),
                  seconds_to_tol=plain_seconds, denoiser_calls_to_tol=plain.iterations[0], reached_tol=plain.converged)
        fast, fast_seconds = _timed(lambda: pnp_pgd(physics, y, denoiser, sigma=sigma, x0=y, options=to_tol,
                                                    acceleration=Anderson()), device)
        table.add(variant="stable-pnp pnp_pgd + Anderson", seconds_to_tol=fast_seconds,
                  denoiser_calls_to_tol=int(fast.history.columns()["evaluations"][-1, 0]), reached_tol=fast.converged)

        def default():  # what pnp deblur runs: Tikhonov start, then Anderson
            x0 = starting_point(physics, y, sigma, Start.TIKHONOV)
            return pnp_pgd(physics, y, denoiser, sigma=sigma, x0=x0, options=to_tol, acceleration=Anderson())

        best, best_seconds = _timed(default, device)
        table.add(variant="stable-pnp Tikhonov start + Anderson (pnp deblur)", seconds_to_tol=best_seconds,
                  denoiser_calls_to_tol=int(best.history.columns()["evaluations"][-1, 0]), reached_tol=best.converged)
        _, theirs_to_tol = _timed(lambda: _deepinv_pgd(physics, y, denoiser, sigma, 60, tol), device)
        table.add(variant="deepinv PGD + PnP", seconds_per_iteration=statistics.median(theirs.per_iteration),
                  overhead_vs_denoiser=statistics.median(theirs.per_iteration) / per_call - 1,
                  solver_ms_per_iteration=1000 * statistics.median(theirs.outside_denoiser),
                  seconds_to_tol=theirs_to_tol)
    table.notes.append(f"Per-iteration figures: medians of {repeats} interleaved runs of {iterations} iterations; "
                       "solver_ms_per_iteration = time per iteration outside the denoiser calls (timed inside the "
                       "solver). Time to tolerance: one run each, at most 60 denoiser calls.")
    return table


def precision_rows(physics: Blur, y: torch.Tensor, sharp: torch.Tensor, denoiser, sigma: float, *,
                   iterations: int, batch: int = 16, precisions: tuple[Precision, ...] = tuple(Precision)) -> Table:
    """Iterations per second of plain PnP for one image and a batch of ``batch``, per precision, and
    the PSNR of the ``iterations``-th iterate against the fp32 one (the change a precision makes)."""
    device = y.device
    table = Table(f"PnP iterations per second by precision, image {tuple(y.shape[1:])}",
                  ["precision", "batch", "iterations_per_second", "images_per_second", "psnr", "psnr_change_vs_fp32"])
    reference = None
    for choice in precisions:
        if choice is Precision.TF32 and device.type != "cuda":
            continue
        for size in (1, batch):
            stacked = y.expand(size, *y.shape[1:]).contiguous()
            budget = SolverOptions(Stopping(max_iter=iterations, tol=0.0))
            with torch.inference_mode(), precision(choice, device):
                pnp_pgd(physics, stacked, denoiser, sigma=sigma, x0=stacked, options=SolverOptions(Stopping(2, 0.0)))  # warm-up
                result, seconds = _timed(lambda: pnp_pgd(physics, stacked, denoiser, sigma=sigma, x0=stacked,
                                                         options=budget), device)
            value = float(psnr(result.x[:1].float().clamp(0, 1), sharp)[0])
            if choice is Precision.FP32 and size == 1:
                reference = value
            table.add(precision=choice.value, batch=size, iterations_per_second=iterations / seconds,
                      images_per_second=size * iterations / seconds, psnr=value,
                      psnr_change_vs_fp32=None if reference is None else value - reference)
    table.notes.append(f"Plain PnP-PGD (no acceleration), {iterations} iterations from y, timed after 2 warm-up "
                       "iterations; PSNR of the final iterate of the first image against the sharp image.")
    return table


def seconds_per_call(denoiser, *, sigma: float = 0.01, size: tuple[int, int] = (321, 481), repeats: int = 3) -> float:
    """Mean seconds of one call of ``denoiser`` on a (1, 3, H, W) random image, after a warm-up call (CPU)."""
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        denoiser(x, sigma)
        start = time.perf_counter()
        for _ in range(repeats):
            denoiser(x, sigma)
    return (time.perf_counter() - start) / repeats
