"""Proximal solvers: cross-solver agreement, guarantees, stopping and the result object."""

from __future__ import annotations

import json

import pytest
import torch

from pnp.denoisers import GaussianSmoother
from pnp.operators import Blur, Matrix, kernels
from pnp.solvers import (
    Box,
    L2Ball,
    ProgressBar,
    SolverOptions,
    StopReason,
    Stopping,
    fista,
    ista,
    pnp_pgd,
    projected_gradient,
)

TIGHT = Stopping(max_iter=5_000, tol=1e-12)


@pytest.fixture
def lasso_problem(generator):
    """A small well-conditioned least-squares problem in float64: A (12, 8), y (2, 12)."""
    matrix = torch.randn(12, 8, generator=generator, dtype=torch.float64) + 2 * torch.eye(12, 8, dtype=torch.float64)
    x_true = torch.zeros(2, 8, dtype=torch.float64)
    x_true[:, :3] = torch.randn(2, 3, generator=generator, dtype=torch.float64)
    physics = Matrix(matrix)
    y = physics.A(x_true) + 0.1 * torch.randn(2, 12, generator=generator, dtype=torch.float64)
    return physics, matrix, y


def test_ista_and_fista_reach_the_same_lasso_minimiser(lasso_problem):
    physics, matrix, y = lasso_problem
    lam = 0.5
    a, b = ista(physics, y, lam=lam, options=SolverOptions(TIGHT)), fista(physics, y, lam=lam, options=SolverOptions(TIGHT))
    assert a.converged and b.converged
    assert torch.allclose(a.x, b.x, atol=1e-7)
    # KKT conditions of min 1/2||Ax-y||^2 + lam||x||_1: -grad f(x) in lam * subdifferential |x|.
    gradient = (a.x @ matrix.T - y) @ matrix
    support = a.x.abs() > 1e-9
    assert torch.allclose(gradient[support], -lam * a.x[support].sign(), atol=1e-6)
    assert (gradient[~support].abs() <= lam + 1e-6).all()
    assert support.any() and (~support).any(), "the test problem should have a non-trivial support"


def test_fista_is_faster_than_ista_on_an_ill_conditioned_problem(generator):
    """O(1/k^2) against O(1/k): after the same budget FISTA's objective is lower."""
    matrix = torch.randn(8, 12, generator=generator, dtype=torch.float64)
    y = torch.randn(1, 8, generator=generator, dtype=torch.float64)
    physics, budget = Matrix(matrix), Stopping(max_iter=100, tol=0)
    slow = ista(physics, y, lam=0.1, options=SolverOptions(budget)).history.columns()["objective"][-1, 0]
    fast = fista(physics, y, lam=0.1, options=SolverOptions(budget)).history.columns()["objective"][-1, 0]
    assert fast < slow


def test_ista_objective_is_non_increasing(lasso_problem):
    physics, _, y = lasso_problem
    objective = ista(physics, y, lam=0.5, options=SolverOptions(Stopping(200, 0))).history.columns()["objective"]
    assert (objective[1:] <= objective[:-1] + 1e-12).all()


def test_pnp_with_exact_ridge_prox_reaches_the_ridge_solution(lasso_problem):
    physics, matrix, y = lasso_problem
    lam, tau = 0.3, 1.0 / float(physics.compute_sqnorm())

    def ridge_prox(v, sigma):  # prox of tau * (lam/2)||x||^2
        return v / (1 + tau * lam)

    result = pnp_pgd(physics, y, ridge_prox, sigma=0.0, options=SolverOptions(TIGHT, step=tau))
    normal = matrix.T @ matrix + lam * torch.eye(8, dtype=torch.float64)
    expected = torch.linalg.solve(normal, (y @ matrix).T).T
    assert result.converged
    assert torch.allclose(result.x, expected, atol=1e-8)


def test_relaxation_keeps_the_fixed_point(lasso_problem):
    physics, _, y = lasso_problem
    prox = lambda v, sigma: v / 1.2  # noqa: E731
    plain = pnp_pgd(physics, y, prox, sigma=0.0, options=SolverOptions(TIGHT))
    relaxed = pnp_pgd(physics, y, prox, sigma=0.0, relaxation=0.5, options=SolverOptions(TIGHT))
    assert torch.allclose(plain.x, relaxed.x, atol=1e-8)
    assert max(relaxed.iterations) > max(plain.iterations)


@pytest.fixture
def blurred_problem(smooth_image, generator):
    physics = Blur(kernels.levin(1))
    y = physics.A(smooth_image) + 0.01 * torch.randn(smooth_image.shape, generator=generator)
    return physics, y, smooth_image


