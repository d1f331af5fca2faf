"""Map benchmark: HTML size and Chromium drawing time for a large generated survey database.

Targets (README, "Measured figures"): the HTML of one village under 3 MB whatever the number of samples, and
drawn by Chromium in under 3 s. Prints, for a simulated survey of about ``--samples`` samples (the
village of the tests' fixtures, tests/fixtures: phones logging every second, as many volunteers as
that takes; with its OpenStreetMap extract of ``--houses`` houses and its elevation model
imported; merged and analysed by surveyor itself):

- the HTML size with aggregates only and with ``--show-samples``, and the time to write each;
- Chromium's in-page time from navigation start to the end of the map's scripts (Leaflet has then
  built every layer), and the wall time of a headless screenshot minus the wall time of a
  screenshot of an empty page (Chromium's own start-up), median of ``--repeat`` runs.

Usage: ``python benchmarks/bench_map.py [--samples 1000000] [--houses 10000] [--repeat 3] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
# Samples one volunteer logs walking the simulated village's routes with a phone logging every
# second, on average (measured: about 10,500; every fourth volunteer's G-NetTrack Pro logs every
# 8 s, see tests/fixtures).
SAMPLES_PER_VOLUNTEER = 10_500

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000"]
TIMING_TAIL = ("<script>document.documentElement.setAttribute('data-scripts-done-ms', "
               "String(performance.now()));</script>")


def chromium_run(exe: str, page: Path, work: Path, *, dump: bool) -> tuple[float, str]:
    profile = Path(tempfile.mkdtemp(dir=work))
    args = [exe, *FLAGS, f"--user-data-dir={profile}"]
    args += ["--dump-dom"] if dump else [f"--screenshot={work / 'shot.png'}"]
    t0 = time.perf_counter()
    proc = subprocess.run(args + [page.as_uri()], capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - t0
    shutil.rmtree(profile, ignore_errors=True)
    return wall, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--houses", type=int, default=10_000,
                    help="Houses in the village's OpenStreetMap extract (0: no basemap, no elevation model).")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="Keep the database and maps in this folder.")
    a = ap.parse_args()

    from surveyor.config import Settings
    from surveyor.render.html_map import render_map
    from surveyor.store import open_store

    from fixtures import SurveySpec, build_survey

    work = Path(a.keep or tempfile.mkdtemp(prefix="bench-map-"))
    work.mkdir(parents=True, exist_ok=True)
    if (work / "survey").exists():
        shutil.rmtree(work / "survey")
    t0 = time.perf_counter()
    volunteers = max(3, round(a.samples / SAMPLES_PER_VOLUNTEER))
    db = build_survey(work / "survey", SurveySpec(seed=1, n_volunteers=volunteers, days=28, interval_s=(1.0, 1.0),
                                                  context=a.houses > 0, houses=a.houses)).db
    with open_store(str(db)) as store:
        n = store.status().samples
        counts = (store.get_meta("basemap") or {}).get("counts", {})
    print(f"database: {n:,} samples of {volunteers} volunteers, 2 operators, simulated, merged and analysed "
          f"in {time.perf_counter() - t0:.1f} s; basemap {counts or 'none'}")

    maps = {}
    with open_store(str(db)) as store:
        for show in (False, True):
            out = work / f"map-{'samples' if show else 'aggregates'}.html"
            t0 = time.perf_counter()
            render_map(store, Settings(), out, lang="id", show_samples=show)
            took = time.perf_counter() - t0
            size_mb = out.stat().st_size / 1e6
            maps[show] = out
            flag = "ok" if size_mb < 3 else "OVER 3 MB"
            print(f"html {'--show-samples' if show else 'aggregates    '}: {size_mb:.2f} MB ({flag}), "
                  f"written in {took:.1f} s")

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("chromium: not installed, no drawing times")
        return
    blank = work / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    base = statistics.median(chromium_run(exe, blank, work, dump=False)[0] for _ in range(a.repeat))
    print(f"chromium start-up (empty page screenshot): {base:.2f} s")
    for show, path in maps.items():
        timed = work / (path.stem + "-timed.html")
        timed.write_text(path.read_text(encoding="utf-8").replace("</html>", TIMING_TAIL + "</html>"),
                         encoding="utf-8")
        inpage, walls = [], []
        for _ in range(a.repeat):
            _w, dom = chromium_run(exe, timed, work, dump=True)
            m = re.search(r'data-scripts-done-ms="([\d.]+)"', dom)
            if m:
                inpage.append(float(m.group(1)) / 1000)
            walls.append(chromium_run(exe, path, work, dump=False)[0])
        label = "--show-samples" if show else "aggregates"
        scripts = statistics.median(inpage) if inpage else float("nan")
        drawn = statistics.median(walls) - base
        verdict = "ok" if max(scripts, drawn) < 3 else "OVER 3 s"
        print(f"chromium {label}: map scripts done {scripts:.2f} s after navigation; screenshot "
              f"{statistics.median(walls):.2f} s wall, {drawn:.2f} s more than an empty page ({verdict})")
    if a.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
