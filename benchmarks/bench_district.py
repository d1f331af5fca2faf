"""Benchmark of a district on the shared PostGIS store: loading, and the analysis inside the database.

A simulated district (:mod:`surveyor.testing.district`: villages that are each the simulated
village survey, four volunteers over two weeks, moved onto a grid; kecamatan of 18 villages) of
1,000,000 and 5,000,000 samples. For each size, in one run, on a fresh database:

- **load**: every village is one merge through the store's own path (``append`` = COPY straight
  into ``samples`` inside the merge's transaction, ``commit_merge``), and beside it, village by
  village (interleaved, so both see the same machine), the **COPY floor**: the same rows, as the
  store sends them, COPYed into a plain table with the same columns and no index, no key.
- **analysis**: ``surveyor analyze --area 33.07`` (the whole kabupaten) in a process of its own,
  and the **SQL floor**: one ``SELECT h3_10, operator, count(*) FROM samples GROUP BY 1, 2`` from
  a process of its own (PostgreSQL's default parallel plan; and with parallel workers off as a
  second reference). Interleaved, ``--repeat`` times each; medians. The analysing process's peak
  memory (``VmHWM``) is reported for every run, and the time and memory its imports take.

Usage::

    python benchmarks/bench_district.py                     # a throwaway cluster (as user postgres)
    python benchmarks/bench_district.py --sizes 1000000 --repeat 5
    python benchmarks/bench_district.py --db postgresql://me@localhost/bench   # emptied first
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

ANALYZE_CHILD = """
import atexit, sys, time
t0 = time.perf_counter()


def peak_kb():
    # VmHWM, the peak resident memory of this process image: ru_maxrss would also count the pages
    # of the (large) benchmark process this one was forked from.
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))


atexit.register(lambda: print("RESULT", time.perf_counter() - t0, peak_kb(), file=sys.stderr))
import surveyor.analyse, surveyor.store.postgis, surveyor.cli.analyze  # the imports, timed apart
print("IMPORTS", time.perf_counter() - t0, peak_kb(), file=sys.stderr)
from surveyor.cli import main
main(["-q", "analyze", "--db", sys.argv[1], "--area", sys.argv[2], "--json"])
"""

FLOOR_CHILD = """
import sys, time, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    if sys.argv[2] == "serial":
        conn.execute("SET max_parallel_workers_per_gather = 0")
    t0 = time.perf_counter()
    rows = conn.execute("SELECT h3_10, operator, count(*) FROM samples GROUP BY 1, 2").fetchall()
    print("RESULT", time.perf_counter() - t0, len(rows), file=sys.stderr)
"""


def _child(code: str, *args: str) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    if r.returncode:
        raise SystemExit(f"child failed ({r.returncode}):\n{r.stderr[-3000:]}")
    line = [ln for ln in r.stderr.splitlines() if ln.startswith("RESULT")][-1]
    imports = [ln for ln in r.stderr.splitlines() if ln.startswith("IMPORTS")]
    return line.split()[1:] + (imports[-1].split()[1:] if imports else [])


def _floor_table(conn) -> None:
    from surveyor.model import ALL_FIELDS
    from surveyor.store.postgis import _cols

    conn.execute("DROP TABLE IF EXISTS floor_copy")
    conn.execute(f"CREATE TABLE floor_copy ({_cols(ALL_FIELDS)}, area_code text, geom geometry(Point, 4326))")


def _as_sent(store, table):
    """The batch as the store COPYs it (sorted, with area codes and EWKB points), for the floor."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from surveyor.store.postgis import _point_ewkb_hex

    table = table.drop_columns(["geom"])
    table = table.take(pc.sort_indices(table, [("time", "ascending"), ("sample_id", "ascending")]))
    lat = table.column("lat").to_numpy(zero_copy_only=False)
    lon = table.column("lon").to_numpy(zero_copy_only=False)
    table = table.append_column("area_code", pa.array(store._area_codes(lat, lon), type=pa.string()))
    return table.append_column("geom", _point_ewkb_hex(lat, lon))


def _copy(conn, table) -> None:
    import pyarrow.csv as pcsv

    cols = ", ".join(f'"{c}"' for c in table.column_names)
    with conn.cursor() as cur:
        with cur.copy(f"COPY floor_copy ({cols}) FROM STDIN (FORMAT csv)") as copy:
            for batch in table.to_batches(max_chunksize=100_000):
                buf = io.BytesIO()
                pcsv.write_csv(batch, buf, pcsv.WriteOptions(include_header=False))
                copy.write(buf.getvalue())


