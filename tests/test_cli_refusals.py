"""Bad numbers and sizes get one line and exit code 2, before anything is allocated or computed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pnp.cli import app
from pnp.operators import kernels


@pytest.mark.parametrize("arguments, message", [
    (["--kernel", "gaussian:1e6"], "larger than the image"),
    (["--kernel", "box:100000"], "larger than the image"),
    (["--kernel", "box:inf"], "positive finite number"),
    (["--kernel", "gaussian:nan"], "positive finite number"),
    (["--kernel", "motion", "--kernel-size", "100000"], "larger than the image"),
    (["--noise-level", "inf"], "--noise-level must lie in [0, 1)"),
    (["--noise-level", "10"], "[0, 1] scale"),
    (["--noise-level", "-0.1"], "--noise-level"),
])
def test_deblur_refuses_sizes_and_levels_up_front(tmp_path, arguments, message):
    result = CliRunner().invoke(app, ["deblur", "--example", "-o", str(tmp_path / "x.png"), *arguments])
    assert result.exit_code == 2 and result.output.startswith("error: ") and message in result.output, result.output
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("sigma", ["inf", "-1", "0", "nan", "10"])
def test_denoise_refuses_noise_levels_off_the_image_scale(tmp_path, sigma):
    result = CliRunner().invoke(app, ["denoise", "--example", f"--sigma={sigma}", "-o", str(tmp_path / "y.png")])
    assert result.exit_code == 2 and "--sigma must lie in (0, 1)" in result.output, result.output


def test_certify_says_what_is_not_certifiable():
    result = CliRunner().invoke(app, ["certify", "tv"])
    assert result.exit_code == 2 and "not certifiable" in result.output, result.output


def test_kernel_sources_are_bounded_without_an_image():
    with pytest.raises(kernels.KernelError, match="larger than 4097 px"):
        kernels.from_spec("gaussian:5000")
    assert kernels.from_spec("box:9", max_size=9).shape == (9, 9)
    with pytest.raises(kernels.KernelError, match="the image"):
        kernels.from_spec("box:11", max_size=9)
