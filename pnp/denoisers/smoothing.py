"""A linear, provably firmly non-expansive smoothing denoiser (a baseline and a test stand-in)."""

from __future__ import annotations

import math

import torch
from deepinv.models import Denoiser

from .averaged import Averagedness
from ..shapes import check_images

__all__ = ["GaussianSmoother"]


class GaussianSmoother(Denoiser):
    """Periodic Gaussian smoothing ``D = F^* diag(g) F`` with ``g(w) = exp(-width^2 |w|^2 / 2)``.

    ``w`` ranges over the angular DFT frequencies of the (H, W) grid. ``D`` is self-adjoint with
    spectrum in (0, 1], so ``D = 1/2 I + 1/2 N`` with ``N = 2D - I`` of spectrum in (-1, 1]: ``D`` is
    firmly non-expansive, i.e. 1/2-averaged, and PnP-PGD with it converges. Its fixed point is a
    Wiener-like filter whose regulariser grows like ``width^2 |w|^2`` at low frequency.

    ``sigma`` is accepted for the deepinv ``Denoiser`` interface and ignored: the smoothing is
    set by ``width`` (in pixels). Works on (B, C, H, W), any dtype/device.
    """

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        if not width > 0 or not math.isfinite(width):
            raise ValueError(f"width must be a positive number, got {width!r}")
        self.width = float(width)

    def transfer_function(self, height: int, width: int, like: torch.Tensor) -> torch.Tensor:
        """``g`` on the rfft2 grid, shape (height, width // 2 + 1)."""
        wy = 2 * math.pi * torch.fft.fftfreq(height, dtype=like.dtype, device=like.device)
        wx = 2 * math.pi * torch.fft.rfftfreq(width, dtype=like.dtype, device=like.device)
        squared = wy[:, None].square() + wx[None, :].square()
        return torch.exp(-0.5 * self.width**2 * squared)

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        check_images(x, "x", floating=False)
        if x.numel() == 0:  # some FFT back-ends reject empty batches
            return x.clone()
        height, width = x.shape[-2:]
        gain = self.transfer_function(height, width, x)
        return torch.fft.irfft2(torch.fft.rfft2(x) * gain, s=(height, width))

    def averagedness(self) -> Averagedness:
        """Proven: 1/2-averaged (spectrum in (0, 1]), for every width."""
        return Averagedness(0.5, True, "self-adjoint with spectrum in (0, 1]: firmly non-expansive",
                            one_minus_alpha=0.5)

    def extra_repr(self) -> str:
        return f"width={self.width}"
