"""The foundation's acceptance checks: blur a real image with levin(3), recover it with PnP-PGD and
an averaged stand-in denoiser (Gaussian smoothing) to a higher PSNR, converged."""

from __future__ import annotations

import torch

from pnp.demo import builtin_image
from pnp.denoisers import GaussianSmoother
from pnp.io import read_image
from pnp.metrics import before_after, psnr
from pnp.operators import Blur, Boundary, kernels
from pnp.solvers import SolverOptions, Stopping, pnp_pgd
from pnp.tasks import simulate_blur


def test_bsds500_levin3_deblurring_improves_psnr_and_converges(bsds500):
    sharp = read_image(bsds500 / "data" / "images" / "val" / "102061.jpg").image
    physics = Blur(kernels.levin(3))
    noise = 0.01 * torch.randn(sharp.shape, generator=torch.Generator().manual_seed(0))
    blurred = physics.A(sharp) + noise
    result = pnp_pgd(physics, blurred, GaussianSmoother(0.3), sigma=0.01, x0=blurred,
                     options=SolverOptions(Stopping(max_iter=500, tol=1e-5)))
    assert result.converged
    gain = float(psnr(result.x.clamp(0, 1), sharp) - psnr(blurred, sharp))
    assert gain > 2.0, f"PSNR gain {gain:.2f} dB"


def test_deblurring_a_builtin_image_improves_psnr_and_ssim():
    sharp = builtin_image("camera")
    physics = Blur(kernels.levin(2))
    blurred = simulate_blur(sharp, kernels.levin(2), boundary=Boundary.CIRCULAR, noise_level=0.01, seed=0)
    result = pnp_pgd(physics, blurred, GaussianSmoother(0.3), sigma=0.01, x0=blurred,
                     options=SolverOptions(Stopping(max_iter=500, tol=1e-5)), reference=sharp)
    metrics = before_after(blurred, result.x.clamp(0, 1), sharp)
    assert result.converged
    assert metrics["psnr_restored"] > metrics["psnr_input"] + 1.0
    assert metrics["ssim_restored"] > metrics["ssim_input"]
