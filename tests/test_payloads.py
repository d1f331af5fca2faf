"""Input text is data, never code: template, script and formula payloads in every text field a
user controls go through the whole pipeline and come out as literal text in every output, with no
side effect on the machine that draws the map, the prints and the report.

The critical case: folium and branca compile the rendered text of every map element as a Jinja
template, so a dusun name ``{{ 7*191 }}`` once came out as ``1337`` and a note could run commands.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from surveyor.app.project import bundled_samples_dir

pytestmark = pytest.mark.slow

TEMPLATE = "{{ 7*191 }}"  # 1337 if it is ever evaluated
STATEMENT = "{% for x in range(3) %}LOOP{% endfor %}"
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","x")'
BRACES = "{0.__class__} {name}"  # str.format() on input text would fail or leak


def side_effect_payload(marker: Path) -> str:
    # What an attacker would write: reach os through a Jinja global and create a file.
    return "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"


@pytest.fixture(scope="module")
def hostile_survey(tmp_path_factory):
    """A survey whose village, dusun, notes, volunteers, routes, device models, operator names,
    tower radio and file names all carry payloads; merged and analysed by the real commands."""
    from click.testing import CliRunner

    from surveyor.cli import main

    root = tmp_path_factory.mktemp("hostile")
    marker = root / "PWNED"
    evil = side_effect_payload(marker)

    def run(*args, cwd=None):
        import os

        old = os.getcwd()
        os.chdir(cwd or root / "survey")
        try:
            result = CliRunner().invoke(_Main(main), list(args), catch_exceptions=False)
        finally:
            os.chdir(old)
        return result

    # A boundary and dusun polygons with payload names.
    shared = json.loads((Path(__file__).parent.parent / "surveyor" / "data" / "lipursari.geojson")
                        .read_text(encoding="utf-8"))
    (root / "boundary.geojson").write_text(json.dumps(shared), encoding="utf-8")
    r = run("init", str(root / "survey"), "--area", str(root / "boundary.geojson"), "--name",
            f"Desa {TEMPLATE} {SCRIPT}", "--code", "33.07.05.2002", cwd=root)
    assert r.exit_code == 0, r.output
    survey = root / "survey"
    import shapely
    from shapely.geometry import mapping, shape

    village = shape(shared["geometry"] if shared.get("type") == "Feature" else shared["features"][0]["geometry"])
    village = shapely.force_2d(village)
    minx, miny, maxx, maxy = village.bounds
    midx = (minx + maxx) / 2
    halves = [village.intersection(shapely.box(minx, miny, midx, maxy)),
              village.intersection(shapely.box(midx, miny, maxx, maxy))]
    dusun = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": f"Dusun {TEMPLATE}"}, "geometry": mapping(halves[0])},
        {"type": "Feature", "properties": {"name": f"{evil} {STATEMENT} {SCRIPT}"}, "geometry": mapping(halves[1])}]}
    (survey / "dusun.geojson").write_text(json.dumps(dusun), encoding="utf-8")
    toml = (survey / "survey.toml").read_text(encoding="utf-8")
    toml = toml.replace('dusun = ""', 'dusun = "dusun.geojson"')
    (survey / "survey.toml").write_text(toml, encoding="utf-8")

    # The sample survey's journals with payloads in every free-text field.
    walks = survey / "samples"
    for i, src in enumerate(sorted((bundled_samples_dir() / "journals").glob("*.jsonl"))):
        lines = []
        for j, line in enumerate(src.read_text(encoding="utf-8").splitlines()):
            s = json.loads(line)
            if j % 7 == 0:
                s["note"] = [TEMPLATE, evil, STATEMENT, SCRIPT, FORMULA, BRACES][j % 6]
            s["volunteer"] = f"Rina {FORMULA}"
            s["route"] = f"jalur {TEMPLATE}"
            s["device_model"] = f"Redmi {SCRIPT} {TEMPLATE}"
            lines.append(json.dumps(s))
        name = src.name if i else f"walk {TEMPLATE} {STATEMENT}.jsonl"
        (walks / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    # A few samples of an operator whose name is a payload.
    extra = json.loads(lines[0])
    rows = []
    for k in range(12):
        e = dict(extra, operator=f"Op {TEMPLATE}", mcc=None, mnc=None, note=evil)
        e["time"] = e["time"][:17] + f"{k:02d}" + e["time"][19:]
        rows.append(json.dumps(e))
    (walks / "operator-payload.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    # OpenCelliD towers whose radio and operator fields are payloads (and one bare "{{").
    (walks / "towers.csv").write_text(
        "radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal\n"
        f"{{{{,510,10,1,11,0,109.8600,-7.4300,1200,5,1,1700000000,1700000000,0\n"
        f"\"{TEMPLATE}\",510,21,1,12,0,109.8500,-7.4400,1500,5,1,1700000000,1700000000,0\n"
        f"LTE,510,10,1,13,0,109.8650,-7.4420,900,5,1,1700000000,1700000000,0\n", encoding="utf-8")
    r = run("merge", "samples")
    assert r.exit_code == 0, r.output
    r = run("analyze")
    assert r.exit_code == 0, r.output
    return {"root": root, "survey": survey, "run": run, "marker": marker}


class _Main:
    name = "surveyor"

    def __init__(self, fn):
        self.fn = fn

    def main(self, args=None, **_extra):
        self.fn(list(args or []))


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_map_shows_payloads_as_text_and_runs_nothing(hostile_survey):
    run, survey = hostile_survey["run"], hostile_survey["survey"]
    out = survey / "maps" / "coverage.html"
    r = run("map", "--show-samples", "--lang", "en", "--out", str(out))
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert TEMPLATE in text and "LOOPLOOPLOOP" not in text
    assert "Desa {{ 7*191 }}" in text  # the village name in the title, literally
    assert "<script>alert(1)" not in text
    assert not hostile_survey["marker"].exists()
    # The operator whose name is a payload has a map of its own, named literally.
    out2 = survey / "maps" / "op.html"
    r = run("map", "--operator", f"Op {TEMPLATE}", "--out", str(out2))
    # Too few samples to analyse, or not an analysed operator (a usage error), is fine; no crash, no evaluation.
    assert r.exit_code in (0, 1, 2), r.output
    assert not hostile_survey["marker"].exists()


def test_map_in_chromium_shows_literal_text(hostile_survey, tmp_path):
    from render.conftest import CHROMIUM_FLAGS, chromium_path, probe_copy, probe_result

    run = hostile_survey["run"]
    out = tmp_path / "m.html"
    r = run("map", "--show-samples", "--lang", "en", "--out", str(out))
    assert r.exit_code == 0, r.output
    page = probe_copy(out, tmp_path / "probe.html")
    exe = chromium_path()
    proc = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'prof'}", "--virtual-time-budget=4000",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    res = probe_result(proc.stdout)
    assert res["errors"] == [] and res["alerts"] == [] and res["bad_imgs"] == 0
    assert TEMPLATE in res["popup_text"] or any(TEMPLATE in t for t in res["tooltips"])
    assert any(f"Dusun {TEMPLATE}" in t for t in res["tooltips"])
    assert res["popup_imgs"] == 0


def test_prints_and_report_show_payloads_as_text(hostile_survey):
    run, survey = hostile_survey["run"], hostile_survey["survey"]
    require_tool("pdftotext")
    pdf = survey / "maps" / "coverage.pdf"
    r = run("print", "--out", str(pdf))
    assert r.exit_code == 0, r.output
    text = _normal(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout)
    assert "7*191" in text and "LOOPLOOPLOOP" not in text
    html = survey / "reports" / "report.html"
    r = run("report", "--out", str(html), "--lang", "en")
    assert r.exit_code == 0, r.output
    page = html.read_text(encoding="utf-8")
    assert TEMPLATE in page and "LOOPLOOPLOOP" not in page and "<script>alert(1)" not in page
    pdf = survey / "reports" / "report.pdf"
    r = run("report", "--out", str(pdf))
    assert r.exit_code == 0, r.output
    text = _normal(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout)
    assert "7*191" in text and "LOOPLOOPLOOP" not in text
    assert not hostile_survey["marker"].exists()


def test_every_export_keeps_payloads_as_inert_text(hostile_survey):
    from openpyxl import load_workbook

    run, survey = hostile_survey["run"], hostile_survey["survey"]
    outdir = survey / "exports"
    seen_template = False
    for layer in ("samples", "cells", "dead_zones", "sites"):
        for fmt in ("geojson", "kml", "csv", "xlsx", "gpkg"):
            out = outdir / f"{layer}.{fmt}"
            r = run("export", "--layer", layer, "--out", str(out))
            assert r.exit_code in (0, 1), r.output
            if r.exit_code == 1:
                assert "Traceback" not in r.output
                continue
            if fmt == "xlsx":
                wb = load_workbook(out)
                for ws in wb.worksheets:
                    for row in ws.iter_rows():
                        for c in row:
                            if isinstance(c.value, str):
                                assert not c.value.startswith("="), (layer, c.value)
                                seen_template |= TEMPLATE in c.value
            elif fmt == "csv":
                text = out.read_text(encoding="utf-8-sig")
                for line in text.splitlines():
                    for field in line.split(","):
                        assert not field.strip('"').startswith("=")
                seen_template |= TEMPLATE in text
            elif fmt in ("geojson", "kml"):
                text = out.read_text(encoding="utf-8")
                assert "<script>" not in text if fmt == "kml" else True
                seen_template |= TEMPLATE in text
    assert seen_template
    for fmt in ("csv", "xlsx"):
        out = outdir / f"blankspot.{fmt}"
        r = run("export", "--format", "blankspot", "--out", str(out))
        assert r.exit_code == 0, r.output
    for fmt in ("csv", "json", "geojson"):
        r = run("deadzones", "--format", fmt)
        assert r.exit_code == 0 and "Traceback" not in r.output
    for fmt in ("csv", "gpx", "table"):
        r = run("revisit", "--format", fmt)
        assert r.exit_code == 0 and "Traceback" not in r.output
    assert not hostile_survey["marker"].exists()


def require_tool(name: str) -> None:
    from conftest import require

    require(shutil.which(name) is not None, f"{name} (Debian poppler-utils) is not installed")

