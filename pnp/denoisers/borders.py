"""What a convolutional prior sees past the image border, as wrappers that keep its averagedness.

A network's convolutions zero-pad: near the border it sees the image next to black. One pass of
the denoiser barely shows it, but in PnP the prior alone sets the fixed point in the directions the
data do not reach (a reflect-boundary blur has such directions at the border), and there the bias
becomes a band along the edge. Two certified alternatives (:class:`pnp.choices.PriorBorder`):

- :class:`PeriodicBorder`: the network's convolutions made circular on the image itself,
  ``T(x) = D∘(x)``: the image is seen as periodic, as the circular blur model sees it. The DFT
  bound on ``‖W‖`` bounds a circular convolution of any size exactly as it bounds a zero-padded one,
  so ``D∘`` is averaged with the α of ``D``; cost: one call of ``D``.
- :class:`MirrorEmbedded`: ``D∘`` on the image's 2×2 mirror tiling ``M x`` (seamless and periodic),
  the four quadrants averaged back: ``T(x) = ¼ Mᵀ D∘(M x)``. With ``Q = ½ M`` (``QᵀQ = I``, an
  isometry) and ``S(u) = ½ D∘(2u)`` (a scaling conjugation keeps α-averagedness), ``T = Qᵀ S Q`` is
  α-averaged with the α of ``D``; cost: four times the pixels, or one call for a flip-equivariant
  net (below).

For a multi-scale net whose sides must be multiples of ``u``, the period is repeated until they are
(``k`` copies of one period: ``k^{-1/2}`` times the repetition is an isometry, and averaging the
copies' outputs back is its adjoint, so α is kept again).

A net of flip-equivariant blocks (:class:`~pnp.denoisers.Symmetry` ``FLIPS``) commutes with the
flips of the tiling, so ``D∘(M x)`` is itself mirror-symmetric: its four quadrants agree and
``T(x)`` is the first one. Every block state is then mirror-symmetric too, so each block can run on
the image alone with its state continued by half-sample symmetry (a halo of twice the kernel radius,
refreshed after each sub-step): the same map at the cost of one call (sides multiples of the net's
size unit; other sizes take the tiling).

How it is computed: with every convolution made circular (Euler blocks keep a circular halo on
their state, about 1.35 calls' worth of time on a 481×321 photo). Large images (a side above
``tile``) go tile by tile with bounded memory, and still give the same map: padding the image by
the network's receptive radius ``R`` (circularly, or by half-sample symmetry for the mirror) and
running the *zero-padded* network on overlapping tiles (:class:`~pnp.denoisers.adapters.Tiled`)
reproduces ``D∘`` exactly on the image, since no output pixel there sees the padding. (The padded
path needs a single-scale net and ``R`` within the image; a multi-scale net runs whole.)
"""

from __future__ import annotations

import abc
import contextlib
import math
from typing import Iterator

import torch
import torch.nn.functional as F
from deepinv.models import Denoiser

from ..shapes import check_images
from .adapters import Tiled, kept_statement, receptive_radius, size_unit
from .averaged import Averagedness
from .spectral import symmetric_pad

__all__ = ["MirrorEmbedded", "PeriodicBorder", "flip_equivariant"]

TILE = 1024
"""Sides above this are denoised tile by tile (the same map, bounded memory)."""


def _layers(network: torch.nn.Module) -> tuple[list, list[torch.nn.Conv2d]]:
    """The Euler blocks and the ``nn.Conv2d`` layers of ``network``."""
    from .flow import EulerBlock

    blocks = [m for m in network.modules() if isinstance(m, EulerBlock)]
    return blocks, [m for m in network.modules() if isinstance(m, torch.nn.Conv2d)]


def _convolutions(network: torch.nn.Module) -> tuple[list, list[torch.nn.Conv2d]]:
    """The Euler blocks and zero-padded ``nn.Conv2d`` layers of ``network``; refuses a network with none."""
    blocks, convs = _layers(network)
    convs = [conv for conv in convs if conv.padding_mode == "zeros"]
    if not blocks and not convs:
        raise ValueError(f"{type(network).__name__} has no convolutions to make circular: the periodic and mirror "
                         "borders apply to convolutional priors (euler, dncnn, or their checkpoints)")
    return blocks, convs


@contextlib.contextmanager
def _periodic(blocks: list, convs: list[torch.nn.Conv2d]) -> Iterator[None]:
    """Make these Euler blocks and convolutions circular for the duration (see :func:`_convolutions`)."""
    try:
        for block in blocks:
            block.periodic = True
        for conv in convs:
            conv.padding_mode = "circular"
        yield
    finally:
        for block in blocks:
            block.periodic = False
        for conv in convs:
            conv.padding_mode = "zeros"


def flip_equivariant(network: torch.nn.Module) -> bool:
    """Whether ``network`` (or the net a wrapper holds) is built only of flip-equivariant Euler blocks,
    so that it commutes with flipping the image and :class:`MirrorEmbedded` costs one call."""
    blocks, convs = _layers(network)
    return bool(blocks) and not convs and all(block.flips for block in blocks)


def _widest_reach(blocks: list) -> int:
    """The widest reach of one ``W`` among these Euler blocks (their dilation; 1 without blocks)."""
    return max((block.reach for block in blocks), default=1)


@contextlib.contextmanager
def _symmetric(blocks: list) -> Iterator[None]:
    """Continue these (flip-equivariant) blocks' states by half-sample symmetry for the duration."""
    try:
        for block in blocks:
            block.symmetric = True
        yield
    finally:
        for block in blocks:
            block.symmetric = False


