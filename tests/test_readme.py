"""The README's examples run: the Python snippet, and every `pnp` line of the CLI tour."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from pnp.cli import app
from pnp.demo import builtin_image
from pnp.io import write_image

README = Path(__file__).resolve().parents[1] / "README.md"


def _block_after(marker: str) -> str:
    text = README.read_text()
    match = re.search(re.escape(marker) + r"\s*```\w*\n(.*?)```", text, re.S)
    assert match, f"README has no code block after {marker}"
    return match.group(1)


@pytest.fixture
def in_photo_folder(tmp_path, monkeypatch):
    """A small photo.png (and noisy.png) in the working directory, as the README assumes."""
    image = builtin_image("astronaut")[..., 100:164, 180:244]
    write_image(tmp_path / "photo.png", image)
    write_image(tmp_path / "noisy.png", (image + 0.1 * torch.randn(image.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_python_snippet_runs(in_photo_folder):
    code = _block_after("<!-- api-snippet -->")
    assert len(code.strip().splitlines()) <= 12
    namespace: dict = {}
    exec(compile(code, "README snippet", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["result"].converged


@pytest.mark.slow
def test_cli_tour_runs(in_photo_folder):
    lines = [line for line in _block_after("<!-- cli-tour -->").splitlines() if line.startswith("pnp ")]
    assert lines
    for line in lines:
        arguments = shlex.split(line.split("#")[0])[1:]
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, f"{line}\n{result.output}"
