"""The terrain commands (towers, antenna, sites) and the analyze hook on the simulated village,
with the bad input of the issue: no DEM, a DEM that does not reach a tower, a tower at sea or of
impossible height, --at outside the DEM."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from surveyor.analyse.terrain import apply
from surveyor.store import open_store

from .conftest import add_samples, make_survey, settings_of


def _args(root):
    return ("--db", str(root / "survey.gpkg"), "--config", str(root / "survey.toml"))


def _place(village, x, y) -> str:
    lon, lat = village.to_lonlat(x, y)
    return f"{float(lat):.6f},{float(lon):.6f}"


def test_commands_have_help(invoke):
    for args in (["dem", "--help"], ["dem", "import", "--help"], ["towers", "add", "--help"],
                 ["towers", "list", "--help"], ["antenna", "--help"], ["sites", "--help"]):
        r = invoke(*args)
        assert r.exit_code == 0 and "Usage:" in r.stdout, args


def test_no_dem_analysis_goes_on_and_commands_name_the_import(village, tmp_path, invoke, caplog):
    from surveyor.analyse import analyze

    root = make_survey(tmp_path / "nodem", village.boundary)
    settings = settings_of(root)
    with open_store(str(root / "survey.gpkg")) as store:
        add_samples(store, village.samples[village.samples["session"].isin(["sim-00", "sim-01"])])
        analyze(store, settings)
        cells, zones = store.read_layer("cells"), store.read_layer("dead_zones")
        with caplog.at_level(logging.INFO):
            c2, z2 = apply(store, settings, cells, zones)
    assert c2 is cells and z2 is zones
    assert "surveyor dem import" in caplog.text
    for args in (["antenna", "--at", _place(village, 0, 0)], ["sites"]):
        r = invoke(*args, *_args(root))
        assert r.exit_code == 1 and "surveyor dem import" in r.stderr and "Traceback" not in r.stderr, args


def test_towers_add_and_list(survey_copy, invoke):
    args = _args(survey_copy)
    r = invoke("towers", "add", "--operator", "IM3", "--lat", "-7.45", "--lon", "109.87", "--band", "1", *args)
    assert r.exit_code == 0, r.output
    assert "Indosat" in r.stdout and "antenna height 30 m (assumed" in r.stdout
    r = invoke("towers", "list", *args)
    assert r.exit_code == 0
    assert "M4" in r.stdout and "height 30 m (assumed 30 m)" in r.stdout and "2140 MHz (given (B1))" in r.stdout
    assert "930 MHz (EARFCN 3500" in r.stdout  # the Indosat tower of the sim takes its phones' carrier


@pytest.mark.parametrize("extra, words", [
    (["--height", "500"], "not an antenna height"),
    (["--height", "0.2"], "not an antenna height"),
    (["--band", "B99"], "--band B99"),
    (["--lat", "95"], "not a position on earth"),
])
def test_towers_add_refuses_impossible_input(survey_copy, invoke, extra, words):
    base = {"--operator": "Telkomsel", "--lat": "-7.45", "--lon": "109.87"}
    for k, v in zip(extra[::2], extra[1::2]):
        base[k] = v
    flat = [x for kv in base.items() for x in kv] + [x for k, v in zip(extra[::2], extra[1::2])
                                                      if k not in base for x in (k, v)]
    before = invoke("towers", "list", "--json", *_args(survey_copy)).stdout
    r = invoke("towers", "add", *flat, *_args(survey_copy))
    assert r.exit_code == 2 and words in r.stderr, r.output
    assert invoke("towers", "list", "--json", *_args(survey_copy)).stdout == before


def _coast_survey(village, tmp_path):
    """The village with a sea 8 km south of it (elevation 0), and an OpenCelliD cell estimated offshore."""
    from surveyor.geo.dem import Dem
    from surveyor.ingest.dem import import_dem
    from surveyor.store.dem import write_geotiff

    z = village.dem.elevation_m.copy()
    z[-250:, :] = 0.0  # the southern 7.5 km of the grid
    dem = Dem(z, village.dem.transform, village.dem.crs)
    root = make_survey(tmp_path / "coast", village.boundary)
    write_geotiff(tmp_path / "coast.tif", dem.elevation_m, dem)
    sea_lon, sea_lat = village.to_lonlat(0.0, -14_000.0)
    with open_store(str(root / "survey.gpkg")) as store:
        add_samples(store, village.samples[village.samples["session"].isin(["sim-00", "sim-01"])])
        import_dem(store, settings_of(root), [tmp_path / "coast.tif"])
        from surveyor.store import MergeRecord

        mid = store.new_merge_id()
        store.append("towers", pd.DataFrame({"merge_id": [mid], "radio": ["LTE"], "operator": ["Indosat"],
                                             "mcc": [510], "mnc": [1], "lat": [float(sea_lat)],
                                             "lon": [float(sea_lon)], "source": ["opencellid"]}))
        store.commit_merge(MergeRecord(mid, "cells.csv", "h-cells", "opencellid", "2026-07-20T00:00:00Z",
                                       {"read": 1, "towers": 1}))
    return root, float(sea_lat), float(sea_lon)


def test_tower_at_sea(village, tmp_path, invoke):
    from surveyor.analyse import analyze

    root, lat, lon = _coast_survey(village, tmp_path)
    r = invoke("towers", "add", "--operator", "Telkomsel", "--lat", str(lat), "--lon", str(lon), *_args(root))
    assert r.exit_code == 2 and "stands in the sea" in r.stderr
    settings = settings_of(root)
    with open_store(str(root / "survey.gpkg")) as store:
        analyze(store, settings)
        apply(store, settings, store.read_layer("cells"), store.read_layer("dead_zones"))
        summary = store.get_meta("terrain_summary")
    assert summary["towers"] == 0
    assert [n["tower_id"] for n in summary["towers_left_out"]] == ["OC-ISAT-001"]
    assert "at sea" in summary["towers_left_out"][0]["note"]


def test_dem_not_reaching_a_tower(village, tmp_path):
    """The Indosat tower stands beyond the model: its paths are not computable, Telkomsel's go on."""
    from surveyor.analyse import analyze
    from surveyor.analyse.terrain.towers import add_tower
    from surveyor.geo.dem import Dem
    from surveyor.ingest.dem import import_dem
    from surveyor.store.dem import write_geotiff

    dem = village.dem
    xs, _ = dem.pixel_centres()
    lon, _ = village.to_lonlat(2500.0, 0.0)
    x_cut, _ = dem.xy(lon, village.to_lonlat(2500.0, 0.0)[1])
    keep = int(np.searchsorted(xs, float(x_cut)))
    cropped = Dem(dem.elevation_m[:, :keep].copy(), dem.transform, dem.crs)
    root = make_survey(tmp_path / "cut", village.boundary)
    settings = settings_of(root)
    write_geotiff(tmp_path / "cut.tif", cropped.elevation_m, cropped)
    with open_store(str(root / "survey.gpkg")) as store:
        add_samples(store, village.samples)
        info = import_dem(store, settings, [tmp_path / "cut.tif"])
        assert info["area_coverage"] == 1.0 and info["buffer_coverage"] < 0.7 and info["warnings"]
        for t in village.towers_frame().itertuples(index=False):
            add_tower(store, settings, operator=t.operator, lat=t.lat, lon=t.lon, height_m=t.height_m)
        analyze(store, settings)
        cells, zones = apply(store, settings, store.read_layer("cells"), store.read_layer("dead_zones"))
        summary = store.get_meta("terrain_summary")
    assert summary["links_not_computable"] > 0
    isat = zones[zones["operator"] == "Indosat"]
    assert len(isat) and (isat["terrain_verdict"] == "not_computable").all()
    assert isat["terrain_reason"].str.contains("does not reach the Indosat towers").all()
    assert (zones.loc[zones["operator"] == "Telkomsel", "terrain_verdict"] == "terrain").any()
    assert cells.loc[cells["operator"] == "Indosat", "predicted_rsrp_dbm"].isna().all()
    assert cells.loc[cells["operator"] == "Telkomsel", "predicted_rsrp_dbm"].notna().all()


