"""`surveyor log` runs where the geospatial stack does not install (Termux on a phone): an
interpreter that sees only the logger dependencies (click, rich and its deps, pyserial,
speedtest-cli) and the surveyor package runs it end to end, offline."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import REPO, free_port, read_journal

LOGGER_DEPS = ("click", "rich", "markdown_it", "mdurl", "pygments", "serial", "speedtest", "js_lib_leaflet")
GEO_STACK = ("numpy", "pandas", "geopandas", "pyogrio", "shapely", "pyproj", "folium", "h3", "pyarrow")

WRAPPER = r"""
import importlib, json, os, sys, threading, time, urllib.request
blocked = {}
for name in %(geo)r:
    try:
        importlib.import_module(name)
        blocked[name] = "importable"
    except ImportError:
        blocked[name] = "missing"
probe = {}
def look(url):
    # What a phone's browser would ask the --web page, while the logger runs.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "state" not in probe:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                probe["page_bytes"] = len(r.read())
            with urllib.request.urlopen(url + "api/state", timeout=5) as r:
                st = json.loads(r.read())
            if st["counts"]["signal"] >= 2:
                probe["state"] = st
        except OSError:
            pass
        time.sleep(0.2)
if os.environ.get("PROBE_URL"):
    threading.Thread(target=look, args=(os.environ["PROBE_URL"],), daemon=True).start()
from surveyor.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
loaded = sorted(m for m in sys.modules if m.split(".")[0] in %(geo)r)
print(json.dumps({"blocked": blocked, "code": code, "loaded": loaded, "probe": probe}))
"""


def _phone_path(tmp_path: Path) -> Path:
    d = tmp_path / "phone-site"
    d.mkdir()
    for name in LOGGER_DEPS:
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin)
        src = origin.parent if origin.name == "__init__.py" else origin
        (d / src.name).symlink_to(src)
    (d / "surveyor").symlink_to(REPO / "surveyor")
    return d


def _run_on_phone(tmp_path: Path, args: list[str], env_extra: dict | None = None) -> dict:
    site = _phone_path(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONPATH=str(site), PYTHONNOUSERSITE="1", no_proxy="127.0.0.1", **(env_extra or {}))
    # -S: no site-packages at all, only the folder of symlinks.
    cmd = [sys.executable, "-S", "-c", WRAPPER % {"geo": GEO_STACK}, *args]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    report["stderr"] = r.stderr
    return report


def test_logger_runs_with_only_its_dependencies(tmp_path, fake_bin, speed_server):
    out = tmp_path / "walk.jsonl"
    report = _run_on_phone(tmp_path, ["log", "--out", str(out), "--gps", "fixed:-7.437,109.858", "--signal",
                                      "termux", "--speedtest", f"mini:{speed_server.url}/", "--max-mb", "1",
                                      "--count", "2", "--interval", "0.2", "-q"])
    assert report["blocked"]["numpy"] == "missing" and set(report["blocked"].values()) == {"missing"}
    assert report["code"] == 0, report["stderr"]
    assert report["loaded"] == []
    rows = read_journal(out)
    assert sum(x["kind"] == "signal" for x in rows) == 4
    assert [x["test"] for x in rows if x["kind"] == "speed"] == ["ok"]


def test_logger_serves_its_page_with_only_its_dependencies(tmp_path, fake_bin):
    out, port = tmp_path / "walk.jsonl", free_port()
    targets = tmp_path / "revisit.gpx"
    targets.write_text('<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
                       '<wpt lat="-7.436" lon="109.859"><name>Telkomsel 8a65</name></wpt></gpx>')
    report = _run_on_phone(tmp_path, ["log", "--out", str(out), "--gps", "fixed:-7.437,109.858", "--signal", "termux",
                                      "--count", "8", "--interval", "0.5", "--web", "--web-port", str(port),
                                      "--targets", str(targets), "-q"],
                           {"PROBE_URL": f"http://127.0.0.1:{port}/"})
    assert report["code"] == 0, report["stderr"]
    assert set(report["blocked"].values()) == {"missing"} and report["loaded"] == []
    probe = report["probe"]
    assert probe["page_bytes"] > 140_000  # Leaflet inlined from the logger's own dependencies
    st = probe["state"]
    assert st["counts"]["signal"] >= 2 and st["nearest"]["name"] == "Telkomsel 8a65"
    assert st["nearest"]["direction"] == "north-east"
    assert len(read_journal(out)) == 16


def test_acquire_modules_import_no_geospatial_package():
    code = ("import sys, surveyor.cli.log, surveyor.acquire.logger, surveyor.acquire.gps, surveyor.acquire.signal, "
            "surveyor.acquire.speed, surveyor.acquire.journal, surveyor.acquire.web, surveyor.acquire.targets, "
            "surveyor.leaflet; "
            "surveyor.acquire.web.page_html(); "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {GEO_STACK!r}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
