"""Fixtures for the analysis tests: small synthetic walks, a seeded simulated village, databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from surveyor.config import Settings

from fixtures.frames import to_store_frame

T0 = datetime(2026, 7, 14, 1, 0, tzinfo=UTC)  # 08:00 WIB
# A point in Lipursari (inside the builtin boundary).
LAT0, LON0 = -7.437, 109.858
M_PER_DEG_LAT = 111_195.0
# The effective-sample spacing of docs/method.md (10 s and 20 m), as effective_mask takes it.
SPACING = {"min_gap_s": 10.0, "min_distance_m": 20.0}


def walk(n: int, *, session: str = "s1", device: str = "d1", operator: str = "Telkomsel",
         start: datetime = T0, step_s: float = 15.0, step_m: float = 25.0, lat: float = LAT0, lon: float = LON0,
         bearing: str = "north", **values) -> pd.DataFrame:
    """n samples of one walk: one every step_s seconds, step_m metres apart (north by default).

    Extra keyword arguments set columns (scalars or arrays), e.g. rsrp_dbm=-100.
    """
    i = np.arange(n)
    dlat = i * step_m / M_PER_DEG_LAT if bearing == "north" else np.zeros(n)
    dlon = (i * step_m / (M_PER_DEG_LAT * np.cos(np.radians(lat)))) if bearing == "east" else np.zeros(n)
    df = pd.DataFrame({
        "time": [start + timedelta(seconds=float(s)) for s in i * step_s],
        "lat": lat + dlat, "lon": lon + dlon, "accuracy_m": 5.0, "altitude_m": 900.0,
        "environment": "outdoor", "device": device, "session": session, "kind": "signal",
        "operator": operator, "tech": "LTE", "service": "in_service", "rsrp_dbm": -90.0,
    })
    for k, v in values.items():
        df[k] = v
    return df


def still(n: int, **kw) -> pd.DataFrame:
    """n samples standing at one point (step 0 m)."""
    return walk(n, step_m=0.0, **kw)


@pytest.fixture
def settings() -> Settings:
    return Settings()


def make_db(path, samples: pd.DataFrame | None = None, towers: pd.DataFrame | None = None) -> str:
    """A GeoPackage store holding these samples (and towers), as one committed merge."""
    from surveyor.store import MergeRecord, open_store
    from surveyor.store._arrow import sample_table

    store = open_store(str(path), create=True)
    if samples is not None and len(samples):
        mid = store.new_merge_id()
        df = to_store_frame(samples)
        df["merge_id"] = mid
        store.append("samples", sample_table(df))
        if towers is not None:
            t = towers.copy()
            t["merge_id"] = mid
            store.append("towers", t)
        store.commit_merge(MergeRecord(mid, "test.jsonl", f"hash{mid}", "journal", "2026-07-20T00:00:00Z",
                                       {"read": len(df), "added": len(df)}))
    store.close()
    return str(path)


def run(args: list[str]):
    """Run the CLI in-process the way the console script does; returns (exit_code, stdout, stderr)."""
    import contextlib
    import io

    from surveyor.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, out.getvalue(), err.getvalue()
