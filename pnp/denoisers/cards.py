"""Model cards: what is known about a denoiser's weights, typed.

A card is read from a checkpoint's metadata (the ``.json`` sidecar repeats it) by
:func:`pnp.denoisers.load`, which attaches it as ``model.card``; :func:`cards` lists those of the
shipped weights without loading them. Code that needs a fact about a model (its file, noise level,
lineage) asks the card, never the zoo's folder layout or a free-form dict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

__all__ = ["ModelCard", "card_of"]


@dataclass(frozen=True)
class ModelCard:
    """One denoiser's card.

    Attributes:
        name: the shipped name or the file's stem (``euler-sigma0.01``), or the class name.
        architecture: ``euler``, ``euler-ms``, ``dncnn``, ``tv`` ...
        noise_level: the training noise level, None for built-ins that take any.
        path: the checkpoint file, None for built-ins and models built in code.
        builtin: True for parameter-free built-ins (TV).
        config: the constructor arguments.
        certificate: the proven part of ``certify`` stored at export (None when not stored).
        validation_psnr: the training run's validation PSNR (dB), when recorded.
        training_data: what it was trained on.
        lineage: one line: when, on what machine, how long and from what it was trained.
        metadata: the whole stored record (for tools that rewrite cards).
    """

    name: str
    architecture: str
    noise_level: float | None = None
    path: Path | None = None
    builtin: bool = False
    config: dict = field(default_factory=dict)
    certificate: dict | None = None
    validation_psnr: float | None = None
    training_data: str | None = None
    lineage: str = ""
    metadata: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any], path: Path | None = None) -> "ModelCard":
        meta = dict(metadata)
        name = str(meta.get("name") or (path.stem if path is not None else meta.get("architecture", "?")))
        return cls(name=name, architecture=str(meta.get("architecture", "?")), noise_level=meta.get("noise_level"),
                   path=path, builtin=bool(meta.get("builtin", False)), config=dict(meta.get("config") or {}),
                   certificate=meta.get("certificate"), validation_psnr=meta.get("validation_psnr"),
                   training_data=meta.get("training_data"), lineage=_lineage(meta), metadata=meta)

    @classmethod
    def from_sidecar(cls, checkpoint: Path) -> "ModelCard":
        """The card of ``checkpoint`` from its ``.json`` sidecar (no weights are read)."""
        sidecar = checkpoint.with_suffix(".json")
        meta = json.loads(sidecar.read_text()) if sidecar.is_file() else {"architecture": "?"}
        return cls.from_metadata(meta, checkpoint)

    @property
    def size_bytes(self) -> int | None:
        return self.path.stat().st_size if self.path is not None and self.path.is_file() else None

    def to_dict(self) -> dict:
        """The stored record plus the derived fields (JSON-ready)."""
        return {**self.metadata, "name": self.name, "architecture": self.architecture,
                "path": None if self.path is None else str(self.path), "lineage": self.lineage}


def _lineage(meta: Mapping[str, Any]) -> str:
    """"trained 2026-11-23 on <hardware>, 1500 steps in 1777 s, warm-started from X" from what is stored."""
    if meta.get("builtin"):
        return "no training (parameters tuned per noise level)"
    parts = []
    if meta.get("date") or meta.get("hardware"):
        parts.append(" ".join(p for p in ("trained", meta.get("date") and str(meta["date"]),
                                          meta.get("hardware") and f"on {meta['hardware']}") if p))
    if meta.get("steps"):
        seconds = meta.get("seconds")
        parts.append(f"{meta['steps']} steps" + (f" in {float(seconds) / 60:.0f} min" if seconds else ""))
    if meta.get("init"):
        parts.append(f"warm-started from {meta['init']}")
    if meta.get("lineage_note"):
        parts.append(str(meta["lineage_note"]))
    return "; ".join(parts) or "not recorded"


def card_of(model: torch.nn.Module) -> ModelCard:
    """``model.card`` when it was loaded by :func:`pnp.denoisers.load`, else a card naming its class."""
    card = getattr(model, "card", None)
    if isinstance(card, ModelCard):
        return card
    inner = getattr(model, "denoiser", None)
    if isinstance(inner, torch.nn.Module) and inner is not model:
        return card_of(inner)
    make_config = getattr(model, "config", None)
    config = make_config() if callable(make_config) else {}
    return ModelCard(name=type(model).__name__, architecture=type(model).__name__,
                     noise_level=getattr(model, "sigma", None), config=config)
