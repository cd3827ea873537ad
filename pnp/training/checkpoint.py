"""Training checkpoints and run folders: everything needed to continue a run exactly, written atomically.

A checkpoint holds the model (with its power-method vectors, which are buffers), the optimiser, the
scheduler, the step, every random state the run draws from (patch sampler, noise, torch's global
generator) and the best validation PSNR so far. It is written to a temporary file in the same
folder and renamed over the old one, so a run killed at any moment leaves either the previous
checkpoint or the new one, never half a file. ``last.pt`` also keeps its predecessor as
``last.prev.pt`` (a hard link taken before the new file replaces it), so a checkpoint damaged later
(a full disk, a copy cut short) still leaves one to resume from.

A run folder is claimed by an exclusive lock on ``run.lock`` for as long as the run lasts: a second
``pnp train`` into the same folder is refused at once, and the lock dies with its process (no stale
claim after ``kill -9``).
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import IO

import torch

from ..denoisers.zoo import CheckpointError
from ..io import atomic_write_bytes

__all__ = ["CheckpointError", "RunClaim", "load_training_state", "previous_checkpoint", "save_training_state"]


def previous_checkpoint(path: Path) -> Path:
    """Where :func:`save_training_state` keeps the predecessor of ``path`` (``last.pt`` -> ``last.prev.pt``)."""
    return path.with_suffix(".prev" + path.suffix)


def save_training_state(state: dict, path: Path, *, keep_previous: bool = False) -> None:
    """``torch.save(state)`` to ``path`` atomically (temporary file + rename); with ``keep_previous``
    the file it replaces stays as :func:`previous_checkpoint` (``path`` itself exists throughout)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path = Path(path)
    if keep_previous and path.is_file():
        previous = previous_checkpoint(path)
        staging = previous.with_name(f".{previous.name}.tmp")
        staging.unlink(missing_ok=True)
        try:
            os.link(path, staging)
        except OSError:  # a file system without hard links
            shutil.copyfile(path, staging)
        os.replace(staging, previous)
    atomic_write_bytes(path, buffer.getvalue())


def _read(path: Path) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(state, dict):
        raise ValueError(f"it holds a {type(state).__name__}, not a training state")
    return state


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def load_training_state(path: Path) -> dict:
    """Read a checkpoint written by :func:`save_training_state` (on the CPU).

    Raises :class:`CheckpointError` naming what is wrong and what to do, pointing at the previous
    checkpoint when it reads."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint to resume from at {path}"
                              f"{_fallback(path) or '; drop --resume to start a new run'}")
    try:
        return _read(path)
    except Exception as error:  # torch raises several unrelated types for a corrupt file
        advice = _fallback(path) or "; start a new run in another --out (this one cannot be continued)"
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is truncated or damaged ({_reason(error)}){advice}"
        ) from None


def _fallback(path: Path) -> str:
    """Advice pointing at the previous checkpoint of ``path`` when it reads (only asked on failure)."""
    previous = previous_checkpoint(path)
    if not previous.is_file():
        return ""
    try:
        step = _read(previous).get("step", "?")
    except Exception:  # noqa: BLE001 - any failure just means there is no fallback to offer
        return ""
    return f"; the previous checkpoint {previous} (step {step}) reads fine: `mv {previous} {path}` and run again with --resume"


class RunClaim:
    """An exclusive claim on a run folder (``run.lock``, advisory ``flock``), held until :meth:`release`."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._stream: IO[str] | None = None

    def acquire(self) -> "RunClaim":
        self.folder.mkdir(parents=True, exist_ok=True)
        stream = open(self.folder / "run.lock", "a+")
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory locks; the existing-run check still applies
            self._stream = stream
            return self
        try:
            fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            stream.close()
            raise CheckpointError(
                f"another pnp train is running in {self.folder} (it holds {self.folder / 'run.lock'}); "
                "wait for it to finish or pick another --out") from None
        stream.seek(0)
        stream.truncate()
        stream.write(f"{os.getpid()}\n")
        stream.flush()
        self._stream = stream
        return self

    def release(self) -> None:
        if self._stream is not None:
            self._stream.close()  # closing drops the lock
            self._stream = None
