"""Norm of a multi-channel convolution *operator*: power estimate, rigorous upper bound, triangle bound.

A weight ``w`` of shape (C_out, C_in, k, k), k = 2r + 1 odd, acts as ``conv2d(x, w, padding=r)``
(cross-correlation with zero padding): ``(Wx)[p] = sum_d W_d x[p + d]`` over the offsets
``d in {-r..r}^2``, ``W_d = w[:, :, d1 + r, d2 + r]`` a C_out x C_in matrix. Its exact adjoint is
``conv_transpose2d(y, w, padding=r)`` (:func:`conv_adjoint`).

Three numbers bracket ``||W||`` (the operator norm, padding included, for any image size):

- :func:`power_norm` -- the power method on one image size: a *lower* estimate.
- :func:`spectral_norm_bound` -- a rigorous *upper* bound, argued below.
- :func:`triangle_bound` -- ``sum_d ||W_d||_2``: rigorous but loose.

Why the upper bound is rigorous. On an N1 x N2 periodic grid the circular convolution is
block-diagonalised by the DFT: its singular values are those of the symbols
``K(w) = sum_d W_d exp(i w.d)`` at the grid frequencies. A zero-padded convolution on H x W is
``P^T C P`` with ``P`` the zero-embedding into any grid with N1 >= H + r, N2 >= W + r (no wrap-around
reaches the image), so ``||W_zp|| <= ||C|| <= S := sup_w sigma_max(K(w))`` over the continuous torus,
uniformly in H and W. To bound S from finitely many evaluations: let w* attain S with top singular
pair (u, v) and put ``q(w) = Re(u^H K(w) v)``, a real trigonometric polynomial of degree r in each
variable with ``|q| <= sigma_max(K) <= S`` and ``q(w*) = S``, so ``grad q(w*) = 0``. Taylor's formula
along the segment from w* to any w = w* + t gives ``q(w) >= S - 1/2 sup |t^T Hess(q) t|``, and two
bounds on the Hessian hold: Bernstein's inequality in each variable gives
``|t^T Hess(q) t| <= S r^2 (|t1| + |t2|)^2``; differentiating ``q`` term by term gives
``<= sum_d ||W_d||_2 (d.t)^2``. Hence if w* lies in the square cell of centre c and half-width rho,
``sigma_max(K(c)) >= q(c)`` yields

    S <= min( sigma_max(K(c)) / (1 - 2 r^2 rho^2),  sigma_max(K(c)) + rho^2/2 sum_d ||W_d|| |d|_1^2 ).

A branch-and-bound over cells covering the half torus (``K(-w)`` is the conjugate of ``K(w)`` for
real weights) discards a cell whenever this bound falls below the best value already evaluated (a
maximiser cannot lie there) and halves the others, until the bound is within ``tol`` of the best
value. Every level gives a valid bound; the minimum over levels, and with the triangle bound, is
returned. The singular values are computed in float64 (backward-stable SVD, error ~1e-16 ||K||);
the result is inflated by a relative 1e-9 to cover that rounding.

Dilated convolutions (``conv2d(x, w, padding=d r, dilation=d)``, taps ``d`` pixels apart) have the
symbol ``K(d w)``; as ``w`` runs over the torus so does ``d w`` (mod 2 pi), so their supremum is the
same S, and the zero-padded operator is again ``P^T C P`` on a grid with N >= H + d r. The bound of
the undilated weight therefore bounds the dilated operator, with no extra work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "SpectralBound",
    "conv_adjoint",
    "conv_apply",
    "grid_norm",
    "power_iteration",
    "power_norm",
    "spectral_norm_bound",
    "symbol",
    "symmetric_pad",
    "triangle_bound",
]

_ROUNDING_SLACK = 1e-9


def _check_weight(weight: torch.Tensor) -> int:
    """Validate a (C_out, C_in, k, k) weight with odd k; return the radius r = k // 2."""
    if weight.ndim != 4 or weight.shape[-1] != weight.shape[-2] or weight.shape[-1] % 2 == 0:
        raise ValueError(f"weight must have shape (C_out, C_in, k, k) with k odd, got {tuple(weight.shape)}")
    return weight.shape[-1] // 2


