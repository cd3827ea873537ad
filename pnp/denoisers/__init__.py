"""Denoisers: every one is a :class:`deepinv.models.Denoiser` called as ``D(x, sigma)``.

- :class:`GaussianSmoother` -- linear periodic smoothing, firmly non-expansive (1/2-averaged).
"""

from .smoothing import GaussianSmoother

__all__ = ["GaussianSmoother"]
