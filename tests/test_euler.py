"""Euler-block denoiser: step rules, integrators, averagedness, PnP behaviour, eval-mode caching."""

from __future__ import annotations

import pytest
import torch

from pnp.denoisers import EulerDenoiser, FlowConfig, Integrator, StepRule, spectral_norm_bound
from pnp.denoisers.flow import EulerBlock, fixed_time_schedule
from pnp.operators import Blur, kernels
from pnp.solvers import SolverOptions, Stopping, pnp_pgd


def small(**kwargs) -> EulerDenoiser:
    torch.manual_seed(kwargs.pop("seed", 0))
    return EulerDenoiser(channels=kwargs.pop("channels", 8), blocks=kwargs.pop("blocks", 2), **kwargs)


def scaled(model: EulerDenoiser, factor: float = 10.0) -> EulerDenoiser:
    with torch.no_grad():
        for block in model.blocks:
            block.weight.mul_(factor)
    return model


def images(generator, batch=2, channels=3) -> torch.Tensor:
    return torch.rand(batch, channels, 37, 31, generator=generator)


def _norms(v):
    return torch.linalg.vector_norm(v.flatten(1), dim=1)


# -- architecture ------------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [1, 3])
def test_lift_and_project_keep_the_image_channels(channels, generator):
    model = small(in_channels=channels).eval()
    x = images(generator, channels=channels)
    assert model.lift(x).shape == (2, 8, 37, 31)
    assert torch.equal(model.lift(x)[:, :channels], x)
    assert model(x).shape == x.shape


def test_wrong_inputs_are_rejected(generator):
    model = small()
    with pytest.raises(ValueError, match="channels"):
        model(images(generator, channels=1))
    with pytest.raises(ValueError, match="shape"):
        model(torch.rand(3, 37, 31))
    with pytest.raises(ValueError, match="channels"):
        EulerDenoiser(in_channels=3, channels=2)
    with pytest.raises(ValueError, match="strength"):
        small(strength=0.0)


def test_sigma_is_ignored(generator):
    model = small().eval()
    x = images(generator)
    with torch.no_grad():
        assert torch.equal(model(x, 0.05), model(x, 0.3))


# -- step rules ----------------------------------------------------------------------------------
@pytest.mark.parametrize("lipschitz", [0.0, 0.3, 1.98, 1.99, 5.0, 123.4])
def test_fixed_time_schedule_is_minimal_and_safe(lipschitz):
    config = FlowConfig(time=1.0, margin=0.01)
    schedule = fixed_time_schedule(lipschitz, config)
    assert schedule.step * lipschitz <= 2 * 0.99
    assert schedule.substeps * schedule.step == pytest.approx(1.0)
    if schedule.substeps > 1:
        assert (1.0 / (schedule.substeps - 1)) * lipschitz > 2 * 0.99


def test_fixed_time_schedule_cap_keeps_the_bound():
    config = FlowConfig(time=1.0, max_substeps=3)
    schedule = fixed_time_schedule(100.0, config)
    assert schedule.substeps == 3
    assert schedule.step * 100.0 == pytest.approx(2 * 0.99)


def test_eval_schedule_uses_the_rigorous_bound_and_no_power_iteration(generator):
    model = scaled(small()).eval()
    vectors = [block.power_vector.clone() for block in model.blocks]
    with torch.inference_mode():
        model(images(generator))
    for block, vector in zip(model.blocks, vectors):
        assert torch.equal(block.power_vector, vector)
        upper = spectral_norm_bound(block.weight).upper
        assert float(block.norm_upper) == pytest.approx(upper)
        assert float(block.step) * upper**2 <= 2 * (1 - block.config.margin)
        assert int(block.substeps) * float(block.step) == pytest.approx(block.config.time)
        assert upper >= block.power_estimate()


def test_training_mode_runs_the_warm_power_method(generator):
    model = small().train()
    block = model.blocks[0]
    before = block.power_vector.clone()
    model(images(generator)).square().mean().backward()
    assert not torch.equal(before, block.power_vector)
    assert 0 < float(block.norm_estimate) <= spectral_norm_bound(block.weight).upper
    assert block.weight.grad is not None and block.bias.grad is not None
    assert "blocks.0.power_vector" in model.state_dict()


def test_scaled_weights_keep_the_step_rule_in_training_mode(generator):
    model = scaled(small()).train()
    for _ in range(30):  # let the warm-started power method converge
        with torch.no_grad():
            model(images(generator, batch=1))
    for block in model.blocks:
        lipschitz = float(block.norm_estimate) ** 2
        schedule = fixed_time_schedule(lipschitz, block.config)
        assert schedule.substeps > 10
        assert schedule.step * lipschitz <= 2 * (1 - block.config.margin)


def test_learned_step_is_clamped_to_the_bound(generator):
    flow = FlowConfig(step_rule=StepRule.LEARNED_STEP, init_step=100.0, substeps=2)
    model = small(flow=flow).eval()
    for schedule, block in zip(model.freeze(), model.blocks):
        upper = float(block.norm_upper)
        assert schedule.substeps == 2
        assert schedule.step * upper**2 == pytest.approx(2 * (1 - flow.margin))
    small_step = small(flow=FlowConfig(step_rule=StepRule.LEARNED_STEP, init_step=0.1)).train()
    small_step(images(generator)).square().mean().backward()
    assert small_step.blocks[0].log_step.grad is not None