def run_size(url: str, n: int, repeat: int) -> dict:
    import psycopg
    from bench_postgis import reset

    from surveyor.store._arrow import sample_table
    from surveyor.store.base import MergeRecord
    from surveyor.store.postgis import PostgisStore
    from surveyor.testing.district import KABUPATEN, district_areas, district_samples

    reset(url)
    store = PostgisStore(url, create=True)
    villages = list(district_samples(n))
    n_villages = len(villages)
    store.write_layer("areas", district_areas(n_villages))
    floor_s = load_s = 0.0
    with psycopg.connect(url, autocommit=True) as conn:
        _floor_table(conn)
        for code, df in villages:
            table = sample_table(df.assign(merge_id=0))
            sent = _as_sent(store, table)
            t = time.perf_counter()
            _copy(conn, sent)
            floor_s += time.perf_counter() - t
            with store.writer_lock():
                mid = store.new_merge_id()
                batch = sample_table(df.assign(merge_id=mid))
                t = time.perf_counter()
                store.append("samples", batch)
                store.commit_merge(MergeRecord(mid, df["source_file"].iloc[0], f"bench-{code}", "journal",
                                               "2026-08-01T00:00:00Z", {"read": len(df), "added": len(df)}, {}))
                load_s += time.perf_counter() - t
        conn.execute("DROP TABLE floor_copy")
        conn.execute("VACUUM ANALYZE samples")
        stored = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
        db_bytes = conn.execute("SELECT pg_total_relation_size('samples')").fetchone()[0]
    store.close()
    assert stored == n, (stored, n)
    del villages
    runs = {"analyze": [], "rss_mb": [], "floor": [], "floor_serial": [], "imports": [], "imports_mb": []}
    for _ in range(repeat):
        seconds, rss_kb, import_s, import_kb = _child(ANALYZE_CHILD, url, KABUPATEN)
        runs["analyze"].append(float(seconds))
        runs["rss_mb"].append(int(rss_kb) / 1024)
        runs["imports"].append(float(import_s))
        runs["imports_mb"].append(int(import_kb) / 1024)
        runs["floor"].append(float(_child(FLOOR_CHILD, url, "parallel")[0]))
        runs["floor_serial"].append(float(_child(FLOOR_CHILD, url, "serial")[0]))
    with psycopg.connect(url, autocommit=True) as conn:
        summary = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'analysis_summary'").fetchone()[0])
        cells = conn.execute("SELECT count(*) FROM cells").fetchone()[0]
    return {"n": n, "villages": n_villages, "load_s": load_s,
            "floor_copy_s": floor_s, "runs": runs, "cells": cells, "db_mb": db_bytes / 2**20,
            "effective": summary["effective_samples"],
            "dead": sum(o["cells"]["dead"] for o in summary["operators"].values())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db",
                    help="postgresql:// URL of a PostGIS database to empty and use (default: a throwaway cluster)")
    ap.add_argument("--sizes", default="1000000,5000000", help="comma-separated sample counts")
    ap.add_argument("--repeat", type=int, default=3, help="analysis and floor runs per size (interleaved)")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    cluster = None
    url = args.db
    if url is None:
        from bench_postgis import Cluster

        cluster = Cluster()
        url = cluster.start()
    results = []
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            print(f"{n:,} samples ...", file=sys.stderr, flush=True)
            results.append(run_size(url, n, args.repeat))
    finally:
        if cluster:
            cluster.stop()
    print(f"load average after: {os.getloadavg()}", file=sys.stderr)
    med = statistics.median
    print(f"{'samples':>10} {'villages':>8} {'load s':>7} {'k/s':>5} {'COPY floor s':>12} {'load/floor':>10} "
          f"{'analyze s':>9} {'floor s':>7} {'x floor':>7} {'serial floor s':>14} {'x serial':>8} {'peak MB':>8} "
          f"{'cells':>7} {'effective':>9} {'dead':>5}")
    for r in results:
        runs = r["runs"]
        a, f, fs = med(runs["analyze"]), med(runs["floor"]), med(runs["floor_serial"])
        print(f"{r['n']:>10,} {r['villages']:>8} {r['load_s']:>7.1f} {r['n'] / r['load_s'] / 1000:>5.0f} "
              f"{r['floor_copy_s']:>12.1f} {r['load_s'] / r['floor_copy_s']:>10.2f} "
              f"{a:>9.2f} {f:>7.2f} {a / f:>7.2f} {fs:>14.2f} {a / fs:>8.2f} "
              f"{max(runs['rss_mb']):>8.0f} {r['cells']:>7,} {r['effective']:>9,} {r['dead']:>5}")
        print(f"{'':>19} analyze runs {', '.join(f'{x:.2f}' for x in runs['analyze'])}; floor runs "
              f"{', '.join(f'{x:.2f}' for x in runs['floor'])}; serial floor runs "
              f"{', '.join(f'{x:.2f}' for x in runs['floor_serial'])}; peak MB "
              f"{', '.join(f'{x:.0f}' for x in runs['rss_mb'])}; of which imports "
              f"{med(runs['imports']):.2f} s, {max(runs['imports_mb']):.0f} MB")


if __name__ == "__main__":
    main()
