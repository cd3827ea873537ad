"""One gradient-flow block of the Euler denoiser: options, step rules, integrators.

The block integrates ``dz/dt = F(z) = -W^T s(W z + b)`` on (B, C, H, W) feature maps, with W a 3x3
convolution C -> C (zero padding, bias; optionally dilated, its taps ``d`` pixels apart, which
widens what a block sees at the same cost and leaves the norm bound unchanged,
:mod:`pnp.denoisers.spectral`) and W^T its exact adjoint (the transposed convolution
with the same weights), s = ReLU or LeakyReLU. F is minus the gradient of the convex potential
``1^T g(Wz + b)`` (g' = s, s monotone and 1-Lipschitz), which is L-smooth with ``L = ||W||^2``, so
one explicit Euler sub-step ``E_h = I + h F`` is a gradient step: (h L / 2)-averaged for
``0 < h < 2 / L``. Every rule below keeps ``h L <= 2 (1 - margin)``.

Step rules (:class:`StepRule`):

- ``LEARNED_STEP`` (a): a learnable step ``h = min(exp(log_step), 2 (1 - margin) / L)`` and a fixed
  number ``substeps`` of sub-steps; the clamp is differentiable in ``W``. Cheap (n fixed), but the
  optimiser can grow ``||W||``, which shrinks the clamp and hence the flow time ``n h``.
- ``FIXED_TIME`` (b, **default**): a fixed flow time T per block and
  ``n = ceil(T L / (2 (1 - margin)))`` sub-steps of ``h = T / n``, so a block keeps its effect as
  ``||W||`` grows; the price is n, which grows with ``L``. ``max_substeps`` caps it: at the cap
  ``h = 2 (1 - margin) / L`` and the block integrates for less than T (still certified).

Why (b) is the default: with (a) the optimiser grows ``||W||`` and the clamp shrinks the flow time,
which stalled training in the comparisons recorded in CONTRIBUTING.md ("Step rules"); (b) keeps T and
pays in sub-steps, so ``max_substeps`` (or the learning rate) bounds the cost of a call.

Which L: in training mode, the warm-started power estimate (one power iteration per forward, its
vector kept in the ``power_vector`` buffer, so it is saved in checkpoints), optionally times
``power_safety``; the power method *under*-estimates. In eval mode, the schedule is frozen from
the rigorous upper bound of :func:`pnp.denoisers.spectral.spectral_norm_bound` and cached in
buffers (``norm_upper``, ``substeps``, ``step``); it is recomputed automatically when the weights
change, and no power iteration runs.

Integrators (:class:`Integrator`), each a map applied n times:

- ``EULER``: ``E_h``, (h L / 2)-averaged. Certified.
- ``HEUN`` (explicit trapezoid): ``z + h/2 (F(z) + F(z + h F(z))) = 1/2 z + 1/2 E_h(E_h(z))``, a
  relaxation of the composition of two averaged maps, hence averaged with ``alpha = a / (1 + a)``,
  ``a = h L / 2``. Certified; two F evaluations per step.
- ``RK4``: classical Runge-Kutta. Its update is not a composition or convex combination of
  averaged maps, and explicit Runge-Kutta schemes are in general not contractive on convex
  gradient systems without scheme-specific step conditions (Sanz-Serna & Zygalakis, SIAM J.
  Numer. Anal. 2020), which we do not verify: "1-Lipschitz not certified".
"""

from __future__ import annotations

import math
from typing import Callable, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from .averaged import Averagedness, BlockCertificate
from .flow_options import (Activation, BlockSchedule, FlowConfig, Integrator, ScheduleError, StepRule, Symmetry,
                           fixed_time_schedule)
from .spectral import (conv_adjoint, conv_apply, power_iteration, refresh_circular_halo, refresh_symmetric_halo,
                       spectral_norm_bound, symmetric_pad)

__all__ = ["Activation", "BlockSchedule", "EulerBlock", "FlowConfig", "Integrator", "ScheduleError",
           "ScheduledBlocks", "StepRule", "Symmetry", "fixed_time_schedule", "flip_orbits", "flip_swaps", "invariant_channels"]


