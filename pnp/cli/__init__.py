"""Command-line interface: ``pnp COMMAND``; each command lives in its own module."""

from . import example  # noqa: F401  (registers the command)
from .app import app, main

__all__ = ["app", "main"]
