"""The field companion of `surveyor log --web` without a browser: signal classes, targets files,
distance and direction, the snapshot the page reads, the HTTP server, and the command line."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from surveyor.acquire import web
from surveyor.acquire.targets import Target, read_targets
from surveyor.acquire.web import CompanionError, CompanionServer, Snapshot, read_today, signal_class
from surveyor.errors import InputError
from surveyor.geo.bearing import bearing_deg, compass

from .conftest import free_port, read_journal, run_cli

LAT0, LON0 = -7.4371, 109.8579


def sig(op="Telkomsel", rsrp=-99.0, lat=LAT0, lon=LON0, t=None, **extra) -> dict:
    s = {"kind": "signal", "operator": op, "tech": "LTE", "service": "in_service", "rsrp_dbm": rsrp,
         "lat": lat, "lon": lon, "accuracy_m": 4.0,
         "time": (t or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    s.update(extra)
    return {k: v for k, v in s.items() if v is not None}


def north(m: float) -> float:
    return m / 111_195.0


# ---------------------------------------------------------------------------------------------
# Signal classes and plain geodesy


@pytest.mark.parametrize("sample, expected", [
    ({"tech": "LTE", "service": "in_service", "rsrp_dbm": -85.0}, "excellent"),
    ({"tech": "LTE", "service": "in_service", "rsrp_dbm": -85.1}, "good"),
    ({"tech": "LTE", "service": "in_service", "rsrp_dbm": -95.0}, "good"),
    ({"tech": "LTE", "service": "in_service", "rsrp_dbm": -104.9}, "fair"),
    ({"tech": "LTE", "service": "in_service", "rsrp_dbm": -115.0}, "poor"),
    ({"tech": "LTE", "service": "in_service", "rsrp_dbm": -115.5}, "none"),
    # 5G non-standalone: the better of the LTE anchor and NR
    ({"tech": "NR", "service": "in_service", "rsrp_dbm": -118.0, "nr_rsrp_dbm": -90.0}, "good"),
    ({"tech": "UMTS", "service": "in_service", "rscp_dbm": -70.0}, "2g3g"),
    ({"tech": "GSM", "service": "in_service", "rssi_dbm": -60.0}, "2g3g"),
    ({"tech": "NONE", "service": "no_service"}, "nosignal"),
    ({"service": "no_service"}, "nosignal"),
    ({"service": "unknown"}, "unknown"),
    ({"tech": "LTE", "service": "in_service"}, "unknown"),
    ({"kind": "manual", "service": "in_service", "level": 4}, "excellent"),
    ({"kind": "manual", "service": "in_service", "level": 2}, "fair"),
    ({"kind": "manual", "service": "in_service", "level": 1}, "none"),
    ({"kind": "manual", "service": "no_service"}, "nosignal"),
    ({"kind": "speed", "test": "ok"}, None),
])
def test_signal_class_follows_the_4g_rule(sample, expected):
    assert signal_class(sample) == expected


def test_every_class_has_a_distinct_colour_and_the_shared_ones_match_the_coverage_map():
    from surveyor.render.style import CLASS_BY_KEY

    colours = {key: colour for key, _, colour, _ in web.SIGNAL_CLASSES}
    assert len(set(colours.values())) == len(colours)
    # Usable 4G, mixed or weak, no usable 4G, not known: the coverage map's colours.
    assert colours["excellent"] == CLASS_BY_KEY["covered"].colour
    assert colours["poor"] == CLASS_BY_KEY["marginal"].colour
    assert colours["none"] == CLASS_BY_KEY["dead"].colour
    assert colours["unknown"] == CLASS_BY_KEY["insufficient"].colour


@pytest.mark.parametrize("dlat, dlon", [(0.001, 0.0), (0.001, 0.001), (0.0, 0.002), (-0.003, 0.001),
                                        (-0.002, -0.002), (0.0004, -0.003), (0.02, 0.03)])
def test_distance_and_bearing_agree_with_the_ellipsoid(dlat, dlon):
    from pyproj import Geod

    from surveyor.acquire.logger import haversine_m

    az, _, dist = Geod(ellps="WGS84").inv(LON0, LAT0, LON0 + dlon, LAT0 + dlat)
    # A sphere is within about 0.6% of the ellipsoid: a few metres in a village, plenty for walking.
    assert haversine_m(LAT0, LON0, LAT0 + dlat, LON0 + dlon) == pytest.approx(dist, rel=0.007)
    b = bearing_deg(LAT0, LON0, LAT0 + dlat, LON0 + dlon)
    assert abs((b - az % 360 + 180) % 360 - 180) < 0.5


@pytest.mark.parametrize("bearing, word", [(0, "north"), (22.4, "north"), (22.6, "north-east"), (45, "north-east"),
                                           (90, "east"), (135, "south-east"), (180, "south"), (225, "south-west"),
                                           (269, "west"), (315, "north-west"), (337.6, "north"), (359.9, "north"),
                                           (-45, "north-west"), (405, "north-east")])
def test_compass_words(bearing, word):
    assert compass(bearing) == word


# ---------------------------------------------------------------------------------------------
# Targets files


def revisit_gpx(tmp_path: Path, rows: list[tuple]) -> Path:
    """The GPX `surveyor revisit --format gpx` writes (its own writer), for (operator, h3, lat, lon)."""
    import pandas as pd

    from surveyor.outputs.zones import to_gpx

    cells = pd.DataFrame([{"operator": op, "h3": h3, "lat": lat, "lon": lon, "dusun": "Krajan <&>",
                           "samples_effective": 2, "sessions": 1, "needs": "another session 4 h later"}
                          for op, h3, lat, lon in rows])
    path = tmp_path / "revisit.gpx"
    path.write_text(to_gpx(cells), encoding="utf-8")
    return path


def test_revisit_gpx_waypoints_become_targets_one_per_place(tmp_path):
    path = revisit_gpx(tmp_path, [("Telkomsel", "8a65a1234567fff", -7.4301, 109.8602),
                                  ("Indosat", "8a65a1234567fff", -7.4301, 109.8602),
                                  ("Indosat", "8a65a12345a7fff", -7.4410, 109.8550)])
    targets = read_targets(path)
    assert targets == [Target("Telkomsel 8a65a1234567fff; Indosat 8a65a1234567fff", -7.4301, 109.8602),
                       Target("Indosat 8a65a12345a7fff", -7.441, 109.855)]


def test_gpx_route_points_and_unnamed_waypoints(tmp_path):
    path = tmp_path / "t.gpx"
    path.write_text('<?xml version="1.0"?>\n<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">\n'
                    '<wpt lat="-7.1" lon="109.1"/>\n<rte><rtept lat="-7.2" lon="109.2"><name> Pos\n 2 </name>'
                    '</rtept></rte>\n<trk><trkseg><trkpt lat="-7.3" lon="109.3"/></trkseg></trk>\n</gpx>\n')
    assert read_targets(path) == [Target("target 1", -7.1, 109.1), Target("Pos 2", -7.2, 109.2)]


def test_geojson_points_and_polygon_centres(tmp_path, caplog):
    import shapely.geometry

    square = [[109.85, -7.44], [109.852, -7.44], [109.852, -7.438], [109.85, -7.438], [109.85, -7.44]]
    ell = [[109.86, -7.43], [109.864, -7.43], [109.864, -7.429], [109.861, -7.429], [109.861, -7.426],
           [109.86, -7.426], [109.86, -7.43]]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Sawah"},
         "geometry": {"type": "Point", "coordinates": [109.86, -7.43]}},
        {"type": "Feature", "properties": {"zone_id": "DZ-TSEL-01"},
         "geometry": {"type": "Polygon", "coordinates": [square]}},
        {"type": "Feature", "properties": {"operator": "Indosat", "h3": "8a65"},
         "geometry": {"type": "Polygon", "coordinates": [ell]}},
        {"type": "Feature", "properties": {},
         "geometry": {"type": "LineString", "coordinates": [[109.8, -7.4], [109.9, -7.5]]}},
        {"type": "Feature", "properties": None, "geometry": None},
    ]}
    path = tmp_path / "t.geojson"
    path.write_text(json.dumps(fc))
    with caplog.at_level(logging.WARNING):
        targets = read_targets(path)
    assert [t.name for t in targets] == ["Sawah", "DZ-TSEL-01", "Indosat 8a65"]
    for t, ring in zip(targets[1:], (square, ell)):
        c = shapely.geometry.Polygon(ring).centroid
        assert (t.lon, t.lat) == (pytest.approx(c.x, abs=1e-9), pytest.approx(c.y, abs=1e-9))
    assert "2 feature(s) that are not points or polygons" in caplog.text and str(path) in caplog.text


@pytest.mark.parametrize("name, content, message, line", [
    ("cut.gpx", '<?xml version="1.0"?>\n<gpx version="1.1">\n<wpt lat="-7.1" lon="109.1">\n<name>A</na',
     "not well-formed", 4),
    ("dtd.gpx", '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaa">]><gpx><wpt lat="1" lon="2"/></gpx>',
     "DOCTYPE", None),
    ("kml.gpx", '<?xml version="1.0"?>\n<kml><Placemark/></kml>', "not GPX", 2),
    ("empty.gpx", '<gpx version="1.1"><trk><trkseg><trkpt lat="1" lon="2"/></trkseg></trk></gpx>', "no waypoints",
     None),
    ("swapped.gpx", '<gpx>\n\n<wpt lat="109.86" lon="-7.43"/></gpx>', "no usable position", 3),
    ("nolat.gpx", '<gpx>\n<wpt lon="109.86"/></gpx>', "no usable position", 2),
    ("cut.geojson", '{"type": "FeatureCollection",\n "features": [\n {"type": "Feature", ', "not valid JSON", 3),
    ("plain.json", '{"rows": [1, 2]}', "not GeoJSON", None),
    ("lines.geojson", '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
     '"geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}}]}', "no points or polygons", None),
    ("bad.geojson", '{"type": "Feature", "geometry": {"type": "Point", "coordinates": ["x"]}}', "malformed", None),
    ("far.geojson", '{"type": "Point", "coordinates": [200, 10]}', "no usable position", None),
    ("notes.txt", "lat,lon\n-7.4,109.8\n", "neither GPX nor GeoJSON", None),
])
def test_broken_targets_files_are_clear_messages_naming_the_file(tmp_path, name, content, message, line):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError) as err:
        read_targets(path)
    text = str(err.value)
    assert text.startswith(f"{path}:{line}: " if line else f"{path}: ") and message in text
    assert err.value.fix  # says what to do


def test_missing_targets_file(tmp_path):
    with pytest.raises(InputError, match="cannot be read"):
        read_targets(tmp_path / "nowhere.gpx")


# ---------------------------------------------------------------------------------------------
# The snapshot


def test_dual_sim_round_is_one_point_and_walking_adds_points():
    snap = Snapshot()
    for i in range(5):
        lat = LAT0 + north(10 * i)
        snap.add(sig("Telkomsel", -99, lat=lat))
        snap.add(sig("Indosat", -116, lat=lat))
    st = snap.state()
    assert st["full"] and st["seq"] == 10 and st["counts"]["signal"] == 10
    assert [p[3] for p in st["track"]] == [{"Telkomsel": "fair", "Indosat": "none"}] * 5
    assert [p[4] for p in st["track"]] == [1, 0, 0, 0, 0]  # one line
    assert [(s["operator"], s["value"], s["class"]) for s in st["signals"]] == [
        ("Indosat", "-116 dBm", "none"), ("Telkomsel", "-99 dBm", "fair")]
    assert st["fix"]["current"] and st["fix"]["lat"] == pytest.approx(LAT0 + north(40))


def test_standing_still_updates_the_last_point_and_pauses_and_jumps_break_the_line():
    snap = Snapshot()
    t0 = dt.datetime(2026, 7, 14, 2, 0, tzinfo=dt.UTC)
    snap.add(sig(rsrp=-90, t=t0))
    snap.add(sig(rsrp=-120, lat=LAT0 + north(1), t=t0 + dt.timedelta(seconds=1)))  # GPS jitter
    snap.add(sig(lat=LAT0 + north(20), t=t0 + dt.timedelta(seconds=20)))
    snap.add(sig(lat=LAT0 + north(40), t=t0 + dt.timedelta(seconds=200)))  # after a long pause
    snap.add(sig(lat=LAT0 + north(900), t=t0 + dt.timedelta(seconds=210)))  # a jump
    track = snap.state()["track"]
    assert [p[3]["Telkomsel"] for p in track] == ["none", "fair", "fair", "fair"]
    assert [p[4] for p in track] == [1, 0, 1, 1]


def test_a_sample_without_operator_speaks_for_every_sim_and_no_fix_is_counted():
    snap = Snapshot()
    snap.add(sig("Telkomsel", -99))
    snap.add({"kind": "signal", "tech": "NONE", "service": "no_service", "lat": LAT0 + north(30), "lon": LON0,
              "time": "2026-07-14T02:00:00.000Z"})
    snap.add({"kind": "signal", "service": "no_service", "tech": "NONE", "no_fix": True,
              "time": "2026-07-14T02:00:01.000Z"})
    st = snap.state()
    assert st["track"][-1][3] == {"*": "nosignal"}
    assert [(s["operator"], s["class"]) for s in st["signals"]] == [(None, "nosignal")]
    assert st["counts"]["no_fix"] == 1 and st["fix"]["current"] is False


def test_speed_tests_are_counted_with_failures_by_the_4g_floor():
    snap = Snapshot()
    snap.add({"kind": "speed", "test": "ok", "download_mbps": 12.0, "upload_mbps": 3.0, "lat": LAT0, "lon": LON0})
    snap.add({"kind": "speed", "test": "ok", "download_mbps": 2.0, "upload_mbps": 3.0, "lat": LAT0, "lon": LON0})
    snap.add({"kind": "speed", "test": "failed", "no_fix": True})
    st = snap.state()
    assert st["counts"] == {"samples": 3, "signal": 0, "speed": 3, "speed_failed": 2, "no_fix": 1}
    assert st["speed"]["test"] == "failed" and st["track"] == []


def test_state_since_a_sequence_number_gives_only_what_changed():
    snap = Snapshot()
    snap.add(sig(lat=LAT0))
    first = snap.state()
    snap.add(sig("Indosat", -116, lat=LAT0))  # same place: the last point changes
    snap.add(sig(lat=LAT0 + north(10)))
    later = snap.state(first["seq"], first["gen"])
    assert not later["full"] and "targets" not in later
    assert [p[0] for p in later["track"]] == [first["track"][0][0], first["track"][0][0] + 1]
    assert later["track"][0][3] == {"Telkomsel": "fair", "Indosat": "none"}
    assert snap.state(later["seq"], later["gen"])["track"] == []
    # Another run of the logger, or a sequence number from the future: everything again.
    assert snap.state(later["seq"], "other.0")["full"] and snap.state(99, later["gen"])["full"]


def test_a_long_walk_is_thinned_within_bounds_keeping_colour_changes():
    snap = Snapshot(max_points=400, keep_recent=100)
    classes = []
    t0 = dt.datetime(2026, 7, 14, 2, 0, tzinfo=dt.UTC)
    for i in range(5000):
        rsrp = -99 if (i // 250) % 2 == 0 else -112  # fair and poor stretches of 250 points
        classes.append("fair" if rsrp == -99 else "poor")
        snap.add(sig(rsrp=rsrp, lat=LAT0 + north(5 * i), t=t0 + dt.timedelta(seconds=i)))
        assert len(snap._points) <= 400
    st = snap.state()
    track = st["track"]
    ids = [p[0] for p in track]
    assert ids == sorted(ids) and ids[-100:] == list(range(4900, 5000))  # the recent part whole
    # Every change of colour along the walk is still there, at the same point: the last point of
    # the old colour is kept, and the line from it on has the new colour.
    changes = [i for i in range(1, 5000) if classes[i] != classes[i - 1]]
    kept = {p[0]: p[3]["Telkomsel"] for p in track}
    for i in changes:
        assert kept.get(i - 1) == classes[i - 1]
        assert kept[min(k for k in kept if k > i - 1)] == classes[i]
    assert st["gen"] != Snapshot().gen and st["gen"].endswith(str(snap._version)) and snap._version > 1


def test_thinning_holds_the_bound_even_when_every_point_changes_colour():
    snap = Snapshot(max_points=200, keep_recent=50)
    for i in range(3000):
        snap.add(sig(rsrp=-80 if i % 2 else -120, lat=LAT0 + north(5 * i)))
        assert len(snap._points) <= 200


def test_targets_visited_on_the_way_and_the_nearest_is_the_next_one():
    a, b = Target("A", LAT0 + north(100), LON0), Target("B", LAT0 + north(300), LON0)
    snap = Snapshot([b, a])
    st = snap.state()
    assert st["nearest"] is None and st["targets"] == [["B", b.lat, b.lon], ["A", a.lat, a.lon]]
    snap.add(sig(lat=LAT0))
    n = snap.state()["nearest"]
    assert (n["name"], n["direction"], n["distance_m"]) == ("A", "north", pytest.approx(100, abs=0.5))
    snap.add(sig(lat=LAT0 + north(75)))  # 25 m from A: inside its cell
    st = snap.state()
    assert st["visited"] == [1] and st["targets_visited"] == 1
    assert st["nearest"]["name"] == "B" and st["nearest"]["distance_m"] == pytest.approx(225, abs=0.5)
    # A fix with poor accuracy next to B does not count as a visit.
    snap.add(sig(lat=LAT0 + north(300), accuracy_m=80.0))
    assert snap.state()["visited"] == [1]


def test_todays_earlier_lines_of_the_journal_come_first(tmp_path):
    journal = tmp_path / "walk.jsonl"
    day = dt.datetime(2026, 7, 14, 0, 0, tzinfo=dt.UTC)
    lines = [sig(lat=LAT0 + north(i), t=day - dt.timedelta(minutes=30) + dt.timedelta(seconds=i)) for i in range(3)]
    lines += [sig(lat=LAT0 + north(10 * i), t=day + dt.timedelta(hours=1, seconds=i)) for i in range(4)]
    lines.insert(4, {"kind": "speed", "test": "ok", "download_mbps": 9.0, "upload_mbps": 2.0, "no_fix": True,
                     "time": (day + dt.timedelta(hours=1, seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    text = "".join(json.dumps(x) + "\n" for x in lines) + '{"broken line\n'
    journal.write_text(text)
    end = len(text.encode())
    journal.write_text(text + json.dumps(sig(lat=LAT0 + north(500))) + "\n")  # this run's, not history
    today = read_today(journal, end, day_start_s=day.timestamp())
    assert len(today) == 5 and today[0]["lat"] == LAT0
    snap = Snapshot()
    snap.add(sig(lat=LAT0 + north(200), t=day + dt.timedelta(hours=2)))
    gen = snap.gen
    assert snap.add_history(today) == 5
    st = snap.state(snap.seq, gen)
    assert st["full"] and st["counts"]["signal"] == 5 and st["counts"]["speed"] == 1
    assert [p[0] for p in st["track"]] == [-4, -3, -2, -1, 0] and [p[4] for p in st["track"]] == [1, 0, 0, 0, 1]
    assert st["signals"][0]["value"] == "-99 dBm" and st["fix"]["lat"] == pytest.approx(LAT0 + north(200))
    # Only the end of a large journal is read.
    assert len(read_today(journal, end, day_start_s=day.timestamp(), max_bytes=len(json.dumps(lines[-1])) + 40)) == 1


def test_snapshot_is_safe_to_read_while_the_logger_writes():
    snap = Snapshot([Target("A", LAT0 + north(3000), LON0)], max_points=300, keep_recent=50)
    stop = threading.Event()
    errors = []

    def reader():
        seq, gen, points = -1, "", {}
        while not stop.is_set():
            try:
                st = snap.state(seq, gen)
                if st["full"]:
                    points = {}
                points.update({p[0]: p for p in st["track"]})
                seq, gen = st["seq"], st["gen"]
                json.dumps(st)
            except Exception as exc:  # collected and reported
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(3000):
        snap.add(sig(rsrp=-90 - (i % 30), lat=LAT0 + north(5 * i)))
    stop.set()
    for t in threads:
        t.join()
    assert errors == []


# ---------------------------------------------------------------------------------------------
# The server


@pytest.fixture
def server():
    snap = Snapshot([Target("A <b>", LAT0 + north(100), LON0)])
    srv = CompanionServer(snap, port=free_port())
    yield srv
    srv.close()


def get(url: str, host: str | None = None):
    req = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_the_page_is_one_document_that_can_fetch_nothing_else(server):
    status, headers, body = get(server.url)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "img-src data:" in csp
    html = body.decode()
    assert "L.map(" in html and ".leaflet-container" in html and "SURVEYOR_COMPANION" in html
    assert "/*LEAFLET_JS*/" not in html and "sourceMappingURL" not in html
    import re

    # No element loads anything from elsewhere (Leaflet's own code mentions its web site in strings).
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", html, re.I)


def test_state_as_json_and_what_is_refused(server):
    server.snapshot.add(sig())
    status, headers, body = get(server.url + "api/state?since=-1")
    st = json.loads(body)
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert st["counts"]["signal"] == 1 and st["targets"] == [["A <b>", pytest.approx(LAT0 + north(100)), LON0]]
    status, _, body = get(server.url + f"api/state?since={st['seq']}&gen={st['gen']}")
    assert json.loads(body)["track"] == []
    assert get(server.url + "api/state?since=x")[0] == 200  # a bad number is a full answer
    assert get(server.url + "favicon.ico")[0] == 404
    # DNS rebinding: a web site's own name pointing at 127.0.0.1 is refused; addresses are not.
    assert get(server.url + "api/state", host=f"evil.example:{server.port}")[0] == 421
    assert get(server.url + "api/state", host=f"localhost:{server.port}")[0] == 200
    req = urllib.request.Request(server.url + "api/state", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 501


def test_a_client_that_hangs_up_does_not_disturb_the_server(server):
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            s.recv(100)  # and go away in the middle of the page
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"GET /api/st")  # half a request
    assert get(server.url + "api/state")[0] == 200


def test_port_in_use_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CompanionError) as err:
            CompanionServer(Snapshot(), port=port)
    assert f"port {port}" in str(err.value) and "--web-port" in str(err.value)


# ---------------------------------------------------------------------------------------------
# The command line


def test_port_in_use_warns_and_logging_goes_on(tmp_path, fake_bin):
    out = tmp_path / "walk.jsonl"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_cli(["log", "--out", str(out), "--gps", "termux", "--signal", "termux", "--interval", "0.1",
                     "--count", "3", "--web", "--web-port", str(port)])
    assert r.returncode == 0, r.stderr
    assert f"port {port}" in r.stderr and "--web-port" in r.stderr and "Traceback" not in r.stderr
    assert "Done." in r.stderr and len(read_journal(out)) == 6


def test_broken_targets_file_warns_and_logging_goes_on(tmp_path, fake_bin):
    out, targets = tmp_path / "walk.jsonl", tmp_path / "revisit.gpx"
    targets.write_text("<gpx><wpt lat='-7.1' lon='109.1'><name>cut")
    port = free_port()
    r = run_cli(["log", "--out", str(out), "--signal", "termux", "--interval", "0.1", "--count", "2",
                 "--web", "--web-port", str(port), "--targets", str(targets)])
    assert r.returncode == 0, r.stderr
    assert f"{targets}:1: is not well-formed" in r.stderr and "Logging goes on" in r.stderr
    assert f"http://127.0.0.1:{port}/" in r.stderr and len(read_journal(out)) == 4


def test_targets_without_web_is_a_usage_error(tmp_path):
    r = run_cli(["log", "--out", str(tmp_path / "j.jsonl"), "--signal", "termux", "--targets", "t.gpx"])
    assert r.returncode == 2 and "add --web" in r.stderr
    r = run_cli(["log", "--out", str(tmp_path / "j.jsonl"), "--signal", "termux", "--web", "--web-port", "0"])
    assert r.returncode == 2 and "--web-port" in r.stderr


def test_logger_serves_what_it_writes(tmp_path, fake_bin):
    from surveyor.acquire.logger import LogOptions, run_logger

    out, port = tmp_path / "walk.jsonl", free_port()
    seen, notices = [], []

    def status(summary, sample):
        if summary.samples == 6:
            seen.append(json.loads(get(f"http://127.0.0.1:{port}/api/state")[2]))

    summary = run_logger(LogOptions(out=str(out), gps="fixed:-7.437,109.858", signal="termux", interval_s=0.05,
                                    count=5, web=True, web_port=port), status=status, notice=notices.append)
    assert summary.web_url == f"http://127.0.0.1:{port}/" and notices == [
        f"Field companion: open http://127.0.0.1:{port}/ in the phone's browser."]
    st = seen[0]
    assert st["counts"]["signal"] == 6 and len(st["track"]) == 1
    assert {s["operator"] for s in st["signals"]} == {"Telkomsel", "Indosat"}
    # The server ends with the logger.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert len(read_journal(out)) == 10
