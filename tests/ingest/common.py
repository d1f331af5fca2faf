"""Helpers for the reader tests: read a file with one reader, as the merge would."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from surveyor.ingest.base import Batch, ReadContext

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def context(path: Path, tz: str = "Asia/Jakarta", **kwargs) -> ReadContext:
    return ReadContext(source_file=path.name, path=path, content_hash="test-hash", tz=ZoneInfo(tz), **kwargs)


def read_all(reader, path: Path, **kwargs) -> dict:
    """Everything a reader yields for a file, concatenated: samples, neighbours, tracks, towers, rejects."""
    batches: list[Batch] = list(reader.read(path, context(path, **kwargs)))
    out: dict = {"rows": sum(b.rows for b in batches), "rejects": [r for b in batches for r in b.rejects],
                 "batches": len(batches)}
    for name in ("samples", "neighbours", "tracks", "towers"):
        frames = [getattr(b, name) for b in batches if getattr(b, name) is not None and len(getattr(b, name))]
        out[name] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return out


def reasons(result: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in result["rejects"]:
        out[r.reason] = out.get(r.reason, 0) + 1
    return out


def assert_every_row_lands_once(result: dict) -> None:
    """read == samples + neighbours + tracks + towers + rejects, and no line is used twice."""
    parts = [result[k] for k in ("samples", "neighbours", "tracks", "towers")]
    assert result["rows"] == sum(len(p) for p in parts) + len(result["rejects"])
    lines = [int(x) for p in parts if len(p) for x in p["source_line"]] + [r.line for r in result["rejects"]]
    assert len(lines) == len(set(lines)), "a line landed in two buckets"
    for r in result["rejects"]:
        assert r.line is not None and r.raw and r.reason and r.message
        assert r.reason == r.reason.lower() and " " not in r.reason