def test_schedule_is_recomputed_when_the_weights_change(generator):
    model = small().eval()
    before = model.substep_counts()
    scaled(model, 10.0)
    after = model.substep_counts()
    assert all(a > b for a, b in zip(after, before))
    for block in model.blocks:
        assert float(block.step) * spectral_norm_bound(block.weight).upper ** 2 <= 2 * 0.99



def test_a_model_loaded_under_inference_mode_runs_and_still_sees_weight_changes(generator, tmp_path):
    """Weights made under ``torch.inference_mode`` keep no version counter: loading and running a
    shipped model there must work, and an in-place change there must still re-freeze the schedule."""
    from pnp.denoisers import load

    with torch.inference_mode():
        model = load("euler-sigma0.05")
        x = torch.rand(1, 3, 24, 20, generator=generator)
        assert model(x, 0.05).shape == x.shape
        scaled(model, 10.0)
        for block in model.blocks:
            schedule = block.eval_schedule()  # re-frozen from the scaled weights' rigorous bound
            assert schedule.lipschitz >= spectral_norm_bound(block.weight).upper ** 2 * (1 - 1e-3)
            assert schedule.step * schedule.lipschitz <= 2 * 0.99 * (1 + 1e-9)

# -- integrators -------------------------------------------------------------------------------
def test_heun_is_half_identity_plus_half_euler_twice(generator):
    torch.manual_seed(1)
    euler = EulerBlock(4, FlowConfig(integrator=Integrator.EULER)).double().eval()
    heun = EulerBlock(4, FlowConfig(integrator=Integrator.HEUN)).double().eval()
    heun.load_state_dict(euler.state_dict())
    z = torch.randn(2, 4, 9, 11, generator=generator, dtype=torch.float64)
    h = euler.eval_schedule().step
    assert heun.eval_schedule().step == h
    with torch.no_grad():
        field = lambda u: euler.vector_field(u, euler.weight, euler.bias)  # noqa: E731
        step_e = lambda u: u + h * field(u)  # noqa: E731
        expected = z
        for _ in range(euler.eval_schedule().substeps):
            expected = 0.5 * expected + 0.5 * step_e(step_e(expected))
        torch.testing.assert_close(heun(z), expected)


def test_rk4_runs_but_is_not_certified(generator):
    model = small(flow=FlowConfig(integrator="rk4")).eval()
    assert model(images(generator)).shape == (2, 3, 37, 31)
    statement = model.averagedness()
    assert not statement.certified and statement.alpha is None
    assert "not certified" in statement.reason


def test_fast_inplace_path_matches_autograd_path(generator):
    model = scaled(small(), 3.0).eval()
    x = images(generator)
    with torch.inference_mode():
        fast = model(x)
    slow = model(x.clone().requires_grad_(True)).detach()
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)


def test_leaky_relu_and_float64(generator):
    model = small(flow=FlowConfig(activation="leaky_relu", negative_slope=0.2)).eval()
    out = model(images(generator).double())
    assert out.dtype == torch.float64 and torch.isfinite(out).all()


# -- averagedness ----------------------------------------------------------------------------
def test_strength_interpolates_and_scales_alpha(generator):
    model = small().eval()
    x = images(generator)
    with torch.no_grad():
        full = model(x)
        model.strength = 0.4
        relaxed = model(x)
    torch.testing.assert_close(relaxed, 0.6 * x + 0.4 * full)
    alpha_relaxed = model.averagedness().alpha
    model.strength = 1.0
    assert alpha_relaxed == pytest.approx(0.4 * model.averagedness().alpha)


@pytest.mark.parametrize("integrator", ["euler", "heun"])
def test_scaled_random_net_satisfies_the_averaged_inequality(integrator, generator):
    model = scaled(small(flow=FlowConfig(integrator=integrator))).eval()
    statement = model.averagedness()
    assert statement.certified and statement.alpha < 1
    alpha = statement.alpha
    a = images(generator, batch=6)
    b = torch.cat([a[:2] + 0.1 * torch.randn(a[:2].shape, generator=generator),
                   images(generator, batch=2), a[4:] + 1e-3 * torch.randn(a[4:].shape, generator=generator)])
    with torch.no_grad():
        da, db = model(a), model(b)
    lhs = _norms(da - db) ** 2 + (1 - alpha) / alpha * _norms((a - da) - (b - db)) ** 2
    assert (lhs <= _norms(a - b) ** 2 * (1 + 1e-4)).all()


def test_pnp_fixed_point_residual_is_non_increasing(generator, smooth_image):
    model = scaled(small()).eval()
    physics = Blur(kernels.gaussian(1.0))
    y = physics.A(smooth_image) + 0.01 * torch.randn(smooth_image.shape, generator=generator)
    with torch.no_grad():
        result = pnp_pgd(physics, y, model, sigma=0.01, options=SolverOptions(Stopping(max_iter=25, tol=0.0)))
    residual = torch.as_tensor(result.history.columns()["residual"][:, 0])
    assert torch.isfinite(residual).all()
    assert (residual[1:] <= residual[:-1] * (1 + 1e-4) + 1e-6).all()
