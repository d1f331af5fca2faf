"""The district analyst's commands run against the shared store as they do against a GeoPackage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgis

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_merge_analyze_status_map_report_on_postgis(tmp_path, invoke, pg_url):
    r = invoke("merge", str(SAMPLES / "journals"), "--db", pg_url, "--json")
    assert r.exit_code == 0, r.output
    added = json.loads(r.stdout)["added"]
    r = invoke("status", "--db", pg_url, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["samples"] == added and ":***@" in json.loads(r.stdout)["db"]
    r = invoke("analyze", "--db", pg_url, "--json")
    assert r.exit_code == 0, r.output
    assert "s3cret" not in r.output
    r = invoke("map", "--db", pg_url, "--out", str(tmp_path / "m.html"), "--tiles", "none")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "m.html").stat().st_size > 1000
    r = invoke("report", "--db", pg_url, "--out", str(tmp_path / "r.html"))
    assert r.exit_code == 0, r.output
    assert "s3cret" not in (tmp_path / "r.html").read_text(encoding="utf-8")
