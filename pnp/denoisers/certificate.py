"""Certificates: what is proven about a denoiser's averagedness, and what is measured.

:func:`certify` combines

- the denoiser's own proven statement (its ``averagedness()`` method when it has one: for Euler
  nets the per-block rigorous bound on ``||W||``, the sub-step sizes, each block's constant and the
  composite alpha by the Combettes-Yamada rule; see :mod:`pnp.denoisers.averaged`), and
- empirical checks on real images (scikit-image's bundled photographs unless images are given):
  the Lipschitz ratio ``||D a - D b|| / ||a - b||`` on pairs of noisy images, the averaged inequality
  ``||Da - Db||^2 + ((1 - alpha)/alpha) ||(I - D)a - (I - D)b||^2 <= ||a - b||^2`` (reported as the
  ratio of the left side to the right), a Jacobian spectral-norm estimate (the power method of deepinv's
  ``JacobianSpectralNorm``), and repeated application ``D^k(y)``, k = 10, 50, 200 (PSNR against the
  clean image and the fixed-point residual ``||D^k y - D^(k-1) y||``, non-increasing for an averaged
  map).

The result is a :class:`Certificate` dataclass with a readable ``str`` and ``to_json``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .. import strict_json
from ..metrics import psnr
from ..shapes import centre_crop
from .averaged import Averagedness, BlockCertificate

__all__ = ["Certificate", "EmpiricalChecks", "RepeatedApplication", "certify", "default_images",
           "jacobian_norm", "repeated_application", "statement"]


@dataclass(frozen=True)
class EmpiricalChecks:
    """Measured on pairs of noisy real images (all ratios should be <= 1 for an averaged map).

    Attributes:
        pairs: number of (a, b) pairs tested.
        lipschitz_max: max ``||Da - Db|| / ||a - b||``.
        averaged_ratio_max: max of the averaged inequality's left side over its right side, with
            the proven alpha; None when no alpha is known.
        jacobian_norm: largest Jacobian spectral-norm estimate at the noisy images, or None.
        images: number of images; size: their (H, W); sigma: the noise level used.
    """

    pairs: int
    lipschitz_max: float
    averaged_ratio_max: float | None
    jacobian_norm: float | None
    images: int
    size: tuple[int, int]
    sigma: float


@dataclass(frozen=True)
class RepeatedApplication:
    """``D^k(y)`` for several k: mean PSNR against the clean images, largest ``|D^k(y)|`` value,
    and the relative fixed-point residual ``||D^k y - D^(k-1) y|| / ||y||`` (max over images)."""

    iterations: tuple[int, ...]
    psnr: tuple[float, ...]
    max_abs: tuple[float, ...]
    residual: tuple[float, ...]

    @property
    def bounded(self) -> bool:
        return all(math.isfinite(v) for v in self.max_abs + self.psnr)


@dataclass(frozen=True)
class Certificate:
    """Proven and measured averagedness of one denoiser (see module docstring)."""

    denoiser: str
    certified: bool
    alpha: float | None
    one_minus_alpha: float | None
    reason: str
    strength: float
    blocks: tuple[BlockCertificate, ...]
    empirical: EmpiricalChecks | None
    repeated: RepeatedApplication | None

    @property
    def passed(self) -> bool:
        """Certified with alpha < 1 and no empirical check contradicting it (1e-4 slack)."""
        if not (self.certified and self.alpha is not None and self.alpha < 1):
            return False
        e = self.empirical
        if e is not None and (e.lipschitz_max > 1 + 1e-4 or (e.averaged_ratio_max or 0) > 1 + 1e-4):
            return False
        return self.repeated is None or self.repeated.bounded

    def to_dict(self) -> dict:
        out = asdict(self)
        out["passed"] = self.passed
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return strict_json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        lines = [f"Certificate for {self.denoiser}"]
        if self.alpha is not None:
            verdict = "proven" if self.certified else "claimed (not proven for the computed map)"
            oma = f"{self.one_minus_alpha:.3e}" if self.one_minus_alpha is not None else "?"
            lines.append(f"  {verdict}: {self.alpha:.6f}-averaged (1 - alpha = {oma}), strength {self.strength}")
        else:
            lines.append("  1-Lipschitz not certified")
        lines.append(f"  reason: {self.reason}")
        if self.blocks:
            lines.append("  block  ||W|| upper  power    triangle  n    h         h||W||^2/2  alpha")
            for b in self.blocks:
                alpha = f"{b.alpha:.6f}" if b.alpha is not None else "n/a"
                lines.append(f"  {b.index:<5d}  {b.norm_upper:<11.5f}  {b.norm_power:<7.5f}  "
                             f"{b.norm_triangle:<8.4f}  {b.substeps:<3d}  {b.step:<8.5f}  "
                             f"{b.step_alpha:<10.6f}  {alpha}")
        lines += _empirical_lines(self.empirical, self.repeated)
        lines.append(f"  passed: {self.passed}")
        return "\n".join(lines)


def _empirical_lines(e: EmpiricalChecks | None, r: RepeatedApplication | None) -> list[str]:
    lines = []
    if e is not None:
        avg = f"{e.averaged_ratio_max:.6f}" if e.averaged_ratio_max is not None else "n/a"
        jac = f"{e.jacobian_norm:.4f}" if e.jacobian_norm is not None else "n/a"
        lines.append(f"  empirical ({e.images} images {e.size[0]}x{e.size[1]}, sigma {e.sigma}, {e.pairs} pairs): "
                     f"Lipschitz ratio max {e.lipschitz_max:.6f}, averaged-inequality ratio max {avg}, "
                     f"Jacobian spectral norm {jac}")
    if r is not None:
        parts = [f"k={k}: {p:.2f} dB, max|x| {m:.3f}, residual {s:.2e}"
                 for k, p, m, s in zip(r.iterations, r.psnr, r.max_abs, r.residual)]
        lines.append("  repeated application: " + "; ".join(parts))
    return lines


def statement(denoiser: torch.nn.Module) -> Averagedness:
    """The denoiser's own averagedness statement (its ``averagedness()``), or 'unknown'."""
    method = getattr(denoiser, "averagedness", None)
    if callable(method):
        return method()
    return Averagedness(None, False, f"{type(denoiser).__name__} states no averagedness property")


