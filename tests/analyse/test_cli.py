"""The analyze, deadzones and revisit commands on real GeoPackages, including bad input."""

import json
import xml.etree.ElementTree as ET
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from .conftest import T0, make_db, run, walk


def dead_and_covered() -> pd.DataFrame:
    """Three sessions 6 h apart walking east: 600 m dead (-125 dBm), then 600 m covered (-90 dBm)."""
    parts = []
    for session, start in (("a", T0), ("b", T0 + timedelta(hours=6)), ("c", T0 + timedelta(hours=12))):
        w = walk(160, session=session, device=session, start=start, step_s=8, step_m=8, bearing="east",
                 lat=-7.440, lon=109.850)
        w["rsrp_dbm"] = np.where(np.arange(160) < 80, -125.0, -90.0)
        w["note"] = 'a <b>"note"</b> & more'
        parts.append(w)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture
def db(tmp_path):
    towers = pd.DataFrame({"operator": ["Telkomsel"], "lat": [-7.60], "lon": [110.0], "radio": ["LTE"]})
    once = walk(5, session="once", device="c", lat=-7.432, lon=109.862, rsrp_dbm=-100.0, operator="Indosat")
    once["volunteer"] = "Dewi <script>"
    return make_db(tmp_path / "s.gpkg", pd.concat([dead_and_covered(), once], ignore_index=True), towers)


def test_analyze_deadzones_revisit(db):
    code, out, err = run(["analyze", "--db", db, "--json"])
    assert code == 0, err
    summary = json.loads(out)
    tsel = summary["operators"]["Telkomsel"]
    assert tsel["dead_zones"] == 1 and tsel["zone_ids"] == ["DZ-TSEL-01"]
    assert tsel["cells"]["dead"] >= 4 and tsel["cells"]["covered"] >= 4
    assert summary["operators"]["Indosat"]["cells"]["insufficient"] >= 1

    code, out, err = run(["analyze", "--db", db])
    assert code == 0 and "Telkomsel:" in out and "DZ-TSEL-01" in out

    code, out, _ = run(["deadzones", "--db", db, "--format", "geojson"])
    fc = json.loads(out)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 1
    p = fc["features"][0]["properties"]
    for key in ("zone_id", "area_km2", "samples_effective", "samples_raw", "sessions", "devices", "days",
                "share_negative", "lower_95", "upper_95", "first_seen", "last_seen", "nearest_signal_m",
                "nearest_signal_direction", "nearest_tower_m", "nearest_tower_direction"):
        assert key in p
    assert p["nearest_signal_direction"] == "east" and p["sessions"] == 3
    assert p["nearest_tower_direction"] == "south-east" and p["nearest_tower_m"] > 15_000
    assert p["lower_95"] > 0.5 and p["share_negative"] == 1.0

    code, out, _ = run(["deadzones", "--db", db])
    assert code == 0 and "DZ-TSEL-01" in out and "east" in out
    code, out, _ = run(["deadzones", "--db", db, "--format", "csv", "--operator", "TSEL"])
    assert out.splitlines()[0].startswith("zone_id,operator") and len(out.splitlines()) == 2
    code, out, _ = run(["deadzones", "--db", db, "--format", "json", "--operator", "indosat"])
    assert code == 0 and json.loads(out) == []
    code, out, err = run(["deadzones", "--db", db, "--operator", "Nokia"])
    assert code == 2 and "Telkomsel" in err

    code, out, _ = run(["revisit", "--db", db, "--format", "gpx", "--operator", "Indosat"])
    root = ET.fromstring(out)
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    wpts = root.findall("g:wpt", ns)
    assert len(wpts) >= 1
    assert wpts[0].find("g:name", ns).text.startswith("1. ")  # walking order, named by place
    assert "Indosat" in wpts[0].find("g:desc", ns).text
    assert "another visit at least 4 h after" in wpts[0].find("g:desc", ns).text
    code, out, _ = run(["revisit", "--db", db, "--format", "csv"])
    assert "needs" in out.splitlines()[0]
    code, out, _ = run(["revisit", "--db", db])
    assert code == 0 and "Indosat" in out


def test_layers_have_the_documented_columns(db):
    from surveyor.store import open_store

    assert run(["analyze", "--db", db])[0] == 0
    with open_store(db) as store:
        cells = store.read_layer("cells")
        zones = store.read_layer("dead_zones")
        sites = store.read_layer("sites")
        assert store.get_meta("analysis_rules")["min_effective_samples"] == 5
        assert store.get_meta("analysed_at")
        assert store.get_meta("analysis_summary")["resolution"] == 10
    for c in ("h3", "resolution", "operator", "area_code", "status", "samples_raw", "samples_effective",
              "negatives_effective", "share_negative", "lower_95", "upper_95", "share_no_service", "share_2g3g",
              "sessions", "devices", "days", "first_seen", "last_seen", "time_spread_h", "rsrp_p20_dbm",
              "rsrp_median_dbm", "rsrp_p80_dbm", "signal_metric", "tech_main", "unknown_accuracy_share",
              "speed_tests", "speed_failed", "download_median_mbps", "upload_median_mbps", "weak_signal", "dusun",
              "outside_area", "needs", "lat", "lon"):
        assert c in cells.columns, c
    assert set(cells["status"]) <= {"dead", "marginal", "covered", "insufficient", "not_surveyed"}
    for c in ("zone_id", "operator", "cells", "area_km2", "centroid_lat", "centroid_lon", "dusun",
              "nearest_signal_bearing_deg", "nearest_tower_bearing_deg", "area_code"):
        assert c in zones.columns, c
    for c in ("rank", "operator", "h3", "lat", "lon", "altitude_m", "dead_cells_served", "samples_served",
              "zone_ids", "radius_m", "area_code"):
        assert c in sites.columns, c
    assert sites.iloc[0]["zone_ids"] == "DZ-TSEL-01" and sites.iloc[0]["dead_cells_served"] >= 4


