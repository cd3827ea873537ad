"""Denoiser training on BSDS500 (or any folders of images): data, loop, checkpoints.

- :func:`find_bsds500`, :class:`Splits`, :class:`ImageBank`, :class:`PatchSampler` -- the data;
- :class:`TrainConfig`, :class:`ModelConfig`, :class:`NoiseRange`, :func:`quick` -- the options;
- :func:`train` -- the loop (single process, or data-parallel under ``torchrun``).
"""

from .checkpoint import CheckpointError
from .config import ModelConfig, NoiseRange, TrainConfig, quick
from .data import DataError, ImageBank, PatchSampler, Splits, find_bsds500
from .loop import TrainSummary, export_best, read_log, train, validate

__all__ = [
    "CheckpointError",
    "DataError",
    "ImageBank",
    "ModelConfig",
    "NoiseRange",
    "PatchSampler",
    "Splits",
    "TrainConfig",
    "TrainSummary",
    "export_best",
    "find_bsds500",
    "quick",
    "read_log",
    "train",
    "validate",
]
