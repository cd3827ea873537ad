"""Shipped denoisers and checkpoints: :func:`load`, :func:`available`, :func:`save_checkpoint`.

Checkpoint format (``.pt``, read with ``torch.load(weights_only=True)``): a dict with

- ``"state_dict"``: the model's tensors (for Euler nets including the power-method vectors and
  the frozen schedules ``norm_upper`` / ``substeps`` / ``step`` of every block);
- ``"metadata"``: a JSON string: ``format`` ("stable-pnp-denoiser"), ``format_version`` (1),
  ``architecture`` ("euler", "dncnn"), ``config`` (constructor arguments), ``certificate`` (the
  proven part of :func:`pnp.denoisers.certify`) and what the caller adds: by convention
  ``noise_level``, ``training_data``, ``steps``, ``device``, ``validation_psnr``.

A sidecar ``<name>.json`` repeats the metadata for people and for :func:`load` by noise level.
Shipped weights live in ``pnp/denoisers/weights/<name>.pt``, named ``<architecture>-sigma<level>``
(e.g. ``euler-sigma0.15``). Loading an Euler checkpoint recomputes the rigorous bound on every
block's ``||W||`` and refuses (:class:`CheckpointError`) a file whose stored step sizes violate
``h ||W||^2 <= 2 (1 - margin)``.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Mapping

import torch
from deepinv.models import Denoiser

from ..io import atomic_write_bytes
from .baselines import TV, DnCNN
from .cards import ModelCard
from .certificate import statement
from .euler import EulerDenoiser
from .flow import ScheduleError
from .multiscale import MultiscaleEulerDenoiser

__all__ = ["CheckpointError", "WEIGHTS_DIR", "available", "cards", "load", "resolve", "save_checkpoint"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FORMAT, FORMAT_VERSION = "stable-pnp-denoiser", 1
ARCHITECTURES: dict[str, type] = {"euler": EulerDenoiser, "euler-ms": MultiscaleEulerDenoiser, "dncnn": DnCNN}
BUILTIN = {"tv": TV}


class CheckpointError(ValueError):
    """A checkpoint (a shipped or saved model, or a training run's state) that cannot be read, saved or
    used; the message names the file, the problem and what to do. One class for both kinds of file."""


def _architecture(model: Denoiser) -> str:
    for name, cls in ARCHITECTURES.items():
        if type(model) is cls:
            return name
    raise CheckpointError(f"cannot save a {type(model).__name__}: supported are {sorted(ARCHITECTURES)}")


def save_checkpoint(model: Denoiser, path: str | Path, metadata: Mapping | None = None) -> Path:
    """Write ``model`` to ``path`` (.pt) and its metadata to ``path`` with suffix .json, atomically.

    Euler nets are frozen first (schedules from the rigorous bound), so the file carries certified
    step sizes. ``metadata`` (JSON-serialisable) is merged over the generated fields; the noise
    level defaults to the model's ``sigma``. Returns the path written.
    """
    path = Path(path)
    if path.suffix != ".pt":
        raise CheckpointError(f"checkpoint path must end in .pt, got {path}")
    architecture = _architecture(model)
    if hasattr(model, "freeze"):
        model.freeze()
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "architecture": architecture,
            "config": model.config(), "noise_level": getattr(model, "sigma", None),
            "certificate": statement(model).summary()}
    meta.update(dict(metadata or {}))
    try:
        text = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"metadata for {path} is not JSON-serialisable: {error}") from None
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save({"metadata": text, "state_dict": state}, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    atomic_write_bytes(path.with_suffix(".json"), (json.dumps(meta, indent=2) + "\n").encode())
    return path


def available() -> list[str]:
    """Names :func:`load` accepts without a path: built-ins (``tv``) and shipped weights."""
    shipped = sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt")) if WEIGHTS_DIR.is_dir() else []
    return sorted([*BUILTIN, *shipped])


def _sidecar_sigma(path: Path) -> float | None:
    try:
        return json.loads(path.with_suffix(".json").read_text()).get("noise_level")
    except (OSError, ValueError):
        return None


def cards() -> dict[str, ModelCard]:
    """The card of every name :func:`available` lists, read from the sidecars (no weights loaded)."""
    out = {}
    for name in available():
        if name in BUILTIN:
            out[name] = ModelCard.from_metadata({"architecture": name, "name": name, "builtin": True})
        else:
            out[name] = ModelCard.from_sidecar(WEIGHTS_DIR / f"{name}.pt")
    return out


def _members(name: str) -> dict[str, float | None]:
    """The shipped weights of family ``name`` with the training noise level their sidecar states."""
    shipped = [n for n in available() if n not in BUILTIN and n.split("-")[0] == name]
    return {n: _sidecar_sigma(WEIGHTS_DIR / f"{n}.pt") for n in shipped}


def family(name: str) -> list[str]:
    """The shipped weights of family ``name`` (``euler``, ``dncnn``) that state their training noise
    level, ordered from the lowest level (the weakest prior) to the highest."""
    levels = {n: level for n, level in _members(name).items() if level}
    return sorted(levels, key=lambda n: float(levels[n] or 0))


def resolve(name: str, sigma: float | None = None, nearest: bool = False) -> Path:
    """Shipped checkpoint for ``name``, without loading it: exact, or a family like ``euler``
    narrowed by ``sigma`` (the training noise level equal to ``sigma``, or with ``nearest`` the
    closest in log scale). Raises :class:`CheckpointError` when none or several match."""
    shipped = [n for n in available() if n not in BUILTIN]
    if name in shipped:
        return WEIGHTS_DIR / f"{name}.pt"
    levels = _members(name)
    family = list(levels)
    if sigma is not None and family:
        if nearest:
            known = {n: level for n, level in levels.items() if level}
            family = [min(known, key=lambda n: abs(math.log(known[n] / sigma)))] if known and sigma > 0 else []
        else:
            family = [n for n in family if _close(levels[n], sigma)]
    if len(family) == 1:
        return WEIGHTS_DIR / f"{family[0]}.pt"
    if not family:
        level = f" for sigma={sigma}" if sigma is not None else ""
        raise CheckpointError(f"no shipped denoiser named {name!r}{level}; available: {available()} "
                              "(or give the path of a .pt checkpoint)")
    raise CheckpointError(f"several shipped denoisers match {name!r}: {family}; pass sigma= or a full name")


def _close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(float(a), float(b), rel_tol=1e-6)


def load(
    name_or_path: str | Path, *, sigma: float | None = None, nearest: bool = False, device: str | torch.device = "cpu"
) -> Denoiser:
    """Load a denoiser by shipped name (see :func:`available`) or from a ``.pt`` checkpoint file.

    Args:
        name_or_path: ``"tv"``, a shipped name (``"euler-sigma0.15"``), a family (``"euler"``,
            with ``sigma`` when several noise levels ship) or a path.
        sigma: noise level used to pick among shipped weights of one family.
        nearest: with ``sigma``, take the family member whose training noise level is closest to
            ``sigma`` (ratio-wise) instead of requiring an exact match.
        device: where to put the model.

    Returns the model in eval mode, with its metadata (and the file it came from, ``"path"``) in
    ``model.metadata`` and typed as ``model.card`` (:class:`~pnp.denoisers.cards.ModelCard`). Raises
    :class:`CheckpointError` for a missing, unreadable or inconsistent file, and for an Euler
    checkpoint whose step sizes violate the certified bound.
    """
    text = str(name_or_path)
    if text in BUILTIN:
        model = BUILTIN[text]().to(device).eval()
        model.metadata = {"architecture": text, "builtin": True, "config": model.config()}
        model.card = ModelCard.from_metadata({**model.metadata, "name": text})
        return model
    path = Path(name_or_path)
    if path.suffix == ".pt" or path.exists():
        if not path.is_file():
            raise CheckpointError(f"checkpoint not found: {path}")
    else:
        path = resolve(text, sigma, nearest)
    meta, state = _read(path)
    model = _build(path, meta).to(device)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not match the stored architecture: {error}") from None
    model.eval()
    if hasattr(model, "adopt_stored"):
        try:
            model.adopt_stored()
        except ScheduleError as error:
            raise CheckpointError(f"{path}: refusing a checkpoint that is not certified averaged: {error}") from None
    model.metadata = {**meta, "path": str(path)}
    model.card = ModelCard.from_metadata(meta, path)
    return model


def _read(path: Path) -> tuple[dict, dict]:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        meta = json.loads(payload["metadata"])
        state = payload["state_dict"]
    except Exception as error:  # noqa: BLE001 - any failure to parse is reported the same way
        raise CheckpointError(f"{path} is not a readable stable-pnp checkpoint ({type(error).__name__}: {error})") from None
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: unknown format {meta.get('format')!r} version {meta.get('format_version')!r}; "
                              f"expected {FORMAT!r} version {FORMAT_VERSION}")
    return meta, state


def _build(path: Path, meta: dict) -> Denoiser:
    cls = ARCHITECTURES.get(str(meta.get("architecture")))
    if cls is None:
        raise CheckpointError(f"{path}: unknown architecture {meta.get('architecture')!r}; known: {sorted(ARCHITECTURES)}")
    try:
        return cls(**meta.get("config", {}))
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: invalid architecture config: {error}") from None
