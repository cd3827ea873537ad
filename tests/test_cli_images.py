"""`pnp deblur`, `pnp denoise`, `pnp certify`, `pnp models`: outputs, reports and every error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from pnp.cli import app
from pnp.denoisers import EulerDenoiser, FlowConfig, save_checkpoint
from pnp.io import read_image, write_image


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A small random Euler net saved as a zoo checkpoint (certified like any other)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "tiny.pt"
    save_checkpoint(EulerDenoiser(channels=6, blocks=2, sigma=0.05), path, {"training_data": "none (test)"})
    return path


@pytest.fixture
def photo(tmp_path, generator):
    """A 16-bit RGBA PNG, 40x36."""
    colour = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8, generator=generator), size=(40, 36), mode="bilinear")
    alpha = torch.full((1, 1, 40, 36), 0.5)
    path = tmp_path / "photo.png"
    write_image(path, colour, bit_depth=16, alpha=alpha)
    return path


def _run(*arguments):
    return CliRunner().invoke(app, [str(a) for a in arguments])


def _assert_one_line_error(result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert fragment in lines[0], lines[0]


def test_deblur_example_with_report_and_json(tmp_path, tiny_model):
    out, report, record = tmp_path / "restored.png", tmp_path / "report", tmp_path / "r.json"
    result = _run("deblur", "--example", "--kernel", "motion", "--kernel-size", "15", "--model", tiny_model,
                  "--iters", "4", "--boundary", "circular", "-o", out, "--report", report, "--json", record)
    assert result.exit_code == 0, result.output
    summary = [line for line in result.output.splitlines() if "wrote" in line]
    assert len(summary) == 1 and "PSNR" in summary[0] and "after 4 iterations" in summary[0]
    assert out.is_file() and (tmp_path / "restored_kernel.npy").is_file() and (tmp_path / "restored_kernel.png").is_file()
    assert {p.name for p in report.iterdir()} == {"figure.png", "convergence.png", "result.json"}
    data = json.loads(record.read_text())
    for key in ("input", "kernel", "model", "step", "iterations", "converged", "stop_reason",
                "final_relative_residual", "seconds", "psnr_input", "psnr_restored", "ssim_restored"):
        assert key in data, key
    assert data["kernel"]["size"] == [15, 15] and data["iterations"] == 4
    assert data["start"] == "tikhonov" and data["evaluations"] >= 4  # Anderson may spend extra calls
    assert "history" in json.loads((report / "result.json").read_text())


def test_deblur_photo_keeps_bit_depth_and_alpha(photo, tiny_model):
    result = _run("deblur", photo, "--kernel", "levin1", "--model", tiny_model, "--iters", "3")
    assert result.exit_code == 0, result.output
    restored = read_image(photo.with_name("photo_deblurred.png"))
    original = read_image(photo)
    assert restored.bit_depth == 16 and restored.image.shape == original.image.shape
    assert torch.equal(restored.alpha, original.alpha)
    assert not photo.with_name("photo_deblurred_kernel.npy").exists(), "a shipped kernel is not saved again"


@pytest.mark.parametrize("border", ["mirror", "periodic"])
def test_deblur_with_another_prior_border_records_it_and_refuses_tv(border, photo, tiny_model, tmp_path):
    result = _run("deblur", photo, "--kernel", "levin1", "--model", tiny_model, "--iters", "3",
                  "--prior-border", border, "--json", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["prior_border"] == border
    result = _run("deblur", photo, "--kernel", "levin1", "--model", "tv", "--prior-border", border,
                  "-o", tmp_path / "tv.png")
    _assert_one_line_error(result, "convolutional priors")
    assert not (tmp_path / "tv.png").exists()


def test_deblur_takes_the_free_mirror_for_a_flip_equivariant_prior_and_zeros_for_others(photo, tiny_model, tmp_path):
    """``--prior-border auto`` (the default) records the border it stood for: the mirror where it costs
    one call, the zero padding for any other prior (today's shipped ones)."""
    flips = tmp_path / "flips.pt"
    torch.manual_seed(1)
    save_checkpoint(EulerDenoiser(channels=8, blocks=2, sigma=0.05, flow=FlowConfig(symmetry="flip-orbits")), flips,
                    {"training_data": "none (test)"})
    for model, expected in ((flips, "mirror"), (tiny_model, "zeros")):
        result = _run("deblur", photo, "--kernel", "levin1", "--model", model, "--iters", "2",
                      "-o", tmp_path / f"{expected}.png", "--json", tmp_path / f"{expected}.json")
        assert result.exit_code == 0, result.output
        assert json.loads((tmp_path / f"{expected}.json").read_text())["prior_border"] == expected


def test_denoise_example_improves_psnr(tmp_path):
    record = tmp_path / "d.json"
    result = _run("denoise", "--example", "--model", "tv", "--sigma", "0.1", "-o", tmp_path / "d.png", "--json", record)
    assert result.exit_code == 0, result.output
    data = json.loads(record.read_text())
    assert data["psnr_restored"] > data["psnr_input"] + 3


def test_denoise_grey_image_with_colour_model(tmp_path, tiny_model):
    Image.fromarray((np.random.default_rng(0).random((30, 26)) * 255).astype(np.uint8)).save(tmp_path / "g.png")
    result = _run("denoise", tmp_path / "g.png", "--model", tiny_model)
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "g_denoised.png").mode == "L"


