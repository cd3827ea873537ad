"""Dilated Euler blocks (taps ``d`` pixels apart): the same certified step as the undilated weight,
a wider reach per sub-step, and every evaluation path (fast, autograd, periodic, mirror, tiled,
checkpoint, training) giving the same map."""

from __future__ import annotations

import pytest
import torch

from pnp.denoisers import EulerBlock, FlowConfig, MultiscaleEulerDenoiser, Symmetry, certify
from pnp.denoisers.adapters import receptive_radius
from pnp.denoisers.borders import MirrorEmbedded, PeriodicBorder
from pnp.denoisers.spectral import conv_adjoint, conv_apply, spectral_norm_bound, triangle_bound
from pnp.training import ModelConfig

PLAIN = FlowConfig(max_substeps=2)
ORBITS = FlowConfig(symmetry=Symmetry.FLIP_ORBITS, max_substeps=2)


def _net(flow: FlowConfig = PLAIN, **kwargs) -> MultiscaleEulerDenoiser:
    torch.manual_seed(5)
    arguments = {"channels": 8, "scales": (3,), "dilations": (1, 2, 4), "flow": flow} | kwargs
    return MultiscaleEulerDenoiser(**arguments).eval()


@pytest.mark.parametrize("periodic", [False, True])
def test_a_dilated_convolution_and_its_adjoint_are_exact_adjoints(periodic, generator):
    weight = torch.randn(5, 4, 3, 3, generator=generator, dtype=torch.float64)
    x = torch.randn(2, 4, 23, 19, generator=generator, dtype=torch.float64)
    y = torch.randn(2, 5, 23, 19, generator=generator, dtype=torch.float64)
    lhs = (conv_apply(x, weight, periodic=periodic, dilation=3) * y).sum()
    rhs = (x * conv_adjoint(y, weight, periodic=periodic, dilation=3)).sum()
    assert abs(lhs - rhs) / (triangle_bound(weight) * x.norm() * y.norm()) < 1e-14
    assert not torch.allclose(conv_apply(x, weight, periodic=periodic, dilation=3), conv_apply(x, weight, periodic=periodic))


def test_the_bound_of_the_undilated_weight_bounds_and_is_reached_by_the_dilated_operator(generator):
    """The dilated symbol is K(dω): the same supremum. The power method on the dilated circular
    operator stays below the bound and comes close to it."""
    weight = torch.randn(6, 6, 3, 3, generator=generator, dtype=torch.float64) / 6
    bound = spectral_norm_bound(weight, tol=1e-4).upper
    for periodic in (False, True):
        x = torch.randn(1, 6, 48, 48, generator=generator, dtype=torch.float64)
        for _ in range(300):
            x = conv_adjoint(conv_apply(x, weight, periodic=periodic, dilation=2), weight, periodic=periodic, dilation=2)
            x = x / x.norm()
        estimate = float(conv_apply(x, weight, periodic=periodic, dilation=2).norm())
        assert estimate <= bound * (1 + 1e-9)
        if periodic:  # 48 = 2 x 24: the grid of the dilated operator samples the symbol finely enough
            assert estimate >= 0.97 * bound


@pytest.mark.parametrize("flow", [PLAIN, ORBITS], ids=["plain", "flip-orbits"])
def test_a_dilated_net_is_certified_and_empirically_averaged(flow, generator):
    net = _net(flow)
    assert [block.dilation for block in net.euler_blocks] == [1, 2, 4]
    statement = certify(net, empirical=False)
    assert statement.certified
    alpha = net.averagedness().alpha
    a, b = (torch.rand(4, 3, 20, 18, generator=generator, dtype=torch.float64) for _ in range(2))
    net = net.double()
    with torch.no_grad():
        ta, tb = net(a), net(b)
    # alpha-averaged: ||Ta - Tb||² + (1 - α)/α ||(I - T)a - (I - T)b||² <= ||a - b||²
    lhs = (ta - tb).flatten(1).norm(dim=1) ** 2 + (1 - alpha) / alpha * ((a - ta) - (b - tb)).flatten(1).norm(dim=1) ** 2
    assert (lhs <= (a - b).flatten(1).norm(dim=1) ** 2 * (1 + 1e-9)).all()


