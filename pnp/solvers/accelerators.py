"""How a fixed-point run moves from one point to the next: the accelerator protocol.

The engine (:func:`pnp.solvers.run_fixed_point`) evaluates the solver's map T at a point and hands
``(state, x, T(x))`` to an :class:`Accelerator`, which answers with a :class:`Move`. An accelerator
is settings only (frozen); the per-image state it needs is created by :meth:`Accelerator.new_state`
and *owned by the engine* (one per image of the batch, dropped when the run ends), so one
accelerator object can serve any number of runs, concurrently.

Two accelerators ship:

- :class:`pnp.solvers.Anderson` -- safeguarded Anderson acceleration (the point evaluated next
  is an extrapolation; the guarantee of the plain iteration is kept by its safeguard);
- :class:`Momentum` -- the Nesterov/Beck-Teboulle momentum of FISTA,
  ``z_{k+1} = x_{k+1} + ((t_k - 1)/t_{k+1}) (x_{k+1} - x_k)``, ``t_{k+1} = (1 + sqrt(1 + 4 t_k²))/2``:
  T is evaluated at ``z``, the run records and returns ``x``. Carrying it here, rather than
  inside the solver's map, keeps every solver map memoryless, so no second accelerator can be
  stacked on a map that secretly holds state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Protocol

import torch

__all__ = ["Accelerator", "Momentum", "MomentumState", "Move"]


class Move(NamedTuple):
    """One accelerated step for one image (tensors without the batch dimension).

    Attributes:
        base: the point whose fixed-point residual ``‖T(base) − base‖`` decides convergence.
        mapped: ``T(base)``; a converged image ends here.
        point: where T is evaluated next.
        iterate: what the run records (PSNR, objective) and returns if it stops without converging.
        extra: evaluations of T spent beyond the one the engine made.
    """

    base: torch.Tensor
    mapped: torch.Tensor
    point: torch.Tensor
    iterate: torch.Tensor
    extra: int


class Accelerator(Protocol):
    """Settings of an acceleration scheme; the engine owns the per-image state (module docstring)."""

    def new_state(self) -> Any:
        """A fresh per-image state."""
        ...

    def step(self, state: Any, x: torch.Tensor, t_x: torch.Tensor,
             apply_map: Callable[[torch.Tensor], torch.Tensor]) -> Move:
        """The move from ``x`` (the point just evaluated) given ``t_x = T(x)``; ``apply_map`` is T
        on this image, for schemes that may need another evaluation."""
        ...

    def summary(self, state: Any) -> dict[str, int]:
        """Counters worth reporting once the run ends (e.g. accepted and rejected proposals)."""
        ...


@dataclass
class MomentumState:
    """The previous iterate ``x_k`` and the momentum parameter ``t_k`` of one image."""

    previous: torch.Tensor | None = None
    t: torch.Tensor | None = None
    steps: int = 0


@dataclass(frozen=True)
class Momentum:
    """FISTA's momentum (module docstring): O(1/k²) objective rate for a proximal-gradient map
    with step ``τ ≤ 1/L``. The residual reported is ``‖x_{k+1} − x_k‖``."""

    def new_state(self) -> MomentumState:
        return MomentumState()

    def step(self, state: MomentumState, x: torch.Tensor, t_x: torch.Tensor,
             apply_map: Callable[[torch.Tensor], torch.Tensor]) -> Move:
        previous = x if state.previous is None else state.previous  # z_0 = x_0
        t = torch.ones((), dtype=x.dtype, device=x.device) if state.t is None else state.t
        t_next = (1 + torch.sqrt(1 + 4 * t.square())) / 2
        point = t_x + ((t - 1) / t_next) * (t_x - previous)
        state.previous, state.t, state.steps = t_x, t_next, state.steps + 1
        return Move(previous, t_x, point, t_x, 0)

    def summary(self, state: MomentumState) -> dict[str, int]:
        return {"momentum_steps": state.steps}
