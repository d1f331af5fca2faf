"""Dead-zone IDs last: a re-analysis after a new session is merged keeps the ID of every zone that
overlaps an earlier one, gives new zones new numbers and never reuses a retired ID; the changes
are stored for the report."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
from shapely.geometry import box

from surveyor.analyse.zones import ZoneRegister, _lasting_ids, zone_changes

from .conftest import T0, run, walk

# Three places 600 m apart along a north-south line (south first).
SOUTH, MIDDLE, NORTH = -7.446, -7.440, -7.434
LON = 109.852


def visits(lat: float, rsrp: float, sessions=("a", "b"), start=T0, n=60) -> pd.DataFrame:
    """Walks of n samples going east at one place, one per session, 6 h apart."""
    parts = []
    for k, s in enumerate(sessions):
        w = walk(n, session=f"{s}{lat}", device=s, start=start + timedelta(hours=6 * k), step_s=8, step_m=8,
                 bearing="east", lat=lat, lon=LON)
        w["rsrp_dbm"] = rsrp
        parts.append(w)
    return pd.concat(parts, ignore_index=True)


def journal(path, df: pd.DataFrame) -> str:
    rows = df.assign(time=df["time"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")))
    with open(path, "w", encoding="utf-8") as fh:
        for rec in rows.to_dict("records"):
            fh.write(json.dumps({"v": 1, **{k: v for k, v in rec.items() if v == v}}) + "\n")
    return str(path)


def zones_of(db) -> dict[str, float]:
    code, out, err = run(["deadzones", "--db", db, "--format", "json"])
    assert code == 0, err
    return {z["zone_id"]: z["centroid_lat"] for z in json.loads(out)}


def merge_and_analyse(tmp_path, db, name, df):
    code, _, err = run(["merge", journal(tmp_path / name, df), "--db", db])
    assert code == 0, err
    code, _, err = run(["analyze", "--db", db])
    assert code == 0, err


def test_ids_last_across_merges_and_retired_ids_are_never_given_again(tmp_path):
    db = str(tmp_path / "s.gpkg")
    # First survey: dead in the middle and in the north.
    merge_and_analyse(tmp_path, db, "first.jsonl", pd.concat([visits(MIDDLE, -125.0), visits(NORTH, -125.0)]))
    first = zones_of(db)
    assert sorted(first) == ["DZ-TSEL-01", "DZ-TSEL-02"]
    middle_id = min(first, key=first.get)
    north_id = max(first, key=first.get)

    # A new session: a dead place in the south (numbered first by position, so a renumbering would
    # move every ID), and good signal over the middle zone, which is dead no more.
    later = T0 + timedelta(days=2)
    merge_and_analyse(tmp_path, db, "second.jsonl", pd.concat([
        visits(SOUTH, -125.0, sessions=("c", "d"), start=later),
        visits(MIDDLE, -85.0, sessions=("c", "d", "e", "f", "g", "h"), start=later, n=60)]))
    second = zones_of(db)
    assert second.get(north_id) == first[north_id]           # the same place keeps its ID
    assert middle_id not in second                            # dead no more: retired
    new = [z for z in second if z not in first]
    assert new == ["DZ-TSEL-03"] and second["DZ-TSEL-03"] < SOUTH + 0.001

    code, _, err = run(["analyze", "--db", db, "--json"])
    assert code == 0, err
    from surveyor.store import open_store

    with open_store(db) as store:
        changes = store.get_meta("zone_changes")
        register = store.get_meta("zone_register")
    assert changes["previous_analysed_at"] and changes["analysed_at"] >= changes["previous_analysed_at"]
    # The third analysis saw no change: every zone kept.
    assert {c["change"] for c in changes["changes"]} == {"kept"}
    assert middle_id in register["retired"]["33.07.05.2002"]

    # The middle turns dead again: a new number, never the retired one.
    merge_and_analyse(tmp_path, db, "third.jsonl",
                      visits(MIDDLE, -130.0, sessions=tuple("ijklmnopqrstuvwxyz"), start=later + timedelta(days=3)))
    third = zones_of(db)
    assert middle_id not in third and "DZ-TSEL-04" in third
    assert third[north_id] == first[north_id] and "DZ-TSEL-03" in third
    with open_store(db) as store:
        changes = {c["zone_id"]: c for c in store.get_meta("zone_changes")["changes"]}
    assert changes["DZ-TSEL-04"]["change"] == "new" and changes[north_id]["change"] == "kept"


def _gdf(ids, geoms, cells=None):
    import geopandas as gpd

    return gpd.GeoDataFrame({"zone_id": ids, "operator": ["Telkomsel"] * len(ids),
                             "cells": cells or [1] * len(ids), "area_km2": [g.area for g in geoms]},
                            geometry=geoms, crs="EPSG:4326")


def test_a_merge_keeps_the_larger_zone_id_and_retires_the_other():
    old = _gdf(["DZ-TSEL-01", "DZ-TSEL-02"], [box(0, 0, 1, 1), box(2, 0, 4, 2)], [1, 4])
    register = ZoneRegister()
    prev = {"Telkomsel": list(zip(old["zone_id"], old.geometry))}
    for zid in old["zone_id"]:
        register.note("x", zid)
    merged = box(0, 0, 4, 2)
    ids = _lasting_ids([merged], prev["Telkomsel"], "x", "Telkomsel", register)
    assert ids == ["DZ-TSEL-02"]
    changes = {c["zone_id"]: c for c in zone_changes(old, _gdf(ids, [merged], [5]))}
    assert changes["DZ-TSEL-02"]["change"] == "grown"
    assert changes["DZ-TSEL-01"]["change"] == "merged" and changes["DZ-TSEL-01"]["into"] == "DZ-TSEL-02"


def test_a_split_keeps_the_id_for_the_larger_part_and_numbers_the_other():
    old = _gdf(["DZ-TSEL-01"], [box(0, 0, 4, 1)], [4])
    register = ZoneRegister()
    register.note("x", "DZ-TSEL-01")
    parts = [box(0, 0, 1, 1), box(2, 0, 4, 1)]
    ids = _lasting_ids(parts, list(zip(old["zone_id"], old.geometry)), "x", "Telkomsel", register)
    assert ids == ["DZ-TSEL-02", "DZ-TSEL-01"]
    changes = {c["zone_id"]: c for c in zone_changes(old, _gdf(ids, parts, [1, 2]))}
    assert changes["DZ-TSEL-02"]["change"] == "split" and changes["DZ-TSEL-02"]["from"] == "DZ-TSEL-01"
    assert changes["DZ-TSEL-01"]["change"] == "shrunk"


def test_touching_is_not_overlapping():
    register = ZoneRegister()
    register.note("x", "DZ-TSEL-07")
    ids = _lasting_ids([box(1, 0, 2, 1)], [("DZ-TSEL-07", box(0, 0, 1, 1))], "x", "Telkomsel", register)
    assert ids == ["DZ-TSEL-08"]
