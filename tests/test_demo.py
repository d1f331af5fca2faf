"""surveyor demo: the whole job on the bundled sample survey, in one folder, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from surveyor.errors import PdfUnavailable
from surveyor.store import open_store

pytestmark = pytest.mark.slow


def test_demo_writes_every_output_and_can_run_again(tmp_path, invoke, monkeypatch):
    out = tmp_path / "demo"
    r = invoke("demo", "--out", str(out))
    assert r.exit_code == 0, r.output
    paths = [Path(p) for p in r.stdout.split()]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert all(out in p.parents for p in paths)  # nothing written outside the folder named
    names = {p.name for p in paths}
    for expected in ("survey.gpkg", "coverage.html", "coverage-a3.pdf", "coverage-whatsapp.png",
                     "laporan-lipursari.pdf", "report-lipursari-en.pdf", "blankspot-lipursari.xlsx",
                     "dead-zones.kml", "cells.geojson"):
        assert expected in names
    assert "DZ-TSEL-01" in r.stderr  # the dead-zone table
    # The progress in the command line's language (English in the tests), in merge's and analyze's words:
    # one zone is "1 dead zone", never "1 dead zones".
    assert "Analysing coverage" in r.stderr and "nearest usable 4G" in r.stderr
    assert "1 dead zones" not in r.stderr and "1 dead zone" in r.stderr
    assert "Next: `surveyor deadzones`" not in r.stderr  # the demo runs those itself
    with open_store(str(out / "survey.gpkg")) as store:
        st = store.status()
        assert st.by_operator["Telkomsel"] > 1000 and st.by_operator["Indosat"] > 1000
        assert st.sessions >= 10 and st.analysed_at
        assert len(store.read_layer("dead_zones")) >= 1
    # Running it again reuses the folder it made ...
    monkeypatch.setattr("surveyor.render.report.load_weasyprint",
                        lambda: (_ for _ in ()).throw(PdfUnavailable("Cannot make a PDF: no Pango.")))
    r2 = invoke("demo", "--out", str(out))
    assert r2.exit_code == 0, r2.output
    # ... and without the PDF libraries the reports come out as HTML, said on stderr.
    assert "laporan-lipursari.html" in r2.stdout and "Cannot make a PDF" in r2.stderr


def test_demo_speaks_indonesian_when_asked(tmp_path, invoke, monkeypatch):
    monkeypatch.setenv("SURVEYOR_CLI_LANGUAGE", "id")
    r = invoke("demo", "--out", str(tmp_path / "demo"))
    assert r.exit_code == 0, r.output
    assert "Menganalisis cakupan" in r.stderr and "zona tanpa 4G layak" in r.stderr
    assert "dead zone" not in r.stderr and "4G layak terdekat" in r.stderr


def test_every_demo_output_says_simulated(tmp_path, invoke):
    """The demo walks the real boundary and names real operators: each output it makes carries the
    SIMULASI / SIMULATED DATA mark, so nobody takes an invented dead zone for a measurement."""
    import shutil
    import subprocess

    import numpy as np
    from openpyxl import load_workbook
    from PIL import Image

    mark = "SIMULASI / SIMULATED DATA"
    out = tmp_path / "demo"
    r = invoke("demo", "--out", str(out), "--lang", "en")
    assert r.exit_code == 0, r.output
    assert mark in (out / "maps" / "coverage.html").read_text(encoding="utf-8")
    if shutil.which("pdftotext"):
        for pdf in (out / "maps" / "coverage-a3.pdf", out / "reports" / "report-lipursari-en.pdf",
                    out / "reports" / "laporan-lipursari.pdf"):
            pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                   check=True).stdout.split("\f")
            assert all(mark in page for page in pages if page.strip()), pdf.name
    # The WhatsApp image: the mark's red box (#b00020) at the top.
    img = np.asarray(Image.open(out / "maps" / "coverage-whatsapp.png").convert("RGB")).astype(int)
    red = (np.abs(img - [176, 0, 32]).max(axis=2) <= 12)
    assert red[: img.shape[0] // 8].sum() > 500
    sheet = load_workbook(out / "reports" / "blankspot-lipursari.xlsx").worksheets[0]
    assert str(sheet.cell(row=1, column=1).value).startswith(mark) and sheet.title.startswith("SIMULASI")


def test_demo_refuses_a_folder_it_did_not_make(tmp_path, invoke):
    (tmp_path / "mine.txt").write_text("a real survey")
    r = invoke("demo", "--out", str(tmp_path))
    assert r.exit_code == 1 and "another --out" in r.stderr
    assert (tmp_path / "mine.txt").read_text() == "a real survey"


def test_every_command_has_help(invoke):
    from surveyor.cli import COMMANDS

    for name in COMMANDS:
        r = invoke(name, "--help")
        assert r.exit_code == 0, name
        assert "Usage: surveyor " + name in r.stdout
        summary = r.stdout.split("\n\n")[1].strip()
        assert len(summary) > 20, f"{name} has no help text"


def test_version_and_module_entry_point():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "surveyor", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and "surveyor" in r.stdout
    r = subprocess.run([sys.executable, "-m", "surveyor", "merge"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_init_writes_a_survey_folder(tmp_path, invoke):
    r = invoke("init", str(tmp_path / "v"))
    assert r.exit_code == 0
    assert (tmp_path / "v" / "survey.toml").exists() and (tmp_path / "v" / "maps").is_dir()
    with open_store(str(tmp_path / "v" / "survey.gpkg")) as store:
        areas = store.read_layer("areas")
    assert list(areas["code"]) == ["33.07.05.2002"]
    r = invoke("init", str(tmp_path / "v"))
    assert r.exit_code == 1 and "--overwrite" in r.stderr
    boundary = tmp_path / "desa.geojson"
    boundary.write_text(json.dumps({"type": "Polygon", "coordinates": [[[110.0, -7.0], [110.01, -7.0],
                                                                        [110.01, -7.01], [110.0, -7.0]]]}))
    r = invoke("init", str(tmp_path / "w"), "--area", str(boundary), "--name", "Contoh", "--code", "33.01.01.2001")
    assert r.exit_code == 0, r.output
    assert 'code = "33.01.01.2001"' in (tmp_path / "w" / "survey.toml").read_text()
    r = invoke("init", str(tmp_path / "x"), "--area", str(boundary))
    assert r.exit_code == 2 and "--name" in r.stderr
