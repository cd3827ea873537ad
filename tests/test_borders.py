"""What the prior sees past the image border: periodic and mirror borders keep α, remove the
zero-padding bias, and compute the same map tile by tile on large images."""

from __future__ import annotations

import importlib

import pytest
import torch

from pnp.choices import PriorBorder
from pnp.denoisers import TV, DnCNN, EulerDenoiser, MultiscaleEulerDenoiser, certify
from pnp.denoisers.adapters import receptive_radius
from pnp.denoisers.flow_options import FlowConfig, StepRule
from pnp.denoisers.borders import MirrorEmbedded, PeriodicBorder
from pnp.tasks.deblur import DeblurOptions, wrapped_prior

deblur_module = importlib.import_module("pnp.tasks.deblur")  # the module (pnp.tasks.deblur is also a function)
NETS = [lambda: EulerDenoiser(channels=6, blocks=2), lambda: DnCNN(depth=4, features=6),
        lambda: MultiscaleEulerDenoiser(channels=6, scales=(1, 1, 1))]


def _pair(generator, shape):
    return torch.rand(shape, generator=generator), torch.rand(shape, generator=generator)


def _spread(image):  # per channel, across pixels
    return float((image.amax(dim=(-2, -1)) - image.amin(dim=(-2, -1))).max())


@pytest.mark.parametrize("wrapper", [PeriodicBorder, MirrorEmbedded])
@pytest.mark.parametrize("make", NETS)
def test_a_border_wrapper_has_no_border_bias_keeps_alpha_and_restores_the_network(wrapper, make, generator):
    torch.manual_seed(2)
    net = make().eval()
    wrapped = wrapper(net)
    flat = torch.full((1, 3, 20, 17), 0.6)
    with torch.no_grad():
        plain, bordered = net(flat, 0.05), wrapped(flat, 0.05)
    assert _spread(plain) > 1e-4, "zero padding biases the border of a flat image"
    assert _spread(bordered) < 1e-5, "periodic and mirrored images have no border"
    assert not any(getattr(m, "periodic", False) for m in net.modules())
    assert all(m.padding_mode == "zeros" for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    if isinstance(net, (EulerDenoiser, MultiscaleEulerDenoiser)):
        assert wrapped.averagedness().alpha == net.averagedness().alpha
        a, b = _pair(generator, (3, 3, 19, 14))
        with torch.no_grad():
            ratio = (wrapped(a) - wrapped(b)).flatten(1).norm(dim=1) / (a - b).flatten(1).norm(dim=1)
        assert (ratio <= 1 + 1e-5).all()
    with pytest.raises(ValueError, match="convolutional priors"):
        wrapper(TV(weight=0.1))


def test_the_periodic_border_sees_the_image_as_periodic(generator):
    """Rolling the image rolls the output: the circular network is shift-equivariant, so the first
    column is denoised next to the last one, as the circular blur model sees it."""
    torch.manual_seed(3)
    net = EulerDenoiser(channels=6, blocks=2).eval()
    x = torch.rand(1, 3, 16, 21, generator=generator)
    with torch.no_grad():
        rolled_first = PeriodicBorder(net)(x.roll(5, dims=-1))
        rolled_after = PeriodicBorder(net)(x).roll(5, dims=-1)
        assert torch.allclose(rolled_first, rolled_after, atol=1e-6)
        assert not torch.allclose(net(x.roll(5, dims=-1)), net(x).roll(5, dims=-1), atol=1e-4)


def test_the_fast_periodic_euler_steps_equal_the_circular_convolutions(generator):
    """Without autograd an Euler block keeps a circular halo on its state instead of padding every
    convolution; with autograd it pads both: the same map."""
    torch.manual_seed(6)
    net = EulerDenoiser(channels=6, blocks=2, flow=FlowConfig(step_rule=StepRule.LEARNED_STEP, substeps=3)).eval()
    assert all(block.eval_schedule().substeps == 3 for block in net.euler_blocks), "the halo is refreshed"
    wrapped = PeriodicBorder(net)
    x = torch.rand(2, 3, 13, 17, generator=generator)
    with torch.no_grad():
        fast = wrapped(x)
    with torch.enable_grad():
        slow = wrapped(x.clone().requires_grad_())
    assert torch.allclose(fast, slow.detach(), atol=1e-6), float((fast - slow).abs().max())


@pytest.mark.parametrize("wrapper", [PeriodicBorder, MirrorEmbedded])
@pytest.mark.parametrize("make", NETS[:2])
def test_the_padded_path_and_its_tiles_give_the_map_with_circular_convolutions(wrapper, make, generator):
    """Padding by the receptive radius and running the zero-padded net (whole, or tile by tile on a
    large image) equals the definition, every convolution made circular."""
    torch.manual_seed(4)
    net = make().eval()
    x = torch.rand(1, 3, 45, 38, generator=generator)
    assert wrapper(net, tile=64)._pad_radius(x) == 0 < wrapper(net, tile=16)._pad_radius(x) == receptive_radius(net)
    with torch.no_grad():
        definition = wrapper(net)._per_layer(x, 0.05)
        padded = wrapper(net, tile=44)(x, 0.05)  # just over one tile: the padded path, few tiles
        tiled = wrapper(net, tile=16)(x, 0.05)
    assert torch.allclose(definition, padded, atol=1e-5), float((definition - padded).abs().max())
    assert torch.allclose(definition, tiled, atol=1e-5), float((definition - tiled).abs().max())


@pytest.mark.parametrize("border", [PriorBorder.PERIODIC, PriorBorder.MIRROR])
def test_pnp_deblur_wraps_the_border_outside_its_tiles_and_states_alpha(border, generator, monkeypatch):
    """On an image larger than ``TILE`` the border wrapper tiles itself: the prior is the
    whole-image map (a tile cut inside the border wrapper would compute another map)."""
    torch.manual_seed(5)
    net = EulerDenoiser(channels=6, blocks=2).eval()
    monkeypatch.setattr(deblur_module, "TILE", 16)
    x = torch.rand(1, 3, 40, 33, generator=generator)
    prior = wrapped_prior(net, DeblurOptions(prior_border=border, strength=0.5), x)
    reference = (PeriodicBorder if border is PriorBorder.PERIODIC else MirrorEmbedded)(net)
    with torch.no_grad():
        expected = 0.5 * x + 0.5 * reference(x, 0.01)
        assert torch.allclose(prior(x, 0.01), expected, atol=1e-5)
    assert certify(prior, empirical=False).alpha == pytest.approx(0.5 * net.averagedness().alpha)
