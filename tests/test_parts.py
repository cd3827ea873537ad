"""Averaged maps compose: the Haar isometry, chains, the multi-scale net's computed certificate."""

from __future__ import annotations

import math

import pytest
import torch

from pnp.denoisers import (Chain, EulerBlock, EulerDenoiser, FlowConfig, HaarCoarse, MultiscaleEulerDenoiser,
                           certify, compose_alpha, load, save_checkpoint)
from pnp.denoisers.adapters import Relaxed, Tiled, receptive_radius
from pnp.denoisers.borders import MirrorEmbedded
from pnp.denoisers.parts import AveragedMap, haar_analysis, haar_synthesis


def _trained_like(net: torch.nn.Module, scale: float = 3.0) -> torch.nn.Module:
    """Grow the weights so blocks take several sub-steps (as trained nets do), then freeze."""
    with torch.no_grad():
        for block in net.modules():
            if isinstance(block, EulerBlock):
                block.weight.mul_(scale)
    return net.eval()


def test_haar_is_orthonormal_and_its_synthesis_inverts_it(generator):
    x = torch.randn(2, 3, 6, 10, generator=generator, dtype=torch.float64)
    y = torch.randn(2, 3, 6, 10, generator=generator, dtype=torch.float64)
    (lx, dx), (ly, dy) = haar_analysis(x), haar_analysis(y)
    assert lx.shape == (2, 3, 3, 5) and dx.shape == (2, 3, 3, 3, 5)
    inner = (lx * ly).sum() + (dx * dy).sum()
    assert torch.allclose(inner, (x * y).sum(), rtol=1e-12), "inner products are kept (orthogonal)"
    assert torch.allclose(haar_synthesis(lx, dx), x, atol=1e-12)
    flat = torch.full((1, 1, 4, 4), 0.5, dtype=torch.float64)
    low, details = haar_analysis(flat)
    assert torch.allclose(low, torch.ones_like(low)) and details.abs().max() < 1e-15, "constants are low-pass"
    with pytest.raises(ValueError, match="even"):
        haar_analysis(torch.zeros(1, 1, 5, 4))


def test_a_chain_states_the_combettes_yamada_constant_of_its_parts():
    torch.manual_seed(0)
    blocks = [_trained_like(EulerBlock(4, FlowConfig(max_substeps=3))) for _ in range(3)]
    chain = Chain([blocks[0], HaarCoarse(Chain(blocks[1:]))])
    assert isinstance(chain, AveragedMap) and isinstance(blocks[0], AveragedMap)
    stated = chain.averagedness()
    parts = [b.averagedness().alpha for b in blocks]
    assert stated.certified and math.isclose(stated.alpha, compose_alpha(parts), rel_tol=1e-12)
    assert stated.alpha > max(parts), "composition costs averagedness"
    assert [b.index for b in stated.blocks] == [0, 1, 2]
    assert "Haar" in stated.reason
    uncertified = Chain([blocks[0], torch.nn.Identity()]).averagedness()
    assert not uncertified.certified and uncertified.alpha is None and "Identity" in uncertified.reason
    with pytest.raises(ValueError):
        Chain([])


def test_the_multiscale_net_is_averaged_with_the_constant_computed_from_its_blocks(generator):
    torch.manual_seed(3)
    net = _trained_like(MultiscaleEulerDenoiser(channels=5, scales=(2, 1, 2), hidden=7, flow=FlowConfig(max_substeps=4)))
    stated = net.averagedness()
    alphas = [block.averagedness().alpha for block in net.euler_blocks]
    assert len(alphas) == 5 and net.block_levels() == [0, 1, 2, 2, 0]
    assert stated.certified and math.isclose(stated.alpha, compose_alpha(alphas), rel_tol=1e-12)
    a = torch.rand(3, 3, 19, 14, generator=generator)
    b = a + 0.3 * torch.randn(a.shape, generator=generator)
    with torch.no_grad():
        da, db = net(a), net(b)
    def norms(v):
        return v.flatten(1).norm(dim=1).square()
    lhs = norms(da - db) + (1 - stated.alpha) / stated.alpha * norms((a - da) - (b - db))
    assert (lhs <= norms(a - b) * (1 + 1e-5)).all(), "the averaged inequality with the computed alpha"
    cert = certify(net, sigma=0.05, repeats=(), jacobian_iterations=0)
    assert cert.passed and cert.alpha == stated.alpha


