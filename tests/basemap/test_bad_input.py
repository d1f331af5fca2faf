"""Bad input to ``surveyor basemap import``: a clear message naming the file, exit code 1, and the
basemap already in the survey left exactly as it was."""

from __future__ import annotations

import gzip
import json

import pytest

from surveyor.store import open_store

from . import count
from .conftest import OVERPASS, PBF, XML
from .village import bounds, village


@pytest.fixture
def imported(tmp_path, make_survey, invoke):
    """A survey of the hand-made village with its basemap imported; returns (db, config, before)."""
    v, want = village()
    db, config = make_survey("village", bounds(v))
    good = tmp_path / "good.osm"
    good.write_text(v.xml(), encoding="utf-8")
    r = invoke("basemap", "import", str(good), "--db", db, "--config", config)
    assert r.exit_code == 0, r.output
    with open_store(db) as store:
        before = (count.stored(store), store.get_meta("basemap"))
    assert before[0] == want
    return db, config, before


def _fails(invoke, db, config, before, *files, expect: str):
    r = invoke("basemap", "import", *map(str, files), "--db", db, "--config", config)
    assert r.exit_code == 1, r.output
    assert expect in r.stderr, r.stderr
    assert str(files[-1]) in r.stderr  # the message names the file
    assert "Traceback" not in r.output
    with open_store(db) as store:
        assert (count.stored(store), store.get_meta("basemap")) == before
    return r


HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>OpenStreetMap</title>
<link rel="stylesheet" href="/assets/app.css"></head>
<body><div id="map"></div><p>Export</body></html>
"""


def test_an_html_page_saved_as_osm(tmp_path, imported, invoke):
    db, config, before = imported
    page = tmp_path / "lipursari.osm"
    page.write_text(HTML, encoding="utf-8")
    r = _fails(invoke, db, config, before, page, expect="is an HTML page, not OpenStreetMap data")
    assert "Download the data itself" in r.stderr


def test_an_html_error_page_without_doctype(tmp_path, imported, invoke):
    db, config, before = imported
    page = tmp_path / "map.osm"
    page.write_text("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", encoding="utf-8")
    _fails(invoke, db, config, before, page, expect="HTML page")


@pytest.mark.realdata
def test_a_truncated_pbf(tmp_path, osm_dir, make_survey, invoke):
    """The shared PBF cut in half (a download that stopped): said so, nothing changed."""
    elements = count.from_xml(count.pbf_to_xml(osm_dir / PBF, tmp_path / "copy.osm"))
    lons = [n[0] for n in elements.nodes.values()]
    lats = [n[1] for n in elements.nodes.values()]
    db, config = make_survey("aguas", (min(lons), min(lats), max(lons), max(lats)))
    r = invoke("basemap", "import", str(osm_dir / PBF), "--db", db, "--config", config)
    assert r.exit_code == 0, r.output
    with open_store(db) as store:
        before = (count.stored(store), store.get_meta("basemap"))
    data = (osm_dir / PBF).read_bytes()
    for i, size in enumerate((len(data) // 2, len(data) - 100, 40)):
        cut = tmp_path / f"cut{i}.osm.pbf"
        cut.write_bytes(data[:size])
        r = _fails(invoke, db, config, before, cut, expect="the PBF file ends before it is complete")
        assert "Download or copy the file again" in r.stderr


def test_a_truncated_xml_and_json(tmp_path, imported, invoke):
    db, config, before = imported
    v, _ = village()
    text = v.xml()
    cut = tmp_path / "cut.osm"
    cut.write_text(text[: int(len(text) * 0.6)], encoding="utf-8")
    r = _fails(invoke, db, config, before, cut, expect="the XML ends before it is complete")
    assert f"{cut}:" in r.stderr  # with the line
    raw = gzip.compress(v.overpass().encode())
    cut_gz = tmp_path / "cut.json.gz"
    cut_gz.write_bytes(raw[: len(raw) // 2])
    _fails(invoke, db, config, before, cut_gz, expect="compression is damaged or cut short")
    cut_json = tmp_path / "cut.json"
    cut_json.write_text(v.overpass()[:-500], encoding="utf-8")
    _fails(invoke, db, config, before, cut_json, expect="is not complete JSON")


@pytest.mark.realdata
def test_a_file_of_another_place(imported, osm_dir, invoke):
    db, config, before = imported
    for name in (XML, PBF, OVERPASS):
        r = _fails(invoke, db, config, before, osm_dir / name, expect="does not overlap the area")
        assert "the area Village (99.99.99.9999)" in r.stderr


def test_one_bad_file_among_good_ones_changes_nothing(tmp_path, imported, invoke):
    db, config, before = imported
    v, _ = village()
    good = tmp_path / "again.osm"
    good.write_text(v.xml(), encoding="utf-8")
    far = tmp_path / "far.osm"
    far.write_text(v.xml().replace('lon="109.', 'lon="10.').replace('minlon="109.', 'minlon="10.')
                   .replace('maxlon="109.', 'maxlon="10.'), encoding="utf-8")
    _fails(invoke, db, config, before, good, far, expect="does not overlap the area")


def test_other_wrong_files(tmp_path, imported, invoke):
    db, config, before = imported
    cases = {
        "empty.osm": ("", "is empty"),
        "boundary.json": (json.dumps({"type": "FeatureCollection", "features": []}),
                          "is GeoJSON but not an Overpass API answer"),
        "track.osm": ('<?xml version="1.0"?><gpx version="1.1"><trk/></gpx>', "is XML but not OpenStreetMap data"),
        "notes.osm": ("just some text\n", "is not in a known OpenStreetMap format"),
        "error.json": (json.dumps({"version": 0.6, "elements": [], "remark": "runtime error: Query timed out in "
                                                                          "\"query\" at line 3 after 26 seconds."}),
                       "runtime error: Query timed out"),
        "overpass-error.osm": ('<?xml version="1.0"?><osm version="0.6" generator="Overpass API">'
                               '<node id="1" lat="-7.44" lon="109.85"><tag k="place" v="hamlet"/>'
                               '<tag k="name" v="Krajan"/></node>'
                               '<remark> runtime error: Query ran out of memory using about 2048 MB of RAM. </remark>'
                               '</osm>', "runtime error: Query ran out of memory"),
        # Overlaps the area, but holds nothing of any layer.
        "bare.osm": ('<osm version="0.6"><node id="1" lat="-7.44" lon="109.85"/></osm>',
                     "holds no roads, buildings, water, places or facilities"),
    }
    for name, (text, expect) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        _fails(invoke, db, config, before, path, expect=expect)
    missing = tmp_path / "missing.osm"
    _fails(invoke, db, config, before, missing, expect="cannot be read")
