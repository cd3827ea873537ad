"""Flip-equivariant Euler blocks: the net commutes with flipping the image, stays certified, round
trips through a checkpoint, and sees the mirror past the border at the cost of one call."""

from __future__ import annotations

import pytest
import torch

from pnp.denoisers import EulerBlock, EulerDenoiser, FlowConfig, MultiscaleEulerDenoiser, Symmetry, certify
from pnp.denoisers.borders import MirrorEmbedded
from pnp.denoisers.flow import flip_orbits, flip_swaps
from pnp.denoisers.spectral import refresh_symmetric_halo, symmetric_pad
from pnp.training import ModelConfig

FLIPS = FlowConfig(symmetry=Symmetry.FLIPS, max_substeps=3)
ORBITS = FlowConfig(symmetry=Symmetry.FLIP_ORBITS, max_substeps=3)
FLIPS_NETS = [lambda: EulerDenoiser(channels=8, blocks=2, flow=FLIPS),
              lambda: MultiscaleEulerDenoiser(channels=8, scales=(1, 1, 1), flow=FLIPS),
              lambda: EulerDenoiser(channels=12, blocks=2, flow=ORBITS),  # 4 invariant channels, 2 orbits
              lambda: MultiscaleEulerDenoiser(channels=12, scales=(1, 1, 1), hidden=8, flow=ORBITS, noise_channel=True)]
FLIP_DIMS = [(-1,), (-2,), (-2, -1)]


def _tiling_definition(wrapper: MirrorEmbedded, x: torch.Tensor) -> torch.Tensor:
    """``¼ Mᵀ D∘(M x)`` computed on the 2×2 mirror tiling itself (the definition, 4x the pixels)."""
    row = torch.cat([x, x.flip(-1)], dim=-1)
    out = wrapper._circular(torch.cat([row, row.flip(-2)], dim=-2), 0.05)
    height, width = x.shape[-2:]
    folded = out[..., :height, :] + out[..., height:, :].flip(-2)
    return (folded[..., :width] + folded[..., width:].flip(-1)) / 4


@pytest.mark.parametrize("make", FLIPS_NETS)
@pytest.mark.parametrize("training", [False, True])
def test_a_flips_net_commutes_with_every_flip_of_the_image(make, training, generator):
    torch.manual_seed(0)
    net = make().train(training)
    x = torch.rand(2, 3, 16, 24, generator=generator)
    batch = torch.cat([x] + [x.flip(dims) for dims in FLIP_DIMS])  # one call: one schedule in training mode
    with torch.no_grad():
        out = net(batch, 0.05).split(2)
    for dims, flipped in zip(FLIP_DIMS, out[1:]):
        assert torch.allclose(flipped.flip(dims), out[0], atol=1e-6), dims
    plain = EulerDenoiser(channels=8, blocks=2).eval()  # the unconstrained block does not
    with torch.no_grad():
        assert not torch.allclose(plain(x.flip(-1)).flip(-1), plain(x), atol=1e-4)


def test_flip_orbits_hold_each_base_kernel_and_its_three_flips():
    base, bias = torch.randn(2, 5, 3, 3), torch.randn(2)
    weight, biases = flip_orbits(base, bias)
    assert weight.shape == (8, 5, 3, 3) and biases.shape == (8,)
    assert torch.equal(weight[2:4], base.flip(-1)) and torch.equal(weight[6:8], base.flip(-2, -1))
    assert torch.equal(biases, bias.repeat(4))


def test_a_flips_block_is_certified_with_the_bound_of_its_whole_w(generator):
    torch.manual_seed(1)
    block = EulerBlock(8, FLIPS)
    assert block.weight.shape == (2, 8, 3, 3), "the parameters are the base kernels only"
    full = block.operator()[0]
    assert full.shape == (8, 8, 3, 3)
    statement = block.certificate()
    assert statement.norm_upper >= block.power_estimate() - 1e-6
    net = EulerDenoiser(channels=8, blocks=2, flow=FLIPS).eval()
    assert certify(net, empirical=False).certified
    with pytest.raises(ValueError, match="divisible by 4"):
        EulerBlock(6, FLIPS)
    with pytest.raises(ValueError, match="multiple of 4|divisible by 4"):
        ModelConfig(channels=6, symmetry="flips")


