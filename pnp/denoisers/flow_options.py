"""Options of a gradient-flow block: step rules, integrators, activations, and the schedule rule.

See :mod:`pnp.denoisers.flow` for the mathematics; these are the plain values it is configured with.
"""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass

from ..choices import Symmetry

__all__ = ["Activation", "BlockSchedule", "FlowConfig", "Integrator", "ScheduleError", "StepRule", "Symmetry",
           "fixed_time_schedule"]


class StepRule(str, enum.Enum):
    """How a block chooses its sub-step size h (module docstring)."""

    LEARNED_STEP = "learned_step"
    FIXED_TIME = "fixed_time"


class Integrator(str, enum.Enum):
    """Time stepping of the block's flow; only EULER and HEUN are certified averaged."""

    EULER = "euler"
    HEUN = "heun"
    RK4 = "rk4"


class Activation(str, enum.Enum):
    """Monotone 1-Lipschitz activation s in ``F(z) = -W^T s(Wz + b)``."""

    RELU = "relu"
    LEAKY_RELU = "leaky_relu"


class ScheduleError(ValueError):
    """A stored step size violates ``h ||W||^2 <= 2 (1 - margin)`` with the rigorous norm bound."""


@dataclass(frozen=True)
class FlowConfig:
    """Options of every block of an :class:`~pnp.denoisers.EulerDenoiser`.

    Attributes:
        step_rule: ``FIXED_TIME`` (default) or ``LEARNED_STEP``.
        time: flow time T per block (FIXED_TIME).
        max_substeps: cap on n (FIXED_TIME); None for no cap.
        init_step: initial h (LEARNED_STEP), before the clamp.
        substeps: number of sub-steps n (LEARNED_STEP).
        margin: delta in ``h ||W||^2 <= 2 (1 - delta)``, in (0, 1).
        integrator: EULER (default), HEUN or RK4.
        activation: RELU (default) or LEAKY_RELU with ``negative_slope`` in [0, 1].
        power_size: side of the (1, C, s, s) power-method vector.
        power_iterations: power iterations per training forward.
        power_safety: factor (>= 1) on the power estimate of ``||W||`` in training mode.
        bound_tol: relative tolerance of the rigorous bound's branch-and-bound.
        symmetry: ``NONE`` (default) or ``FLIPS`` (flip-equivariant blocks; hidden width a multiple of 4).
    """

    step_rule: StepRule = StepRule.FIXED_TIME
    time: float = 1.0
    max_substeps: int | None = None
    init_step: float = 1.0
    substeps: int = 1
    margin: float = 0.01
    integrator: Integrator = Integrator.EULER
    activation: Activation = Activation.RELU
    negative_slope: float = 0.01
    power_size: int = 32
    power_iterations: int = 1
    power_safety: float = 1.0
    bound_tol: float = 1e-3
    symmetry: Symmetry = Symmetry.NONE

    def __post_init__(self) -> None:
        for name, kind in (("step_rule", StepRule), ("integrator", Integrator), ("activation", Activation),
                           ("symmetry", Symmetry)):
            object.__setattr__(self, name, kind(getattr(self, name)))
        checks = {
            "time": self.time > 0 and math.isfinite(self.time),
            "init_step": self.init_step > 0 and math.isfinite(self.init_step),
            "substeps": isinstance(self.substeps, int) and self.substeps >= 1,
            "max_substeps": self.max_substeps is None or (isinstance(self.max_substeps, int) and self.max_substeps >= 1),
            "margin": 0 < self.margin < 1,
            "negative_slope": 0 <= self.negative_slope <= 1,
            "power_size": isinstance(self.power_size, int) and self.power_size >= 3,
            "power_iterations": isinstance(self.power_iterations, int) and self.power_iterations >= 1,
            "power_safety": self.power_safety >= 1,
            "bound_tol": self.bound_tol > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"FlowConfig.{name} is invalid: {getattr(self, name)!r}")

    @property
    def step_limit_factor(self) -> float:
        """``2 (1 - margin)``: the bound on ``h ||W||^2``."""
        return 2.0 * (1.0 - self.margin)

    def to_dict(self) -> dict:
        """JSON-ready fields; ``symmetry`` only when not ``NONE``, so older cards read the same."""
        fields = {k: (v.value if isinstance(v, enum.Enum) else v) for k, v in asdict(self).items()}
        if self.symmetry is Symmetry.NONE:
            del fields["symmetry"]
        return fields


@dataclass(frozen=True)
class BlockSchedule:
    """Sub-step count n and size h of a block, and the ``L = ||W||^2`` they were derived from."""

    substeps: int
    step: float
    lipschitz: float


def fixed_time_schedule(lipschitz: float, config: FlowConfig) -> BlockSchedule:
    """Rule (b): ``n = ceil(T L / (2(1 - delta)))`` (capped), ``h = T / n`` or the limit at the cap."""
    limit = config.step_limit_factor / lipschitz if lipschitz > 0 else math.inf
    n = max(1, math.ceil(config.time / limit))
    if config.max_substeps is not None and n > config.max_substeps:
        return BlockSchedule(config.max_substeps, limit, lipschitz)
    while (config.time / n) * lipschitz > config.step_limit_factor:  # float rounding guard
        n += 1
    return BlockSchedule(n, config.time / n, lipschitz)
