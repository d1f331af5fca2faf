"""The basemap layers in both stores (GeoPackage and a real throwaway PostGIS): written, read
back, replaced as a whole, and a failed replacement leaves the old layers and meta untouched."""

from __future__ import annotations

import sqlite3

import pytest
import shapely

from surveyor.errors import StoreError
from surveyor.ingest.basemap import LAYERS, build_layers
from surveyor.ingest.osm import read_osm
from surveyor.store import open_store
from surveyor.store.base import BASEMAP_FIELDS

from . import count
from .village import bounds, village


def _layers(tmp_path, keep=lambda layer: True):
    v, _ = village()
    path = tmp_path / "v.osm"
    path.write_text(v.xml(), encoding="utf-8")
    data = read_osm(path, ("highway", "building", "waterway", "natural", "place", "amenity", "healthcare", "office"))
    layers, _ = build_layers(data, shapely.box(*bounds(v)).buffer(0.01))
    return {k: (g if keep(k) else g.iloc[0:0]) for k, g in layers.items()}


def _ids(store):
    return {layer: sorted(store.read_layer(layer)["osm_id"].tolist()) if len(store.read_layer(layer)) else []
            for layer in LAYERS}


def test_written_and_read_back(store, tmp_path):
    layers = _layers(tmp_path)
    store.replace_layers(layers, {"basemap": {"source": "v.osm", "counts": {k: len(g) for k, g in layers.items()}}})
    for layer, gdf in layers.items():
        back = store.read_layer(layer)
        assert list(back.columns[:-1]) == list(BASEMAP_FIELDS[layer])
        assert back.crs.to_epsg() == 4326
        a = gdf.sort_values("osm_id").reset_index(drop=True)
        b = back.sort_values("osm_id").reset_index(drop=True)
        assert b["osm_id"].dtype.kind == "i"
        for col in BASEMAP_FIELDS[layer]:
            assert [None if x != x else x for x in a[col]] == [None if x != x else x for x in b[col]], (layer, col)
        assert all(x.equals_exact(y, 1e-9) for x, y in zip(a.geometry, b.geometry))
    assert store.get_meta("basemap")["source"] == "v.osm"


def test_replaced_as_a_whole(store, tmp_path):
    store.replace_layers(_layers(tmp_path), {"basemap": {"source": "first"}})
    only_roads = _layers(tmp_path, keep=lambda layer: layer == "roads")
    store.replace_layers(only_roads, {"basemap": {"source": "second"}})
    ids = _ids(store)
    assert ids["roads"] == sorted(only_roads["roads"]["osm_id"])
    assert all(ids[layer] == [] for layer in LAYERS if layer != "roads")
    assert store.get_meta("basemap") == {"source": "second"}


def test_a_failed_replacement_keeps_the_old_layers(store, tmp_path, monkeypatch):
    first = _layers(tmp_path)
    store.replace_layers(first, {"basemap": {"source": "first"}})
    before = _ids(store)
    second = _layers(tmp_path, keep=lambda layer: layer != "buildings")
    if "gpkg" in type(store).__module__:
        # Fail inside the transaction, after roads, buildings and water were dropped and copied anew.
        import surveyor.store.gpkg as gpkg

        real = gpkg._transplant_layer

        def failing(con, layer):
            if layer == "places":
                raise sqlite3.OperationalError("disk I/O error")
            real(con, layer)

        monkeypatch.setattr(gpkg, "_transplant_layer", failing)
    else:
        # PostgreSQL refuses a column name only when it writes that layer, the fourth.
        second["places"] = second["places"].rename(columns={"name": "bad name"})
    with pytest.raises(StoreError):
        store.replace_layers(second, {"basemap": {"source": "second"}})
    assert _ids(store) == before
    assert store.get_meta("basemap") == {"source": "first"}


def test_gpkg_spatial_index_and_other_layers_work_after_replacement(tmp_path):
    """GDAL reads the copied layers by their R-tree, and the survey's own layers are untouched."""
    import pyogrio

    db = str(tmp_path / "s.gpkg")
    with open_store(db, create=True) as store:
        layers = _layers(tmp_path)
        store.replace_layers(layers, {})
        store.replace_layers(layers, {})  # again, over existing layers
        box = layers["buildings"].total_bounds
        window = (box[0], box[1], (box[0] + box[2]) / 2, box[3])
        got = pyogrio.read_dataframe(db, layer="buildings", bbox=window)
        want = layers["buildings"][layers["buildings"].intersects(shapely.box(*window))]
        assert 0 < len(got) < len(layers["buildings"])
        assert sorted(got["osm_id"]) == sorted(want["osm_id"])
        info = {name: kind for name, kind in pyogrio.list_layers(db)}
        assert info["roads"] == "MultiLineString" and info["water"] in ("Unknown", None, "Geometry")
        assert pyogrio.read_info(db, layer="facilities")["features"] == len(layers["facilities"])
        assert store.status().samples == 0 and len(store.read_layer("samples")) == 0
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert not con.execute("PRAGMA foreign_key_check").fetchall()


def test_commands_on_both_stores(db_url, tmp_path, make_survey, invoke):
    """basemap import and status over --db, for a GeoPackage and a PostGIS database."""
    from surveyor.config import load_settings
    from surveyor.geo.areas import areas_frame

    v, want = village()
    gpkg, config = make_survey("village", bounds(v))
    db = gpkg
    if db_url.startswith("postgresql://"):
        db = db_url
        with open_store(db, create=True) as store:
            store.write_layer("areas", areas_frame(load_settings(config)))
    path = tmp_path / "v.osm"
    path.write_text(v.xml(), encoding="utf-8")
    for _ in range(2):  # a second import replaces the first
        r = invoke("basemap", "import", str(path), "--db", db, "--config", config)
        assert r.exit_code == 0, r.output
    with open_store(db) as store:
        assert count.stored(store) == want
    r = invoke("status", "--db", db)
    assert r.exit_code == 0, r.output
    assert f"basemap from {path}" in r.stdout and "© OpenStreetMap contributors" in r.stdout
    assert "s3cret" not in r.output
