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

from .conftest import REPO, read_journal

LOGGER_DEPS = ("click", "rich", "markdown_it", "mdurl", "pygments", "serial", "speedtest")
GEO_STACK = ("numpy", "pandas", "geopandas", "pyogrio", "shapely", "pyproj", "folium", "h3", "pyarrow")

WRAPPER = r"""
import importlib, json, sys
blocked = {}
for name in %(geo)r:
    try:
        importlib.import_module(name)
        blocked[name] = "importable"
    except ImportError:
        blocked[name] = "missing"
from surveyor.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
loaded = sorted(m for m in sys.modules if m.split(".")[0] in %(geo)r)
print(json.dumps({"blocked": blocked, "code": code, "loaded": loaded}))
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


def test_logger_runs_with_only_its_dependencies(tmp_path, fake_bin, speed_server):
    site = _phone_path(tmp_path)
    out = tmp_path / "walk.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONPATH=str(site), PYTHONNOUSERSITE="1", no_proxy="127.0.0.1")
    # -S: no site-packages at all, only the folder of symlinks.
    cmd = [sys.executable, "-S", "-c", WRAPPER % {"geo": GEO_STACK}, "log", "--out", str(out),
           "--gps", "fixed:-7.437,109.858", "--signal", "termux", "--speedtest", f"mini:{speed_server.url}/",
           "--max-mb", "1", "--count", "2", "--interval", "0.2", "-q"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["blocked"]["numpy"] == "missing" and set(report["blocked"].values()) == {"missing"}
    assert report["code"] == 0, r.stderr
    assert report["loaded"] == []
    rows = read_journal(out)
    assert sum(x["kind"] == "signal" for x in rows) == 4
    assert [x["test"] for x in rows if x["kind"] == "speed"] == ["ok"]


def test_acquire_modules_import_no_geospatial_package():
    code = ("import sys, surveyor.cli.log, surveyor.acquire.logger, surveyor.acquire.gps, surveyor.acquire.signal, "
            "surveyor.acquire.speed, surveyor.acquire.journal; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {GEO_STACK!r}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
