"""Training options, grouped in frozen dataclasses (what to train, on what, for how long)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import torch

__all__ = ["ModelConfig", "NoiseRange", "TrainConfig", "quick"]


@dataclass(frozen=True)
class NoiseRange:
    """Gaussian noise level per patch: ``low`` when ``high`` is None, else drawn in [low, high],
    uniformly, or with ``log_uniform`` uniformly in log σ (as many patches at 0.005-0.01 as at 0.1-0.2)."""

    low: float = 0.15
    high: float | None = None
    log_uniform: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and self.low >= 0):
            raise ValueError(f"noise level must be >= 0, got {self.low}")
        if self.high is not None and not (math.isfinite(self.high) and self.high >= self.low):
            raise ValueError(f"noise range needs high >= low, got [{self.low}, {self.high}]")
        if self.log_uniform and (self.high is None or self.low <= 0):
            raise ValueError(f"a log-uniform noise range needs 0 < low <= high, got [{self.low}, {self.high}]")

    @property
    def nominal(self) -> float:
        """The level the model is named and validated at (the middle of a range)."""
        if self.high is None:
            return self.low
        return math.sqrt(self.low * self.high) if self.log_uniform else (self.low + self.high) / 2

    def draw(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """``count`` noise levels as (count, 1, 1, 1) (the generator is used only for a range)."""
        if self.high is None:
            return torch.full((count, 1, 1, 1), self.low)
        u = torch.rand((count, 1, 1, 1), generator=generator)
        if self.log_uniform:
            return torch.exp(math.log(self.low) + (math.log(self.high) - math.log(self.low)) * u)
        return self.low + (self.high - self.low) * u


@dataclass(frozen=True)
class ModelConfig:
    """Architecture: ``name`` in {"euler", "dncnn"}; ``channels`` and ``blocks`` (Euler blocks, or
    DnCNN depth); ``in_channels`` 3 (colour) or 1 (grayscale). Euler only: ``flow_time`` T per block
    and ``max_substeps`` (a cap on the sub-steps per block, which bounds the cost of one call; at the
    cap a block integrates for less than T and stays certified), see :class:`pnp.denoisers.FlowConfig`.
    Multi-scale Euler only: ``scales`` blocks per resolution level, finest first (replaces ``blocks``),
    and ``hidden`` output channels of every ``W``; ``noise_channel`` conditions the net on the noise
    level (train it on a range, ``NoiseRange(low, high)``; see :class:`pnp.denoisers.MultiscaleEulerDenoiser`).
    Euler only: ``symmetry`` "none", "flips" or "flip-orbits" (flip-equivariant blocks,
    :class:`pnp.denoisers.Symmetry`; the hidden width, ``hidden`` or ``channels``, must then be a multiple of 4);
    ``dilations`` the dilation of each block's ``W``, cycled over the blocks in the order they run (implies
    the multi-scale class, as ``hidden`` does)."""

    name: str = "euler"
    channels: int = 64
    blocks: int = 10
    in_channels: int = 3
    flow_time: float = 1.0
    max_substeps: int | None = None
    scales: tuple[int, ...] | None = None
    hidden: int | None = None
    noise_channel: bool = False
    symmetry: str = "none"
    dilations: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.dilations is not None:
            object.__setattr__(self, "dilations", tuple(self.dilations))
            if (self.name != "euler" or not self.dilations
                    or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in self.dilations)):
                raise ValueError(f"dilations (Euler only) must be positive integers, e.g. 1,2,4; got {self.dilations!r}")
        if self.scales is not None:
            object.__setattr__(self, "scales", tuple(self.scales))
            if self.name != "euler" or not self.scales or any(not isinstance(n, int) or n < 1 for n in self.scales):
                raise ValueError(f"scales (Euler only) must be positive block counts, got {self.scales!r}")
        if self.noise_channel and self.name != "euler":
            raise ValueError("noise-channel (one Euler net for every noise level) is for Euler nets only")
        if self.hidden is not None and (self.name != "euler" or not isinstance(self.hidden, int) or self.hidden < 1):
            raise ValueError(f"hidden (Euler only) must be a positive integer, got {self.hidden!r}")
        if self.name not in ("euler", "dncnn"):
            raise ValueError(f"unknown model {self.name!r}; choose euler or dncnn")
        if self.in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3, got {self.in_channels}")
        if self.channels < self.in_channels or self.blocks < 1:
            raise ValueError(
                f"need channels >= in_channels and blocks >= 1, got channels={self.channels}, blocks={self.blocks}"
            )
        if not (math.isfinite(self.flow_time) and self.flow_time > 0):
            raise ValueError(f"flow-time must be a positive number, got {self.flow_time}")
        if self.max_substeps is not None and (not isinstance(self.max_substeps, int) or self.max_substeps < 1):
            raise ValueError(f"max-substeps must be a positive integer, got {self.max_substeps!r}")
        if self.symmetry not in ("none", "flips", "flip-orbits") or (self.symmetry != "none" and self.name != "euler"):
            raise ValueError(f"symmetry (Euler only) must be none, flips or flip-orbits, got {self.symmetry!r}")
        if self.symmetry != "none" and (self.hidden or self.channels) % 4:
            raise ValueError(f"symmetry {self.symmetry} needs a hidden width divisible by 4 (the four flips of each "
                             f"base kernel), got {self.hidden or self.channels}: change --hidden or --channels")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (and so goes into its checkpoints).

    ``steps`` optimiser steps of Adam (``lr``, cosine decay to ``lr * final_lr_fraction``) on batches
    of ``batch_size`` random ``patch`` x ``patch`` crops; validation PSNR on ``val_images`` full-size
    validation images every ``val_every`` steps; a checkpoint every ``checkpoint_every`` steps.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    noise: NoiseRange = field(default_factory=NoiseRange)
    steps: int = 20_000
    batch_size: int = 16
    patch: int = 64
    lr: float = 1e-3
    final_lr_fraction: float = 0.01
    weight_decay: float = 0.0
    val_every: int = 1000
    val_images: int = 100
    checkpoint_every: int = 500
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    init: str | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "patch", "val_every", "checkpoint_every", "val_images"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        data = dict(data)
        data["model"] = ModelConfig(**data["model"])
        data["noise"] = NoiseRange(**data["noise"])
        return cls(**data)


def quick(config: TrainConfig) -> TrainConfig:
    """The ``--quick`` preset: a tiny model and run that finishes on 2 CPU cores in about a minute."""
    return replace(
        config,
        model=replace(config.model, channels=8, blocks=2),
        steps=60, batch_size=4, patch=32, val_every=30, val_images=2, checkpoint_every=20,
    )
