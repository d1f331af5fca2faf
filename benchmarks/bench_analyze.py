"""Benchmark: the analysis compute against the bare H3 assignment plus a group-by median.

Generates N synthetic samples in memory (default 1,000,000: 40 walkers x 25 sessions of one-second
samples around Lipursari), then times, in the same run:

- reference: ``cells_of`` (H3 resolution 10 of every sample) + ``groupby(cell).rsrp_dbm.median()``
- analysis: :func:`surveyor.analyse.compute` (filters, 4G rule, effective samples, cells with
  bounds and status, not-surveyed cells of the boundary, dead zones, site suggestions), computing
  the H3 cells itself (no precomputed ``h3_10``), so both sides do the same point-in-cell work.

A second figure times the analysis reusing the ``h3_10`` column that merge stores on every sample
(what ``surveyor analyze`` does on a real database); the headline ratio is the fair one above.

Target (README, "Measured figures"): ratio <= 2.0. Usage: ``python benchmarks/bench_analyze.py [N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def synthetic_samples(n: int, seed: int = 7) -> pd.DataFrame:
    """n samples: walks at about 1.3 m/s, one sample a second, two operators, some dead valleys."""
    rng = np.random.default_rng(seed)
    per_session = 1000
    sessions = max(1, n // per_session)
    sid = np.repeat(np.arange(sessions), per_session)[:n]
    n = len(sid)
    start_lat = -7.437 + rng.uniform(-0.008, 0.008, sessions)
    start_lon = 109.858 + rng.uniform(-0.008, 0.008, sessions)
    heading = rng.uniform(0, 2 * np.pi, n)
    heading = np.cumsum(rng.normal(0, 0.15, n)) + heading[sid]  # slowly turning walks
    step_m = rng.normal(1.3, 0.3, n).clip(0, None)
    dlat = step_m * np.cos(heading) / 111_195.0
    dlon = step_m * np.sin(heading) / (111_195.0 * np.cos(np.radians(-7.437)))
    csum_lat = np.cumsum(dlat)
    csum_lon = np.cumsum(dlon)
    first = np.searchsorted(sid, np.arange(sessions))
    lat = start_lat[sid] + csum_lat - csum_lat[first][sid]
    lon = start_lon[sid] + csum_lon - csum_lon[first][sid]
    t0 = pd.Timestamp("2026-07-06T00:00:00Z").value // 1_000_000
    session_start = t0 + rng.integers(0, 28 * 24, sessions) * 3_600_000
    offset = np.arange(n) - first[sid]
    t_ms = session_start[sid] + offset * 1000
    operator = np.where(sid % 2 == 0, "Telkomsel", "Indosat")
    valley = np.exp(-(((lat + 7.441) / 0.002) ** 2 + ((lon - 109.852) / 0.002) ** 2))
    rsrp = np.round(-95 - 30 * valley + rng.normal(0, 5, n))
    tech = np.where(rsrp < -124, "GSM", "LTE")
    kind = np.where(rng.random(n) < 0.003, "speed", "signal")
    return pd.DataFrame({
        "time": pd.to_datetime(t_ms, unit="ms", utc=True), "lat": lat, "lon": lon,
        "accuracy_m": rng.choice([4.0, 8.0, 12.0, np.nan, 80.0], n, p=[0.4, 0.3, 0.2, 0.08, 0.02]),
        "altitude_m": 900 + 50 * rng.random(n), "environment": "outdoor",
        "device": pd.Categorical((sid % 40).astype(str)).astype(object), "session": sid.astype(str),
        "kind": kind, "operator": operator, "tech": tech, "service": "in_service",
        "rsrp_dbm": np.where(tech == "LTE", rsrp, np.nan), "nr_rsrp_dbm": np.nan,
        "rscp_dbm": np.nan, "rssi_dbm": np.where(tech == "GSM", rsrp + 40, np.nan), "level": np.nan,
        "download_mbps": np.where(kind == "speed", rng.uniform(0, 30, n), np.nan),
        "upload_mbps": np.where(kind == "speed", rng.uniform(0, 10, n), np.nan),
        "test": np.where(kind == "speed", "ok", None), "source_file": "bench.jsonl",
    })


def reference(df: pd.DataFrame) -> pd.Series:
    from surveyor.geo.cells import cells_of

    cells = cells_of(df["lat"].to_numpy(), df["lon"].to_numpy(), 10)
    return df["rsrp_dbm"].groupby(cells).median()


def analysis(df: pd.DataFrame, settings, boundary):
    from surveyor.analyse import compute

    return compute(df, settings, boundary)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of R runs of each")
    args = ap.parse_args()

    from surveyor.config import Settings
    from surveyor.geo.areas import load_boundary

    settings = Settings()
    boundary = load_boundary(settings)
    t = time.perf_counter()
    df = synthetic_samples(args.n)
    print(f"generated {len(df):,} samples in {time.perf_counter() - t:.1f} s")
    reference(df.head(1000))
    analysis(df.head(5000), settings, boundary)  # warm imports and caches on both sides

    from surveyor.geo.cells import cells_of

    df_h3 = df.assign(h3_10=pd.array(cells_of(df["lat"].to_numpy(), df["lon"].to_numpy(), 10).astype(np.int64),
                                     dtype="Int64"))  # as stored by merge
    ref_times, ana_times, reuse_times = [], [], []
    result = None
    for _ in range(args.repeat):
        t = time.perf_counter()
        reference(df)
        ref_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = analysis(df, settings, boundary)
        ana_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        analysis(df_h3, settings, boundary)
        reuse_times.append(time.perf_counter() - t)
    ref, ana, reuse = min(ref_times), min(ana_times), min(reuse_times)
    s = result.summary
    print(f"cells: {len(result.cells):,} rows; effective samples {s.effective_samples:,}; "
          f"dead zones {len(result.dead_zones)}")
    print(f"reference (H3 assignment + group-by median): {ref:.3f} s")
    print(f"analysis (surveyor.analyse.compute):          {ana:.3f} s")
    print(f"ratio: {ana / ref:.2f} (target <= 2.0)")
    print(f"analysis reusing the merge's h3_10 column:    {reuse:.3f} s (ratio {reuse / ref:.2f}; "
          "not the headline, the reference computes H3)")


if __name__ == "__main__":
    main()
