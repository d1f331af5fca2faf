"""A district on both stores: ``analyze --area`` for a kabupaten, the overview per village
(``report --district`` as XLSX, PDF/HTML; ``map --district``), one village analysed again, codes
that match nothing, and a server that goes away in the middle of an analysis."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pandas as pd
import pytest

from district.conftest import load_frames
from district.helpers import assert_same_analysis
from surveyor.store import open_store
from surveyor.testing.district import (
    KABUPATEN,
    district_areas,
    district_samples,
    village_codes,
)

pytestmark = pytest.mark.postgis

N_SAMPLES = 150_000  # four villages (the last one cut), one kecamatan


@pytest.fixture(scope="module")
def district_frames():
    frames = [df for _, df in district_samples(N_SAMPLES)]
    return frames, district_areas(len(frames))


@pytest.fixture(scope="module")
def district_dbs(district_frames, pg_cluster, tmp_path_factory):
    """The district merged into a GeoPackage and a PostGIS database, each analysed with
    ``surveyor analyze --area 33.07`` (through the command line)."""
    from click.testing import CliRunner

    from surveyor.cli import cli

    frames, areas = district_frames
    gpkg = str(tmp_path_factory.mktemp("district") / "district.gpkg")
    pg = pg_cluster.url(pg_cluster.new_db())
    for db in (gpkg, pg):
        with open_store(db, create=True) as store:
            load_frames(store, frames, areas)
        r = CliRunner().invoke(cli, ["analyze", "--db", db, "--area", KABUPATEN, "--json"], catch_exceptions=False)
        assert r.exit_code == 0, r.output
    return gpkg, pg


def test_kabupaten_analysed_in_postgis_equals_the_geopackage(district_dbs):
    gpkg, pg = district_dbs
    with open_store(gpkg) as a, open_store(pg) as b:
        assert_same_analysis(a, b)
        cells = b.read_layer("cells")
        assert b.get_meta("analysis_area") == KABUPATEN
    # every row carries the village its centre lies in (cells outside every village, the code analysed)
    villages = set(village_codes(4))
    assert set(cells["area_code"]) == villages | {KABUPATEN}
    outside = cells[cells["area_code"] == KABUPATEN]
    assert len(outside) and outside["outside_area"].all()
    # not surveyed cells cover the villages' polygons, not only the survey's own village
    assert (cells["status"] == "not_surveyed").sum() > 1000


def _overview_by_hand(cells: pd.DataFrame, village: str, operators) -> dict:
    """A village's overview numbers counted straight from its cell rows."""
    mine = cells[cells["area_code"] == village]
    surveyed = mine[mine["status"] != "not_surveyed"]
    by_cell = surveyed.pivot_table(index="h3", columns="operator", values="status", aggfunc="first")
    blank = 0
    for _, row in by_cell.iterrows():
        measured = [s for s in row.to_numpy() if isinstance(s, str)]
        blank += bool(measured) and all(s == "dead" for s in measured)
    return {"cells": mine["h3"].nunique(), "surveyed": surveyed["h3"].nunique(), "blank_cells": blank,
            "dead": {op: int(((mine["operator"] == op) & (mine["status"] == "dead")).sum()) for op in operators}}


@pytest.mark.parametrize("which", [0, 1])
def test_the_district_sheet_has_a_sheet_per_kecamatan_and_a_row_per_village(district_dbs, tmp_path, invoke, which):
    from openpyxl import load_workbook

    db = district_dbs[which]
    out = tmp_path / "district.xlsx"
    r = invoke("report", "--db", db, "--district", KABUPATEN, "--out", str(out), "--lang", "id")
    assert r.exit_code == 0, r.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["Kecamatan", "Kecamatan Simulasi 01"]
    ws = wb["Kecamatan Simulasi 01"]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["Kode desa", "Desa", "Sel", "Sel disurvei", "Disurvei", "Blank spot (km²)"]
    assert "Zona tanpa 4G layak: Telkomsel" in header and "Lemah sinyal: Indosat (km²)" in header
    assert ws.freeze_panes == "C2" and ws.column_dimensions["B"].width > 10
    rows = [dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [r["Kode desa"] for r in rows] == village_codes(4)
    with open_store(db) as store:
        cells = store.read_layer("cells")
    km2 = None
    for row in rows:
        hand = _overview_by_hand(cells, row["Kode desa"], ("Telkomsel", "Indosat"))
        assert row["Sel disurvei"] == hand["surveyed"]
        assert row["Disurvei"] == pytest.approx(hand["surveyed"] / row["Sel"])
        assert isinstance(row["Disurvei"], float) and 0 < row["Disurvei"] < 1
        km2 = km2 or (row["Tidak ada 4G layak: Telkomsel (km²)"] / hand["dead"]["Telkomsel"]
                      if hand["dead"]["Telkomsel"] else None)
        assert row["Blank spot (km²)"] == pytest.approx(hand["blank_cells"] * (km2 or 0.0153), rel=0.05)
    assert ws.cell(2, 5).number_format == "0%"
    summary = wb["Kecamatan"]
    assert [c.value for c in summary[2]][:3] == ["33.07.01", "Kecamatan Simulasi 01", 4]


def test_the_district_map_has_one_polygon_per_village_and_works_offline(district_dbs, tmp_path, invoke):
    out = tmp_path / "district.html"
    r = invoke("map", "--db", district_dbs[1], "--district", KABUPATEN, "--out", str(out), "--lang", "en")
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    data = json.loads(text.split('id="svy-data">', 1)[1].split("</script>", 1)[0])
    feats = data["layers"][0]["data"]["features"]
    assert len(feats) == 4
    assert all("Desa Simulasi" in f["properties"]["p"] for f in feats)
    from surveyor.render.html_map import external_references

    assert external_references(text) == []  # no script, style or image from the network


def test_the_district_report_as_pdf(district_dbs, tmp_path, invoke):
    import subprocess

    out = tmp_path / "district.pdf"
    r = invoke("report", "--db", district_dbs[0], "--district", KABUPATEN, "--out", str(out), "--lang", "en")
    assert r.exit_code == 0, r.output
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True).stdout
    assert "Coverage survey by village" in text and "33.07.01.2004" in text and "Kecamatan Simulasi 01" in text


