"""The averaged Euler-block denoiser: lift, gradient-flow blocks, project.

``D(x) = E^T Phi_K o ... o Phi_1 (E x)`` on (B, C_in, H, W) images, where ``E`` appends
``channels - C_in`` zero channels and ``E^T`` keeps the first C_in channels, and each block
``Phi_k`` integrates the convex gradient flow ``dz/dt = -W_k^T s(W_k z + b_k)`` (see
:mod:`pnp.denoisers.flow`). With Euler or Heun steps and ``h ||W_k||^2 <= 2 (1 - margin)``, every
step is averaged, so their composition is averaged (Combettes-Yamada, ``kappa = sum kappa_i``),
and ``E^T (.) E`` keeps the constant (DESIGN.md section 4). The strength knob
``D_theta = (1 - theta) I + theta D`` is (theta alpha)-averaged: PnP uses it to trade data fit
against regularisation without retraining.

The net is trained at one noise level (``sigma``, kept as metadata); ``forward(x, sigma)`` ignores
its ``sigma`` argument, which exists for the deepinv ``Denoiser`` interface.
"""

from __future__ import annotations

import math
from typing import cast

import torch
from deepinv.models import Denoiser
from torch import nn

from .averaged import Averagedness
from .flow import EulerBlock, FlowConfig, Integrator, ScheduledBlocks, invariant_channels
from ..shapes import check_images

__all__ = ["EulerDenoiser"]


class EulerDenoiser(ScheduledBlocks, Denoiser):
    """Averaged denoiser built from explicit-Euler blocks of convex gradient flows.

    Args:
        in_channels: image channels C_in (3 colour, 1 grayscale); inputs must match.
        channels: feature channels C >= C_in (default 64).
        blocks: number of flow blocks (default 10).
        flow: block options (:class:`~pnp.denoisers.FlowConfig`): step rule, flow time,
            integrator, activation, margin, power-method settings.
        strength: theta in (0, 1]; the output is ``(1 - theta) x + theta D(x)``.
        sigma: the noise level the weights were trained for (metadata only), or None.

    Shapes: (B, C_in, H, W) -> (B, C_in, H, W), any B (including 0) and H, W >= 1; dtype and
    device follow the input. Training mode estimates ``||W||`` by the power method (one warm
    iteration per forward); eval mode uses the schedule frozen from the rigorous bound (computed
    once, re-computed if the weights change) and a fast in-place path under ``torch.no_grad`` /
    ``torch.inference_mode``.
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        channels: int = 64,
        blocks: int = 10,
        flow: FlowConfig = FlowConfig(),
        strength: float = 1.0,
        sigma: float | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f"in_channels must be a positive integer, got {in_channels!r}")
        if not isinstance(channels, int) or channels < in_channels:
            raise ValueError(f"channels must be an integer >= in_channels={in_channels}, got {channels!r}")
        if not isinstance(blocks, int) or blocks < 1:
            raise ValueError(f"blocks must be a positive integer, got {blocks!r}")
        if sigma is not None and not (sigma > 0 and math.isfinite(sigma)):
            raise ValueError(f"sigma must be a positive number or None, got {sigma!r}")
        if isinstance(flow, dict):
            flow = FlowConfig(**flow)
        self.in_channels, self.channels, self.flow, self.sigma = in_channels, channels, flow, sigma
        invariant = invariant_channels(channels, in_channels)
        self.blocks = nn.ModuleList(EulerBlock(channels, flow, invariant=invariant) for _ in range(blocks))
        self.strength = strength

    @property
    def euler_blocks(self) -> list[EulerBlock]:
        """The blocks, typed (``self.blocks`` is the ``nn.ModuleList`` that registers them)."""
        return [cast(EulerBlock, block) for block in self.blocks]

    @property
    def strength(self) -> float:
        """theta in (0, 1]: ``D_theta = (1 - theta) I + theta D``."""
        return self._strength

    @strength.setter
    def strength(self, value: float) -> None:
        if not 0 < value <= 1:
            raise ValueError(f"strength must lie in (0, 1], got {value!r}")
        self._strength = float(value)

    def config(self) -> dict:
        """Constructor arguments as a JSON-ready dict (``EulerDenoiser(**config)`` rebuilds it)."""
        return {"in_channels": self.in_channels, "channels": self.channels, "blocks": len(self.blocks),
                "flow": self.flow.to_dict(), "strength": self.strength, "sigma": self.sigma}

    def _check_input(self, x: torch.Tensor) -> None:
        check_images(x, "x", channels=self.in_channels)

    def lift(self, x: torch.Tensor) -> torch.Tensor:
        """``E x``: append zero channels, (B, C_in, H, W) -> (B, channels, H, W)."""
        zeros = x.new_zeros(x.shape[0], self.channels - self.in_channels, *x.shape[2:])
        z = torch.cat([x, zeros], dim=1)
        return z if self.training else z.contiguous(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        """Denoise ``x`` (B, C_in, H, W); ``sigma`` is ignored (fixed-noise-level weights)."""
        self._check_input(x)
        if x.shape[0] == 0:
            return x.clone()
        z = self.lift(x)
        for block in self.euler_blocks:
            z = block(z)
        out = z[:, : self.in_channels].contiguous()
        if self.strength < 1:
            out = torch.lerp(x, out, self.strength)
        return out

    # -- schedules and certificate -------------------------------------------------------
    def averagedness(self) -> Averagedness:
        """The proven averagedness constant of ``D_theta`` with the frozen (rigorous) schedules."""
        blocks = tuple(block.certificate(i) for i, block in enumerate(self.euler_blocks))
        theta = self.strength
        if self.flow.integrator not in (Integrator.EULER, Integrator.HEUN):
            return Averagedness(None, False, (
                "1-Lipschitz not certified: RK4 steps are not compositions of averaged maps and no "
                "contractivity condition for them is verified here"), blocks, theta)
        kappas = [block.kappa() for block in self.euler_blocks]
        kappa = sum(k for k in kappas if k is not None)  # Euler and Heun blocks all state one
        alpha = theta * kappa / (1 + kappa)
        one_minus = (1 + (1 - theta) * kappa) / (1 + kappa)
        reason = (f"every {self.flow.integrator.value} sub-step has h*||W||^2 <= 2(1-{self.flow.margin}) "
                  "with a rigorous upper bound on ||W||; composition by Combettes-Yamada")
        return Averagedness(alpha, alpha < 1 and one_minus > 0, reason, blocks, theta, one_minus)

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, channels={self.channels}, strength={self.strength}"
