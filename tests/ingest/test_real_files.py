"""The readers on the real files of ../shared/data (skipped when absent, required in CI)."""

from __future__ import annotations

import pandas as pd
import pytest

from surveyor.ingest import detect, gpx, nmea, ookla, opencellid

from .common import assert_every_row_lands_once, read_all, reasons

pytestmark = pytest.mark.realdata


def test_real_gpx_with_358_points_without_time(shared_data):
    path = shared_data / "gpx" / "korita-zbevnica.gpx"
    assert detect.detect(path, path.name).name == "gpx"
    r = read_all(gpx.READER, path)
    assert_every_row_lands_once(r)
    assert r["rows"] == 871
    assert reasons(r) == {"no_time": 358}
    assert len(r["tracks"]) == 513
    assert r["tracks"]["time"].notna().all()


def test_real_gpx_with_an_empty_segment(shared_data):
    path = shared_data / "gpx" / "track-with-empty-segment.gpx"
    r = read_all(gpx.READER, path)
    assert_every_row_lands_once(r)
    assert len(r["tracks"]) == 9 and not r["rejects"]
    assert r["tracks"]["time"].iloc[0] == pd.Timestamp("2013-07-06T17:26:26Z")


@pytest.mark.parametrize("name, epochs, no_fix", [
    ("haicom-305N.log", 74, 6),  # starts without a fix (RMC V, GGA quality 0); LF line ends
    ("mt3339.log", 30, 0),  # CRLF, GP talker, ZDA sentences
    ("neo-m8n.log", 24, 0),  # CRLF, GN talker, GLL first, date from the '# Date =' header for it
])
def test_real_nmea_captures(shared_data, name, epochs, no_fix):
    path = shared_data / "nmea" / name
    assert detect.detect(path, name).name == "nmea"
    r = read_all(nmea.READER, path)
    assert_every_row_lands_once(r)
    assert r["rows"] == epochs
    assert reasons(r) == ({"no_fix": no_fix} if no_fix else {})
    t = r["tracks"]
    assert len(t) == epochs - no_fix
    assert t["time"].is_monotonic_increasing and t["time"].notna().all()
    assert t["lat"].between(-90, 90).all() and t["lon"].between(-180, 180).all()


def test_real_haicom_position(shared_data):
    t = read_all(nmea.READER, shared_data / "nmea" / "haicom-305N.log")["tracks"]
    # "Location: 153E 27S", 2007-04-08
    assert t["time"].iloc[0].date().isoformat() == "2007-04-08"
    assert t["lat"].iloc[0] == pytest.approx(-27.21, abs=0.01) and t["lon"].iloc[0] == pytest.approx(153.05, abs=0.01)


def test_real_opencellid_rows(shared_data):
    path = shared_data / "opencellid" / "central_java_south_bbox_510.csv"
    assert detect.detect(path, path.name).name == "opencellid"
    r = read_all(opencellid.READER, path, chunk_rows=500)
    assert_every_row_lands_once(r)
    t = r["towers"]
    assert len(t) == 2326 and not r["rejects"]
    assert set(t["operator"]) == {"Telkomsel", "Indosat", "XL", "Tri", "Smartfren"}
    assert (t["mcc"] == 510).all()
    assert t["created"].dt.year.min() >= 2008 and str(t["updated"].dt.tz) == "UTC"
    xl = t[(t["operator"] == "XL")]
    assert len(xl) == 17


def test_real_ookla_sample(shared_data):
    path = shared_data / "ookla" / "ookla_speedtest_android_export_sample.csv"
    assert detect.detect(path, path.name).name == "ookla"
    r = read_all(ookla.READER, path, tz="America/New_York", operator="Verizon")
    assert_every_row_lands_once(r)
    assert r["rows"] == 8
    assert reasons(r) == {"wifi": 5}
    s = r["samples"].set_index("source_line")
    assert list(s.index) == [3, 4, 8]
    assert s.loc[3, "time"] == pd.Timestamp("2013-04-27T14:46:00Z")  # 10:46 EDT
    assert s.loc[3, "download_mbps"] == pytest.approx(12.848)
    assert s.loc[3, "latency_ms"] == 39
    assert s.loc[4, "tech"] == "GSM" and s.loc[8, "tech"] == "UMTS"  # Edge, Umts
    assert set(s["operator"]) == {"Verizon"} and set(s["kind"]) == {"speed"}