def test_one_village_analysed_again_keeps_the_others(district_dbs, tmp_path, invoke):
    import shutil

    gpkg = tmp_path / "again.gpkg"
    shutil.copy(district_dbs[0], gpkg)
    with open_store(str(gpkg)) as store:
        before = store.read_layer("cells")
    one = village_codes(4)[1]
    r = invoke("analyze", "--db", str(gpkg), "--area", one, "--resolution", "9", "--json")
    assert r.exit_code == 0, r.output
    with open_store(str(gpkg)) as store:
        after = store.read_layer("cells")
    others = after[after["area_code"] != one]
    assert set(others["resolution"]) == {10} and len(others) == (before["area_code"] != one).sum()
    assert set(after.loc[after["area_code"] == one, "resolution"]) == {9}


def test_one_village_analysed_again_on_postgis_keeps_the_others(district_frames, pg_url, invoke):
    frames, areas = district_frames
    with open_store(pg_url, create=True) as store:
        load_frames(store, frames[:2], areas)
    assert invoke("analyze", "--db", pg_url, "--area", KABUPATEN).exit_code == 0
    with open_store(pg_url) as store:
        before = store.read_layer("dead_zones")
    one = village_codes(2)[0]
    r = invoke("analyze", "--db", pg_url, "--area", one, "--resolution", "9")
    assert r.exit_code == 0, r.output
    with open_store(pg_url) as store:
        cells, zones = store.read_layer("cells"), store.read_layer("dead_zones")
    assert set(cells.loc[cells["area_code"] == one, "resolution"]) == {9}
    assert set(cells.loc[cells["area_code"] != one, "resolution"]) == {10}
    kept = before[before["area_code"] != one]
    assert len(kept) and sorted(zones.loc[zones["area_code"] != one, "zone_id"]) == sorted(kept["zone_id"])


@pytest.mark.parametrize("which", [0, 1])
def test_a_code_that_matches_nothing_is_refused_on_every_command(district_dbs, tmp_path, invoke, which):
    db = district_dbs[which]
    for args in (["analyze", "--area", "33.99"], ["deadzones", "--area", "33.99"],
                 ["report", "--district", "33.99", "--out", str(tmp_path / "x.xlsx")],
                 ["map", "--district", "33.99", "--out", str(tmp_path / "x.html")]):
        r = invoke(*args, "--db", db)
        assert r.exit_code == 2, (args, r.output)
        assert "'33.99' matches nothing" in r.output and "33.07.01" in r.output, r.output
    assert not (tmp_path / "x.xlsx").exists() and not (tmp_path / "x.html").exists()


def test_deadzones_and_revisit_of_one_village(district_dbs, invoke):
    one = village_codes(4)[0]
    r = invoke("deadzones", "--db", district_dbs[1], "--area", one, "--format", "json")
    assert r.exit_code == 0, r.output
    zones = json.loads(r.stdout)
    assert zones and {z["area_code"] for z in zones} == {one}
    # The revisit tour of one village, then of another: each its own places.
    tours = []
    for code in village_codes(4)[:2]:
        r = invoke("revisit", "--db", district_dbs[1], "--area", code, "--format", "csv")
        assert r.exit_code == 0, r.output
        tours.append(set(pd.read_csv(__import__("io").StringIO(r.stdout))["h3"]))
    assert tours[0] and tours[1] and not tours[0] & tours[1]


def test_a_server_that_goes_away_mid_analysis_leaves_the_last_analysis_whole(district_frames, pg_url):
    """The analysis waits for a lock on the samples (taken by a test connection), the server ends its
    connections: a message that names the server and the fix, and the stored layers untouched."""
    import psycopg

    from surveyor.analyse import analyze
    from surveyor.config import Settings
    from surveyor.errors import StoreError

    frames, areas = district_frames
    with open_store(pg_url, create=True) as store:
        load_frames(store, frames[:1], areas)
        analyze(store, Settings(), area=KABUPATEN)
        before = store.read_layer("cells")
    outcome: dict = {}

    def run() -> None:
        try:
            with open_store(pg_url) as store:
                analyze(store, Settings(), area=KABUPATEN)
        except StoreError as exc:
            outcome["error"] = str(exc)

    with psycopg.connect(pg_url) as locker:
        locker.execute("LOCK TABLE samples IN ACCESS EXCLUSIVE MODE")
        worker = threading.Thread(target=run)
        worker.start()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            deadline = time.monotonic() + 60
            waiting = []
            while time.monotonic() < deadline and not waiting:
                waiting = [r[0] for r in admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'surveyor' AND wait_event_type = 'Lock' "
                    "AND datname = current_database()")]
                time.sleep(0.05)
            assert waiting, "the analysis waits for the samples"
            for pid in waiting:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        worker.join(60)
        locker.rollback()
    assert "Lost the connection" in outcome.get("error", ""), outcome
    assert "run the same command again" in outcome["error"]
    with open_store(pg_url) as store:
        after = store.read_layer("cells")
    assert len(after) == len(before) and np.array_equal(after["h3"].to_numpy(), before["h3"].to_numpy())
