"""``surveyor export --format parquet``: GeoParquet that geopandas and DuckDB read back with the layer's
rows, values and types; privacy as in every export; samples streamed from PostGIS."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest


@pytest.mark.parametrize("layer", ["samples", "cells", "dead_zones", "sites"])
def test_each_layer_round_trips(village, tmp_path, invoke, layer):
    out = tmp_path / f"{layer}.parquet"
    ref = tmp_path / f"{layer}.gpkg"
    for target in (out, ref):
        r = invoke("export", "--db", str(village.db), "--layer", layer, "--out", str(target),
                   "--config", str(village.folder / "survey.toml"))
        assert r.exit_code == 0, r.output
    got = gpd.read_parquet(out)
    want = gpd.read_file(ref, layer=layer)
    assert len(got) == len(want) > 0 and got.crs.to_epsg() == 4326
    key = {"samples": "sample_id", "cells": ["h3", "operator"], "dead_zones": "zone_id",
           "sites": ["operator", "rank"]}[layer]
    got, want = got.sort_values(key).reset_index(drop=True), want.sort_values(key).reset_index(drop=True)
    missing = got.geometry.isna().to_numpy()
    assert (missing == want.geometry.isna().to_numpy()).all()  # unplaced samples have no point in both
    assert got.geometry[~missing].geom_equals_exact(want.geometry[~missing], tolerance=1e-9).all()
    for c in want.columns:
        if c == "geometry" or c not in got.columns:
            continue
        a, b = got[c], want[c]
        if pd.api.types.is_numeric_dtype(b) and pd.api.types.is_numeric_dtype(a):
            assert np.allclose(a.astype(float), b.astype(float), equal_nan=True), c
    meta = json.loads(pq.read_metadata(out).metadata[b"geo"])
    col = meta["columns"]["geometry"]
    assert meta["version"] == "1.0.0" and meta["primary_column"] == "geometry" and col["encoding"] == "WKB"
    assert col["crs"]["id"] == {"authority": "EPSG", "code": 4326}
    x0, y0, x1, _y1 = col["bbox"]
    assert x0 <= got.total_bounds[0] and x1 >= got.total_bounds[2] and 100 < x0 < 120 and -10 < y0 < 0
    types = {"samples": ["Point"], "sites": ["Point"], "cells": ["Polygon"]}
    if layer in types:
        assert col["geometry_types"] == types[layer]


def test_duckdb_reads_typed_columns(village, tmp_path, invoke):
    import duckdb

    out = tmp_path / "samples.parquet"
    r = invoke("export", "--db", str(village.db), "--layer", "samples", "--format", "parquet", "--out", str(out),
               "--config", str(village.folder / "survey.toml"))
    assert r.exit_code == 0, r.output
    schema = pq.read_schema(out)
    assert str(schema.field("time").type) == "timestamp[ms, tz=UTC]"
    assert str(schema.field("rsrp_dbm").type) == "double" and str(schema.field("geometry").type) == "binary"
    rows = duckdb.sql(f"SELECT operator, count(*), min(time), avg(rsrp_dbm) FROM '{out}' "
                      "GROUP BY 1 ORDER BY 1").fetchall()
    samples = gpd.read_parquet(out)
    assert [r[0] for r in rows] == sorted(samples["operator"].dropna().unique())
    assert sum(r[1] for r in rows) + samples["operator"].isna().sum() == len(samples)
    cells = tmp_path / "cells.parquet"
    invoke("export", "--db", str(village.db), "--layer", "cells", "--out", str(cells),
           "--config", str(village.folder / "survey.toml"))
    assert str(pq.read_schema(cells).field("first_seen").type) == "timestamp[ms, tz=UTC]"
    dead = duckdb.sql(f"SELECT count(*) FROM '{cells}' WHERE status = 'dead'").fetchall()[0][0]
    assert dead == (gpd.read_parquet(cells)["status"] == "dead").sum() > 0


def test_anonymized_samples_carry_no_personal_data(village, tmp_path, invoke):
    out = tmp_path / "anon.parquet"
    r = invoke("export", "--db", str(village.db), "--layer", "samples", "--anonymize", "--out", str(out),
               "--config", str(village.folder / "survey.toml"))
    assert r.exit_code == 0, r.output
    data = out.read_bytes()
    for text in village.personal_strings():
        assert text.encode() not in data, text


@pytest.mark.postgis
def test_samples_streamed_from_postgis_are_the_geopackage_samples(village, tmp_path, invoke, pg_url):
    from surveyor.store.sync import push

    push(str(village.db), pg_url)
    a, b = tmp_path / "pg.parquet", tmp_path / "gpkg.parquet"
    for db, out in ((pg_url, a), (str(village.db), b)):
        r = invoke("export", "--db", db, "--layer", "samples", "--out", str(out),
                   "--config", str(village.folder / "survey.toml"))
        assert r.exit_code == 0, r.output
    assert pq.read_metadata(a).num_row_groups >= 1
    x, y = gpd.read_parquet(a), gpd.read_parquet(b)
    assert sorted(x["sample_id"]) == sorted(y["sample_id"])
    x, y = x.sort_values("sample_id").reset_index(drop=True), y.sort_values("sample_id").reset_index(drop=True)
    assert (x["time"].to_numpy() == y["time"].to_numpy()).all()
    assert np.allclose(x["rsrp_dbm"].astype(float), y["rsrp_dbm"].astype(float), equal_nan=True)


def test_streamed_samples_keep_to_the_survey_scope_like_the_geopackage(village, tmp_path, invoke, pg_url):
    # A log from far away and an old one, merged into the survey: kept in the database, left out of
    # the export of both stores alike (on PostGIS the server applies the scope while streaming).
    from surveyor.store.sync import push

    from fixtures import copy_survey
    from helpers import journal_sample, write_journal

    local = copy_survey(village, tmp_path / "survey")
    far = write_journal(tmp_path / "far.jsonl", [journal_sample(i, lat=53.35, lon=-6.26, session="far", device="f")
                                                 for i in range(20)])
    old = write_journal(tmp_path / "old.jsonl", [journal_sample(i, time=f"2023-03-01T01:00:{i:02d}Z", session="old",
                                                                device="o") for i in range(20)])
    config = str(local.folder / "survey.toml")
    r = invoke("merge", str(far), str(old), "--db", str(local.db), "--config", config)
    assert r.exit_code == 0, r.output
    push(str(local.db), pg_url)
    a, b = tmp_path / "pg.parquet", tmp_path / "gpkg.parquet"
    for db, out in ((pg_url, a), (str(local.db), b)):
        r = invoke("export", "--db", db, "--layer", "samples", "--out", str(out), "--config", config)
        assert r.exit_code == 0, r.output
    x, y = gpd.read_parquet(a), gpd.read_parquet(b)
    assert sorted(x["sample_id"]) == sorted(y["sample_id"])
    assert not {"far", "old"} & set(x["session"]) and len(x) > 1000
