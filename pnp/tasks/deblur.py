"""Deblurring as a user meets it: an observed image, a kernel, a denoiser -> a restored image.

The model is ``y = k * x + n`` (:class:`pnp.operators.Blur`, reflect boundary by default because
real photographs are not periodic) and the solver PnP proximal gradient
``x_{k+1} = D_θ(x_k − τ Aᵀ(A x_k − y))`` started at ``y``, with ``τ = 1/‖A‖²`` unless given and
``D_θ = (1−θ) I + θ D`` the denoiser at strength θ. With an averaged D the iteration converges.
It starts from a Tikhonov (Wiener-like) deconvolution of ``y`` (:func:`pnp.solvers.tikhonov_estimate`,
a few dozen FFT-cost conjugate-gradient steps), which saves denoiser calls; ``Start.OBSERVED``
starts at ``y`` instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from deepinv.physics import LinearPhysics

from ..choices import PriorBorder, Start
from ..denoisers.adapters import ColourOnGrey, Relaxed, Tiled, receptive_radius
from ..denoisers.borders import TILE, MirrorEmbedded, PeriodicBorder, flip_equivariant
from ..denoisers.baselines import TV
from ..device import Precision, precision
from ..metrics import before_after
from ..operators import Blur, Boundary
from ..solvers import Anderson, Callback, Result, SolverOptions, Stopping, pnp_pgd, tikhonov_estimate
from ..shapes import check_images

__all__ = ["DeblurOptions", "Restoration", "Start", "deblur", "prior_border_for", "prior_noise_level", "simulate_blur",
           "starting_point", "wrapped_prior"]


def prior_noise_level(noise_level: float) -> float:
    """Training noise level wanted of the default deblurring prior for data with ``noise_level``.

    ``pnp deblur --model euler`` (or ``dncnn``) loads the shipped weights of that family trained
    nearest (in ratio) to this level, which is the data's own noise level (floored at 1e-3). The
    rule comes from the sweep over sigma_train in {0.01, 0.02, 0.05} on BSDS500 *train* deblurring
    problems (``benchmarks/prior_sweep.py``, ``benchmarks/results/prior_sweep.md``): at sigma 0.01
    the prior trained at 0.01 was best, at sigma 0.03 the one at 0.02 (at strength 1); no single
    level was best for both.
    """
    return max(float(noise_level), 1e-3)


@dataclass(frozen=True)
class DeblurOptions:
    """Solver settings for :func:`deblur`.

    ``noise_level`` is the standard deviation of the noise in ``y`` (passed to the denoiser as
    sigma); ``strength`` is θ; ``step`` the gradient step (default ``1/‖A‖²``); ``force`` runs a step
    outside the convergent range ``(0, 2/‖A‖²)``; ``accelerate`` uses safeguarded Anderson
    acceleration (same fixed point, several times fewer denoiser calls); ``start`` the initial
    point (:class:`Start`; where the blur has near-null directions, as a reflect boundary with an
    asymmetric kernel has at the image border, the iterates move slowly there and the stopping rule
    stops at a start-dependent point: on a 96x96 crop of ``3096`` with ``motion(31)`` the Tikhonov
    and observed starts stop 13.5/255 apart at the left edge at tolerance 1e-5 and are still 8.3/255
    apart after 3,000 iterations at 1e-7; the fixed points of an averaged map form a closed convex
    set, which need not be one point along such directions: ``tests/test_boundary_band.py``); ``precision``
    the arithmetic of the denoiser (:class:`pnp.device.Precision`; fp32 by default); ``prior_border``
    what the prior sees past the image border (:class:`pnp.choices.PriorBorder`: ``periodic`` and
    ``mirror`` remove the networks' zero-padding bias at the border, which bands the left edge of
    some reflect-boundary restorations; ``periodic`` at no cost, ``mirror`` at 4x per denoiser call,
    1x for a flip-equivariant net; ``auto``, the default, is ``mirror`` where it is free and ``zeros``
    elsewhere: :func:`prior_border_for`).
    """

    boundary: Boundary = Boundary.REFLECT
    noise_level: float = 0.01
    strength: float = 1.0
    step: float | None = None
    stopping: Stopping = field(default_factory=lambda: Stopping(max_iter=500, tol=1e-5))
    force: bool = False
    accelerate: bool = True
    start: Start = Start.TIKHONOV
    precision: Precision = Precision.FP32
    prior_border: PriorBorder = PriorBorder.AUTO

    def __post_init__(self) -> None:
        if not self.noise_level >= 0:
            raise ValueError(f"noise level must be >= 0, got {self.noise_level}")
        if not 0 < self.strength <= 1:
            raise ValueError(f"strength must lie in (0, 1], got {self.strength}")

    @property
    def solver_options(self) -> SolverOptions:
        """The settings :func:`pnp.solvers.pnp_pgd` shares with every solver."""
        return SolverOptions(self.stopping, step=self.step, force=self.force)


@dataclass
class Restoration:
    """A finished restoration; ``metrics()`` needs the sharp ``reference``."""

    observed: torch.Tensor
    restored: torch.Tensor
    kernel: torch.Tensor
    result: Result
    seconds: float
    reference: torch.Tensor | None = None

    def metrics(self) -> dict[str, float]:
        """PSNR/SSIM (peak 1) of the observed input and of the result, against the reference."""
        if self.reference is None:
            return {}
        return before_after(self.observed, self.restored, self.reference)


def starting_point(physics: LinearPhysics, observed: torch.Tensor, noise_level: float, start: Start) -> torch.Tensor:
    """PnP's ``x_0``: the Tikhonov estimate of ``observed`` clipped to [0, 1], or ``observed`` itself."""
    if Start(start) is Start.TIKHONOV:
        return tikhonov_estimate(physics, observed, sigma=noise_level).clamp(0, 1)
    return observed


