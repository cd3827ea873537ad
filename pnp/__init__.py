"""stable-pnp: plug-and-play image reconstruction with provably convergent averaged denoisers.

Subpackages: :mod:`pnp.operators` (forward operators), :mod:`pnp.solvers` (proximal algorithms),
:mod:`pnp.denoisers` (denoisers), :mod:`pnp.metrics`, :mod:`pnp.cli` (the ``pnp`` command). They are
imported on first use (``import pnp`` alone does not load torch), so the command line can set itself
up before the heavy imports.
"""

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stable-pnp")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

_SUBPACKAGES = ("denoisers", "metrics", "operators", "solvers")
__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'pnp' has no attribute {name!r}")
