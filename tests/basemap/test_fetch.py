"""``surveyor basemap fetch`` against a loopback Overpass server (http.server on 127.0.0.1) that
replays a recorded answer, or fails the ways real servers fail."""

from __future__ import annotations

import gzip
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from surveyor.acquire import overpass
from surveyor.ingest.basemap import KEYS
from surveyor.store import open_store

from . import count
from .conftest import OVERPASS
from .village import bounds, village


class Replay:
    """A loopback server answering every POST with the configured status, body and delay."""

    def __init__(self) -> None:
        self.status, self.body, self.content_type, self.delay_s = 200, b"{}", "application/json", 0.0
        self.requests: list[dict] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's name
                length = int(self.headers.get("Content-Length", 0))
                replay.requests.append({"path": self.path, "headers": dict(self.headers),
                                        "body": self.rfile.read(length).decode()})
                if replay.delay_s:
                    time.sleep(replay.delay_s)
                self.send_response(replay.status)
                self.send_header("Content-Type", replay.content_type)
                self.send_header("Content-Length", str(len(replay.body)))
                self.end_headers()
                self.wfile.write(replay.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/interpreter"

    def answer(self, status: int, body: bytes | str, content_type: str = "application/json", delay_s: float = 0.0):
        self.status, self.content_type, self.delay_s = status, content_type, delay_s
        self.body = body.encode() if isinstance(body, str) else body

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    s = Replay()
    yield s
    s.close()


def _fetch(invoke, db, config, url, *extra):
    return invoke("basemap", "fetch", "--overpass-url", url, "--db", db, "--config", config, *extra)


@pytest.mark.realdata
def test_fetch_stores_the_recorded_answer(server, osm_dir, make_survey, invoke):
    recorded = gzip.decompress((osm_dir / OVERPASS).read_bytes())
    server.answer(200, recorded)
    elements = count.from_overpass(osm_dir / OVERPASS)
    lons = [n[0] for n in elements.nodes.values()]
    lats = [n[1] for n in elements.nodes.values()]
    area = (min(lons), min(lats), max(lons), max(lats))
    db, config = make_survey("oakland", area)
    r = _fetch(invoke, db, config, server.url)
    assert r.exit_code == 0, r.output
    assert "287 roads and paths" in r.stdout
    with open_store(db) as store:
        assert count.stored(store) == count.expected(elements, __import__("shapely").box(*area).buffer(0.05))
        meta = store.get_meta("basemap")
    assert meta["source"] == server.url and meta["format"] == "overpass-json"
    assert meta["data_timestamp"] == "2017-10-20T23:54:02Z"
    assert meta["attribution"] == "© OpenStreetMap contributors, ODbL 1.0"
    # One request, naming surveyor, with the query for the area's box plus the 2 km buffer.
    (req,) = server.requests
    assert req["path"] == "/api/interpreter"
    assert req["headers"]["User-Agent"].startswith("surveyor/")
    query = parse_qs(req["body"])["data"][0]
    assert query.startswith("[out:json]") and "out body;" in query and ">;" in query
    boxes = {tuple(map(float, b.split(","))) for b in re.findall(r"\(([-\d.]+,[-\d.]+,[-\d.]+,[-\d.]+)\)", query)}
    (south, west, north, east), = boxes
    assert west < area[0] and south < area[1] and east > area[2] and north > area[3]
    assert (area[1] - south) * 111_320 == pytest.approx(2000, rel=0.01)


def test_fetch_of_the_village_in_out_geom_form(server, make_survey, invoke):
    v, want = village()
    server.answer(200, v.overpass_geom())
    db, config = make_survey("village", bounds(v))
    r = _fetch(invoke, db, config, server.url, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["counts"] == {k: len(x) for k, x in want.items()}
    with open_store(db) as store:
        assert count.stored(store) == want


@pytest.fixture
def village_survey(tmp_path, make_survey, invoke):
    """A survey with a basemap imported from a file; returns (db, config, what it holds)."""
    v, _ = village()
    db, config = make_survey("village", bounds(v))
    path = tmp_path / "v.osm"
    path.write_text(v.xml(), encoding="utf-8")
    assert invoke("basemap", "import", str(path), "--db", db, "--config", config).exit_code == 0
    with open_store(db) as store:
        return db, config, (count.stored(store), store.get_meta("basemap"))


OVERPASS_429 = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html><html><head><title>OSM3S Response</title></head><body>
<p><strong style="color:#FF0000">Error</strong>: runtime error: open64: 0 Success /osm3s_v0.7.61_osm_base
Dispatcher_Client::request_read_and_idx::rate_limited. Please check /api/status for the quota of your IP address.</p>
</body></html>"""
OVERPASS_504 = "<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>"
OVERPASS_REMARK = json.dumps({"version": 0.6, "generator": "Overpass API 0.7.61",
                              "osm3s": {"timestamp_osm_base": "2026-01-01T00:00:00Z"},
                              "elements": [{"type": "node", "id": 1, "lat": -7.44, "lon": 109.85,
                                            "tags": {"place": "hamlet", "name": "Krajan"}}],
                              "remark": "runtime error: Query timed out in \"recurse\" at line 13 after 151 seconds."})


@pytest.mark.parametrize("status, body, content_type, expect", [
    (429, OVERPASS_429, "text/html", "too many queries from this address (HTTP 429)"),
    (504, OVERPASS_504, "text/html", "overloaded or timed out (HTTP 504"),
    (200, OVERPASS_REMARK, "application/json", "runtime error: Query timed out"),
    (200, "<html><body>Captive portal: log in to the village Wi-Fi</body></html>", "text/html",
     "answered with a web page instead of OpenStreetMap data"),
    (400, "<html><body><p><strong>Error</strong>: line 1: parse error</p></body></html>", "text/html",
     "refused the query (HTTP 400): Error : line 1: parse error"),
])
def test_server_errors_change_nothing(server, village_survey, invoke, status, body, content_type, expect):
    db, config, before = village_survey
    server.answer(status, body, content_type)
    r = _fetch(invoke, db, config, server.url)
    assert r.exit_code == 1, r.output
    assert expect in r.stderr
    assert server.url in r.stderr and "Traceback" not in r.output
    with open_store(db) as store:
        assert (count.stored(store), store.get_meta("basemap")) == before


def test_unreachable_and_slow_servers(server, village_survey, invoke):
    db, config, before = village_survey
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/api/interpreter"
    r = _fetch(invoke, db, config, closed)
    assert r.exit_code == 1 and "Cannot reach the Overpass server" in r.stderr
    assert "basemap import FILE" in r.stderr
    v, _ = village()
    server.answer(200, v.overpass(), delay_s=3)
    started = time.monotonic()
    r = _fetch(invoke, db, config, server.url, "--timeout", "1")
    assert r.exit_code == 1 and "did not answer within 1 s" in r.stderr
    assert time.monotonic() - started < 3
    with open_store(db) as store:
        assert (count.stored(store), store.get_meta("basemap")) == before


def test_bad_url_is_a_usage_error(village_survey, invoke):
    db, config, _ = village_survey
    r = _fetch(invoke, db, config, "ftp://example.org/overpass")
    assert r.exit_code == 2 and "is not an http:// or https:// URL" in r.stderr


def test_the_query_asks_for_every_key_the_layers_use():
    query = overpass.build_query(-7.46, 109.83, -7.42, 109.88)
    for key in KEYS:
        assert f'["{key}"' in query, key
    assert query.count("(-7.460000,109.830000,-7.420000,109.880000)") == len(overpass.SELECTORS)
    with pytest.raises(ValueError):
        overpass.build_query(-7.42, 109.83, -7.46, 109.88)  # south above north
