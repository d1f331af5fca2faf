"""The journal: JSON Lines written by ``surveyor log`` (docs/journal.md), the canonical format.

Read line by line so a journal cut by a dead battery still merges: a truncated last line is
quarantined as ``truncated`` and every complete line before it is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from surveyor.ingest.base import Batch, ReadContext, Reader, Reject
from surveyor.ingest.text import binary_lines
from surveyor.model import SAMPLE_FIELDS, normalize_operator, normalize_tech

_NUMERIC = {k for k, t in SAMPLE_FIELDS.items() if t in ("int", "float")}


def sniff(head: str, path: Path) -> bool:
    for line in head.splitlines()[:5]:
        line = line.strip()
        if not line:
            continue
        if not line.startswith("{"):
            return False
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            return '"time"' in line and ('"v"' in line or '"kind"' in line)
        return isinstance(obj, dict) and "time" in obj and ("v" in obj or "kind" in obj or "rsrp_dbm" in obj)
    return False


def _encodable(text: str) -> bool:
    """False for text with lone surrogates (JSON's "\\udcff"), which no file or database can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _parse_time(value: object, ctx: ReadContext) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if t.tzinfo is None:  # tolerated: a local time without offset is read in --tz
        t = t.replace(tzinfo=ctx.tz)
    return t.astimezone(UTC)


def _row(obj: dict, ctx: ReadContext, unknown: set[str] | None = None
         ) -> tuple[dict | None, str | None, str | None]:
    """A sample dict, or (None, reason, message). Keys that are not sample fields go to ``unknown``."""
    out: dict = {}
    for key, value in obj.items():
        if key not in SAMPLE_FIELDS or value is None:
            # Unknown keys are ignored so newer loggers' journals still merge (and listed).
            if unknown is not None and key not in SAMPLE_FIELDS and len(unknown) < 100:
                unknown.add(str(key))
            continue
        if key in _NUMERIC:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None, "bad_value", f"{key} must be a number, not {value!r}"
        elif key == "no_fix":
            if not isinstance(value, bool):
                return None, "bad_value", f"no_fix must be true or false, not {value!r}"
        elif key != "time" and not isinstance(value, str):
            value = str(value)
        if isinstance(value, str) and not _encodable(value):
            return None, "bad_encoding", f"{key} holds an escaped character that is no text (\\ud800-\\udfff)"
        out[key] = value
    t = _parse_time(obj.get("time"), ctx)
    if t is None:
        return None, "bad_time", f"time {obj.get('time')!r} is not an ISO 8601 timestamp (e.g. 2026-07-14T08:12:03Z)"
    out["time"] = t
    op = normalize_operator(out.get("operator"), out.get("mcc"), out.get("mnc"))
    if op.name or ctx.operator:
        out["operator"] = op.name or normalize_operator(ctx.operator).name
    if op.mcc is not None:
        out["mcc"], out["mnc"] = op.mcc, op.mnc
    if "tech" in out and out["tech"] not in ("NR", "LTE", "UMTS", "GSM", "NONE"):
        out["tech"] = normalize_tech(out["tech"]) or out["tech"]
    for key in ("device", "volunteer"):
        if key not in out and getattr(ctx, key):
            out[key] = getattr(ctx, key)
    return out, None, None


def read(path: Path, ctx: ReadContext) -> Iterator[Batch]:
    rows: list[dict] = []
    rejects: list[Reject] = []
    unknown: set[str] = set()
    said: set[str] = set()
    with open(path, "rb") as fh:
        # Lines end at \n, \r\n or a bare \r: a journal copied through an old Mac tool is one
        # "line" to a reader that only splits at \n.
        for line_no, raw, complete in binary_lines(fh):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                rejects.append(Reject(line_no, raw.decode("utf-8", errors="replace"), "bad_encoding",
                                      f"bytes that are not UTF-8 at column {exc.start + 1}; save the file as UTF-8"))
                continue
            text = text.strip()
            if text.startswith("\ufeff"):
                text = text[1:]
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                if not complete:
                    rejects.append(Reject(line_no, text, "truncated",
                                          "the last line was cut off (the logger stopped while writing); "
                                          "the lines before it are kept"))
                else:
                    rejects.append(Reject(line_no, text, "parse_error",
                                          f"not a JSON object ({exc.msg} at column {exc.colno})"))
                continue
            if not isinstance(obj, dict):
                rejects.append(Reject(line_no, text, "parse_error", "each line must be one JSON object"))
                continue
            sample, reason, message = _row(obj, ctx, unknown)
            if sample is None:
                rejects.append(Reject(line_no, text, reason or "bad_value", message or ""))
                continue
            sample["source_line"] = line_no
            rows.append(sample)
            if len(rows) + len(rejects) >= ctx.chunk_rows:
                yield _batch(rows, rejects, sorted(unknown - said))
                said |= unknown
                rows, rejects = [], []
    if rows or rejects:
        yield _batch(rows, rejects, sorted(unknown - said))


def _batch(rows: list[dict], rejects: list[Reject], unused: list[str] | None = None) -> Batch:
    df = pd.DataFrame.from_records(rows) if rows else pd.DataFrame()
    if len(df) and "time" in df.columns:
        df["time"] = pd.to_datetime(df["time"], utc=True)
    return Batch(samples=df, rejects=list(rejects), unused_columns=unused or None)


READER = Reader(name="journal", description="surveyor log journal (JSON Lines)", sniff=sniff, read=read)