def test_averaged_denoiser_gives_non_increasing_residual(blurred_problem):
    physics, y, _ = blurred_problem  # float64, so that round-off stays far below the residuals
    result = pnp_pgd(physics, y.double(), GaussianSmoother(0.7), sigma=0.01, options=SolverOptions(Stopping(150, 0)))
    residual = result.history.columns()["residual"][:, 0]
    assert (residual[1:] <= residual[:-1] * (1 + 1e-9)).all()
    assert residual[-1] < 1e-2 * residual[0]


@pytest.mark.parametrize("project", [Box(0.0, 0.5), L2Ball(radius=3.0, center=0.4)])
def test_projected_gradient_stays_feasible(blurred_problem, project):
    physics, y, _ = blurred_problem
    result = projected_gradient(physics, y, project=project, options=SolverOptions(Stopping(30, 0), keep_iterates=True))
    assert all(project.contains(x, atol=1e-5).all() for x in result.iterates)
    objective = result.history.columns()["objective"][:, 0]
    assert (objective[1:] <= objective[:-1] * (1 + 1e-6)).all()  # float32 round-off


def test_projections():
    x = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    ball = L2Ball(radius=1.0)
    assert torch.allclose(ball(x), torch.tensor([[0.6, 0.8], [0.3, 0.4]]))
    assert ball.contains(ball(x)).all()
    assert torch.equal(Box(0, 1)(torch.tensor([[-1.0, 0.5, 2.0]])), torch.tensor([[0.0, 0.5, 1.0]]))
    with pytest.raises(ValueError):
        Box(1, 0)
    with pytest.raises(ValueError):
        L2Ball(radius=-1)


def test_step_outside_convergent_range_is_rejected_unless_forced(blurred_problem):
    physics, y, _ = blurred_problem
    smoother = GaussianSmoother(1.0)
    with pytest.raises(ValueError, match="force=True"):
        pnp_pgd(physics, y, smoother, sigma=0.01, options=SolverOptions(step=2.0))
    with pytest.raises(ValueError, match="positive"):
        pnp_pgd(physics, y, smoother, sigma=0.01, options=SolverOptions(step=-1.0))
    with pytest.raises(ValueError, match="relaxation"):
        pnp_pgd(physics, y, smoother, sigma=0.01, relaxation=1.5)
    forced = pnp_pgd(physics, y, smoother, sigma=0.01, options=SolverOptions(Stopping(3, 0), step=2.0, force=True))
    assert forced.history.records[0].step_size == 2.0
    with pytest.raises(ValueError, match="force=True"):
        fista(physics, y, lam=0.1, options=SolverOptions(step=1.5))


def test_one_frozen_options_object_serves_every_solver(blurred_problem):
    """Every solver takes the shared settings through ``SolverOptions``; a shared object is never
    changed by a run, and a bad stopping rule is refused when the options are built."""
    import dataclasses

    physics, y, _ = blurred_problem
    shared = SolverOptions(Stopping(4, 0.0), keep_iterates=True)
    runs = [pnp_pgd(physics, y, GaussianSmoother(1.0), sigma=0.01, options=shared),
            ista(physics, y, lam=0.01, options=shared), fista(physics, y, lam=0.01, options=shared),
            projected_gradient(physics, y, project=Box(0.0, 1.0), options=shared)]
    assert all(run.iterations == (4,) * y.shape[0] and len(run.iterates) == 5 for run in runs)
    assert shared == SolverOptions(Stopping(4, 0.0), keep_iterates=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        shared.step = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError, match="Stopping"):
        SolverOptions(stopping=300)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pnp_pgd(physics, y, GaussianSmoother(1.0), sigma=0.01, stopping=Stopping(4, 0.0))  # type: ignore[call-arg]


def test_bad_measurements_are_rejected(blurred_problem):
    physics, y, _ = blurred_problem
    bad = y.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        pnp_pgd(physics, bad, GaussianSmoother(1.0), sigma=0.01)
    with pytest.raises(ValueError, match="x0"):
        pnp_pgd(physics, y, GaussianSmoother(1.0), sigma=0.01, x0=y[..., :-1])


def test_nan_stops_with_diverged_and_keeps_last_finite_iterate(blurred_problem):
    physics, y, _ = blurred_problem
    calls = []

    def breaks_on_third_call(v, sigma):
        calls.append(1)
        return v * float("nan") if len(calls) == 3 else v

    result = pnp_pgd(physics, y, breaks_on_third_call, sigma=0.0, options=SolverOptions(Stopping(50, 0)))
    assert result.stop_reason is StopReason.DIVERGED and not result.converged
    assert result.iterations == (3,)
    assert torch.isfinite(result.x).all()
    assert "step size" in str(result.stop_reason)


