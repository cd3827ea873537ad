"""Callbacks for the solvers: progress display lives here, never in a solver body."""

from __future__ import annotations

import math

from tqdm.auto import tqdm

from .result import IterationRecord

__all__ = ["ProgressBar"]


class ProgressBar:
    """A tqdm bar showing the iteration, the worst relative residual and (with a reference) PSNR.

    Use as a context manager so the bar is closed::

        with ProgressBar(total=200) as bar:
            result = pnp_pgd(..., callback=bar)

    The bar is drawn at the first iteration, so nothing is printed when a solver rejects its
    input before iterating. ``total`` is the iteration budget, shown as ``k/≤total``: a solve usually
    stops on its tolerance long before, so no remaining time is guessed from the budget.
    """

    def __init__(self, total: int, *, description: str = "PnP", disable: bool = False) -> None:
        self._options = {"total": total, "desc": description, "disable": disable, "leave": False,
                         "bar_format": "{desc}: {n_fmt}/≤{total_fmt} iterations [{elapsed}, {rate_fmt}{postfix}]"}
        self._bar: tqdm | None = None

    def __call__(self, record: IterationRecord) -> None:
        if self._bar is None:
            self._bar = tqdm(**self._options)
        postfix = {"rel.res": f"{_nanmax(record.relative_residual):.2e}"}
        if record.psnr is not None:
            postfix["PSNR"] = f"{_nanmax(record.psnr):.2f}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _nanmax(values) -> float:
    finite = [float(v) for v in values if math.isfinite(float(v))]
    return max(finite) if finite else float("nan")
