"""The flat-image study (``benchmarks/flat_deblurring.py``): it picks the flattest train crops by a
stated measure and scores a candidate prior on them, end to end on tiny images."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmark_scripts import load_script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))  # the study imports its sibling script, as when run from there
study = load_script("flat_deblurring.py")


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(array, 0, 1) * 255).astype(np.uint8)).save(path)


def test_flatness_orders_a_constant_a_gradient_and_a_texture():
    rng = np.random.default_rng(0)
    ramp = np.linspace(0.2, 0.4, 24)
    images = {"constant": np.full((24, 24, 3), 0.5), "gradient": np.stack([np.add.outer(ramp, ramp) / 2] * 3, -1),
              "texture": rng.random((24, 24, 3))}
    values = {name: study.flatness(torch.from_numpy(a).permute(2, 0, 1)[None].float()) for name, a in images.items()}
    assert values["constant"] == 0 < values["gradient"] < values["texture"]


def test_the_study_picks_the_flattest_crops_and_scores_a_candidate(tmp_path):
    from pnp.denoisers import EulerDenoiser, FlowConfig, save_checkpoint

    rng = np.random.default_rng(1)
    root = tmp_path / "BSDS500" / "data" / "images"
    smooth = np.linspace(0.3, 0.6, 40)[:, None, None] * np.ones((40, 40, 3))
    _save(root / "train" / "sky.png", smooth)
    _save(root / "train" / "grass.png", rng.random((40, 40, 3)))
    _save(root / "train" / "hill.png", smooth + 0.1 * (np.arange(40)[None, :, None] > 20))
    _save(root / "val" / "v.png", smooth)
    torch.manual_seed(0)
    save_checkpoint(EulerDenoiser(channels=6, blocks=1, flow=FlowConfig(max_substeps=1)).eval(), tmp_path / "tiny" / "model.pt",
                    {"noise_level": 0.01})
    out = tmp_path / "out"
    finished = subprocess.run([sys.executable, str(REPO / "benchmarks" / "flat_deblurring.py"), str(tmp_path / "tiny" / "model.pt"),
                               "--data", str(tmp_path / "BSDS500"), "--images", "2", "--crop", "32", "--out", str(out)],
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    record = json.loads((out / "flat_deblurring.json").read_text())
    assert "sky" in record["notes"][0] and "hill" in record["notes"][0] and "grass" not in record["notes"][0]
    (row,) = record["rows"]
    assert row["candidate"] == "tiny" and 5 < row["deblur_psnr_sigma0.01"] < 60 and row["iterations"] >= 1