def test_antenna_command(village, survey_copy, invoke):
    args = _args(survey_copy)
    out = survey_copy / "maps" / "antenna"
    at = _place(village, 300.0, -500.0)
    r = invoke("antenna", "--at", at, "--height", "8", "--out", str(out), *args)
    assert r.exit_code == 0, r.output
    assert "Telkomsel: tower M1" in r.stdout and "Indosat: tower M2" in r.stdout
    assert "XL: no known XL tower within 15 km." in r.stdout
    assert "point 9" in r.stdout or "(east)" in r.stdout  # Indosat is east
    pngs = sorted(out.glob("*.png"))
    lat, lon = (float(v) for v in at.split(","))
    stem = f"antenna-{abs(lat):.5f}_{lon:.5f}"
    assert [p.name for p in pngs] == [f"{stem}-Indosat.png", f"{stem}-Telkomsel.png"]
    from PIL import Image

    for p in pngs:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size[0] >= 1000
    # Existing profiles are kept unless --overwrite.
    r = invoke("antenna", "--at", at, "--out", str(out), *args)
    assert r.exit_code == 1 and "exists already" in r.stderr
    assert invoke("antenna", "--at", at, "--out", str(out), "--overwrite", *args).exit_code == 0
    r = invoke("antenna", "--at", at, "--json", "--no-png", *args)
    advice = json.loads(r.stdout)["advice"]
    isat = next(a for a in advice if a["operator"] == "Indosat")
    assert isat["fresnel_clear"] and isat["line_of_sight"] and isat["direction"] == "east"
    assert isat["tower_height_source"] == "given" and isat["calibration"] == "fitted"


