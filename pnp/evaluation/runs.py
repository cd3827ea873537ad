"""A resumable record of benchmark runs: one file per method, rewritten atomically after each run.

Long benchmarks (hours on a CPU) are interrupted; a :class:`RunLog` keeps every finished run
(``<folder>/<name>.json``, with a CSV beside it) so that the same command run again computes only
what is missing. A log belongs to one protocol (a JSON-able dict: images, kernels, noise, method
settings); opening it under another protocol is refused, so rows of different experiments never
mix. One process writes a log at a time; different methods (different logs) may run in
parallel processes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from .. import strict_json
from ..io import atomic_write_bytes
from .tables import Provenance

__all__ = ["RunLog"]


@dataclass
class RunLog:
    """Finished runs of one method under one protocol, keyed by the values of ``key_columns``."""

    path: Path
    protocol: dict
    columns: list[str]
    key_columns: tuple[str, ...]
    provenance: Provenance
    rows: list[dict] = field(default_factory=list)

    @classmethod
    def open(cls, path: Path, protocol: dict, columns: list[str], key_columns: tuple[str, ...],
             provenance: Provenance) -> "RunLog":
        """The log at ``path`` (.json) if it exists and has the same protocol, else a new empty one."""
        path = Path(path)
        log = cls(path, json.loads(json.dumps(protocol)), columns, key_columns, provenance)
        if path.exists():
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError) as error:
                raise ValueError(f"cannot read the run log {path}: {error}; move it away to start afresh") from None
            if record.get("protocol") != log.protocol:
                raise ValueError(f"{path} holds runs of another protocol ({_difference(record.get('protocol'), log.protocol)}); "
                                 "write to another --out, or move that file away")
            log.rows = list(record.get("rows", []))
            log.provenance = Provenance(**{**record.get("provenance", {}), "command": provenance.command})
        return log

    def key(self, row: dict) -> tuple:
        return tuple(row[column] for column in self.key_columns)

    def done(self) -> set[tuple]:
        return {self.key(row) for row in self.rows}

    def add(self, row: dict) -> None:
        """Record a finished run and write the log (JSON and CSV) atomically."""
        self.rows.append(row)
        self.write()

    def write(self) -> None:
        record = {"provenance": self.provenance.to_dict(), "protocol": self.protocol, "columns": self.columns,
                  "rows": self.rows}
        atomic_write_bytes(self.path, (strict_json.dumps(record, indent=1) + "\n").encode())
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_bytes(self.path.with_suffix(".csv"), buffer.getvalue().encode())


def _difference(old: dict | None, new: dict) -> str:
    if not isinstance(old, dict):
        return "no protocol recorded"
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return "differs in " + ", ".join(changed[:4])
