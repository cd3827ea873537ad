"""The multi-scale Euler denoiser: gradient-flow blocks at full, 1/2, 1/4 ... resolution.

``D(x) = Eᵀ Pᵀ L_0 (P E x)`` on (B, C_in, H, W) images, where E appends zero channels, P zero-pads
the image to a multiple of ``2^(levels - 1)`` (both zero embeddings, ``EᵀE = PᵀP = I``), and the
level maps are

    L_k = post_k ∘ HaarCoarse(L_(k+1)) ∘ pre_k,      L_last = its blocks,

with ``pre_k`` / ``post_k`` chains of :class:`~pnp.denoisers.flow.EulerBlock` (``scales[k]`` blocks
at level k, split before and after the coarser level) and
:class:`~pnp.denoisers.parts.HaarCoarse` running the next level on the Haar low-pass band. Every
part is averaged and states its constant; the net's α is computed from them
(:mod:`pnp.denoisers.parts`): ``κ = Σ κ_blocks``, the isometries adding nothing. A block at level k
costs ``4^-k`` of a full-resolution one and sees ``2^k`` times as far, which is how the net buys
receptive field for flat regions (sky, walls) where a small full-resolution net cannot average
enough noise away.

Noise conditioning (``noise_channel=True``): the lift fills one extra state channel with the code
``c(σ) = log10(σ / 0.01)`` of the noise level instead of zeros, ``D_σ(x) = Eᵀ Pᵀ L_0 (P (E x + c(σ) e))``.
For each σ this is ``Eᵀ L̃ E`` (E now the padded lift, ``Eᵀ e = 0``) with
``L̃(z) = L_0(z + c e) − c e``: if ``L_0 = (1 − α) I + α N`` then ``L̃ = (1 − α) I + α Ñ`` with
``Ñ(z) = N(z + c e) − c e`` 1-Lipschitz, so ``D_σ`` is α-averaged with the same α for every σ (the
weights W, hence the schedules, do not depend on σ). One model then serves every noise level, and
the caller passes σ.
"""

from __future__ import annotations

import itertools
import math
from typing import Iterator, Sequence, cast

import torch
import torch.nn.functional as F
from deepinv.models import Denoiser

from .averaged import Averagedness
from .flow import EulerBlock, FlowConfig, ScheduledBlocks, invariant_channels
from .parts import Chain, HaarCoarse
from ..shapes import check_images

__all__ = ["MultiscaleEulerDenoiser"]


