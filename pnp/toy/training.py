"""Full-batch training of an :class:`~pnp.toy.invnet.InvNet` by Adam on the mean squared error.

Every step: ``loss = mean((InvNet(y) - x)^2)`` over all training pairs, an Adam step, then the
projection of ``c`` onto ``[-L, L]``. The networks are tiny (a few hundred weights), so the run is
dominated by per-operation overhead: it is done on one CPU thread (extra threads only add
synchronisation cost; the caller's thread count is restored afterwards) and is deterministic.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import torch

from .invnet import InvNet

__all__ = ["TrainingCurve", "single_thread", "train_invnet"]


@contextlib.contextmanager
def single_thread():
    """Run the block with ``torch.set_num_threads(1)``, restoring the previous value after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class TrainingCurve:
    """Training MSE at ``steps`` (training mode, before the step) and, when a test set was given,
    the test MSE of the evaluation-mode network at ``test_steps``; wall time in seconds."""

    steps: tuple[int, ...]
    train_mse: tuple[float, ...]
    test_steps: tuple[int, ...]
    test_mse: tuple[float, ...]
    seconds: float

    def to_dict(self) -> dict:
        return {
            "steps": list(self.steps), "train_mse": list(self.train_mse),
            "test_steps": list(self.test_steps), "test_mse": list(self.test_mse), "seconds": self.seconds,
        }


def _adam(model: InvNet, learning_rate: float) -> torch.optim.Optimizer:
    """Adam; the fused CPU kernel where this torch has one (same maths, less overhead)."""
    parameters = list(model.parameters())
    try:
        return torch.optim.Adam(parameters, lr=learning_rate, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(parameters, lr=learning_rate)


def _test_mse(model: InvNet, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        value = float((model(y) - x).square().mean())
    model.train()
    return value


def train_invnet(
    model: InvNet,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    iterations: int,
    learning_rate: float = 1e-3,
    record_every: int = 10,
    test: tuple[torch.Tensor, torch.Tensor] | None = None,
    test_every: int = 100,
) -> TrainingCurve:
    """Train ``model`` in place on the pairs (y -> x), both (N, 2); returns the curves.

    The test pairs, if given, are only *monitored* (for the training-curve figure), never used to
    choose anything. The model is left in evaluation mode (exact spectral norms).
    """
    if not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    if x.shape != y.shape:
        raise ValueError(f"x {tuple(x.shape)} and y {tuple(y.shape)} must have the same shape")
    steps, losses, test_steps, test_losses = [], [], [], []
    start = time.perf_counter()
    with single_thread():
        optimizer = _adam(model, learning_rate)
        model.train()
        for step in range(iterations):
            optimizer.zero_grad(set_to_none=True)
            loss = (model(y) - x).square().mean()
            loss.backward()
            optimizer.step()
            model.clamp_scale()
            if step % record_every == 0 or step == iterations - 1:
                steps.append(step)
                losses.append(float(loss.detach()))
            if test is not None and (step % test_every == 0 or step == iterations - 1):
                test_steps.append(step + 1)
                test_losses.append(_test_mse(model, *test))
        model.eval()
    return TrainingCurve(
        steps=tuple(steps), train_mse=tuple(losses), test_steps=tuple(test_steps),
        test_mse=tuple(test_losses), seconds=time.perf_counter() - start,
    )
