"""Ctrl-C ends the ``pnp`` command with one line and exit code 130, at any moment, start-up included.

The handler raises ``SystemExit(130)`` rather than ``KeyboardInterrupt``, so no traceback is printed
(not even from inside an import) and the atomic writers still remove their temporary files on the
way out: files already written are complete, none is half-written.
"""

from __future__ import annotations

import signal
import sys
import threading

__all__ = ["exit_on_interrupt"]

MESSAGE = "interrupted: stopped before finishing (files already written are complete; nothing is half-written)\n"


def _interrupted(signum, frame) -> None:
    sys.stderr.write(MESSAGE)
    raise SystemExit(130)


def exit_on_interrupt() -> None:
    """Install the handler (main thread only; elsewhere Python does not allow it)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupted)
