"""Basemap benchmark: time and peak memory of ``surveyor basemap import`` per input format.

Generates a synthetic kecamatan-sized OpenStreetMap extract around Lipursari (``--buildings``
square houses, ``--roads`` ten-node roads, streams, facilities and hamlets, spread over a box
about ``--span-km`` wide, so part of it lies outside the village plus its 2 km buffer and is
clipped away), writes it as OSM XML, OSM XML bzip2, PBF (pyosmium's writer) and Overpass JSON,
and imports each into a fresh survey made by ``surveyor init`` (the builtin Lipursari boundary).
Each import runs in its own process; prints wall time, peak resident memory and the counts.

Usage: ``python benchmarks/bench_basemap.py [--buildings 100000] [--roads 10000] [--span-km 20]``
"""

from __future__ import annotations

import argparse
import bz2
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

LON0, LAT0 = 109.8576, -7.4372  # Lipursari's centroid

RUN = """
import json, sys, time
from surveyor.config import load_settings
from surveyor.ingest.basemap import import_basemap
from surveyor.store import open_store
t0 = time.perf_counter()
with open_store(sys.argv[1]) as store:
    record = import_basemap(store, load_settings(sys.argv[2]), [sys.argv[3]])
# VmHWM, not ru_maxrss: the latter keeps the parent's high-water mark across fork and exec.
hwm_kb = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print(json.dumps({"s": time.perf_counter() - t0, "rss_mb": hwm_kb / 1024, "counts": record["counts"]}))
"""


def generate(n_buildings: int, n_roads: int, span_km: float, seed: int = 7):
    """nodes {id: (lon, lat, tags)}, ways {id: (refs, tags)}."""
    rnd = random.Random(seed)
    half = span_km / 111.32 / 2
    nodes: dict[int, tuple[float, float, dict]] = {}
    ways: dict[int, tuple[list[int], dict]] = {}
    nid = 1

    def node(lon, lat, tags=None):
        nonlocal nid
        nodes[nid] = (round(lon, 7), round(lat, 7), tags or {})
        nid += 1
        return nid - 1

    def spot():
        return LON0 + rnd.uniform(-half, half), LAT0 + rnd.uniform(-half, half)

    wid = 1
    for _ in range(n_buildings):
        lon, lat = spot()
        d = 0.00008
        ring = [node(lon, lat), node(lon + d, lat), node(lon + d, lat + d), node(lon, lat + d)]
        ways[wid] = (ring + [ring[0]], {"building": rnd.choice(["yes", "house", "residential"])})
        wid += 1
    kinds = ["residential", "track", "path", "unclassified", "service", "tertiary", "footway"]
    for _ in range(n_roads):
        lon, lat = spot()
        refs = []
        for _ in range(10):
            refs.append(node(lon, lat))
            lon += rnd.uniform(-0.0008, 0.0008)
            lat += rnd.uniform(-0.0008, 0.0008)
        ways[wid] = (refs, {"highway": rnd.choice(kinds), "name": f"Jalan {wid}"})
        wid += 1
    for _ in range(max(1, n_roads // 20)):
        lon, lat = spot()
        ways[wid] = ([node(lon + i * 0.0005, lat + rnd.uniform(-0.0003, 0.0003)) for i in range(20)],
                     {"waterway": "stream"})
        wid += 1
    for i in range(max(1, n_buildings // 500)):
        node(*spot(), {"amenity": rnd.choice(["school", "place_of_worship", "clinic"]), "name": f"F{i}"})
        node(*spot(), {"place": "hamlet", "name": f"Dusun {i}"})
    return nodes, ways


def write_xml(nodes, ways, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="bench">\n')
        for i, (lon, lat, tags) in nodes.items():
            if tags:
                f.write(f' <node id="{i}" lat="{lat}" lon="{lon}">\n')
                f.writelines(f'  <tag k="{k}" v="{v}"/>\n' for k, v in tags.items())
                f.write(" </node>\n")
            else:
                f.write(f' <node id="{i}" lat="{lat}" lon="{lon}"/>\n')
        for i, (refs, tags) in ways.items():
            f.write(f' <way id="{i}">\n')
            f.writelines(f'  <nd ref="{r}"/>\n' for r in refs)
            f.writelines(f'  <tag k="{k}" v="{v}"/>\n' for k, v in tags.items())
            f.write(" </way>\n")
        f.write("</osm>\n")


def write_pbf(xml: Path, pbf: Path) -> None:
    import osmium

    writer = osmium.SimpleWriter(str(pbf))

    class Copy(osmium.SimpleHandler):
        def node(self, n):
            writer.add_node(n)

        def way(self, w):
            writer.add_way(w)

    Copy().apply_file(str(xml))
    writer.close()


def write_overpass(nodes, ways, path: Path) -> None:
    els = [{"type": "node", "id": i, "lat": lat, "lon": lon, **({"tags": t} if t else {})}
           for i, (lon, lat, t) in nodes.items()]
    els += [{"type": "way", "id": i, "nodes": refs, "tags": t} for i, (refs, t) in ways.items()]
    path.write_text(json.dumps({"version": 0.6, "elements": els}), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buildings", type=int, default=100_000)
    ap.add_argument("--roads", type=int, default=10_000)
    ap.add_argument("--span-km", type=float, default=20.0)
    ap.add_argument("--keep", default=None, help="Keep the generated files in this folder.")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-basemap-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        nodes, ways = generate(args.buildings, args.roads, args.span_km)
        xml = work / "extract.osm"
        write_xml(nodes, ways, xml)
        with open(xml, "rb") as f, bz2.open(work / "extract.osm.bz2", "wb") as out:
            shutil.copyfileobj(f, out)
        write_pbf(xml, work / "extract.osm.pbf")
        write_overpass(nodes, ways, work / "extract.json")
        print(f"generated {len(nodes):,} nodes, {len(ways):,} ways over {args.span_km:g} km in "
              f"{time.perf_counter() - t0:.1f} s")
        for name in ("extract.osm", "extract.osm.bz2", "extract.osm.pbf", "extract.json"):
            survey = work / f"survey-{name.replace('.', '-')}"
            shutil.rmtree(survey, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "surveyor", "-q", "init", str(survey)], check=True,
                           capture_output=True, cwd=REPO)
            out = subprocess.run([sys.executable, "-c", RUN, str(survey / "survey.gpkg"), str(survey / "survey.toml"),
                                  str(work / name)], check=True, capture_output=True, text=True, cwd=REPO)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            size_mb = (work / name).stat().st_size / 1e6
            counts = ", ".join(f"{v:,} {k}" for k, v in r["counts"].items())
            print(f"{name:<18} {size_mb:7.1f} MB  {r['s']:6.1f} s  peak {r['rss_mb']:6.0f} MB  kept: {counts}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
