"""Classical anchors for the benchmark tables: colour BM3D denoising and BM3D deblurring.

Both come from the optional ``bm3d`` package (PyPI, Tampere University; licensed for
non-commercial use only), installed with ``pip install "stable-pnp[anchors]"``. It is never
vendored and never imported by the library's core: only these functions import it, lazily, and
:func:`available` tells the benchmark whether to run them.

- :func:`cbm3d_denoise`: ``bm3d.bm3d_rgb`` (colour BM3D in the opponent colour space, the
  ``'np'`` profile) at the known noise level. (deepinv's ``BM3D`` wrapper runs the grey BM3D on
  every channel, about 1.5 dB below this on colour images.)
- :func:`bm3d_deblur`: BM3D-DEB (Dabov, Foi, Katkovnik, Egiazarian, "Image restoration by sparse
  3D transform-domain collaborative filtering", SPIE 2008) in its two documented steps, per
  colour channel, around ``bm3d.bm3d`` on 2-D arrays:

  1. regularised inverse ``z_RI = F⁻¹[ conj(V) / (|V|² + α_RI Φ) · F z ]`` (α_RI = 4e-4), whose noise
     has PSD ``Φ |conj(V)/(|V|² + α_RI Φ)|²``, then BM3D hard-thresholding of ``z_RI`` under that PSD
     → pilot ``ŷ``;
  2. regularised Wiener inverse ``z_RWI = F⁻¹[ conj(V) |Fŷ|² / (|Fŷ|² |V|² + α_RWI Φ) · F z ]``
     (α_RWI = 5e-3) and BM3D Wiener filtering of ``z_RWI`` with the pilot ``ŷ``.

  ``V`` is the DFT of the blur's point-spread function as our circular :class:`~pnp.operators.Blur`
  applies it (read off the operator's response to a unit impulse, so the centring matches) and
  ``Φ = σ² H W`` the (white) noise PSD in the DFT's scaling. The constants and profile (``'np'``)
  are those of ``bm3d.bm3d_deblurring``, which cannot be called as shipped with numpy >= 2.4
  (``bm4d`` 4.2.5 calls the removed ``numpy.trapz``) and, for colour input, hands its second stage
  a pilot of the wrong dimension.

Inputs and outputs are tensors ``(1, C, H, W)`` in [0, 1] (float), like every method of the tables.
"""

from __future__ import annotations

import contextlib
import importlib.util
from typing import Iterator

import numpy as np
import torch

from ..operators import Blur
from ..shapes import check_images

__all__ = ["INSTALL_HINT", "available", "bm3d_deblur", "cbm3d_denoise"]

INSTALL_HINT = ('BM3D rows left out: the optional package bm3d is not installed '
                '(pip install "stable-pnp[anchors]"; non-commercial licence)')
RI_REGULARISATION, RWI_REGULARISATION = 4e-4, 5e-3


def available() -> bool:
    """Whether the optional ``bm3d`` package can be imported."""
    return importlib.util.find_spec("bm3d") is not None


@contextlib.contextmanager
def _numpy_trapz() -> Iterator[None]:
    """``bm4d`` 4.2.5 (under ``bm3d``) calls ``numpy.trapz`` for coloured-noise PSDs, removed in
    numpy 2.4; lend it ``numpy.trapezoid`` (the same function under its new name) while BM3D runs."""
    missing = not hasattr(np, "trapz")
    if missing:
        np.trapz = np.trapezoid  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if missing:
            delattr(np, "trapz")


def _as_hwc(image: torch.Tensor) -> np.ndarray:
    check_images(image, "image", single=True, floating=False)
    return image[0].detach().double().cpu().permute(1, 2, 0).numpy()


def _as_tensor(array: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.atleast_3d(array).transpose(2, 0, 1)))[None].to(like)


def cbm3d_denoise(noisy: torch.Tensor, sigma: float) -> torch.Tensor:
    """Colour BM3D (``bm3d.bm3d_rgb``) of ``noisy`` (1, 3, H, W) at noise level ``sigma``; grey
    images (1, 1, H, W) go through the grey ``bm3d.bm3d``."""
    import bm3d

    array = _as_hwc(noisy)
    if array.shape[2] == 3:
        denoised = bm3d.bm3d_rgb(array, sigma)
    else:
        denoised = bm3d.bm3d(array[..., 0], sigma)
    return _as_tensor(denoised, noisy)


def blur_spectrum(physics: Blur, height: int, width: int) -> np.ndarray:
    """The blur's complex DFT ``V`` (height, width), complex128, as numpy: ``A x = F⁻¹(V · F x)``.

    Complex on purpose: the real part alone is the DFT of the kernel's symmetrisation, a different blur
    for every asymmetric (motion) kernel."""
    return physics.transfer_function(height, width).to(torch.complex128).cpu().numpy()


def bm3d_deblur(physics: Blur, observed: torch.Tensor, sigma: float) -> torch.Tensor:
    """BM3D-DEB of ``observed`` (1, C, H, W) = ``physics.A(x)`` + N(0, sigma²), channel by channel."""
    import bm3d

    z = _as_hwc(observed)
    height, width = z.shape[:2]
    v = blur_spectrum(physics, height, width)
    psd = np.full((height, width), sigma**2 * height * width)
    channels = []
    with _numpy_trapz():
        for c in range(z.shape[2]):
            channels.append(_deblur_channel(bm3d, np.fft.fft2(z[..., c]), v, psd))
    return _as_tensor(np.stack(channels, axis=-1), observed)


def _deblur_channel(bm3d, spectrum: np.ndarray, v: np.ndarray, psd: np.ndarray) -> np.ndarray:
    """The two BM3D-DEB steps on one channel, given its DFT ``spectrum``."""
    inverse = np.conj(v) / (np.abs(v) ** 2 + RI_REGULARISATION * psd)
    z_ri = np.real(np.fft.ifft2(spectrum * inverse))
    pilot = bm3d.bm3d(z_ri, psd * np.abs(inverse) ** 2, "np", stage_arg=bm3d.BM3DStages.HARD_THRESHOLDING)
    power = np.abs(np.fft.fft2(pilot)) ** 2
    wiener = np.conj(v) * power / (power * np.abs(v) ** 2 + RWI_REGULARISATION * psd)
    z_rwi = np.real(np.fft.ifft2(spectrum * wiener))
    return bm3d.bm3d(z_rwi, psd * np.abs(wiener) ** 2, "np", stage_arg=pilot)