def simulate_blur(
    sharp: torch.Tensor, kernel: torch.Tensor, *, boundary: Boundary, noise_level: float, seed: int = 0
) -> torch.Tensor:
    """``k * x + n`` with ``n ~ N(0, noise_level²)`` drawn from ``torch.Generator().manual_seed(seed)``."""
    physics = Blur(kernel, boundary=boundary)
    noise = torch.randn(sharp.shape, generator=torch.Generator().manual_seed(seed), dtype=sharp.dtype)
    return physics.A(sharp) + noise_level * noise.to(sharp.device)


def _check_image(image: torch.Tensor, name: str) -> None:
    check_images(image, name, channels=(1, 3), single=True, finite=True)


def _bounded_memory(prior: torch.nn.Module, image: torch.Tensor) -> torch.nn.Module:
    """Large images are denoised in ``TILE``-pixel tiles (exactly the same result, bounded memory)."""
    if max(image.shape[-2:]) <= TILE:
        return prior
    try:
        return Tiled(prior, tile=TILE, overlap=receptive_radius(prior))
    except ValueError:  # a non-local denoiser (TV): no tiling
        return prior


def prior_border_for(denoiser: torch.nn.Module, border: PriorBorder | str) -> PriorBorder:
    """The border ``auto`` stands for with ``denoiser``: ``mirror`` for a flip-equivariant net (it then
    costs one call and removes the zero-padding bias), ``zeros`` for any other; others as given."""
    border = PriorBorder(border)
    if border is not PriorBorder.AUTO:
        return border
    return PriorBorder.MIRROR if flip_equivariant(denoiser) else PriorBorder.ZEROS


def wrapped_prior(denoiser: torch.nn.Module, options: DeblurOptions, observed: torch.Tensor) -> torch.nn.Module:
    """The map :func:`deblur` uses as its prior: ``denoiser`` (TV warm-started) with the border of
    ``options.prior_border`` (:mod:`pnp.denoisers.borders`), through :class:`ColourOnGrey`, tiled for
    large images, relaxed to θ; each wrapper states the α it keeps, so ``certify`` of the result
    states the prior's constant."""
    if isinstance(denoiser, TV):  # warm-started inner solves: the same prox, several times faster
        denoiser = denoiser.warm_started()
    border = prior_border_for(denoiser, options.prior_border)
    if border is PriorBorder.ZEROS:
        prior = _bounded_memory(ColourOnGrey(denoiser), observed)
    else:  # the border wrappers tile large images themselves (the same map as on the whole image)
        wrapper = PeriodicBorder if border is PriorBorder.PERIODIC else MirrorEmbedded
        prior = ColourOnGrey(wrapper(denoiser, tile=TILE))
    if options.strength != 1.0:
        prior = Relaxed(prior, options.strength)
    return prior


def deblur(
    observed: torch.Tensor,
    kernel: torch.Tensor,
    denoiser: torch.nn.Module,
    options: DeblurOptions = DeblurOptions(),
    *,
    reference: torch.Tensor | None = None,
    callback: Callback | None = None,
    x0: torch.Tensor | None = None,
) -> Restoration:
    """Restore ``observed`` (1, C, H, W), blurred by ``kernel``, with PnP-PGD and ``denoiser``.

    Runs on the device of ``observed`` (move the denoiser there first). Grey images use a colour
    denoiser through :class:`ColourOnGrey` (averagedness kept). ``reference`` (the sharp image,
    when known) adds PSNR/SSIM to the history and to :meth:`Restoration.metrics`. ``x0``, when
    given, is the starting point instead of ``options.start`` (a warm start, e.g. an earlier solve
    of the same problem stopped at a looser tolerance; the iteration converges from any start).
    """
    _check_image(observed, "the observed image")
    if x0 is not None and (x0.shape != observed.shape or not bool(torch.isfinite(x0).all())):
        raise ValueError(f"x0 must be a finite image of the observed image's shape {tuple(observed.shape)}, "
                         f"got {tuple(x0.shape)}")
    if reference is not None and reference.shape != observed.shape:
        raise ValueError(f"reference has shape {tuple(reference.shape)}, expected {tuple(observed.shape)}")
    physics = Blur(kernel, boundary=options.boundary).to(observed.device)
    prior = wrapped_prior(denoiser, options, observed)
    start = time.perf_counter()
    with torch.inference_mode(), precision(options.precision, observed.device):
        if x0 is None:
            x0 = starting_point(physics, observed, options.noise_level, options.start)
        result = pnp_pgd(
            physics, observed, prior, sigma=options.noise_level, x0=x0, reference=reference, callback=callback,
            acceleration=Anderson() if options.accelerate else None, options=options.solver_options,
        )
    seconds = time.perf_counter() - start
    return Restoration(observed, result.x.clamp(0, 1), kernel, result, seconds, reference)
