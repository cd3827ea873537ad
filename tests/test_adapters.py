"""Denoiser adapters: grey images through a colour net, strength, tiles."""

from __future__ import annotations

import torch

from pnp.denoisers import DnCNN, EulerDenoiser
from pnp.denoisers.adapters import ColourOnGrey, Relaxed, Tiled, receptive_radius
from pnp.denoisers.spectral import conv_adjoint, conv_apply


def _pair(generator, shape):
    return torch.rand(shape, generator=generator), torch.rand(shape, generator=generator)


def test_colour_on_grey_is_non_expansive_and_keeps_shape(generator):
    torch.manual_seed(0)
    net = EulerDenoiser(channels=6, blocks=2).eval()
    grey = ColourOnGrey(net)
    a, b = _pair(generator, (2, 1, 17, 13))
    with torch.no_grad():
        da, db = grey(a), grey(b)
    assert da.shape == a.shape
    assert float((da - db).norm()) <= float((a - b).norm()) * (1 + 1e-5)
    colour = torch.rand(1, 3, 9, 9, generator=generator)
    with torch.no_grad():
        assert torch.equal(grey(colour), net(colour))


def test_relaxed_interpolates(generator):
    x = torch.rand(1, 3, 8, 8, generator=generator)
    half = Relaxed(lambda v, s: torch.zeros_like(v), 0.25)
    assert torch.allclose(half(x), 0.75 * x)


def test_tiles_give_the_whole_image_result(generator):
    torch.manual_seed(1)
    for net in (EulerDenoiser(channels=5, blocks=2).eval(), DnCNN(depth=4, features=6).eval()):
        x = torch.rand(1, 3, 45, 38, generator=generator)
        with torch.no_grad():
            whole = net(x)
            tiled = Tiled(net, tile=16)(x)
        assert Tiled(net, tile=16).overlap == receptive_radius(net) > 0
        assert torch.allclose(whole, tiled, atol=1e-5), float((whole - tiled).abs().max())
        with torch.no_grad():
            short = Tiled(net, tile=16, overlap=1)(x)
        assert not torch.allclose(whole, short, atol=1e-5), "too small an overlap must show"


def test_the_periodic_convolution_and_its_adjoint_are_exact_transposes(generator):
    weight = torch.randn(4, 3, 3, 3, generator=generator, dtype=torch.float64)
    x = torch.randn(2, 3, 9, 11, generator=generator, dtype=torch.float64)
    y = torch.randn(2, 4, 9, 11, generator=generator, dtype=torch.float64)
    lhs = (conv_apply(x, weight, periodic=True) * y).sum()
    rhs = (x * conv_adjoint(y, weight, periodic=True)).sum()
    assert torch.allclose(lhs, rhs, rtol=1e-12)
    rolled = conv_apply(x.roll(3, dims=-1), weight, periodic=True)
    assert torch.allclose(rolled, conv_apply(x, weight, periodic=True).roll(3, dims=-1)), "shift-equivariant"
