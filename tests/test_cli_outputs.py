"""No command overwrites a file it did not create: every output is checked before any work."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from pnp.cli import app
from pnp.io import write_image


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def photo(tmp_path) -> Path:
    write_image(tmp_path / "X.png", torch.rand(1, 3, 20, 18, generator=torch.Generator().manual_seed(0)))
    return tmp_path / "X.png"


def _refused(tmp_path: Path, arguments: list[str], message: str) -> None:
    before = _digest(tmp_path)
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and message in result.output, result.output
    assert "Traceback" not in result.output
    assert _digest(tmp_path) == before, "no file changed, none created"


@pytest.mark.parametrize("command", ["deblur", "denoise"])
def test_json_onto_the_input_is_refused(tmp_path, photo, command):
    _refused(tmp_path, [command, str(photo), "--json", str(photo)], "is the input image")


def test_report_folder_holding_the_input_is_refused(tmp_path):
    (tmp_path / "D").mkdir()
    write_image(tmp_path / "D" / "figure.png", torch.rand(1, 3, 16, 16))
    _refused(tmp_path, ["deblur", str(tmp_path / "D" / "figure.png"), "--report", str(tmp_path / "D"),
                        "-o", str(tmp_path / "out.png")], "--report")


def test_kernel_sidecar_onto_the_input_is_refused(tmp_path):
    write_image(tmp_path / "X_kernel.png", torch.rand(1, 3, 16, 16))
    _refused(tmp_path, ["deblur", str(tmp_path / "X_kernel.png"), "-o", str(tmp_path / "X.png"), "--kernel", "motion"],
             "kernel sidecar")


def test_output_onto_the_kernel_file_or_through_a_link_is_refused(tmp_path, photo):
    kernel = tmp_path / "k.png"
    write_image(kernel, torch.rand(1, 1, 5, 5))
    _refused(tmp_path, ["deblur", str(photo), "--kernel", str(kernel), "-o", str(kernel)], "kernel file")
    os.symlink(photo, tmp_path / "link.png")
    _refused(tmp_path, ["deblur", str(photo), "--kernel", "levin1", "-o", str(tmp_path / "link.png")], "input image")
    os.link(photo, tmp_path / "hard.png")
    _refused(tmp_path, ["denoise", str(photo), "-o", str(tmp_path / "hard.png")], "input image")


def test_outputs_that_collide_or_cannot_be_written_are_refused_before_the_solve(tmp_path, photo):
    out = tmp_path / "o.png"
    _refused(tmp_path, ["deblur", str(photo), "--kernel", "levin1", "-o", str(out), "--json", str(out)],
             "also written as -o")
    _refused(tmp_path, ["deblur", str(photo), "--kernel", "levin1", "-o", str(tmp_path / "o.xyz")],
             "unknown image format")
    (tmp_path / "file").write_text("a file")
    _refused(tmp_path, ["deblur", str(photo), "--kernel", "levin1", "-o", str(out), "--report",
                        str(tmp_path / "file")], "is a file, not a folder")
    _refused(tmp_path, ["denoise", str(photo), "-o", str(out), "--json", str(tmp_path / "file" / "r.json")],
             "is a file, not a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_report_folder_is_refused(tmp_path, photo):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        _refused(tmp_path, ["deblur", str(photo), "--kernel", "levin1", "--report", str(folder / "r")],
                 "permission denied")
    finally:
        folder.chmod(0o700)


def test_a_folder_as_the_image_says_so(tmp_path):
    (tmp_path / "d").mkdir()
    _refused(tmp_path, ["deblur", str(tmp_path / "d")], "is a folder")
