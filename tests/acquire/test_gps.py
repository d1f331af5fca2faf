"""GPS sources: NMEA parsing (own fixture and real captures), gpsd through gpsfake, termux, specs."""

from __future__ import annotations

import json
import time

import pytest

from surveyor.acquire import gps
from surveyor.acquire.gps import Fix, GpsError, NmeaGps, open_gps, parse_gpsd_line, parse_nmea, parse_termux_location
from surveyor.errors import InvalidRequest

from .conftest import DATA, TERMUX_LOCATION, shared_path


def test_own_fixture_starts_without_fix_then_walks_west():
    events = parse_nmea((DATA / "lipursari.nmea").read_text())
    assert events[:3] == [False, False, False]
    fixes = [e for e in events if isinstance(e, Fix)]
    assert len(fixes) == 8
    assert fixes[0].lat == pytest.approx(-7.4372, abs=1e-5)
    assert fixes[0].lon == pytest.approx(109.858, abs=1e-5)
    assert fixes[-1].lon < fixes[0].lon  # west
    assert fixes[0].accuracy_m == pytest.approx(4.5) and fixes[0].altitude_m == pytest.approx(612.4)
    # RMC speed 2.72 kn reaches the next GGA fix as km/h.
    assert fixes[1].speed_kmh == pytest.approx(2.72 * 1.852, abs=0.01)


def test_bad_checksum_is_line_noise_not_a_fix():
    good = "$GPGGA,031503.00,0726.2320,S,10951.4800,E,1,08,0.9,612.4,M,13.1,M,,*76"
    assert isinstance(parse_nmea(good)[0], Fix)
    assert parse_nmea(good[:-2] + "00") == []
    assert parse_nmea("garbage\n$GPGGA,,,\n") == []


def test_real_capture_haicom_starts_without_fix():
    text = shared_path("nmea", "haicom-305N.log").read_text(errors="replace")
    events = parse_nmea(text)
    first_fix = next(i for i, e in enumerate(events) if isinstance(e, Fix))
    assert first_fix > 0 and all(e is False for e in events[:first_fix])
    fix = events[first_fix]
    assert fix.lat == pytest.approx(-27.21, abs=0.01) and fix.lon == pytest.approx(153.05, abs=0.01)


@pytest.mark.parametrize("name, lat, lon", [("mt3339.log", 44.069, -121.314), ("neo-m8n.log", 44.069, -121.314)])
def test_real_captures_gp_and_gn_talkers(name, lat, lon):
    fixes = [e for e in parse_nmea(shared_path("nmea", name).read_text(errors="replace")) if isinstance(e, Fix)]
    assert len(fixes) > 10
    assert fixes[0].lat == pytest.approx(lat, abs=0.01) and fixes[0].lon == pytest.approx(lon, abs=0.01)


def test_gpsd_tpv_parsing():
    f = parse_gpsd_line('{"class":"TPV","mode":3,"lat":-7.43,"lon":109.85,"altMSL":600.0,"eph":4.655,"speed":1.5}')
    assert (f.lat, f.lon, f.altitude_m, f.accuracy_m, f.speed_kmh) == (-7.43, 109.85, 600.0, 4.7, 5.4)
    assert parse_gpsd_line('{"class":"TPV","mode":1}') is False
    assert parse_gpsd_line('{"class":"SKY"}') is None
    assert parse_gpsd_line("not json") is None


def test_termux_location_and_its_errors():
    fix = parse_termux_location(json.dumps(TERMUX_LOCATION))
    assert (fix.lat, fix.lon, fix.accuracy_m) == (-7.4371, 109.8579, 4.8)
    assert fix.speed_kmh == pytest.approx(4.5)
    with pytest.raises(GpsError, match="Failed to get location"):
        parse_termux_location('{\n  "API_ERROR": "Failed to get location"\n}')
    with pytest.raises(GpsError):
        parse_termux_location("")


def test_termux_location_real_formats():
    fix = parse_termux_location(shared_path("formats", "termux", "termux-location.json").read_text())
    assert fix.lat == pytest.approx(-7.4372154) and fix.accuracy_m == pytest.approx(3.9)
    with pytest.raises(GpsError):
        parse_termux_location(shared_path("formats", "termux", "termux-location_error.json").read_text())


