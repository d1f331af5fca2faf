"""The seeded village simulator and the bundled, simulated sample survey."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from surveyor.analyse.rules import negative_reasons
from surveyor.config import Settings
from surveyor.model import SAMPLE_FIELDS
from surveyor.testing import simulate

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

_PY_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "time": str}


@pytest.fixture(scope="module")
def survey():
    return simulate.simulate_survey(seed=11)


def _ts(s):
    return datetime.strptime(s["time"], "%Y-%m-%dT%H:%M:%SZ")


def test_same_seed_same_output_and_other_seed_differs():
    a = simulate.simulate_survey(seed=5, interval_s=(8.0, 8.0))
    b = simulate.simulate_survey(seed=5, interval_s=(8.0, 8.0))
    c = simulate.simulate_survey(seed=6, interval_s=(8.0, 8.0))
    assert simulate.journal_text(a.samples) == simulate.journal_text(b.samples)
    assert simulate.journal_text(a.samples) != simulate.journal_text(c.samples)


def test_positions_inside_boundary(survey):
    pts = [(s["lon"], s["lat"]) for s in survey.samples if s.get("lat") is not None]
    lon, lat = np.array(pts).T
    assert shapely.contains_xy(survey.boundary, lon, lat).all()
    for line in survey.tracks.values():
        assert survey.boundary.buffer(1e-6).contains(line)


def test_operators_volunteers_and_kinds_present(survey):
    samples = survey.samples
    assert {s["operator"] for s in samples} == {"Telkomsel", "Indosat"}
    assert len({s["volunteer"] for s in samples}) >= 4
    dual = [v for v in survey.volunteers if set(v.operators) == {"Telkomsel", "Indosat"}]
    assert dual and {s["operator"] for s in samples if s["device"] == dual[0].device} == {"Telkomsel", "Indosat"}
    assert any(s.get("tech") == "NONE" and s.get("service") == "no_service" for s in samples)
    assert any(s.get("tech") == "GSM" for s in samples)
    assert any(s["kind"] == "manual" and s.get("level") is not None for s in samples)
    assert any(s.get("environment") == "indoor" for s in samples)
    assert any((s.get("accuracy_m") or 0) > 50 for s in samples)
    assert any(s.get("note") == simulate.SIMULATED_NOTE for s in samples)


def test_speed_tests_pass_and_fail(survey):
    speed = [s for s in survey.samples if s["kind"] == "speed"]
    failed = [s for s in speed if s["test"] == "failed"]
    ok = [s for s in speed if s["test"] == "ok"]
    assert failed and ok
    assert all(s.get("test_error") and s.get("bytes_used") is not None for s in failed)
    assert all(s["download_mbps"] >= 0 and s["upload_mbps"] >= 0 and s["bytes_used"] > 0 for s in ok)
    assert any(s["download_mbps"] >= 5 for s in ok)


def test_sessions_on_several_days_and_times(survey):
    days = {s.start_utc.astimezone(simulate.WIB).date() for s in survey.sessions}
    assert len(days) >= 3
    hours = {s.start_utc.astimezone(simulate.WIB).hour for s in survey.sessions}
    assert min(hours) < 11 and max(hours) >= 13
    # Every main route is walked, per operator, by at least 2 sessions at least 4 h apart.
    for route in simulate.ROUTES:
        for op in ("Telkomsel", "Indosat"):
            starts = sorted(s.start_utc for s in survey.sessions if s.route == route and op in s.operators)
            assert len(starts) >= 2
            assert (starts[-1] - starts[0]).total_seconds() >= 4 * 3600


def test_truth_has_dead_area_per_operator_and_differs(survey):
    ha = {}
    for op in ("Telkomsel", "Indosat"):
        dead = survey.dead_area(op)
        xy = shapely.transform(dead, lambda a: np.column_stack(survey.truth.to_xy(a[:, 1], a[:, 0])))
        ha[op] = xy.area / 1e4
        assert 5 < ha[op] < 60
    assert not survey.dead_area("Telkomsel").equals(survey.dead_area("Indosat"))
    # Known points: the west valley is dead for Telkomsel only, the centre is covered for both.
    lat, lon = survey.truth.to_latlon(np.array([-1040.0, 0.0]), np.array([-180.0, 0.0]))
    assert list(simulate.truth_negative(lat, lon, "Telkomsel")) == [True, False]
    assert list(simulate.truth_negative(lat, lon, "Indosat")) == [False, False]
    assert simulate.truth_rsrp_dbm(lat, lon, "Telkomsel")[0] < -115


def test_measurements_follow_truth(survey):
    sig = [s for s in survey.samples if s["kind"] == "signal" and s.get("lat") is not None]
    neg = negative_reasons(pd.DataFrame(sig), Settings()).notna().to_numpy()
    lat = np.array([s["lat"] for s in sig])
    lon = np.array([s["lon"] for s in sig])
    ops = np.array([s["operator"] for s in sig])
    truth = np.zeros(len(sig), bool)
    for op in ("Telkomsel", "Indosat"):
        truth[ops == op] = survey.truth_negative(lat[ops == op], lon[ops == op], op)
    # Noise blurs edges, but most samples agree with the truth at their position.
    assert (neg == truth).mean() > 0.85
    assert neg[truth].mean() > 0.6 and neg[~truth].mean() < 0.15


def test_walked_once_and_never_walked_areas(survey):
    tel = survey.walked_once_by_operator["Telkomsel"]
    assert not tel.is_empty and not survey.never_walked.is_empty
    placed = [s for s in survey.samples if s.get("lat") is not None]
    lon = np.array([s["lon"] for s in placed])
    lat = np.array([s["lat"] for s in placed])
    # GPS error is tens of metres, so test the middle of the never-walked area.
    core = survey.never_walked.buffer(-0.001)
    assert not core.is_empty and not shapely.contains_xy(core, lon, lat).any()
    inside = shapely.contains_xy(tel.buffer(-0.0003), lon, lat)
    in_once = {s["session"] for s, hit in zip(placed, inside) if hit and s["operator"] == "Telkomsel"}
    assert len(in_once) == 1


def test_options_never_walk_none_and_custom_area():
    full = simulate.simulate_survey(seed=3, interval_s=(8.0, 8.0), never_walk=None)
    assert full.never_walked is None
    c = full.boundary.centroid
    box = shapely.box(c.x - 0.004, c.y + 0.001, c.x + 0.0, c.y + 0.006)  # around Sidareja paths
    some = simulate.simulate_survey(seed=3, interval_s=(8.0, 8.0), never_walk=box)
    assert some.never_walked is not None and not some.never_walked.is_empty
    assert len(some.samples) < len(full.samples)


def test_fast_enough():
    import time
    t0 = time.perf_counter()
    s = simulate.simulate_survey(seed=1)
    assert len(s.samples) > 20_000
    assert time.perf_counter() - t0 < 10


def test_journal_fields_and_types(survey):
    text = simulate.journal_text(survey.samples[:3000])
    for line in text.splitlines():
        obj = json.loads(line)
        assert set(obj) <= set(SAMPLE_FIELDS)
        for k, v in obj.items():
            expected = _PY_TYPES[SAMPLE_FIELDS[k]]
            assert isinstance(v, expected) and not (expected is int and isinstance(v, bool)), (k, v)
        assert obj["v"] == 1 and obj["time"].endswith("Z")
        assert obj.get("no_fix") or ("lat" in obj and "lon" in obj)


def test_gnettrack_format(survey):
    info = next(s for s in survey.sessions if s.app == "gnettrack")
    text = simulate.gnettrack_csv(survey.session_samples(info.session))
    real_header = ("Timestamp,Longitude,Latitude,Speed,Operatorname,CellID,NetworkMode,RSRP,RSRQ,SNR,CQI,"
                   "RSSI,DL_bitrate,UL_bitrate,State,PINGAVG,PINGMIN,PINGMAX,PINGSTDEV,PINGLOSS,CELLHEX,"
                   "NODEHEX,LACHEX,RAWCELLID,NRxRSRP,NRxRSRQ")
    assert text.splitlines()[0] == real_header
    rows = list(csv.DictReader(text.splitlines()))
    assert all(len(r) == 26 and None not in r for r in rows)
    first = rows[0]
    local = datetime.strptime(first["Timestamp"], "%Y.%m.%d_%H.%M.%S")
    assert local == info.start_utc.astimezone(simulate.WIB).replace(tzinfo=None)
    assert {r["NetworkMode"] for r in rows} >= {"LTE", "-"}
    assert {r["Operatorname"] for r in rows} >= {"IND TELKOMSEL"}
    lte = [r for r in rows if r["NetworkMode"] == "LTE"]
    assert all(int(r["RAWCELLID"]) == int(r["NODEHEX"], 16) * 256 + int(r["CELLHEX"], 16) for r in lte)
    assert simulate.gnettrack_filename(info).startswith("Walk__Walking__TSEL_")


def test_bundled_samples_match_generator():
    if not (SAMPLES / "generate.py").exists():
        pytest.skip("samples/ not present")
    res = subprocess.run([sys.executable, str(SAMPLES / "generate.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_bundled_samples_are_labelled_and_small():
    if not (SAMPLES / "README.md").exists():
        pytest.skip("samples/ not present")
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    assert "SIMULATED" in readme and "not measurements" in readme
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total < 4.5e6
    journals = sorted((SAMPLES / "journals").glob("*.jsonl"))
    assert journals and list((SAMPLES / "gnettrack").glob("SimulatedWalk__*.csv"))
    for path in journals:
        first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        assert first["note"] == simulate.SIMULATED_NOTE
