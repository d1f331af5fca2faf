"""Benchmark of the shared PostGIS store at district scale (1M and 5M samples; extrapolated to 50M).

Measures, on a fresh database per size:

- **load**: the merge/push path itself (``append`` = the area of each sample looked up, then COPY
  straight into ``samples`` inside the merge's transaction; ``commit_merge`` = the ``merges`` row,
  the sessions touched, COMMIT), in merges of 500,000 samples (a big village file each); the
  generation of the frames (numpy + H3) is not timed;
- **COPY floor**: beside each merge, the same rows as the store sends them (with their area code and
  point) COPYed into a plain table with the same columns and no index or key;
- **re-load**: the same last 500,000 samples merged again (all duplicates);
- **aggregate**: the analysis's counting inside the database
  (:func:`surveyor.analyse.sql.count_in_database`: effective samples and the raw counts per cell and
  operator) for the whole district and for one village (``--area``);
- **read**: one village's samples with ``read_samples(area=...)``, and the whole district streamed
  through ``read_samples_chunks`` (1M only: it is Python-bound);
- **disk**: ``pg_database_size`` and the samples table with its indexes.

Usage::

    python benchmarks/bench_postgis.py                 # starts a throwaway cluster (as user postgres)
    python benchmarks/bench_postgis.py --sizes 1000000 --db postgresql://me@localhost/bench

The ``--db`` database is emptied (its surveyor tables dropped) before each size.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

MERGE_ROWS = 500_000
# Kabupaten Wonosobo, roughly: 265 villages on a 20 x 13 grid of boxes.
LAT0, LAT1, LON0, LON1 = -7.55, -7.15, 109.75, 110.10
GRID_X, GRID_Y = 20, 13


class Cluster:
    def __init__(self):
        bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
        if not bindir:
            sys.exit("PostgreSQL binaries not found: apt-get install postgresql-15-postgis-3, or give --db")
        self.bindir = bindir[0]
        self.root = Path(tempfile.mkdtemp(prefix="surveyor-bench-pg-"))
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    def run(self, tool, *args):
        cmd = [os.path.join(self.bindir, tool), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True)

    def start(self):
        data = str(self.root / "data")
        self.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        self.run("pg_ctl", "-D", data, "-w", "-l", str(self.root / "log"), "-o",
                 f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c shared_buffers=1GB "
                 "-c work_mem=64MB -c maintenance_work_mem=512MB -c max_wal_size=8GB", "start")
        self.psql("CREATE DATABASE bench")
        self.psql("CREATE EXTENSION postgis", db="bench")
        return f"postgresql://postgres@127.0.0.1:{self.port}/bench"

    def psql(self, sql, db="postgres"):
        self.run("psql", "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", db, "-Atc", sql)

    def stop(self):
        try:
            self.run("pg_ctl", "-D", str(self.root / "data"), "-w", "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def village_areas():
    import geopandas as gpd
    import shapely

    dx, dy = (LON1 - LON0) / GRID_X, (LAT1 - LAT0) / GRID_Y
    codes, geoms = [], []
    for j in range(GRID_Y):
        for i in range(GRID_X):
            codes.append(f"33.07.{j + 1:02d}.{2001 + i}")
            geoms.append(shapely.box(LON0 + i * dx, LAT0 + j * dy, LON0 + (i + 1) * dx, LAT0 + (j + 1) * dy))
    return gpd.GeoDataFrame({"code": codes, "name": [f"Desa {c}" for c in codes], "level": "desa",
                             "parent_code": [c.rsplit(".", 1)[0] for c in codes]}, geometry=geoms, crs="EPSG:4326")


def frame(rng, n: int, first_id: int, merge_id: int) -> pd.DataFrame:
    """n samples of walks spread over the district: 1 Hz sessions of 3,600 samples each."""
    from surveyor.geo.cells import h3_cells

    walks = (n + 3599) // 3600
    start_lat = rng.uniform(LAT0, LAT1, walks)
    start_lon = rng.uniform(LON0, LON1, walks)
    w = np.repeat(np.arange(walks), 3600)[:n]
    step = np.tile(np.arange(3600), walks)[:n]
    direction = rng.choice([-1.0, 1.0], walks)
    lat = np.clip(start_lat[w] + step * 1e-6 * direction[w], LAT0, LAT1)
    lon = np.clip(start_lon[w] + step * 1.2e-6, LON0, LON1)
    ops = np.array(["Telkomsel", "Indosat", "XL", "Tri", "Smartfren"])
    t0 = pd.Timestamp("2026-07-01T00:00:00Z").value // 10**6
    df = pd.DataFrame({
        "v": 1,
        "time": pd.to_datetime(t0 + (merge_id * 10**7 + w * 4000 + step) * 1000, unit="ms", utc=True),
        "lat": lat, "lon": lon, "accuracy_m": rng.uniform(3, 30, n).round(1), "gps": "gpsd",
        "device": np.char.add("dev-", (w % 400).astype(str)), "device_model": "Redmi 9",
        "session": np.char.add(f"m{merge_id}-s", w.astype(str)), "kind": "signal",
        "operator": ops[w % 5], "mcc": 510, "mnc": 10, "tech": np.where(rng.random(n) < 0.1, "UMTS", "LTE"),
        "service": np.where(rng.random(n) < 0.03, "no_service", "in_service"),
        "rsrp_dbm": rng.normal(-100, 12, n).round(0), "rsrq_db": rng.normal(-11, 3, n).round(0),
        "sinr_db": rng.normal(8, 6, n).round(1),
    })
    df["sample_id"] = np.arange(first_id, first_id + n, dtype=np.int64) * 2654435761 % (2**62)
    df["h3_10"] = h3_cells(df["lat"], df["lon"], 10)
    df["placed_by"] = "gps"
    df["source_format"] = "journal"
    df["source_file"] = f"bench-{merge_id}.jsonl"
    df["source_line"] = np.arange(n) + 1
    return df


def floor_copy(url, store, df) -> float:
    """The COPY floor of one merge's rows (see the module docstring); seconds."""
    import psycopg
    from bench_district import _as_sent, _copy, _floor_table

    from surveyor.store._arrow import sample_table

    sent = _as_sent(store, sample_table(df.assign(merge_id=0)))
    with psycopg.connect(url, autocommit=True) as conn:
        _floor_table(conn)
        t = time.perf_counter()
        _copy(conn, sent)
        seconds = time.perf_counter() - t
        conn.execute("DROP TABLE floor_copy")
    return seconds


