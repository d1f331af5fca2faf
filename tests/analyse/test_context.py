"""Each dead zone's context from the basemap: nearest place, nearest road and the walk from it,
buildings and facilities inside; nulls without a basemap."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from surveyor.analyse.context import CONTEXT_COLUMNS, parse_facilities, zone_context
from surveyor.geo.distance import haversine_m

from .conftest import make_db, run
from .test_cli import dead_and_covered

LAT, LON = -7.440, 109.850
D = 0.001  # about 110 m


def gdf(rows, geoms):
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:4326")


@pytest.fixture
def zones():
    square = box(LON, LAT, LON + D, LAT + D)
    far = box(LON + 10 * D, LAT, LON + 11 * D, LAT + D)
    return gdf({"zone_id": ["DZ-TSEL-01", "DZ-TSEL-02"], "centroid_lat": [LAT + D / 2, LAT + D / 2],
                "centroid_lon": [LON + D / 2, LON + 10.5 * D]}, [square, far])


def test_context_from_basemap_layers(zones):
    # A road 1 D north of the first zone's top edge, running east-west over both zones' longitudes;
    # a path crossing the second zone.
    roads = gdf({"class": ["minor", "path"], "name": ["Jalan Leksono", None], "highway": ["unclassified", "path"]},
                [LineString([(LON - 5 * D, LAT + 2 * D), (LON + 5 * D, LAT + 2 * D)]),
                 LineString([(LON + 10.5 * D, LAT - D), (LON + 10.5 * D, LAT + 2 * D)])])
    places = gdf({"name": ["Sigedang", "Krajan", None], "place": ["hamlet", "hamlet", "hamlet"]},
                 [Point(LON + D / 2, LAT - 3 * D), Point(LON + 30 * D, LAT), Point(LON, LAT)])
    houses = [box(LON + x * D / 5, LAT + D / 5, LON + x * D / 5 + D / 20, LAT + D / 5 + D / 20) for x in range(3)]
    outside = [box(LON + 3 * D, LAT + 3 * D, LON + 3.05 * D, LAT + 3.05 * D)]
    buildings = gdf({"building": ["house"] * 4, "name": [None] * 4}, houses + outside)
    facilities = gdf({"kind": ["school", "worship", "clinic"], "name": ["SD Negeri 2", None, "Puskesmas"]},
                     [Point(LON + D / 2, LAT + D / 2), Point(LON + D / 4, LAT + D / 4), Point(LON + 5 * D, LAT)])

    out = zone_context(zones, roads=roads, buildings=buildings, places=places, facilities=facilities)
    a, b = out.iloc[0], out.iloc[1]
    assert a["place_name"] == "Sigedang"  # the unnamed place next to it does not count
    assert a["place_distance_m"] == pytest.approx(haversine_m(LAT + D / 2, LON + D / 2, LAT - 3 * D, LON + D / 2),
                                                  rel=0.01)
    assert a["road_name"] == "Jalan Leksono" and a["road_class"] == "minor"
    assert a["road_distance_m"] == pytest.approx(haversine_m(LAT + 2 * D, LON, LAT + D, LON), rel=0.01)
    assert a["road_bearing_deg"] == pytest.approx(180, abs=1)  # walk south from the road
    assert a["road_lat"] == pytest.approx(LAT + 2 * D, abs=1e-6) and LON <= a["road_lon"] <= LON + D
    assert a["buildings"] == 3
    assert a["facilities"] == "(worship); SD Negeri 2 (school)"
    assert parse_facilities(a["facilities"]) == [("", "worship"), ("SD Negeri 2", "school")]
    # The path crosses the second zone: no walk, the road point inside the zone.
    assert b["road_name"] is None and b["road_class"] == "path" and b["road_distance_m"] == 0
    assert b["buildings"] == 0 and b["facilities"] is None


def test_no_basemap_gives_nulls(zones):
    out = zone_context(zones)
    for c in CONTEXT_COLUMNS:
        assert out[c].isna().all(), c


def test_analyze_writes_the_columns(tmp_path):
    db = make_db(tmp_path / "s.gpkg", dead_and_covered())
    code, _, err = run(["analyze", "--db", db])
    assert code == 0, err
    from surveyor.store import open_store

    with open_store(db) as store:
        layer = store.read_layer("dead_zones")
    assert len(layer) == 1 and set(CONTEXT_COLUMNS) <= set(layer.columns)
    assert layer["place_name"].isna().all() and layer["road_distance_m"].isna().all()
    assert np.isnan(layer["road_lat"].iloc[0])


def test_analyze_reads_an_imported_basemap(tmp_path):
    """The real path: an OSM file imported with `surveyor basemap import`, then `analyze`."""
    from basemap.village import Village

    db = make_db(tmp_path / "s.gpkg", dead_and_covered())
    v = Village()
    # dead_and_covered(): dead from lon 109.850 to about 109.8506 at lat -7.440; a track 200 m
    # south of it, a hamlet node north of it, a house and a mosque inside.
    v.way(1, [(-5, -2), (12, -2)], highway="track")
    v.node(0.3, 1.5, place="hamlet", name="Sigedang")
    v.way(2, [(0.2, -0.05), (0.25, -0.05), (0.25, 0.05), (0.2, 0.05)], closed=True, building="house")
    v.node(0.3, 0.0, amenity="place_of_worship", name="Masjid Al-Huda")
    osm = tmp_path / "village.osm"
    osm.write_text(v.xml(), encoding="utf-8")
    code, _, err = run(["basemap", "import", str(osm), "--db", db])
    assert code == 0, err
    code, _, err = run(["analyze", "--db", db])
    assert code == 0, err
    from surveyor.store import open_store

    with open_store(db) as store:
        z = store.read_layer("dead_zones").iloc[0]
        geom = store.read_layer("dead_zones").geometry.iloc[0]
    assert z["place_name"] == "Sigedang"
    assert z["place_distance_m"] == pytest.approx(
        haversine_m(z["centroid_lat"], z["centroid_lon"], LAT + 1.5 * D, LON + 0.3 * D), rel=0.01)
    assert z["road_class"] == "track" and pd.isna(z["road_name"])
    south_edge = geom.bounds[1]  # the zone's southernmost point; the track runs east-west below it
    assert z["road_distance_m"] == pytest.approx(haversine_m(south_edge, LON, LAT - 2 * D, LON), rel=0.02)
    assert z["road_lat"] == pytest.approx(LAT - 2 * D, abs=1e-6)
    assert min(z["road_bearing_deg"], 360 - z["road_bearing_deg"]) < 2  # walk north from the track
    assert z["buildings"] == 1 and z["facilities"] == "Masjid Al-Huda (worship)"
