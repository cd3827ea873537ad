"""Classical proximal gradient methods on f(x) = 1/2 ||Ax - y||^2 plus a simple prior.

- :func:`ista`: ``x_{k+1} = S_{tau lam}(x_k - tau grad f(x_k))`` with soft thresholding
  ``S_t(v) = sign(v) max(|v| - t, 0)`` (the prox of ``t ||.||_1``); minimises
  ``f(x) + lam ||x||_1``. Converges for ``tau`` in ``(0, 2/||A||^2)``.
- :func:`fista`: the same with Nesterov/Beck-Teboulle momentum, ``t_{k+1} = (1 + sqrt(1 + 4 t_k^2))/2``,
  ``z_{k+1} = x_{k+1} + ((t_k - 1)/t_{k+1})(x_{k+1} - x_k)``; ``O(1/k^2)`` objective rate for
  ``tau <= 1/||A||^2``.
- :func:`projected_gradient`: ``x_{k+1} = P_C(x_k - tau grad f(x_k))`` for a closed convex set C given
  by its projection; every iterate is feasible.
"""

from __future__ import annotations

from typing import Callable

import torch
from deepinv.physics import LinearPhysics

from .accelerators import Momentum
from .data_fidelity import LeastSquares, check_measurements, resolve_step
from .engine import Callback, run_fixed_point
from .options import SolverOptions
from .result import Result

__all__ = ["fista", "fista_prox", "ista", "projected_gradient", "soft_threshold"]

Projection = Callable[[torch.Tensor], torch.Tensor]


def soft_threshold(v: torch.Tensor, threshold: float) -> torch.Tensor:
    """``sign(v) max(|v| - threshold, 0)``, the prox of ``threshold * ||.||_1``."""
    return torch.sign(v) * torch.clamp(v.abs() - threshold, min=0)


def _check_lam(lam: float) -> None:
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")


def ista(
    physics: LinearPhysics,
    y: torch.Tensor,
    *,
    lam: float,
    x0: torch.Tensor | None = None,
    reference: torch.Tensor | None = None,
    callback: Callback | None = None,
    options: SolverOptions = SolverOptions(),
) -> Result:
    """ISTA for ``min_x 1/2 ||Ax - y||^2 + lam ||x||_1``; the objective is recorded per iteration.

    Args:
        physics: any deepinv ``LinearPhysics`` A.
        y: measurements (B, ...).
        lam: weight of the l1 prior.
        x0: initial point (default ``A^T y``).
        reference, callback: see :func:`pnp.solvers.run_fixed_point`.
        options: the step tau (default ``1/||A||^2``; must lie in ``(0, 2/||A||^2)`` unless
            ``force``), the stopping rule and the rest (:class:`pnp.solvers.SolverOptions`).
    """
    _check_lam(lam)
    return _proximal_gradient(
        physics, y, prox=lambda v, tau: soft_threshold(v, tau * lam), prior=_l1(lam), accelerated=False,
        x0=x0, reference=reference, callback=callback, options=options,
    )


def _l1(lam: float) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: lam * x.flatten(1).abs().sum(dim=1)


def fista(
    physics: LinearPhysics,
    y: torch.Tensor,
    *,
    lam: float,
    x0: torch.Tensor | None = None,
    reference: torch.Tensor | None = None,
    callback: Callback | None = None,
    options: SolverOptions = SolverOptions(),
) -> Result:
    """FISTA for ``min_x 1/2 ||Ax - y||^2 + lam ||x||_1`` (step ``tau <= 1/||A||^2``).

    Same arguments as :func:`ista`. The momentum state is kept per image, so each image of the
    batch still stops on its own.
    """
    _check_lam(lam)
    return fista_prox(
        physics, y, prox=lambda v, tau: soft_threshold(v, tau * lam), prior=_l1(lam), x0=x0,
        reference=reference, callback=callback, options=options,
    )


def fista_prox(
    physics: LinearPhysics,
    y: torch.Tensor,
    *,
    prox: Callable[[torch.Tensor, float], torch.Tensor],
    prior: Callable[[torch.Tensor], torch.Tensor] | None = None,
    x0: torch.Tensor | None = None,
    reference: torch.Tensor | None = None,
    callback: Callback | None = None,
    options: SolverOptions = SolverOptions(),
) -> Result:
    """FISTA for ``min_x 1/2 ||Ax - y||^2 + g(x)`` with any proximal operator.

    Args:
        prox: ``prox(v, tau) = argmin_x tau g(x) + 1/2 ||x - v||^2`` (exact or a good inner solve,
            e.g. TV by deepinv's ``TVDenoiser`` with threshold ``tau * lam``).
        prior: per-image ``g(x)``, shape (B,), to record the objective; None records nothing.
        Others: as in :func:`ista` (``tau <= 1/||A||^2``).
    """
    return _proximal_gradient(
        physics, y, prox=prox, prior=prior, accelerated=True, x0=x0, reference=reference, callback=callback,
        options=options,
    )


def _proximal_gradient(
    physics: LinearPhysics,
    y: torch.Tensor,
    *,
    prox: Callable[[torch.Tensor, float], torch.Tensor],
    prior: Callable[[torch.Tensor], torch.Tensor] | None,
    accelerated: bool,
    x0: torch.Tensor | None,
    reference: torch.Tensor | None,
    callback: Callback | None,
    options: SolverOptions,
) -> Result:
    """ISTA (``accelerated=False``, ``tau < 2/L``) or FISTA (``tau <= 1/L``, per-image momentum)."""
    check_measurements(y)
    data = LeastSquares(physics, y)
    start = data.initial_point(x0)
    tau = (resolve_step(physics, start, options.step, force=options.force, limit=1.0, closed=True) if accelerated
           else resolve_step(physics, start, options.step, force=options.force))

    def prox_gradient(z: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return prox(z - tau * data.gradient(z, index), tau)

    def objective(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        assert prior is not None
        return data.value(x, index) + prior(x)

    return run_fixed_point(
        prox_gradient, start, step_size=tau, stopping=options.stopping,
        objective=None if prior is None else objective, reference=reference, callback=callback,
        keep_iterates=options.keep_iterates,
        accelerator=Momentum() if accelerated else None,
    )


def projected_gradient(
    physics: LinearPhysics,
    y: torch.Tensor,
    *,
    project: Projection,
    x0: torch.Tensor | None = None,
    reference: torch.Tensor | None = None,
    callback: Callback | None = None,
    options: SolverOptions = SolverOptions(),
) -> Result:
    """Projected gradient descent for ``min_{x in C} 1/2 ||Ax - y||^2``.

    Args:
        project: the Euclidean projection onto a closed convex set C, e.g. :class:`pnp.solvers.Box`
            or :class:`pnp.solvers.L2Ball`; applied to the initial point too, so every iterate is
            feasible.
        Others: as in :func:`ista`.
    """
    check_measurements(y)
    data = LeastSquares(physics, y)
    start = project(data.initial_point(x0))
    tau = resolve_step(physics, start, options.step, force=options.force)

    def projected_step(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return project(x - tau * data.gradient(x, index))

    return run_fixed_point(
        projected_step, start, step_size=tau, stopping=options.stopping, objective=data.value,
        reference=reference, callback=callback, keep_iterates=options.keep_iterates,
    )
