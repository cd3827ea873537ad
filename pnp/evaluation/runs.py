"""A resumable record of benchmark runs: one file per method, rewritten atomically after each run.

Long benchmarks (hours on a CPU) are interrupted; a :class:`RunLog` keeps every finished run
(``<folder>/<name>.json``, with a CSV beside it) so that the same command run again computes only
what is missing. A log belongs to one protocol (a JSON-able dict: images, kernels, noise, method
settings); opening it under another protocol is refused, so rows of different experiments never
mix, unless the caller names which old rows the new protocol still describes (``salvage``: e.g. when
only the prior of one noise level changed, the runs of the other levels are kept and the log is
rewritten under the new protocol; the dropped runs are computed again).

Several processes may fill one log on one machine (the same command started once per core): a
process :meth:`RunLog.claim`\ s a run before computing it (a non-blocking ``flock`` on a lock file
of that run, which the kernel releases when the process ends, killed or not) and :meth:`RunLog.add`
merges its row with the rows the others wrote (read-merge-write under the log's own lock). The lock
files live in the system's temporary folder, never beside the results. Without ``fcntl`` (Windows)
there is no locking: one process per log.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: one process per log
    fcntl = None  # type: ignore[assignment]

from .. import strict_json
from ..io import atomic_write_bytes
from .tables import Provenance

__all__ = ["RunLog", "Salvage"]

#: Given the protocol a log was made under, which of its rows the new protocol still describes (a row
#: predicate), or ``None`` when none of them can be kept (the log is then refused, as without salvage).
Salvage = Callable[[dict], "Callable[[dict], bool] | None"]


@dataclass
class RunLog:
    """Finished runs of one method under one protocol, keyed by the values of ``key_columns``."""

    path: Path
    protocol: dict
    columns: list[str]
    key_columns: tuple[str, ...]
    provenance: Provenance
    rows: list[dict] = field(default_factory=list)
    #: Rows of the file dropped on opening because the protocol changed under them (see ``salvage``).
    dropped: int = 0

    @classmethod
    def open(cls, path: Path, protocol: dict, columns: list[str], key_columns: tuple[str, ...],
             provenance: Provenance, *, salvage: Salvage | None = None) -> "RunLog":
        """The log at ``path`` (.json) if it exists and has the same protocol, else a new empty one.

        A log made under another protocol is refused, unless ``salvage(old_protocol)`` returns a
        predicate: then the rows it accepts are kept, the others dropped (``dropped`` counts them), and
        the file is rewritten at once under the new protocol (under the log's lock, so that parallel
        processes of one command agree)."""
        path = Path(path)
        log = cls(path, json.loads(json.dumps(protocol)), columns, key_columns, provenance)
        if not path.exists():
            return log
        with _locked(log._lock_path("log")):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError) as error:
                raise ValueError(f"cannot read the run log {path}: {error}; move it away to start afresh") from None
            log.rows = list(record.get("rows", []))
            log.provenance = Provenance(**{**record.get("provenance", {}), "command": provenance.command})
            if record.get("protocol") != log.protocol:
                still_valid = salvage(record.get("protocol") or {}) if salvage is not None else None
                if still_valid is None:
                    raise ValueError(f"{path} holds runs of another protocol ({_difference(record.get('protocol'), log.protocol)}); "
                                     "write to another --out, or move that file away")
                kept = [row for row in log.rows if still_valid(row)]
                log.dropped, log.rows = len(log.rows) - len(kept), kept
                log.write()
        return log

    def key(self, row: dict) -> tuple:
        return tuple(row[column] for column in self.key_columns)

    def done(self) -> set[tuple]:
        return {self.key(row) for row in self.rows}

    def add(self, row: dict) -> None:
        """Record a finished run and write the log (JSON and CSV) atomically, with the runs other
        processes added to the file meanwhile."""
        with _locked(self._lock_path("log")):
            self._merge_file()
            if self.key(row) not in self.done():
                self.rows.append(row)
            self.write()

    @contextlib.contextmanager
    def claim(self, key: tuple) -> Iterator[bool]:
        """Hold run ``key`` while the ``with`` block computes it: yields ``True`` when this process
        has it, ``False`` when another process holds it or has finished it (re-read from the file)."""
        with _locked(self._lock_path(repr(key)), wait=False) as held:
            if not held:
                yield False
                return
            with _locked(self._lock_path("log")):
                self._merge_file()
            yield key not in self.done()

    def _merge_file(self) -> None:
        """Add the rows of the file on disk (written by other processes) that this log lacks."""
        if not self.path.exists():
            return
        try:
            record = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return  # an unreadable file is replaced by this log's rows, as before
        if record.get("protocol") != self.protocol:
            raise ValueError(f"{self.path} now holds runs of another protocol; write to another --out")
        done = self.done()
        self.rows.extend(row for row in record.get("rows", []) if self.key(row) not in done)

    def _lock_path(self, name: str) -> Path:
        """A lock file for ``name`` of this log, in the temporary folder (keyed by the log's path)."""
        log_id = hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / "stable-pnp-locks" / log_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder / (hashlib.sha256(name.encode()).hexdigest()[:24] + ".lock")

    def write(self) -> None:
        record = {"provenance": self.provenance.to_dict(), "protocol": self.protocol, "columns": self.columns,
                  "rows": self.rows}
        atomic_write_bytes(self.path, (strict_json.dumps(record, indent=1) + "\n").encode())
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_bytes(self.path.with_suffix(".csv"), buffer.getvalue().encode())


@contextlib.contextmanager
def _locked(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """An exclusive ``flock`` on ``path`` for the ``with`` block; yields whether it was obtained
    (always ``True`` when ``wait``; ``True`` without locking where ``fcntl`` is missing)."""
    if fcntl is None:  # pragma: no cover
        yield True
        return
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _difference(old: dict | None, new: dict) -> str:
    if not isinstance(old, dict):
        return "no protocol recorded"
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return "differs in " + ", ".join(changed[:4])
