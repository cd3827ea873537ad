"""Matplotlib without a display, and figures saved atomically as PNG."""

from __future__ import annotations

import io
from pathlib import Path

from .io import atomic_write_bytes

__all__ = ["pyplot", "save_figure"]


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: Path, *, dpi: int = 120) -> Path:
    """Write ``figure`` to ``path`` as PNG (temporary file + rename) and close it."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    pyplot().close(figure)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)
