"""The training loop: a quick run end to end, exact resume, the CLI, and a 2-process gloo run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from pnp.cli import app
from pnp.training import CheckpointError, ModelConfig, NoiseRange, Splits, TrainConfig, read_log, train


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Splits:
    """Smooth random colour images: 4 to train on, 2 to validate on."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for split, count in (("train", 4), ("val", 2)):
        (root / split).mkdir()
        for i in range(count):
            coarse = rng.random((6, 5, 3))
            image = Image.fromarray((coarse * 255).astype(np.uint8)).resize((40, 48), Image.BICUBIC)
            image.save(root / split / f"{i}.png")
    return Splits.from_folders(root / "train", root / "val")


def _config(name: str = "euler", **changes) -> TrainConfig:
    base = TrainConfig(
        model=ModelConfig(name, channels=6, blocks=2), noise=NoiseRange(0.1), steps=8, batch_size=2,
        patch=16, lr=2e-3, val_every=4, val_images=2, checkpoint_every=3, device="cpu", seed=3,
    )
    return replace(base, **changes)


@pytest.mark.parametrize("name", ["euler", "dncnn"])
def test_quick_run_writes_everything_and_learns(tmp_path, tiny_data, name):
    summary = train(_config(name, steps=12), tiny_data, tmp_path, progress=False)
    assert {"last.pt", "best.pt", "log.jsonl", "curves.png", "model.pt"} <= {p.name for p in tmp_path.iterdir()}
    log = read_log(tmp_path / "log.jsonl")
    assert [entry["step"] for entry in log] == [3, 6, 9, 12]
    assert all(np.isfinite(entry["loss"]) for entry in log)
    assert log[-1]["loss"] < log[0]["loss"], "the loss should go down"
    if name == "euler":  # an averaged net starts near a smoothing; the noisy input is 20 dB at sigma 0.1
        assert summary.best_val_psnr > 20.0
    assert summary.metadata["noise_level"] == 0.1 and summary.metadata["steps"] == 12


def test_resumed_run_is_identical_to_an_uninterrupted_one(tmp_path, tiny_data):
    config = _config()
    train(config, tiny_data, tmp_path / "whole", progress=False)

    class Killed(Exception):
        pass

    def kill_at_step_5(step: int) -> None:  # after the checkpoint at step 3
        if step == 5:
            raise Killed

    with pytest.raises(Killed):
        train(config, tiny_data, tmp_path / "cut", progress=False, on_step=kill_at_step_5)
    train(config, tiny_data, tmp_path / "cut", resume=True, progress=False)
    whole = torch.load(tmp_path / "whole" / "last.pt", weights_only=False)
    cut = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)
    assert whole["step"] == cut["step"] == 8
    for key, value in whole["model"].items():
        assert torch.equal(value, cut["model"][key]), key
    assert [e["step"] for e in read_log(tmp_path / "cut" / "log.jsonl")] == [3, 6, 8]
    assert read_log(tmp_path / "cut" / "log.jsonl")[-1]["loss"] == read_log(tmp_path / "whole" / "log.jsonl")[-1]["loss"]


def test_time_budget_stops_exports_and_resumes(tmp_path, tiny_data):
    """A spent budget ends the call as a finished run would (validated, checkpointed, exported);
    --resume then goes on to the planned steps."""
    config = _config(steps=40, val_every=100, checkpoint_every=100)
    summary = train(config, tiny_data, tmp_path, progress=False, max_seconds=1e-9)
    assert summary.steps == 1 and summary.best_step == 1 and (tmp_path / "model.pt").is_file()
    assert [e["step"] for e in read_log(tmp_path / "log.jsonl")] == [1]
    summary = train(config, tiny_data, tmp_path, resume=True, progress=False)
    assert summary.steps == 40 and torch.load(tmp_path / "last.pt", weights_only=False)["step"] == 40
    with pytest.raises(ValueError, match="positive"):
        train(config, tiny_data, tmp_path / "b", progress=False, max_seconds=0)