def test_a_palette_image_is_restored_as_rgb_and_the_command_says_so(tmp_path, tiny_model):
    rgb = (np.random.default_rng(0).random((30, 26, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    result = _run("denoise", tmp_path / "p.png", "--model", tiny_model)
    assert result.exit_code == 0, result.output
    assert "note: palette image: processed and written as RGB" in result.output
    assert Image.open(tmp_path / "p_denoised.png").mode == "RGB"


def test_certify_and_models(tmp_path, tiny_model):
    result = _run("certify", tiny_model, "--json", tmp_path / "c.json")
    assert result.exit_code == 0, result.output
    assert "passed: True" in result.output
    assert json.loads((tmp_path / "c.json").read_text())["passed"] is True
    listing = _run("models")
    assert listing.exit_code == 0 and "tv" in listing.output
    euler = next(line for line in listing.output.splitlines() if line.startswith("euler-sigma0.01 "))
    assert re.search(r"trained \d{4}-\d{2}-\d{2} on ", euler) and "1500 steps" in euler, "each shipped net shows its lineage"
    cards = json.loads(_run("models", "--json").output)
    assert cards["euler-sigma0.01"]["lineage"] and cards["tv"]["builtin"]


def test_a_loaded_model_carries_a_typed_card_that_wrappers_pass_through(tiny_model):
    from pnp.denoisers import load
    from pnp.denoisers.adapters import ColourOnGrey, Relaxed
    from pnp.denoisers.cards import card_of

    model = load(tiny_model)
    card = card_of(Relaxed(ColourOnGrey(model), 0.5))
    assert card is model.card and card.path == Path(tiny_model) and card.name == Path(tiny_model).stem
    assert card.architecture == "euler" and card.certificate["certified"]
    assert card_of(load("tv")).builtin and card_of(torch.nn.Identity()).name == "Identity"


def test_every_bad_input_is_one_line_and_exit_2(tmp_path, photo, tiny_model):
    (tmp_path / "text.png").write_text("not an image")
    np.save(tmp_path / "neg.npy", np.array([[0.5, -0.1, 0.6]]))
    np.save(tmp_path / "nan.npy", np.array([[0.5, np.nan, 0.5]]))
    np.save(tmp_path / "zero.npy", np.zeros((3, 3)))
    base = ["--model", tiny_model, "--iters", "2"]
    cases = [
        (["deblur", tmp_path / "missing.png", *base], "not found"),
        (["deblur", tmp_path / "text.png", *base], "cannot read"),
        (["deblur", photo, "--kernel", "wobble", *base], "unknown kernel spec"),
        (["deblur", photo, "--kernel", tmp_path / "neg.npy", *base], "negative"),
        (["deblur", photo, "--kernel", tmp_path / "nan.npy", *base], "NaN"),
        (["deblur", photo, "--kernel", tmp_path / "zero.npy", *base], "zeros"),
        (["deblur", photo, "--kernel", "box:45", *base], "larger than the image"),
        (["deblur", photo, "-o", photo, *base], "is the input image"),
        (["deblur", photo, "--kernel", "box:3", "--step", "5", *base], "force"),
        (["deblur", photo, "--model", "unicorn"], "no shipped denoiser"),
        (["deblur", *base], "no input image"),
        (["denoise", tmp_path / "missing.png", "--model", "tv"], "not found"),
        (["certify", tmp_path / "missing.pt"], "not found"),
    ]
    if not torch.cuda.is_available():
        cases.append((["deblur", photo, "--device", "cuda", *base], "no CUDA GPU"))
    for arguments, fragment in cases:
        _assert_one_line_error(_run(*arguments), fragment)
    assert not photo.with_name("photo_deblurred.png").exists(), "nothing is written when the input is rejected"


@pytest.mark.parametrize("command", ["deblur", "denoise", "certify", "models", "train", "toy"])
def test_help_shows_an_example(command):
    result = _run(command, "--help")
    assert result.exit_code == 0 and "Example" in result.output


def test_deblur_in_bfloat16_keeps_float32_iterates_and_nearly_the_same_result(tmp_path, tiny_model):
    records = {}
    for choice in ("fp32", "bf16"):
        result = _run("deblur", "--example", "--kernel", "gaussian:1.5", "--model", tiny_model, "--iters", "6",
                      "--boundary", "circular", "--device", "cpu", "--precision", choice,
                      "-o", tmp_path / f"{choice}.png", "--json", tmp_path / f"{choice}.json")
        assert result.exit_code == 0, result.output
        records[choice] = json.loads((tmp_path / f"{choice}.json").read_text())
    assert records["bf16"]["precision"] == "bf16" and records["fp32"]["precision"] == "fp32"
    # bf16 rounds the denoiser's convolutions (8-bit mantissa): close to, but not exactly, fp32
    assert abs(records["bf16"]["psnr_restored"] - records["fp32"]["psnr_restored"]) < 0.2


def test_precision_context_restores_global_flags_and_keeps_dtypes():
    from pnp.denoisers import EulerDenoiser
    from pnp.device import Precision, precision

    flags = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    net = EulerDenoiser(channels=6, blocks=2).eval()
    x = torch.rand(1, 3, 16, 12)
    with torch.inference_mode(), precision(Precision.BF16, torch.device("cpu")):
        inner = torch.nn.functional.conv2d(x, torch.ones(1, 3, 3, 3))
        out = net(x, 0.1)
    assert inner.dtype == torch.bfloat16, "convolutions run in bfloat16 under bf16"
    assert out.dtype == torch.float32 and (out - net(x, 0.1)).abs().max() < 0.05
    with precision(Precision.TF32, torch.device("cpu")):
        assert torch.backends.cudnn.allow_tf32
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == flags
