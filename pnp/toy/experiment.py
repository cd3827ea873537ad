"""The 2-D toy experiment end to end: naive inversion, Tikhonov, InvNet_L, ISTA and PGD.

Protocol (every choice is made on the training set; the test set is only scored):

1. Data: ground truths on the arc, ``y = A x + noise_level * n`` (:mod:`pnp.toy.data`).
2. Naive inversion ``A^{-1} y``: Lipschitz constant ``1/s_min = 1/eps``.
3. Tikhonov: ``tau*`` minimises the training MSE on a log grid; ``L* = L(tau*)``; for each
   factor f (default 1/3, 1, 3) the Tikhonov map with ``L(tau) = f L*``.
4. InvNet_{f L*} for the same factors, trained by Adam on the training pairs; each network gets the
   same seeded initialisation; certificate and empirical Lipschitz ratio are reported.
5. ISTA (l1, ``lam`` by grid search) and projected gradient (box, ball) on the same operator.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import torch

from ..solvers import Stopping
from .classical import run_solvers
from .data import Arc, ToyData, make_data, seeded_generator
from .invnet import InvNet, certificate, empirical_lipschitz
from .results import LipschitzCheck, Row, ToyResults, factor_label
from .tikhonov import (
    mse,
    naive_inverse,
    singular_values,
    tau_for_lipschitz,
    tikhonov,
    tikhonov_grid_search,
    tikhonov_lipschitz,
)
from .training import single_thread, train_invnet

__all__ = ["QUICK_OPTIONS", "TRAIN_SIZES", "ToyConfig", "run_toy"]

TRAIN_SIZES = (20, 100, 500)
"""The selectable training-set sizes."""

QUICK_OPTIONS: dict[str, Any] = {"iterations": 1500, "test_size": 500, "lam_grid": (1e-3, 1e1, 5), "solver_iterations": 300}
"""Overrides of the reduced run (``pnp toy --quick`` and the test-suite): ~15 s on 2 cores."""

_INIT_STREAM, _PAIRS_STREAM = 3, 4
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ToyConfig:
    """Options of the toy experiment (defaults: the committed benchmark).

    Attributes:
        train_size: number of training pairs, one of :data:`TRAIN_SIZES`.
        test_size: number of test pairs.
        noise_level: standard deviation of the Gaussian noise on y.
        eps: the matrix is ``[[1+eps, 1], [1, 1+eps]]``.
        arc: the curve carrying the ground truths.
        seed: seeds data, initialisation and the Lipschitz pairs.
        iterations, learning_rate: Adam on the full training batch.
        width, depth, delta: InvNet's lifted dimension, number of Euler blocks and step margin.
        factors: the Lipschitz levels ``f L*`` compared; must contain 1.
        tau_grid, lam_grid: ``(low, high, points)`` of the log grids for tau and ISTA's lam.
        solver_iterations, solver_tol: stopping rule of ISTA/PGD.
        lipschitz_pairs: random pairs for the empirical Lipschitz ratio.
    """

    train_size: int = 100
    test_size: int = 1000
    noise_level: float = 0.25
    eps: float = 0.25
    arc: Arc = field(default_factory=Arc)
    seed: int = 0
    iterations: int = 10_000
    learning_rate: float = 1e-3
    width: int = 10
    depth: int = 5
    delta: float = 0.01
    factors: tuple[float, ...] = (1 / 3, 1.0, 3.0)
    tau_grid: tuple[float, float, int] = (1e-4, 1e2, 61)
    lam_grid: tuple[float, float, int] = (1e-3, 1e1, 13)
    solver_iterations: int = 1000
    solver_tol: float = 1e-7
    lipschitz_pairs: int = 8192

    def __post_init__(self) -> None:
        if self.train_size not in TRAIN_SIZES:
            raise ValueError(f"train_size must be one of {', '.join(map(str, TRAIN_SIZES))}, got {self.train_size!r}")
        for name in ("iterations", "test_size", "width", "depth", "solver_iterations", "lipschitz_pairs"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.width < 2:
            raise ValueError(f"width must be at least 2, got {self.width}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        if not any(abs(f - 1) < 1e-12 for f in self.factors) or not all(f > 0 for f in self.factors):
            raise ValueError(f"factors must be positive and contain 1, got {self.factors!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def _linear_rows(data: ToyData, config: ToyConfig, lipschitz_star: float, estimates: dict) -> list[Row]:
    """Naive inversion and the Tikhonov maps with ``L(tau) = f L*``."""
    matrix, svals = data.physics.matrix, singular_values(data.physics.matrix)
    estimates["naive"] = naive_inverse(matrix, data.y_test)
    rows = [Row(
        key="naive", method="naive", label="naive inversion A^-1 y", lipschitz=float(1 / svals.min()),
        parameter="-", train_mse=mse(naive_inverse(matrix, data.y_train), data.x_train),
        test_mse=mse(estimates["naive"], data.x_test),
    )]
    for factor in config.factors:
        label = factor_label(factor)
        tau = tau_for_lipschitz(svals, factor * lipschitz_star)
        key = f"tikhonov[{label}]"
        estimates[key] = tikhonov(matrix, data.y_test, tau)
        rows.append(Row(
            key=key, method="tikhonov", label=f"Tikhonov, L = {label}",
            lipschitz=float(tikhonov_lipschitz(svals, tau)), parameter=f"tau={tau:.4g}",
            train_mse=mse(tikhonov(matrix, data.y_train, tau), data.x_train),
            test_mse=mse(estimates[key], data.x_test),
        ))
    return rows


def _invnet_run(data: ToyData, config: ToyConfig, factor: float, lipschitz_star: float):
    """Train InvNet_{f L*}; return its row, Lipschitz check, curve and model."""
    label = factor_label(factor)
    bound = factor * lipschitz_star
    model = InvNet(
        bound, generator=seeded_generator(config.seed, _INIT_STREAM),
        width=config.width, depth=config.depth, delta=config.delta,
    )
    curve = train_invnet(
        model, data.x_train, data.y_train, iterations=config.iterations,
        learning_rate=config.learning_rate, test=(data.x_test, data.y_test),
    )
    with torch.no_grad():
        train_mse, test_mse = mse(model(data.y_train), data.x_train), mse(model(data.y_test), data.x_test)
    cert = certificate(model)
    empirical = empirical_lipschitz(
        model, torch.cat((data.y_train, data.y_test)), pairs=config.lipschitz_pairs,
        generator=seeded_generator(config.seed, _PAIRS_STREAM),
    )
    key = f"invnet[{label}]"
    row = Row(
        key=key, method="invnet", label=f"InvNet, L = {label}", lipschitz=bound,
        parameter=f"c={cert.scale:.4g}", train_mse=train_mse, test_mse=test_mse,
    )
    check = LipschitzCheck(
        key=label, bound=bound, certified=cert.bound,
        max_step_sqnorm=max(cert.step_times_sqnorms, default=0.0), empirical=empirical,
    )
    return row, check, curve, model


def _oracle_tikhonov(data: ToyData, config: ToyConfig) -> float:
    """Best test MSE of Tikhonov over the tau grid (a reference the protocol never uses)."""
    low, high, points = config.tau_grid
    return tikhonov_grid_search(data.physics.matrix, data.x_test, data.y_test, low=low, high=high, points=points).best_error


def run_toy(config: ToyConfig = ToyConfig(), *, progress: Progress | None = None) -> ToyResults:
    """Run the whole toy experiment; deterministic for a given config.

    Everything runs on one CPU thread (:func:`pnp.toy.training.single_thread`): on 2-vectors,
    extra BLAS threads only add synchronisation, which on a busy machine made a (1000, 2) @ (2, 2)
    product about a thousand times slower. The caller's thread count is restored afterwards.

    Args:
        config: the options (:class:`ToyConfig`).
        progress: called with a short message before each stage (e.g. to print it).
    """
    with single_thread():
        return _run(config, progress or (lambda message: None))


def _run(config: ToyConfig, say: Progress) -> ToyResults:
    from .. import __version__

    start = time.perf_counter()
    data = make_data(
        train_size=config.train_size, test_size=config.test_size, noise_level=config.noise_level,
        eps=config.eps, arc=config.arc, seed=config.seed,
    )
    low, high, points = config.tau_grid
    grid = tikhonov_grid_search(data.physics.matrix, data.x_train, data.y_train, low=low, high=high, points=points)
    svals = singular_values(data.physics.matrix)
    lipschitz_star = float(tikhonov_lipschitz(svals, grid.best_tau))
    say(f"tau* = {grid.best_tau:.4g}, L* = {lipschitz_star:.4g}")
    estimates: dict[str, torch.Tensor] = {}
    rows = _linear_rows(data, config, lipschitz_star, estimates)
    checks, curves, models = [], {}, {}
    for factor in config.factors:
        say(f"training InvNet, L = {factor_label(factor)} ({config.iterations} iterations)")
        row, check, curve, model = _invnet_run(data, config, factor, lipschitz_star)
        rows.append(row)
        checks.append(check)
        curves[row.key], models[row.key] = curve, model
        with torch.no_grad():
            estimates[row.key] = model(data.y_test)
    say("ISTA and projected gradient")
    lam_search, solver_runs = run_solvers(
        data.physics, (data.x_train, data.y_train), (data.x_test, data.y_test),
        stopping=Stopping(max_iter=config.solver_iterations, tol=config.solver_tol), lam_grid=config.lam_grid,
    )
    for key, run in solver_runs.items():
        estimates[key] = run.result.x
        rows.append(Row(key=key, method=key, label=run.label, lipschitz=None, parameter=run.parameter,
                        train_mse=run.train_mse, test_mse=run.test_mse))
    return ToyResults(
        config=config.to_dict(), version=__version__, singular_values=tuple(float(s) for s in svals),
        tau_star=grid.best_tau, lipschitz_star=lipschitz_star,
        tikhonov_oracle_test_mse=_oracle_tikhonov(data, config), grid=grid, lam_search=lam_search,
        rows=rows, checks=checks, curves=curves, seconds=time.perf_counter() - start,
        data=data, estimates=estimates, models=models, solver_runs=solver_runs,
    )
