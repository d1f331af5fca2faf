"""Copies kept before surveyor replaces or removes data (``init --overwrite``, ``remove``).

A backup is a timestamped folder ``backups/YYYYMMDD-HHMMSS-WHAT/`` beside the survey (the folder
of the GeoPackage), holding copies of the files that are about to change. A GeoPackage is copied
with SQLite's online backup, so the copy is whole even while another process reads or writes it.
Nothing ever deletes a backup; delete old ones by hand when they are no longer wanted.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

BACKUP_FOLDER = "backups"


def backup_folder(root: str | Path, what: str) -> Path:
    """A new, empty ``backups/<timestamp>-<what>`` folder in ``root`` (a suffix keeps it new)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / BACKUP_FOLDER
    base.mkdir(parents=True, exist_ok=True)
    for n in range(1000):
        folder = base / (f"{stamp}-{what}" + (f"-{n}" if n else ""))
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot make a new backup folder in {base}")


def copy_geopackage(source: str | Path, target: str | Path) -> Path:
    """A consistent copy of a GeoPackage (SQLite's backup API: never half a transaction)."""
    src = sqlite3.connect(f"file:{Path(source)}?mode=ro", uri=True, timeout=120)
    try:
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return Path(target)


def back_up(files: list[str | Path], root: str | Path, what: str) -> Path | None:
    """Copy the ``files`` that exist into a new backup folder in ``root``; the folder, or None
    when none of them exists."""
    existing = [Path(f) for f in files if Path(f).is_file()]
    if not existing:
        return None
    folder = backup_folder(root, what)
    for f in existing:
        if f.suffix.lower() == ".gpkg":
            copy_geopackage(f, folder / f.name)
        else:
            shutil.copy2(f, folder / f.name)
    return folder
