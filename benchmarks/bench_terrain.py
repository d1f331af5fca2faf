"""Benchmark: whole-village terrain analysis (about 300 cells x 10 towers) and its cost next to analyze.

Builds, in a temporary folder, the simulated terrain village of ``surveyor.testing.terrain_sim``
on a slightly larger boundary (2.4 x 2.0 km: about 300 H3 resolution-10 cells per operator), with
its samples (8 walks x 3 operators, about 29,000), its 30 m DEM imported, and 10 towers (5
Telkomsel, 5 Indosat) 3-14 km around. Then times, in the same run, the medians of ``--repeat``
runs of:

- ``analyze``: :func:`surveyor.analyse.analyze` (reads the samples, judges the cells, writes layers);
- ``terrain``: :func:`surveyor.analyse.terrain.apply` (reads DEM, towers and samples, traces every
  cell to every tower within 15 km, calibrates per operator, cross-validates by held-out session,
  predicts every cell, gives every dead zone its verdict);
- ``profiles``: the path tracing alone (Deygout over all cell-tower pairs).

Targets (README, "Measured figures"): terrain under 10 s; analyze with terrain at most 3x analyze without.
Usage: ``python benchmarks/bench_terrain.py [--repeat R]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def build(root: Path):
    import numpy as np
    from shapely.geometry import Polygon

    from surveyor.analyse.terrain.towers import add_tower
    from surveyor.app.project import init_project
    from surveyor.config import load_settings
    from surveyor.ingest.dem import import_dem
    from surveyor.store import MergeRecord, open_store
    from surveyor.store.dem import write_geotiff
    from surveyor.testing.terrain_sim import build_village

    village = build_village()
    lon, lat = village.to_lonlat([-1200, 1200, 1200, -1200], [-1000, -1000, 1000, 1000])
    boundary = Polygon(list(zip(lon, lat)))
    (root / "b.geojson").write_text(json.dumps({"type": "Feature", "properties": {},
                                                "geometry": boundary.__geo_interface__}))
    init_project(root, area=root / "b.geojson", name="Benchdesa", code="99.02.01.2001")
    toml = root / "survey.toml"
    toml.write_text(toml.read_text().replace('operators = ["Telkomsel", "Indosat"]',
                                             'operators = ["Telkomsel", "Indosat", "XL"]'))
    settings = load_settings(toml)
    write_geotiff(root / "dem.tif", village.dem.elevation_m, village.dem)
    rng = np.random.default_rng(4)
    with open_store(str(root / "survey.gpkg")) as store:
        import pandas as pd

        from surveyor.geo.cells import h3_cells
        from surveyor.ingest.identity import sample_ids

        df = village.samples.copy()
        df["time"] = pd.to_datetime(df["time"], utc=True)
        df["sample_id"] = sample_ids(df, "bench")
        df["h3_10"] = h3_cells(df["lat"], df["lon"], 10)
        df["placed_by"] = "gps"
        df["source_format"], df["source_file"] = "journal", "sim.jsonl"
        mid = store.new_merge_id()
        df["merge_id"] = mid
        store.append("samples", df)
        store.commit_merge(MergeRecord(mid, "sim.jsonl", "bench", "journal", "2026-07-20T00:00:00Z",
                                       {"read": len(df), "added": len(df)}))
        import_dem(store, settings, [root / "dem.tif"])
        for k in range(10):
            op = "Telkomsel" if k < 5 else "Indosat"
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(3000, 14000)
            tlon, tlat = village.to_lonlat(dist * np.cos(angle), dist * np.sin(angle))
            add_tower(store, settings, operator=op, lat=float(tlat), lon=float(tlon), height_m=30.0)
    return settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from surveyor.analyse import analyze
    from surveyor.analyse.terrain import apply
    from surveyor.analyse.terrain.apply import places_of
    from surveyor.analyse.terrain.context import load_context
    from surveyor.analyse.terrain.model import link
    from surveyor.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        settings = build(root)
        print(f"setup (simulation, DEM import, towers): {time.perf_counter() - t:.1f} s")
        t_an, t_ter, t_prof = [], [], []
        with open_store(str(root / "survey.gpkg")) as store:
            for _ in range(args.repeat):
                t = time.perf_counter()
                analyze(store, settings)
                t_an.append(time.perf_counter() - t)
                cells, zones = store.read_layer("cells"), store.read_layer("dead_zones")
                t = time.perf_counter()
                apply(store, settings, cells, zones)
                t_ter.append(time.perf_counter() - t)
                ctx = load_context(store, settings)
                places = places_of(cells)
                t = time.perf_counter()
                links = link(ctx.dem, places["lat"].to_numpy(), places["lon"].to_numpy(), ctx.towers, 1.5)
                t_prof.append(time.perf_counter() - t)
            summary = store.get_meta("terrain_summary")
        an, ter, prof = (statistics.median(v) for v in (t_an, t_ter, t_prof))
        print(f"cells: {len(places)} distinct ({len(cells)} cell rows over 3 operators), dead zones: {len(zones)}, "
              f"towers: {summary['towers']}, cell-tower paths: {len(links.place)} "
              f"(DEM {ctx.dem.shape[1]} x {ctx.dem.shape[0]} pixels of {ctx.dem.resolution_m[0]:g} m)")
        print(f"analyze (without terrain): {an:.2f} s   [runs: {', '.join(f'{v:.2f}' for v in t_an)}]")
        print(f"terrain apply:             {ter:.2f} s   [runs: {', '.join(f'{v:.2f}' for v in t_ter)}]  "
              f"target < 10 s: {'OK' if ter < 10 else 'MISSED'}")
        print(f"  of which path profiles:  {prof:.2f} s")
        print(f"analyze with terrain / without: {(an + ter) / an:.2f}x  target <= 3x: "
              f"{'OK' if (an + ter) / an <= 3 else 'MISSED'}")
        cv = {op: v.get("rmse_db") for op, v in summary["cross_validation"].items()}
        print(f"cross-validated RMSE by held-out session (dB): {cv}")


if __name__ == "__main__":
    main()
