"""The advocacy report: PDF content per language, privacy, escaping, and clear failures."""

from __future__ import annotations

import builtins
import shutil
import subprocess

import pytest

from surveyor.config import ExclusionZone, Settings
from surveyor.errors import NothingToDo, SurveyorError

from .conftest import pdftotext


def _zone_ids(store):
    return list(store.read_layer("dead_zones")["zone_id"])


def test_indonesian_pdf_has_every_zone_operator_and_indonesian_text(store, pdf_id):
    text = pdftotext(pdf_id)
    ids = _zone_ids(store)
    assert ids, "the fixture survey must have dead zones"
    for zone_id in ids:
        assert zone_id in text
    for op in ("Telkomsel", "Indosat"):
        assert op in text
    for word in ("Laporan cakupan sinyal seluler", "Ringkasan", "Zona tanpa 4G layak", "Metode", "Permohonan desa",
                 "Lampiran A: kamus data", "33.07.05.2002", "Laporan ini berisi data pribadi"):
        assert word in text
    assert "Summary" not in text and "Dead zones" not in text
    for old in ("Zona mati", "Mati ", "Tercakup", "Marginal"):  # the glossary's words only
        assert old not in text, old


def test_indonesian_numbers_use_a_decimal_comma(store, pdf_id):
    from surveyor.i18n import format_number

    text = pdftotext(pdf_id)
    area = float(store.read_layer("dead_zones")["area_km2"].iloc[0])
    assert format_number(area, "id", 3) in text
    assert "," in format_number(area, "id", 3)


def test_google_maps_links_and_coordinates(store, pdf_id):
    text = pdftotext(pdf_id)
    z = store.read_layer("dead_zones").iloc[0]
    lat, lon = z["centroid_lat"], z["centroid_lon"]
    assert f"https://www.google.com/maps/search/?api=1&query={lat:.6f},{lon:.6f}" in text
    assert f"{lat:.6f}, {lon:.6f}" in text


def test_pdf_page_count_is_sane(pdf_id):
    if shutil.which("pdfinfo") is None:
        pytest.skip("poppler-utils (pdfinfo) is not installed")
    info = subprocess.run(["pdfinfo", str(pdf_id)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert 4 <= pages <= 40


def test_pdf_embeds_the_printed_maps(pdf_id):
    if shutil.which("pdfimages") is None:
        pytest.skip("poppler-utils (pdfimages) is not installed")
    out = subprocess.run(["pdfimages", "-list", str(pdf_id)], capture_output=True, text=True, check=True).stdout
    rows = [line for line in out.splitlines()[2:] if line.strip()]
    assert len(rows) >= 1


def test_english_anonymised_pdf(store, survey, pdf_en_anon):
    text = pdftotext(pdf_en_anon)
    for zone_id in _zone_ids(store):
        assert zone_id in text
    for word in ("Mobile coverage report", "Summary", "Dead zones", "Method", "What the village asks for",
                 "This report is anonymised"):
        assert word in text
    assert "Ringkasan" not in text
    assert "This report contains personal data" not in text
    for secret in survey.personal_strings():
        assert secret not in text, secret


def test_html_escapes_volunteer_and_note_payloads(store, survey, tmp_path):
    from surveyor.render.report import render_report

    out = render_report(store, Settings(), tmp_path / "r.html", lang="id")
    html = out.read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert survey.volunteers[0] in html  # without --anonymize the sessions appendix names volunteers
    assert "Laporan ini berisi data pribadi" in html


def test_anonymised_html_has_no_personal_strings(store, survey, tmp_path):
    from surveyor.render.report import render_report

    html = render_report(store, Settings(), tmp_path / "r.html", lang="en", anonymize=True).read_text("utf-8")
    for secret in survey.personal_strings():
        assert secret not in html, secret


def test_exclusion_zone_removes_a_dead_zone_from_the_report(store, tmp_path):
    from surveyor.render.report import render_report

    z = store.read_layer("dead_zones").iloc[0]
    settings = Settings(exclusion_zones=(ExclusionZone(z["centroid_lat"], z["centroid_lon"], 30.0, "home"),))
    html = render_report(store, settings, tmp_path / "r.html", lang="en").read_text("utf-8")
    assert z["zone_id"] not in html
    assert "Exclusion zones" in html


def test_report_before_analysis_says_run_analyze(merged_only, tmp_path, runner):
    from surveyor.cli import cli
    from surveyor.render.report import render_report
    from surveyor.store import open_store

    db = merged_only.db
    with open_store(str(db)) as store, pytest.raises(NothingToDo, match="surveyor analyze"):
        render_report(store, Settings(), tmp_path / "r.pdf", lang="id")
    assert not (tmp_path / "r.pdf").exists()
    res = runner.invoke(cli, ["report", "--db", str(db), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 1
    assert "surveyor analyze" in str(res.exception)


def test_refuses_to_overwrite(survey_db, invoke, tmp_path):
    out = tmp_path / "r.html"
    out.write_text("keep")
    r = invoke("report", "--db", str(survey_db), "--out", str(out))
    assert r.exit_code == 1 and "exists already" in r.stderr and "--overwrite" in r.stderr
    assert out.read_text() == "keep"
    r = invoke("report", "--db", str(survey_db), "--out", str(out), "--overwrite")
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temporary file left


def test_missing_pango_names_what_to_install(store, tmp_path, monkeypatch):
    from surveyor.render import report

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise OSError("cannot load library 'libgobject-2.0-0': error 0x7e")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "weasyprint", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(SurveyorError) as exc:
        report.render_report(store, Settings(), tmp_path / "r.pdf", lang="id")
    message = str(exc.value)
    assert "libpango-1.0-0" in message and "MSYS2" in message and "report.html" in message
    assert not (tmp_path / "r.pdf").exists()


def test_missing_fonts_names_the_package(store, tmp_path, monkeypatch):
    from surveyor.render import report

    monkeypatch.setattr(report, "installed_font_families", lambda: [])
    with pytest.raises(SurveyorError, match="fonts-dejavu-core"):
        report.render_report(store, Settings(), tmp_path / "r.pdf", lang="en")


def test_cli_report_writes_path_on_stdout_and_warns_on_stderr(survey_db, tmp_path):
    import sys

    out = tmp_path / "r.html"
    res = subprocess.run([sys.executable, "-m", "surveyor", "report", "--db", str(survey_db), "--out", str(out),
                          "--lang", "en"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(out)
    assert "personal data" in res.stderr
    res = subprocess.run([sys.executable, "-m", "surveyor", "report", "--db", str(survey_db), "--out", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 1 and "--overwrite" in res.stderr
