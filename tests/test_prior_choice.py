"""Choosing the deblurring prior per image by the discrepancy principle (``pnp.tasks.prior_choice``)."""

from __future__ import annotations

import pytest
import torch

from pnp.denoisers import load
from pnp.operators import kernels
from pnp.solvers import Stopping
from pnp.tasks import DeblurOptions, deblur, simulate_blur
from pnp.tasks.prior_choice import deblur_by_discrepancy

OPTIONS = DeblurOptions(boundary="circular", noise_level=0.02, stopping=Stopping(200, 1e-4))
PRIORS = [(name, load(name)) for name in ("euler-sigma0.02", "euler-sigma0.05", "euler-sigma0.15")]


def _observed(sharp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    kernel = kernels.from_spec("levin3")
    return kernel, simulate_blur(sharp, kernel, boundary="circular", noise_level=OPTIONS.noise_level, seed=0)


def _flat() -> torch.Tensor:
    """A gentle colour ramp: no detail for a strong prior to remove."""
    ramp = torch.linspace(0.4, 0.5, 48)
    return torch.stack([ramp[None, :].expand(48, 48), ramp[:, None].expand(48, 48), torch.full((48, 48), 0.5)])[None]


def _textured() -> torch.Tensor:
    """Fine random texture: a strong prior smooths it away and leaves a residual above the noise."""
    return torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(0)) * 0.6 + 0.2


def test_a_flat_image_gets_the_strongest_prior_whose_residual_is_within_the_noise():
    sharp = _flat()
    kernel, observed = _observed(sharp)
    restoration, name, trials = deblur_by_discrepancy(observed, kernel, PRIORS, OPTIONS, first=0, reference=sharp)
    assert name == "euler-sigma0.05", trials  # measured ratios: 0.94, 0.98, 1.03 for 0.02, 0.05, 0.15
    assert [t.name for t in trials] == [n for n, _ in PRIORS]
    assert [t.discrepancy_ratio <= 1 for t in trials] == [True, True, False]
    assert all(t.converged for t in trials)
    nearest = deblur(observed, kernel, PRIORS[0][1], OPTIONS, reference=sharp)
    assert restoration.metrics()["psnr_restored"] > nearest.metrics()["psnr_restored"]


def test_a_textured_image_walks_down_to_a_weaker_prior():
    """Started at 0.05, whose fixed point leaves a residual above the noise, the search tries 0.02;
    no prior is within the noise on this random texture, so the weakest is taken."""
    kernel, observed = _observed(_textured())
    _, name, trials = deblur_by_discrepancy(observed, kernel, PRIORS, OPTIONS, first=1)
    assert name == "euler-sigma0.02", trials
    assert [t.name for t in trials] == ["euler-sigma0.05", "euler-sigma0.02"]
    assert all(t.discrepancy_ratio > 1 for t in trials)  # measured: 1.43, 1.31


def test_the_choice_follows_the_rule_on_every_trial():
    """Accepted trials are those within the limit; the chosen prior is the strongest accepted one, or
    the weakest when none is (started from the strongest prior here, so the search walks all the way down)."""
    kernel, observed = _observed(_textured())
    _, name, trials = deblur_by_discrepancy(observed, kernel, PRIORS, OPTIONS, first=2)
    order = [n for n, _ in PRIORS]
    assert [t.name for t in trials] == order[::-1]
    accepted = [t.name for t in trials if t.discrepancy_ratio <= 1]
    assert name == (max(accepted, key=order.index) if accepted else order[0])


def test_the_rule_needs_a_noise_level_and_a_valid_start():
    kernel, observed = _observed(_flat())
    with pytest.raises(ValueError, match="positive noise level"):
        deblur_by_discrepancy(observed, kernel, PRIORS, DeblurOptions(noise_level=0.0), first=0)
    with pytest.raises(ValueError, match="first must index"):
        deblur_by_discrepancy(observed, kernel, PRIORS, OPTIONS, first=3)


def test_pnp_deblur_chooses_by_discrepancy_and_records_every_trial(tmp_path):
    import json

    from typer.testing import CliRunner

    from pnp.cli import app
    from pnp.io import write_image

    write_image(tmp_path / "flat.png", _flat()[0])
    result = CliRunner().invoke(app, ["deblur", str(tmp_path / "flat.png"), "--simulate", "--kernel", "levin3",
                                      "--boundary", "circular", "--noise-level", "0.02", "--prior-choice", "discrepancy",
                                      "--json", str(tmp_path / "run.json")])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["prior_choice"] == "discrepancy" and record["weights"] == "euler-sigma0.05.pt"
    assert [trial["name"] for trial in record["discrepancy_trials"]] == ["euler-sigma0.02", "euler-sigma0.05",
                                                                       "euler-sigma0.15"]
    assert "chosen by the discrepancy principle" in result.output
