"""What the training loop needs to know about each architecture, one small class per family.

A family builds the network from a :class:`ModelConfig`, restores its invariants after every
optimiser step, reports a few numbers for the log, and exports the trained network as a zoo
checkpoint (weights + JSON metadata, with the certificate where the family has one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch

from .config import ModelConfig

__all__ = ["ModelFamily", "family_for"]


class ModelFamily(Protocol):
    def build(self, config: ModelConfig) -> torch.nn.Module: ...

    def after_step(self, model: torch.nn.Module) -> None: ...

    def diagnostics(self, model: torch.nn.Module) -> dict: ...

    def export(self, model: torch.nn.Module, path: Path, metadata: dict) -> dict: ...


class EulerFamily:
    """Averaged Euler-block nets.

    In training mode every block runs one warm-started power iteration on its ``W`` inside each
    forward pass (so the step rule is checked against the weights of that very step) and keeps
    the vector as a buffer; nothing is left to do after the optimiser step. Export freezes the
    sub-step schedules from the rigorous norm bound and stores the certificate.
    """

    def build(self, config: ModelConfig) -> torch.nn.Module:
        from ..denoisers.euler import EulerDenoiser

        return EulerDenoiser(in_channels=config.in_channels, channels=config.channels, blocks=config.blocks)

    def after_step(self, model: torch.nn.Module) -> None:
        return None

    def diagnostics(self, model: torch.nn.Module) -> dict:
        estimates = [float(block.norm_estimate) for block in model.blocks]
        return {"max_norm_estimate": max(estimates), "mean_norm_estimate": sum(estimates) / len(estimates)}

    def export(self, model: torch.nn.Module, path: Path, metadata: dict) -> dict:
        model.sigma = metadata["noise_level"]
        return _export(model, path, metadata)


class DnCNNFamily:
    """deepinv's DnCNN (residual, no batch norm): nothing to maintain between steps.

    Trained as deepinv's module itself; exported as :class:`pnp.denoisers.DnCNN`, which wraps it.
    """

    def build(self, config: ModelConfig) -> torch.nn.Module:
        from deepinv.models import DnCNN

        return DnCNN(in_channels=config.in_channels, out_channels=config.in_channels, depth=config.blocks,
                     nf=config.channels, pretrained=None)

    def after_step(self, model: torch.nn.Module) -> None:
        return None

    def diagnostics(self, model: torch.nn.Module) -> dict:
        return {}

    def export(self, model: torch.nn.Module, path: Path, metadata: dict) -> dict:
        from ..denoisers import DnCNN

        architecture = metadata["architecture"]
        wrapper = DnCNN(in_channels=architecture["in_channels"], depth=architecture["blocks"],
                        features=architecture["channels"], sigma=metadata["noise_level"])
        wrapper.net.load_state_dict(model.state_dict())
        return _export(wrapper, path, metadata)


def _export(model: torch.nn.Module, path: Path, metadata: dict) -> dict:
    """Save as a zoo checkpoint (``path`` + ``.json`` sidecar); returns the metadata written."""
    import json

    from ..denoisers import save_checkpoint

    extra = {key: value for key, value in metadata.items() if key != "architecture"}
    extra["training_architecture"] = metadata["architecture"]
    save_checkpoint(model.cpu().eval(), path, extra)
    return json.loads(path.with_suffix(".json").read_text())


_FAMILIES: dict[str, ModelFamily] = {"euler": EulerFamily(), "dncnn": DnCNNFamily()}


def family_for(name: str) -> ModelFamily:
    if name not in _FAMILIES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(_FAMILIES)}")
    return _FAMILIES[name]
