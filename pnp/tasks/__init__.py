"""End-to-end tasks behind the CLI: deblurring and denoising one image, and their reports.

- :func:`deblur`, :func:`simulate_blur`, :class:`DeblurOptions`, :class:`Start`, :class:`Restoration`;
- :func:`denoise`, :func:`simulate_noise`, :class:`Denoising`;
- :mod:`pnp.tasks.report` -- figures and JSON records.
"""

from .deblur import DeblurOptions, Restoration, Start, deblur, simulate_blur
from .denoise import Denoising, denoise, simulate_noise

__all__ = ["DeblurOptions", "Denoising", "Restoration", "Start", "deblur", "denoise", "simulate_blur", "simulate_noise"]