def test_max_iter_stop_reason(blurred_problem):
    physics, y, _ = blurred_problem
    result = pnp_pgd(physics, y, GaussianSmoother(1.0), sigma=0.01, options=SolverOptions(Stopping(4, 1e-12)))
    assert result.stop_reason is StopReason.MAX_ITER and result.iterations == (4,)
    assert "max_iter" in str(result.stop_reason)
    assert "not converged after 4 iterations" in result.summary()


def test_each_image_of_a_batch_stops_on_its_own(generator):
    physics = Blur(kernels.gaussian(1.0))
    images = torch.rand(3, 1, 23, 19, generator=generator) * torch.tensor([0.1, 1.0, 3.0]).view(3, 1, 1, 1)
    y = physics.A(images)
    smoother, stopping = GaussianSmoother(0.8), Stopping(300, 1e-4)
    batched = pnp_pgd(physics, y, smoother, sigma=0.0, options=SolverOptions(stopping))
    for i in range(3):
        alone = pnp_pgd(physics, y[i : i + 1], smoother, sigma=0.0, options=SolverOptions(stopping))
        assert batched.iterations[i] == alone.iterations[0]
        assert torch.allclose(batched.x[i], alone.x[0], atol=1e-6)
    assert batched.converged
    active = [r.active for r in batched.history.records]
    assert active == sorted(active, reverse=True)


