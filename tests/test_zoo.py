"""Checkpoints and the zoo: round trips, metadata, refusal of uncertified step sizes, names."""

from __future__ import annotations

import json

import pytest
import torch

from pnp.denoisers import (
    TV,
    CheckpointError,
    DnCNN,
    EulerDenoiser,
    FlowConfig,
    GaussianSmoother,
    available,
    load,
    save_checkpoint,
    tv_weight_table,
)
from pnp.denoisers import zoo


def euler(sigma: float = 0.15, **kwargs) -> EulerDenoiser:
    torch.manual_seed(0)
    return EulerDenoiser(channels=8, blocks=2, sigma=sigma, **kwargs)


def test_euler_round_trip(tmp_path, generator):
    model = euler(flow=FlowConfig(time=2.0, integrator="heun"))
    path = save_checkpoint(model, tmp_path / "e.pt", {"steps": 12, "validation_psnr": 27.1, "device": "cpu"})
    sidecar = json.loads(path.with_suffix(".json").read_text())
    loaded = load(path)
    assert not loaded.training and loaded.metadata == {**sidecar, "path": str(path)}
    assert sidecar["architecture"] == "euler" and sidecar["noise_level"] == 0.15 and sidecar["steps"] == 12
    assert sidecar["config"]["flow"]["integrator"] == "heun"
    assert sidecar["certificate"]["certified"] and sidecar["certificate"]["alpha"] < 1
    x = torch.rand(2, 3, 37, 31, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model.eval()(x))
    for a, b in zip(model.blocks, loaded.blocks):
        assert torch.equal(a.power_vector, b.power_vector)
        assert int(a.substeps) == int(b.substeps) and float(a.step) == float(b.step)


def test_dncnn_round_trip(tmp_path, generator):
    torch.manual_seed(0)
    model = DnCNN(depth=3, features=8, sigma=0.1)
    path = save_checkpoint(model, tmp_path / "d.pt", {"training_data": "BSDS500 train+test"})
    loaded = load(str(path))
    assert isinstance(loaded, DnCNN) and loaded.metadata["training_data"] == "BSDS500 train+test"
    assert not loaded.metadata["certificate"]["certified"]
    x = torch.rand(1, 3, 37, 31, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model.eval()(x))


def _tamper(path, edit) -> None:
    payload = torch.load(path, weights_only=True)
    edit(payload["state_dict"])
    torch.save(payload, path)


def test_refuses_a_step_size_above_the_bound(tmp_path):
    path = save_checkpoint(euler(), tmp_path / "e.pt")
    _tamper(path, lambda state: state["blocks.1.step"].mul_(3.0))
    with pytest.raises(CheckpointError, match="not certified averaged"):
        load(path)


def test_refuses_weights_grown_after_freezing(tmp_path):
    path = save_checkpoint(euler(), tmp_path / "e.pt")
    _tamper(path, lambda state: state["blocks.0.weight"].mul_(2.0))
    with pytest.raises(CheckpointError, match="blocks|violated|step"):
        load(path)


def test_unreadable_or_inconsistent_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable"):
        load(garbage)
    path = save_checkpoint(euler(), tmp_path / "e.pt")
    payload = torch.load(path, weights_only=True)
    meta = json.loads(payload["metadata"])
    meta["architecture"] = "unet"
    torch.save({"metadata": json.dumps(meta), "state_dict": payload["state_dict"]}, path)
    with pytest.raises(CheckpointError, match="unknown architecture"):
        load(path)
    with pytest.raises(CheckpointError, match="supported"):
        save_checkpoint(GaussianSmoother(), tmp_path / "g.pt")
    with pytest.raises(CheckpointError, match=".pt"):
        save_checkpoint(euler(), tmp_path / "e.pth")


def test_names_and_noise_levels(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path)
    for sigma in (0.05, 0.15):
        save_checkpoint(euler(sigma), tmp_path / f"euler-sigma{sigma:.2f}.pt")
    assert available() == ["euler-sigma0.05", "euler-sigma0.15", "tv"]
    assert load("euler", sigma=0.15).sigma == 0.15
    assert load("euler-sigma0.05").metadata["noise_level"] == 0.05
    with pytest.raises(CheckpointError, match="several"):
        load("euler")
    with pytest.raises(CheckpointError, match="available"):
        load("dncnn")
    with pytest.raises(CheckpointError, match="sigma=0.1"):
        load("euler", sigma=0.1)
    assert load("euler", sigma=0.1, nearest=True).sigma == 0.15  # |log(0.15/0.1)| < |log(0.05/0.1)|
    assert load("euler", sigma=0.06, nearest=True).sigma == 0.05
    assert load("euler", sigma=0.5, nearest=True).sigma == 0.15


def test_shipped_names():
    assert "tv" in available()
    assert isinstance(load("tv"), TV)
    with pytest.raises(CheckpointError, match="available"):
        load("no-such-denoiser")


def test_shipped_tv_weights_cover_the_benchmark_noise_levels():
    table = tv_weight_table()
    for sigma in (0.05, 0.10, 0.15):
        assert sigma in table and table[sigma] > 0
    values = [table[s] for s in sorted(table)]
    assert values == sorted(values)


def test_deblur_takes_the_prior_trained_nearest_the_data_noise_level(tmp_path, monkeypatch):
    from pnp.cli.common import load_model
    from pnp.tasks.deblur import prior_noise_level

    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path)
    for sigma in (0.01, 0.02, 0.05, 0.15):
        save_checkpoint(euler(sigma), tmp_path / f"euler-sigma{sigma:.2f}.pt")
    chosen = {noise: load_model("euler", torch.device("cpu"), prior_noise_level(noise)).sigma
              for noise in (0.0, 0.01, 0.015, 0.03, 0.04, 0.1)}
    assert chosen == {0.0: 0.01, 0.01: 0.01, 0.015: 0.02, 0.03: 0.02, 0.04: 0.05, 0.1: 0.15}  # ratio-wise nearest


def test_a_family_lists_its_shipped_levels_weakest_first():
    from pnp.denoisers import family

    assert family("euler") == ["euler-sigma0.01", "euler-sigma0.02", "euler-sigma0.05", "euler-sigma0.15"]
    assert family("dncnn")[0] == "dncnn-sigma0.01" and family("tv") == []
