"""GPX and NMEA: track points, and the rows that cannot be track points."""

from __future__ import annotations

import pandas as pd
import pytest

from surveyor.ingest import gpx, nmea
from surveyor.ingest.nmea import checksum_ok

from .common import FIXTURES, assert_every_row_lands_once, read_all, reasons


def test_gpx_1_0_points_segments_and_points_without_time():
    r = read_all(gpx.READER, FIXTURES / "track_1_0.gpx", device="phone-A")
    assert_every_row_lands_once(r)
    assert r["rows"] == 5  # five <trkpt>; the waypoint and the empty segment are not rows
    t = r["tracks"]
    assert list(t["source_line"]) == [7, 8, 13]
    assert t["time"].iloc[0] == pd.Timestamp("2024-05-01T02:00:00Z")
    assert t["altitude_m"].iloc[0] == 812.5
    assert t["speed_kmh"].iloc[0] == pytest.approx(1.2 * 3.6)  # GPX 1.0 <speed> is m/s
    assert t["accuracy_m"].iloc[0] == pytest.approx(1.5 * gpx.UERE_M)
    assert set(t["device"]) == {"phone-A"}
    assert reasons(r) == {"no_time": 1, "bad_position": 1}
    no_time = next(x for x in r["rejects"] if x.reason == "no_time")
    assert no_time.line == 9 and "<time>" in no_time.message


def test_gpx_1_1_walk():
    r = read_all(gpx.READER, FIXTURES / "walk.gpx")
    assert len(r["tracks"]) == 61 and not r["rejects"]
    assert r["tracks"]["time"].is_monotonic_increasing


def test_nmea_fix_epochs_become_track_points():
    r = read_all(nmea.READER, FIXTURES / "gnss.nmea")
    assert_every_row_lands_once(r)
    # Six epochs: one without a fix, three good, one whose only sentence is corrupt, one GGA-only.
    assert r["rows"] == 6
    assert reasons(r) == {"no_fix": 1, "bad_checksum": 1}
    t = r["tracks"]
    assert list(t["time"].dt.strftime("%H:%M:%S")) == ["02:00:01", "02:00:02", "02:00:03", "02:00:05"]
    assert t["time"].iloc[0] == pd.Timestamp("2024-05-01T02:00:01Z")  # date from RMC (010524)
    assert t["lat"].iloc[0] == pytest.approx(-(7 + 26.4 / 60))
    assert t["lon"].iloc[0] == pytest.approx(109 + 51.0 / 60)
    assert t["altitude_m"].iloc[0] == 820.5
    assert t["speed_kmh"].iloc[0] == pytest.approx(1.5 * 1.852)
    assert t["accuracy_m"].iloc[0] == pytest.approx(1.2 * nmea.UERE_M)


def test_nmea_checksum():
    assert checksum_ok("$GPVTG,0.00,T,,,0.00,N,0.00,K,A*70")
    assert not checksum_ok("$GPVTG,0.00,T,,,0.00,N,0.00,K,A*71")


def test_nmea_without_any_date_quarantines_fixes_with_the_fix(tmp_path):
    body = "GPGGA,101500.00,0726.40000,S,10951.00000,E,1,09,1.2,820.5,M,20.1,M,,"
    c = 0
    for ch in body:
        c ^= ord(ch)
    p = tmp_path / "gga_only.log"
    p.write_text(f"${body}*{c:02X}\n")
    r = read_all(nmea.READER, p)
    assert reasons(r) == {"no_date": 1}
    assert "RMC" in r["rejects"][0].message


def test_nmea_day_rolls_over_at_midnight(tmp_path):
    def s(body):
        c = 0
        for ch in body:
            c ^= ord(ch)
        return f"${body}*{c:02X}"
    lines = [s("GPRMC,235959.00,A,0726.40000,S,10951.00000,E,0.0,0.0,300424,,,A"),
             s("GPGGA,000000.00,0726.40000,S,10951.00000,E,1,09,1.2,820.5,M,20.1,M,,")]
    p = tmp_path / "midnight.log"
    p.write_text("\n".join(lines) + "\n")
    t = read_all(nmea.READER, p)["tracks"]["time"]
    assert list(t) == [pd.Timestamp("2024-04-30T23:59:59Z"), pd.Timestamp("2024-05-01T00:00:00Z")]
