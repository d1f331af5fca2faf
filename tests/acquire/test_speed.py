"""Speed tests through speedtest-cli's own code and plain HTTP, against loopback servers only."""

from __future__ import annotations

import pytest

from surveyor.acquire.speed import HttpTest, SpeedtestMini, SpeedtestNet, measure_latency_ms, open_speedtest, short_plan
from surveyor.errors import InvalidRequest

KW = {"max_bytes": 2_000_000, "timeout_s": 2.0, "length_s": 2.0}


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch, closed_port_url):
    # Any attempt to reach speedtest.net (or anything not on loopback) would fail loudly.
    dead = closed_port_url.rstrip("/")
    monkeypatch.setenv("http_proxy", dead)
    monkeypatch.setenv("https_proxy", dead)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def test_mini_works_with_no_internet(speed_server):
    r = SpeedtestMini(speed_server.url + "/", **KW).run()
    assert r.test == "ok", r.test_error
    assert r.download_mbps > 0 and r.upload_mbps > 0 and r.latency_ms > 0
    assert not any("speedtest-config" in p for _, p in speed_server.requests)
    # Bytes counted are those the server really sent and received.
    jpgs = sum(1 for m, p in speed_server.requests if p.endswith(".jpg"))
    assert r.bytes_used >= jpgs * speed_server.jpg_bytes + speed_server.uploaded
    assert r.fields()["kind"] == "speed" and r.fields()["test_server"] == speed_server.url + "/"


def test_latency_is_a_full_round_trip_not_speedtest_cli_half(speed_server):
    import speedtest

    speed_server.latency_delay_s = 0.08
    ours = measure_latency_ms(speed_server.url + "/speedtest/latency.txt")
    st = speedtest.Speedtest.__new__(speedtest.Speedtest)  # only get_best_server's timing is used
    st._source_address, st._best = None, {}
    st.results = speedtest.SpeedtestResults()
    best = st.get_best_server([{"url": speed_server.url + "/speedtest/upload.php"}])
    assert ours >= 80
    assert best["latency"] < 0.75 * ours  # the library halves it


def test_speedtest_net_flow_through_proxy_stand_in(speed_server, monkeypatch):
    monkeypatch.setenv("http_proxy", speed_server.url)
    r = SpeedtestNet(4242, secure=False, **KW).run()
    assert r.test == "ok", r.test_error
    assert "Loopback Net" in r.test_server and "4242" in r.test_server
    assert any(p.startswith("www.speedtest.net/speedtest-config.php") for _, p in speed_server.requests)


def test_speedtest_net_is_fetched_securely(speed_server, monkeypatch):
    monkeypatch.setenv("https_proxy", speed_server.url)
    r = SpeedtestNet(**KW).run()
    assert speed_server.connects == ["www.speedtest.net:443"]
    assert r.test == "failed" and "Config" in r.test_error


def test_refused_server_is_a_failed_test(closed_port_url):
    for t in (SpeedtestMini(closed_port_url, **KW), HttpTest(closed_port_url + "file.bin", **KW)):
        r = t.run()
        assert r.test == "failed" and r.test_error and r.bytes_used == 0
        assert r.fields()["test"] == "failed"


def test_hanging_server_fails_after_the_timeout(speed_server):
    import time

    speed_server.mode = "hang"
    start = time.monotonic()
    r = SpeedtestMini(speed_server.url + "/", max_bytes=1_000_000, timeout_s=1.0, length_s=1.0).run()
    assert r.test == "failed" and "timed out" in r.test_error.lower()
    assert time.monotonic() - start < 8


@pytest.mark.parametrize("kind", ["mini", "http"])
def test_server_answering_500_is_a_failed_test(speed_server, kind):
    speed_server.mode = "error500"
    t = (SpeedtestMini(speed_server.url + "/", **KW) if kind == "mini"
         else HttpTest(speed_server.url + "/file.bin", **KW))
    r = t.run()
    assert r.test == "failed" and "500" in r.test_error


def test_mini_whose_downloads_fail_is_failed(speed_server, monkeypatch):
    speed_server.jpg_bytes = 0
    r = SpeedtestMini(speed_server.url + "/", **KW).run()
    assert r.test == "failed" and "no data" in r.test_error


def test_http_test_respects_the_byte_cap(speed_server):
    r = HttpTest(speed_server.url + "/file.bin", max_bytes=1_000_000, timeout_s=2.0, length_s=5.0).run()
    assert r.test == "ok"
    assert 600_000 <= r.bytes_used <= 1_000_000
    assert speed_server.uploaded <= 1_000_000 - 600_000
    assert r.upload_mbps > 0


def test_short_plan_fits_the_cap():
    for cap in (300_000, 1_000_000, 5_000_000, 50_000_000):
        plan = short_plan(cap, 5.0)
        from surveyor.acquire.speed import SPEEDTEST_JPG_BYTES
        dl = sum(SPEEDTEST_JPG_BYTES[s] for s in plan["sizes"]["download"])
        ul = sum(plan["sizes"]["upload"])
        assert plan["threads"] == {"download": 1, "upload": 1}
        if cap >= 1_000_000:
            assert dl + ul <= cap
    # The plan takes as many sizes as fit the download share: one more would not fit.
    from surveyor.acquire.speed import DOWNLOAD_SHARE
    from surveyor.acquire.speed import SPEEDTEST_JPG_BYTES as B
    sizes = short_plan(5_000_000, 5.0)["sizes"]["download"]
    nxt = list(B)[len(sizes)]
    assert sum(B[s] for s in sizes) <= 5_000_000 * DOWNLOAD_SHARE < sum(B[s] for s in sizes) + B[nxt]


def test_specs():
    assert open_speedtest("none") is None
    assert open_speedtest("speedtest:1234").server_id == 1234
    assert open_speedtest("mini:http://10.0.0.1/").url == "http://10.0.0.1/"
    assert open_speedtest("http:http://x/f.bin", max_mb=2).max_bytes == 2_000_000
    for bad in ("fast", "speedtest:abc", "mini:10.0.0.1", "http:"):
        with pytest.raises(InvalidRequest):
            open_speedtest(bad)
