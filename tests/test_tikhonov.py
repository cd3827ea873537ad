"""The Tikhonov first estimate that ``pnp deblur`` starts from."""

from __future__ import annotations

import pytest
import torch

from pnp.demo import builtin_image
from pnp.denoisers import GaussianSmoother
from pnp.metrics import psnr
from pnp.operators import Blur, Boundary, kernels
from pnp.solvers import SolverOptions, Stopping, pnp_pgd, tikhonov_estimate
from pnp.solvers.tikhonov import gradient_energy_adjoint
from pnp.tasks import DeblurOptions, Start, deblur, simulate_blur


def test_gradient_energy_is_the_adjoint_pair_and_keeps_constants(generator):
    x = torch.rand(2, 3, 9, 7, generator=generator, dtype=torch.float64)
    z = torch.rand(2, 3, 9, 7, generator=generator, dtype=torch.float64)
    dv, dh = x[..., 1:, :] - x[..., :-1, :], x[..., :, 1:] - x[..., :, :-1]
    # <grad^T grad x, x> = ||grad x||^2, and the operator is symmetric
    torch.testing.assert_close((gradient_energy_adjoint(x) * x).sum(), dv.square().sum() + dh.square().sum())
    torch.testing.assert_close((gradient_energy_adjoint(x) * z).sum(), (x * gradient_energy_adjoint(z)).sum())
    assert gradient_energy_adjoint(torch.full((1, 1, 5, 6), 0.7)).abs().max() < 1e-6


@pytest.mark.parametrize("boundary", list(Boundary))
def test_tikhonov_solves_its_normal_equations_and_beats_the_blurred_input(boundary):
    sharp = builtin_image("camera")[..., 100:196, 150:246].double()
    physics = Blur(kernels.levin(3), boundary=boundary).double()
    y = simulate_blur(sharp, kernels.levin(3), boundary=boundary, noise_level=0.01, seed=1)
    weight = 0.02
    x = tikhonov_estimate(physics, y, sigma=0.01, weight=weight, max_iter=2000, tol=1e-12)
    residual = physics.A_adjoint(physics.A(x)) + weight * gradient_energy_adjoint(x) - physics.A_adjoint(y)
    assert float(residual.norm() / physics.A_adjoint(y).norm()) < 1e-6  # a wrong operator leaves O(1)
    default = tikhonov_estimate(physics, y, sigma=0.01)
    assert float(psnr(default.clamp(0, 1), sharp)) > float(psnr(y.clamp(0, 1), sharp)) + 1.0


def test_tikhonov_rejects_a_bad_weight():
    physics = Blur(kernels.levin(1))
    with pytest.raises(ValueError, match="positive"):
        tikhonov_estimate(physics, torch.rand(1, 1, 32, 32), sigma=0.01, weight=0.0)


def test_both_starts_reach_the_same_fixed_point_and_tikhonov_saves_calls():
    sharp = builtin_image("camera")[..., 100:228, 150:278]
    kernel = kernels.levin(2)
    y = simulate_blur(sharp, kernel, boundary=Boundary.REFLECT, noise_level=0.01, seed=0)
    prior = GaussianSmoother(0.3)
    runs = {start: deblur(y, kernel, prior, DeblurOptions(start=start, stopping=Stopping(2000, 1e-6)))
            for start in Start}
    a, b = (runs[s].result for s in (Start.OBSERVED, Start.TIKHONOV))
    assert a.converged and b.converged
    assert float((a.x - b.x).norm() / a.x.norm()) < 1e-4
    calls = {s: int(r.result.history.columns()["evaluations"][-1, 0]) for s, r in runs.items()}
    assert calls[Start.TIKHONOV] < calls[Start.OBSERVED], calls


def test_pnp_gradient_uses_the_cached_adjoint_of_y(generator):
    physics = Blur(kernels.levin(4))
    y = torch.rand(2, 1, 40, 40, generator=generator)
    x0 = torch.rand(2, 1, 40, 40, generator=generator)
    identity = lambda x, sigma: x  # noqa: E731 - PnP with the identity prior is plain gradient descent
    result = pnp_pgd(physics, y, identity, sigma=0.0, x0=x0, options=SolverOptions(Stopping(1, 0.0)))
    step = 1.0 / float(physics.compute_sqnorm(x0))
    expected = x0 - step * physics.A_adjoint(physics.A(x0) - y)
    torch.testing.assert_close(result.x, expected, rtol=1e-5, atol=1e-6)