def _activation(config: FlowConfig) -> Callable[[torch.Tensor], torch.Tensor]:
    if config.activation is Activation.RELU:
        return torch.relu
    slope = config.negative_slope
    return lambda u: F.leaky_relu(u, slope)


def _step_euler(f, z, h):
    return z + h * f(z)


def _step_heun(f, z, h):
    k1 = f(z)
    return z + (0.5 * h) * (k1 + f(z + h * k1))


def _step_rk4(f, z, h):
    k1 = f(z)
    k2 = f(z + (0.5 * h) * k1)
    k3 = f(z + (0.5 * h) * k2)
    k4 = f(z + h * k3)
    return z + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)


_STEPS = {Integrator.EULER: _step_euler, Integrator.HEUN: _step_heun, Integrator.RK4: _step_rk4}


def flip_orbits(base_weight: torch.Tensor, base_bias: torch.Tensor,
                invariant: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The flip-equivariant ``W`` of a block: (K, C, k, k), (K,) -> (4K, C, k, k), (4K,).

    The flips g in {none, left-right, up-down, both} form the group Z2 x Z2 (g = 0..3, the bits the
    axes flipped, composition XOR). The first ``invariant`` state channels (all of them by default)
    are flip-invariant images; the others come in orbits ``(j, g)`` of four, channel
    ``invariant + 4 j + g``. Hidden channel ``(g', k)`` (row ``g' K + k``) applies base kernel ``k``
    flipped by ``g'``, reading orbit channel ``(j, g)`` through base column ``(j, g' XOR g)``, with
    bias ``b_k``. With ``(T_f z)_(j,g) = f·z_(j, f XOR g)`` on orbits and ``f·z`` on invariant channels,
    ``W T_f = T_f W`` and ``T_f`` is orthogonal; the activation acts pointwise and the biases are equal
    on an orbit, so ``F(T_f z) = -Wᵀ s(T_f (W z + b)) = T_f F(z)``: the block commutes with the flips.
    ``W`` is an ordinary convolution, so its norm bound and the step rule are unchanged.
    """
    channels = base_weight.shape[1]
    invariant = channels if invariant is None else invariant
    fixed, orbits = base_weight[:, :invariant], base_weight[:, invariant:].unflatten(1, (-1, 4))
    rows = []
    for g in range(4):
        order = [g ^ h for h in range(4)]
        row = torch.cat([fixed, orbits[:, :, order].flatten(1, 2)], dim=1)
        rows.append(row.flip(tuple(dim for bit, dim in ((1, -1), (2, -2)) if g & bit)) if g else row)
    return torch.cat(rows), base_bias.repeat(4)


def invariant_channels(channels: int, fixed: int) -> int:
    """How many state channels a ``FLIP_ORBITS`` net keeps flip-invariant: the ``fixed`` ones (image,
    noise code) and the remainder that does not fill an orbit of four."""
    return fixed + (channels - fixed) % 4


def flip_swaps(channels: int, invariant: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel orders of the state past a left/right and a top/bottom mirror (:func:`flip_orbits`):
    orbit channel ``(j, g)`` is read from ``(j, g XOR f)``, invariant channels from themselves."""
    def order(f: int) -> torch.Tensor:
        index = list(range(invariant)) + [invariant + 4 * j + (g ^ f) for j in range((channels - invariant) // 4)
                                          for g in range(4)]
        return torch.tensor(index)
    return order(1), order(2)


def _step_kappa(step_alpha: float, integrator: Integrator) -> float | None:
    """``alpha / (1 - alpha)`` of one integrator step from ``a = h L / 2`` (None: not certified)."""
    if integrator is Integrator.EULER:
        return step_alpha / (1 - step_alpha)
    if integrator is Integrator.HEUN:  # alpha = a / (1 + a)  =>  kappa = a
        return step_alpha
    return None


_BLOCK_REASON = "every sub-step has h*||W||^2 <= 2(1-{}) with a rigorous upper bound on ||W||"


class EulerBlock(nn.Module):
    """``z -> Phi(z)``: n integrator steps of size h of ``dz/dt = -W^T s(Wz + b)`` on (B, C, H, W).

    ``W`` maps the C state channels to ``hidden`` channels (default C; wider buys capacity, and the
    bound and the step rule hold for any width). Parameters: ``weight`` (hidden, C, 3, 3), ``bias``
    (hidden,), and ``log_step`` (scalar) for LEARNED_STEP; with ``Symmetry.FLIPS`` or ``FLIP_ORBITS``
    ``weight`` and ``bias`` hold the hidden/4 base kernels of :func:`flip_orbits`, and
    :meth:`operator` gives ``W``; ``invariant`` is then the number of flip-invariant state channels
    (``FLIP_ORBITS``: the others, a multiple of 4, come in orbits; ``FLIPS``: all of them).
    ``dilation`` d >= 1 spaces W's taps d pixels apart: one sub-step reaches ``d`` pixels instead of
    one, at the same cost, with the same certified step (the symbol's supremum does not change).
    Buffers (saved in checkpoints): ``power_vector`` (1, C, s, s), ``norm_estimate`` (power
    estimate of ``||W||``), and the frozen schedule ``norm_upper`` / ``substeps`` / ``step``.
    """

    weight: nn.Parameter
    bias: nn.Parameter
    log_step: nn.Parameter
    power_vector: torch.Tensor
    norm_estimate: torch.Tensor
    norm_upper: torch.Tensor
    substeps: torch.Tensor
    step: torch.Tensor

    def __init__(self, channels: int, config: FlowConfig = FlowConfig(), hidden: int | None = None,
                 invariant: int | None = None, dilation: int = 1) -> None:
        super().__init__()
        hidden = channels if hidden is None else hidden
        for name, value in (("channels", channels), ("hidden", hidden), ("dilation", dilation)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.channels, self.hidden, self.config, self.dilation = channels, hidden, config, dilation
        self.flips = config.symmetry is not Symmetry.NONE
        self.invariant = channels if config.symmetry is not Symmetry.FLIP_ORBITS or invariant is None else invariant
        if self.flips and hidden % 4:
            raise ValueError(f"a flip-equivariant block needs a hidden width divisible by 4, got {hidden}")
        if self.flips and not (0 <= self.invariant <= channels and (channels - self.invariant) % 4 == 0):
            raise ValueError(f"flip orbits need the {channels - self.invariant} state channels past the "
                             f"{self.invariant} invariant ones to be a multiple of 4")
        self._swaps = flip_swaps(channels, self.invariant) if self.flips and self.invariant < channels else None
        conv = nn.Conv2d(channels, hidden // 4 if self.flips else hidden, 3, padding=1)  # PyTorch's initialisation
        self.weight = nn.Parameter(conv.weight.detach().clone())
        assert conv.bias is not None
        self.bias = nn.Parameter(conv.bias.detach().clone())
        if config.step_rule is StepRule.LEARNED_STEP:
            self.log_step = nn.Parameter(torch.tensor(math.log(config.init_step)))
        vector = torch.randn(1, channels, config.power_size, config.power_size)
        self.register_buffer("power_vector", vector / torch.linalg.vector_norm(vector))
        self.register_buffer("norm_estimate", torch.tensor(float("nan")))
        self.register_buffer("norm_upper", torch.tensor(float("nan"), dtype=torch.float64))
        self.register_buffer("substeps", torch.tensor(0, dtype=torch.int64))
        self.register_buffer("step", torch.tensor(float("nan"), dtype=torch.float64))
        self._activation = _activation(config)
        self._frozen: tuple | None = None  # (key, BlockSchedule, weight snapshot) of the eval schedule
        self._tight = False  # whether norm_upper is the tight bound (not just a passed check)
        self.periodic = False  # circular instead of zero-padded convolutions (pnp.denoisers.borders)
        self.symmetric = False  # state continued by half-sample symmetry (flip-equivariant blocks only)

    def operator(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(W, b)``: (hidden, C, 3, 3), (hidden,); the parameters themselves unless ``Symmetry.FLIPS``.
        ``W`` acts with the block's ``dilation`` (its bound is the undilated weight's)."""
        return flip_orbits(self.weight, self.bias, self.invariant) if self.flips else (self.weight, self.bias)

    @property
    def reach(self) -> int:
        """How far (pixels) one application of ``W`` reaches: ``dilation * (k // 2)``."""
        return self.dilation * (self.weight.shape[-1] // 2)

    def _swaps_to(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The halo's channel orders on ``z``'s device; None when every channel is invariant."""
        if self._swaps is None:
            return None
        return (self._swaps[0].to(z.device), self._swaps[1].to(z.device))

    # -- schedules -------------------------------------------------------------------------
    def _tensors(self) -> list[torch.Tensor]:
        tensors: list[torch.Tensor] = [self.weight, self.bias]
        return tensors + ([self.log_step] if hasattr(self, "log_step") else [])

    def _key(self) -> tuple | None:
        """Cheap change detector: version counters (bumped by in-place updates) and storage; ``None``
        for weights made under ``torch.inference_mode`` (a model loaded there), which keep no version
        counter: their values are compared with the snapshot instead."""
        tensors = self._tensors()
        if any(t.is_inference() for t in tensors):
            return None
        return tuple((t._version, t.data_ptr()) for t in tensors)

    def _snapshot(self) -> list[torch.Tensor]:
        return [t.detach().to(device="cpu", dtype=torch.float64, copy=True) for t in self._tensors()]

    def _schedule_from(self, lipschitz: float) -> BlockSchedule:
        if self.config.step_rule is StepRule.FIXED_TIME:
            return fixed_time_schedule(lipschitz, self.config)
        limit = self.config.step_limit_factor / lipschitz if lipschitz > 0 else math.inf
        step = min(math.exp(float(self.log_step.detach())), limit)
        return BlockSchedule(self.config.substeps, step, lipschitz)

    def _store(self, norm_upper: float, schedule: BlockSchedule) -> None:
        with torch.no_grad():
            self.norm_upper.fill_(norm_upper)
            self.substeps.fill_(schedule.substeps)
            self.step.fill_(schedule.step)
        self._frozen = (self._key(), schedule, self._snapshot())

    def freeze(self) -> BlockSchedule:
        """Fix n and h for evaluation from the rigorous bound on ``||W||``; cached in buffers."""
        upper = spectral_norm_bound(self.operator()[0], tol=self.config.bound_tol).upper
        schedule = self._schedule_from(upper**2)
        self._store(upper, schedule)
        self._tight = True
        return schedule

    def adopt_stored(self) -> BlockSchedule:
        """Validate the stored schedule (e.g. from a checkpoint) against a fresh rigorous bound and
        use it; raise :class:`ScheduleError` when ``h ||W||^2 <= 2 (1 - margin)`` cannot be proven.

        Only the decision "``||W|| <= sqrt(2 (1 - margin) / h)``?" is needed, which the
        branch-and-bound settles with far fewer evaluations than the tight bound.
        """
        n, step = int(self.substeps), float(self.step)
        if n < 1 or not math.isfinite(step) or step <= 0:
            raise ScheduleError(f"no frozen schedule stored (substeps={n}, step={step}); call freeze()")
        limit = self.config.step_limit_factor
        target = math.sqrt(limit * (1 + 1e-6) / step)
        bound = spectral_norm_bound(self.operator()[0], tol=self.config.bound_tol, target=target)
        if bound.upper > target:
            proof = "is violated" if bound.lower > target else "cannot be proven"
            raise ScheduleError(
                f"stored step h={step:.6g} needs ||W|| <= {target:.6g} for h*||W||^2 <= 2(1-margin) = "
                f"{limit:.6g}, which {proof}: rigorous bounds {bound.lower:.6g} <= sup of the symbol "
                f"<= {bound.upper:.6g}; the block would not be certified averaged"
            )
        schedule = BlockSchedule(n, step, bound.upper**2)
        self._store(bound.upper, schedule)
        self._tight = False
        return schedule

    def tight_norm_bound(self) -> float:
        """The tight rigorous bound on ``||W||`` (recomputed if the cached one came from a check)."""
        self.eval_schedule()
        if not self._tight:
            upper = spectral_norm_bound(self.operator()[0], tol=self.config.bound_tol).upper
            with torch.no_grad():
                self.norm_upper.fill_(upper)
            self._tight = True
        return float(self.norm_upper)

    def eval_schedule(self) -> BlockSchedule:
        """The frozen schedule, re-frozen when the weights changed since (no power iteration)."""
        if self._frozen is None:
            return self.freeze()
        key, schedule, snapshot = self._frozen
        if key is None or key != self._key():  # moved, reloaded or updated: recompute only if the values changed
            current = self._snapshot()
            if any(not torch.equal(a, b) for a, b in zip(current, snapshot)):
                return self.freeze()
            self._frozen = (self._key(), schedule, current)
        return schedule

    def _training_schedule(self) -> tuple[int, torch.Tensor | float]:
        # the undilated W: a dilated W has the same norm supremum (pnp.denoisers.spectral)
        estimate, vector = power_iteration(self.operator()[0], self.power_vector, self.config.power_iterations)
        with torch.no_grad():
            self.power_vector.copy_(vector)
            self.norm_estimate.copy_(estimate.detach())
        lipschitz = (estimate * self.config.power_safety).square()
        if self.config.step_rule is StepRule.FIXED_TIME:
            schedule = fixed_time_schedule(float(lipschitz.detach()), self.config)
            return schedule.substeps, schedule.step
        limit = self.config.step_limit_factor / lipschitz.clamp_min(1e-12)
        return self.config.substeps, torch.minimum(self.log_step.exp(), limit)

    # -- forward ---------------------------------------------------------------------------
    def vector_field(self, z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``F(z) = -W^T s(W z + b)``, (B, C, H, W) -> (B, C, H, W)."""
        d = self.dilation
        if self.symmetric:  # W z on a margin of r from the state continued by 2r, then W^T back inside
            r = self.reach
            u = self._activation(F.conv2d(symmetric_pad(z, 2 * r, self._swaps_to(z)), weight, bias, dilation=d))
            return -F.conv_transpose2d(u, weight, padding=2 * r, dilation=d)
        u = self._activation(conv_apply(z, weight, bias, periodic=self.periodic, dilation=d))
        return -conv_adjoint(u, weight, periodic=self.periodic, dilation=d)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.training:
            n, h = self._training_schedule()
        else:
            schedule = self.eval_schedule()
            n, h = schedule.substeps, schedule.step
        weight, bias = (t.to(z) for t in self.operator())
        if self.symmetric and not self.flips:
            raise RuntimeError("a symmetric halo computes the mirror tiling only for flip-equivariant blocks")
        if not torch.is_grad_enabled() and self.config.integrator is Integrator.EULER:
            return self._euler_inplace(z, weight, bias, n, float(h))
        step = _STEPS[self.config.integrator]
        field = lambda u: self.vector_field(u, weight, bias)  # noqa: E731
        for _ in range(n):
            z = step(field, z, h)
        return z

    def _euler_inplace(self, z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, n: int, h: float):
        """Euler sub-steps without autograd, updating a copy of ``z`` in place (fast path).

        Periodic: the state carries a circular halo of the kernel's radius, refreshed after each
        sub-step, so ``W z`` runs unpadded; only the activations are padded once per sub-step.
        Symmetric: a half-sample symmetric halo of twice the radius, so ``W z`` is known on a margin
        of ``r`` and ``W^T`` needs no padding at all."""
        slope = self.config.negative_slope
        radius, d = self.reach, self.dilation
        swaps = self._swaps_to(z) if self.symmetric else None
        if self.symmetric:
            halo = 2 * radius
            state = symmetric_pad(z, halo, swaps)
        else:
            halo = radius if self.periodic else 0
            state = F.pad(z, (halo,) * 4, mode="circular") if halo else z.clone()
        inside = state[..., halo : state.shape[-2] - halo, halo : state.shape[-1] - halo]
        for _ in range(n):
            u = F.conv2d(state, weight, bias, padding=max(radius - halo, 0), dilation=d)
            u = torch.relu_(u) if self.config.activation is Activation.RELU else F.leaky_relu_(u, slope)
            if self.symmetric:
                inside.add_(F.conv_transpose2d(u, weight, padding=halo, dilation=d), alpha=-h)
                refresh_symmetric_halo(state, halo, swaps)
            else:
                inside.add_(conv_adjoint(u, weight, periodic=self.periodic, dilation=d), alpha=-h)
                refresh_circular_halo(state, halo)
        return inside.contiguous()

    # -- certificate ---------------------------------------------------------------------
    def certificate(self, index: int = 0) -> BlockCertificate:
        """What is proven about this block with its frozen (rigorous) schedule."""
        from .spectral import triangle_bound

        schedule = self.eval_schedule()
        upper = self.tight_norm_bound()
        step_alpha = schedule.step * upper**2 / 2
        kappa = _step_kappa(step_alpha, self.config.integrator)
        alpha = None if kappa is None else schedule.substeps * kappa / (1 + schedule.substeps * kappa)
        return BlockCertificate(
            index=index, norm_upper=upper,
            norm_power=self.power_estimate(),
            norm_triangle=triangle_bound(self.operator()[0]), integrator=self.config.integrator.value,
            substeps=schedule.substeps, step=schedule.step, step_alpha=step_alpha, alpha=alpha,
        )

    def averagedness(self) -> Averagedness:
        """This block's proven statement (its certificate; RK4 blocks state none)."""
        block = self.certificate()
        if block.alpha is None:
            return Averagedness(None, False, "an RK4 block is not certified averaged", (block,))
        kappa = self.kappa() or 0.0
        return Averagedness(block.alpha, block.alpha < 1, _BLOCK_REASON.format(self.config.margin), (block,),
                            1.0, 1 / (1 + kappa))

    def power_estimate(self, iterations: int = 50) -> float:
        """Power-method estimate of ``||W||`` (a lower estimate) warm-started from ``power_vector``;
        the buffer is left unchanged."""
        vector = self.power_vector.detach().to(device="cpu", dtype=torch.float32)
        weight = self.operator()[0].detach().to(device="cpu", dtype=torch.float32)
        return float(power_iteration(weight, vector, iterations)[0])

    def kappa(self) -> float | None:
        """``alpha / (1 - alpha)`` of the whole block (additive under composition); None for RK4."""
        schedule = self.eval_schedule()
        kappa = _step_kappa(schedule.step * self.tight_norm_bound() ** 2 / 2, self.config.integrator)
        return None if kappa is None else schedule.substeps * kappa

    def extra_repr(self) -> str:
        c = self.config
        width = f", hidden={self.hidden}" if self.hidden != self.channels else ""
        width += f", symmetry={self.config.symmetry.value}" if self.flips else ""
        width += f", invariant={self.invariant}" if self.flips and self.invariant != self.channels else ""
        width += f", dilation={self.dilation}" if self.dilation != 1 else ""
        return f"channels={self.channels}{width}, rule={c.step_rule.value}, integrator={c.integrator.value}"


class _HasEulerBlocks(Protocol):
    @property
    def euler_blocks(self) -> list[EulerBlock]: ...


class ScheduledBlocks:
    """For a network of :class:`EulerBlock` s (its ``euler_blocks``, in the order they run): fix,
    verify and count their sub-step schedules."""

    def freeze(self: _HasEulerBlocks) -> list[BlockSchedule]:
        """Fix every block's sub-step count and size from the rigorous norm bound (for export)."""
        return [block.freeze() for block in self.euler_blocks]

    def adopt_stored(self: _HasEulerBlocks) -> list[BlockSchedule]:
        """Validate the stored schedules against fresh rigorous bounds (raises ``ScheduleError``)."""
        return [block.adopt_stored() for block in self.euler_blocks]

    def substep_counts(self: _HasEulerBlocks) -> list[int]:
        """Sub-steps per block of the eval schedule (a cost measure: F evaluations scale with it)."""
        return [block.eval_schedule().substeps for block in self.euler_blocks]
