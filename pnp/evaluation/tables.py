"""Benchmark output: tables as Markdown + CSV + JSON, figures as PNG, each with its provenance.

Every file states the command that produced it, the machine (CPU cores or GPU model), the date
and the package version, so a number in the repository can always be traced and regenerated.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import strict_json
from ..io import atomic_write_bytes

__all__ = ["Provenance", "Scope", "Table", "check_replaceable", "machine_description"]


def machine_description(device: torch.device | None = None) -> str:
    """E.g. ``"2-core CPU (x86_64), no GPU"`` or ``"NVIDIA H100 80GB HBM3 (GPU), 16-core CPU"``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu = f"{cores}-core CPU ({platform.machine()})"
    if device is not None and device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (GPU), {cpu}"
    return f"{cpu}, no GPU" if not torch.cuda.is_available() else f"{cpu} (GPU present, not used)"


@dataclass(frozen=True)
class Provenance:
    """Where a result comes from: command, machine, date, version."""

    command: str
    machine: str
    date: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"))
    version: str = field(default_factory=lambda: _version())

    @classmethod
    def here(cls, device: torch.device | None = None, command: str | None = None) -> "Provenance":
        return cls(command or "pnp " + " ".join(sys.argv[1:]), machine_description(device))

    @classmethod
    def of_script(cls) -> "Provenance":
        """For a script under ``benchmarks/`` run on the CPU: ``python benchmarks/NAME.py ARGS``."""
        from pathlib import Path

        script = Path(sys.argv[0])
        shown = f"benchmarks/{script.name}" if script.parent.name == "benchmarks" else str(script)
        return cls(" ".join(["python", shown, *sys.argv[1:]]), machine_description(torch.device("cpu")))

    def markdown(self) -> str:
        return (f"Command: `{self.command}`  \nMachine: {self.machine}  \nDate: {self.date}  \n"
                f"Package: stable-pnp {self.version}, torch {torch.__version__}\n")

    def to_dict(self) -> dict:
        return {"command": self.command, "machine": self.machine, "date": self.date, "version": self.version}


def _version() -> str:
    from .. import __version__

    return __version__


@dataclass(frozen=True)
class Scope:
    """What a table covers: its ``protocol`` (e.g. "denoising, BSDS500 val, full size") and ``size``
    (images or runs). A committed table is replaced only by one of the same protocol and at least
    the same size (:func:`check_replaceable`)."""

    protocol: str
    size: int


def check_replaceable(folder: Path, name: str, scope: Scope, *, replace: bool = False) -> None:
    """Refuse (``ValueError``) to overwrite ``folder/name.json`` made under another protocol or with a
    larger size, unless ``replace``. Called before a benchmark starts, so no work is lost."""
    path = Path(folder) / f"{name}.json"
    if replace or not path.exists():
        return
    try:
        old = json.loads(path.read_text()).get("scope")
    except (OSError, ValueError, AttributeError):
        old = None
    if not isinstance(old, dict):
        raise ValueError(f"{path} holds a table made without a recorded scope; pass --replace to overwrite it "
                         "deliberately, or --out another folder")
    if old.get("protocol") != scope.protocol:
        raise ValueError(f"{path} holds '{old.get('protocol')}', this run is '{scope.protocol}'; pass --replace to "
                         "overwrite it deliberately, or --out another folder")
    if int(old.get("size", 0)) > scope.size:
        raise ValueError(f"{path} holds a larger run ({old.get('size')} against {scope.size}); pass --replace to "
                         "overwrite it deliberately, or --out another folder")


def _cell(value) -> str:
    if isinstance(value, float):
        if value != 0 and abs(value) < 0.01:
            return f"{value:.2e}"  # residuals and distances: keep their magnitude visible
        if abs(value) >= 1:
            return f"{value:.2f}"
        digits = 3  # below 1, as many digits as it takes not to print 1.000 (an alpha of 0.99952: 0.9995)
        while round(abs(value), digits) >= 1 and digits < 9:
            digits += 1
        return f"{value:.{digits}f}"
    return "" if value is None else str(value)


@dataclass
class Table:
    """A titled table with named columns; rows are dicts keyed by column."""

    title: str
    columns: list[str]
    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, **row) -> None:
        self.rows.append(row)

    def markdown(self) -> str:
        lines = [f"| {' | '.join(self.columns)} |", f"|{'---|' * len(self.columns)}"]
        lines += [f"| {' | '.join(_cell(row.get(c)) for c in self.columns)} |" for row in self.rows]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path, name: str, provenance: Provenance, *, markdown: bool = True,
              scope: Scope | None = None, replace: bool = False) -> list[Path]:
        """``name.md`` (provenance, table, notes; unless ``markdown=False``, for long tables),
        ``name.csv`` and ``name.json``, atomically. With a ``scope``, an existing table of another
        protocol or a larger size is refused (:func:`check_replaceable`) unless ``replace``."""
        folder = Path(folder)
        if scope is not None:
            check_replaceable(folder, name, scope, replace=replace)
        notes = "".join(f"\n{note}\n" for note in self.notes)
        if markdown:
            atomic_write_bytes(folder / f"{name}.md",
                               f"# {self.title}\n\n{provenance.markdown()}\n{self.markdown()}{notes}".encode())
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_bytes(folder / f"{name}.csv", buffer.getvalue().encode())
        record = {"title": self.title, **provenance.to_dict(), "columns": self.columns, "rows": self.rows,
                  "notes": self.notes}
        if scope is not None:
            record["scope"] = {"protocol": scope.protocol, "size": scope.size}
        atomic_write_bytes(folder / f"{name}.json", (strict_json.dumps(record, indent=2) + "\n").encode())
        return [folder / f"{name}.{suffix}" for suffix in ("md", "csv", "json")[0 if markdown else 1:]]


_KEPT = "Rows kept from earlier runs"  # how the studies' notes on kept rows begin


def earlier_rows(path: Path, note: str) -> tuple[list[dict], str]:
    """The rows of the table written at ``path`` (its ``.json``) if it carries ``note`` (the note
    that names its problems), with a line naming the command, machine and date that made them
    (and, after it, the makers that table's own "Rows kept from earlier runs" note named);
    ``([], "")`` otherwise. Lets a study add configurations to a committed table without redoing it."""
    if not path.is_file():
        return [], ""
    record = json.loads(path.read_text())
    notes = record.get("notes", [])
    if note not in notes:
        return [], ""
    makers = [f"`{record['command']}` ({record['machine']}, {record['date']})"]
    # the rows that table itself kept name their makers in such a note: carry the chain on
    makers += [kept.split(": ", 1)[1] for kept in notes if kept.startswith(_KEPT) and ": " in kept]
    return list(record["rows"]), "; ".join(makers)


def publish(table: "Table", folder, name: str) -> None:
    """Write ``table`` as ``folder/name.{md,csv,json}`` with the provenance of the running script
    (:meth:`Provenance.of_script`) and print it."""
    table.write(folder, name, Provenance.of_script())
    print(table.markdown(), flush=True)
