"""Norms of convolution operators: exact adjoint, rigorous upper bound vs power method and closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from pnp.denoisers.spectral import (
    conv_adjoint,
    conv_apply,
    grid_norm,
    power_iteration,
    power_norm,
    spectral_norm_bound,
    symbol,
    triangle_bound,
)


LAPLACIAN = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=torch.float64).view(1, 1, 3, 3)


def _weights(generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        "square": torch.randn(6, 6, 3, 3, generator=generator, dtype=torch.float64) / 6,
        "rectangular": torch.randn(5, 3, 3, 3, generator=generator, dtype=torch.float64),
        "scaled": 10 * torch.randn(4, 4, 3, 3, generator=generator, dtype=torch.float64),
        "default-init": torch.nn.Conv2d(8, 8, 3).weight.detach().double(),
    }


def test_transposed_convolution_is_the_exact_adjoint(generator):
    weight = torch.randn(5, 4, 3, 3, generator=generator, dtype=torch.float64)
    x = torch.randn(2, 4, 37, 31, generator=generator, dtype=torch.float64)
    y = torch.randn(2, 5, 37, 31, generator=generator, dtype=torch.float64)
    lhs = (conv_apply(x, weight) * y).sum()
    rhs = (x * conv_adjoint(y, weight)).sum()
    scale = triangle_bound(weight) * x.norm() * y.norm()
    assert abs(lhs - rhs) / scale < 1e-14
    x.requires_grad_(True)
    (autograd,) = torch.autograd.grad(conv_apply(x, weight), x, y)
    torch.testing.assert_close(autograd, conv_adjoint(y, weight))


def test_symbol_diagonalises_the_circular_convolution(generator):
    """The DFT of a circular convolution of a plane wave multiplies it by the symbol."""
    weight = torch.randn(3, 2, 3, 3, generator=generator, dtype=torch.float64)
    n, k = 16, (3, 5)
    omega = torch.tensor([[2 * math.pi * k[0] / n, 2 * math.pi * k[1] / n]], dtype=torch.float64)
    v = torch.randn(2, generator=generator, dtype=torch.float64).to(torch.complex128)
    rows, cols = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    wave = torch.exp(1j * (omega[0, 0] * rows + omega[0, 1] * cols))
    x = (v[:, None, None] * wave)[None]
    padded = torch.nn.functional.pad(x.real, (1, 1, 1, 1), mode="circular"), torch.nn.functional.pad(
        x.imag, (1, 1, 1, 1), mode="circular")
    out = torch.nn.functional.conv2d(padded[0], weight) + 1j * torch.nn.functional.conv2d(padded[1], weight)
    expected = (symbol(weight, omega)[0] @ v)[:, None, None] * wave
    torch.testing.assert_close(out[0], expected)


@pytest.mark.parametrize("name", ["square", "rectangular", "scaled", "default-init"])
def test_rigorous_bound_brackets_the_norm(name, generator):
    weight = _weights(generator)[name]
    bound = spectral_norm_bound(weight)
    for height, width in [(37, 31), (64, 64)]:
        estimate = power_norm(weight, height, width, iterations=100, generator=generator)
        assert estimate <= bound.upper
    assert bound.lower <= bound.upper <= bound.lower * (1 + 1e-3) * (1 + 1e-8)
    slices = weight.flatten(2).permute(2, 0, 1)
    triangle = float(torch.linalg.matrix_norm(slices, ord=2).sum())
    assert bound.upper <= triangle * (1 + 1e-8)


@pytest.mark.parametrize("name", ["square", "rectangular", "scaled"])
def test_rigorous_bound_is_above_a_dense_frequency_scan(name, generator):
    """The sup over the torus is at least the max over any fine grid, and the bound is close to it."""
    weight = _weights(generator)[name]
    bound = spectral_norm_bound(weight, tol=1e-4)
    dense = grid_norm(weight, 96, 96)
    assert dense <= bound.upper
    assert bound.upper <= dense * (1 + 2e-3)


def test_single_channel_bound_matches_a_very_fine_scan(generator):
    kernel = torch.randn(1, 1, 3, 3, generator=generator, dtype=torch.float64)
    w = torch.linspace(0, 2 * math.pi, 1201, dtype=torch.float64)
    phase = torch.exp(1j * w)
    k = kernel[0, 0].to(torch.complex128)
    rows = torch.stack([phase.conj(), torch.ones_like(phase), phase])  # exp(i w d), d = -1, 0, 1
    fine = float((rows.T @ k @ rows).abs().max())  # K(w1, w2) = sum_ab k_ab e^{i w1 d_a} e^{i w2 d_b}
    bound = spectral_norm_bound(kernel, tol=1e-5)
    assert fine <= bound.upper <= fine * (1 + 3e-5)


def test_laplacian_matches_its_closed_form():
    """K(w) = -4 + 2 cos w1 + 2 cos w2: the norm is 8, reached at w = (pi, pi)."""
    bound = spectral_norm_bound(LAPLACIAN)
    assert bound.lower == pytest.approx(8.0, abs=1e-12)
    assert 8.0 <= bound.upper <= 8.0 * (1 + 1e-8)
    assert grid_norm(LAPLACIAN, 64, 64) == pytest.approx(8.0, abs=1e-12)
    estimate = power_norm(LAPLACIAN, 64, 64, iterations=3000, generator=torch.Generator().manual_seed(0))
    assert 7.9 < estimate <= 8.0


def test_centre_only_kernel_is_exact(generator):
    weight = torch.zeros(4, 3, 3, 3, dtype=torch.float64)
    weight[:, :, 1, 1] = torch.randn(4, 3, generator=generator, dtype=torch.float64)
    exact = float(torch.linalg.matrix_norm(weight[:, :, 1, 1], ord=2))
    bound = spectral_norm_bound(weight)
    assert bound.upper == pytest.approx(exact, rel=1e-8)
    assert bound.upper >= exact


def test_zero_kernel_has_norm_zero():
    assert spectral_norm_bound(torch.zeros(2, 2, 3, 3)).upper == 0.0


def test_target_mode_decides_cheaply(generator):
    weight = _weights(generator)["square"]
    tight = spectral_norm_bound(weight)
    above = spectral_norm_bound(weight, target=tight.upper * 1.2)
    assert above.upper <= tight.upper * 1.2
    assert above.evaluations <= tight.evaluations
    below = spectral_norm_bound(weight, target=tight.lower * 0.9)
    assert below.upper > tight.lower * 0.9


def test_power_iteration_is_warm_started_and_differentiable(generator):
    weight = torch.randn(4, 4, 3, 3, generator=generator, requires_grad=True)
    vector = torch.randn(1, 4, 16, 16, generator=generator)
    vector = vector / vector.norm()
    estimate, updated = power_iteration(weight, vector, iterations=1)
    assert not updated.requires_grad and updated.norm() == pytest.approx(1.0, rel=1e-5)
    estimate.backward()
    assert weight.grad is not None and torch.isfinite(weight.grad).all()
    for _ in range(200):
        estimate, updated = power_iteration(weight.detach(), updated, iterations=1)
    assert float(estimate) <= spectral_norm_bound(weight.detach()).upper * (1 + 1e-6)


@pytest.mark.parametrize("bad", [torch.zeros(2, 2, 2, 2), torch.zeros(2, 2, 3), torch.zeros(2, 2, 3, 5)])
def test_bad_weight_shapes_are_rejected(bad):
    with pytest.raises(ValueError, match="weight"):
        spectral_norm_bound(bad)