def test_dilation_widens_the_reach_at_the_same_cost_and_the_receptive_radius_says_how_far(generator):
    """A pixel beyond the undilated net's reach but within the dilated one's changes the output."""
    dilated, plain = _net(), _net(dilations=(1,))
    assert dilated.substep_counts() == plain.substep_counts()
    assert receptive_radius(dilated) > receptive_radius(plain)
    size = 2 * receptive_radius(dilated) + 9
    x = torch.rand(1, 3, size, size, generator=generator, dtype=torch.float64)
    centre = size // 2
    for net, radius in ((dilated, receptive_radius(dilated)), (plain, receptive_radius(plain))):
        net = net.double()
        inside, outside = x.clone(), x.clone()
        inside[..., centre, centre + radius - 2] += 1
        outside[..., centre, centre + radius + 2] += 1
        with torch.no_grad():
            base = net(x)[..., centre, centre]
            assert (net(inside)[..., centre, centre] - base).abs().max() > 1e-12 or net is plain
            assert torch.equal(net(outside)[..., centre, centre], base), "nothing beyond the receptive radius"
    far = receptive_radius(plain) + 3  # seen by the dilated net only
    moved = x.clone()
    moved[..., centre, centre + far] += 1
    with torch.no_grad():
        assert (dilated(moved) - dilated(x))[..., centre, centre].abs().max() > 1e-12
        assert torch.equal(plain(moved)[..., centre, centre], plain(x)[..., centre, centre])


@pytest.mark.parametrize("flow", [PLAIN, ORBITS], ids=["plain", "flip-orbits"])
def test_the_fast_path_the_autograd_path_and_the_tiles_give_one_map(flow, generator):
    net = _net(flow)
    x = torch.rand(1, 3, 70, 66, generator=generator)
    with torch.no_grad():
        fast = net(x)
    with torch.enable_grad():
        slow = net(x.clone().requires_grad_()).detach()
    assert torch.allclose(fast, slow, atol=1e-6), float((fast - slow).abs().max())
    for wrapper in (PeriodicBorder, MirrorEmbedded):
        with torch.no_grad():
            definition = wrapper(net)._per_layer(x, None)
            tiled = wrapper(net, tile=40)(x, None)
        assert torch.allclose(definition, tiled, atol=1e-5), (wrapper.__name__, float((definition - tiled).abs().max()))


@pytest.mark.parametrize("shape", [(16, 24), (5, 7)])
def test_a_dilated_flip_orbits_net_commutes_with_flips_and_its_mirror_border_costs_one_call(shape, generator):
    net = _net(ORBITS).double()
    x = torch.rand(1, 3, *shape, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(net(x.flip(-1)).flip(-1), net(x), atol=1e-12)
        wrapper = MirrorEmbedded(net)
        fast = wrapper(x)
        row = torch.cat([x, x.flip(-1)], dim=-1)
        out = wrapper._circular(torch.cat([row, row.flip(-2)], dim=-2), None)  # the 2×2 tiling (definition)
        folded = out[..., : shape[0], :] + out[..., shape[0]:, :].flip(-2)
        definition = (folded[..., : shape[1]] + folded[..., shape[1]:].flip(-1)) / 4
    assert torch.allclose(fast, definition, atol=1e-12), float((fast - definition).abs().max())
    with torch.no_grad():  # periodic border on an image narrower than the widest tap reach (4)
        assert PeriodicBorder(net)(x[..., :3, :3]).shape == (1, 3, 3, 3)


def test_a_dilated_net_round_trips_through_a_checkpoint_and_older_cards_read_the_same(tmp_path, generator):
    from pnp.denoisers import load, save_checkpoint

    net = _net()
    save_checkpoint(net, tmp_path / "dilated.pt", {"noise_level": 0.01})
    again = load(tmp_path / "dilated.pt")
    assert again.dilations == (1, 2, 4)
    x = torch.rand(1, 3, 12, 10, generator=generator)
    with torch.no_grad():
        assert torch.equal(again(x), net(x))
    assert "dilations" not in _net(dilations=None).config()


def test_dilations_are_checked_and_reach_the_trained_model():
    from pnp.training.models import EulerFamily

    model = EulerFamily().build(ModelConfig(channels=8, blocks=4, dilations=(1, 2)))
    assert [block.dilation for block in model.euler_blocks] == [1, 2, 1, 2]
    levels = MultiscaleEulerDenoiser(channels=8, scales=(2, 1), dilations=(1, 2, 3))  # run order: fine, coarse, fine
    assert [block.dilation for block in levels.euler_blocks] == [1, 2, 3] and levels.block_levels() == [0, 1, 0]
    for bad in ((), (0,), (1, -2), (1.5,)):
        with pytest.raises(ValueError, match="dilations"):
            ModelConfig(channels=8, dilations=bad)
    with pytest.raises(ValueError, match="dilations"):
        ModelConfig(name="dncnn", dilations=(2,))
    with pytest.raises(ValueError, match="dilation"):
        EulerBlock(8, dilation=0)
    with pytest.raises(ValueError, match="dilations"):
        MultiscaleEulerDenoiser(channels=8, scales=(2,), dilations=(True,))
