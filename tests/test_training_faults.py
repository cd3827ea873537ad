"""Training under faults: a second run into the same folder, a damaged checkpoint, unreadable images."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from pnp.cli import app
from pnp.training import CheckpointError, DataError, ImageBank, ModelConfig, NoiseRange, Splits, TrainConfig, train
from pnp.training.checkpoint import RunClaim, previous_checkpoint
from pnp.training.data import DataWarning


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """BSDS500's layout with 3 smooth train images, 1 val image, and a file that is not an image."""
    root = tmp_path_factory.mktemp("bsds")
    rng = np.random.default_rng(1)
    for split, count in (("train", 3), ("val", 1)):
        folder = root / "data" / "images" / split
        folder.mkdir(parents=True)
        for i in range(count):
            image = Image.fromarray((rng.random((5, 4, 3)) * 255).astype(np.uint8)).resize((32, 36), Image.BICUBIC)
            image.save(folder / f"{i}.png")
    (root / "data" / "images" / "train" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg at all")
    return root


def _splits(root) -> Splits:
    images = root / "data" / "images"
    return Splits(tuple(sorted((images / "train").glob("*"))), tuple(sorted((images / "val").glob("*"))))


def _config(**changes) -> TrainConfig:
    base = TrainConfig(model=ModelConfig("euler", channels=4, blocks=1), noise=NoiseRange(0.1), steps=6,
                       batch_size=2, patch=16, val_every=3, val_images=1, checkpoint_every=3, device="cpu")
    return replace(base, **changes)


def test_unreadable_images_are_left_out_with_a_warning_naming_them(tmp_path, data_root):
    with pytest.warns(DataWarning, match=r"left out 1 unreadable image\(s\) of 4: broken.jpg"):
        summary = train(_config(steps=2), _splits(data_root), tmp_path, progress=False)
    assert summary.metadata["train_images"] == 3
    with pytest.raises(DataError, match="none of the 1 images"):
        ImageBank([data_root / "data" / "images" / "train" / "broken.jpg"])
    result = CliRunner().invoke(app, ["train", "--quick", "--data", str(data_root), "--out", str(tmp_path / "cli"),
                                      "--patch", "16", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "warning: left out 1 unreadable image(s) of 4: broken.jpg" in result.output


def test_a_second_run_into_a_folder_in_use_is_refused_at_once(tmp_path, data_root):
    out = tmp_path / "run"
    refusals = []

    def start_another(step: int) -> None:
        if step == 1:  # the first run holds the folder and has written nothing yet
            with pytest.raises(CheckpointError, match="another pnp train is running") as refused:
                train(_config(), _splits(data_root), out, progress=False)
            refusals.append(str(refused.value))
            with pytest.raises(CheckpointError, match="another pnp train is running"):
                train(_config(), _splits(data_root), out, resume=True, progress=False)

    with pytest.warns(DataWarning):
        train(_config(), _splits(data_root), out, progress=False, on_step=start_another)
    assert refusals and "--out" in refusals[0]
    claim = RunClaim(out).acquire()
    try:
        with pytest.raises(CheckpointError, match="another pnp train"):
            RunClaim(out).acquire()
    finally:
        claim.release()
    RunClaim(out).acquire().release()  # free again once released


def test_a_damaged_checkpoint_says_so_and_points_at_the_previous_one(tmp_path, data_root):
    out = tmp_path / "run"
    with pytest.warns(DataWarning):
        train(_config(), _splits(data_root), out, progress=False)
    last, previous = out / "last.pt", previous_checkpoint(out / "last.pt")
    assert previous.name == "last.prev.pt"
    assert torch.load(previous, weights_only=False)["step"] == 3 and torch.load(last, weights_only=False)["step"] == 6
    last.write_bytes(last.read_bytes()[:1000])  # a copy cut short
    with pytest.raises(CheckpointError, match=r"truncated or damaged .*last.prev.pt \(step 3\) reads fine: `mv"):
        train(_config(steps=9), _splits(data_root), out, resume=True, progress=False)
    result = CliRunner().invoke(app, ["train", "--data", str(data_root), "--out", str(out), "--resume", "--steps", "9",
                                      "--channels", "4", "--blocks", "1", "--batch-size", "2", "--patch", "16"])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "truncated or damaged" in result.output
    shutil.move(previous, last)
    with pytest.warns(DataWarning):
        summary = train(_config(), _splits(data_root), out, resume=True, progress=False)
    assert summary.steps == 6
    previous.unlink(missing_ok=True)
    last.write_bytes(b"")
    with pytest.raises(CheckpointError, match="start a new run in another --out"):
        train(_config(), _splits(data_root), out, resume=True, progress=False)


def test_one_checkpoint_error_for_models_and_training_runs():
    from pnp.denoisers import CheckpointError as ModelCheckpointError

    assert CheckpointError is ModelCheckpointError
