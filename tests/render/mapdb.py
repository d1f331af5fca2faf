"""Deterministic survey geodatabases for the map and print tests (and the map benchmark).

The analysis layers follow docs/layers.md. Until the analysis is used end to end in a test, this
module writes them itself: it is a fixture, not the analysis. Every coverage class occurs for both
operators, so the browser and PDF tests can look for each class colour.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

EVIL = "<img src=x onerror=alert(1)>"
VOLUNTEER = "Budi Santoso Rahasia"
DEVICE = "dev-secret-9f3a"


def _cells_frame(operators: list[str], resolution: int = 10, evil: bool = False):
    import geopandas as gpd
    import h3
    from shapely.geometry import Polygon

    from surveyor.geo.areas import load_boundary
    from surveyor.config import Settings

    boundary = load_boundary(Settings())
    cells = sorted(h3.geo_to_cells(boundary.__geo_interface__, resolution))
    rows, geoms = [], []
    for op_i, op in enumerate(operators):
        for c in cells:
            lat, lon = h3.cell_to_latlng(c)
            # Bands across the village, shifted per operator: west dead, then marginal, covered,
            # insufficient, and the eastern strip unsurveyed (left out: the map adds it).
            x = (lon - 109.8435) / (109.8708 - 109.8435) + 0.12 * op_i
            if x < 0.25:
                status = "dead"
            elif x < 0.4:
                status = "marginal"
            elif x < 0.7:
                status = "covered"
            elif x < 0.85:
                status = "insufficient"
            else:
                continue
            n_eff = {"dead": 12, "marginal": 10, "covered": 15, "insufficient": 3}[status]
            neg = {"dead": 11, "marginal": 4, "covered": 0, "insufficient": 1}[status]
            share = neg / n_eff
            rows.append({
                "h3": c, "resolution": resolution, "operator": op, "area_code": "33.07.05.2002",
                "status": status, "samples_raw": n_eff * 4, "samples_effective": n_eff,
                "negatives_effective": neg, "share_negative": share,
                "lower_95": max(0.0, share - 0.25), "upper_95": min(1.0, share + 0.2),
                "share_no_service": share / 2, "share_2g3g": share / 4,
                "sessions": 3, "devices": 2, "days": 2,
                "first_seen": "2026-07-14T01:00:00Z", "last_seen": "2026-07-15T03:00:00Z",
                "time_spread_h": 25.0, "rsrp_p20_dbm": -118.0, "rsrp_median_dbm": -110.0 + 20 * (1 - share),
                "rsrp_p80_dbm": -95.0, "signal_metric": "rsrp", "tech_main": "LTE",
                "unknown_accuracy_share": 0.1, "speed_tests": 2, "speed_failed": 1 if status == "dead" else 0,
                "download_median_mbps": 3.0, "upload_median_mbps": 0.5,
                "weak_signal": status == "marginal", "dusun": (EVIL if evil else "Krajan"),
                "outside_area": False,
                "needs": "3 more samples; another session >= 4 h after 2026-07-14 08:10"
                if status == "insufficient" else None,
                "lat": lat, "lon": lon,
            })
            geoms.append(Polygon([(x_, y_) for y_, x_ in h3.cell_to_boundary(c)]))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def _zones(cells):
    import geopandas as gpd
    rows, geoms = [], []
    for op, g in cells[cells["status"] == "dead"].groupby("operator"):
        import h3
        from shapely.geometry import shape

        merged = shape(h3.cells_to_geo(list(g["h3"])))  # exact: no slivers between neighbours
        parts = list(getattr(merged, "geoms", [merged]))
        parts.sort(key=lambda p: (p.centroid.y, p.centroid.x))
        code = {"Telkomsel": "TSEL", "Indosat": "ISAT"}.get(op, op[:4].upper())
        for i, p in enumerate(parts, 1):
            rows.append({"zone_id": f"DZ-{code}-{i:02d}", "operator": op, "cells": len(g), "area_km2": 0.12,
                         "centroid_lat": p.centroid.y, "centroid_lon": p.centroid.x, "dusun": "Krajan",
                         "samples_effective": 40, "samples_raw": 160, "negatives_effective": 37,
                         "share_negative": 0.925, "lower_95": 0.82, "upper_95": 0.98, "share_no_service": 0.5,
                         "share_2g3g": 0.2, "sessions": 3, "devices": 2, "days": 2,
                         "first_seen": "2026-07-14T01:00:00Z", "last_seen": "2026-07-15T03:00:00Z",
                         "rsrp_median_dbm": -121.0, "speed_tests": 4, "speed_failed": 4,
                         "nearest_signal_m": 240.0, "nearest_signal_bearing_deg": 45.0,
                         "nearest_signal_direction": "north-east", "nearest_tower_m": 2100.0,
                         "nearest_tower_bearing_deg": 100.0, "nearest_tower_direction": "east",
                         "area_code": "33.07.05.2002"})
            geoms.append(p)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def _sites(zones):
    import geopandas as gpd
    from shapely.geometry import Point

    rows, geoms = [], []
    for op, g in zones.groupby("operator"):
        z = g.iloc[0]
        rows.append({"rank": 1, "operator": op, "h3": "8a0000000000000", "lat": z.centroid_lat,
                     "lon": z.centroid_lon, "altitude_m": 820.0, "dead_cells_served": 20, "samples_served": 200,
                     "zone_ids": ",".join(g["zone_id"]), "radius_m": 1500.0, "area_code": "33.07.05.2002"})
        geoms.append(Point(z.centroid_lon + 0.002, z.centroid_lat))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def _samples(n: int, operators: list[str], evil: bool, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t0 = datetime(2026, 7, 14, 1, 0, tzinfo=timezone.utc)
    per_session = 3600
    sessions = max(1, n // per_session)
    rows = {
        "time": [t0 + timedelta(hours=5 * (i // per_session), seconds=i % per_session) for i in range(n)],
    }
    # Random walks through the village, one per session.
    lat = np.empty(n)
    lon = np.empty(n)
    for s in range(sessions + 1):
        a, b = s * per_session, min(n, (s + 1) * per_session)
        if a >= b:
            break
        steps = rng.normal(0, 0.00004, size=(b - a, 2)).cumsum(axis=0)
        lat[a:b] = -7.436 + rng.uniform(-0.006, 0.006) + steps[:, 0]
        lon[a:b] = 109.857 + rng.uniform(-0.01, 0.01) + steps[:, 1]
    rows["lat"] = np.clip(lat, -7.4469, -7.4250)
    rows["lon"] = np.clip(lon, 109.8435, 109.8707)
    rows["operator"] = [operators[i % len(operators)] for i in range(n)]
    rows["session"] = [f"s{i // per_session}" for i in range(n)]
    rows["device"] = DEVICE
    rows["volunteer"] = VOLUNTEER
    rows["kind"] = "signal"
    rows["tech"] = np.where(rng.random(n) < 0.1, "NONE", "LTE")
    rows["service"] = np.where(rows["tech"] == "NONE", "no_service", "in_service")
    rows["rsrp_dbm"] = np.where(rows["tech"] == "LTE", rng.normal(-105, 10, n).round(), np.nan)
    rows["environment"] = "outdoor"
    rows["accuracy_m"] = 5.0
    rows["note"] = [EVIL if (evil and i % 50 == 0) else None for i in range(n)]
    rows["source_format"] = "journal"
    rows["source_file"] = "walk.jsonl"
    df = pd.DataFrame(rows)
    df["sample_id"] = np.arange(1, n + 1, dtype=np.int64)
    return df


def build_db(path: Path | str, *, samples: int = 400, analysed: bool = True, evil: bool = False,
             operators: tuple[str, ...] = ("Telkomsel", "Indosat"), towers: bool = True) -> Path:
    """A GeoPackage with samples and (when ``analysed``) the analysis layers of docs/layers.md."""
    import geopandas as gpd
    from shapely.geometry import Point

    from surveyor.store import MergeRecord, open_store
    from surveyor.store._arrow import sample_table

    path = Path(path)
    ops = list(operators)
    if evil:
        ops = [ops[0], EVIL]
    store = open_store(str(path), create=True)
    from surveyor.config import Settings
    from surveyor.store.survey import remember

    remember(store, Settings())  # as a merge does: the database knows its survey's settings
    if samples:
        mid = store.new_merge_id()
        df = _samples(samples, ops, evil)
        df["merge_id"] = mid
        store.append("samples", sample_table(df))
        if towers:
            tw = pd.DataFrame({"merge_id": mid, "radio": "LTE", "operator": ops[:1] * 2 + [EVIL if evil else ops[-1]],
                               "mcc": 510, "mnc": 10, "lat": [-7.430, -7.445, -7.44],
                               "lon": [109.850, 109.865, 109.86], "range_m": 1200.0, "source": "OpenCelliD"})
            store.append("towers", tw)
        store.commit_merge(MergeRecord(mid, "walk.jsonl", f"hash-{mid}", "journal", "2026-07-16T00:00:00Z",
                                       {"read": len(df), "added": len(df)}))
    if analysed:
        cells = _cells_frame(ops, evil=evil)
        zones = _zones(cells)
        store.write_layer("cells", cells)
        store.write_layer("dead_zones", zones)
        store.write_layer("sites", _sites(zones))
        store.set_meta("analysed_at", "2026-07-16T03:00:00Z")
    _ = (gpd, Point)
    return path
