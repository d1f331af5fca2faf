"""`surveyor log` rough edges: a source that cannot work here stops with a message, --count 1
runs its speed test, a failed upload fails the test, Ctrl-C at a manual prompt gives the summary."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def journal(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_termux_gps_on_a_laptop_stops_with_the_alternatives(tmp_path, monkeypatch, invoke):
    bare = tmp_path / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))  # no termux-location anywhere
    out = tmp_path / "walk.jsonl"
    r = invoke("log", "--out", str(out), "--gps", "termux", "--signal", "manual", "--count", "3",
               input="Telkomsel\n2\n")
    assert r.exit_code == 1, r.output
    assert "--gps termux cannot work on this machine: termux-location is not installed" in r.stderr
    assert "--gps gpsd" in r.stderr and "--gps none" in r.stderr
    assert not out.exists()  # no journal of useless samples


def test_termux_signal_without_termux_api(tmp_path, monkeypatch, invoke):
    monkeypatch.setenv("PATH", str(tmp_path))
    r = invoke("log", "--out", str(tmp_path / "w.jsonl"), "--gps", "fixed:-7.437,109.858", "--signal", "termux",
               "--count", "1")
    assert r.exit_code == 1 and "--signal termux cannot work" in r.stderr and "--signal mmcli" in r.stderr


def test_count_one_runs_its_speed_test(tmp_path, fake_bin, speed_server, invoke):
    out = tmp_path / "walk.jsonl"
    r = invoke("log", "--out", str(out), "--gps", "fixed:-7.437,109.858", "--signal", "termux",
               "--speedtest", f"http:{speed_server.url}/file.bin", "--max-mb", "0.2", "--count", "1", "-q")
    assert r.exit_code == 0, r.output
    rows = journal(out)
    speeds = [x for x in rows if x["kind"] == "speed"]
    assert len(speeds) == 1 and speeds[0]["test"] == "ok" and speeds[0]["download_mbps"] > 0
    assert [x for x in rows if x["kind"] == "signal"]


class _NoUploads:
    """Serves downloads and refuses uploads (405)."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_HEAD(self):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                body = b"0" * 200_000
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data.bin"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_failed_upload_fails_the_test():
    from surveyor.acquire.speed import HttpTest

    server = _NoUploads()
    try:
        r = HttpTest(server.url, max_bytes=300_000, timeout_s=3, length_s=1).run()
    finally:
        server.close()
    assert r.test == "failed" and r.download_mbps > 0 and r.upload_mbps is None
    assert r.test_error.startswith("upload:")


def test_ctrl_c_at_a_manual_prompt_gives_the_summary(tmp_path, invoke):
    out = tmp_path / "walk.jsonl"
    # One answered sample, then the input ends at the next prompt (as Ctrl-C does).
    r = invoke("log", "--out", str(out), "--gps", "fixed:-7.437,109.858", "--signal", "manual", "--interval", "0.01",
               input="Telkomsel\n2\n")
    assert r.exit_code == 0, r.output
    assert "Stopped. 1 sample (1 signal, 0 speed tests)" in r.stderr and "Journal:" in r.stderr
    assert "Aborted" not in r.output
    assert len(journal(out)) == 1


def test_manual_prompts_in_indonesian(tmp_path, monkeypatch, invoke):
    monkeypatch.setenv("SURVEYOR_CLI_LANGUAGE", "id")
    out = tmp_path / "walk.jsonl"
    r = invoke("log", "--out", str(out), "--gps", "fixed:-7.437,109.858", "--signal", "manual", "--count", "1",
               input="Indosat\nt\n")
    assert r.exit_code == 0, r.output
    assert "Bar 0-4, atau n jika tidak ada layanan" in r.output and "Selesai. 1 sampel" in r.stderr
    assert journal(out)[0]["service"] == "no_service"


def test_warnings_go_on_their_own_line_above_the_status(tmp_path, fake_bin, invoke):
    out = tmp_path / "walk.jsonl"
    r = invoke("log", "--out", str(out), "--gps", f"nmea:{tmp_path / 'no-such-receiver'}", "--signal", "termux",
               "--count", "3", "--interval", "0.2")
    assert r.exit_code == 0, r.output
    lines = r.stderr.splitlines()
    warnings = [x for x in lines if "no such GPS device" in x]
    assert warnings and all(x.startswith("Warning: GPS nmea:") for x in warnings)
    assert any(x.startswith("Done. ") for x in lines)
