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
    (["--model", "tv", "--prior-choice", "discrepancy"], "--prior-choice nearest"),
    (["--noise-level", "0", "--prior-choice", "discrepancy"], "noise level, which is 0"),
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


@pytest.mark.parametrize("after", [0.5, 8.0])  # during the imports, and during the work
def test_ctrl_c_is_one_line_and_exit_130(tmp_path, after):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = Path(sys.executable).parent / "pnp"
    if not script.exists():
        pytest.skip("the pnp console script is not installed next to this Python")
    process = subprocess.Popen([str(script), "deblur", "--example", "-o", str(tmp_path / "x.png")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(after)
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 130, errors[-2000:]
    assert "Traceback" not in errors and errors.strip().splitlines()[-1].startswith("interrupted:")
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"


def test_an_image_over_the_pixel_limit_is_one_line(tmp_path, monkeypatch):
    import torch
    from PIL import Image

    from pnp.io import write_image

    write_image(tmp_path / "big.png", torch.rand(1, 3, 40, 40))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow refuses over twice this: 1600 > 200
    result = CliRunner().invoke(app, ["denoise", str(tmp_path / "big.png"), "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 2 and "PNP_MAX_PIXELS" in result.output, result.output


def test_messages_name_the_flags_and_a_garbage_npy_kernel_is_named(tmp_path):
    (tmp_path / "k.npy").write_bytes(bytes(range(256)) * 2)
    result = CliRunner().invoke(app, ["deblur", "--example", "--kernel", str(tmp_path / "k.npy"), "-o",
                                      str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "not a .npy file holding a numeric array" in result.output, result.output
    assert "allow_pickle" not in result.output
    result = CliRunner().invoke(app, ["deblur", "--example", "--iters", "-1", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "--iters" in result.output, result.output


def test_progress_bar_shows_the_budget_as_a_bound_without_an_eta(capsys):
    import torch as _torch

    from pnp.solvers import ProgressBar
    from pnp.solvers.result import IterationRecord

    record = IterationRecord(iteration=1, residual=_torch.ones(1), relative_residual=_torch.ones(1), objective=None,
                             psnr=None, ssim=None, step_size=1.0, time=0.0, active=1, evaluations=None)
    with ProgressBar(total=500, description="deblur") as bar:
        bar._options["file"] = __import__("sys").stderr
        bar(record)
    text = capsys.readouterr().err
    assert "/≤500 iterations" in text and "remaining" not in text and "<" not in text
