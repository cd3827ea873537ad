"""Baseline denoisers with the package's interface: DnCNN and total variation (TV).

Both are deepinv ``Denoiser`` subclasses called as ``D(x, sigma)`` on (B, C, H, W) tensors, with
dtype and device following the input; both return an empty batch unchanged.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Mapping

import torch
from deepinv.models import Denoiser
from deepinv.models import DnCNN as _DeepinvDnCNN
from deepinv.models import TVDenoiser

from .averaged import Averagedness
from ..shapes import check_images

__all__ = ["DnCNN", "TV", "tv_weight_table"]

TV_WEIGHTS_RESOURCE = "data/tv_weights.json"


def _check_image(x: torch.Tensor, channels: int | None = None) -> None:
    check_images(x, "x", channels=channels)


class DnCNN(Denoiser):
    """deepinv's DnCNN (Zhang et al. 2017): ``depth`` 3x3 conv layers, ``features`` channels, ReLU,
    no batch normalisation, residual output ``x + net(x)``; randomly initialised (never downloads).

    Weights come from this package's training pipeline (:func:`pnp.denoisers.load`). The net is
    trained at one noise level ``sigma`` (metadata); ``forward`` ignores its ``sigma`` argument.
    It has no averagedness guarantee: PnP with it may not converge.

    Args:
        in_channels: image channels (3 colour, 1 grayscale).
        depth: number of convolution layers (default 20).
        features: channels of the hidden layers (default 64).
        sigma: training noise level, metadata only.
    """

    def __init__(self, *, in_channels: int = 3, depth: int = 20, features: int = 64, sigma: float | None = None) -> None:
        super().__init__()
        if not isinstance(depth, int) or depth < 2:
            raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
        self.in_channels, self.depth, self.features, self.sigma = in_channels, depth, features, sigma
        self.net = _DeepinvDnCNN(in_channels=in_channels, out_channels=in_channels, depth=depth, bias=True,
                                 nf=features, pretrained=None, device=None)

    def config(self) -> dict:
        return {"in_channels": self.in_channels, "depth": self.depth, "features": self.features, "sigma": self.sigma}

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        """Denoise ``x`` (B, C, H, W); ``sigma`` is ignored."""
        _check_image(x, self.in_channels)
        if x.shape[0] == 0:
            return x.clone()
        reference = self.net.in_conv.weight
        if reference.dtype == x.dtype and reference.device == x.device:
            return self.net(x)
        state = {k: v.to(x) for k, v in self.net.state_dict().items()}
        return torch.func.functional_call(self.net, state, (x,))

    def averagedness(self) -> Averagedness:
        return Averagedness(None, False, "DnCNN has no Lipschitz constraint: 1-Lipschitz not certified")

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, depth={self.depth}, features={self.features}"


def tv_weight_table() -> dict[float, float]:
    """The shipped TV weights ``{sigma: gamma}`` (``data/tv_weights.json``); empty if absent."""
    try:
        text = resources.files(__package__).joinpath(TV_WEIGHTS_RESOURCE).read_text()
    except (FileNotFoundError, OSError):
        return {}
    return {float(s): float(g) for s, g in json.loads(text)["weights"].items()}


def _interpolate(table: Mapping[float, float], sigma: float) -> float:
    """Piecewise power law through the table (linear in log-log), extended by the end segments."""
    points = sorted(table.items())
    if len(points) == 1:
        (s0, g0), = points
        return g0 * sigma / s0
    logs = [(math.log(s), math.log(g)) for s, g in points]
    i = 1
    while i < len(logs) - 1 and math.log(sigma) > logs[i][0]:
        i += 1
    (x0, y0), (x1, y1) = logs[i - 1], logs[i]
    return math.exp(y0 + (y1 - y0) * (math.log(sigma) - x0) / (x1 - x0))


class TV(Denoiser):
    """Isotropic TV denoiser ``argmin_x 1/2 ||x - y||^2 + gamma TV(x)`` (deepinv's ``TVDenoiser``,
    Chambolle-Pock), with gamma fixed or looked up per noise level.

    deepinv's solver keeps its primal and dual variables between calls (warm start), which makes
    the output depend on the previous input; this wrapper resets them on every call, so ``TV`` is
    one fixed map. The exact prox of a convex function is firmly non-expansive (1/2-averaged);
    the computed map is that prox only up to the solver's tolerance. :meth:`warm_started` gives
    the warm-started variant that iterative solvers use (``pnp deblur --model tv``): successive
    inputs of a converging iteration are close, so each inner solve starts near its answer and
    takes a few dozen Chambolle-Pock steps instead of hundreds; it is the same prox up to the
    same tolerance, but no longer a fixed map of its input alone.

    Args:
        weight: a fixed gamma; when None, gamma is taken from ``table`` at the ``sigma`` passed to
            ``forward`` (log-log interpolation between tabulated noise levels).
        table: ``{sigma: gamma}``; default :func:`tv_weight_table` (tuned on BSDS500 train crops by
            ``benchmarks/tune_tv.py``).
        max_iter, tol, tau: Chambolle-Pock iterations, relative-change tolerance, primal step.
    """

    def __init__(
        self, weight: float | None = None, *, table: Mapping[float, float] | None = None,
        max_iter: int = 1000, tol: float = 1e-5, tau: float = 0.05,
    ) -> None:
        super().__init__()
        if weight is not None and not (weight > 0 and math.isfinite(weight)):
            raise ValueError(f"weight must be a positive number or None, got {weight!r}")
        self.weight = weight
        self.table = {float(s): float(g) for s, g in (tv_weight_table() if table is None else table).items()}
        self.max_iter, self.tol, self.tau = max_iter, tol, tau
        self._warm: TVDenoiser | None = None  # the solver kept between calls (warm_started only)

    def config(self) -> dict:
        return {"weight": self.weight, "table": {str(k): v for k, v in self.table.items()},
                "max_iter": self.max_iter, "tol": self.tol, "tau": self.tau}

    def weight_for(self, sigma: float | torch.Tensor | None) -> float | torch.Tensor:
        """gamma for noise level ``sigma`` (a float, or a (B,) tensor for per-image levels)."""
        if self.weight is not None:
            return self.weight
        if sigma is None:
            raise ValueError("sigma is required: TV was built without a fixed weight")
        if not self.table:
            raise ValueError("no TV weight table is available; pass weight= or table=")
        if isinstance(sigma, torch.Tensor) and sigma.numel() > 1:
            return torch.tensor([_interpolate(self.table, float(s)) for s in sigma.flatten()],
                                dtype=sigma.dtype if sigma.is_floating_point() else None)
        value = float(sigma)
        if not value > 0:
            raise ValueError(f"sigma must be positive, got {value}")
        return _interpolate(self.table, value)

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        """TV-denoise ``x`` (B, C, H, W) with gamma from ``weight`` or the table at ``sigma``."""
        _check_image(x)
        gamma = self.weight_for(sigma)
        if x.shape[0] == 0:
            return x.clone()
        if isinstance(gamma, torch.Tensor):
            gamma = gamma.to(device=x.device, dtype=x.dtype)
        solver = self._warm or TVDenoiser(tau=self.tau, n_it_max=self.max_iter, crit=self.tol)  # fresh: no warm start
        return solver(x, ths=gamma)

    def warm_started(self) -> "TV":
        """A copy whose Chambolle-Pock solver keeps its primal and dual variables between calls
        (deepinv's default), for use inside an iterative solver; see the class docstring."""
        copy = TV(self.weight, table=self.table, max_iter=self.max_iter, tol=self.tol, tau=self.tau)
        copy._warm = TVDenoiser(tau=self.tau, n_it_max=self.max_iter, crit=self.tol)
        return copy

    def averagedness(self) -> Averagedness:
        return Averagedness(0.5, False, (
            "the exact prox of TV is firmly non-expansive (1/2-averaged); the computed map is an "
            "iterative approximation, so this is not proven for it"), strength=1.0, one_minus_alpha=0.5)

    def extra_repr(self) -> str:
        return f"weight={self.weight}" if self.weight is not None else f"table={self.table}"
