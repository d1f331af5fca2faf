"""Frames of the shapes the merge pipeline hands to a store (no files, no parsing)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveyor.geo.cells import h3_cells


def samples_frame(n: int, merge_id: int, *, start_id: int = 1, session: str = "s-1", device: str = "dev-A",
                  operator: str = "Telkomsel", lat0: float = -7.437, lon0: float = 109.858,
                  source_file: str = "walk.jsonl") -> pd.DataFrame:
    i = np.arange(n)
    lat = lat0 + i * 1e-4
    lon = lon0 + i * 1e-4
    df = pd.DataFrame({
        "v": 1,
        "time": pd.Timestamp("2026-07-14T01:00:00Z") + pd.to_timedelta(i * 10, unit="s"),
        "lat": lat, "lon": lon, "accuracy_m": 5.0, "no_fix": False, "gps": "gpsd",
        "device": device, "device_model": "Redmi 9", "session": session, "volunteer": "Sari",
        "kind": "signal", "operator": operator, "mcc": 510, "mnc": 10, "tech": "LTE",
        "service": "in_service", "rsrp_dbm": -100.0 - (i % 25),
        "note": ["catatan, \"kutip\"\nbaris"] + [None] * (n - 1),
    })
    df["sample_id"] = np.arange(start_id, start_id + n, dtype=np.int64)
    df["h3_10"] = h3_cells(df["lat"], df["lon"], 10)
    df["placed_by"] = "gps"
    df["source_format"] = "journal"
    df["source_file"] = source_file
    df["source_line"] = i + 1
    df["merge_id"] = merge_id
    return df


def samples_table(n: int, merge_id: int, **kw):
    """:func:`samples_frame` as the typed Arrow batch ``Store.append("samples", ...)`` takes."""
    from surveyor.store._arrow import sample_table

    return sample_table(samples_frame(n, merge_id, **kw))


def quarantine_frame(merge_id: int, n: int = 2) -> pd.DataFrame:
    return pd.DataFrame({"merge_id": merge_id, "source_file": "walk.jsonl", "line": range(1, n + 1),
                         "raw": ["{bad json"] * n, "reason": "bad_json", "message": "not JSON"})


def tracks_frame(merge_id: int, n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"merge_id": merge_id,
                         "time": pd.Timestamp("2026-07-14T02:00:00Z") + pd.to_timedelta(np.arange(n), unit="s"),
                         "lat": -7.44 + np.arange(n) * 1e-5, "lon": 109.86, "device": "dev-A",
                         "source_file": "track.gpx", "source_line": np.arange(n) + 1})


def record(merge_id: int, content_hash: str = "h1", source_file: str = "walk.jsonl", added: int = 0):
    from surveyor.store.base import MergeRecord

    return MergeRecord(merge_id=merge_id, source_file=source_file, content_hash=content_hash, format="journal",
                       merged_at="2026-07-15T00:00:00Z", counts={"read": added, "added": added},
                       options={"tz": "Asia/Jakarta"})
