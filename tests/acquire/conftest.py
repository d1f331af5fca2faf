"""Fixtures for the logger tests: stand-in device tools on PATH, a loopback speed-test server,
a pseudo-terminal modem, gpsfake, and the shared real-data folder (skip when absent, fail in CI)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

HERE = Path(__file__).parent
DATA = HERE / "data"
REPO = HERE.parent.parent
SHARED = Path(os.environ.get("SURVEYOR_SHARED_DATA", REPO.parent / "shared" / "data"))

# Our own examples in the termux-api / mmcli formats (values invented for these tests).
TERMUX_CELLS_DUAL_SIM = [
    {"type": "lte", "registered": True, "asu": 41, "dbm": -99, "level": 2, "ci": 12345678, "pci": 101,
     "tac": 3839, "mcc": 510, "mnc": 10, "rsrp": -99, "rsrq": -11, "rssi": -69, "bands": [3]},
    {"type": "lte", "registered": True, "asu": 25, "dbm": -116, "level": 0, "ci": 7654321, "pci": 77,
     "tac": 4100, "mcc": 510, "mnc": 1, "rsrp": -116, "rsrq": -17, "bands": [1]},
    {"type": "lte", "registered": False, "asu": 20, "dbm": -120, "level": 0, "pci": 300, "rsrp": -120,
     "rsrq": -19, "bands": []},
]
TERMUX_LOCATION = {"latitude": -7.4371, "longitude": 109.8579, "altitude": 600.5,
                   "accuracy": 4.800000190734863, "vertical_accuracy": 3.0, "bearing": 0.0,
                   "speed": 1.25, "elapsedMs": 12, "provider": "gps"}


def shared_path(*parts: str) -> Path:
    """A file of ../shared/data: skip with a reason when absent, fail when CI=true."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing; CI must provide ../shared/data")
        pytest.skip(f"{path} is absent (real data lives outside the project)")
    return path


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory, monkeypatch):
    """Never write a device ID into the real ~/.config."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.delenv("PREFIX", raising=False)
    monkeypatch.delenv("TERMUX_VERSION", raising=False)


# ---------------------------------------------------------------------------------------------
# Stand-in executables

_STANDIN = r'''#!{python}
# Stand-in for {name}: prints {name}.out from its folder (or {name}.<first-arg>.out), records calls.
import os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
name = os.path.basename(sys.argv[0])
with open(os.path.join(here, name + ".calls"), "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\n")
if name == "mmcli":
    for a in sys.argv[1:]:
        if a.startswith("--signal-setup"):
            open(os.path.join(here, "mmcli.setup-done"), "w").close()
            sys.exit(0)
    which = [a for a in sys.argv[1:] if a in ("--signal-get", "--location-get")][0][2:]
    variant = which + (".after-setup" if os.path.exists(os.path.join(here, "mmcli.setup-done")) and
                       os.path.exists(os.path.join(here, "mmcli." + which + ".after-setup.out")) else "")
    path = os.path.join(here, "mmcli." + variant + ".out")
else:
    path = os.path.join(here, name + ".out")
sleep = os.path.join(here, name + ".sleep")
if os.path.exists(sleep):
    time.sleep(float(open(sleep).read()))
if os.path.exists(path):
    sys.stdout.write(open(path).read())
rc = os.path.join(here, name + ".rc")
sys.exit(int(open(rc).read()) if os.path.exists(rc) else 0)
'''

STANDIN_NAMES = ("termux-telephony-cellinfo", "termux-location", "termux-wake-lock", "termux-wake-unlock",
                 "mmcli")


class FakeBin:
    def __init__(self, path: Path):
        self.path = path

    def set(self, name: str, output, *, sleep_s: float | None = None, rc: int | None = None) -> None:
        text = output if isinstance(output, str) else json.dumps(output, indent=2)
        (self.path / f"{name}.out").write_text(text)
        if sleep_s is not None:
            (self.path / f"{name}.sleep").write_text(str(sleep_s))
        if rc is not None:
            (self.path / f"{name}.rc").write_text(str(rc))

    def calls(self, name: str) -> list[str]:
        p = self.path / f"{name}.calls"
        return p.read_text().splitlines() if p.exists() else []


@pytest.fixture
def fake_bin(tmp_path, monkeypatch) -> FakeBin:
    d = tmp_path / "bin"
    d.mkdir()
    for name in STANDIN_NAMES:
        p = d / name
        p.write_text(_STANDIN.replace("{python}", sys.executable).replace("{name}", name))
        p.chmod(0o755)
    monkeypatch.setenv("PATH", f"{d}{os.pathsep}{os.environ['PATH']}")
    fb = FakeBin(d)
    fb.set("termux-telephony-cellinfo", TERMUX_CELLS_DUAL_SIM)
    fb.set("termux-location", TERMUX_LOCATION)
    return fb


# ---------------------------------------------------------------------------------------------
# Loopback speed-test server: speedtest.net configuration and server list (reached through an
# HTTP proxy setting), a Speedtest Mini server and a plain HTTP file.

CONFIG_XML = """<?xml version="1.0" encoding="UTF-8"?>
<settings><client ip="127.0.0.1" lat="-7.437" lon="109.858" isp="Loopback" isprating="3.7" rating="0"
 ispdlavg="0" ispulavg="0" loggedin="0" country="ID" />
