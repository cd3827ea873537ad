"""One contract suite run over every denoiser the package ships.

Adding a denoiser? Add one entry to DENOISERS: a name, a factory and the channel counts it takes.
"""

from __future__ import annotations

from typing import Callable

import pytest
import torch

from pnp.denoisers import TV, DnCNN, EulerDenoiser, FlowConfig, GaussianSmoother, MultiscaleEulerDenoiser


def _seeded(factory: Callable[[], torch.nn.Module]) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        torch.manual_seed(0)
        return factory().eval()
    return build


DENOISERS: dict[str, tuple[Callable[[], torch.nn.Module], tuple[int, ...]]] = {
    "gaussian-smoother": (_seeded(lambda: GaussianSmoother(1.0)), (1, 3)),
    "euler-colour": (_seeded(lambda: EulerDenoiser(channels=8, blocks=2)), (3,)),
    "euler-grey": (_seeded(lambda: EulerDenoiser(in_channels=1, channels=8, blocks=2)), (1,)),
    "euler-heun-strength": (_seeded(lambda: EulerDenoiser(channels=6, blocks=1, strength=0.5,
                                                          flow=FlowConfig(integrator="heun"))), (3,)),
    "euler-multiscale": (_seeded(lambda: MultiscaleEulerDenoiser(channels=6, scales=(1, 1, 1), hidden=8)), (3,)),
    "euler-multiscale-grey": (_seeded(lambda: MultiscaleEulerDenoiser(in_channels=1, channels=4, scales=(2, 1))), (1,)),
    "dncnn": (_seeded(lambda: DnCNN(depth=3, features=8)), (3,)),
    "tv-fixed": (_seeded(lambda: TV(weight=0.1, max_iter=100)), (1, 3)),
    "tv-table": (_seeded(lambda: TV(max_iter=100)), (1, 3)),
}

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _cases():
    for name, (_, channel_counts) in DENOISERS.items():
        for channels in channel_counts:
            yield pytest.param(name, channels, id=f"{name}-c{channels}")


@pytest.mark.parametrize("name, channels", list(_cases()))
@pytest.mark.parametrize("batch", [0, 1, 3])
def test_shape_and_dtype_contract(name, channels, batch, generator):
    model = DENOISERS[name][0]()
    x = torch.rand(batch, channels, 37, 31, generator=generator)
    with torch.no_grad():
        out = model(x, 0.1)
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name, channels", list(_cases()))
@pytest.mark.parametrize("device", DEVICES)
def test_float64_and_device_follow_the_input(name, channels, device, generator):
    model = DENOISERS[name][0]().to(device)
    x = torch.rand(2, channels, 17, 23, generator=generator, dtype=torch.float64).to(device)
    with torch.no_grad():
        out = model(x, 0.1)
    assert out.dtype == torch.float64 and out.device == x.device and out.shape == x.shape


@pytest.mark.parametrize("name, channels", list(_cases()))
def test_inference_mode_and_determinism(name, channels, generator):
    """Same input, same output, whatever was denoised in between (TV keeps no warm start)."""
    model = DENOISERS[name][0]()
    x = torch.rand(1, channels, 37, 31, generator=generator)
    other = torch.rand(1, channels, 37, 31, generator=generator)
    with torch.inference_mode():
        first = model(x, 0.1)
        model(other, 0.1)
        again = model(x, 0.1)
    torch.testing.assert_close(first, again, rtol=0, atol=0)


@pytest.mark.parametrize("name, channels", list(_cases()))
def test_rejects_inputs_that_are_not_image_batches(name, channels):
    model = DENOISERS[name][0]()
    with pytest.raises(ValueError):
        model(torch.rand(channels, 37, 31), 0.1)


@pytest.mark.parametrize("name", ["gaussian-smoother", "euler-colour", "euler-heun-strength", "euler-multiscale",
                                  "tv-fixed"])
def test_averaged_denoisers_are_non_expansive_on_random_pairs(name, generator):
    model = DENOISERS[name][0]()
    a = torch.rand(4, 3, 37, 31, generator=generator)
    b = a + 0.2 * torch.randn(a.shape, generator=generator)
    with torch.no_grad():
        ratio = (model(a, 0.1) - model(b, 0.1)).flatten(1).norm(dim=1) / (a - b).flatten(1).norm(dim=1)
    assert (ratio <= 1 + 1e-3).all()


def test_tv_weight_depends_on_sigma():
    tv = TV()
    assert tv.weight_for(0.05) < tv.weight_for(0.10) < tv.weight_for(0.15)
    assert tv.weight_for(0.10) == pytest.approx(tv.table[0.1])
    per_image = tv.weight_for(torch.tensor([0.05, 0.15]))
    assert per_image.shape == (2,)
    with pytest.raises(ValueError, match="sigma"):
        tv(torch.rand(1, 3, 8, 8), None)


@pytest.mark.parametrize("name", ["euler-colour", "dncnn", "tv-table", "gaussian-smoother"])
def test_works_inside_deepinv_pnp(name, generator):
    import deepinv as dinv
    from deepinv.optim import PnP
    from deepinv.optim.data_fidelity import L2

    model = DENOISERS[name][0]()
    physics = dinv.physics.Denoising(dinv.physics.GaussianNoise(0.1))
    y = torch.rand(1, 3, 37, 31, generator=generator)
    algorithm = dinv.optim.optim_builder(iteration="PGD", prior=PnP(denoiser=model), data_fidelity=L2(),
                                         params_algo={"stepsize": 1.0, "g_param": 0.1}, max_iter=3)
    with torch.no_grad():
        out = algorithm(y, physics)
    assert out.shape == y.shape and torch.isfinite(out).all()


def test_deblurring_with_tv_warm_starts_its_inner_solver_and_lands_on_the_same_restoration(smooth_image, monkeypatch):
    """`pnp deblur --model tv` took minutes: each of its prox calls restarted Chambolle-Pock from scratch."""
    from deepinv.models import TVDenoiser

    from pnp.operators import kernels
    from pnp.tasks import DeblurOptions, deblur, simulate_blur

    steps = {"count": 0}
    original = TVDenoiser.prox_tau_fx

    def counted(self, *args, **kwargs):
        steps["count"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TVDenoiser, "prox_tau_fx", counted)
    kernel = kernels.box(5)
    observed = simulate_blur(smooth_image, kernel, boundary="reflect", noise_level=0.01, seed=0)
    tv = TV(weight=0.01)
    results = {}
    for name, prior in (("warm", tv), ("cold", tv)):
        if name == "cold":
            monkeypatch.setattr(TV, "warm_started", lambda self: self)
        steps["count"] = 0
        results[name] = (deblur(observed, kernel, prior, DeblurOptions(noise_level=0.01)).restored, steps["count"])
    (warm, warm_steps), (cold, cold_steps) = results["warm"], results["cold"]
    assert warm_steps * 3 < cold_steps, (warm_steps, cold_steps)
    rms = float((warm - cold).square().mean().sqrt())
    assert rms < 0.005, f"the two inexact proxes disagree by {rms:.4f} RMS"
    assert tv._warm is None, "the caller's TV stays one fixed map"
