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
towards weaker ones until it does (typically two or three solves).

The search solves its trials to a looser tolerance (10x the final one by default) and then
continues the chosen prior's trial to the final tolerance (a warm start from an iterate close to
its fixed point): on 8 BSDS500 train problems the ratios moved by at most 1.8e-3 between the two
tolerances, the choice was the same in all 8, the PSNR within 0.005 dB, and the search took 28 %
fewer iterations than with every trial solved fully (``benchmarks/discrepancy_search.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch
from deepinv.physics import LinearPhysics

from ..operators import Blur
from .deblur import DeblurOptions, Restoration, deblur


@dataclass(frozen=True)
class Trial:
    """One solve of the search: the prior's name, ``‖A x − y‖ / (σ √N)`` where it stopped, the solve
    (iterations, convergence, seconds) and the relative-residual tolerance it was run to; ``final``
    marks the chosen prior's continuation to the final tolerance (no decision is taken on it)."""

    name: str
    discrepancy_ratio: float
    iterations: int
    converged: bool
    seconds: float
    tolerance: float
    final: bool = False


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
    search_tolerance: float | None = None,
    warm_start: bool = False,
) -> tuple[Restoration, str, list[Trial]]:
    """Deblur with the prior the discrepancy principle picks among ``priors``.

    ``priors``: ``(name, denoiser)`` pairs ordered from weakest to strongest (for per-level nets:
    by training noise level); ``first``: the index to start from (the nearest-level prior);
    ``limit``: the accepted ``‖A x − y‖ / (σ √N)`` (1 is Morozov's choice). ``callback_for(name)``
    gives the iteration callback of each of that candidate's solves. ``search_tolerance``: the
    relative-residual tolerance of the search's trials, at least ``options.stopping.tol`` (default
    10 times it); the chosen trial is then continued to ``options.stopping.tol`` (passing that
    tolerance itself solves every trial fully, with no continuation). Returns the chosen restoration,
    its prior's name and every solve in order (the search's trials, then the continuation, marked
    ``final``). ``warm_start`` starts each trial after the first from where the previous trial
    stopped instead of at ``options.start`` (each trial still converges to its own prior's fixed
    point from any start, so the guarantee is unchanged). Needs ``options.noise_level > 0``.
    """
    if not options.noise_level > 0:
        raise ValueError("the discrepancy principle needs a positive noise level (the residual is compared with it)")
    if not 0 <= first < len(priors):
        raise ValueError(f"first must index one of the {len(priors)} priors, got {first}")
    if not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"limit must be a positive number, got {limit}")
    final_tolerance = options.stopping.tol
    tolerance = 10 * final_tolerance if search_tolerance is None else search_tolerance
    if not (math.isfinite(tolerance) and tolerance >= final_tolerance):
        raise ValueError(f"search_tolerance must be a number >= the final tolerance {final_tolerance:g}, got {tolerance}")
    search = replace(options, stopping=replace(options.stopping, tol=tolerance))
    physics = Blur(kernel, boundary=options.boundary).to(observed.device)
    solved: dict[int, Restoration] = {}
    trials: list[Trial] = []

    def solve(index: int, settings: DeblurOptions, x0: torch.Tensor | None = None, final: bool = False) -> Restoration:
        name, denoiser = priors[index]
        callback = callback_for(name) if callback_for is not None else None
        restoration = deblur(observed, kernel, denoiser, settings, reference=reference, callback=callback, x0=x0)
        ratio = discrepancy_ratio(physics, observed, restoration.restored, options.noise_level)
        trials.append(Trial(name, ratio, restoration.result.iterations[0], restoration.result.converged,
                            restoration.seconds, settings.stopping.tol, final=final))
        return restoration

    def accepted(index: int) -> bool:
        latest = next(reversed(solved), None)  # each prior is tried once, so the latest trial is the last key
        previous = solved[latest].result.x if warm_start and latest is not None else None
        solved[index] = solve(index, search, x0=previous)
        return trials[-1].discrepancy_ratio <= limit

    chosen = first
    if accepted(first):
        while chosen + 1 < len(priors) and accepted(chosen + 1):
            chosen += 1
    else:
        while chosen > 0:
            chosen -= 1
            if accepted(chosen):
                break
    restoration = solved[chosen]
    if tolerance > final_tolerance:  # continue the chosen trial from where it stopped
        restoration = solve(chosen, options, x0=restoration.result.x, final=True)
    return restoration, priors[chosen][0], trials
