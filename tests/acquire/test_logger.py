"""`surveyor log` end to end: stand-in termux/mmcli tools, gpsfake, a pty modem, loopback speed
servers; no-signal evidence, failed tests, Ctrl-C, disk full, scheduling by distance."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from surveyor.acquire.gps import Fix, GpsSource
from surveyor.acquire.logger import LogOptions, run_logger
from surveyor.acquire.speed import HttpTest
from surveyor.cli import cli

from .conftest import DATA, REPO, read_journal, run_cli, shared_path


def test_phone_walk_end_to_end(tmp_path, fake_bin, speed_server):
    out = tmp_path / "walk.jsonl"
    r = run_cli(["log", "--out", str(out), "--gps", "termux", "--signal", "termux",
                 "--speedtest", f"mini:{speed_server.url}/", "--max-mb", "1", "--interval", "0.3", "--count", "4",
                 "--volunteer", "Ani", "--route", "Krajan loop", "--environment", "vehicle",
                 "--device-model", "Redmi 9A"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""  # messages go to stderr
    assert "Done." in r.stderr and str(out) in r.stderr
    rows = read_journal(out)
    signal_rows = [x for x in rows if x["kind"] == "signal"]
    speed_rows = [x for x in rows if x["kind"] == "speed"]
    assert len(signal_rows) == 8  # 4 rounds x 2 SIMs
    assert {x["operator"] for x in signal_rows} == {"Telkomsel", "Indosat"}
    assert len({x["session"] for x in rows}) == 1 and len({x["device"] for x in rows}) == 1
    assert all(x["environment"] == "vehicle" and x["route"] == "Krajan loop" and x["volunteer"] == "Ani"
               and x["device_model"] == "Redmi 9A" and x["v"] == 1 and x["time"].endswith("Z") for x in rows)
    assert len(speed_rows) == 1 and speed_rows[0]["test"] == "ok"
    assert 0 < speed_rows[0]["bytes_used"] <= 1_000_000
    fixed = [x for x in rows if not x.get("no_fix")]
    assert fixed and all(x["lat"] == -7.4371 and x["gps"] == "termux" for x in fixed)
    assert fake_bin.calls("termux-wake-lock") and fake_bin.calls("termux-wake-unlock")


def test_device_id_is_stable_across_runs(tmp_path, fake_bin):
    out = tmp_path / "walk.jsonl"
    for _ in range(2):
        r = run_cli(["log", "--out", str(out), "--signal", "termux", "--count", "1", "-q"])
        assert r.returncode == 0, r.stderr
    rows = read_journal(out)
    assert len({x["device"] for x in rows}) == 1 and len({x["session"] for x in rows}) == 2
    assert all(x["no_fix"] is True and "lat" not in x for x in rows)  # --gps none


def test_no_signal_is_recorded_sample_after_sample(tmp_path, fake_bin):
    fake_bin.set("termux-telephony-cellinfo", [])
    out = tmp_path / "walk.jsonl"
    r = run_cli(["log", "--out", str(out), "--gps", "fixed:-7.437,109.858", "--signal", "termux",
                 "--interval", "0.1", "--count", "5", "-q"])
    assert r.returncode == 0, r.stderr
    rows = read_journal(out)
    assert len(rows) == 5
    assert all(x["service"] == "no_service" and x["tech"] == "NONE" and x["lat"] == -7.437 for x in rows)


def test_failing_tool_gives_unknown_service_and_is_retried_with_backoff(tmp_path, fake_bin):
    fake_bin.set("termux-telephony-cellinfo", {})
    out = tmp_path / "walk.jsonl"
    r = run_cli(["log", "--out", str(out), "--signal", "termux", "--interval", "0.1", "--count", "30", "-q"])
    assert r.returncode == 0, r.stderr
    rows = read_journal(out)
    assert len(rows) == 30 and all(x["service"] == "unknown" and "operator" not in x for x in rows)
    calls = len(fake_bin.calls("termux-telephony-cellinfo"))
    assert 2 <= calls < 10  # back-off 1, 2, 4 s: not hammered every 0.1 s


def test_failed_speed_test_is_a_sample_at_that_spot(tmp_path, fake_bin, closed_port_url):
    out = tmp_path / "walk.jsonl"
    r = run_cli(["log", "--out", str(out), "--gps", "fixed:-7.4,109.8", "--speedtest", f"http:{closed_port_url}f",
                 "--count", "2", "--speed-every", "0.2", "-q"])
    assert r.returncode == 0, r.stderr
    rows = read_journal(out)
    assert len(rows) == 2
    assert all(x["kind"] == "speed" and x["test"] == "failed" and "refused" in x["test_error"].lower()
               and x["lat"] == -7.4 and x["bytes_used"] == 0 for x in rows)


def test_ctrl_c_stops_cleanly_with_a_summary(tmp_path, fake_bin):
    out = tmp_path / "walk.jsonl"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "surveyor", "log", "--out", str(out), "--signal", "termux",
                             "--interval", "0.1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 2000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Stopped." in err and "samples" in err
    rows = read_journal(out)  # every line complete
    assert rows and out.read_bytes().endswith(b"\n")


def test_disk_full_is_a_clear_error(tmp_path, fake_bin):
    r = run_cli(["log", "--out", "/dev/full", "--signal", "termux", "--count", "2", "-q"])
    assert r.returncode == 1
    assert "disk is full" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--gps", "nowhere", "--signal", "termux"], "unknown GPS source"),
    (["--signal", "termux", "--count", "0"], "--count must be at least 1"),
    (["--gps", "termux"], "nothing to log"),
    (["--signal", "termux", "--speed-every-m", "100", "--speedtest", "http:http://127.0.0.1:9/"], "needs a GPS"),
    (["--signal", "termux", "--environment", "garden"], "garden"),
])
def test_usage_errors_exit_2(tmp_path, args, message):
    r = run_cli(["log", "--out", str(tmp_path / "j.jsonl"), *args])
    assert r.returncode == 2, r.stderr
    assert message in r.stderr


def test_help_lists_every_option():
    r = CliRunner().invoke(cli, ["log", "--help"])
    assert r.exit_code == 0
    for opt in ("--out", "--gps", "--signal", "--speedtest", "--interval", "--speed-every", "--speed-every-m",
                "--max-mb", "--duration", "--count", "--volunteer", "--route", "--environment", "--device",
                "--device-model", "--web", "--web-port", "--web-bind", "--targets", "--quiet"):
        assert opt in r.output


def test_manual_signal_prompts_at_each_sample(tmp_path):
    out = tmp_path / "walk.jsonl"
    r = CliRunner().invoke(cli, ["log", "--out", str(out), "--gps", "fixed:-7.437,109.858", "--signal", "manual",
                                 "--count", "2", "--interval", "0.01", "--device", "dev-test"],
                           input="Telkomsel\n2\n\nn\n")
    assert r.exit_code == 0, r.output
    rows = read_journal(out)
    assert [(x["kind"], x["operator"], x.get("level"), x["service"]) for x in rows] == [
        ("manual", "Telkomsel", 2, "in_service"), ("manual", "Telkomsel", None, "no_service")]
    assert rows[0]["device"] == "dev-test"


def test_at_modem_laptop_walk(tmp_path, pty_modem):
    m = pty_modem({"AT+CESQ": "+CESQ: 99,99,255,255,14,30", "AT+COPS?": '+COPS: 0,0,"TELKOMSEL",7'})
    out = tmp_path / "walk.jsonl"
    r = CliRunner().invoke(cli, ["log", "--out", str(out), "--gps", "nmea:" + str(DATA / "lipursari.nmea"),
                                 "--signal", f"at:{m.device}@115200", "--count", "3", "--interval", "0.2", "-q"])
    assert r.exit_code == 0, r.output
    rows = read_journal(out)
    assert ([(x["operator"], x["tech"], x["rsrp_dbm"], x["rsrq_db"]) for x in rows]
            == [("Telkomsel", "LTE", -111.0, -13.0)] * 3)
    # The file was read to its end: the last fix of the walk is current.
    assert rows[-1]["lon"] == pytest.approx(109.858 - 7 * 0.0000127, abs=2e-6) and rows[-1]["gps"] == "nmea"


def test_mmcli_laptop_walk(tmp_path, fake_bin):
    fake_bin.set("mmcli.signal-get", shared_path("formats", "modemmanager", "mmcli-signal-get.json").read_text())
    fake_bin.set("mmcli.location-get", shared_path("formats", "modemmanager", "mmcli-location-get.json").read_text())
    out = tmp_path / "walk.jsonl"
    r = run_cli(["log", "--out", str(out), "--signal", "mmcli:0", "--count", "2", "--interval", "0.1", "-q"])
    assert r.returncode == 0, r.stderr
    rows = read_journal(out)
    assert [(x["operator"], x["rsrp_dbm"], x["sinr_db"], x["cell_id"]) for x in rows] == \
        [("Telkomsel", -101.0, 4.2, 0x02A3C20B)] * 2


def test_gps_without_fix_at_start_through_gpsfake(tmp_path, fake_bin, gpsfake):
    port, _ = gpsfake(shared_path("nmea", "haicom-305N.log"), cycle_s=0.05)
    out = tmp_path / "walk.jsonl"
    summary = run_logger(LogOptions(out=str(out), gps=f"gpsd://127.0.0.1:{port}", signal="termux",
                                    interval_s=0.25, duration_s=6))
    rows = read_journal(out)
    first_fix = next(i for i, x in enumerate(rows) if not x.get("no_fix"))
    assert first_fix >= 2  # the receiver starts without fix: those samples are kept as no_fix
    assert all(rows[i]["no_fix"] for i in range(first_fix))
    assert rows[first_fix]["lat"] == pytest.approx(-27.21, abs=0.01) and rows[first_fix]["gps"] == "gpsd"
    assert summary.no_fix == first_fix


class _WalkingGps(GpsSource):
    """Walks north 10 m per call (about 9e-5 degrees of latitude)."""

    name = "test"

    def __init__(self):
        super().__init__()
        self.steps = 0

    def current(self):
        self.steps += 1
        return Fix(-7.44 + self.steps * 10 / 111_195, 109.86, accuracy_m=3.0, received=time.monotonic())


def test_speed_tests_scheduled_by_distance_walked(tmp_path, fake_bin, speed_server):
    out = tmp_path / "walk.jsonl"
    opts = LogOptions(out=str(out), gps="test", signal="termux", interval_s=0.05, count=40, speed_every_m=100)
    test = HttpTest(speed_server.url + "/file.bin", max_bytes=50_000, timeout_s=2, length_s=0.5)
    walker = _WalkingGps()
    summary = run_logger(opts, gps=walker, speed=test)
    speeds = [x for x in read_journal(out) if x["kind"] == "speed"]
    # 40 samples x 10 m = about 400 m: a test at each 100 m (tests run while walking on).
    assert 2 <= len(speeds) <= 5
    # Every position read is a 10 m step (speed-test starts read one too); the first test starts
    # before the first sample, so the walk is counted from the second position read.
    assert summary.distance_m == pytest.approx((walker.steps - 2) * 10, rel=0.01)
    lats = [x["lat"] for x in speeds]
    assert all(b - a >= 90 / 111_195 for a, b in zip(lats, lats[1:]))


def test_stop_event_and_duration(tmp_path, fake_bin):
    out = tmp_path / "walk.jsonl"
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    summary = run_logger(LogOptions(out=str(out), signal="termux", interval_s=0.1, duration_s=30), stop=stop)
    assert summary.interrupted and summary.elapsed_s < 5
    assert summary.samples == len(read_journal(out)) > 0


def test_status_line_shows_fix_operators_rsrp_and_last_speed_test():
    from surveyor.acquire.logger import Summary
    from surveyor.cli.log import _fmt_status

    s = Summary(out="w.jsonl", session="s", device="d", samples=12)
    tsel = {"kind": "signal", "lat": -7.43721, "lon": 109.85763, "accuracy_m": 3.9, "operator": "Telkomsel",
            "tech": "LTE", "service": "in_service", "rsrp_dbm": -101.0}
    isat = {"kind": "signal", "no_fix": True, "operator": "Indosat", "tech": "NONE", "service": "no_service"}
    s.last, s.last_speed = tsel, {"kind": "speed", "test": "ok", "download_mbps": 7.25, "upload_mbps": 1.5,
                                  "latency_ms": 48.0}
    line = _fmt_status(s, {"Telkomsel": tsel, "Indosat": isat})
    assert line == ("GPS -7.43721,109.85763 ±4 m | Telkomsel LTE -101 dBm; Indosat NO SERVICE | "
                    "speed 7.2/1.5 Mbit/s 48 ms | 12 samples")
    s.last, s.last_speed = isat, {"kind": "speed", "test": "failed"}
    assert _fmt_status(s, {"Indosat": isat}).startswith("GPS: no fix | Indosat NO SERVICE | speed: FAILED")
