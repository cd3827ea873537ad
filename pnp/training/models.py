"""What the training loop needs to know about each architecture, one small class per family.

A family builds the network from a :class:`ModelConfig`, reports a few numbers for the log, and
:func:`export_model` writes the trained network as a zoo checkpoint (weights + JSON metadata, with
the certificate where the architecture has one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch

from .config import ModelConfig

__all__ = ["ModelFamily", "export_model", "family_for"]


class ModelFamily(Protocol):
    def build(self, config: ModelConfig) -> torch.nn.Module: ...

    def diagnostics(self, model: torch.nn.Module) -> dict: ...



class EulerFamily:
    """Averaged Euler-block nets.

    In training mode every block runs one warm-started power iteration on its ``W`` inside each
    forward pass (so the step rule is checked against the weights of that very step) and keeps
    the vector as a buffer; nothing is left to do after the optimiser step.
    """

    def build(self, config: ModelConfig) -> torch.nn.Module:
        from ..denoisers import EulerDenoiser, FlowConfig, MultiscaleEulerDenoiser, Symmetry

        flow = FlowConfig(time=config.flow_time, max_substeps=config.max_substeps, symmetry=Symmetry(config.symmetry))
        if config.scales is not None or config.hidden is not None or config.noise_channel or config.dilations:
            return MultiscaleEulerDenoiser(in_channels=config.in_channels, channels=config.channels,
                                           scales=config.scales or (config.blocks,), hidden=config.hidden, flow=flow,
                                           noise_channel=config.noise_channel, dilations=config.dilations)
        return EulerDenoiser(in_channels=config.in_channels, channels=config.channels, blocks=config.blocks, flow=flow)

    def diagnostics(self, model: torch.nn.Module) -> dict:
        from ..denoisers import EulerDenoiser, MultiscaleEulerDenoiser

        if not isinstance(model, (EulerDenoiser, MultiscaleEulerDenoiser)):
            raise TypeError(f"expected an Euler net, got {type(model).__name__}")
        estimates = [float(block.norm_estimate) for block in model.euler_blocks]
        return {"max_norm_estimate": max(estimates), "mean_norm_estimate": sum(estimates) / len(estimates)}


class DnCNNFamily:
    """deepinv's DnCNN (residual, no batch norm), as :class:`pnp.denoisers.DnCNN`; no certificate."""

    def build(self, config: ModelConfig) -> torch.nn.Module:
        from ..denoisers import DnCNN

        return DnCNN(in_channels=config.in_channels, depth=config.blocks, features=config.channels)

    def diagnostics(self, model: torch.nn.Module) -> dict:
        return {}


def export_model(model: torch.nn.Module, path: Path, metadata: dict) -> dict:
    """Save as a zoo checkpoint (``path`` + ``.json`` sidecar); returns the metadata written.

    Euler nets are frozen from the rigorous norm bound by ``save_checkpoint``, so the file carries
    the certificate.
    """
    import json

    from ..denoisers import save_checkpoint

    model.sigma = metadata["noise_level"]
    extra = {key: value for key, value in metadata.items() if key != "architecture"}
    extra["training_architecture"] = metadata["architecture"]
    save_checkpoint(model.cpu().eval(), path, extra)
    return json.loads(path.with_suffix(".json").read_text())


_FAMILIES: dict[str, ModelFamily] = {"euler": EulerFamily(), "dncnn": DnCNNFamily()}


def family_for(name: str) -> ModelFamily:
    if name not in _FAMILIES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(_FAMILIES)}")
    return _FAMILIES[name]