def conv_apply(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, *,
               periodic: bool = False, dilation: int = 1) -> torch.Tensor:
    """``W x (+ b)``: (B, C_in, H, W) -> (B, C_out, H, W), same size; zero padding, or the periodic
    extension with ``periodic`` (a circular convolution, whose norm the symbol bounds exactly too).
    ``dilation`` d spreads the kernel's taps d pixels apart (reach ``d * (k // 2)``); its symbol is
    ``K(d ω)``, which has the same supremum over the frequencies as ``K(ω)``, so
    :func:`spectral_norm_bound` of the (undilated) weight bounds the dilated operator too."""
    r = dilation * (weight.shape[-1] // 2)
    if periodic:
        return F.conv2d(F.pad(x, (r, r, r, r), mode="circular"), weight, bias, dilation=dilation)
    return F.conv2d(x, weight, bias, padding=r, dilation=dilation)


def conv_adjoint(y: torch.Tensor, weight: torch.Tensor, *, periodic: bool = False, dilation: int = 1) -> torch.Tensor:
    """``W^T y``: (B, C_out, H, W) -> (B, C_in, H, W), the exact adjoint of :func:`conv_apply`
    (periodic: the circular correlation with the flipped, channel-transposed kernel)."""
    r = dilation * (weight.shape[-1] // 2)
    if not periodic:
        return F.conv_transpose2d(y, weight, padding=r, dilation=dilation)
    return F.conv2d(F.pad(y, (r, r, r, r), mode="circular"), weight.transpose(0, 1).flip(-2, -1), dilation=dilation)


def refresh_circular_halo(padded: torch.Tensor, r: int) -> None:
    """Rewrite, in place, the ``r``-pixel border of ``padded`` (B, C, H + 2r, W + 2r) from its
    inside, as ``F.pad(inside, (r,) * 4, mode="circular")`` would; O(r(H + W)) work."""
    if r == 0:
        return
    padded[..., r:-r, :r] = padded[..., r:-r, -2 * r : -r]
    padded[..., r:-r, -r:] = padded[..., r:-r, r : 2 * r]
    padded[..., :r, :] = padded[..., -2 * r : -r, :]
    padded[..., -r:, :] = padded[..., r : 2 * r, :]


def symmetric_pad(x: torch.Tensor, r: int, swaps: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Pad the last two dimensions of ``x`` (B, C, H, W) by ``r`` with half-sample symmetry
    (``x[-1 - i] = x[i]``), as the image's mirror tiling continues it; needs both sides ``>= r``.
    ``swaps``: channel orders of the left/right and top/bottom halos (channels a flip permutes)."""
    lr, ud = swaps if swaps is not None else (None, None)
    left, right = x[..., :r].flip(-1), x[..., -r:].flip(-1)
    if lr is not None:
        left, right = left[:, lr], right[:, lr]
    x = torch.cat([left, x, right], dim=-1)
    top, bottom = x[..., :r, :].flip(-2), x[..., -r:, :].flip(-2)
    if ud is not None:
        top, bottom = top[:, ud], bottom[:, ud]
    return torch.cat([top, x, bottom], dim=-2)


def refresh_symmetric_halo(padded: torch.Tensor, r: int, swaps: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
    """Rewrite, in place, the ``r``-pixel border of ``padded`` (B, C, H + 2r, W + 2r) from its
    inside, as :func:`symmetric_pad` would; O(r(H + W)) work."""
    if r == 0:
        return
    lr, ud = swaps if swaps is not None else (slice(None), slice(None))
    padded[..., r:-r, :r] = padded[:, lr, r:-r, r : 2 * r].flip(-1)
    padded[..., r:-r, -r:] = padded[:, lr, r:-r, -2 * r : -r].flip(-1)
    padded[..., :r, :] = padded[:, ud, r : 2 * r, :].flip(-2)
    padded[..., -r:, :] = padded[:, ud, -2 * r : -r, :].flip(-2)


def _offsets(radius: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The k*k offsets d = (d1, d2) in row-major kernel order, shape (k*k, 2)."""
    r = torch.arange(-radius, radius + 1, dtype=dtype)
    return torch.cartesian_prod(r, r)


def symbol(weight: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
    """``K(w) = sum_d W_d exp(i w.d)`` at frequencies ``omega`` (M, 2): (M, C_out, C_in) complex128."""
    radius = _check_weight(weight)
    slices = weight.detach().to(device="cpu", dtype=torch.float64).flatten(2).permute(2, 0, 1)
    phase = omega.to(dtype=torch.float64, device="cpu") @ _offsets(radius).T  # (M, k*k)
    return torch.einsum("md,doi->moi", torch.exp(1j * phase), slices.to(torch.complex128))


def _sigma_max(weight: torch.Tensor, omega: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Largest singular value of the symbol at each frequency, (M,) float64."""
    parts = [torch.linalg.matrix_norm(symbol(weight, omega[i : i + chunk]), ord=2)
             for i in range(0, omega.shape[0], chunk)]
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)


def grid_norm(weight: torch.Tensor, height: int, width: int) -> float:
    """Exact norm of the *circular* convolution on a (height, width) grid: the max of
    ``sigma_max(K(w))`` over its DFT frequencies (all of them; cost grows with the grid)."""
    wy = 2 * math.pi * torch.arange(height, dtype=torch.float64) / height
    wx = 2 * math.pi * torch.arange(width // 2 + 1, dtype=torch.float64) / width
    return float(_sigma_max(weight, torch.cartesian_prod(wy, wx)).max())


def triangle_bound(weight: torch.Tensor) -> float:
    """``sum_d ||W_d||_2`` over the k*k kernel offsets: a rigorous, loose upper bound on ``||W||``."""
    _check_weight(weight)
    slices = weight.detach().to(device="cpu", dtype=torch.float64).flatten(2).permute(2, 0, 1)
    return float(torch.linalg.matrix_norm(slices, ord=2).sum()) * (1 + _ROUNDING_SLACK)


@dataclass(frozen=True)
class SpectralBound:
    """Bracket of ``S = sup_w sigma_max(K(w))``, which bounds ``||W||`` on every image size.

    Attributes:
        upper: rigorous upper bound on S (hence on ``||W||``).
        lower: the best symbol value evaluated (a lower bound on S, not on ``||W||`` at one size).
        triangle: :func:`triangle_bound`, for reference.
        evaluations: number of symbols whose SVD was computed.
        levels: branch-and-bound refinement levels used.
    """

    upper: float
    lower: float
    triangle: float
    evaluations: int
    levels: int


def _cell_bounds(sigma: torch.Tensor, rho: float, radius: int, curvature: float) -> torch.Tensor:
    """Upper bound on S valid if a maximiser lies in a cell of half-width rho (see module doc)."""
    slice_bound = sigma + 0.5 * rho**2 * curvature
    shrink = 1 - 2 * radius**2 * rho**2
    if shrink <= 0:
        return slice_bound
    return torch.minimum(sigma / shrink, slice_bound)


def spectral_norm_bound(
    weight: torch.Tensor, *, tol: float = 1e-3, coarse: int = 16, max_evaluations: int = 20_000,
    target: float | None = None,
) -> SpectralBound:
    """Rigorous upper bound on the operator norm of ``conv2d(., weight, padding=k//2)``.

    Branch-and-bound over frequency cells (module docstring); stops when the bound is within a
    relative ``tol`` of the best evaluated value, or after ``max_evaluations`` SVDs (the bound is
    valid either way, only looser). With ``target``, it answers the cheaper question
    "is ``||W|| <= target``?": cells whose bound is already below ``target`` are not refined, and it
    stops as soon as ``upper <= target`` (proven) or ``lower > target`` (disproven). Cost: a few
    hundred (C_out x C_in) SVDs for typical kernels, far fewer with a target.
    """
    radius = _check_weight(weight)
    if not tol > 0 or coarse < 2:
        raise ValueError(f"need tol > 0 and coarse >= 2, got tol={tol!r}, coarse={coarse!r}")
    triangle = triangle_bound(weight)
    slices = weight.detach().to(device="cpu", dtype=torch.float64).flatten(2).permute(2, 0, 1)
    norms = torch.linalg.matrix_norm(slices, ord=2)
    curvature = float((norms * _offsets(radius).abs().sum(dim=1).square()).sum())
    wy = 2 * math.pi * torch.arange(coarse, dtype=torch.float64) / coarse
    wx = 2 * math.pi * torch.arange(coarse // 2 + 1, dtype=torch.float64) / coarse
    centres, rho = torch.cartesian_prod(wy, wx), math.pi / coarse
    sigma = _sigma_max(weight, centres)
    lower, evaluations, levels = float(sigma.max()), centres.shape[0], 0
    upper, retired = math.inf, -math.inf  # retired: largest bound of cells left unrefined (<= target)
    while True:
        bounds = _cell_bounds(sigma, rho, radius, curvature)
        upper = min(upper, max(retired, float(bounds.max())))
        live = bounds >= lower
        if target is not None:
            done = live & (bounds <= target)
            retired = max([retired] + bounds[done].tolist())
            live &= ~done
        n_next = 4 * int(live.sum())
        if (upper <= lower * (1 + tol) or n_next == 0 or evaluations + n_next > max_evaluations
                or (target is not None and (upper <= target or lower > target))):
            break
        centres = (centres[live][:, None, :] + 0.5 * rho * _CHILDREN).reshape(-1, 2)
        rho /= 2
        sigma = _sigma_max(weight, centres)
        lower, evaluations, levels = max(lower, float(sigma.max())), evaluations + n_next, levels + 1
    if n_next == 0:  # every cell that may hold a maximiser was retired below the target
        upper = min(upper, retired)
    upper = min(upper * (1 + _ROUNDING_SLACK), triangle)
    return SpectralBound(upper=upper, lower=lower, triangle=triangle, evaluations=evaluations, levels=levels)


_CHILDREN = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]], dtype=torch.float64)


def power_iteration(
    weight: torch.Tensor, vector: torch.Tensor, iterations: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Warm-started power method on ``W^T W`` (zero padding, on the size of ``vector``).

    Args:
        weight: (C_out, C_in, k, k).
        vector: (1, C_in, H, W) current unit vector (e.g. a buffer kept between training steps).
        iterations: ``W^T W`` applications (without gradient).

    Returns:
        ``(estimate, vector)``: ``estimate = ||W v||`` for the updated unit vector ``v``, a lower
        estimate of ``||W||`` that is differentiable in ``weight``; and ``v`` (detached).

    Runs with autocast disabled, so under mixed-precision training the norm (and so the step
    sizes derived from it) stays in the precision of the weights (float32).
    """
    with torch.autocast(device_type=weight.device.type, enabled=False):
        with torch.no_grad():
            w = weight.detach().to(vector.dtype)
            v = vector
            for _ in range(iterations):
                v = conv_adjoint(conv_apply(v, w), w)
                v = v / torch.linalg.vector_norm(v).clamp_min(1e-30)
        estimate = torch.linalg.vector_norm(conv_apply(v.to(weight.dtype), weight))
    return estimate, v


def power_norm(
    weight: torch.Tensor, height: int = 64, width: int = 64, *, iterations: int = 200,
    generator: torch.Generator | None = None,
) -> float:
    """Power-method estimate of ``||W||`` on (height, width) images, float64: a *lower* bound."""
    _check_weight(weight)
    w = weight.detach().to(device="cpu", dtype=torch.float64)
    v = torch.randn(1, w.shape[1], height, width, dtype=torch.float64, generator=generator)
    v = v / torch.linalg.vector_norm(v)
    estimate, _ = power_iteration(w, v, iterations)
    return float(estimate)
