"""pnp deblur without --noise-level estimates the noise of a real photo, says so and records it."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from pnp.cli import app
from pnp.io import write_image
from pnp.operators import Blur, kernels
from pnp.tasks.noise import estimate_noise_level


@pytest.mark.parametrize("sigma", [0.005, 0.02, 0.05])
def test_estimate_of_a_blurred_noisy_image(smooth_image, generator, sigma):
    blurred = Blur(kernels.levin(3), boundary="reflect").A(smooth_image.repeat(1, 1, 3, 3))
    noisy = blurred + sigma * torch.randn(blurred.shape, generator=generator)
    assert estimate_noise_level(noisy) == pytest.approx(sigma, rel=0.15)


def test_cli_estimates_prints_and_records_the_noise_level(tmp_path, generator):
    blurred = Blur(kernels.levin(1), boundary="reflect").A(torch.rand(1, 3, 8, 8, generator=generator).repeat_interleave(6, -1).repeat_interleave(6, -2))
    write_image(tmp_path / "p.png", (blurred + 0.03 * torch.randn(blurred.shape, generator=generator)).clamp(0, 1))
    result = CliRunner().invoke(app, ["deblur", str(tmp_path / "p.png"), "--kernel", "levin1", "--iters", "2",
                                      "--json", str(tmp_path / "r.json"), "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 0, result.output
    assert "estimated from the image" in result.output
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["noise_level_source"].startswith("estimated") and 0.015 < record["noise_level"] < 0.045
    assert record["weights"].startswith("euler-sigma0.0") and record["weights"].endswith(".pt")
