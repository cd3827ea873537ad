"""Choosing the deblurring prior per image by the discrepancy principle (``pnp.tasks.prior_choice``)."""

from __future__ import annotations

import pytest
import torch

from pnp.denoisers import load
from pnp.operators import kernels
from pnp.solvers import Stopping
from pnp.tasks import DeblurOptions, deblur, simulate_blur
from pnp.tasks.prior_choice import Trial, deblur_by_discrepancy

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


def _search(trials: list[Trial]) -> tuple[list[Trial], Trial]:
    """The search's trials (solved to the search tolerance) and the chosen prior's continuation."""
    *search, final = trials
    assert final.final and not any(t.final for t in search)
    assert {t.tolerance for t in search} == {10 * OPTIONS.stopping.tol} and final.tolerance == OPTIONS.stopping.tol
    return search, final


def test_a_flat_image_gets_the_strongest_prior_whose_residual_is_within_the_noise():
    sharp = _flat()
    kernel, observed = _observed(sharp)
    restoration, name, trials = deblur_by_discrepancy(observed, kernel, PRIORS, OPTIONS, first=0, reference=sharp)
    assert name == "euler-sigma0.05", trials  # measured ratios: 0.95, 0.97, 1.02 for 0.02, 0.05, 0.15
    search, final = _search(trials)
    assert [t.name for t in search] == [n for n, _ in PRIORS] and final.name == name
    assert [t.discrepancy_ratio <= 1 for t in search] == [True, True, False]
    assert all(t.converged for t in trials)
    nearest = deblur(observed, kernel, PRIORS[0][1], OPTIONS, reference=sharp)
    assert restoration.metrics()["psnr_restored"] > nearest.metrics()["psnr_restored"]


def test_a_textured_image_walks_down_to_a_weaker_prior():
    """Started at 0.05, whose fixed point leaves a residual above the noise, the search tries 0.02;
    no prior is within the noise on this random texture, so the weakest is taken."""
    kernel, observed = _observed(_textured())
    _, name, trials = deblur_by_discrepancy(observed, kernel, PRIORS, OPTIONS, first=1)
    assert name == "euler-sigma0.02", trials
    search, _ = _search(trials)
    assert [t.name for t in search] == ["euler-sigma0.05", "euler-sigma0.02"]
    assert all(t.discrepancy_ratio > 1 for t in search)  # measured: 1.45, 1.34


def test_the_choice_follows_the_rule_on_every_trial():
    """Accepted trials are those within the limit; the chosen prior is the strongest accepted one, or
    the weakest when none is (started from the strongest prior here, so the search walks all the way down)."""
    kernel, observed = _observed(_textured())
    _, name, trials = deblur_by_discrepancy(observed, kernel, PRIORS, OPTIONS, first=2)
    order = [n for n, _ in PRIORS]
    search, _ = _search(trials)
    assert [t.name for t in search] == order[::-1]
    accepted = [t.name for t in search if t.discrepancy_ratio <= 1]
    assert name == (max(accepted, key=order.index) if accepted else order[0])


def test_the_search_decides_at_a_looser_tolerance_and_continues_the_chosen_prior_to_the_final_one():
    """Against every trial solved fully: the same choice, ratios within 1e-2, the same fixed point up
    to the final tolerance's accuracy, and fewer iterations in all."""
    sharp = _flat()
    kernel, observed = _observed(sharp)
    fine = DeblurOptions(boundary="circular", noise_level=0.02, stopping=Stopping(300, 1e-5))
    fast, name, trials = deblur_by_discrepancy(observed, kernel, PRIORS, fine, first=0, reference=sharp)
    full, full_name, full_trials = deblur_by_discrepancy(observed, kernel, PRIORS, fine, first=0, reference=sharp,
                                                         search_tolerance=1e-5)
    assert name == full_name and not any(t.final for t in full_trials), "no continuation when the trials are full"
    assert [t.name for t in trials[:-1]] == [t.name for t in full_trials]
    for quick, exact in zip(trials, full_trials):
        assert abs(quick.discrepancy_ratio - exact.discrepancy_ratio) < 1e-2
    assert trials[-1].final and trials[-1].converged and trials[-1].tolerance == 1e-5
    assert (fast.restored - full.restored).abs().max() < 5e-3
    assert abs(fast.metrics()["psnr_restored"] - full.metrics()["psnr_restored"]) < 0.05
    assert sum(t.iterations for t in trials) < sum(t.iterations for t in full_trials)
    with pytest.raises(ValueError, match="search_tolerance"):
        deblur_by_discrepancy(observed, kernel, PRIORS, fine, first=0, search_tolerance=1e-6)
    with pytest.raises(ValueError, match="x0 must be a finite image"):
        deblur(observed, kernel, PRIORS[0][1], fine, x0=torch.zeros(1, 3, 5, 5))


def test_a_warm_started_search_starts_each_trial_where_the_previous_one_stopped(monkeypatch):
    """``warm_start=True`` hands each trial after the first the previous trial's last iterate as its
    start (cold: ``pnp deblur``'s start for every trial); the choice is the same on the flat image."""
    import pnp.tasks.prior_choice as prior_choice

    starts: list[torch.Tensor | None] = []
    ends: list[torch.Tensor] = []

    def recording(*args, x0=None, **kwargs):
        starts.append(x0)
        restoration = deblur(*args, x0=x0, **kwargs)
        ends.append(restoration.result.x)
        return restoration

    monkeypatch.setattr(prior_choice, "deblur", recording)
    kernel, observed = _observed(_flat())
    _, cold_name, cold = deblur_by_discrepancy(observed, kernel, PRIORS, OPTIONS, first=0)
    assert all(start is None for start in starts[:len(cold) - 1]), "cold trials start at pnp deblur's start"
    starts.clear()
    ends.clear()
    _, name, trials = deblur_by_discrepancy(observed, kernel, PRIORS, OPTIONS, first=0, warm_start=True)
    assert name == cold_name and [t.name for t in trials] == [t.name for t in cold]
    assert starts[0] is None and len(starts) == len(trials) == 4  # three trials, then the continuation
    for k in (1, 2, 3):  # trials 2 and 3 continue the trial before; the continuation continues the chosen one
        previous = ends[k - 1] if k < 3 else ends[[t.name for t in trials[:3]].index(name)]
        assert torch.equal(starts[k], previous)


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
                                                                       "euler-sigma0.15", "euler-sigma0.05"]
    assert [trial["final"] for trial in record["discrepancy_trials"]] == [False, False, False, True]
    assert "chosen by the discrepancy principle" in result.output
    assert "the last continues the chosen prior's trial" in result.output
