"""Load a script of ``benchmarks/`` as a module in tests (the scripts are not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_script(relative: str, name: str | None = None) -> ModuleType:
    """``benchmarks/<relative>`` (e.g. ``"gpu/adopt.py"``) as the module ``name`` (default: the file's stem),
    registered in ``sys.modules`` so that dataclasses can look their module up by name."""
    path = BENCHMARKS / relative
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
