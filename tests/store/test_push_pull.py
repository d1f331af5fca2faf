"""``surveyor push`` / ``pull`` between a village GeoPackage and the shared PostGIS database."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

from surveyor.analyse.sql import count_in_database
from surveyor.config import Settings
from surveyor.store import open_store
from tests.helpers import journal_sample, write_journal

pytestmark = pytest.mark.postgis

LIPURSARI = "33.07.05.2002"
OTHER = "33.07.05.2003"


def _village(tmp_path, invoke, name, code, lat0, device):
    """A village GeoPackage: a walk, one broken line, and its boundary in `areas`."""
    samples = [journal_sample(i, lat=lat0 + i * 1e-5, device=device, session=f"{name}-1") for i in range(40)]
    j = write_journal(tmp_path / f"{name}.jsonl", samples, tail="{broken\n")
    db = str(tmp_path / f"{name}.gpkg")
    r = invoke("merge", str(j), "--db", db, "--json")
    assert r.exit_code == 0, r.output
    with open_store(db) as s:
        s.write_layer("areas", gpd.GeoDataFrame(
            {"code": [code], "name": [name], "level": ["desa"], "parent_code": ["33.07.05"]},
            geometry=[shapely.box(109.85, lat0 - 0.001, 109.87, lat0 + 0.01)], crs="EPSG:4326"))
    return db


def _json(invoke, *args):
    r = invoke(*args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_push_twice_adds_nothing_and_carries_provenance(tmp_path, invoke, pg_url):
    gpkg = _village(tmp_path, invoke, "lipursari", LIPURSARI, -7.437, "dev-A")
    first = _json(invoke, "push", gpkg, "--db", pg_url)
    assert first["merges"] == 1 and first["added"] == 40 and first["quarantined"] == 1 and first["areas"] == 1
    again = _json(invoke, "push", gpkg, "--db", pg_url)
    assert again["merges"] == 0 and again["skipped"] == 1 and again["added"] == 0
    with open_store(pg_url) as pg, open_store(gpkg) as local:
        s = pg.status()
        assert s.samples == 40 and s.quarantined == 1 and s.merges == 1
        m, = pg.merges()
        orig, = local.merges()
        assert (m.source_file, m.content_hash, m.format, m.merged_at) == \
            (orig.source_file, orig.content_hash, orig.format, orig.merged_at)
        assert m.options["copied_from"] == {"db": "lipursari.gpkg", "merge_id": orig.merge_id}
        q = pg.read_layer("quarantine")
        assert q["raw"].tolist() == ["{broken"] and q["merge_id"].tolist() == [m.merge_id]
        assert pg.read_samples(["sample_id"])["sample_id"].sort_values().tolist() == \
            local.read_samples(["sample_id"])["sample_id"].sort_values().tolist()
        # the samples learnt their village from the pushed boundary
        assert set(pg.read_samples(["area_code"])["area_code"]) == {LIPURSARI}


def test_a_merge_sent_directly_and_then_pushed_is_not_doubled(tmp_path, invoke, pg_url):
    gpkg = _village(tmp_path, invoke, "lipursari", LIPURSARI, -7.437, "dev-A")
    r = invoke("merge", str(tmp_path / "lipursari.jsonl"), "--db", pg_url)
    assert r.exit_code == 0, r.output
    pushed = _json(invoke, "push", gpkg, "--db", pg_url)
    assert pushed["merges"] == 0 and pushed["skipped"] == 1
    with open_store(pg_url) as pg:
        assert pg.status().samples == 40 and pg.status().quarantined == 1


def test_area_filters_and_pull(tmp_path, invoke, pg_url):
    a = _village(tmp_path, invoke, "lipursari", LIPURSARI, -7.437, "dev-A")
    b = _village(tmp_path, invoke, "other", OTHER, -7.300, "dev-B")
    _json(invoke, "push", a, "--db", pg_url)
    _json(invoke, "push", b, "--db", pg_url)
    with open_store(pg_url) as pg:
        assert pg.status().samples == 80
        assert pg.status(area=LIPURSARI).samples == 40
        assert pg.status(area="33.07.05").samples == 80  # the kecamatan: both villages
        assert set(pg.read_samples(["device"], area=OTHER)["device"]) == {"dev-B"}
        chunks = list(pg.read_samples_chunks(["sample_id", "time"], area=LIPURSARI, chunk_rows=15))
        assert [len(c) for c in chunks] == [15, 15, 10]
        with pg.sql_sessions(2) as job:  # the analysis's own counting, inside the database
            cells = count_in_database(pg, Settings(), 10, LIPURSARI, job).counts
        assert cells["samples_raw"].sum() == 40 and set(cells["operator"]) == {"Telkomsel"}
        assert set(pg.read_layer("areas", area="33.07.05")["code"]) == {LIPURSARI, OTHER}
    out = str(tmp_path / "back.gpkg")
    pulled = _json(invoke, "pull", "--db", pg_url, "--out", out, "--area", LIPURSARI)
    assert pulled["added"] == 40 and pulled["areas"] == 1
    again = _json(invoke, "pull", "--db", pg_url, "--out", out, "--area", LIPURSARI)
    assert again["added"] == 0 and again["merges"] == 0
    with open_store(out) as back:
        s = back.status()
        assert s.samples == 40 and s.by_operator == {"Telkomsel": 40} and s.quarantined == 1
        assert set(back.read_samples(["device"])["device"]) == {"dev-A"}
        assert back.read_layer("areas")["code"].tolist() == [LIPURSARI]
    # pushing a village filtered by area sends only its samples
    pg2 = pg_url  # same server: the push of `a` limited to the other village adds nothing new
    r = _json(invoke, "push", a, "--db", pg2, "--area", OTHER)
    assert r["added"] == 0


def test_write_layer_by_area_keeps_other_villages(pg_url):
    with open_store(pg_url, create=True) as pg:
        def cells(code, n):
            return gpd.GeoDataFrame({"h3": [f"c{i}" for i in range(n)], "area_code": code, "status": "dead"},
                                    geometry=[shapely.Point(109.85, -7.43)] * n, crs="EPSG:4326")
        pg.write_layer("cells", cells(LIPURSARI, 3))
        pg.write_layer("cells", cells(OTHER, 2), area=OTHER)
        pg.write_layer("cells", cells(LIPURSARI, 1), area=LIPURSARI)
        got = pg.read_layer("cells")
        assert sorted(got["area_code"]) == [LIPURSARI, OTHER, OTHER]
        assert len(pg.read_layer("cells", area=OTHER)) == 2


def test_push_needs_a_postgres_url_and_an_existing_file(tmp_path, invoke, pg_url):
    r = invoke("push", str(tmp_path / "missing.gpkg"), "--db", pg_url)
    assert r.exit_code == 1 and "No geodatabase" in r.output
    r = invoke("push", str(tmp_path / "x.gpkg"), "--db", str(tmp_path / "y.gpkg"))
    assert r.exit_code == 2 and "postgresql://" in r.output
