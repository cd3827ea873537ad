"""End-to-end tasks behind the CLI: deblurring and denoising one image, and their reports.

- :func:`deblur`, :func:`simulate_blur`, :class:`DeblurOptions`, :class:`Start`, :class:`Restoration`;
- :func:`deblur_by_discrepancy` (the prior chosen per image by the discrepancy principle), :class:`Trial`;
- :func:`denoise`, :func:`simulate_noise`, :class:`Denoising`;
- :mod:`pnp.tasks.report` -- figures and JSON records.
"""

from .deblur import DeblurOptions, Restoration, Start, deblur, simulate_blur
from .denoise import Denoising, denoise, simulate_noise
from .prior_choice import Trial, deblur_by_discrepancy

__all__ = ["DeblurOptions", "Denoising", "Restoration", "Start", "Trial", "deblur", "deblur_by_discrepancy", "denoise",
           "simulate_blur", "simulate_noise"]
