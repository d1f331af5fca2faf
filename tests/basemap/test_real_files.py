"""``surveyor basemap import`` on the real OpenStreetMap files of ../shared/data/osm: each layer
holds exactly the elements an independent count of the file finds by tag (see count.py)."""

from __future__ import annotations

import bz2
import gzip
import shutil

import pytest
import shapely

from surveyor.store import open_store

from . import count
from .conftest import OVERPASS, PBF, XML

pytestmark = pytest.mark.realdata


def _elements(osm_dir, name, tmp_path):
    path = osm_dir / name
    if name == XML:
        return count.from_xml(path)
    if name == PBF:
        return count.from_xml(count.pbf_to_xml(path, tmp_path / "pbf-copy.osm"))
    return count.from_overpass(path)


def _extent(elements):
    lons = [n[0] for n in elements.nodes.values()]
    lats = [n[1] for n in elements.nodes.values()]
    return min(lons), min(lats), max(lons), max(lats)


def _import(invoke, db, config, *files, buffer_m=None):
    args = ["basemap", "import", *map(str, files), "--db", db, "--config", config]
    if buffer_m is not None:
        args += ["--buffer-m", str(buffer_m)]
    r = invoke(*args)
    assert r.exit_code == 0, r.output
    return r


@pytest.mark.parametrize("name", [XML, PBF, OVERPASS])
def test_each_file_gives_what_an_independent_count_finds(osm_dir, tmp_path, make_survey, invoke, name):
    elements = _elements(osm_dir, name, tmp_path)
    bounds = _extent(elements)
    db, config = make_survey("whole", bounds)
    _import(invoke, db, config, osm_dir / name)
    with open_store(db) as store:
        got = count.stored(store)
        meta = store.get_meta("basemap")
        region = shapely.box(*bounds)
        want = count.expected(elements, region.buffer(0.05))  # the 2 km buffer holds the whole file
        assert got == want
        for layer in got:
            assert meta["counts"][layer] == len(want[layer])
        assert meta["attribution"] == "© OpenStreetMap contributors, ODbL 1.0"
        assert meta["source"] == str(osm_dir / name)
        roads = store.read_layer("roads")
    assert len(got["roads"]) > 0
    assert set(roads.geom_type) == {"MultiLineString"}
    assert roads.crs.to_epsg() == 4326


def test_the_files_hold_what_their_readme_says(osm_dir, tmp_path):
    """Guards the independent count itself: figures known from the files' description."""
    oakland = count.from_overpass(osm_dir / OVERPASS)
    assert (len(oakland.nodes), len(oakland.ways)) == (2889, 287)
    assert all("highway" in tags for _, tags in oakland.ways.values())
    bavaria = count.expected(count.from_xml(osm_dir / XML), shapely.box(-180, -90, 180, 90))
    # 19 highway ways, 5 of them cut to a single node by the extract; 33 building ways, one cut;
    # the building relation's members are not in the file.
    assert len(bavaria["roads"]) == 14 and len(bavaria["buildings"]) == 32
    aguas = count.summary(count.expected(_elements(osm_dir, PBF, tmp_path), shapely.box(-180, -90, 180, 90)))
    assert aguas["facilities"] == {"school": 28, "worship": 1}
    assert aguas["water"] == {"stream": 2}


@pytest.mark.parametrize("name", [XML, PBF, OVERPASS])
def test_clipped_to_part_of_the_file(osm_dir, tmp_path, make_survey, invoke, name):
    """An area covering the western half of the file with no buffer: what meets it, cut at its edge."""
    elements = _elements(osm_dir, name, tmp_path)
    w, s, e, n = _extent(elements)
    half = (w, s, (w + e) / 2, n)
    db, config = make_survey("half", half)
    _import(invoke, db, config, osm_dir / name, buffer_m=0)
    region = shapely.box(*half)
    want = count.expected(elements, region)
    whole = count.expected(elements, shapely.box(w, s, e, n))
    with open_store(db) as store:
        assert count.stored(store) == want
        roads = store.read_layer("roads")
        buildings = store.read_layer("buildings")
    assert 0 < len(want["roads"]) < len(whole["roads"])
    grown = region.buffer(1e-9)
    assert all(grown.covers(g) for g in roads.geometry)
    assert all(grown.covers(g) for g in buildings.geometry)
    # Roads crossing the edge were cut, not dropped: some reach exactly to it.
    assert any(abs(g.bounds[2] - half[2]) < 1e-9 for g in roads.geometry)


def test_pbf_and_its_xml_copy_give_the_same_layers(osm_dir, tmp_path, make_survey, invoke):
    """The PBF reader (pyosmium) and the XML reader (iterparse) agree on the same data."""
    xml = count.pbf_to_xml(osm_dir / PBF, tmp_path / "copy.osm")
    bounds = _extent(count.from_xml(xml))
    db1, config1 = make_survey("frompbf", bounds)
    db2, config2 = make_survey("fromxml", bounds)
    _import(invoke, db1, config1, osm_dir / PBF)
    _import(invoke, db2, config2, xml)
    with open_store(db1) as a, open_store(db2) as b:
        for layer in ("roads", "buildings", "water", "facilities"):
            ga = a.read_layer(layer).sort_values("osm_id").reset_index(drop=True)
            gb = b.read_layer(layer).sort_values("osm_id").reset_index(drop=True)
            assert list(ga["osm_id"]) == list(gb["osm_id"])
            assert all(x.equals_exact(y, 1e-7) for x, y in zip(ga.geometry, gb.geometry))


def test_compressed_copies_read_the_same(osm_dir, tmp_path, make_survey, invoke):
    """.osm.bz2 and .osm.gz as the plain XML; a decompressed Overpass answer as the .json.gz."""
    plain = osm_dir / XML
    with open(plain, "rb") as f, bz2.open(tmp_path / "x.osm.bz2", "wb") as out:
        shutil.copyfileobj(f, out)
    with open(plain, "rb") as f, gzip.open(tmp_path / "x.osm.gz", "wb") as out:
        shutil.copyfileobj(f, out)
    with gzip.open(osm_dir / OVERPASS, "rb") as f, open(tmp_path / "o.json", "wb") as out:
        shutil.copyfileobj(f, out)
    results = {}
    for label, files, elements in (("xml", [plain, tmp_path / "x.osm.bz2", tmp_path / "x.osm.gz"],
                                    count.from_xml(plain)),
                                   ("json", [osm_dir / OVERPASS, tmp_path / "o.json"],
                                    count.from_overpass(osm_dir / OVERPASS))):
        db, config = make_survey(label, _extent(elements))
        for f in files:
            _import(invoke, db, config, f)
            with open_store(db) as store:
                results.setdefault(label, []).append(count.stored(store))
    for label, runs in results.items():
        assert all(r == runs[0] for r in runs), label


def test_several_files_at_once_are_combined(osm_dir, tmp_path, make_survey, invoke):
    """Two files of one place: elements in both count once; the source names both."""
    xml = osm_dir / XML
    elements = count.from_xml(xml)
    db, config = make_survey("two", _extent(elements))
    copy = tmp_path / "copy.osm"
    shutil.copyfile(xml, copy)
    _import(invoke, db, config, xml, copy)
    with open_store(db) as store:
        assert count.stored(store) == count.expected(elements, shapely.box(*_extent(elements)).buffer(0.05))
        assert store.get_meta("basemap")["source"] == f"{xml}, {copy}"
