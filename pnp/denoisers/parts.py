"""Averaged maps as a declared interface, and the parts certified denoisers are composed of.

A map states what is proven about it through ``averagedness() -> Averagedness``
(:class:`AveragedMap`). Each part below states its own constant, and a composite's constant is
*computed* from its parts, never looked up:

- an Euler block (:class:`pnp.denoisers.flow.EulerBlock`): n sub-steps ``z - h Wᵀ s(Wz + b)`` with
  ``a = h ‖W‖² / 2 < 1`` each; ``κ = n a / (1 − a)`` in the additive ratio ``κ = α / (1 − α)``;
- :class:`Chain` ``T_k ∘ … ∘ T_1``: ``κ = Σ κ_i`` (Combettes–Yamada 2015, :mod:`.averaged`);
- :class:`HaarCoarse` ``T(z) = Hᵀ diag(S, I) H z`` with H the orthonormal 2-D Haar analysis
  (``HᵀH = HHᵀ = I``): S acts on the low-pass band at half resolution and the three detail bands
  pass unchanged. ``diag(S, I) = (1 − α) I + α diag(N, I)`` with ``diag(N, I)`` 1-Lipschitz when
  ``S = (1 − α) I + α N``, and conjugation by an orthogonal H keeps both facts: T has S's α;
- zero embeddings ``P`` (``PᵀP = I``: appending zero channels, zero-padding the image) give
  ``Pᵀ T P = (1 − α) I + α Pᵀ N P``, again with T's α; so does a relaxation's θ (``θ α``, see
  :class:`pnp.denoisers.adapters.Relaxed`).

Shapes: every part maps (B, C, H, W) to the same shape; :class:`HaarCoarse` needs even H and W.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Protocol, Sequence, runtime_checkable

import torch
from torch import nn

from .averaged import Averagedness, compose_alpha, one_minus_alpha
from .certificate import statement

__all__ = ["AveragedMap", "Chain", "HaarCoarse", "compose", "haar_analysis", "haar_synthesis"]


@runtime_checkable
class AveragedMap(Protocol):
    """Anything that states its proven averagedness (Euler blocks and nets, chains, adapters)."""

    def averagedness(self) -> Averagedness: ...


_COMPOSED = "composition of"


def compose(statements: Sequence[Averagedness], what: str = "composition") -> Averagedness:
    """The statement of ``T_k ∘ … ∘ T_1`` from those of its parts (any order: κ is additive).

    Certified only when every part is; the per-block certificates are concatenated and renumbered
    in the order given. A chain with no parts is refused (the identity is no useful prior)."""
    if not statements:
        raise ValueError(f"a {what} needs at least one part")
    blocks = tuple(replace(b, index=i) for i, b in enumerate(b for s in statements for b in s.blocks))
    alphas = [s.alpha for s in statements]
    if any(a is None for a in alphas) or not all(s.certified for s in statements):
        missing = next(s for s in statements if s.alpha is None or not s.certified)
        return Averagedness(None, False, f"{what}: a part is not certified ({missing.reason})", blocks)
    known = [float(a) for a in alphas if a is not None]
    alpha, rest = compose_alpha(known), one_minus_alpha(known)
    phrases = (p for s in statements for p in s.reason.split("; ") if not p.startswith(_COMPOSED))
    reason = "; ".join([f"{_COMPOSED} {len(blocks) or len(statements)} averaged parts (Combettes-Yamada)",
                        *dict.fromkeys(phrases)])
    return Averagedness(alpha, alpha < 1 and rest > 0, reason, blocks, 1.0, rest)


class Chain(nn.Module):
    """``T_k ∘ … ∘ T_1``: the parts applied in order; α from theirs (``κ = Σ κ_i``)."""

    def __init__(self, parts: Iterable[nn.Module]) -> None:
        super().__init__()
        self.parts = nn.ModuleList(parts)
        if len(self.parts) == 0:
            raise ValueError("a Chain needs at least one part")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for part in self.parts:
            z = part(z)
        return z

    def averagedness(self) -> Averagedness:
        return compose([statement(part) for part in self.parts], "chain")


# The orthonormal 2-D Haar mixing of the 2x2 polyphase components (a, b, c, d) = offsets
# (0,0), (0,1), (1,0), (1,1): rows give LL, LH (horizontal detail), HL (vertical), HH. The matrix
# is symmetric and orthogonal, so it is its own inverse.
_HAAR = torch.tensor([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=torch.float64) / 2


def haar_analysis(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Orthonormal Haar analysis of (B, C, H, W), H and W even: the low-pass band (B, C, H/2, W/2)
    and the detail bands (B, C, 3, H/2, W/2). ``haar_synthesis`` inverts it exactly (it is the adjoint)."""
    if z.shape[-1] % 2 or z.shape[-2] % 2:
        raise ValueError(f"Haar analysis needs even height and width, got {tuple(z.shape[-2:])}")
    batch, channels, height, width = z.shape
    phases = nn.functional.pixel_unshuffle(z, 2).view(batch, channels, 4, height // 2, width // 2)
    bands = torch.einsum("ij,bcjhw->bcihw", _HAAR.to(z), phases)
    return bands[:, :, 0], bands[:, :, 1:]


def haar_synthesis(low: torch.Tensor, details: torch.Tensor) -> torch.Tensor:
    """Inverse (= adjoint) of :func:`haar_analysis`: (B, C, h, w) and (B, C, 3, h, w) -> (B, C, 2h, 2w)."""
    batch, channels, height, width = low.shape
    bands = torch.cat([low[:, :, None], details], dim=2)
    phases = torch.einsum("ij,bcjhw->bcihw", _HAAR.to(low), bands)
    return nn.functional.pixel_shuffle(phases.reshape(batch, channels * 4, height, width), 2)


_ON_LOW_PASS = "coarse levels act on Haar low-pass bands (orthogonal conjugations keep alpha)"


class HaarCoarse(nn.Module):
    """``T(z) = Hᵀ diag(S, I) H z``: ``inner`` (S) runs on the Haar low-pass band at half resolution,
    seeing twice as far per pixel at a quarter of the cost; T has S's α (module docstring)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        low, details = haar_analysis(z)
        return haar_synthesis(self.inner(low), details)

    def averagedness(self) -> Averagedness:
        inner = statement(self.inner)
        if inner.alpha is None:
            return inner
        return replace(inner, reason=f"{inner.reason}; {_ON_LOW_PASS}")
