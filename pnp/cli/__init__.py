"""Command-line interface: ``pnp COMMAND``; each command lives in its own module."""

import sys
from pathlib import Path

from .interrupt import exit_on_interrupt

if Path(sys.argv[0]).name == "pnp":  # the console script: Ctrl-C during the imports below is one line too
    exit_on_interrupt()

from . import benchmark, certify, deblur, denoise, toy, train  # noqa: E402, F401  (each registers its command)
from .app import app, main  # noqa: E402

__all__ = ["app", "main"]