def default_images(channels: int = 3, size: int = 64) -> torch.Tensor:
    """Centre crops of three photographs bundled with scikit-image: (3, channels, size, size) in [0, 1]."""
    from skimage import data

    crops = []
    for name in ("astronaut", "coffee", "chelsea"):
        image = torch.from_numpy(getattr(data, name)().astype(np.float32) / 255.0).permute(2, 0, 1)
        crop = centre_crop(image, size)
        if channels == 1:
            crop = (0.2125 * crop[0] + 0.7154 * crop[1] + 0.0721 * crop[2])[None]
        crops.append(crop)
    return torch.stack(crops)


def _norms(v: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(v.flatten(1), dim=1)


def _pair_checks(denoiser, a: torch.Tensor, b: torch.Tensor, alpha: float | None,
                 sigma: float | None) -> tuple[float, float | None]:
    da, db = denoiser(a, sigma), denoiser(b, sigma)
    gap = _norms(a - b).square().clamp_min(1e-30)
    out_gap = _norms(da - db).square()
    lipschitz = float((out_gap / gap).sqrt().max())
    if alpha is None:
        return lipschitz, None
    residual_gap = _norms((a - da) - (b - db)).square()
    ratio = (out_gap + (1 - alpha) / alpha * residual_gap) / gap
    return lipschitz, float(ratio.max())


def jacobian_norm(denoiser, y: torch.Tensor, iterations: int = 20, seed: int = 0,
                  sigma: float | None = None) -> float:
    """Power-method estimate of ``max_b ||J_D(y_b)||_2`` (Jacobian of D at each image of ``y``).

    The method of deepinv's ``JacobianSpectralNorm`` (Pesquet et al. 2021: ``J u`` by the
    double-backward trick, ``J^T v`` by backward), written out here because deepinv 0.5's
    ``eval_mode=True`` fails on views; the graph of one iteration is freed before the next.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.enable_grad():
        x = y.detach().clone().requires_grad_(True)
        out = denoiser(x, sigma)
        u = torch.randn(x.shape, generator=generator).to(x)
        u = u / _norms(u).view(-1, 1, 1, 1)
        value = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for _ in range(iterations):
            w = torch.ones_like(out, requires_grad=True)
            (jt_w,) = torch.autograd.grad(out, x, w, create_graph=True)
            (ju,) = torch.autograd.grad(jt_w, w, u)
            (jtju,) = torch.autograd.grad(out, x, ju, retain_graph=True)
            value = (u * jtju).flatten(1).sum(dim=1)
            u = jtju / _norms(jtju).clamp_min(1e-30).view(-1, 1, 1, 1)
    return float(value.clamp_min(0).sqrt().max())


def empirical_checks(
    denoiser, clean: torch.Tensor, alpha: float | None, *, sigma: float, rounds: int,
    jacobian_iterations: int, generator: torch.Generator,
) -> EmpiricalChecks:
    """Lipschitz ratio and averaged inequality on pairs built from ``clean`` (B, C, H, W) images:
    two noise draws of one image, two different images, and an image and a small perturbation."""
    noise = lambda s: s * torch.randn(clean.shape, generator=generator).to(clean)  # noqa: E731
    lipschitz, ratio, pairs = 0.0, None, 0
    with torch.no_grad():
        for _ in range(rounds):
            a = clean + noise(sigma)
            for b in (clean + noise(sigma), a.roll(1, dims=0), a + noise(1e-2)):
                lip, avg = _pair_checks(denoiser, a, b, alpha, sigma)
                lipschitz = max(lipschitz, lip)
                if avg is not None:
                    ratio = avg if ratio is None else max(ratio, avg)
                pairs += clean.shape[0]
    jacobian = None
    if jacobian_iterations > 0:
        jacobian = jacobian_norm(denoiser, clean + noise(sigma), jacobian_iterations, sigma=sigma)
    height, width = clean.shape[-2:]
    return EmpiricalChecks(pairs, lipschitz, ratio, jacobian, clean.shape[0], (height, width), sigma)


def repeated_application(
    denoiser, noisy: torch.Tensor, clean: torch.Tensor, iterations: tuple[int, ...] = (10, 50, 200),
    sigma: float | None = None,
) -> RepeatedApplication:
    """Apply ``denoiser`` (called as ``denoiser(x, sigma)``) up to ``max(iterations)`` times to
    ``noisy``; record at each k in ``iterations`` the mean PSNR against ``clean``, ``max |D^k y|``
    and the relative residual."""
    if not iterations or min(iterations) < 1:
        raise ValueError(f"iterations must be positive integers, got {iterations!r}")
    wanted, records = sorted(set(iterations)), {}
    scale = _norms(noisy).clamp_min(1e-30)
    with torch.no_grad():
        x = noisy
        for k in range(1, wanted[-1] + 1):
            previous, x = x, denoiser(x, sigma)
            if k in wanted:
                residual = float((_norms(x - previous) / scale).max())
                records[k] = (float(psnr(x, clean).mean()), float(x.abs().max()), residual)
    return RepeatedApplication(
        tuple(wanted), *(tuple(records[k][i] for k in wanted) for i in range(3)))


def certify(
    denoiser: torch.nn.Module,
    images: torch.Tensor | None = None,
    *,
    sigma: float = 0.15,
    rounds: int = 2,
    repeats: tuple[int, ...] = (10, 50, 200),
    jacobian_iterations: int = 20,
    empirical: bool = True,
    seed: int = 0,
) -> Certificate:
    """Certificate of ``denoiser``: its proven averagedness plus empirical checks.

    Args:
        denoiser: any ``D(x, sigma)`` module; Euler nets state a proven alpha.
        images: clean images (B, C, H, W) in [0, 1]; default :func:`default_images` with the
            denoiser's ``in_channels`` (3 if it has none).
        sigma: noise level of the test inputs, also passed to the denoiser.
        rounds: noise draws; each gives 3 kinds of pairs per image.
        repeats: k values for :func:`repeated_application` (on the first image); empty to skip.
        jacobian_iterations: power iterations of the Jacobian norm estimate; 0 to skip.
        empirical: False for the cheap, proven part only.
        seed: seed of the noise.

    The denoiser is evaluated in eval mode (its mode is restored afterwards).
    """
    was_training = denoiser.training
    denoiser.eval()
    try:
        proven = statement(denoiser)
        checks = repeated = None
        if empirical:
            clean = images if images is not None else default_images(getattr(denoiser, "in_channels", 3))
            clean = clean.to(_device_of(denoiser))
            generator = torch.Generator().manual_seed(seed)
            checks = empirical_checks(denoiser, clean, proven.alpha, sigma=sigma, rounds=rounds,
                                      jacobian_iterations=jacobian_iterations, generator=generator)
            if repeats:
                first = clean[:1]
                noisy = first + sigma * torch.randn(first.shape, generator=generator).to(first)
                repeated = repeated_application(denoiser, noisy, first, tuple(repeats), sigma)
    finally:
        denoiser.train(was_training)
    return Certificate(
        denoiser=_describe(denoiser), certified=proven.certified, alpha=proven.alpha,
        one_minus_alpha=proven.one_minus_alpha, reason=proven.reason, strength=proven.strength,
        blocks=proven.blocks, empirical=checks, repeated=repeated,
    )


def _device_of(module: torch.nn.Module) -> torch.device:
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


def _describe(denoiser: torch.nn.Module) -> str:
    extra = denoiser.extra_repr()
    return f"{type(denoiser).__name__}({extra})" if extra else type(denoiser).__name__
