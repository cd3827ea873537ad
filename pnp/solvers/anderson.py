"""Safeguarded Anderson acceleration of a fixed-point iteration ``x = T(x)``.

Plain (Krasnosel'skii-Mann) iteration ``x_{k+1} = T(x_k)`` of an averaged T converges, but slowly
when T is close to non-expansive. Anderson acceleration (type II) extrapolates from the last
``memory`` iterates: with residuals ``g_k = T(x_k) - x_k`` and the differences
``ΔX = [x_{i+1} - x_i]``, ``ΔG = [g_{i+1} - g_i]``, it solves the small regularised least-squares
problem ``γ = argmin ‖g_k - ΔG γ‖² + λ‖γ‖²`` and proposes ``x_AA = T(x_k) - (ΔX + ΔG) γ``.

Safeguard (after Zhang, O'Donoghue and Boyd, 2020): the proposal is kept only if its residual is
at most ``decrease`` times the residual of the point it came from; otherwise the iteration falls
back to the plain step ``T(x_k)`` (one extra evaluation of T) and the memory is cleared. So the
fixed-point residual never increases, and every accepted proposal shrinks it by the factor
``decrease < 1``: the accepted extrapolations have summable residuals, the perturbation argument of
Zhang et al. applies, and the guarantee of the plain iteration is kept. In the worst case the
cost is two evaluations of T per iteration; in practice far fewer iterations are needed.

An :class:`~pnp.solvers.accelerators.Accelerator`: :class:`Anderson` holds the settings, and the
engine keeps one :class:`AndersonState` (the memory) per image of the batch, so each image
extrapolates from its own history; any tensor shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from .accelerators import Move

__all__ = ["Anderson", "AndersonState"]

_CHUNK = 1 << 20


def _dot(a: torch.Tensor, b: torch.Tensor) -> float:
    """``<a, b>`` of flat tensors, accumulated in float64 over chunks of 2^20 entries."""
    return sum(float(torch.dot(a[i : i + _CHUNK].double(), b[i : i + _CHUNK].double()))
               for i in range(0, a.numel(), _CHUNK))


@dataclass
class AndersonState:
    """Memory of one image: differences of iterates and residuals, and the pending proposal."""

    dx: list[torch.Tensor] = field(default_factory=list)
    dg: list[torch.Tensor] = field(default_factory=list)
    last_x: torch.Tensor | None = None
    last_g: torch.Tensor | None = None
    fallback: torch.Tensor | None = None  # T(x) of the point the pending proposal came from
    reference: float = float("inf")  # residual norm of that point
    accepted: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class Anderson:
    """Safeguarded type-II Anderson acceleration (settings; the per-image memory is an :class:`AndersonState`).

    Args:
        memory: how many past differences to use (m).
        regularization: λ relative to ``‖ΔG‖²`` (keeps γ bounded when ΔG is ill-conditioned).
        decrease: a proposal must have residual ``<= decrease * `` the residual it came from.
        max_bytes: budget of one image's stored differences (2 per memory slot, each the size of
            an iterate); large images use fewer than ``memory`` slots (at least one), e.g. 3 for a
            4000x3000 colour image in float32 with the default 1 GiB. None: no budget.
    """

    memory: int = 5
    regularization: float = 1e-8
    decrease: float = 0.99
    max_bytes: int | None = 1 << 30

    def __post_init__(self) -> None:
        if not isinstance(self.memory, int) or self.memory < 1:
            raise ValueError(f"memory must be a positive integer, got {self.memory!r}")
        if not 0 < self.decrease < 1:
            raise ValueError(f"decrease must lie in (0, 1), got {self.decrease}")
        if not self.regularization >= 0:
            raise ValueError(f"regularization must be >= 0, got {self.regularization}")
        if self.max_bytes is not None and self.max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive or None, got {self.max_bytes!r}")

    def new_state(self) -> AndersonState:
        return AndersonState()

    def summary(self, state: AndersonState) -> dict[str, int]:
        return {"accepted": state.accepted, "rejected": state.rejected}

    def slots(self, x: torch.Tensor) -> int:
        """How many differences are kept for an iterate like ``x``: ``memory``, or fewer within ``max_bytes``."""
        if self.max_bytes is None:
            return self.memory
        return max(1, min(self.memory, self.max_bytes // (2 * x.numel() * x.element_size())))

    def _propose(self, state: AndersonState, x: torch.Tensor, t_x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        if state.last_x is not None and state.last_g is not None:
            # the oldest differences go before the new ones are made: never m + 1 stored at once
            drop = max(len(state.dx) + 1 - self.slots(x), 0)
            del state.dx[:drop], state.dg[:drop]
            state.dx.append((x - state.last_x).flatten())
            state.dg.append((g - state.last_g).flatten())
        state.last_x, state.last_g = x, g
        if not state.dg:
            return t_x
        # the m x m system in float64 from chunked dot products: no (N, m) float64 copies, so the
        # memory stays at the 2m stored differences even for 12-megapixel images
        gram = torch.tensor([[_dot(a, b) for b in state.dg] for a in state.dg], dtype=torch.float64)
        rhs = torch.tensor([_dot(a, g.flatten()) for a in state.dg], dtype=torch.float64)
        scale = self.regularization * float(gram.diagonal().sum()) + torch.finfo(torch.float64).tiny
        gamma = torch.linalg.solve(gram + scale * torch.eye(gram.shape[0], dtype=gram.dtype), rhs).tolist()
        proposal = t_x.clone().flatten()
        for weight, dx, dg in zip(gamma, state.dx, state.dg):
            proposal.sub_(dx, alpha=weight).sub_(dg, alpha=weight)
        return proposal.view_as(t_x)

    def step(self, state: AndersonState, x: torch.Tensor, t_x: torch.Tensor,
             apply_map: Callable[[torch.Tensor], torch.Tensor]) -> Move:
        """One accelerated step of one image.

        Args:
            state: this image's memory (created by :meth:`new_state`, kept by the engine).
            x: the current point (maybe a pending proposal); ``t_x = T(x)``.
            apply_map: ``T`` on this one image, for the fallback.

        Returns:
            The accepted point (``x``, or the fallback when the proposal is rejected) as ``base``,
            its image under T, the proposal to evaluate next (also the recorded iterate), and the
            extra evaluations of T spent (0 or 1).
        """
        g = t_x - x
        residual = float(torch.linalg.vector_norm(g))
        extra = 0
        if state.fallback is not None and not residual <= self.decrease * state.reference:
            state.rejected += 1
            x, state.fallback = state.fallback, None
            state.dx.clear()
            state.dg.clear()
            state.last_x = state.last_g = None
            del g  # the rejected residual is not needed while T is applied again
            t_x = apply_map(x)
            g = t_x - x
            residual, extra = float(torch.linalg.vector_norm(g)), 1
        elif state.fallback is not None:
            state.accepted += 1
        proposal = self._propose(state, x, t_x, g)
        state.fallback = t_x if proposal is not t_x else None
        state.reference = residual
        return Move(x, t_x, proposal, proposal, extra)
