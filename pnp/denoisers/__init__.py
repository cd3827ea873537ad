"""Denoisers: every one is a :class:`deepinv.models.Denoiser` called as ``D(x, sigma)``.

- :class:`EulerDenoiser` -- averaged by construction: zero-channel lift, explicit-Euler blocks of
  convex gradient flows ``dz/dt = -W^T s(Wz + b)`` with certified step sizes, projection;
  options in :class:`FlowConfig` (:class:`StepRule`, :class:`Integrator`, :class:`Activation`,
  :class:`Symmetry`: flip-equivariant blocks, which see the mirror past the border at no extra cost).
- :class:`MultiscaleEulerDenoiser` -- the same blocks at full, 1/2, 1/4 ... resolution between
  orthonormal Haar transforms; its α is computed from its parts (:mod:`pnp.denoisers.parts`:
  :class:`AveragedMap`, :class:`Chain`, :class:`HaarCoarse`).
- :class:`DnCNN`, :class:`TV` -- baselines with the same interface.
- :class:`GaussianSmoother` -- linear periodic smoothing, firmly non-expansive (1/2-averaged).
- :func:`certify` -- proven averagedness (rigorous ``||W||`` bounds, Combettes-Yamada
  composition) plus empirical checks, as a :class:`Certificate`.
- :func:`load`, :func:`available`, :func:`save_checkpoint` -- the zoo of shipped weights.
- :mod:`pnp.denoisers.spectral` -- norms of convolution operators (power method, rigorous bound).
"""

from .averaged import Averagedness, BlockCertificate, compose_alpha, compose_pair
from .baselines import TV, DnCNN, tv_weight_table
from .certificate import (
    Certificate,
    EmpiricalChecks,
    RepeatedApplication,
    certify,
    default_images,
    jacobian_norm,
    repeated_application,
)
from .euler import EulerDenoiser
from .flow import Activation, BlockSchedule, EulerBlock, FlowConfig, Integrator, ScheduleError, StepRule, Symmetry
from .multiscale import MultiscaleEulerDenoiser
from .parts import AveragedMap, Chain, HaarCoarse, compose
from .smoothing import GaussianSmoother
from .spectral import SpectralBound, grid_norm, power_norm, spectral_norm_bound, triangle_bound
from .zoo import CheckpointError, available, family, load, resolve, save_checkpoint

__all__ = [
    "Activation",
    "AveragedMap",
    "Averagedness",
    "BlockCertificate",
    "BlockSchedule",
    "Certificate",
    "Chain",
    "CheckpointError",
    "DnCNN",
    "EmpiricalChecks",
    "EulerBlock",
    "EulerDenoiser",
    "FlowConfig",
    "GaussianSmoother",
    "HaarCoarse",
    "Integrator",
    "MultiscaleEulerDenoiser",
    "RepeatedApplication",
    "ScheduleError",
    "SpectralBound",
    "StepRule",
    "Symmetry",
    "TV",
    "available",
    "certify",
    "compose",
    "compose_alpha",
    "compose_pair",
    "default_images",
    "family",
    "grid_norm",
    "jacobian_norm",
    "load",
    "power_norm",
    "repeated_application",
    "resolve",
    "save_checkpoint",
    "spectral_norm_bound",
    "triangle_bound",
    "tv_weight_table",
]