class _BorderWrapper(Denoiser, abc.ABC):
    """Shared parts: the network's convolutions, the periodic evaluation, the tiled path; a border
    states its map twice, by definition (:meth:`_per_layer`) and by padding (:meth:`_by_padding`)."""

    reason = ""

    def __init__(self, denoiser: torch.nn.Module, *, tile: int = TILE) -> None:
        super().__init__()
        self._layers = _convolutions(denoiser)  # found once; a plain tuple, not registered submodules
        self.denoiser, self.tile = denoiser, int(tile)

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        check_images(x, "x", floating=False)
        radius = self._pad_radius(x)
        return self._per_layer(x, sigma) if radius == 0 else self._by_padding(x, radius, sigma)

    @abc.abstractmethod
    def _per_layer(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """The map with every convolution made circular (the definition; any size, any net)."""

    @abc.abstractmethod
    def _by_padding(self, x: torch.Tensor, radius: int, sigma) -> torch.Tensor:
        """The same map from the zero-padded net on the image padded by ``radius`` (module docstring)."""

    def _circular(self, periods: torch.Tensor, sigma) -> torch.Tensor:
        """``D∘`` on ``periods`` (the period repeated until the net needs no padding), averaged back
        over the repeats to one period of the same shape."""
        height, width = periods.shape[-2:]
        unit = size_unit(self.denoiser)
        rows, cols = unit // math.gcd(height, unit), unit // math.gcd(width, unit)
        least = unit * _widest_reach(self._layers[0])  # every level's side at least its widest reach
        rows, cols = rows * -(-least // (height * rows)), cols * -(-least // (width * cols))
        with _periodic(*self._layers):
            out = self.denoiser(periods.repeat(1, 1, rows, cols), sigma)
        return out.unflatten(-1, (cols, width)).mean(dim=-2).unflatten(-2, (rows, height)).mean(dim=-3)

    def _pad_radius(self, x: torch.Tensor) -> int:
        """``R`` when the image needs tiles and the padded path applies (a single-scale net and ``R``
        within the image), else 0."""
        if max(x.shape[-2:]) <= self.tile or size_unit(self.denoiser) != 1:
            return 0
        radius = receptive_radius(self.denoiser)
        return radius if 0 < radius <= min(x.shape[-2:]) else 0

    def _padded(self, padded: torch.Tensor, radius: int, sigma) -> torch.Tensor:
        """The zero-padded net on ``padded`` tile by tile, cropped by ``radius``: ``D∘`` on the inside."""
        out = Tiled(self.denoiser, tile=self.tile, overlap=radius)(padded, sigma)
        return out[..., radius:-radius, radius:-radius]

    def averagedness(self) -> Averagedness:
        """The inner denoiser's statement (module docstring: the wrapper keeps α)."""
        return kept_statement(self.denoiser, self.reason)

    def extra_repr(self) -> str:
        return f"tile={self.tile}"


class PeriodicBorder(_BorderWrapper):
    """``T(x) = D∘(x)``: ``D`` with circular convolutions on ``x`` itself (module docstring); same α as ``D``."""

    reason = "circular convolutions (same DFT bound) keep alpha"

    def _per_layer(self, x: torch.Tensor, sigma) -> torch.Tensor:
        return self._circular(x, sigma)

    def _by_padding(self, x: torch.Tensor, radius: int, sigma) -> torch.Tensor:
        return self._padded(F.pad(x, (radius,) * 4, mode="circular"), radius, sigma)


class MirrorEmbedded(_BorderWrapper):
    """``T(x) = ¼ Mᵀ D∘(M x)``: ``D`` with circular convolutions on the 2×2 mirror tiling of ``x``
    (module docstring), so the image border is seen as the inside of a seamless image. Same α as ``D``."""

    reason = "mirror embedding (an isometry and a scaling conjugation) keeps alpha"

    def __init__(self, denoiser: torch.nn.Module, *, tile: int = TILE) -> None:
        super().__init__(denoiser, tile=tile)
        self._one_call = flip_equivariant(denoiser)  # decided once, not on every call

    @property
    def flip_equivariant(self) -> bool:
        """Whether the net commutes with flips (:func:`flip_equivariant`), so that the map costs one call."""
        return self._one_call

    def _by_padding(self, x: torch.Tensor, radius: int, sigma) -> torch.Tensor:
        if self.flip_equivariant:  # the four quadrants agree: one padded pass
            return self._padded(symmetric_pad(x, radius), radius, sigma)
        # quadrant q of D∘(M x) is flip_q of the first quadrant of D∘(M flip_q x): four padded passes
        total = torch.zeros_like(x)
        for dims in ((), (-1,), (-2,), (-2, -1)):
            flipped = x.flip(dims) if dims else x
            first = self._padded(symmetric_pad(flipped, radius), radius, sigma)
            total += first.flip(dims) if dims else first
        return total / 4

    def _per_layer(self, x: torch.Tensor, sigma) -> torch.Tensor:
        height, width = x.shape[-2:]
        unit = size_unit(self.denoiser)
        reach = _widest_reach(self._layers[0])
        if self.flip_equivariant and height % unit == 0 and width % unit == 0 and min(height, width) >= 2 * unit * reach:
            with _symmetric(self._layers[0]):
                return self.denoiser(x, sigma)
        row = torch.cat([x, x.flip(-1)], dim=-1)
        out = self._circular(torch.cat([row, row.flip(-2)], dim=-2), sigma)
        folded = out[..., :height, :] + out[..., height:, :].flip(-2)
        return (folded[..., :width] + folded[..., width:].flip(-1)) / 4