def test_json_summary_is_what_the_database_holds(db):
    from surveyor.store import open_store

    code, out, err = run(["analyze", "--db", db, "--json"])
    assert code == 0, err
    summary = json.loads(out)
    with open_store(db) as store:
        assert store.get_meta("analysis_summary") == summary
        assert store.get_meta("analysed_at") == summary["analysed_at"]
        cells = store.read_layer("cells")
        zones = store.read_layer("dead_zones")
    assert list(summary) == ["resolution", "samples_read", "samples_used", "signal_samples", "effective_samples",
                             "speed_tests", "left_out", "other_operators", "unknown_accuracy_share",
                             "outside_area_cells", "operators", "analysed_at"]
    assert summary["samples_used"] == summary["signal_samples"] + summary["speed_tests"]
    assert summary["samples_read"] == summary["samples_used"] + sum(summary["left_out"].values())
    for op, s in summary["operators"].items():
        mine = cells[cells["operator"] == op]
        assert s["cells"] == {st: int((mine["status"] == st).sum())
                              for st in ("dead", "marginal", "covered", "insufficient", "not_surveyed")}
        assert s["zone_ids"] == list(zones[zones["operator"] == op]["zone_id"])
        assert s["samples"] == int(mine["samples_raw"].sum())


def test_text_summary_reads_the_typed_summary(db):
    from surveyor.analyse import analyze
    from surveyor.cli.analyze import summary_text
    from surveyor.config import Settings
    from surveyor.store import open_store

    with open_store(db) as store:
        summary = analyze(store, Settings())
    text = summary_text(summary, db)
    tsel = summary.operators["Telkomsel"]
    assert f"Analysed {summary.samples_read:,} samples at H3 resolution 10" in text
    assert (f"Telkomsel: cells: No usable 4G {tsel.cells['dead']}, Weak signal {tsel.cells['marginal']}, "
            f"Usable 4G {tsel.cells['covered']}") in text  # the glossary's words
    assert ", ".join(tsel.zone_ids) in text and db in text


def test_empty_database_says_merge_first(tmp_path):
    db = make_db(tmp_path / "empty.gpkg")
    code, out, err = run(["analyze", "--db", db])
    assert code == 1 and "Merge first" in err and out == ""
    code, _, err = run(["analyze", "--db", str(tmp_path / "missing.gpkg")])
    assert code == 1 and "merge" in err.lower()
    code, _, err = run(["deadzones", "--db", db])
    assert code == 1 and "surveyor analyze" in err


def test_one_operator_only(tmp_path):
    db = make_db(tmp_path / "one.gpkg", dead_and_covered())
    code, out, _ = run(["analyze", "--db", db, "--json"])
    s = json.loads(out)
    assert code == 0
    ind = s["operators"]["Indosat"]["cells"]
    assert ind["not_surveyed"] > 100 and ind["dead"] == ind["covered"] == ind["insufficient"] == 0


def test_bad_config_names_key_and_line(tmp_path, db):
    cfg = tmp_path / "survey.toml"
    cfg.write_text('[evidence]\nmin_sessions = "two"\nmin_walks = 3\n', encoding="utf-8")
    code, _, err = run(["analyze", "--db", db, "--config", str(cfg)])
    assert code == 1
    assert "min_sessions" in err and f"{cfg}:2" in err
    assert "min_walks" in err and f"{cfg}:3" in err


def test_config_thresholds_are_used(tmp_path, db):
    cfg = tmp_path / "survey.toml"
    cfg.write_text("[grid]\nresolution = 9\n[evidence]\nmin_effective_samples = 500\n", encoding="utf-8")
    code, out, _ = run(["analyze", "--db", db, "--config", str(cfg), "--json"])
    s = json.loads(out)
    assert code == 0 and s["resolution"] == 9 and s["operators"]["Telkomsel"]["dead_zones"] == 0


@pytest.mark.parametrize("res", ["4", "13", "x"])
def test_resolution_out_of_range_is_a_usage_error(db, res):
    code, _, err = run(["analyze", "--db", db, "--resolution", res])
    assert code == 2 and "resolution" in err.lower()


def test_resolution_flag(db):
    code, out, _ = run(["analyze", "--db", db, "--resolution", "8", "--json"])
    assert code == 0 and json.loads(out)["resolution"] == 8


def test_commands_have_help():
    for cmd in ("analyze", "deadzones", "revisit"):
        code, out, _ = run([cmd, "--help"])
        assert code == 0 and "--db" in out