def test_antenna_outside_the_dem_and_bad_places(survey_copy, invoke):
    args = _args(survey_copy)
    r = invoke("antenna", "--at", "-6.9,110.4", "--no-png", *args)
    assert r.exit_code == 2 and "outside the elevation model" in r.stderr and "surveyor dem import" in r.stderr
    r = invoke("antenna", "--at", "109.858,-7.437", "--no-png", *args)  # longitude first by mistake
    assert r.exit_code == 2 and "not a position on earth" in r.stderr
    r = invoke("antenna", "--at", "somewhere", "--no-png", *args)
    assert r.exit_code == 2 and "LAT,LON" in r.stderr
    r = invoke("antenna", "--at", "dusun", "--no-png", *args)
    assert r.exit_code == 2 and "No dusun polygons" in r.stderr


def test_antenna_at_every_dusun(village, tmp_path, invoke):
    from surveyor.ingest.dem import import_dem
    from surveyor.store.dem import write_geotiff

    halves = []
    for name, (x0, x1) in (("Kulon", (-1000, 0)), ("Wetan", (0, 1000))):
        (a, b), (c, d) = village.to_lonlat([x0, x1], [-800, 800])
        halves.append({"type": "Feature", "properties": {"name": name},
                       "geometry": box(float(a), float(c), float(b), float(d)).__geo_interface__})
    root = make_survey(tmp_path / "dusun", village.boundary,
                       dusun={"type": "FeatureCollection", "features": halves})
    write_geotiff(tmp_path / "d.tif", village.dem.elevation_m, village.dem)
    with open_store(str(root / "survey.gpkg")) as store:
        import_dem(store, settings_of(root), [tmp_path / "d.tif"])
    r = invoke("towers", "add", "--operator", "Indosat", "--lat", str(village.towers_frame().lat[1]), "--lon",
               str(village.towers_frame().lon[1]), *_args(root))
    assert r.exit_code == 0
    r = invoke("antenna", "--at", "dusun", "--json", "--no-png", *_args(root))
    assert r.exit_code == 0, r.output
    advice = json.loads(r.stdout)["advice"]
    assert sorted({a["place"] for a in advice}) == ["Kulon", "Wetan"]
    assert {a["operator"] for a in advice} == {"Telkomsel", "Indosat", "XL"}
    assert all(a["calibration"] == "uncalibrated" for a in advice)  # no samples: said so


def test_sites_command(village, survey_copy, invoke, tmp_path):
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    args = _args(survey_copy)
    r = invoke("sites", "--format", "json", *args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    tsel = [p for p in out["proposals"] if p["operator"] == "Telkomsel"]
    assert tsel and tsel[0]["rank"] == 1 and tsel[0]["mast_height_m"] in (15.0, 30.0, 42.0)
    assert tsel[0]["dead_cells_served"] >= 50  # the shadowed north half, seen from a high point
    assert tsel[0]["land"].startswith("needed: a 20 x 20 m plot (BAKTI)") and tsel[0]["nearest_road_m"] is None
    assert out["summary"]["operators"]["Telkomsel"]["dead"] > 0

    # A village's own plots, a road and houses from the basemap.
    a, c = village.to_lonlat(-300.0, 500.0)
    plots = tmp_path / "plots.geojson"
    plots.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Tanah kas desa", "land": "village land, 25 x 25 m",
                                           "power": "PLN pole 40 m away"},
         "geometry": {"type": "Point", "coordinates": [float(a), float(c)]}},
        {"type": "Feature", "properties": {"name": "Lapangan kabupaten"},  # beyond the DEM: left out
         "geometry": {"type": "Point", "coordinates": [110.4, -6.9]}}]}))
    rlon, rlat = village.to_lonlat([-1000.0, 1000.0], [400.0, 400.0])
    hlon, hlat = village.to_lonlat(np.full(30, -200.0), np.linspace(300, 700, 30))
    with open_store(args[1]) as store:
        store.write_layer("roads", gpd.GeoDataFrame({"class": ["tertiary"], "name": ["Jalan Desa"]},
                                                    geometry=[LineString(zip(rlon, rlat))], crs="EPSG:4326"))
        store.write_layer("buildings", gpd.GeoDataFrame({"building": ["house"] * 30},
                                                        geometry=[Point(x, y) for x, y in zip(hlon, hlat)],
                                                        crs="EPSG:4326"))
    r = invoke("sites", "--candidates", str(plots), "--operator", "Telkomsel", "--top", "2", *args)
    assert r.exit_code == 0, r.output
    assert "Telkomsel #1: Tanah kas desa (village plot)" in r.stdout
    assert "land: village land, 25 x 25 m; power: PLN pole 40 m away" in r.stdout
    with open_store(args[1]) as store:
        layer = store.read_layer("site_proposals")
    assert set(layer["operator"]) == {"Telkomsel"} and layer.crs.to_epsg() == 4326
    first = layer.sort_values("rank").iloc[0]
    assert first["buildings_served"] == 30 and 0 <= first["nearest_road_m"] < 120
    assert "nearest road" in first["access"]


