"""Writing output files whole or not at all.

Every output (maps, prints, reports, exports, sheets) is written to a hidden sibling file and
renamed into place only when complete, so a crash, a full disk or Ctrl-C never leaves a half
file where a finished one is expected (a half-written HTML map still opens, and shows too little).
The sibling keeps the output's suffix: some writers (matplotlib, GDAL) choose the format by it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(out: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``out`` to write to; renamed to ``out`` when the block succeeds.

    The folder of ``out`` must exist (the command line creates it; see ``surveyor.cli.options``).
    """
    out = Path(out)
    tmp = out.with_name(f".{out.name}.part{out.suffix}")
    if tmp.exists():
        tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(out: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text to ``out`` atomically; returns the path."""
    with atomic_path(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(out)


def write_bytes(out: str | os.PathLike, data: bytes) -> Path:
    """Write bytes to ``out`` atomically; returns the path."""
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)
    return Path(out)