def test_a_resumed_run_reports_the_time_of_all_its_calls(tmp_path, tiny_data):
    """The model card's ``seconds`` is the whole run's wall time (the lineage of shipped weights), not
    only the last call's: a slow first call (2 s) then a fast resumed one."""
    import time

    config = _config(steps=40, val_every=100, checkpoint_every=100)
    train(config, tiny_data, tmp_path, progress=False, max_seconds=1.5, on_step=lambda step: time.sleep(1.0))
    log = read_log(tmp_path / "log.jsonl")
    assert [e["step"] for e in log] == [3] and log[0]["seconds"] >= 2.0
    resumed = train(config, tiny_data, tmp_path, resume=True, progress=False)
    assert resumed.seconds >= 2.0 and resumed.metadata["seconds"] == pytest.approx(resumed.seconds)
    total = sum(e["seconds"] for e in read_log(tmp_path / "log.jsonl"))
    assert resumed.seconds == pytest.approx(total)
    assert json.loads((tmp_path / "model.json").read_text())["seconds"] == pytest.approx(total)


def test_init_warm_starts_from_saved_weights(tmp_path, tiny_data):
    from pnp.denoisers import load

    train(_config(steps=4), tiny_data, tmp_path / "first", progress=False)
    source = load(tmp_path / "first" / "model.pt")
    summary = train(_config(steps=1, lr=1e-12, init=str(tmp_path / "first" / "model.pt")), tiny_data,
                    tmp_path / "second", progress=False)
    warm = load(summary.model_path)
    weights = [k for k in source.state_dict() if k.endswith("weight")]
    assert weights and all(torch.allclose(source.state_dict()[k], warm.state_dict()[k], atol=1e-6) for k in weights)
    assert summary.metadata["init"].endswith("model.pt")
    cold = load(train(_config(steps=1, lr=1e-12), tiny_data, tmp_path / "third", progress=False).model_path)
    assert not all(torch.allclose(source.state_dict()[k], cold.state_dict()[k]) for k in weights)
    with pytest.raises(CheckpointError, match="--init"):
        train(_config(steps=1, init=str(tmp_path / "first" / "model.pt"), model=ModelConfig("euler", channels=8, blocks=2)),
              tiny_data, tmp_path / "fourth", progress=False)