class MultiscaleEulerDenoiser(ScheduledBlocks, Denoiser):
    """Averaged denoiser of Euler flow blocks at several resolutions (module docstring).

    Args:
        in_channels: image channels C_in (3 colour, 1 grey).
        channels: state channels C >= C_in at every level (the coarse levels flow on the low-pass
            band of all C channels).
        scales: blocks per level, finest first, e.g. ``(2, 2, 2)``; ``(n,)`` is a single-scale net.
        hidden: output channels of every ``W`` (default C).
        dilations: the dilation of each block's ``W``, cycled over the blocks in the order they run,
            e.g. ``(1, 2, 4)``: a wider reach per sub-step at the same cost and the same certified
            step (:class:`~pnp.denoisers.flow.EulerBlock`); default all 1.
        flow: block options (step rule, flow time, ``max_substeps``, ...).
        sigma: the noise level the weights were trained for (metadata; the middle of the range
            for a noise-conditioned net), or None.
        noise_channel: condition on the noise level passed to ``forward`` (module docstring).

    Shapes: (B, C_in, H, W) -> (B, C_in, H, W) for any H, W >= 1; eval mode uses schedules frozen
    from the rigorous bound on every ``‖W‖``, training mode the power estimate (as EulerBlock).
    """

    def __init__(self, *, in_channels: int = 3, channels: int = 32, scales: Sequence[int] = (2, 2, 2),
                 hidden: int | None = None, flow: FlowConfig = FlowConfig(), sigma: float | None = None,
                 noise_channel: bool = False, dilations: Sequence[int] | None = None) -> None:
        super().__init__()
        scales = tuple(scales)
        dilations = (1,) if dilations is None else tuple(dilations)
        if not dilations or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in dilations):
            raise ValueError(f"dilations must be a non-empty list of positive integers, got {dilations!r}")
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f"in_channels must be a positive integer, got {in_channels!r}")
        if not isinstance(channels, int) or channels < in_channels + bool(noise_channel):
            raise ValueError(f"channels must be an integer >= {in_channels + bool(noise_channel)} (the image "
                             f"channels{' and the noise channel' if noise_channel else ''}), got {channels!r}")
        if not scales or any(not isinstance(n, int) or n < 1 for n in scales):
            raise ValueError(f"scales must be a non-empty list of positive block counts, got {scales!r}")
        if sigma is not None and not (sigma > 0 and math.isfinite(sigma)):
            raise ValueError(f"sigma must be a positive number or None, got {sigma!r}")
        if isinstance(flow, dict):
            flow = FlowConfig(**flow)
        self.in_channels, self.channels, self.scales, self.flow, self.sigma = in_channels, channels, scales, flow, sigma
        self.hidden = channels if hidden is None else hidden
        self.noise_channel = bool(noise_channel)
        self.dilations = dilations
        self.body = self._level(0, itertools.cycle(dilations))

    def _blocks(self, count: int, dilations: Iterator[int]) -> list[EulerBlock]:
        """``count`` blocks, the next ``count`` of the dilation cycle (built in the order they run)."""
        invariant = invariant_channels(self.channels, self.in_channels + self.noise_channel)
        return [EulerBlock(self.channels, self.flow, self.hidden, invariant, dilation=next(dilations))
                for _ in range(count)]

    def _level(self, k: int, dilations: Iterator[int]) -> Chain:
        count = self.scales[k]
        if k == len(self.scales) - 1:
            return Chain(self._blocks(count, dilations))
        pre, post = (count + 1) // 2, count // 2
        before = self._blocks(pre, dilations)
        coarse = HaarCoarse(self._level(k + 1, dilations))
        return Chain([*before, coarse, *self._blocks(post, dilations)])

    @property
    def levels(self) -> int:
        return len(self.scales)

    @property
    def size_unit(self) -> int:
        """Image sides are zero-padded to a multiple of this (``2^(levels - 1)``)."""
        return 2 ** (self.levels - 1)

    @property
    def euler_blocks(self) -> list[EulerBlock]:
        """Every block, in the order they run."""
        return [cast(EulerBlock, m) for m in self.body.modules() if isinstance(m, EulerBlock)]

    def block_levels(self) -> list[int]:
        """The level (0 = full resolution) of each block of :attr:`euler_blocks`."""
        levels: list[int] = []

        def walk(module: torch.nn.Module, level: int) -> None:
            for child in module.children():
                if isinstance(child, EulerBlock):
                    levels.append(level)
                else:
                    walk(child, level + isinstance(child, HaarCoarse))

        walk(self.body, 0)
        return levels

    def config(self) -> dict:
        """Constructor arguments as a JSON-ready dict (``MultiscaleEulerDenoiser(**config)`` rebuilds it)."""
        config = {"in_channels": self.in_channels, "channels": self.channels, "scales": list(self.scales),
                  "hidden": self.hidden, "flow": self.flow.to_dict(), "sigma": self.sigma,
                  "noise_channel": self.noise_channel}
        if self.dilations != (1,):  # older cards read the same
            config["dilations"] = list(self.dilations)
        return config

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        """Denoise ``x`` (B, C_in, H, W) at noise level ``sigma`` (a number, or one per image as (B,) or
        (B, 1, 1, 1)); a net without a noise channel ignores ``sigma`` (weights trained at one level)."""
        check_images(x, "x", channels=self.in_channels)
        if x.shape[0] == 0:
            return x.clone()
        height, width = x.shape[-2:]
        multiple = self.size_unit
        padded = F.pad(x, (0, -width % multiple, 0, -height % multiple))
        zeros = padded.new_zeros(x.shape[0], self.channels - self.in_channels, *padded.shape[2:])
        if self.noise_channel:
            zeros[:, :1] = self._noise_code(sigma, x)
        z = torch.cat([padded, zeros], dim=1)
        if not self.training:
            z = z.contiguous(memory_format=torch.channels_last)
        return self.body(z)[:, : self.in_channels, :height, :width].contiguous()

    @staticmethod
    def _noise_code(sigma: float | torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
        """``log10(σ / 0.01)`` as (B, 1, 1, 1), from a number or a per-image tensor."""
        if sigma is None:
            raise ValueError("this denoiser is noise-conditioned: pass the noise level, D(x, sigma)")
        level = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
        if level.shape[0] not in (1, x.shape[0]) or not bool(torch.isfinite(level).all() and (level > 0).all()):
            raise ValueError(f"sigma must be positive and finite, one number or one per image; got {sigma!r}")
        return torch.log10(level / 0.01).expand(x.shape[0], 1, 1, 1)

    # -- schedules, cost and certificate ---------------------------------------------------
    def relative_cost(self) -> float:
        """Sub-steps weighted by the pixels of their level (a full-resolution sub-step counts 1)."""
        return sum(n / 4**k for n, k in zip(self.substep_counts(), self.block_levels()))

    def receptive_radius(self) -> int:
        """How far (pixels) an output pixel can see, rounded up to a multiple of the padding unit,
        so that tiles cut at multiples of it see the same Haar grid as the whole image."""
        reach = sum(2 * block.reach * n * 2**k for block, n, k in
                    zip(self.euler_blocks, self.substep_counts(), self.block_levels())) + 2**self.levels
        unit = self.size_unit
        return -(-reach // unit) * unit

    def averagedness(self) -> Averagedness:
        """Computed from the parts (:meth:`pnp.denoisers.parts.Chain.averagedness`)."""
        import dataclasses

        inner = self.body.averagedness()
        return dataclasses.replace(inner, reason=f"{inner.reason}; zero lift and padding are isometries")

    def extra_repr(self) -> str:
        conditioned = ", noise_channel=True" if self.noise_channel else ""
        return (f"in_channels={self.in_channels}, channels={self.channels}, scales={self.scales}, "
                f"hidden={self.hidden}{conditioned}" + (f", dilations={self.dilations}" if self.dilations != (1,) else ""))
