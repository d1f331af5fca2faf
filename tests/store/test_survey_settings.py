"""The survey's settings (and its exclusion zones) travel with the database, on both stores: an
export made from another folder applies them, and a database without them is refused."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from surveyor.geo.distance import haversine_m

from helpers import walk_rows, write_gnettrack

HOME = (-7.4370, 109.8580)


def test_exclusion_zones_are_kept_in_the_database_and_applied_from_anywhere(tmp_path, invoke, db_url,
                                                                          monkeypatch):
    village = tmp_path / "village"
    subprocess.run([sys.executable, "-m", "surveyor", "init", str(village)], check=True, capture_output=True)
    with open(village / "survey.toml", "a", encoding="utf-8") as fh:
        fh.write(f"\n[[exclusion_zones]]\nlat = {HOME[0]}\nlon = {HOME[1]}\nradius_m = 150\n")
    walk = write_gnettrack(tmp_path / "walk.csv", walk_rows(200, lat0=HOME[0] - 0.001, lon0=HOME[1] - 0.001))
    monkeypatch.chdir(village)  # merged in the village folder: its survey.toml is stored with the data
    r = invoke("merge", str(walk), "--db", db_url)
    assert r.exit_code == 0, r.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no survey.toml here, nor beside the database
    db = db_url if "://" in db_url else str(tmp_path / "moved.gpkg")
    if "://" not in db_url:  # a GeoPackage copied without its folder
        import shutil

        shutil.copy(db_url, db)
    out = elsewhere / "samples.csv"
    r = invoke("export", "--db", db, "--layer", "samples", "--out", str(out))
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert len(df) > 0
    near = haversine_m(df["lat"].to_numpy(float), df["lon"].to_numpy(float), *HOME, xp=np) <= 150
    assert not near.any()
    r = invoke("export", "--db", db, "--layer", "samples", "--out", str(elsewhere / "all.csv"), "--all-data")
    assert len(pd.read_csv(elsewhere / "all.csv")) == len(df)  # --all-data widens the scope, never the zones


def test_push_and_pull_carry_the_settings_and_zones(tmp_path, invoke, pg_url):
    from surveyor.store import open_store
    from surveyor.store.survey import settings_of
    from surveyor.store.sync import pull, push

    village = tmp_path / "village"
    subprocess.run([sys.executable, "-m", "surveyor", "init", str(village)], check=True, capture_output=True)
    with open(village / "survey.toml", "a", encoding="utf-8") as fh:
        fh.write(f"\n[[exclusion_zones]]\nlat = {HOME[0]}\nlon = {HOME[1]}\nradius_m = 150\n")
    walk = write_gnettrack(tmp_path / "walk.csv", walk_rows(50))
    assert invoke("merge", str(walk), "--db", str(village / "survey.gpkg")).exit_code == 0
    push(str(village / "survey.gpkg"), pg_url)
    pulled = tmp_path / "away" / "pulled.gpkg"
    pulled.parent.mkdir()
    pull(pg_url, str(pulled), area="33.07.05.2002")
    for db in (pg_url, str(pulled)):
        with open_store(db) as store:
            zones = settings_of(store).exclusion_zones
        assert [(z.lat, z.lon, z.radius_m) for z in zones] == [(HOME[0], HOME[1], 150.0)], db
