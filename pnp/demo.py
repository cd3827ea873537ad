"""A self-contained deblurring run on an image shipped with scikit-image (no file needed).

Blur a sharp built-in image with a kernel, add Gaussian noise, restore it by PnP proximal
gradient, and report PSNR/SSIM before and after. Used by ``pnp example`` and the README.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from .denoisers import GaussianSmoother
from .io import to_tensor
from .metrics import psnr, ssim
from .operators import Blur, Boundary, kernels
from .solvers import Callback, Result, Stopping, pnp_pgd

__all__ = ["DeblurRun", "builtin_image", "deblur_example", "BUILTIN_IMAGES"]

BUILTIN_IMAGES = ("astronaut", "camera", "coffee", "chelsea")


def builtin_image(name: str = "astronaut") -> torch.Tensor:
    """A scikit-image sample image (shipped in its wheel) as (1, C, H, W) in [0, 1]."""
    import skimage.data

    if name not in BUILTIN_IMAGES:
        raise ValueError(f"unknown built-in image {name!r}; choose one of {', '.join(BUILTIN_IMAGES)}")
    return to_tensor(getattr(skimage.data, name)())


@dataclass
class DeblurRun:
    """Everything a deblurring experiment produced; PSNR/SSIM are against ``sharp``."""

    sharp: torch.Tensor
    blurred: torch.Tensor
    kernel: torch.Tensor
    result: Result
    seconds: float

    @property
    def restored(self) -> torch.Tensor:
        return self.result.x.clamp(0, 1)

    def metrics(self) -> dict[str, float]:
        return {
            "psnr_blurred": float(psnr(self.blurred, self.sharp)[0]),
            "psnr_restored": float(psnr(self.restored, self.sharp)[0]),
            "ssim_blurred": float(ssim(self.blurred, self.sharp)[0]),
            "ssim_restored": float(ssim(self.restored, self.sharp)[0]),
        }


def deblur_example(
    *,
    image: str = "astronaut",
    kernel: str = "levin3",
    noise_level: float = 0.01,
    smoothing_width: float = 0.3,
    seed: int = 0,
    stopping: Stopping = Stopping(max_iter=500, tol=1e-5),
    callback: Callback | None = None,
) -> DeblurRun:
    """Blur + noise a built-in image, then restore it with PnP-PGD and a :class:`GaussianSmoother` prior.

    The measurement is ``y = k * x + n`` (circular boundary, ``n ~ N(0, noise_level^2)`` drawn from
    ``torch.Generator().manual_seed(seed)``); PnP starts from ``y`` with step ``1/||A||^2 = 1``.
    """
    if not noise_level >= 0:
        raise ValueError(f"noise level must be >= 0, got {noise_level}")
    sharp = builtin_image(image)
    blur_kernel = kernels.from_spec(kernel, seed=seed)
    physics = Blur(blur_kernel, boundary=Boundary.CIRCULAR)
    generator = torch.Generator().manual_seed(seed)
    blurred = physics.A(sharp) + noise_level * torch.randn(sharp.shape, generator=generator)
    start = time.perf_counter()
    result = pnp_pgd(
        physics, blurred, GaussianSmoother(smoothing_width), sigma=noise_level, x0=blurred,
        stopping=stopping, reference=sharp, callback=callback,
    )
    return DeblurRun(sharp, blurred, blur_kernel, result, time.perf_counter() - start)
