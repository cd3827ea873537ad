"""Benchmark 6: the cost of a PnP iteration, ours against deepinv's own ``PGD`` + ``PnP``.

All variants use the same denoiser, image, kernel and step; they are timed in one process, one
after the other, after a warm-up call. "Overhead" is the time per iteration beyond one bare
denoiser call.
"""

from __future__ import annotations

import time

import torch

from ..operators import Blur
from ..solvers import Anderson, Stopping, pnp_pgd
from ..tasks.deblur import Start, starting_point
from .tables import Table

__all__ = ["speed_table"]


def _timed(function) -> tuple[object, float]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    value = function()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return value, time.perf_counter() - start


def _deepinv_pgd(physics: Blur, y: torch.Tensor, denoiser, sigma: float, iterations: int, tol: float | None):
    from deepinv.optim import PGD, PnP
    from deepinv.optim.data_fidelity import L2

    model = PGD(data_fidelity=L2(), prior=PnP(denoiser=denoiser), stepsize=1.0 / float(physics.compute_sqnorm(y)),
                sigma_denoiser=sigma, max_iter=iterations, early_stop=tol is not None,
                thres_conv=tol if tol is not None else 1e-5, crit_conv="residual")
    return model(y, physics)


def speed_table(physics: Blur, y: torch.Tensor, denoiser, sigma: float, *, iterations: int, tol: float) -> Table:
    """Seconds per iteration (fixed budget) and seconds to relative residual ``tol`` (at most 60 iterations)."""
    table = Table(f"PnP iteration cost, image {tuple(y.shape)}",
                  ["variant", "seconds_per_iteration", "overhead_vs_denoiser", "seconds_to_tol", "denoiser_calls_to_tol",
                   "reached_tol"])
    with torch.inference_mode():
        denoiser(y, sigma)  # warm-up
        _, bare = _timed(lambda: [denoiser(y, sigma) for _ in range(iterations)])
        per_call = bare / iterations
        table.add(variant="bare denoiser call", seconds_per_iteration=per_call, overhead_vs_denoiser=0.0)
        budget = Stopping(max_iter=iterations, tol=0.0)
        _, ours = _timed(lambda: pnp_pgd(physics, y, denoiser, sigma=sigma, x0=y, stopping=budget))
        to_tol = Stopping(max_iter=60, tol=tol)
        plain, plain_seconds = _timed(lambda: pnp_pgd(physics, y, denoiser, sigma=sigma, x0=y, stopping=to_tol))
        fast, fast_seconds = _timed(lambda: pnp_pgd(physics, y, denoiser, sigma=sigma, x0=y, stopping=to_tol,
                                                     acceleration=Anderson()))
        table.add(variant="stable-pnp pnp_pgd", seconds_per_iteration=ours / iterations,
                  overhead_vs_denoiser=ours / iterations / per_call - 1, seconds_to_tol=plain_seconds,
                  denoiser_calls_to_tol=plain.iterations[0], reached_tol=plain.converged)
        table.add(variant="stable-pnp pnp_pgd + Anderson", seconds_to_tol=fast_seconds,
                  denoiser_calls_to_tol=int(fast.history.columns()["evaluations"][-1, 0]), reached_tol=fast.converged)

        def default():  # what pnp deblur runs: Tikhonov start, then Anderson
            x0 = starting_point(physics, y, sigma, Start.TIKHONOV)
            return pnp_pgd(physics, y, denoiser, sigma=sigma, x0=x0, stopping=to_tol, acceleration=Anderson())

        best, best_seconds = _timed(default)
        table.add(variant="stable-pnp Tikhonov start + Anderson (pnp deblur)", seconds_to_tol=best_seconds,
                  denoiser_calls_to_tol=int(best.history.columns()["evaluations"][-1, 0]), reached_tol=best.converged)
        _, theirs = _timed(lambda: _deepinv_pgd(physics, y, denoiser, sigma, iterations, None))
        _, theirs_to_tol = _timed(lambda: _deepinv_pgd(physics, y, denoiser, sigma, 60, tol))
        table.add(variant="deepinv PGD + PnP", seconds_per_iteration=theirs / iterations,
                  overhead_vs_denoiser=theirs / iterations / per_call - 1, seconds_to_tol=theirs_to_tol)
    return table
