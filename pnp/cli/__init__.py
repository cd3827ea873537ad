"""Command-line interface: ``pnp COMMAND``; each command lives in its own module."""

from . import benchmark, certify, deblur, denoise, toy, train  # noqa: F401  (each registers its command)
from .app import app, main

__all__ = ["app", "main"]
