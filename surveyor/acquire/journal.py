"""The journal: crash-safe JSON Lines, one sample a line (docs/journal.md).

This module is THE writer of the journal format; ``surveyor.ingest.journal`` reads it. Every line
is written with one ``write`` on an ``O_APPEND`` descriptor and ``fsync``'d before the next sample,
so a killed logger (kill -9, a dead battery) loses at most the line being written, and appending to
an old journal whose last line was cut off starts on a new line instead of gluing two samples.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import math
import os
import secrets
import uuid
from pathlib import Path

from surveyor.errors import SurveyorError
from surveyor.model import JOURNAL_VERSION, SAMPLE_FIELDS


class JournalError(SurveyorError):
    """The journal cannot be opened or written (disk full, read-only, missing folder)."""


def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def iso_utc(when: _dt.datetime) -> str:
    """``2024-05-01T03:15:02.123Z``: millisecond precision, always UTC with ``Z``."""
    when = when.astimezone(_dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def new_session_id(now: _dt.datetime | None = None) -> str:
    """A new session ID per run: sortable start time plus randomness (two phones starting in the
    same second still get different sessions)."""
    now = now or utc_now()
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)


def config_dir() -> Path:
    """The user's surveyor config folder (``$XDG_CONFIG_HOME/surveyor`` or ``~/.config/surveyor``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "surveyor"


def device_id(directory: Path | None = None) -> str:
    """A stable per-machine device ID, created once and stored in ``device-id`` in the config dir.

    A random ID rather than a hardware serial or IMEI: it identifies the logging device across
    sessions (so merges keep two phones apart) without exposing anything about the owner.
    """
    directory = directory or config_dir()
    path = directory / "device-id"
    try:
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise JournalError(f"Cannot read the device ID from {path} ({exc.strerror}).",
                           fix="Give one with --device ID, or fix the file's permissions.") from None
    new = "dev-" + uuid.uuid4().hex[:12]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(new + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise JournalError(f"Cannot store a device ID in {path} ({exc.strerror}).",
                           fix="Give one with --device ID, or make the folder writable.") from None
    return new


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def make_sample(**fields) -> dict:
    """A journal line as a dict: ``v`` first, fields in :data:`SAMPLE_FIELDS` order, unknown
    (None) values left out. Unknown field names are a programming error and raise ``KeyError``."""
    extra = set(fields) - set(SAMPLE_FIELDS)
    if extra:
        raise KeyError(f"not journal fields: {sorted(extra)}")
    fields.setdefault("v", JOURNAL_VERSION)
    when = fields.get("time")
    if isinstance(when, _dt.datetime):
        fields["time"] = iso_utc(when)
    out = {}
    for name in SAMPLE_FIELDS:
        value = _clean(fields.get(name))
        if value is not None:
            out[name] = value
    return out


def encode_line(sample: dict) -> bytes:
    """One journal line: compact UTF-8 JSON and a newline; never contains a bare newline inside
    (JSON escapes them), so a line is always one sample."""
    return (json.dumps(sample, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            + "\n").encode("utf-8")


class JournalWriter:
    """Append samples to a journal file, each one flushed and fsync'd.

    Parameters
    ----------
    path
        The journal. Created if missing; appended to if it exists.

    Notes
    -----
    If the existing file does not end with a newline (the last line was cut by a crash), a newline
    is written first, so the broken line stays alone and the merge quarantines just that one.
    If a write fails (disk full), the file is truncated back to its last complete line so what was
    written stays valid, and :class:`JournalError` says how to fix it.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.lines_written = 0
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise JournalError(f"Cannot open the journal {self.path} ({exc.strerror}).",
                               fix=_fix_for(exc, self.path)) from None
        try:
            size = os.fstat(self._fd).st_size
            if size and not _ends_with_newline(self.path, size):
                self._write_all(b"\n")
                os.fsync(self._fd)
        except OSError as exc:
            os.close(self._fd)
            raise JournalError(f"Cannot prepare the journal {self.path} for appending ({exc.strerror}).",
                               fix=_fix_for(exc, self.path)) from None

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def write(self, sample: dict) -> None:
        """Write one sample as one line and fsync it before returning."""
        data = encode_line(sample)
        before = os.fstat(self._fd).st_size
        try:
            self._write_all(data)
            os.fsync(self._fd)
        except OSError as exc:
            # Keep what was written valid: drop the partial line (best effort; if even this fails,
            # the next run starts on a new line anyway).
            try:
                os.ftruncate(self._fd, before)
            except OSError:
                pass
            raise JournalError(
                f"Cannot write to the journal {self.path} ({exc.strerror}); "
                f"{self.lines_written} samples of this run are safe in it.",
                fix=_fix_for(exc, self.path)) from None
        self.lines_written += 1

    def close(self) -> None:
        if self._fd >= 0:
            try:
                os.close(self._fd)
            finally:
                self._fd = -1  # closed: no file descriptor

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _ends_with_newline(path: Path, size: int) -> bool:
    with open(path, "rb") as f:
        f.seek(size - 1)
        return f.read(1) == b"\n"


def _fix_for(exc: OSError, path: Path) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "The disk is full: free some space (or log to another card/folder) and run again."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "Choose a writable --out (on Termux, a folder under ~ or ~/storage/shared)."
    if exc.errno == errno.ENOENT:
        return f"Create the folder {path.parent} first, or choose another --out."
    return "Check the --out path and the storage, then run again."
