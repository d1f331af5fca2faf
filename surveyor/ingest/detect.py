"""Recognise a file's format by its content, not its name.

Readers are listed here once, most specific first; a module that is not present is skipped.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path

from surveyor.errors import InputError
from surveyor.ingest.base import Reader

READER_MODULES = (
    "journal", "gnettrack", "towercollector", "ookla", "opencellid", "gpx", "nmea", "generic",
)
HEAD_BYTES = 64 * 1024


@lru_cache(maxsize=1)
def readers() -> dict[str, Reader]:
    out: dict[str, Reader] = {}
    for name in READER_MODULES:
        try:
            module = importlib.import_module(f"surveyor.ingest.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"surveyor.ingest.{name}":
                continue
            raise
        reader = module.READER
        out[reader.name] = reader
    return out


def read_head(path: Path) -> str:
    with open(path, "rb") as fh:
        raw = fh.read(HEAD_BYTES)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    return raw.decode("utf-8", errors="replace")


def detect(path: Path, source_file: str, mapping: dict[str, str] | None = None) -> Reader:
    """The reader for this file, or :class:`InputError` listing the known formats.

    With ``--map`` given, a table no specific reader claims is read as a generic table when the
    mapped columns make it one.
    """
    head = read_head(path)
    if not head.strip():
        raise InputError("the file is empty.", path=source_file,
                         fix="Check that the export finished and copy the file again.")
    found = readers()
    for reader in found.values():
        if not reader.generic and reader.sniff(head, path):
            return reader
    if mapping and "generic" in found:
        from surveyor.ingest.generic import claims

        if claims(head, mapping):
            return found["generic"]
    for reader in found.values():
        if reader.generic and reader.sniff(head, path):
            return reader
    raw = raw_device_reading(head)
    if raw is not None:
        tool, what, option = raw
        raise InputError(
            f"this is the output of {tool}: a single reading, {what}, not a survey log.", path=source_file,
            fix=f"Log a walk with `surveyor log {option}`, which reads {tool} every few seconds, with the "
                "time and the GPS position, into a journal; then merge the journal.")
    names = ", ".join(found)
    raise InputError(
        "not a format surveyor recognises.", path=source_file,
        fix=f"Known formats: {names}. Force one with --format NAME, or map a table's columns with "
            "--map COLUMN=FIELD (e.g. --map Signal=rsrp_dbm).")


def raw_device_reading(head: str) -> tuple[str, str, str] | None:
    """(tool, what it lacks, ``surveyor log`` options) when the text is one raw answer of a device
    tool that ``surveyor log`` calls (termux-telephony-cellinfo, mmcli), which people sometimes
    hand to merge."""
    signal_only = "without time or position"
    import json

    text = head.strip()
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("modem"), dict):
        return "mmcli (ModemManager)", signal_only, "--signal mmcli --gps ..."
    if isinstance(doc, list) and doc and all(isinstance(c, dict) and "registered" in c and "type" in c for c in doc):
        return "termux-telephony-cellinfo", signal_only, "--signal termux --gps termux"
    if isinstance(doc, dict) and {"latitude", "longitude", "provider"} <= set(doc):
        return "termux-location", "a position without time or signal", "--gps termux --signal termux"
    if doc is None and text.startswith('{"modem"'):
        return "mmcli (ModemManager)", signal_only, "--signal mmcli --gps ..."
    return None


def get_reader(name: str) -> Reader:
    found = readers()
    if name not in found:
        from surveyor.errors import InvalidRequest

        raise InvalidRequest(f"Unknown --format {name!r}.", fix=f"Use one of: auto, {', '.join(found)}.")
    return found[name]