def test_a_flat_image_passes_the_coarse_levels_unchanged_in_shape_and_sees_far(generator):
    torch.manual_seed(4)
    single = _trained_like(EulerDenoiser(channels=5, blocks=2, flow=FlowConfig(max_substeps=2)))
    multi = _trained_like(MultiscaleEulerDenoiser(channels=5, scales=(1, 1, 1, 1), flow=FlowConfig(max_substeps=2)))
    assert receptive_radius(multi) > 2 * receptive_radius(single), "coarse levels see farther"
    assert receptive_radius(multi) % 8 == 0, "a multiple of the padding unit, so tiles keep the Haar grid"
    x = torch.rand(1, 3, 70, 45, generator=generator)
    with torch.no_grad():
        whole, tiled = multi(x), Tiled(multi, tile=32)(x)
    assert torch.allclose(whole, tiled, atol=1e-5), float((whole - tiled).abs().max())


def test_a_multiscale_checkpoint_loads_verified_and_gives_the_same_output(tmp_path, generator):
    torch.manual_seed(5)
    net = _trained_like(MultiscaleEulerDenoiser(channels=4, scales=(1, 2), flow=FlowConfig(max_substeps=3)))
    path = save_checkpoint(net, tmp_path / "ms.pt", {"noise_level": 0.05})
    loaded = load(path)
    assert type(loaded) is MultiscaleEulerDenoiser and loaded.metadata["architecture"] == "euler-ms"
    x = torch.rand(1, 3, 21, 18, generator=generator)
    with torch.no_grad():
        assert torch.equal(net(x), loaded(x))
    state = torch.load(path, weights_only=True)
    block = next(k for k in state["state_dict"] if k.endswith(".step"))
    state["state_dict"][block] = state["state_dict"][block] * 50  # a step the bound cannot certify
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="not certified averaged"):
        load(tmp_path / "bad.pt")


def test_relaxed_and_mirrored_priors_state_their_constant():
    torch.manual_seed(6)
    net = _trained_like(EulerDenoiser(channels=4, blocks=2))
    alpha = net.averagedness().alpha
    relaxed = Relaxed(net, 0.5).averagedness()
    assert relaxed.certified and math.isclose(relaxed.alpha, 0.5 * alpha, rel_tol=1e-12)
    assert math.isclose(relaxed.one_minus_alpha, 1 - 0.5 * alpha, rel_tol=1e-9)
    assert certify(Relaxed(MirrorEmbedded(net), 0.5), empirical=False).alpha == relaxed.alpha


def test_a_noise_conditioned_net_is_averaged_with_one_alpha_at_every_level(generator):
    torch.manual_seed(7)
    net = _trained_like(MultiscaleEulerDenoiser(channels=6, scales=(1, 1), noise_channel=True))
    alpha = net.averagedness().alpha
    a = torch.rand(2, 3, 12, 10, generator=generator)
    b = a + 0.2 * torch.randn(a.shape, generator=generator)
    with torch.no_grad():
        outputs = {s: (net(a, s), net(b, s)) for s in (0.005, 0.05, 0.2)}
        per_image = net(a, torch.tensor([0.005, 0.2]))
    assert not torch.allclose(outputs[0.005][0], outputs[0.2][0]), "the output depends on sigma"
    assert torch.allclose(per_image[0], outputs[0.005][0][0]) and torch.allclose(per_image[1], outputs[0.2][0][1])
    def norms(v):
        return v.flatten(1).norm(dim=1).square()
    for da, db in outputs.values():
        lhs = norms(da - db) + (1 - alpha) / alpha * norms((a - da) - (b - db))
        assert (lhs <= norms(a - b) * (1 + 1e-5)).all()
    with pytest.raises(ValueError, match="noise-conditioned"):
        net(a)
    with pytest.raises(ValueError, match="positive"):
        net(a, -0.1)
    with pytest.raises(ValueError, match="noise channel"):
        MultiscaleEulerDenoiser(in_channels=3, channels=3, noise_channel=True)


@pytest.mark.parametrize("name", ["euler-sigma0.01", "euler-sigma0.02", "euler-sigma0.05", "euler-sigma0.15"])
def test_every_shipped_prior_as_pnp_deblur_wraps_it_states_its_alpha(name):
    from pnp.choices import PriorBorder
    from pnp.tasks.deblur import DeblurOptions, wrapped_prior

    model = load(name)
    alpha = model.averagedness().alpha
    large = torch.zeros(1, 1, 1100, 40)  # grey and over the tile size: every wrapper is used
    for options in (DeblurOptions(), DeblurOptions(strength=0.5, prior_border=PriorBorder.MIRROR)):
        prior = wrapped_prior(model, options, large)
        stated = certify(prior, empirical=False)
        assert stated.certified and math.isclose(stated.alpha, options.strength * alpha, rel_tol=1e-12), stated.reason
    # over the tile size the zero-padded prior is tiled (the mirror border tiles its own embedding)
    assert isinstance(wrapped_prior(model, DeblurOptions(prior_border=PriorBorder.ZEROS), large), Tiled)
