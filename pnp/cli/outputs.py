"""Before any work: every file a command will write, checked against its inputs and each other.

A command lists what it reads (image, kernel file, checkpoint) and everything it will write
(image, kernel sidecar, report files, JSON). :func:`check_outputs` refuses, with one line naming the
option to change:

- an output that is the same file as an input, through links too (same resolved path, or the same
  device and inode for an existing file: a hard link);
- two outputs that are the same file;
- an output that is a folder, whose parent is a file, whose folder cannot be created or written,
  or (for images) whose extension no writer knows.

Nothing is written and nothing is computed before these checks pass, so a refused command loses no
work and changes no file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

__all__ = ["Output", "check_outputs"]


@dataclass(frozen=True)
class Output:
    """A file a command will write: its ``path``, the option that sets it, and whether it is an image."""

    path: Path
    option: str
    image: bool = False


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


def _writable_folder(path: Path, option: str) -> None:
    """The nearest existing ancestor of ``path``'s folder must be a writable folder."""
    folder = path.parent
    while not folder.exists():
        if folder.parent == folder:
            break
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"{option} {path}: {folder} is a file, not a folder; choose another {option}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path}: cannot write in {folder} (permission denied); choose another {option}")


def check_outputs(inputs: dict[str, Path | None], outputs: list[Output]) -> None:
    """Raise ``ValueError`` (one line) if any output would overwrite an input or another output, or
    cannot be written. ``inputs`` maps a description ("the input image") to a path (None: none)."""
    present = {label: Path(path) for label, path in inputs.items() if path is not None}
    for index, output in enumerate(outputs):
        path = Path(output.path)
        for label, source in present.items():
            if _same_file(path, source):
                raise ValueError(f"{output.option} {path} is {label}; it would be overwritten: choose another "
                                 f"{output.option}")
        for other in outputs[:index]:
            if _same_file(path, Path(other.path)):
                raise ValueError(f"{output.option} {path} is also written as {other.option}; choose another "
                                 f"{output.option}")
        if path.is_dir():
            raise ValueError(f"{output.option} {path} is a folder; give a file name")
        if output.image and Image.registered_extensions().get(path.suffix.lower()) is None:
            raise ValueError(f"{output.option} {path}: unknown image format {path.suffix!r}; use .png, .jpg or .tif")
        _writable_folder(path, output.option)
