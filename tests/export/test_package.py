"""`surveyor package`: one zip whose checksums an independent reader verifies and whose files
open in their own readers."""

from __future__ import annotations

import csv
import hashlib
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
import zipfile

import openpyxl
import pytest

from conftest import require


@pytest.fixture(scope="module")
def package(survey, tmp_path_factory):
    from click.testing import CliRunner

    from surveyor.cli import cli

    out = tmp_path_factory.mktemp("pkg") / "paket.zip"
    res = CliRunner().invoke(cli, ["package", "--db", str(survey.db), "--config", str(survey.folder / "survey.toml"),
                                   "--out", str(out), "--anonymize"])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(out)
    return out, res


def test_checksums_verified_by_sha256sum(package, tmp_path):
    out, _ = package
    require(shutil.which("sha256sum") is not None, "sha256sum (coreutils) is not installed")
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        zf.extractall(tmp_path)
        names = set(zf.namelist())
    done = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = {line.split("  ", 1)[1] for line in (tmp_path / "SHA256SUMS").read_text().splitlines()}
    assert listed == names - {"SHA256SUMS"}
    assert done.stdout.count(": OK") == len(listed)
    # And by hand, with hashlib: a changed file is caught.
    victim = tmp_path / "sel-cakupan.csv"
    victim.write_bytes(victim.read_bytes() + b"x")
    assert subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True).returncode != 0
    assert hashlib.sha256(victim.read_bytes()).hexdigest() not in (tmp_path / "SHA256SUMS").read_text()


def test_every_file_opens_in_its_own_reader(package, tmp_path, store):
    import pyogrio

    out, _ = package
    with zipfile.ZipFile(out) as zf:
        zf.extractall(tmp_path)
        names = zf.namelist()
    assert {"laporan-lipursari.pdf", "report-lipursari-en.pdf", "blankspot-lipursari.xlsx", "zona-tanpa-4g.kml",
            "sel-cakupan.kml", "zona-tanpa-4g.csv", "sel-cakupan.csv", "survei-lipursari.gpkg", "BACA-SAYA.txt",
            "SHA256SUMS"} <= set(names) | {n.replace(".html", ".pdf") for n in names}
    for pdf in [n for n in names if n.endswith(".pdf")]:
        assert (tmp_path / pdf).read_bytes().startswith(b"%PDF")
        if shutil.which("pdfinfo"):
            assert "Pages:" in subprocess.run(["pdfinfo", str(tmp_path / pdf)], capture_output=True, text=True).stdout
    ws = openpyxl.load_workbook(tmp_path / "blankspot-lipursari.xlsx").active
    assert ws["A1"].value.startswith("Daftar blank spot")
    for kml in ("zona-tanpa-4g.kml", "sel-cakupan.kml"):
        root = ET.parse(tmp_path / kml).getroot()
        assert root.tag.endswith("kml") and root.find(".//{http://www.opengis.net/kml/2.2}Placemark") is not None
    with open(tmp_path / "zona-tanpa-4g.csv", encoding="utf-8", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(store.read_layer("dead_zones"))
    layers = {name for name, _ in pyogrio.list_layers(tmp_path / "survei-lipursari.gpkg")}
    assert {"cells", "dead_zones", "sites", "samples"} <= layers
    with sqlite3.connect(tmp_path / "survei-lipursari.gpkg") as con:
        cols = {r[1] for r in con.execute("PRAGMA table_info(samples)")}
        assert not cols & {"volunteer", "device", "note", "route", "source_file"}
    readme = (tmp_path / "BACA-SAYA.txt").read_text(encoding="utf-8")
    assert "sha256sum -c SHA256SUMS" in readme and "Isi paket" in readme
    for name in names:
        if name not in ("SHA256SUMS", "BACA-SAYA.txt"):
            assert name in readme


def test_report_can_name_the_package(package, store):
    out, res = package
    meta = store.get_meta("package")
    assert meta["name"] == out.name and meta["verify"] == "sha256sum -c SHA256SUMS"
    assert "sha256sum -c SHA256SUMS" in res.stderr
