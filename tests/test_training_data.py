"""Training data: layouts, splits, in-memory decoding, reproducible patches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pnp.training import DataError, ImageBank, ModelConfig, NoiseRange, PatchSampler, Splits, TrainConfig, find_bsds500


def _write_images(folder, count, size=(40, 30), seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")


@pytest.mark.parametrize("layout", ["data/images", "BSDS500-master/BSDS500/data/images", "."])
def test_find_bsds500_layouts_and_protocol_splits(tmp_path, layout):
    images = tmp_path / layout
    _write_images(images / "train", 3)
    _write_images(images / "test", 2)
    _write_images(images / "val", 2)
    splits = find_bsds500(tmp_path)
    assert len(splits.train) == 5 and len(splits.val) == 2
    assert not set(splits.train) & set(splits.val), "validation images must never be trained on"


def test_real_bsds500_has_400_train_and_100_val(bsds500):
    splits = find_bsds500(bsds500)
    assert (len(splits.train), len(splits.val)) == (400, 100)


def test_missing_or_empty_data_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="not found.*data/images"):
        find_bsds500(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="expected BSDS500"):
        find_bsds500(tmp_path / "empty")
    _write_images(tmp_path / "flat", 2)
    with pytest.raises(DataError, match="val folder"):
        Splits.from_folders(tmp_path / "flat", tmp_path / "empty")


def test_bank_and_sampler(tmp_path):
    _write_images(tmp_path / "imgs", 3)
    bank = ImageBank(Splits.from_folders(tmp_path / "imgs", tmp_path / "imgs").train)
    assert bank.images[0].dtype == torch.uint8 and bank.nbytes == 3 * 40 * 30 * 3
    assert bank.image(0).shape == (1, 3, 40, 30)
    first = PatchSampler(bank, patch=16, seed=5)
    patches = first(6)
    assert patches.shape == (6, 3, 16, 16) and 0 <= patches.min() and patches.max() <= 1
    state = first.state_dict()
    again = PatchSampler(bank, patch=16, seed=99)
    again.load_state_dict(state)
    assert torch.equal(first(4), again(4)), "a restored sampler draws the same patches"
    assert not torch.equal(PatchSampler(bank, patch=16, seed=5, rank=1)(6), patches)
    with pytest.raises(ValueError, match="patch size"):
        PatchSampler(bank, patch=31, seed=0)
    gray = ImageBank(bank.files, channels=1)
    assert gray.image(1).shape == (1, 1, 40, 30)


def test_unreadable_training_image(tmp_path):
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(DataError, match="cannot read"):
        ImageBank([tmp_path / "bad.png"])


def test_config_validation_and_round_trip():
    config = TrainConfig(model=ModelConfig("dncnn", channels=8, blocks=3), noise=NoiseRange(0.05, 0.1))
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert config.noise.nominal == pytest.approx(0.075)
    with pytest.raises(ValueError, match="unknown model"):
        ModelConfig("unet")
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="high >= low"):
        NoiseRange(0.2, 0.1)


def test_euler_flow_options_reach_the_network_and_bound_its_cost():
    from pnp.training.models import family_for

    config = ModelConfig("euler", channels=6, blocks=3, flow_time=2.0, max_substeps=2)
    assert TrainConfig.from_dict(TrainConfig(model=config).to_dict()).model == config
    net = family_for("euler").build(config)
    assert net.flow.time == 2.0 and net.flow.max_substeps == 2
    with torch.no_grad():
        for block in net.blocks:  # a large W would need many sub-steps for T = 2; the cap holds
            block.weight.mul_(20.0)
    net.eval()
    assert max(net.substep_counts()) == 2
    assert net.averagedness().certified
    with pytest.raises(ValueError, match="max-substeps"):
        ModelConfig("euler", max_substeps=0)
    with pytest.raises(ValueError, match="flow-time"):
        ModelConfig("euler", flow_time=-1.0)