def test_a_flips_net_round_trips_through_a_checkpoint(tmp_path, generator):
    from pnp.denoisers import load, save_checkpoint

    torch.manual_seed(2)
    net = EulerDenoiser(channels=8, blocks=2, flow=FLIPS).eval()
    save_checkpoint(net, tmp_path / "flips.pt", {"noise_level": 0.01})
    again = load(tmp_path / "flips.pt")
    assert again.flow.symmetry is Symmetry.FLIPS
    x = torch.rand(1, 3, 12, 10, generator=generator)
    with torch.no_grad():
        assert torch.equal(again(x), net(x))
    assert "symmetry" not in EulerDenoiser(channels=8, blocks=2).config()["flow"], "older cards read the same"


@pytest.mark.parametrize("orbits", [False, True])
def test_the_symmetric_halo_is_refreshed_as_the_symmetric_padding_makes_it(orbits, generator):
    x = torch.rand(1, 9, 7, 9, generator=generator)
    swaps = flip_swaps(9, 1) if orbits else None
    padded = symmetric_pad(x, 2, swaps)
    lr = swaps[0] if swaps is not None else torch.arange(9)
    assert torch.equal(padded[:, :, 2:-2, 0], x[:, lr, :, 1]), "a left-right mirror reads the swapped orbit channel"
    if orbits:
        assert lr.tolist() == [0, 2, 1, 4, 3, 6, 5, 8, 7]
    stale = padded.clone()
    stale[..., :2, :] = 0
    stale[..., :, -2:] = 0
    refresh_symmetric_halo(stale, 2, swaps)
    assert torch.equal(stale, padded)


@pytest.mark.parametrize("make", FLIPS_NETS)
@pytest.mark.parametrize("shape", [(16, 24), (21, 18)])
def test_the_mirror_border_of_a_flips_net_is_the_tiling_map_at_the_cost_of_one_call(make, shape, generator):
    """Equal to the definition on the 2×2 tiling (float64), and the net sees an image of the input's
    size once (no tiling) whenever the sides are multiples of its size unit."""
    torch.manual_seed(3)
    net = make().eval().double()
    wrapper = MirrorEmbedded(net)
    assert wrapper.flip_equivariant
    x = torch.rand(1, 3, *shape, generator=generator, dtype=torch.float64)
    seen: list[tuple[int, ...]] = []
    hook = net.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape[-2:])))
    with torch.no_grad():
        fast = wrapper(x, 0.05)
    hook.remove()
    with torch.no_grad():
        definition = _tiling_definition(wrapper, x)
    assert torch.allclose(fast, definition, atol=1e-12), float((fast - definition).abs().max())
    unit = net.size_unit if isinstance(net, MultiscaleEulerDenoiser) else 1
    if shape[0] % unit == 0 and shape[1] % unit == 0:
        assert seen == [shape], "one call on the image itself"
    with torch.no_grad():  # the tiled large-image path: one padded pass, the same map
        wrapper.tile = 12
        if wrapper._pad_radius(x):
            assert torch.allclose(wrapper(x, 0.05), definition, atol=1e-12)
    assert not any(block.symmetric for block in net.euler_blocks), "the halo mode is switched off again"


def test_a_symmetric_halo_is_refused_for_a_block_without_flip_symmetry(generator):
    block = EulerBlock(6).eval()
    block.symmetric = True
    with pytest.raises(RuntimeError, match="flip-equivariant"):
        block(torch.rand(1, 6, 8, 8, generator=generator))
    plain = MirrorEmbedded(EulerDenoiser(channels=6, blocks=1).eval())
    assert not plain.flip_equivariant


def test_auto_border_is_the_mirror_only_where_it_is_free():
    from pnp.choices import PriorBorder
    from pnp.denoisers import DnCNN
    from pnp.tasks.deblur import prior_border_for

    flips_net = FLIPS_NETS[2]()
    assert prior_border_for(flips_net, "auto") is PriorBorder.MIRROR
    for other in (EulerDenoiser(channels=8, blocks=1), DnCNN(depth=3, features=4)):
        assert prior_border_for(other, PriorBorder.AUTO) is PriorBorder.ZEROS
    assert prior_border_for(flips_net, "zeros") is PriorBorder.ZEROS, "an explicit choice is kept"
