"""The basemap rules on a small hand-made village (tests/basemap/village.py), in every input form."""

from __future__ import annotations

import bz2
import gzip
import math

import pytest
import shapely

from surveyor.ingest.basemap import facility_of, road_class, water_kind
from surveyor.store import open_store

from . import count
from .village import bounds, village


@pytest.fixture
def survey(make_survey):
    v, want = village()
    db, config = make_survey("lipursari", bounds(v))
    return v, want, db, config


def _write(tmp_path, v, form):
    if form == "xml":
        p = tmp_path / "v.osm"
        p.write_text(v.xml(), encoding="utf-8")
    elif form == "xml.bz2":
        p = tmp_path / "v.osm.bz2"
        p.write_bytes(bz2.compress(v.xml().encode()))
    elif form == "xml-no-bounds":
        p = tmp_path / "v2.osm"
        p.write_text(v.xml(bounds=False), encoding="utf-8")
    elif form == "overpass":
        p = tmp_path / "v.json"
        p.write_text(v.overpass(), encoding="utf-8")
    elif form == "overpass-geom.gz":
        p = tmp_path / "v.json.gz"
        p.write_bytes(gzip.compress(v.overpass_geom().encode()))
    elif form == "pbf":
        p = count.copy_osm(_write(tmp_path, v, "xml"), tmp_path / "v.osm.pbf")
    return p


@pytest.mark.parametrize("form", ["xml", "xml.bz2", "xml-no-bounds", "overpass", "overpass-geom.gz", "pbf"])
def test_every_form_gives_the_village(tmp_path, survey, invoke, form):
    v, want, db, config = survey
    path = _write(tmp_path, v, form)
    r = invoke("basemap", "import", str(path), "--db", db, "--config", config)
    assert r.exit_code == 0, r.output
    assert "© OpenStreetMap contributors" in r.stderr
    with open_store(db) as store:
        assert count.stored(store) == want
        meta = store.get_meta("basemap")
    assert meta["counts"] == {k: len(v) for k, v in want.items()}
    assert meta["skipped"] == {"incomplete": 1}  # the one-node service road


def test_areas_have_their_holes_and_facilities_lie_inside(tmp_path, survey, invoke):
    v, _, db, config = survey
    invoke("basemap", "import", str(_write(tmp_path, v, "xml")), "--db", db, "--config", config)
    with open_store(db) as store:
        buildings = store.read_layer("buildings").set_index("osm_id")
        water = store.read_layer("water").set_index("osm_id")
        facilities = store.read_layer("facilities")
        roads = store.read_layer("roads").set_index("osm_id")
    step2 = 0.001 ** 2
    # Pendopo: 1.0 x 0.8 outer less a 0.3 x 0.2 courtyard.
    assert buildings.loc[204].geometry.area == pytest.approx((0.8 - 0.06) * step2, rel=1e-6)
    assert len(buildings.loc[204].geometry.geoms[0].interiors) == 1
    # The riverbank ring of two ways: 5 x 0.5.
    assert water.loc[306].geometry.area == pytest.approx(2.5 * step2, rel=1e-6)
    assert water.loc[301].geometry.geom_type == "MultiLineString"
    assert water.loc[306].geometry.geom_type == "MultiPolygon"
    school = facilities[facilities["osm_type"] == "way"].iloc[0]
    assert buildings.loc[206].geometry.contains(school.geometry)
    assert school["tag"] == "amenity=school" and school["name"] == "SD Negeri 1 Lipursari"
    assert roads.loc[101, "highway"] == "secondary" and roads.loc[101, "name"] == "Jalan Raya Leksono"
    assert set(facilities["tag"]) >= {"amenity=clinic", "healthcare=centre", "office=government", "amenity=townhall"}


def test_buffer_metres(tmp_path, make_survey, invoke):
    """Only what lies within --buffer-m of the area; the stored bounds are the area grown by it."""
    v, want = village()
    lon0, lat0 = v.nodes[1][:2]
    # A small area around the lower-left corner of the village (about 220 m a side).
    area = (lon0 - 0.001, lat0 - 0.0005, lon0 + 0.001, lat0 + 0.0015)
    db, config = make_survey("corner", area)
    path = _write(tmp_path, v, "xml")
    got = {}
    for buffer_m in (0, 300, 2000):
        r = invoke("basemap", "import", str(path), "--db", db, "--config", config, "--buffer-m", str(buffer_m))
        assert r.exit_code == 0, r.output
        with open_store(db) as store:
            got[buffer_m] = sum(store.get_meta("basemap")["counts"].values())
            meta = store.get_meta("basemap")
            roads = store.read_layer("roads")
            # Areas cut at the edge stay areas (one only touching it is no area, and left out).
            assert set(store.read_layer("buildings").geom_type) <= {"MultiPolygon"}
            assert set(store.read_layer("water").geom_type) <= {"MultiPolygon", "MultiLineString"}
        w, s, e, n = meta["bounds"]
        grown = area[0] - w
        metres = grown * 111_320 * math.cos(math.radians(lat0))
        assert metres == pytest.approx(buffer_m, rel=0.01, abs=1)
        assert all(shapely.box(w, s, e, n).buffer(1e-6).covers(g) for g in roads.geometry)  # bounds: 6 decimals
    assert got[0] < got[300] < got[2000] == sum(len(x) for x in want.values())


def test_rules():
    assert [road_class(v) for v in ("primary_link", "living_street", "track", "steps", "construction", "proposed",
                                    None)] == ["major", "minor", "track", "path", "minor", None, None]
    assert facility_of({"amenity": "doctors"}) == ("clinic", "amenity=doctors")
    assert facility_of({"healthcare": "hospital"}) == ("clinic", "healthcare=hospital")
    assert facility_of({"office": "government"}) is None  # any government office is not the kantor desa
    assert facility_of({"office": "government", "admin_level": "7"}) == ("village_office", "office=government")
    assert facility_of({"amenity": "kindergarten"}) == ("school", "amenity=kindergarten")
    assert facility_of({"shop": "convenience"}) is None
    assert water_kind({"waterway": "stream"}, area=False) == "stream"
    assert water_kind({"waterway": "weir"}, area=False) is None
    assert water_kind({"natural": "water"}, area=True) == "water"
    assert water_kind({"natural": "water"}, area=False) is None
