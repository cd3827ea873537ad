"""What every solver shares, in one frozen object.

Each solver of :mod:`pnp.solvers` takes the measurements and its own prior (a denoiser, a
proximal map, a projection) as arguments, the per-run observers (``reference``, ``callback``) as
keywords, and everything else it has in common with the others through :class:`SolverOptions`:
the gradient step τ, when to stop, whether to keep the iterates, and whether to run outside the
convergent range. Variants are built with :func:`dataclasses.replace`, so an options object can be
shared between runs without one run changing another.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine import Stopping

__all__ = ["SolverOptions"]


@dataclass(frozen=True)
class SolverOptions:
    """Settings shared by :func:`~pnp.solvers.pnp_pgd`, :func:`~pnp.solvers.ista`,
    :func:`~pnp.solvers.fista`, :func:`~pnp.solvers.fista_prox` and
    :func:`~pnp.solvers.projected_gradient`.

    Attributes:
        stopping: iteration budget and tolerance on the relative fixed-point residual, per image.
        step: the gradient step τ on ``f(x) = 1/2 ||Ax - y||^2``; None takes ``1/||A||^2``. Each
            solver checks it against its convergent range (``(0, 2/||A||^2)``, FISTA ``(0, 1/||A||^2]``).
        keep_iterates: keep every iterate (on the CPU) for :meth:`pnp.solvers.Result.distance_to`.
        force: run even with a step or relaxation outside the convergent range (``pnp ... --force``);
            the result then carries no guarantee.
    """

    stopping: Stopping = Stopping()
    step: float | None = None
    keep_iterates: bool = False
    force: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.stopping, Stopping):
            raise TypeError(f"stopping must be a Stopping(max_iter, tol), got {self.stopping!r}")