def test_termux_source_survives_api_error_and_a_hang(fake_bin):
    src = gps.TermuxGps(poll_s=0.1, timeout_s=0.5, max_age_s=2)
    src.backoff_max_s = 0.2
    fake_bin.set("termux-location", {"API_ERROR": "Failed to get location"})
    src.start()
    try:
        time.sleep(0.6)
        assert src.current() is None and "Failed to get location" in (src.error or "")
        fake_bin.set("termux-location", TERMUX_LOCATION, sleep_s=5)  # hangs past the timeout
        time.sleep(1.2)
        assert src.current() is None and "no answer" in (src.error or "")
        (fake_bin.path / "termux-location.sleep").unlink()
        deadline = time.monotonic() + 5
        while src.current() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert src.current().lat == -7.4371
    finally:
        src.close()


def test_nmea_file_followed_and_a_receiver_that_stops_goes_stale(tmp_path):
    path = tmp_path / "live.nmea"
    lines = (DATA / "lipursari.nmea").read_text().splitlines()
    path.write_text("\n".join(lines[:4]) + "\n")  # comments + no-fix sentences
    src = NmeaGps(str(path), max_age_s=0.8)
    src.start()
    try:
        time.sleep(0.5)
        assert src.current() is None
        with open(path, "a") as f:
            f.write("\n".join(lines[8:12]) + "\n")  # fixes arrive
        deadline = time.monotonic() + 3
        while src.current() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert src.current() is not None
        time.sleep(1.2)  # the receiver stopped talking: its last position must not be reused
        assert src.current() is None
    finally:
        src.close()


def test_gpsd_through_gpsfake_with_own_fixture(gpsfake):
    port, _ = gpsfake(DATA / "lipursari.nmea", cycle_s=0.1)
    src = open_gps(f"gpsd://127.0.0.1:{port}")
    src.start()
    try:
        deadline = time.monotonic() + 15
        fix = None
        while fix is None and time.monotonic() < deadline:
            fix = src.current()
            time.sleep(0.1)
        assert fix is not None
        assert fix.lat == pytest.approx(-7.4372, abs=1e-4) and fix.lon == pytest.approx(109.858, abs=1e-3)
    finally:
        src.close()


def test_gpsd_lost_mid_walk_gives_no_fix_and_reconnects(gpsfake):
    log = shared_path("nmea", "mt3339.log")
    port, proc = gpsfake(log, cycle_s=0.1)
    src = gps.GpsdGps("127.0.0.1", port, max_age_s=1.0)
    src.backoff_max_s = 0.5
    src.start()
    try:
        deadline = time.monotonic() + 15
        while src.current() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert src.current().lat == pytest.approx(44.07, abs=0.01)
        import os
        import signal as sg
        os.killpg(proc.pid, sg.SIGTERM)
        proc.wait(10)
        time.sleep(2.0)
        assert src.current() is None
        assert src.error is not None
    finally:
        src.close()


@pytest.mark.parametrize("spec, cls", [("none", gps.NoGps), ("gpsd", gps.GpsdGps),
                                       ("gpsd://10.0.0.2:3000", gps.GpsdGps), ("nmea:/dev/ttyACM0@9600", gps.NmeaGps),
                                       ("termux", gps.TermuxGps), ("fixed:-7.437,109.858", gps.FixedGps)])
def test_open_gps_specs(spec, cls):
    src = open_gps(spec)
    assert isinstance(src, cls)
    if spec == "gpsd://10.0.0.2:3000":
        assert (src.host, src.port) == ("10.0.0.2", 3000)
    if spec.startswith("nmea"):
        assert (src.path, src.baud) == ("/dev/ttyACM0", 9600)


@pytest.mark.parametrize("spec", ["gps", "fixed:abc", "fixed:-95,10", "nmea:", "gpsd://host:port"])
def test_open_gps_bad_specs_are_usage_errors(spec):
    with pytest.raises(InvalidRequest):
        open_gps(spec)
