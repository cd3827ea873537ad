"""Certificates: the composition rule, certify() on Euler nets and baselines, repeated application."""

from __future__ import annotations

import json

import pytest
import torch

from pnp.denoisers import (
    TV,
    Certificate,
    DnCNN,
    EulerDenoiser,
    FlowConfig,
    GaussianSmoother,
    certify,
    compose_alpha,
    compose_pair,
    default_images,
    repeated_application,
)


@pytest.fixture
def clean() -> torch.Tensor:
    return default_images(3, size=32)


def small(**kwargs) -> EulerDenoiser:
    torch.manual_seed(kwargs.pop("seed", 0))
    return EulerDenoiser(channels=8, blocks=2, **kwargs)


QUICK = {"rounds": 1, "repeats": (2, 5), "jacobian_iterations": 5}


def test_combettes_yamada_rule():
    assert compose_pair(0.5, 0.5) == pytest.approx(2 / 3)
    assert compose_alpha([0.3, 0.6]) == pytest.approx(compose_pair(0.3, 0.6))
    chain = [0.2, 0.9, 0.5, 0.99]
    folded = chain[0]
    for a in chain[1:]:
        folded = compose_pair(folded, a)
    assert compose_alpha(chain) == pytest.approx(folded)
    assert compose_alpha([0.99] * 1000) < 1
    with pytest.raises(ValueError):
        compose_pair(1.0, 0.5)
    with pytest.raises(ValueError):
        compose_alpha([])


def test_random_euler_net_is_certified(clean):
    model = small()
    certificate = certify(model, clean, **QUICK)
    assert isinstance(certificate, Certificate)
    assert certificate.certified and certificate.passed
    assert 0 < certificate.alpha < 1 and certificate.one_minus_alpha == pytest.approx(1 - certificate.alpha)
    assert len(certificate.blocks) == 2
    for block in certificate.blocks:
        assert block.norm_power <= block.norm_upper <= block.norm_triangle
        assert block.step * block.norm_upper**2 <= 2 * 0.99
        assert block.alpha == pytest.approx(block.step_alpha)  # one Euler sub-step per block
    expected = compose_alpha([b.alpha for b in certificate.blocks])
    assert certificate.alpha == pytest.approx(expected)
    e = certificate.empirical
    assert e.lipschitz_max <= 1 and e.averaged_ratio_max <= 1 and e.jacobian_norm <= 1 + 1e-3
    assert model.training  # mode restored


def test_trained_euler_net_is_certified(clean, generator):
    """A few optimiser steps in training mode (power method), then export-style certification."""
    model = small(flow=FlowConfig(time=2.0))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(15):
        noisy = clean + 0.1 * torch.randn(clean.shape, generator=generator)
        loss = (model(noisy) - clean).square().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    certificate = certify(model, clean, **QUICK)
    assert certificate.passed and certificate.alpha < 1


def test_certificate_text_and_json(clean):
    certificate = certify(small(), clean, **QUICK)
    text = str(certificate)
    assert "averaged" in text and "block" in text and "repeated application" in text
    data = json.loads(certificate.to_json())
    assert data["certified"] is True and data["passed"] is True
    assert len(data["blocks"]) == 2 and data["repeated"]["iterations"] == [2, 5]


def test_cheap_part_only(clean):
    certificate = certify(small(), empirical=False)
    assert certificate.empirical is None and certificate.repeated is None and certificate.certified


def test_rk4_is_not_certified(clean):
    certificate = certify(small(flow=FlowConfig(integrator="rk4")), clean, **QUICK)
    assert not certificate.certified and not certificate.passed
    assert "not certified" in str(certificate)
    assert all(block.alpha is None for block in certificate.blocks)


def test_heun_is_certified_with_a_smaller_alpha(clean):
    euler = certify(small(), empirical=False)
    heun = certify(small(flow=FlowConfig(integrator="heun")), empirical=False)
    assert heun.certified and heun.alpha < euler.alpha


def test_baselines(clean):
    dncnn = certify(DnCNN(depth=3, features=8), clean, **QUICK)
    assert not dncnn.certified and dncnn.alpha is None and not dncnn.passed
    smoother = certify(GaussianSmoother(1.0), clean, **QUICK)
    assert smoother.certified and smoother.alpha == 0.5 and smoother.passed
    tv = certify(TV(weight=0.05, max_iter=50), clean, rounds=1, repeats=(), jacobian_iterations=0)
    assert not tv.certified and tv.alpha == 0.5
    assert tv.empirical.lipschitz_max <= 1 + 1e-2


def test_repeated_application_of_an_averaged_net_stays_bounded(clean, generator):
    model = small().eval()
    noisy = clean + 0.15 * torch.randn(clean.shape, generator=generator)
    result = repeated_application(model, noisy, clean, (10, 50, 200))
    assert result.bounded and result.iterations == (10, 50, 200)
    assert max(result.max_abs) <= 2 * float(noisy.abs().max())
    assert result.residual[2] <= result.residual[1] * (1 + 1e-4) <= result.residual[0] * (1 + 1e-4) ** 2
