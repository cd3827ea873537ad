"""The foundation's acceptance checks: blur a real image with levin(3), recover it with PnP-PGD and
an averaged stand-in denoiser (Gaussian smoothing) to a higher PSNR, converged."""

from __future__ import annotations

import torch

from pnp.demo import deblur_example
from pnp.denoisers import GaussianSmoother
from pnp.io import load_image
from pnp.metrics import psnr
from pnp.operators import Blur, kernels
from pnp.solvers import Stopping, pnp_pgd


def test_bsds500_levin3_deblurring_improves_psnr_and_converges(bsds500):
    sharp = load_image(bsds500 / "data" / "images" / "val" / "102061.jpg")
    physics = Blur(kernels.levin(3))
    noise = 0.01 * torch.randn(sharp.shape, generator=torch.Generator().manual_seed(0))
    blurred = physics.A(sharp) + noise
    result = pnp_pgd(physics, blurred, GaussianSmoother(0.3), sigma=0.01, x0=blurred,
                     stopping=Stopping(max_iter=500, tol=1e-5))
    assert result.converged
    gain = float(psnr(result.x.clamp(0, 1), sharp) - psnr(blurred, sharp))
    assert gain > 2.0, f"PSNR gain {gain:.2f} dB"


def test_deblur_example_on_a_builtin_image():
    run = deblur_example(image="camera", kernel="levin2", stopping=Stopping(max_iter=500, tol=1e-5))
    metrics = run.metrics()
    assert run.result.converged
    assert metrics["psnr_restored"] > metrics["psnr_blurred"] + 1.0
    assert metrics["ssim_restored"] > metrics["ssim_blurred"]