def test_sites_needs_an_analysis(village, tmp_path, invoke):
    from surveyor.ingest.dem import import_dem
    from surveyor.store.dem import write_geotiff

    root = make_survey(tmp_path / "fresh", village.boundary)
    write_geotiff(tmp_path / "d.tif", village.dem.elevation_m, village.dem)
    with open_store(str(root / "survey.gpkg")) as store:
        import_dem(store, settings_of(root), [tmp_path / "d.tif"])
    r = invoke("sites", *_args(root))
    assert r.exit_code == 1 and "surveyor analyze" in r.stderr


def test_opencellid_cells_grouped_into_sites():
    from surveyor.analyse.terrain.towers import cluster_cells

    cells = pd.DataFrame({"operator": ["Telkomsel", "Telkomsel", "Telkomsel", "Indosat"],
                          "lat": [-7.400, -7.4005, -7.420, -7.400], "lon": [109.80, 109.8004, 109.80, 109.80],
                          "radio": ["LTE", "GSM", "LTE", "LTE"]})
    sites = cluster_cells(cells)
    assert list(sites["tower_id"]) == ["OC-ISAT-001", "OC-TSEL-001", "OC-TSEL-002"]
    first = sites[sites["tower_id"] == "OC-TSEL-001"].iloc[0]
    assert first["cells"] == 2 and first["radios"] == "GSM,LTE"


def test_clutter_costs_signal_and_raises_the_mast(village, survey_copy, invoke):
    args = _args(survey_copy)
    at = _place(village, 300.0, -500.0)
    plain = json.loads(invoke("antenna", "--at", at, "--json", "--no-png", *args).stdout)["advice"]
    trees = json.loads(invoke("antenna", "--at", at, "--json", "--no-png", "--clutter", "15", *args).stdout)["advice"]
    p = {a["operator"]: a for a in plain}
    t = {a["operator"]: a for a in trees}
    assert t["Indosat"]["mast_needed_m"] > p["Indosat"]["mast_needed_m"] + 5
    assert t["Indosat"]["predicted_rsrp_dbm"] <= p["Indosat"]["predicted_rsrp_dbm"]


def test_analyze_with_a_dem_explains_dead_zones_and_predicts_unwalked_cells(village_survey, invoke):
    # The fixture ran `analyze` with the DEM imported: the analysis itself carries the terrain.
    with open_store(str(village_survey / "survey.gpkg")) as store:
        zones, cells = store.read_layer("dead_zones"), store.read_layer("cells")
        terrain = store.get_meta("terrain_summary")
    assert len(zones) and zones["terrain_verdict"].notna().all()
    assert set(zones["terrain_verdict"]) <= {"terrain", "not_terrain", "no_tower", "not_computable"}
    assert zones["terrain_reason"].str.len().min() > 20
    shown = cells[cells["prediction_shown"].astype(bool)]
    # Predictions only where there is no evidence class; the evidence status itself is untouched.
    assert len(shown) and set(shown["status"]) <= {"insufficient", "not_surveyed"}
    assert cells["predicted_status"].notna().any() and terrain
    r = invoke("analyze", *_args(village_survey), "--json")
    assert r.exit_code == 0, r.output
