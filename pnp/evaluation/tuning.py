"""Grid search of one parameter on training problems, extending the grid when the best is on its edge."""

from __future__ import annotations

from typing import Callable, Iterable

__all__ = ["grid_search"]


def grid_search(evaluate: Callable[[float], float], grid: Iterable[float], *, ratio: float | None = 2.0,
                max_extensions: int = 4) -> tuple[float, dict[float, float]]:
    """The value of ``grid`` with the highest ``evaluate(value)`` (e.g. mean PSNR on train images).

    A best value on the edge of the values tried adds ``edge * ratio`` (or ``edge / ratio``), up to
    ``max_extensions`` times (none when ``ratio`` is None), so the optimum is not a grid artefact.
    Values are rounded to 4 significant digits. Returns the best value and the score of each tried.
    """
    scores: dict[float, float] = {}

    def tried(value: float) -> None:
        value = float(f"{value:.4g}")
        if value not in scores:
            scores[value] = evaluate(value)

    for value in grid:
        tried(value)
    for _ in range(max_extensions if ratio is not None else 0):
        assert ratio is not None
        best = max(scores, key=scores.__getitem__)
        if best == min(scores):
            tried(best / ratio)
        elif best == max(scores):
            tried(best * ratio)
        else:
            break
    return max(scores, key=scores.__getitem__), dict(sorted(scores.items()))
