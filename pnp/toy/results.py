"""What :func:`pnp.toy.run_toy` returns: the numbers (JSON, CSV, markdown) and, for the figures,
the data, estimates, trained networks and solver results."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field

import torch

from .classical import LambdaSearch, SolverRun, filled_history
from .data import ToyData
from .invnet import InvNet
from .tikhonov import GridSearch
from .training import TrainingCurve

__all__ = ["LipschitzCheck", "Row", "ToyResults", "factor_label"]


def factor_label(factor: float) -> str:
    """``1/3 -> 'L*/3'``, ``1 -> 'L*'``, ``3 -> '3L*'``, else ``'{factor:g}L*'``."""
    if abs(factor - 1) < 1e-12:
        return "L*"
    if factor < 1 and abs(1 / factor - round(1 / factor)) < 1e-9:
        return f"L*/{round(1 / factor)}"
    return f"{factor:g}L*"


@dataclass(frozen=True)
class Row:
    """One line of the result table.

    Attributes:
        key: unique id, e.g. ``"tikhonov[L*]"``.
        method: ``naive``, ``tikhonov``, ``invnet``, ``ista``, ``pgd_box`` or ``pgd_ball``.
        label: human-readable name.
        lipschitz: Lipschitz constant of the reconstruction map: exact for the linear maps, the
            imposed bound L for InvNet, None for the iterative solvers.
        parameter: the method's parameter, as text.
        train_mse, test_mse: mean squared error per coordinate.
    """

    key: str
    method: str
    label: str
    lipschitz: float | None
    parameter: str
    train_mse: float
    test_mse: float


@dataclass(frozen=True)
class LipschitzCheck:
    """Certificate and empirical check of one InvNet_L.

    ``certified = |c|`` is a proven Lipschitz bound when every block has ``h ||W||^2 < 2`` (exact
    spectral norm, ``max_step_sqnorm``); ``empirical`` is the largest ratio
    ``||f(y1) - f(y2)|| / ||y1 - y2||`` seen on random pairs (a lower bound on the true constant).
    """

    key: str
    bound: float
    certified: float
    max_step_sqnorm: float
    empirical: float

    @property
    def holds(self) -> bool:
        tolerance = 1e-9 * self.bound
        return (
            self.max_step_sqnorm < 2.0 and self.certified <= self.bound + tolerance
            and self.empirical <= self.certified + tolerance
        )


@dataclass
class ToyResults:
    """Numbers of one toy run; the last four fields are kept for the figures, not serialised."""

    config: dict
    version: str
    singular_values: tuple[float, ...]
    tau_star: float
    lipschitz_star: float
    tikhonov_oracle_test_mse: float
    grid: GridSearch
    lam_search: LambdaSearch
    rows: list[Row]
    checks: list[LipschitzCheck]
    curves: dict[str, TrainingCurve]
    seconds: float
    data: ToyData = field(repr=False)
    estimates: dict[str, torch.Tensor] = field(repr=False)
    models: dict[str, InvNet] = field(repr=False)
    solver_runs: dict[str, SolverRun] = field(repr=False)

    def row(self, key: str) -> Row:
        """The row with this key (``KeyError`` when absent)."""
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(key)

    def orderings(self) -> dict[str, bool]:
        """The expected outcome: InvNet_{L*} beats every Tikhonov map of the table and the
        test-set-oracle Tikhonov; naive inversion has the largest test MSE; every InvNet respects
        its bound."""
        invnet = self.row("invnet[L*]").test_mse
        tikhonov = min(r.test_mse for r in self.rows if r.method == "tikhonov")
        naive = self.row("naive").test_mse
        return {
            "invnet_star_beats_best_tikhonov": invnet < tikhonov,
            "invnet_star_beats_oracle_tikhonov": invnet < self.tikhonov_oracle_test_mse,
            "naive_is_worst": all(naive > r.test_mse for r in self.rows if r.key != "naive"),
            "invnet_bounds_hold": all(check.holds for check in self.checks),
        }

    def to_dict(self) -> dict:
        """JSON-ready numbers (no tensors except short lists)."""
        return {
            "version": self.version, "config": self.config, "seconds": self.seconds,
            "singular_values": list(self.singular_values), "tau_star": self.tau_star,
            "lipschitz_star": self.lipschitz_star, "tikhonov_oracle_test_mse": self.tikhonov_oracle_test_mse,
            "tau_grid": {"taus": self.grid.taus.tolist(), "train_mse": self.grid.errors.tolist()},
            "lambda_grid": {"lams": self.lam_search.lams.tolist(), "train_mse": self.lam_search.errors.tolist()},
            "rows": [asdict(row) for row in self.rows],
            "lipschitz_checks": [{**asdict(c), "holds": c.holds} for c in self.checks],
            "orderings": self.orderings(),
            "training_curves": {key: curve.to_dict() for key, curve in self.curves.items()},
            "solvers": {key: _solver_summary(run) for key, run in self.solver_runs.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_csv(self) -> str:
        """The result table, one row per method."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["key", "method", "label", "lipschitz", "parameter", "train_mse", "test_mse"])
        for r in self.rows:
            writer.writerow([r.key, r.method, r.label, "" if r.lipschitz is None else f"{r.lipschitz:.6g}",
                             r.parameter, f"{r.train_mse:.6g}", f"{r.test_mse:.6g}"])
        return buffer.getvalue()

    def to_markdown(self) -> str:
        """The test-MSE table and the Lipschitz-check table, in markdown."""
        lines = [
            f"tau* = {self.tau_star:.4g} (log grid search on the training set), "
            f"L* = L(tau*) = {self.lipschitz_star:.4g}; singular values of A: "
            + ", ".join(f"{s:.4g}" for s in self.singular_values),
            "",
            "| method | Lipschitz constant | parameter | train MSE | test MSE |",
            "|---|---|---|---|---|",
        ]
        for r in self.rows:
            lipschitz = "-" if r.lipschitz is None else f"{r.lipschitz:.4g}"
            lines.append(f"| {r.label} | {lipschitz} | {r.parameter} | {r.train_mse:.4f} | {r.test_mse:.4f} |")
        lines += [
            "", f"Oracle Tikhonov (tau tuned on the test set, for reference only): "
            f"test MSE {self.tikhonov_oracle_test_mse:.4f}.", "",
            "| network | bound L | certified abs(c) | max h‖W‖² (exact norm) | empirical max ratio | holds |",
            "|---|---|---|---|---|---|",
        ]
        for c in self.checks:
            lines.append(
                f"| InvNet_{c.key} | {c.bound:.4g} | {c.certified:.4g} | {c.max_step_sqnorm:.4f} | "
                f"{c.empirical:.4g} | {'yes' if c.holds else 'NO'} |"
            )
        lines += ["", "Orderings: " + ", ".join(f"{k} = {v}" for k, v in self.orderings().items())]
        return "\n".join(lines) + "\n"


def _solver_summary(run: SolverRun) -> dict:
    columns = run.result.history.columns()
    summary = {
        "label": run.label, "test_mse": run.test_mse, "train_mse": run.train_mse,
        "iterations_max": max(run.result.iterations, default=0),
        "converged_fraction": sum(r.value == "converged" for r in run.result.stop_reasons)
        / max(len(run.result.stop_reasons), 1),
    }
    for name in ("relative_residual", "objective"):
        if name in columns:
            summary[f"mean_{name}"] = [float(v) for v in filled_history(run.result, name).mean(axis=1)]
    return summary
