"""Wrappers that adapt a denoiser while keeping its averagedness.

- :class:`ColourOnGrey` runs a colour (C = 3) denoiser on grey images: ``T(x) = (1/3) Eᵀ D(E x)``
  with ``E x = (x, x, x)``. Since ``‖E‖² = ‖Eᵀ‖² = 3``, ``T`` is non-expansive when ``D`` is, and
  ``D = (1−α) I + α N`` gives ``T = (1−α) I + α (1/3) Eᵀ N E`` with ``(1/3) Eᵀ N E`` non-expansive:
  ``T`` is α-averaged with the same α.
- :class:`Relaxed` is ``D_θ = (1−θ) I + θ D`` for θ in (0, 1]: if ``D`` is α-averaged, ``D_θ`` is
  θα-averaged. Any denoiser (DnCNN, TV, ...) gets the strength knob this way.
- :class:`Tiled` computes a convolutional denoiser tile by tile (the same map, bounded memory).

What a prior sees past the image border (periodic or mirror instead of zero padding) is in
:mod:`pnp.denoisers.borders`.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from deepinv.models import Denoiser

from .averaged import Averagedness
from ..shapes import check_images

__all__ = ["ColourOnGrey", "Relaxed", "Tiled", "kept_statement", "receptive_radius", "size_unit"]


class ColourOnGrey(Denoiser):
    """A colour denoiser applied to (B, 1, H, W) grey images (colour images pass straight through)."""

    def __init__(self, denoiser: torch.nn.Module) -> None:
        super().__init__()
        self.denoiser = denoiser

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        check_images(x, "x", floating=False)
        if x.shape[1] != 1:
            return self.denoiser(x, sigma)
        return self.denoiser(x.expand(-1, 3, -1, -1).contiguous(), sigma).mean(dim=1, keepdim=True)

    def averagedness(self) -> Averagedness:
        """The colour denoiser's α (module docstring)."""
        return kept_statement(self.denoiser, "grey images through the colour net (1/3 E^T D E) keep alpha")


class Relaxed(Denoiser):
    """``D_θ(x) = (1 − θ) x + θ D(x)``: a weaker denoiser, averaged with ``θ α`` when D is α-averaged."""

    def __init__(self, denoiser: torch.nn.Module, strength: float) -> None:
        super().__init__()
        if not (math.isfinite(strength) and 0 < strength <= 1):
            raise ValueError(f"strength must lie in (0, 1], got {strength!r}")
        self.denoiser, self.strength = denoiser, float(strength)

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        denoised = self.denoiser(x, sigma)
        if self.strength == 1.0:
            return denoised
        return torch.lerp(x, denoised, self.strength)

    def averagedness(self) -> Averagedness:
        """θα when the inner map is α-averaged (``1 − θα`` computed from the inner ``1 − α``)."""
        from .certificate import statement

        inner = statement(self.denoiser)
        if inner.alpha is None:
            return inner
        theta = self.strength
        rest = None if inner.one_minus_alpha is None else 1 - theta + theta * inner.one_minus_alpha
        return dataclasses.replace(inner, alpha=theta * inner.alpha, strength=theta * inner.strength,
                                   one_minus_alpha=rest,
                                   reason=f"{inner.reason}; relaxed with theta = {theta} (theta * alpha)")

    def extra_repr(self) -> str:
        return f"strength={self.strength}"


class Tiled(Denoiser):
    """Apply a convolutional denoiser tile by tile, with bounded memory, for images of any size.

    Each ``tile`` x ``tile`` output block is computed from the input block grown by ``overlap``
    pixels on every side (clipped at the image border, where the network sees the same zero
    padding as on the whole image). When ``overlap`` is at least the network's receptive radius
    (for an Euler net, twice its total number of sub-steps: each sub-step applies a 3x3 ``W`` and
    its transpose), every output pixel depends only on input pixels inside its grown block, so the
    result equals the whole-image result up to round-off.
    """

    def __init__(self, denoiser: torch.nn.Module, *, tile: int = 512, overlap: int | None = None) -> None:
        super().__init__()
        if overlap is None:
            overlap = receptive_radius(denoiser)
        if tile < 1 or overlap < 0:
            raise ValueError(f"tile must be >= 1 and overlap >= 0, got tile={tile}, overlap={overlap}")
        unit = size_unit(denoiser)
        tile = -(-tile // unit) * unit  # tiles start on the multi-scale net's grid
        self.denoiser, self.tile, self.overlap = denoiser, int(tile), int(overlap)

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        height, width = x.shape[-2:]
        if height <= self.tile and width <= self.tile:
            return self.denoiser(x, sigma)
        out = torch.empty_like(x)
        for top in range(0, height, self.tile):
            for left in range(0, width, self.tile):
                y0, x0 = max(top - self.overlap, 0), max(left - self.overlap, 0)
                y1 = min(top + self.tile + self.overlap, height)
                x1 = min(left + self.tile + self.overlap, width)
                block = self.denoiser(x[..., y0:y1, x0:x1], sigma)
                bottom, right = min(top + self.tile, height), min(left + self.tile, width)
                out[..., top:bottom, left:right] = block[..., top - y0 : bottom - y0, left - x0 : right - x0]
        return out

    def averagedness(self) -> Averagedness:
        """The inner denoiser's α: with ``overlap`` at least the receptive radius every tile computes
        exactly the whole-image map (up to round-off); a smaller overlap states nothing."""
        try:
            enough = self.overlap >= receptive_radius(self.denoiser)
        except ValueError:
            enough = False
        if not enough:
            return Averagedness(None, False, f"tiles with overlap {self.overlap} below the receptive radius "
                                             "compute another map; nothing is stated")
        return kept_statement(self.denoiser, "tiles with overlap >= the receptive radius compute the same map")

    def extra_repr(self) -> str:
        return f"tile={self.tile}, overlap={self.overlap}"


def kept_statement(denoiser: torch.nn.Module, why: str) -> Averagedness:
    """The statement of ``denoiser`` with ``why`` the wrapper keeps it appended (when it states an α)."""
    from .certificate import statement

    inner = statement(denoiser)
    return inner if inner.alpha is None else dataclasses.replace(inner, reason=f"{inner.reason}; {why}")


def size_unit(denoiser: torch.nn.Module) -> int:
    """The multiple of which image sides need no padding inside the network (1 for single-scale nets)."""
    inner = getattr(denoiser, "denoiser", None)
    if inner is not None and inner is not denoiser:
        return size_unit(inner)
    return int(getattr(denoiser, "size_unit", 1))


def receptive_radius(denoiser: torch.nn.Module) -> int:
    """How far (pixels) an output pixel can see: Euler nets 2 x (vector-field evaluations), DnCNN its depth."""
    inner = getattr(denoiser, "denoiser", None)
    if inner is not None and inner is not denoiser:
        return receptive_radius(inner)
    from .baselines import DnCNN
    from .euler import EulerDenoiser
    from .multiscale import MultiscaleEulerDenoiser

    if isinstance(denoiser, MultiscaleEulerDenoiser):
        return denoiser.receptive_radius()
    if isinstance(denoiser, EulerDenoiser):  # each F evaluation applies a 3x3 W and its transpose
        evaluations = {"euler": 1, "heun": 2, "rk4": 4}[denoiser.flow.integrator.value]
        return 2 * evaluations * sum(block.reach * n for block, n in zip(denoiser.euler_blocks, denoiser.substep_counts()))
    if isinstance(denoiser, DnCNN):
        return int(denoiser.depth)
    raise ValueError(f"cannot tell the receptive field of {type(denoiser).__name__}; pass overlap=")
