"""Training checkpoints: everything needed to continue a run exactly, written atomically.

A checkpoint holds the model (with its power-method vectors, which are buffers), the optimiser, the
scheduler, the step, every random state the run draws from (patch sampler, noise, torch's global
generator) and the best validation PSNR so far. It is written to a temporary file in the same
folder and renamed over the old one, so a run killed at any moment leaves either the previous
checkpoint or the new one, never half a file.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

from ..io import atomic_write_bytes

__all__ = ["CheckpointError", "load_training_state", "save_training_state"]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not match the run; the message says what to do."""


def save_training_state(state: dict, path: Path) -> None:
    """``torch.save(state)`` to ``path`` atomically (temporary file + rename)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_training_state(path: Path) -> dict:
    """Read a checkpoint written by :func:`save_training_state` (on the CPU)."""
    if not path.is_file():
        raise CheckpointError(f"no checkpoint to resume from at {path}; drop --resume to start a new run")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises several unrelated types for a corrupt file
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from error
