"""Generic operator tests over the registry, plus the closed forms of each operator."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import torch

from pnp.operators import Blur, Boundary, Matrix, check_adjoint, ill_conditioned_matrix, kernels

from operator_registry import OPERATORS


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_adjoint_matches_inner_product_and_autograd(name):
    physics, x_shape = OPERATORS[name]()
    report = check_adjoint(physics, x_shape)
    assert report.passed, report
    assert report.inner_product_error < 1e-12
    assert report.autograd_error < 1e-12


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_sqnorm_is_the_top_eigenvalue_of_AtA(name):
    physics, x_shape = OPERATORS[name]()
    probe = torch.zeros((1, *x_shape[1:]), dtype=torch.float64)
    claimed = float(physics.compute_sqnorm(probe, verbose=False))
    dense = _dense_matrix(physics, probe)
    exact = float(torch.linalg.matrix_norm(dense, ord=2) ** 2)
    assert claimed == pytest.approx(exact, rel=1e-5)


def _dense_matrix(physics, probe: torch.Tensor) -> torch.Tensor:
    """The matrix of A on single-channel (or vector) inputs, column by column."""
    shape = probe.shape if probe.ndim == 2 else (1, 1, *probe.shape[-2:])
    n = int(np.prod(shape[1:]))
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *shape[1:])
    return physics.A(basis).reshape(n, -1).T


def test_dtype_and_device_follow_the_input():
    physics = Blur(kernels.gaussian(1.0))
    for dtype in (torch.float32, torch.float64):
        x = torch.rand(3, 3, 21, 17, dtype=dtype)
        assert physics.A(x).dtype == dtype and physics.A_adjoint(x).dtype == dtype
    assert physics.A(torch.rand(0, 3, 21, 17)).shape == (0, 3, 21, 17)


@pytest.mark.parametrize(
    ("boundary", "scipy_mode"), [(Boundary.CIRCULAR, "wrap"), (Boundary.REFLECT, "mirror")]
)
def test_blur_is_a_true_convolution_with_the_stated_boundary(boundary, scipy_mode, generator):
    kernel = kernels.motion(9, seed=5)
    x = torch.rand(1, 1, 23, 19, generator=generator, dtype=torch.float64)
    ours = Blur(kernel, boundary=boundary).A(x)[0, 0].numpy()
    expected = scipy.ndimage.convolve(x[0, 0].numpy(), kernel.double().numpy(), mode=scipy_mode)
    np.testing.assert_allclose(ours, expected, atol=1e-12)


def test_blur_rejects_bad_shapes():
    physics = Blur(kernels.levin(4))  # 27x27
    with pytest.raises(ValueError, match="larger than the image"):
        physics.A(torch.rand(1, 3, 20, 40))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        physics.A(torch.rand(3, 40, 40))


def test_circular_prox_solves_its_normal_equations(generator):
    physics = Blur(kernels.levin(2))
    z = torch.rand(2, 3, 33, 29, generator=generator, dtype=torch.float64)
    y = torch.rand(2, 3, 33, 29, generator=generator, dtype=torch.float64)
    gamma = 3.0
    x = physics.prox_l2(z, y, gamma)
    normal = x + gamma * physics.A_adjoint(physics.A(x)) - (z + gamma * physics.A_adjoint(y))
    assert normal.abs().max() < 1e-10


def test_circular_prox_is_used_by_deepinv_data_fidelity(generator):
    from deepinv.optim.data_fidelity import L2

    physics = Blur(kernels.gaussian(1.2))
    z = torch.rand(1, 1, 24, 24, generator=generator, dtype=torch.float64)
    y = physics.A(torch.rand(1, 1, 24, 24, generator=generator, dtype=torch.float64))
    ours = physics.prox_l2(z, y, 0.7)
    theirs = L2().prox(z, y, physics, gamma=0.7)
    torch.testing.assert_close(theirs, ours)


def test_ill_conditioned_matrix_spectrum():
    eps = 0.25
    physics = ill_conditioned_matrix(eps)
    eigenvalues = torch.linalg.eigvalsh(physics.matrix.double())
    torch.testing.assert_close(eigenvalues, torch.tensor([eps, 2 + eps], dtype=torch.float64))
    assert float(physics.compute_sqnorm()) == pytest.approx((2 + eps) ** 2)
    assert float(eigenvalues[1] / eigenvalues[0]) == pytest.approx(1 + 2 / eps)
    with pytest.raises(ValueError, match="eps"):
        ill_conditioned_matrix(0.0)


def test_matrix_prox_and_pseudo_inverse(generator):
    matrix = torch.randn(3, 5, generator=generator, dtype=torch.float64)
    physics = Matrix(matrix)
    z, y = torch.randn(4, 5, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    x = physics.prox_l2(z, y, 2.0)
    torch.testing.assert_close(x + 2.0 * physics.A_adjoint(physics.A(x)), z + 2.0 * physics.A_adjoint(y))
    torch.testing.assert_close(physics.A(physics.A_dagger(y)), y)  # full row rank
    with pytest.raises(ValueError, match=r"\(B, 5\)"):
        physics.A(torch.randn(4, 3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_blur_runs_on_cuda():
    physics = Blur(kernels.levin(1)).to("cuda")
    x = torch.rand(2, 3, 64, 48, device="cuda")
    assert physics.A(x).device.type == "cuda"
    assert check_adjoint(physics, (2, 3, 64, 48), device="cuda").passed


@pytest.mark.parametrize("boundary", list(Boundary))
@pytest.mark.parametrize("shape", [(37, 53), (64, 64), (107, 33)])
def test_normal_operator_matches_adjoint_of_forward(boundary, shape, generator):
    physics = Blur(kernels.levin(3), boundary=boundary).double()
    x = torch.rand(2, 3, *shape, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(physics.A_adjoint_A(x), physics.A_adjoint(physics.A(x)), rtol=1e-10, atol=1e-12)


def test_reflect_fft_grid_has_fast_sizes_and_leaves_the_convolution_unchanged(generator):
    physics = Blur(kernels.levin(2), boundary=Boundary.REFLECT)
    height, width = 321, 481  # 321 = 3 x 107: a slow FFT length once padded by the kernel
    grid = physics._padded_grid(height, width)
    half = physics.kernel.shape[0] // 2
    assert grid[0] >= height + 2 * half and grid[1] >= width + 2 * half
    for n in grid:
        for p in (2, 3, 5, 7):
            while n % p == 0:
                n //= p
        assert n == 1
    x = torch.rand(1, 1, height, width, generator=generator, dtype=torch.float64)
    expected = scipy.ndimage.convolve(x[0, 0].numpy(), physics.kernel.double().numpy(), mode="mirror")
    np.testing.assert_allclose(physics.double().A(x)[0, 0].numpy(), expected, atol=1e-12)


@pytest.mark.parametrize(("shape", "kernel"), [
    ((107, 37), kernels.motion(9, seed=5)),  # both sides slow FFT lengths: wrapped onto a fast grid
    ((64, 53), kernels.box(5)),  # one side fast (kept), one slow (wrapped)
    ((31, 29), kernels.motion(29, seed=1)),  # a kernel as large as the image: the wrap is the whole image
    ((64, 48), kernels.levin(3)),  # both fast: the native grid, no padding
])
def test_circular_blur_on_a_fast_grid_is_exactly_periodic(shape, kernel, generator):
    physics = Blur(kernel, boundary=Boundary.CIRCULAR).double()
    x = torch.rand(2, 3, *shape, generator=generator, dtype=torch.float64)
    k = physics.kernel.double().numpy()

    def wrapped(weights):
        return np.stack([[scipy.ndimage.convolve(c.numpy(), weights, mode="wrap") for c in b] for b in x])

    np.testing.assert_allclose(physics.A(x).numpy(), wrapped(k), atol=1e-12)
    np.testing.assert_allclose(physics.A_adjoint(x).numpy(), wrapped(k[::-1, ::-1]), atol=1e-12)
    torch.testing.assert_close(physics.A_adjoint_A(x), physics.A_adjoint(physics.A(x)), rtol=1e-10, atol=1e-12)
    pad_h, pad_w, grid_h, grid_w = physics._periodic_grid(*shape)
    for size, pad, grid in ((shape[0], pad_h, grid_h), (shape[1], pad_w, grid_w)):
        slow = any(p > 7 for p in _prime_factors(size))
        assert (pad > 0) == slow and all(p <= 7 for p in _prime_factors(grid))


def _prime_factors(n: int) -> list[int]:
    factors, p = [], 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    return factors
