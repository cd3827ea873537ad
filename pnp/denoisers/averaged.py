"""Averagedness bookkeeping shared by the denoisers and :func:`pnp.denoisers.certify`.

A map T is alpha-averaged, alpha in (0, 1), when ``T = (1 - alpha) I + alpha N`` with N
1-Lipschitz; equivalently, for all x, y,

    ||Tx - Ty||^2 <= ||x - y||^2 - ((1 - alpha) / alpha) ||(I - T)x - (I - T)y||^2.

Composition (Combettes & Yamada 2015): T1 o T2 is alpha-averaged with
``alpha = (alpha1 + alpha2 - 2 alpha1 alpha2) / (1 - alpha1 alpha2)``. In terms of the ratio
``kappa = alpha / (1 - alpha)`` the rule is additive, ``kappa = kappa1 + kappa2``, which is how
:func:`compose_alpha` folds long chains without rounding 1 - alpha to zero.

Relaxation: ``(1 - theta) I + theta T`` is (theta alpha)-averaged. Lifting by zero channels and
projecting onto the first channels preserve alpha: ``E^T ((1 - a) I + a N) E = (1 - a) I + a E^T N E``
with ``E^T N E`` 1-Lipschitz.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

__all__ = ["Averagedness", "BlockCertificate", "compose_alpha", "compose_pair", "one_minus_alpha"]


def compose_pair(alpha1: float, alpha2: float) -> float:
    """Combettes-Yamada: the averagedness constant of T1 o T2 for alpha_i-averaged T_i."""
    for name, a in (("alpha1", alpha1), ("alpha2", alpha2)):
        if not 0 < a < 1:
            raise ValueError(f"{name} must lie in (0, 1), got {a!r}")
    return (alpha1 + alpha2 - 2 * alpha1 * alpha2) / (1 - alpha1 * alpha2)


def compose_alpha(alphas: Iterable[float]) -> float:
    """Averagedness constant of the composition of maps with constants ``alphas`` (any order).

    Folds ``kappa = sum alpha_i / (1 - alpha_i)`` and returns ``kappa / (1 + kappa)``; equal to
    repeated :func:`compose_pair` but exact for long chains. Raises ``ValueError`` for an empty
    chain or a constant outside (0, 1).
    """
    kappa, count = 0.0, 0
    for a in alphas:
        if not 0 < a < 1:
            raise ValueError(f"every alpha must lie in (0, 1), got {a!r}")
        kappa += a / (1 - a)
        count += 1
    if count == 0:
        raise ValueError("compose_alpha needs at least one map")
    return kappa / (1 + kappa)


def one_minus_alpha(alphas: Iterable[float]) -> float:
    """``1 - compose_alpha(alphas)`` computed without cancellation (``1 / (1 + kappa)``)."""
    return 1.0 / (1.0 + sum(a / (1 - a) for a in alphas))


@dataclass(frozen=True)
class BlockCertificate:
    """What is proven about one Euler block (all norms are rigorous upper bounds).

    Attributes:
        index: block position (0-based).
        norm_upper: rigorous upper bound on ``||W||`` (operator norm, any image size).
        norm_power: power-method estimate of ``||W||`` (a lower estimate, for comparison).
        norm_triangle: ``sum_d ||W_d||_2``.
        integrator: "euler", "heun" or "rk4".
        substeps: number of integrator steps n.
        step: step size h of each.
        step_alpha: ``h ||W||^2 / 2`` with the rigorous norm (the Euler sub-step's constant).
        alpha: averagedness constant of the whole block, None when not certified (RK4).
    """

    index: int
    norm_upper: float
    norm_power: float
    norm_triangle: float
    integrator: str
    substeps: int
    step: float
    step_alpha: float
    alpha: float | None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Averagedness:
    """A denoiser's own statement of averagedness (what :func:`certify` reports as proven).

    Attributes:
        alpha: the averagedness constant, or None when none is known.
        certified: True only when ``alpha < 1`` is *proven* for the map actually computed
            (in exact arithmetic; float32 rounding in the forward pass is not accounted for).
        reason: one sentence saying why (or why not).
        blocks: per-block certificates for Euler nets; empty otherwise.
        strength: the relaxation theta already included in ``alpha``.
        one_minus_alpha: ``1 - alpha`` computed without cancellation (None with ``alpha``).
    """

    alpha: float | None
    certified: bool
    reason: str
    blocks: tuple[BlockCertificate, ...] = ()
    strength: float = 1.0
    one_minus_alpha: float | None = None

    def summary(self) -> dict:
        """JSON-ready dict (stored in checkpoint metadata)."""
        out = asdict(self)
        out["blocks"] = [b.to_dict() for b in self.blocks]
        return out
