"""The real pipeline on the bundled sample survey: merge, analyze, map, print."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.mark.slow
def test_sample_survey_to_map_and_print(invoke, tmp_path):
    if not (SAMPLES / "journals").is_dir():
        pytest.skip("samples/ (the bundled sample survey) is absent")
    db = str(tmp_path / "s.gpkg")
    assert invoke("merge", str(SAMPLES / "journals"), str(SAMPLES / "gnettrack"), "--db", db).exit_code == 0
    r = invoke("map", "--db", db, "--out", str(tmp_path / "m.html"))
    assert r.exit_code == 1 and "surveyor analyze" in r.stderr
    assert invoke("analyze", "--db", db).exit_code == 0
    r = invoke("map", "--db", db, "--out", str(tmp_path / "m.html"), "--lang", "en")
    assert r.exit_code == 0, r.output
    text = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert "DZ-TSEL-01" in text and "Not surveyed" in text and len(text.encode()) < 3_000_000
    r = invoke("print", "--db", db, "--out", str(tmp_path / "m.pdf"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "m.pdf").stat().st_size > 10_000
