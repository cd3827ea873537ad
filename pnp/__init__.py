"""stable-pnp: plug-and-play image reconstruction with provably convergent averaged denoisers.

Subpackages: :mod:`pnp.operators` (forward operators), :mod:`pnp.solvers` (proximal algorithms),
:mod:`pnp.denoisers` (denoisers), :mod:`pnp.metrics`, :mod:`pnp.cli` (the ``pnp`` command).
"""

from importlib.metadata import PackageNotFoundError, version

from . import denoisers, metrics, operators, solvers

try:
    __version__ = version("stable-pnp")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "denoisers", "metrics", "operators", "solvers"]
