"""CPU use of `surveyor log` at one sample a second (target: under 5% of one core).

Runs the real command in a subprocess with stand-in device tools (termux-location,
termux-telephony-cellinfo, mmcli: small Python scripts that print the real formats) and reads the
logger's own CPU time and its children's (the device tools) apart from /proc/PID/stat, after a
warm-up so start-up imports are not counted. Prints the figures; exits 1 if the target is missed.

The ``--web`` scenario runs the phone logger with its live page open: a client in this process
loads the page and then asks for what changed once a second, as the page does (its own CPU is not
the logger's and is not counted).

    python benchmarks/bench_logger.py [--duration 30] [--warmup 5] [--no-web]

Note: the stand-in tools are Python scripts, so "tools" CPU here is far above the real
termux-api/mmcli cost; it is reported only to show it is kept apart from the logger's own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
TARGET_PCT = 5.0

CELLS = [{"type": "lte", "registered": True, "asu": 39, "dbm": -101, "level": 2, "ci": 44292617, "pci": 214,
          "tac": 3839, "mcc": 510, "mnc": 10, "rsrp": -101, "rsrq": -12, "rssi": -71, "bands": [3]},
         {"type": "gsm", "registered": True, "asu": 12, "dbm": -89, "level": 2, "cid": 21254, "lac": 4986,
          "mcc": 510, "mnc": 1}]
LOCATION = {"latitude": -7.4372154, "longitude": 109.8576331, "altitude": 612.4, "accuracy": 3.9,
            "vertical_accuracy": 2.6, "bearing": 0.0, "speed": 0.0, "elapsedMs": 17, "provider": "gps"}
MM_SIGNAL = {"modem": {"signal": {"5g": {"rsrp": "--", "rsrq": "--", "snr": "--"}, "gsm": {"rssi": "--"},
                                  "lte": {"rsrp": "-101.00", "rsrq": "-12.00", "rssi": "-71.00", "snr": "4.20"},
                                  "refresh": {"rate": "1"}, "umts": {"rscp": "--", "rssi": "--", "ecio": "--"}}}}
MM_LOCATION = {"modem": {"location": {"3gpp": {"cid": "02A3C20B", "lac": "0000", "mcc": "510", "mnc": "10",
                                               "tac": "000EFF"}}}}


def _tool(path: Path, body: str) -> None:
    path.write_text(f"#!{sys.executable} -S\nimport sys\n{body}\n")
    path.chmod(0o755)


def make_tools(d: Path) -> None:
    _tool(d / "termux-telephony-cellinfo", f"sys.stdout.write({json.dumps(json.dumps(CELLS, indent=2))})")
    # Walking north-east at about 1.4 m/s, so the --web page has a track to draw.
    _tool(d / "termux-location", f"import json, time\nloc = {LOCATION!r}\nt = time.time() % 3600\n"
                                 "loc['latitude'] += t * 9e-6; loc['longitude'] += t * 9e-6\n"
                                 "sys.stdout.write(json.dumps(loc, indent=2))")
    _tool(d / "mmcli", f"sys.stdout.write({json.dumps(json.dumps(MM_SIGNAL))} if '--signal-get' in sys.argv "
                       f"else {json.dumps(json.dumps(MM_LOCATION))})")
    for name in ("termux-wake-lock", "termux-wake-unlock"):
        _tool(d / name, "pass")


def cpu_s(pid: int) -> tuple[float, float]:
    """(own user+system, reaped children user+system) in seconds, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / TICK, (cutime + cstime) / TICK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PageClient:
    """What the companion page does: load the page once, then every second ask for what changed
    since the last sequence number seen."""

    def __init__(self, url: str):
        self.url, self.requests, self.page_bytes, self.errors = url, 0, 0, 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        seq, gen = -1, ""
        while not self._stop.is_set():
            try:
                if not self.page_bytes:
                    with urllib.request.urlopen(self.url, timeout=5) as r:
                        self.page_bytes = len(r.read())
                with urllib.request.urlopen(f"{self.url}api/state?since={seq}&gen={gen}", timeout=5) as r:
                    state = json.loads(r.read())
                seq, gen = state["seq"], state["gen"]
                self.requests += 1
            except OSError:
                self.errors += 1
            self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)


def run(name: str, args: list[str], duration_s: float, warmup_s: float, tools: Path, work: Path,
        web: bool = False) -> dict:
    out = work / (re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") + ".jsonl")
    env = dict(os.environ, PATH=f"{tools}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(REPO),
               XDG_CONFIG_HOME=str(work))
    port = free_port()
    cmd = [sys.executable, "-m", "surveyor", "log", "--out", str(out), "--interval", "1",
           "--duration", str(duration_s + warmup_s + 2), "-q", *args,
           *(["--web", "--web-port", str(port)] if web else [])]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    client = PageClient(f"http://127.0.0.1:{port}/") if web else None
    time.sleep(warmup_s)
    self0, kids0 = cpu_s(proc.pid)
    asked0 = client.requests if client else 0
    t0 = time.monotonic()
    time.sleep(duration_s)
    self1, kids1 = cpu_s(proc.pid)
    wall = time.monotonic() - t0
    asked = (client.requests - asked0) if client else 0
    if client:
        client.stop()
    proc.wait(timeout=60)
    samples = sum(1 for _ in out.open())
    result = {"scenario": name, "wall_s": round(wall, 1), "samples": samples,
              "logger_cpu_s": round(self1 - self0, 3), "logger_pct_of_core": round(100 * (self1 - self0) / wall, 2),
              "tools_cpu_s": round(kids1 - kids0, 3), "tools_pct_of_core": round(100 * (kids1 - kids0) / wall, 2)}
    if client:
        if not client.page_bytes or asked < duration_s * 0.8:
            raise RuntimeError(f"the page client got {asked} answers in {wall:.0f} s: is --web serving?")
        result.update(page_requests=asked, page_bytes=client.page_bytes)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=30.0, help="measured seconds per scenario")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds left out at the start (imports)")
    ap.add_argument("--no-web", action="store_true", help="leave out the scenario with the --web page open")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tools = work / "bin"
        tools.mkdir()
        make_tools(tools)
        results = [
            run("phone: --gps termux --signal termux", ["--gps", "termux", "--signal", "termux"],
                a.duration, a.warmup, tools, work),
            run("laptop: --gps fixed --signal mmcli", ["--gps", "fixed:-7.437,109.858", "--signal", "mmcli"],
                a.duration, a.warmup, tools, work),
        ]
        if not a.no_web:
            results.append(run("phone + --web, page polling 1/s", ["--gps", "termux", "--signal", "termux"],
                               a.duration, a.warmup, tools, work, web=True))
    ok = True
    print(f"{'scenario':40} {'samples':>7} {'logger %core':>12} {'tools %core':>11}")
    for r in results:
        print(f"{r['scenario']:40} {r['samples']:>7} {r['logger_pct_of_core']:>12.2f} {r['tools_pct_of_core']:>11.2f}")
        ok &= r["logger_pct_of_core"] < TARGET_PCT
    print(json.dumps(results))
    print(f"target: logger under {TARGET_PCT}% of one core: {'met' if ok else 'MISSED'}"
          " (tools are stand-in Python scripts, reported apart)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
