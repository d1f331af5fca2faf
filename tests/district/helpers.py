"""Helpers of the district tests: walks as sample frames, and the comparison of two analyses."""

from __future__ import annotations

import numpy as np
import pandas as pd

T0_MS = 1_783_990_800_000  # 2026-07-14T01:00:00Z (08:00 WIB)
LAT0, LON0 = -7.437, 109.858  # inside Lipursari
M_PER_DEG = 111_195.0
# Medians of values that are not whole numbers: the Python path picks them through a grouped float
# sort that rounds in the last bits (surveyor.analyse.stats.grouped_quantiles); the database picks
# the stored values themselves. Every other column must be equal.
ROUNDED = ("download_median_mbps", "upload_median_mbps", "altitude_median_m", "rsrp_p20_dbm", "rsrp_median_dbm",
           "rsrp_p80_dbm", "altitude_m")


def frame(t_ms, lat, lon, *, session="s1", operator="Telkomsel", device="dev-1", source_file="walk.jsonl",
          first_id: int = 1, **columns) -> pd.DataFrame:
    """Samples as a merge stores them: the journal fields given, plus ``sample_id``, ``h3_10`` and the
    provenance columns."""
    from surveyor.geo.cells import h3_cells

    n = len(t_ms)
    df = pd.DataFrame({
        "v": 1, "time": pd.to_datetime(np.asarray(t_ms, dtype=np.int64), unit="ms", utc=True),
        "lat": np.asarray(lat, dtype=float), "lon": np.asarray(lon, dtype=float), "accuracy_m": 5.0,
        "altitude_m": 900.0, "environment": "outdoor", "device": device, "session": session, "kind": "signal",
        "operator": operator, "tech": "LTE", "service": "in_service", "rsrp_dbm": -95.0,
    })
    for k, v in columns.items():
        df[k] = v
    df["sample_id"] = (np.arange(first_id, first_id + n, dtype=np.int64) * 2654435761) % (2 ** 61) + 1
    df["h3_10"] = h3_cells(df["lat"], df["lon"], 10)
    df["placed_by"] = np.where(df["lat"].notna(), "gps", None)
    df["source_format"] = "journal"
    df["source_file"] = source_file
    df["source_line"] = np.arange(1, n + 1)
    return df


def along(metres_north, metres_east=0.0):
    """Positions (lat, lon) at these offsets in metres from the village point."""
    north = np.asarray(metres_north, dtype=float)
    east = np.broadcast_to(np.asarray(metres_east, dtype=float), north.shape)
    return LAT0 + north / M_PER_DEG, LON0 + east / (M_PER_DEG * np.cos(np.radians(LAT0)))


def _plain(df) -> pd.DataFrame:
    drop = [c for c in ("geometry", "fid") if c in df.columns]
    return pd.DataFrame(df.drop(columns=drop))


def assert_same_table(a, b, key, what: str) -> None:
    """Two layers with the same rows (by ``key``) and the same values in every column of ``a``."""
    a = _plain(a).sort_values(key).reset_index(drop=True)
    b = _plain(b).sort_values(key).reset_index(drop=True)
    assert len(a) == len(b), f"{what}: {len(a)} rows against {len(b)}"
    problems = []
    for c in a.columns:
        assert c in b.columns, f"{what}: no column {c}"
        x, y = a[c], b[c]
        numeric = (pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x)) and \
            (pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y))
        if numeric:
            xf = pd.to_numeric(x, errors="coerce").astype(float).to_numpy()
            yf = pd.to_numeric(y, errors="coerce").astype(float).to_numpy()
            tol = 1e-9 * np.maximum(1.0, np.abs(np.nan_to_num(xf))) if c in ROUNDED else 0.0
            same = (np.abs(xf - yf) <= tol) | (np.isnan(xf) & np.isnan(yf))
        else:
            same = ((x.astype(str) == y.astype(str)) | (x.isna() & y.isna())).to_numpy()
        if not same.all():
            i = np.flatnonzero(~same)[:3]
            problems.append(f"{c}: {int((~same).sum())} rows differ, e.g. {list(zip(x.iloc[i], y.iloc[i]))}")
    assert not problems, f"{what}:\n" + "\n".join(problems)


def assert_same_analysis(a, b) -> None:
    """The analysis layers and summaries of two stores are the same."""
    assert_same_table(a.read_layer("cells"), b.read_layer("cells"), ["h3", "operator"], "cells")
    assert_same_table(a.read_layer("dead_zones"), b.read_layer("dead_zones"), ["zone_id"], "dead_zones")
    assert_same_table(a.read_layer("sites"), b.read_layer("sites"), ["operator", "rank"], "sites")
    sa, sb = dict(a.get_meta("analysis_summary")), dict(b.get_meta("analysis_summary"))
    sa.pop("analysed_at"), sb.pop("analysed_at")
    assert sa == sb
