"""Merge speed and memory against the floor and the naive pipeline (README, "Measured figures").

Generates N G-NetTrack-format rows (default 1,000,000, about 125 MB), then times in one run,
each in its own process so peak memory is its own:

- floor: pyarrow parses the CSV, shapely builds the points, pyogrio writes them as Arrow into a
  GeoPackage with its spatial index: the least any merge into a GeoPackage can do;
- naive: pandas.read_csv + geopandas.points_from_xy + GeoDataFrame.to_file, what a GIS analyst
  would write;
- surveyor: ``surveyor merge`` (validation, identities, H3 cells, dedup, quarantine, provenance);
- surveyor at N/2, to show peak memory does not grow with the file (it streams in chunks).

Targets: surveyor <= 1.5x floor and <= 0.5x naive; peak memory < 1.5 GB and flat.

The machines are shared and their speed drifts by a third within minutes, so the stages run
``--repeat`` times, interleaved, and the ratios are given for the fastest run of each stage (noise
only ever adds time) and for the median.
Usage: python benchmarks/bench_merge.py [--rows N] [--repeat R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

HEADER = ("Timestamp,Longitude,Latitude,Speed,Operatorname,CellID,NetworkMode,RSRP,RSRQ,SNR,CQI,RSSI,DL_bitrate,"
          "UL_bitrate,State,PINGAVG,PINGMIN,PINGMAX,PINGSTDEV,PINGLOSS,CELLHEX,NODEHEX,LACHEX,RAWCELLID,NRxRSRP,"
          "NRxRSRQ")


def generate(path: Path, n_rows: int, seed: int = 7) -> None:
    """G-NetTrack rows: a walk around Lipursari at 1 Hz, LTE/UMTS mix, '-' for missing values."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 7, 1, 6, 0, 0)
    ops = np.array(["IND TELKOMSEL", "51010", "INDOSAT", "IM3"])
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(HEADER + "\n")
        for b0 in range(0, n_rows, 100_000):
            k = min(100_000, n_rows - b0)
            i = np.arange(b0, b0 + k)
            lat = -7.447 + (i % 3000) * 7e-6 + rng.normal(0, 3e-6, k)
            lon = 109.846 + (i // 3000 % 3000) * 7e-6 + rng.normal(0, 3e-6, k)
            rsrp = rng.integers(-128, -65, k)
            mode = np.where(rng.random(k) < 0.85, "LTE", "HSPA+")
            op = ops[rng.integers(0, 4, k)]
            dl = rng.integers(0, 30000, k)
            fh.writelines(
                f"{start + timedelta(seconds=int(s)):%Y.%m.%d_%H.%M.%S},{lo:.7f},{la:.7f},4,{o},12,{m},{r},-11,5.0,9,"
                f"-70,{d},40,D,-,-,-,-,-,C,2A1F,1B2,10805003,-,-\n"
                for s, la, lo, r, m, o, d in zip(i, lat, lon, rsrp, mode, op, dl))


FLOOR = r"""
import sys, pyarrow.csv as pacsv, pyarrow as pa, shapely, pyogrio
src, out = sys.argv[1], sys.argv[2]
t = pacsv.read_csv(src, convert_options=pacsv.ConvertOptions(null_values=["-"], strings_can_be_null=True))
geom = shapely.to_wkb(shapely.points(t.column("Longitude").to_numpy(), t.column("Latitude").to_numpy()))
t = pa.table({n: (c.cast(pa.string()) if pa.types.is_null(c.type) else c) for n, c in zip(t.column_names, t.columns)})
t = t.append_column("geom", pa.array(geom, pa.binary()))
pyogrio.write_arrow(t, out, layer="samples", driver="GPKG", geometry_name="geom", geometry_type="Point",
                    crs="EPSG:4326")
"""

NAIVE = r"""
import sys, pandas as pd, geopandas as gpd
src, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(src, na_values=["-"])
gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["Longitude"], df["Latitude"]), crs="EPSG:4326")
gdf.to_file(out, layer="samples", driver="GPKG")
"""

SURVEYOR = r"""
import sys
from surveyor.cli import main
main(["-q", "merge", sys.argv[1], "--db", sys.argv[2], "--tz", "Asia/Jakarta"])
"""


def run(code: str, src: Path, out: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of a child process running ``code``."""
    if out.exists():
        out.unlink()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    # A wrapper process per stage so ru_maxrss of the children is that stage's alone.
    wrapper = ("import resource, subprocess, sys, json; "
               "p = subprocess.run([sys.executable, '-c', sys.argv[1], sys.argv[2], sys.argv[3]]); "
               "print(json.dumps([p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")
    proc = subprocess.run([sys.executable, "-c", wrapper, code, str(src), str(out)], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    del before
    code_rc, maxrss_kb = json.loads(proc.stdout.strip().splitlines()[-1])
    if code_rc != 0:
        raise SystemExit(f"stage failed:\n{proc.stderr}")
    return seconds, maxrss_kb / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each stage, interleaved (default 3)")
    ap.add_argument("--keep", type=Path, default=None, help="keep generated files in this folder")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-merge-"))
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "gnettrack.csv"
    half = folder / "gnettrack-half.csv"
    t0 = time.perf_counter()
    generate(src, args.rows)
    generate(half, args.rows // 2)
    print(f"generated {args.rows:,} rows, {src.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s")
    stages = {"floor": (FLOOR, src), "naive": (NAIVE, src), "surveyor": (SURVEYOR, src), "half": (SURVEYOR, half)}
    times: dict[str, list[float]] = {k: [] for k in stages}
    peaks: dict[str, float] = {k: 0.0 for k in stages}
    for _ in range(args.repeat):
        for name, (code, source) in stages.items():
            seconds, mb = run(code, source, folder / f"{name}.gpkg")
            times[name].append(seconds)
            peaks[name] = max(peaks[name], mb)
    best = {k: min(v) for k, v in times.items()}
    median = {k: statistics.median(v) for k, v in times.items()}

    def line(label: str, key: str) -> str:
        runs = " ".join(f"{t:.1f}" for t in times[key])
        return f"{label:44s} best {best[key]:5.1f} s  median {median[key]:5.1f} s  peak {peaks[key]:5.0f} MB  ({runs})"

    print(line("floor    (pyarrow + shapely + pyogrio arrow):", "floor"))
    print(line("naive    (pandas + points_from_xy + to_file):", "naive"))
    print(line(f"surveyor merge, {args.rows:,} rows:", "surveyor"))
    print(line(f"surveyor merge, {args.rows // 2:,} rows:", "half"))
    print(f"ratio to floor: {best['surveyor'] / best['floor']:.2f} best, "
          f"{median['surveyor'] / median['floor']:.2f} median (target <= 1.5)")
    print(f"ratio to naive: {best['surveyor'] / best['naive']:.2f} best, "
          f"{median['surveyor'] / median['naive']:.2f} median (target <= 0.5)")
    print(f"peak memory growth from N/2 to N: {peaks['surveyor'] / peaks['half']:.2f}x (flat is ~1.0; target < 1.5 GB)")
    if not args.keep:
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
