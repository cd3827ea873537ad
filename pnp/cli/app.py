"""The typer application behind the ``pnp`` command, and its error convention.

Every command is a thin layer over the Python API. Expected failures (bad input, bad options)
are raised as ``ValueError`` or ``OSError`` by the API and turned by :func:`reports_errors` into one
line on stderr and exit code 2 -- never a traceback.
"""

from __future__ import annotations

import functools
import sys
import warnings
from typing import Callable, TypeVar

import typer

__all__ = ["app", "reports_errors"]

app = typer.Typer(
    name="pnp",
    help="Plug-and-play image reconstruction with provably convergent averaged denoisers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable)


def reports_errors(command: F) -> F:
    """Turn ``ValueError``/``OSError`` raised by a command into ``error: ...`` and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings():  # restores the warning display afterwards
                warnings.showwarning = _one_line_for_ours(warnings.showwarning)
                return command(*args, **kwargs)
        except (ValueError, OSError) as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def _one_line_for_ours(show: Callable) -> Callable:
    """A ``warnings.showwarning`` that prints the package's own warnings as ``warning: ...``."""

    def display(message, category, filename, lineno, file=None, line=None):
        if category.__module__.split(".")[0] == "pnp":
            typer.echo(f"warning: {message}", err=True)
        else:
            show(message, category, filename, lineno, file, line)

    return display


@app.callback()
def _root() -> None:
    """Plug-and-play image reconstruction with provably convergent averaged denoisers."""


def main() -> None:
    """Console-script entry point (Ctrl-C: one line, exit code 130)."""
    from .interrupt import exit_on_interrupt

    exit_on_interrupt()
    app(prog_name="pnp")
    sys.exit(0)