def test_resume_refuses_other_options_and_new_run_refuses_old_folder(tmp_path, tiny_data):
    train(_config(steps=3), tiny_data, tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="different options"):
        train(_config(steps=3, lr=1e-2), tiny_data, tmp_path, resume=True, progress=False)
    with pytest.raises(CheckpointError, match="--resume"):
        train(_config(steps=3), tiny_data, tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(_config(steps=3), tiny_data, tmp_path / "empty", resume=True, progress=False)


def test_a_multiscale_euler_net_trains_and_exports_with_its_certificate(tmp_path, tiny_data):
    config = _config(model=ModelConfig("euler", channels=6, scales=(1, 1), hidden=8, noise_channel=True),
                     noise=NoiseRange(0.05, 0.15), steps=12)
    summary = train(config, tiny_data, tmp_path, progress=False)
    card = json.loads((tmp_path / "model.json").read_text())
    assert card["architecture"] == "euler-ms" and card["config"]["scales"] == [1, 1]
    assert card["config"]["noise_channel"] and card["noise_range"] == [0.05, 0.15]
    assert card["certificate"]["certified"] and len(card["certificate"]["blocks"]) == 2
    log = read_log(tmp_path / "log.jsonl")
    assert log[-1]["loss"] < log[0]["loss"] and summary.steps == 12
    from pnp.denoisers import load

    model, x = load(tmp_path / "model.pt"), torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(model(x, 0.05), model(x, 0.15)), "the exported net is conditioned on sigma"
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config, "scales survive JSON"


def test_a_flip_equivariant_net_trains_and_exports_with_its_symmetry(tmp_path, tiny_data):
    config = _config(model=ModelConfig("euler", channels=8, blocks=2, symmetry="flips"), steps=6)
    train(config, tiny_data, tmp_path, progress=False)
    card = json.loads((tmp_path / "model.json").read_text())
    assert card["config"]["flow"]["symmetry"] == "flips" and card["certificate"]["certified"]
    from pnp.denoisers import load

    model, x = load(tmp_path / "model.pt"), torch.rand(1, 3, 16, 12)
    with torch.no_grad():
        assert torch.allclose(model(x.flip(-1)).flip(-1), model(x), atol=1e-6), "the exported net commutes with flips"
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_cli_train_quick_and_errors(tmp_path, tiny_data):
    data = tiny_data.train[0].parent.parent
    result = CliRunner().invoke(app, ["train", "--quick", "--data", str(data), "--out", str(tmp_path / "run"),
                                      "--patch", "16", "--device", "cpu", "--dilations", "1,2"])
    assert result.exit_code == 0, result.output
    assert "best validation PSNR" in result.output and (tmp_path / "run" / "model.pt").is_file()
    from pnp.denoisers import load

    assert [block.dilation for block in load(tmp_path / "run" / "model.pt").euler_blocks] == [1, 2]
    for arguments, message in (
        (["--data", str(tmp_path / "nowhere")], "data folder not found"),
        (["--data", str(data), "--model", "unet"], "unknown model"),
        (["--data", str(data), "--device", "cuda"] if not torch.cuda.is_available() else ["--steps", "0"], "cuda"
         if not torch.cuda.is_available() else "steps"),
        ([], "no training data"),
        (["--data", str(data), "--scales", "2,x"], "--scales takes block counts"),
        (["--data", str(data), "--dilations", "1,x"], "--dilations takes dilations"),
        (["--data", str(data), "--dilations", "1,0"], "dilations (Euler only) must be positive"),
        (["--data", str(data), "--model", "dncnn", "--scales", "2,2"], "Euler only"),
        (["--data", str(data), "--symmetry", "flips", "--hidden", "6"], "divisible by 4"),
    ):
        result = CliRunner().invoke(app, ["train", "--quick", "--out", str(tmp_path / "x"), *arguments])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error: ") and message in result.output, result.output


@pytest.mark.skipif(sys.platform == "win32", reason="torchrun with gloo")
def test_two_process_gloo_run(tmp_path, tiny_data):
    data = tiny_data.train[0].parent.parent
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29517",
        "-m", "pnp.cli", "train", "--quick", "--data", str(data), "--out", str(tmp_path / "ddp"),
        "--patch", "16", "--device", "cpu", "--val-images", "1",
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    finished = subprocess.run(command, capture_output=True, text=True, timeout=240, env=environment)
    assert finished.returncode == 0, finished.stderr[-3000:]
    metadata = json.loads((tmp_path / "ddp" / "model.json").read_text())
    assert metadata["device"] == "cpu x2"
    assert [e["step"] for e in read_log(tmp_path / "ddp" / "log.jsonl")][-1] == 60  # the --quick preset
    assert Path(tmp_path / "ddp" / "last.pt").is_file()


def test_export_of_a_stopped_run(tmp_path, tiny_data):
    class Stop(Exception):
        pass

    def stop_at_7(step: int) -> None:
        if step == 7:
            raise Stop

    with pytest.raises(Stop):
        train(_config(), tiny_data, tmp_path, progress=False, on_step=stop_at_7)
    result = CliRunner().invoke(app, ["train", "--out", str(tmp_path), "--export"])
    assert result.exit_code == 0, result.output
    metadata = json.loads((tmp_path / "model.json").read_text())
    assert metadata["steps"] == 6 and metadata["best_step"] == 4
    from pnp.denoisers import load

    assert load(tmp_path / "model.pt")(torch.rand(1, 3, 9, 9), None).shape == (1, 3, 9, 9)


def test_a_log_uniform_noise_range_draws_as_many_low_levels_as_high_ones():
    noise = NoiseRange(0.01, 1.0, log_uniform=True)
    levels = noise.draw(20_000, torch.Generator().manual_seed(0)).flatten()
    assert levels.min() >= 0.01 and levels.max() <= 1.0 and noise.nominal == pytest.approx(0.1)
    assert float((levels < 0.1).float().mean()) == pytest.approx(0.5, abs=0.02), "half below the geometric mean"
    uniform = NoiseRange(0.01, 1.0).draw(20_000, torch.Generator().manual_seed(0)).flatten()
    assert float((uniform < 0.1).float().mean()) == pytest.approx(0.09, abs=0.02)
    with pytest.raises(ValueError, match="log-uniform"):
        NoiseRange(0.0, 0.2, log_uniform=True)
