"""Choose the deblurring prior per image by Morozov's discrepancy principle.

The prior trained nearest the data's noise level σ (``pnp deblur``'s default) suits textured
images; on flat ones (sky) it is far too weak, and the fixed point keeps the grain the
deconvolution amplifies. The discrepancy principle chooses a regularisation per problem without a
parameter to tune: of the fixed points ``x_p`` of priors ``p`` ordered from weakest to strongest,
take the strongest whose residual stays within the noise,

    ‖A x_p − y‖ ≤ σ √N            (N: the number of values in y),

and the weakest when none does. Each candidate is certified on its own and each solve converges
on its own, so choosing among the fixed points keeps the guarantee; the price is solves: the search
starts at the nearest-level prior and walks towards stronger priors while the residual allows, or
towards weaker ones until it does (typically two solves).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from deepinv.physics import LinearPhysics

from ..operators import Blur
from .deblur import DeblurOptions, Restoration, deblur


@dataclass(frozen=True)
class Trial:
    """One candidate prior solved: its name, ``‖A x − y‖ / (σ √N)`` at its fixed point, and the solve
    (iterations, convergence, seconds)."""

    name: str
    discrepancy_ratio: float
    iterations: int
    converged: bool
    seconds: float


def family_from_nearest(name: str, noise_level: float) -> tuple[list[str], int]:
    """The shipped levels of family ``name`` (weakest first, :func:`pnp.denoisers.family`) and the
    index of the one ``pnp deblur`` takes by default at ``noise_level``, where the search starts."""
    from ..denoisers import family, resolve
    from .deblur import prior_noise_level

    names = family(name)
    return names, names.index(resolve(name, prior_noise_level(noise_level), nearest=True).stem)


def discrepancy_ratio(physics: LinearPhysics, observed: torch.Tensor, restored: torch.Tensor, noise_level: float) -> float:
    """``‖A x − y‖ / (σ √N)`` (1: the residual is exactly at the noise level σ)."""
    with torch.inference_mode():
        residual = (physics.A(restored) - observed).pow(2).mean().sqrt()
    return float(residual) / noise_level


def deblur_by_discrepancy(
    observed: torch.Tensor,
    kernel: torch.Tensor,
    priors: Sequence[tuple[str, torch.nn.Module]],
    options: DeblurOptions,
    *,
    first: int,
    limit: float = 1.0,
    reference: torch.Tensor | None = None,
    callback_for: Callable[[str], Callable | None] | None = None,
) -> tuple[Restoration, str, list[Trial]]:
    """Deblur with the prior the discrepancy principle picks among ``priors``.

    ``priors``: ``(name, denoiser)`` pairs ordered from weakest to strongest (for per-level nets:
    by training noise level); ``first``: the index to start from (the nearest-level prior);
    ``limit``: the accepted ``‖A x − y‖ / (σ √N)`` (1 is Morozov's choice). ``callback_for(name)``
    gives the iteration callback of that candidate's solve. Returns the chosen restoration, its
    prior's name and every trial in the order solved. Needs ``options.noise_level > 0``.
    """
    if not options.noise_level > 0:
        raise ValueError("the discrepancy principle needs a positive noise level (the residual is compared with it)")
    if not 0 <= first < len(priors):
        raise ValueError(f"first must index one of the {len(priors)} priors, got {first}")
    if not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"limit must be a positive number, got {limit}")
    physics = Blur(kernel, boundary=options.boundary).to(observed.device)
    solved: dict[int, Restoration] = {}
    trials: list[Trial] = []

    def accepted(index: int) -> bool:
        name, denoiser = priors[index]
        callback = callback_for(name) if callback_for is not None else None
        restoration = deblur(observed, kernel, denoiser, options, reference=reference, callback=callback)
        solved[index] = restoration
        ratio = discrepancy_ratio(physics, observed, restoration.restored, options.noise_level)
        trials.append(Trial(name, ratio, restoration.result.iterations[0], restoration.result.converged,
                            restoration.seconds))
        return ratio <= limit

    chosen = first
    if accepted(first):
        while chosen + 1 < len(priors) and accepted(chosen + 1):
            chosen += 1
    else:
        while chosen > 0:
            chosen -= 1
            if accepted(chosen):
                break
    return solved[chosen], priors[chosen][0], trials
