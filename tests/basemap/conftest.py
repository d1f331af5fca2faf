"""Fixtures of the basemap tests: survey folders around an area, the real OpenStreetMap files of
../shared/data/osm, the throwaway PostGIS cluster of tests/store, and an independent count of
what an OpenStreetMap file holds by tag (see :mod:`basemap.count`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from store import conftest as store_fixtures

from conftest import require

# Both stores on a real PostGIS: the fixtures of tests/store, by assignment.
db_url = store_fixtures.db_url
pg_cluster = store_fixtures.pg_cluster
pg_url = store_fixtures.pg_url
store = store_fixtures.store

XML = "planet_10.068,48.135_10.071,48.137.osm"
PBF = "aguascalientes.osm.pbf"
OVERPASS = "overpass-oakland-roads.json.gz"


@pytest.fixture(scope="session")
def osm_dir(shared_data) -> Path:
    d = shared_data / "osm"
    require(all((d / f).is_file() for f in (XML, PBF, OVERPASS)), f"{d} lacks the OpenStreetMap test files")
    return d


def rectangle(west: float, south: float, east: float, north: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                                                 [west, south]]]}


@pytest.fixture
def make_survey(tmp_path, invoke):
    """``make_survey(name, (west, south, east, north))``: a survey folder made by ``surveyor init``
    whose area is that rectangle; returns (db, config) paths as strings."""

    def make(name: str, bounds: tuple[float, float, float, float]) -> tuple[str, str]:
        area = tmp_path / f"{name}-area.geojson"
        area.write_text(json.dumps(rectangle(*bounds)))
        folder = tmp_path / name
        r = invoke("init", str(folder), "--area", str(area), "--name", name.title(), "--code", "99.99.99.9999")
        assert r.exit_code == 0, r.output
        return str(folder / "survey.gpkg"), str(folder / "survey.toml")

    return make
