"""The blank-spot sheet read back as a district office opens it: title rows, human headers,
widths, filter, frozen header, print setup, dates as dates, glossary words, places not H3 ids."""

from __future__ import annotations

import csv
import datetime as dt
import re

import openpyxl
import pandas as pd
import pytest

from surveyor.config import Settings
from surveyor.export import export_layer
from surveyor.export.blankspot import COLUMNS, admin_names
from surveyor.i18n import glossary, translator

H3_LIKE = re.compile(r"\b8[0-9a-f]{14}\b")


@pytest.fixture(scope="module")
def sheet_path(store, tmp_path_factory):
    settings = Settings(contact="Pak Budi, Sekretaris Desa, 0812-0000-0000")
    return export_layer(store, settings, tmp_path_factory.mktemp("bs") / "blankspot.xlsx", fmt="blankspot")


def _header_row(ws) -> int:
    return next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "No.")


def test_title_rows_name_the_village_its_codes_period_and_contact(sheet_path):
    ws = openpyxl.load_workbook(sheet_path).active
    assert ws["A1"].value == "Daftar blank spot Desa Lipursari" and ws["A1"].font.bold
    facts = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=3).value for r in range(2, _header_row(ws))}
    assert facts["Desa"] == "Lipursari (kode 33.07.05.2002)"
    assert facts["Kecamatan"] == "Leksono (kode 33.07.05)"
    assert facts["Kabupaten"] == "Wonosobo (kode 33.07)"
    assert facts["Provinsi"] == "Jawa Tengah (kode 33)"
    assert re.fullmatch(r"\d+ \w+ 2026 - \d+ \w+ 2026", facts["Periode survei"])
    assert facts["Kontak"] == "Pak Budi, Sekretaris Desa, 0812-0000-0000"
    assert glossary.label("dead", "id") in facts["Status"]


def test_headers_widths_filter_freeze_and_print_setup(sheet_path):
    ws = openpyxl.load_workbook(sheet_path).active
    h = _header_row(ws)
    _ = translator("id", "export")
    header = [c.value for c in ws[h]]
    assert header == [_(c[1]) for c in COLUMNS]
    assert "sampel_efektif" not in header and "Sampel efektif" in header and "Lokasi" in header
    for j, (_key, _label, width, _kind) in enumerate(COLUMNS, 1):
        assert ws.column_dimensions[openpyxl.utils.get_column_letter(j)].width == width
    last = openpyxl.utils.get_column_letter(len(COLUMNS))
    assert ws.auto_filter.ref == f"A{h}:{last}{ws.max_row}"
    assert ws.freeze_panes == f"C{h + 1}"
    assert ws.print_title_rows == f"${h}:${h}"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0


def test_one_row_per_zone_and_weak_area_with_dates_links_and_glossary_words(sheet_path, store, settings):
    ws = openpyxl.load_workbook(sheet_path).active
    h = _header_row(ws)
    header = [c.value for c in ws[h]]
    rows = [dict(zip(header, r)) for r in ws.iter_rows(min_row=h + 1, values_only=True)]
    zones = store.read_layer("dead_zones")
    dead = [r for r in rows if r["Status"] == glossary.label("dead", "id")]
    weak = [r for r in rows if r["Status"] == glossary.label("weak_area", "id")]
    assert len(dead) == len(zones) and len(weak) >= 1 and len(dead) + len(weak) == len(rows)
    assert {r["Kode zona"] for r in dead} == set(zones["zone_id"])
    assert [r["No."] for r in rows] == list(range(1, len(rows) + 1))
    z = zones.sort_values("zone_id").iloc[0]
    row = next(r for r in dead if r["Kode zona"] == z["zone_id"])
    assert row["Lintang"] == pytest.approx(z["centroid_lat"], abs=1e-6)
    assert row["Sampel efektif"] == z["samples_effective"]
    first_local = pd.Timestamp(z["first_seen"]).tz_convert(settings.timezone).date()
    assert isinstance(row["Pertama diukur"], dt.datetime) and row["Pertama diukur"].date() == first_local
    date_cell = ws.cell(row=h + 1, column=header.index("Pertama diukur") + 1)
    assert date_cell.is_date and date_cell.number_format == "DD/MM/YYYY"
    link = ws.cell(row=h + 1, column=header.index("Tautan peta") + 1)
    assert link.value == "Buka peta" and link.hyperlink.target.startswith("https://www.openstreetmap.org/?mlat=")
    link_col, zone_col = header.index("Tautan peta") + 1, header.index("Kode zona") + 1
    assert f"{row['Lintang']:.6f}" in next(ws.cell(row=r, column=link_col).hyperlink.target
                                           for r in range(h + 1, ws.max_row + 1)
                                           if ws.cell(row=r, column=zone_col).value == z["zone_id"])
    # Named by dusun (every simulated place lies in one), never by an H3 index.
    for r in rows:
        assert r["Lokasi"].startswith("Dusun ") and not H3_LIKE.search(" ".join(str(v) for v in r.values()))
        assert "pemeriksaan" in r["Bukti"] and r["Bukti"].endswith(".")


def test_english_on_request_and_csv_has_the_same_table(store, settings, tmp_path):
    ws = openpyxl.load_workbook(export_layer(store, settings, tmp_path / "en.xlsx", fmt="blankspot", lang="en")).active
    assert ws["A1"].value == "Blank-spot list of Lipursari village"
    h = _header_row(ws)
    assert [c.value for c in ws[h]][:3] == ["No.", "Location", "Dusun"]
    assert ws.cell(row=h + 1, column=7).value in (glossary.label("dead", "en"), glossary.label("weak_area", "en"))
    path = export_layer(store, settings, tmp_path / "id.csv", fmt="blankspot")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ws = openpyxl.load_workbook(export_layer(store, settings, tmp_path / "id.xlsx", fmt="blankspot")).active
    assert len(rows) == ws.max_row - _header_row(ws)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", rows[0]["Pertama diukur"])
    assert rows[0]["Tautan peta"].startswith("https://")


def test_admin_names_from_the_settings():
    names = admin_names(Settings(name="Kalikajar", code="33.07.06.2001",
                                 district="Kec. Kaliwiro, Kabupaten Wonosobo, Provinsi Jawa Tengah"))
    assert names == {"desa": ("Kalikajar", "33.07.06.2001"), "kecamatan": ("Kaliwiro", "33.07.06"),
                     "kabupaten": ("Wonosobo", "33.07"), "provinsi": ("Jawa Tengah", "33")}
