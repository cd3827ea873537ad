"""The 2-D toy inverse problem: data, Tikhonov maths, InvNet certificates, a reduced run, the CLI."""

from __future__ import annotations

import json
import math
import time

import pytest
import torch
from typer.testing import CliRunner

from pnp.cli import app
from pnp.operators import ill_conditioned_matrix
from pnp.toy import (
    QUICK_OPTIONS,
    Arc,
    DenseEulerBlock,
    InvNet,
    ToyConfig,
    certificate,
    empirical_lipschitz,
    feasible_sets,
    make_data,
    naive_inverse,
    run_toy,
    seeded_generator,
    singular_values,
    tau_for_lipschitz,
    tikhonov,
    tikhonov_lipschitz,
    train_invnet,
)
from pnp.toy.figures import FIGURES

REDUCED = ToyConfig(**QUICK_OPTIONS)
MATRIX = ill_conditioned_matrix(0.25).matrix.double()


@pytest.fixture(scope="module")
def reduced():
    """One reduced run shared by the tests below (1500 Adam iterations per network)."""
    start = time.perf_counter()
    results = run_toy(REDUCED)
    return results, time.perf_counter() - start


def _ratios(fn, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.linalg.vector_norm(fn(first) - fn(second), dim=1) / torch.linalg.vector_norm(first - second, dim=1)


# --- data -----------------------------------------------------------------------------------


def test_data_is_seeded_nested_and_on_the_arc():
    small, large = make_data(train_size=20, seed=3), make_data(train_size=100, seed=3)
    again = make_data(train_size=20, seed=3)
    assert torch.equal(small.x_train, again.x_train) and torch.equal(small.y_train, again.y_train)
    assert torch.equal(small.x_train, large.x_train[:20]) and torch.equal(small.y_train, large.y_train[:20])
    assert torch.equal(small.x_test, large.x_test) and torch.equal(small.y_test, large.y_test)
    assert not torch.equal(make_data(seed=4).x_test, large.x_test)
    assert torch.allclose(torch.linalg.vector_norm(large.x_train, dim=1), torch.ones(100, dtype=torch.float64))
    assert (large.x_train[:, 1] >= -1e-12).all()  # upper half-circle


@pytest.mark.parametrize("kwargs", [{"train_size": 0}, {"noise_level": -1.0}, {"seed": -1}])
def test_data_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        make_data(**kwargs)
    with pytest.raises(ValueError):
        Arc(t0=1.0, t1=0.0)


# --- naive inversion and Tikhonov ------------------------------------------------------------


def test_naive_inverse_inverts(generator):
    y = torch.randn(7, 2, generator=generator, dtype=torch.float64)
    assert torch.allclose(naive_inverse(MATRIX, y) @ MATRIX.T, y, atol=1e-12)


@pytest.mark.parametrize("tau", [-0.05, 0.0, 1e-3, 0.1585, 2.0, 50.0])
def test_tikhonov_matches_a_direct_solve(generator, tau):
    y = torch.randn(9, 2, generator=generator, dtype=torch.float64)
    normal = MATRIX.T @ MATRIX + tau * torch.eye(2, dtype=torch.float64)
    direct = torch.linalg.solve(normal, (y @ MATRIX).T).T
    assert torch.allclose(tikhonov(MATRIX, y, tau), direct, atol=1e-12)


def test_tikhonov_rejects_tau_below_minus_smin_squared():
    with pytest.raises(ValueError, match="tau"):
        tikhonov(MATRIX, torch.zeros(1, 2, dtype=torch.float64), -0.0625)


@pytest.mark.parametrize("tau", [-0.03, 0.0, 1e-4, 0.01, 0.1585, 0.5625, 1.0, 10.0, 100.0])
def test_lipschitz_formula_is_the_operator_norm_of_the_tikhonov_map(tau):
    svals = singular_values(MATRIX)
    operator = torch.linalg.solve(MATRIX.T @ MATRIX + tau * torch.eye(2, dtype=torch.float64), MATRIX.T)
    exact = torch.linalg.matrix_norm(operator, ord=2)
    assert float(tikhonov_lipschitz(svals, tau)) == pytest.approx(float(exact), rel=1e-12)
    assert tau_for_lipschitz(svals, float(exact)) == pytest.approx(tau, abs=1e-10)


def test_lipschitz_levels_and_the_naive_limit():
    svals = singular_values(MATRIX)
    assert svals.tolist() == pytest.approx([2.25, 0.25])
    assert float(tikhonov_lipschitz(svals, 0.0)) == pytest.approx(4.0)  # 1/eps, the naive inverse
    assert tau_for_lipschitz(svals, 4.0) == pytest.approx(0.0, abs=1e-15)
    assert tau_for_lipschitz(svals, 5.0) < 0  # beyond 1/s_min Tikhonov must anti-regularise
    taus = torch.logspace(-4, 2, 50, dtype=torch.float64)
    assert (tikhonov_lipschitz(svals, taus).diff() < 0).all()


# --- Euler blocks and InvNet -----------------------------------------------------------------


def _blown_up_block(generator, scale: float = 5.0) -> DenseEulerBlock:
    block = DenseEulerBlock(10, generator=generator)
    with torch.no_grad():
        block.weight.mul_(scale)
        block.step_logit.fill_(4.0)  # step close to the limit 2(1 - delta)/||W||^2
    return block.eval()


def test_euler_block_is_averaged_with_the_exact_norm(generator):
    block = _blown_up_block(generator)
    alpha = block.step_times_sqnorm() / 2
    assert 0 < alpha < 1 - block.delta + 1e-12
    x = 3 * torch.randn(4000, 10, generator=generator, dtype=torch.float64)
    z = x + torch.randn(4000, 10, generator=generator, dtype=torch.float64) * torch.rand(4000, 1, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        tx, tz = block(x), block(z)
    lhs = (tx - tz).square().sum(dim=1)
    rhs = (x - z).square().sum(dim=1) - (1 - alpha) / alpha * ((x - tx) - (z - tz)).square().sum(dim=1)
    assert (lhs <= rhs + 1e-10).all()
    assert (_ratios(block, x, z) <= 1 + 1e-12).all()


def test_power_iteration_converges_to_the_exact_norm(generator):
    block = _blown_up_block(generator).train()
    for _ in range(200):
        estimate = block._power_norm().detach()
    exact = float(block.exact_norm().detach())
    assert float(estimate) == pytest.approx(exact, rel=1e-6)
    assert float(estimate) <= exact * (1 + 1e-12)


@pytest.mark.parametrize("lipschitz", [0.3, 1.0, 3.0])
def test_invnet_respects_its_bound(generator, lipschitz):
    model = InvNet(lipschitz, generator=generator)
    with torch.no_grad():
        model.scale.fill_(10.0)  # outside [-L, L]: the forward pass clamps it
        for block in model.blocks:
            block.weight.mul_(4.0)
            block.step_logit.fill_(3.0)
    model.eval()
    cert = certificate(model)
    assert cert.valid and cert.bound == pytest.approx(lipschitz)
    y = torch.randn(64, 2, generator=generator, dtype=torch.float64)
    ratio = empirical_lipschitz(model, y, pairs=4000, generator=generator)
    assert 0 < ratio <= lipschitz * (1 + 1e-12)
    with pytest.raises(ValueError, match="shape"):
        model(torch.zeros(3, 3, dtype=torch.float64))


def test_training_is_reproducible():
    data = make_data(train_size=20, seed=1)
    states = []
    for _ in range(2):
        model = InvNet(1.0, generator=seeded_generator(1, 3))
        curve = train_invnet(model, data.x_train, data.y_train, iterations=25)
        states.append(model.state_dict())
    assert len(curve.steps) == len(curve.train_mse) > 0
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    with pytest.raises(ValueError, match="iterations"):
        train_invnet(model, data.x_train, data.y_train, iterations=0)


# --- the reduced run -------------------------------------------------------------------------


def test_reduced_run_orderings(reduced):
    results, seconds = reduced
    orderings = results.orderings()
    assert orderings["invnet_star_beats_best_tikhonov"], results.to_markdown()
    assert orderings["invnet_star_beats_oracle_tikhonov"], results.to_markdown()
    assert orderings["naive_is_worst"], results.to_markdown()
    assert orderings["invnet_bounds_hold"], results.to_markdown()
    assert all(math.isfinite(r.test_mse) and math.isfinite(r.train_mse) for r in results.rows)
    print(f"reduced run: {seconds:.1f} s")


def test_reduced_run_lipschitz_checks(reduced):
    results, _ = reduced
    svals = singular_values(results.data.physics.matrix)
    assert results.lipschitz_star == pytest.approx(float(tikhonov_lipschitz(svals, results.tau_star)))
    assert [c.bound for c in results.checks] == pytest.approx([results.lipschitz_star * f for f in REDUCED.factors])
    for check in results.checks:
        assert check.max_step_sqnorm < 2 * (1 - REDUCED.delta) + 1e-12
        assert check.empirical <= check.certified * (1 + 1e-12) <= check.bound * (1 + 1e-12)
    y = results.data.y_test
    for key, model in results.models.items():
        bound = model.lipschitz
        other = y + 0.3 * torch.randn(y.shape, generator=seeded_generator(9), dtype=y.dtype)
        assert (_ratios(model, y, other) <= bound * (1 + 1e-12)).all(), key
        state = model.width
        x = torch.randn(2000, state, generator=seeded_generator(10), dtype=torch.float64)
        z = x + 0.1 * torch.randn(2000, state, generator=seeded_generator(11), dtype=torch.float64)
        for block in model.blocks:
            assert (_ratios(block, x, z) <= 1 + 1e-12).all(), key


def test_reduced_run_solvers_have_histories_and_pgd_stays_feasible(reduced):
    results, _ = reduced
    assert set(results.solver_runs) == {"ista", "pgd_box", "pgd_ball"}
    for run in results.solver_runs.values():
        columns = run.result.history.columns()
        assert len(run.result.history) > 10 and "objective" in columns and "relative_residual" in columns
        assert run.result.iterates is not None and len(run.result.iterates) == len(run.result.history) + 1
    sets = feasible_sets(results.data.x_train)
    assert all(sets["box"].contains(results.data.x_train)) and all(sets["ball"].contains(results.data.x_train, atol=1e-12))
    for kind, feasible in sets.items():
        for iterate in results.solver_runs[f"pgd_{kind}"].result.iterates:
            assert feasible.contains(iterate, atol=1e-12).all(), kind


def test_results_serialise(reduced):
    results, _ = reduced
    payload = json.loads(results.to_json())
    assert payload["orderings"] == results.orderings()
    assert len(payload["rows"]) == len(results.rows) == 10
    assert results.to_csv().count("\n") == len(results.rows) + 1
    table = results.to_markdown()
    assert "InvNet, L = L*" in table and "naive inversion" in table


# --- the command line --------------------------------------------------------------------------


def test_cli_writes_the_table_and_figures(tmp_path):
    out = tmp_path / "toy"
    result = CliRunner().invoke(app, ["toy", "--quick", "--iterations", "30", "--train-size", "20", "-o", str(out)])
    assert result.exit_code == 0, result.output
    expected = {"table.md", "table.csv", "results.json", *FIGURES}
    assert expected <= {p.name for p in out.iterdir()}
    assert all((out / name).stat().st_size > 0 for name in expected)
    assert json.loads((out / "results.json").read_text())["config"]["iterations"] == 30
    assert "| method |" in result.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [(["--train-size", "7"], "error: train_size must be one of"), (["--iterations", "-5"], "error: iterations")],
)
def test_cli_rejects_bad_options(tmp_path, arguments, message):
    result = CliRunner().invoke(app, ["toy", *arguments, "-o", str(tmp_path / "never")])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert not (tmp_path / "never").exists()