@pytest.mark.parametrize("batch", [1, 3])
def test_anderson_on_a_batch_equals_each_image_alone(batch, generator):
    """Per-image Anderson states survive the solver's in-place-free iterate updates (no aliasing)."""
    from pnp.solvers import Anderson

    physics = Blur(kernels.gaussian(1.0))
    images = torch.rand(3, 1, 23, 19, generator=generator) * torch.tensor([0.1, 1.0, 3.0]).view(3, 1, 1, 1)
    y = physics.A(images)[:batch].double()
    smoother, stopping = GaussianSmoother(0.8), Stopping(300, 1e-8)
    batched = pnp_pgd(physics, y, smoother, sigma=0.0, options=SolverOptions(stopping), acceleration=Anderson(memory=4))
    plain = pnp_pgd(physics, y, smoother, sigma=0.0, options=SolverOptions(Stopping(5000, 1e-10)))
    for i in range(batch):
        alone = pnp_pgd(physics, y[i : i + 1], smoother, sigma=0.0, options=SolverOptions(stopping), acceleration=Anderson(memory=4))
        assert batched.iterations[i] == alone.iterations[0]
        torch.testing.assert_close(batched.x[i], alone.x[0], rtol=0, atol=1e-12)
        assert batched.iterations[i] < plain.iterations[i] / 2, "Anderson accelerates"
    torch.testing.assert_close(batched.x, plain.x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("batch", [0, 1, 3])
def test_batch_sizes(batch, generator):
    physics = Blur(kernels.box(3))
    y = torch.rand(batch, 3, 17, 13, generator=generator)
    result = pnp_pgd(physics, y, GaussianSmoother(1.0), sigma=0.0, options=SolverOptions(Stopping(20, 1e-3)))
    assert result.x.shape == y.shape and len(result.stop_reasons) == batch


def test_history_columns_json_and_distance(blurred_problem):
    physics, y, x = blurred_problem
    seen = []
    result = pnp_pgd(
        physics, y, GaussianSmoother(0.5), sigma=0.01, options=SolverOptions(Stopping(12, 0), keep_iterates=True), reference=x, callback=seen.append,
    )
    columns = result.history.columns()
    assert set(columns) >= {"iteration", "residual", "relative_residual", "psnr", "ssim", "step_size", "time"}
    assert "objective" not in columns
    assert columns["psnr"].shape == (12, 1) and len(seen) == 12
    assert (columns["time"][1:] >= columns["time"][:-1]).all()
    decoded = json.loads(result.history.to_json())
    assert decoded["iteration"] == list(range(1, 13))
    distances = result.distance_to(result.x)
    assert distances.shape == (13, 1) and distances[-1, 0] == 0
    assert torch.allclose(distances[1:, 0].diff().sign().abs().sum(), torch.tensor(11.0, dtype=torch.float64))
    plain = pnp_pgd(physics, y, GaussianSmoother(0.5), sigma=0.01, options=SolverOptions(Stopping(2, 0)))
    with pytest.raises(ValueError, match="keep_iterates"):
        plain.distance_to(x)


def test_progress_bar_callback(blurred_problem):
    physics, y, x = blurred_problem
    with ProgressBar(total=5, disable=True) as bar:
        result = pnp_pgd(physics, y, GaussianSmoother(1.0), sigma=0.0, options=SolverOptions(Stopping(5, 0)),
                         reference=x, callback=bar)
    assert len(result.history) == 5


def test_any_deepinv_physics_and_denoiser_work(smooth_image, generator):
    """A deepinv operator (norm by power method) and a deepinv denoiser plug into pnp_pgd."""
    import deepinv

    torch.manual_seed(0)  # deepinv's power method draws from the global generator
    physics = deepinv.physics.Blur(filter=kernels.gaussian(1.0)[None, None], padding="circular")
    y = physics.A(smooth_image) + 0.01 * torch.randn(smooth_image.shape, generator=generator)
    denoiser = deepinv.models.MedianFilter()
    result = pnp_pgd(physics, y, denoiser, sigma=0.01, options=SolverOptions(Stopping(20, 0)))
    assert result.x.shape == smooth_image.shape and torch.isfinite(result.x).all()


def test_stopping_validates():
    with pytest.raises(ValueError):
        Stopping(max_iter=-1)
    with pytest.raises(ValueError):
        Stopping(tol=float("nan"))


def test_anderson_reaches_the_same_fixed_point_with_fewer_evaluations(blurred_problem):
    from pnp.solvers import Anderson

    physics, y, x = blurred_problem
    y, stopping = y.double(), Stopping(2000, 1e-9)
    plain = pnp_pgd(physics, y, GaussianSmoother(0.5), sigma=0.01, x0=y, options=SolverOptions(stopping))
    accelerated = pnp_pgd(physics, y, GaussianSmoother(0.5), sigma=0.01, x0=y, options=SolverOptions(stopping),
                          acceleration=Anderson(memory=5))
    assert plain.converged and accelerated.converged
    assert torch.allclose(plain.x, accelerated.x, atol=1e-6)
    evaluations = accelerated.history.columns()["evaluations"][-1, 0]
    assert evaluations < 0.5 * plain.iterations[0]
    residual = accelerated.history.columns()["residual"][:, 0]
    assert (residual[1:] <= residual[:-1] * (1 + 1e-9)).all(), "the safeguard keeps the residual non-increasing"


def test_anderson_safeguard_falls_back_to_the_plain_iteration(blurred_problem):
    from pnp.solvers import Anderson

    physics, y, _ = blurred_problem
    y = y.double()
    plain = pnp_pgd(physics, y, GaussianSmoother(0.5), sigma=0.0, x0=y, options=SolverOptions(Stopping(20, 0)))
    strict = Anderson(decrease=1e-12)  # rejects every proposal
    guarded = pnp_pgd(physics, y, GaussianSmoother(0.5), sigma=0.0, x0=y, options=SolverOptions(Stopping(20, 0)),
                      acceleration=strict)
    columns = guarded.history.columns()
    counts = guarded.acceleration[0]
    assert counts["accepted"] == 0 and counts["rejected"] >= 9  # after a rejection the memory restarts
    assert torch.allclose(torch.from_numpy(columns["residual"]), torch.from_numpy(plain.history.columns()["residual"]))
    assert columns["evaluations"][-1, 0] == 20 + counts["rejected"]
    assert plain.acceleration is None
    with pytest.raises(ValueError):
        Anderson(decrease=1.0)


def test_fista_prox_with_a_ridge_prox_reaches_the_ridge_solution(lasso_problem):
    from pnp.solvers import fista_prox

    physics, matrix, y = lasso_problem
    lam = 0.3
    result = fista_prox(physics, y, prox=lambda v, tau: v / (1 + tau * lam),
                        prior=lambda x: 0.5 * lam * x.square().sum(dim=1), options=SolverOptions(TIGHT))
    expected = torch.linalg.solve(matrix.T @ matrix + lam * torch.eye(8, dtype=torch.float64), (y @ matrix).T).T
    assert result.converged and torch.allclose(result.x, expected, atol=1e-8)
    assert "objective" in result.history.columns()


def test_anderson_proposal_matches_the_dense_least_squares_formula(generator):
    from pnp.solvers import Anderson
    from pnp.solvers.anderson import AndersonState

    anderson, state = Anderson(memory=3, regularization=1e-6), AndersonState()
    points = [torch.rand(2, 3, 17, 13, generator=generator) for _ in range(5)]
    for x in points:  # T(x) = 0.5 x + c, residual g = T(x) - x
        t_x = 0.5 * x + 0.25
        proposal = anderson._propose(state, x, t_x, t_x - x)
    dx = torch.stack([(b - a).flatten() for a, b in zip(points[-4:-1], points[-3:])], 1).double()
    g = [(0.25 - 0.5 * p).flatten().double() for p in points]
    dg = torch.stack([b - a for a, b in zip(g[-4:-1], g[-3:])], 1)
    gram = dg.T @ dg
    gamma = torch.linalg.solve(gram + 1e-6 * gram.trace() * torch.eye(3, dtype=gram.dtype), dg.T @ g[-1])
    expected = (0.5 * points[-1] + 0.25).flatten().double() - (dx + dg) @ gamma
    torch.testing.assert_close(proposal.flatten().double(), expected, rtol=1e-4, atol=1e-5)


def test_anderson_keeps_fewer_differences_when_an_iterate_is_large(generator):
    from pnp.solvers import Anderson
    from pnp.solvers.anderson import AndersonState

    x = torch.rand(1, 3, 40, 40, generator=generator)  # 19,200 bytes in float32
    assert Anderson(memory=5).slots(x) == 5
    assert Anderson(memory=5, max_bytes=3 * 2 * 19_200).slots(x) == 3
    assert Anderson(memory=5, max_bytes=10).slots(x) == 1  # never below one
    assert Anderson(memory=5, max_bytes=None).slots(x) == 5
    anderson, state = Anderson(memory=5, max_bytes=2 * 2 * 19_200), AndersonState()
    for _ in range(6):
        x = torch.rand(1, 3, 40, 40, generator=generator)
        anderson._propose(state, x, 0.5 * x, -0.5 * x)
    assert len(state.dx) == len(state.dg) == 2
    with pytest.raises(ValueError, match="max_bytes"):
        Anderson(max_bytes=0)


def test_fista_momentum_is_an_accelerator_and_matches_the_textbook_recursion(lasso_problem):
    from pnp.solvers import fista, soft_threshold

    physics, matrix, y = lasso_problem
    lam, iterations = 0.2, 40
    result = fista(physics, y, lam=lam, options=SolverOptions(Stopping(iterations, 0.0), keep_iterates=True))
    tau = float(result.history.records[-1].step_size)  # 1/||A||^2 as the solver estimated it
    x = z = physics.A_adjoint(y)
    t = torch.ones((), dtype=y.dtype)
    for _ in range(iterations):  # Beck & Teboulle (2009), written out
        x_next = soft_threshold(z - tau * physics.A_adjoint(physics.A(z) - y), tau * lam)
        t_next = (1 + torch.sqrt(1 + 4 * t * t)) / 2
        z = x_next + ((t - 1) / t_next) * (x_next - x)
        x, t = x_next, t_next
    assert torch.allclose(result.x, x, rtol=1e-10, atol=1e-12)
    assert result.acceleration is not None and result.acceleration[0]["momentum_steps"] == iterations


def test_the_engine_owns_accelerator_state_so_one_accelerator_serves_many_runs(blurred_problem):
    from dataclasses import FrozenInstanceError

    from pnp.solvers import Anderson
    from pnp.solvers.accelerators import Move

    physics, y, _ = blurred_problem
    anderson = Anderson(memory=4)
    first = pnp_pgd(physics, y, GaussianSmoother(0.7), sigma=0.0, options=SolverOptions(Stopping(30, 1e-8)), acceleration=anderson)
    again = pnp_pgd(physics, y, GaussianSmoother(0.7), sigma=0.0, options=SolverOptions(Stopping(30, 1e-8)), acceleration=anderson)
    assert torch.equal(first.x, again.x) and first.iterations == again.iterations, "no memory leaks between runs"
    with pytest.raises(FrozenInstanceError):
        anderson.memory = 2  # type: ignore[misc]

    class Plain:  # the smallest accelerator: move to T(x), like the plain iteration
        def new_state(self):
            return None

        def step(self, state, x, t_x, apply_map):
            return Move(x, t_x, t_x, t_x, 0)

        def summary(self, state):
            return {}

    plain = pnp_pgd(physics, y, GaussianSmoother(0.7), sigma=0.0, options=SolverOptions(Stopping(30, 1e-8)))
    custom = pnp_pgd(physics, y, GaussianSmoother(0.7), sigma=0.0, options=SolverOptions(Stopping(30, 1e-8)), acceleration=Plain())
    assert torch.equal(plain.x, custom.x) and plain.iterations == custom.iterations
