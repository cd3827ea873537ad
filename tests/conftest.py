"""Shared fixtures: seeded generators, the BSDS500 location, small images."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
# The tests use tiny tensors, for which intra-op threads cost far more than they save (and CI
# machines are small and shared): one thread makes the suite several times faster.
torch.set_num_threads(1)

BSDS500 = Path(os.environ.get("PNP_BSDS500", REPO.parent / "shared" / "datasets" / "BSDS500"))


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def bsds500() -> Path:
    """Root of BSDS500 (``data/images/{train,val,test}``); tests skip when it is absent."""
    images = BSDS500 / "data" / "images"
    if not (images / "val").is_dir():
        pytest.skip(f"BSDS500 not found at {images} (set PNP_BSDS500 to its root folder)")
    return BSDS500


@pytest.fixture
def smooth_image(generator) -> torch.Tensor:
    """A smooth random colour image (1, 3, 37, 31) in [0, 1], odd non-square size."""
    noise = torch.rand(1, 3, 10, 8, generator=generator)
    return torch.nn.functional.interpolate(noise, size=(37, 31), mode="bilinear", align_corners=True)