def commit(store, df, merge_id_hint):
    from surveyor.store._arrow import sample_table
    from surveyor.store.base import MergeRecord

    with store.writer_lock():
        store.cleanup_unfinished()
        mid = store.new_merge_id()
        t = time.perf_counter()
        store.append("samples", sample_table(df.assign(merge_id=mid)))
        store.commit_merge(MergeRecord(mid, df["source_file"].iloc[0], f"hash-{merge_id_hint}-{mid}", "journal",
                                       "2026-07-20T00:00:00Z", {"read": len(df), "added": len(df)}, {}))
        return time.perf_counter() - t


def reset(url):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for t in ("samples", "quarantine", "neighbours", "tracks", "towers", "sessions", "merges", "meta", "areas",
                  "cells", "dead_zones", "sites", "surveyor_schema"):
            conn.execute(f"DROP TABLE IF EXISTS {t} CASCADE")
        conn.execute("DROP SEQUENCE IF EXISTS merge_id_seq")


def run_size(url, n: int, rng) -> dict:
    import psycopg

    from surveyor.analyse.sql import count_in_database
    from surveyor.config import Settings
    from surveyor.store.postgis import PostgisStore

    reset(url)
    store = PostgisStore(url, create=True)
    store.write_layer("areas", village_areas())
    load_s = 0.0
    floor_s = 0.0
    last_merge_s = 0.0
    done = 0
    k = 0
    last = None
    while done < n:
        m = min(MERGE_ROWS, n - done)
        df = frame(rng, m, done, k)
        floor_s += floor_copy(url, store, df)
        last_merge_s = commit(store, df, k)
        load_s += last_merge_s
        done += m
        k += 1
        last = df
        print(f"  {done:>10,} samples loaded, {load_s:7.1f} s", file=sys.stderr, flush=True)
    t = time.perf_counter()
    commit(store, last, "again")
    reload_s = time.perf_counter() - t
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE samples")
        db_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        samples_bytes = conn.execute("SELECT pg_total_relation_size('samples')").fetchone()[0]
        heap_bytes = conn.execute("SELECT pg_relation_size('samples')").fetchone()[0]
        village = conn.execute("SELECT area_code FROM samples WHERE area_code IS NOT NULL "
                               "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    everything = Settings(out_of_scope="include")  # the whole district, wherever and whenever
    t = time.perf_counter()
    with store.sql_sessions(2) as job:
        cells = count_in_database(store, everything, 10, None, job).counts
    agg_s = time.perf_counter() - t
    t = time.perf_counter()
    with store.sql_sessions(2) as job:
        vcells = count_in_database(store, everything, 10, village, job).counts
    agg_village_s = time.perf_counter() - t
    t = time.perf_counter()
    vs = store.read_samples(["sample_id", "time", "lat", "lon", "operator", "rsrp_dbm", "session"], area=village)
    read_village_s = time.perf_counter() - t
    t = time.perf_counter()
    st = store.status()
    status_s = time.perf_counter() - t
    chunk_s = None
    if n <= 1_000_000:
        t = time.perf_counter()
        rows = sum(len(c) for c in store.read_samples_chunks(["sample_id", "h3_10", "operator", "rsrp_dbm", "time"],
                                                              chunk_rows=200_000))
        chunk_s = time.perf_counter() - t
        assert rows == n
    store.close()
    assert stored == n and st.samples == n
    return {"n": n, "merges": k, "load_s": load_s, "floor_s": floor_s, "last_merge_s": last_merge_s,
            "reload_s": reload_s,
            "agg_s": agg_s, "cells": len(cells), "agg_village_s": agg_village_s, "village_cells": len(vcells),
            "village_samples": len(vs), "read_village_s": read_village_s, "status_s": status_s,
            "chunk_s": chunk_s, "db_bytes": db_bytes, "samples_bytes": samples_bytes, "heap_bytes": heap_bytes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", help="postgresql:// URL of an empty PostGIS database (default: a throwaway cluster)")
    ap.add_argument("--sizes", default="1000000,5000000", help="comma-separated sample counts")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cluster = None
    url = args.db
    if url is None:
        cluster = Cluster()
        url = cluster.start()
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    rng = np.random.default_rng(20260714)
    results = []
    try:
        for n in sizes:
            print(f"{n:,} samples ...", file=sys.stderr, flush=True)
            results.append(run_size(url, n, rng))
    finally:
        if cluster:
            cluster.stop()
    mb = 1024 * 1024
    print(f"load average after: {os.getloadavg()}", file=sys.stderr)
    print(f"{'samples':>11} {'load s':>8} {'k/s':>6} {'COPY floor s':>12} {'x floor':>7} {'last 500k s':>11} "
          f"{'reload 500k s':>13} {'agg all s':>9} {'cells':>8} {'village n':>9} {'agg village s':>13} "
          f"{'read village s':>14} {'status s':>8} {'chunks s':>8} {'db MB':>7} {'samples MB':>10} {'B/sample':>8}")
    for r in results:
        print(f"{r['n']:>11,} {r['load_s']:>8.1f} {r['n'] / r['load_s'] / 1000:>6.0f} {r['floor_s']:>12.1f} "
              f"{r['load_s'] / r['floor_s']:>7.2f} {r['last_merge_s']:>11.1f} "
              f"{r['reload_s']:>13.1f} {r['agg_s']:>9.1f} {r['cells']:>8,} {r['village_samples']:>9,} "
              f"{r['agg_village_s']:>13.2f} "
              f"{r['read_village_s']:>14.2f} {r['status_s']:>8.1f} "
              f"{'-' if r['chunk_s'] is None else format(r['chunk_s'], '.1f'):>8} {r['db_bytes'] / mb:>7.0f} "
              f"{r['samples_bytes'] / mb:>10.0f} {r['samples_bytes'] / r['n']:>8.0f}")
    big = results[-1]
    factor = 50_000_000 / big["n"]
    print(f"\nExtrapolated to 50,000,000 samples from {big['n']:,} (linear: COPY, INSERT and the grouped "
          "aggregate scale with rows; B-tree/GiST inserts grow with log n):")
    print(f"  load      ~ {big['load_s'] * factor / 60:.0f} min in total ({big['last_merge_s']:.1f} s per 500k-sample "
          "merge now, a little more as the indexes deepen)")
    print(f"  aggregate ~ {big['agg_s'] * factor:.0f} s for the whole district; one village grows with its own "
          f"samples only ({big['village_samples']:,} samples: {big['agg_village_s']:.2f} s now, through the "
          "area_code index)")
    print(f"  disk      ~ {big['db_bytes'] * factor / 1024**3:.1f} GB "
          f"({big['samples_bytes'] / big['n']:.0f} bytes per sample with indexes)")
    if len(results) > 1:
        a, b = results[0], results[-1]
        print(f"  growth {a['n']:,} -> {b['n']:,}: load x{b['load_s'] / a['load_s']:.1f}, aggregate "
              f"x{b['agg_s'] / a['agg_s']:.1f}, disk x{b['db_bytes'] / a['db_bytes']:.1f} "
              f"for x{b['n'] / a['n']:.0f} rows")


if __name__ == "__main__":
    main()