<server-config threadcount="4" ignoreids="" notonmap="" forcepingid="" preferredserverid="" />
<download testlength="10" initialtest="250K" mintestsize="250K" threadsperurl="4" />
<upload testlength="10" ratio="5" initialtest="0" mintestsize="32K" threads="2" maxchunksize="512K"
 maxchunkcount="50" threadsperurl="4" />
</settings>"""


class SpeedServer:
    """``mode``: ok | error500 | hang. ``latency_delay_s`` delays latency.txt answers.
    ``jpg_bytes`` is the size served for every randomNxN.jpg (small, to keep tests fast)."""

    def __init__(self):
        self.mode = "ok"
        self.latency_delay_s = 0.0
        self.jpg_bytes = 100_000
        self.file_bytes = 20_000_000
        self.requests: list[tuple[str, str]] = []
        self.connects: list[str] = []
        self.uploaded = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body in one segment: separate small writes meet delayed ACKs on
            # loopback and add 40 ms to every answer, which real servers do not.
            wbufsize = 1 << 16

            def log_message(self, *a):
                pass

            def _send(self, code, body=b"", ctype="text/plain"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _gate(self) -> bool:
                if server.mode == "hang":
                    time.sleep(30)
                    return False
                if server.mode == "error500":
                    self._send(500, b"internal error")
                    return False
                return True

            def do_CONNECT(self):
                server.connects.append(self.path)
                self._send(403, b"forbidden")
                self.close_connection = True

            def do_HEAD(self):
                self.do_GET()

            def do_GET(self):
                url = urlsplit(self.path)
                server.requests.append(("GET", url.netloc + url.path))
                if not self._gate():
                    return
                path = url.path
                if path.endswith("speedtest-config.php"):
                    self._send(200, CONFIG_XML.encode(), "text/xml")
                elif path.endswith(("speedtest-servers-static.php", "speedtest-servers.php")):
                    port = server.port
                    xml = (f'<?xml version="1.0" encoding="UTF-8"?><settings><servers>'
                           f'<server url="http://127.0.0.1:{port}/speedtest/upload.php" lat="-7.36" '
                           f'lon="109.90" name="Wonosobo" country="Indonesia" cc="ID" sponsor="Loopback Net" '
                           f'id="4242" host="127.0.0.1:{port}" /></servers></settings>')
                    self._send(200, xml.encode(), "text/xml")
                elif path.endswith("/latency.txt"):
                    time.sleep(server.latency_delay_s)
                    self._send(200, b"test=test")
                elif "/random" in path and path.endswith(".jpg"):
                    self._send(200, b"\xff" * server.jpg_bytes, "image/jpeg")
                elif path in ("/", "/speedtest/", "/mini/"):
                    self._send(200, b'<html><script>var upload_extension: "php";</script></html>', "text/html")
                elif path == "/file.bin":
                    self.send_response(200)
                    self.send_header("Content-Length", str(server.file_bytes))
                    self.end_headers()
                    if self.command == "HEAD":
                        return
                    block = b"\0" * 65536
                    left = server.file_bytes
                    try:
                        while left > 0:
                            n = min(left, len(block))
                            self.wfile.write(block[:n])
                            left -= n
                    except OSError:
                        pass
                else:
                    self._send(404, b"not found")

            def do_POST(self):
                url = urlsplit(self.path)
                server.requests.append(("POST", url.netloc + url.path))
                length = int(self.headers.get("Content-Length") or 0)
                got = 0
                while got < length:
                    # Loopback's huge MSS makes the client's 8 KB writes wait for delayed ACKs
                    # (Nagle); quick ACKs keep the upload at the speed of the machine.
                    self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                    chunk = self.rfile.read1(min(65536, length - got))
                    if not chunk:
                        break
                    got += len(chunk)
                server.uploaded += got
                if not self._gate():
                    return
                self._send(200, f"size={got}".encode())

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # clients hang up early by design (capped tests); not a test failure

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def speed_server():
    s = SpeedServer()
    yield s
    s.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/"


# ---------------------------------------------------------------------------------------------
# A modem on a pseudo-terminal


class PtyModem:
    """Answers AT commands on the master side of a pty; tests open the slave with pyserial.

    ``answers`` maps a command (``AT+CESQ``) to the text before the final result code, or to a
    full raw reply when it starts with ``RAW:``; unknown commands get ``ERROR``.
    """

    def __init__(self, answers: dict[str, str]):
        import tty

        self.answers = dict(answers)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.device = os.ttyname(self.slave)
        self.seen: list[str] = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        buf = b""
        while not self._stop:
            try:
                chunk = os.read(self.master, 1024)
            except OSError:
                return
            buf += chunk
            while b"\r" in buf:
                line, _, buf = buf.partition(b"\r")
                cmd = line.decode("ascii", "replace").strip()
                if not cmd:
                    continue
                self.seen.append(cmd)
                ans = self.answers.get(cmd)
                if ans is None:
                    reply = "\r\nERROR\r\n"
                elif ans.startswith("RAW:"):
                    reply = ans[4:]
                else:
                    reply = f"\r\n{ans}\r\n\r\nOK\r\n"
                os.write(self.master, reply.encode())

    def close(self):
        self._stop = True
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def pty_modem():
    made = []

    def make(answers):
        m = PtyModem(answers)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


# ---------------------------------------------------------------------------------------------
# gpsd + gpsfake


@pytest.fixture
def gpsfake():
    """Start ``gpsfake -n -c CYCLE -P PORT LOG`` on a free loopback port; returns (port, proc)."""
    if shutil.which("gpsfake") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("gpsfake is missing; CI installs gpsd gpsd-clients")
        pytest.skip("gpsfake not installed (Debian gpsd-clients)")
    procs = []

    def start(log: Path, cycle_s: float = 0.33):
        port = free_port()
        proc = subprocess.Popen(["gpsfake", "-n", "-c", str(cycle_s), "-P", str(port), str(log)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return port, proc
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gpsfake did not start")

    yield start
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, 15)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)


def read_journal(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line]


def run_cli(args: list[str], *, env: dict | None = None, timeout: float = 60, input: str | None = None):
    """``python -m surveyor ARGS`` in a subprocess (real signals, real stdout/stderr)."""
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    if env:
        e.update(env)
    return subprocess.run([sys.executable, "-m", "surveyor", *args], capture_output=True, text=True,
                          timeout=timeout, env=e, input=input, cwd=str(REPO))
