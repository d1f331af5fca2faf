"""The field companion page in a real browser: `surveyor log --web` with the stand-in termux tools,
opened by playwright in the system Chromium at a phone's size (412 x 860).

The walk: a thread moves the stand-in GPS north-east about 4 m a second; the stand-in phone has two
SIMs (Telkomsel at -99 dBm, Indosat at -116 dBm). Targets come from `surveyor revisit`'s own GPX
writer: one 150 m north-east of the start, one 600 m south.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import REPO, TERMUX_LOCATION, free_port, read_journal
from .test_web import revisit_gpx
from conftest import CHROMIUM_ARGS, PHONE

pytestmark = pytest.mark.browser

START = (-7.4371, 109.8579)
STEP_M = 4.0  # per second, along the bearing below
BEARING_DEG = 45.0
TARGET_NE = (START[0] + 150 * math.cos(math.radians(45)) / 111_195,
             START[1] + 150 * math.sin(math.radians(45)) / (111_195 * math.cos(math.radians(START[0]))))
TARGET_S = (START[0] - 600 / 111_195, START[1])
COLOURS = {"fair": "#009E73", "none": "#D55E00"}  # Telkomsel -99 dBm, Indosat -116 dBm


@pytest.fixture
def browser(playwright):
    b = playwright.chromium.launch(executable_path=playwright.chromium_exe, args=CHROMIUM_ARGS)
    yield b
    try:
        b.close()
    except Exception:  # a test may have killed it
        pass


class Walk:
    """`surveyor log --web` in a subprocess, its stand-in GPS walking on a thread."""

    def __init__(self, tmp_path: Path, fake_bin, *, extra: list[str]):
        self.out = tmp_path / "walk.jsonl"
        self.location = fake_bin.path / "termux-location.out"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.moved_m = 0.0
        self._move(0.0)
        self.targets = revisit_gpx(tmp_path, [("Telkomsel", "8a65a1234567fff", *TARGET_NE),
                                              ("Indosat", "8a65a12345a7fff", *TARGET_S)])
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "surveyor", "log", "--out", str(self.out), "--gps", "termux", "--signal", "termux",
             "--web", "--web-port", str(self.port), "--targets", str(self.targets), "-q", *extra],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._stop = threading.Event()
        self.mover = threading.Thread(target=self._walk, daemon=True)
        self.mover.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError as exc:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the logger's page did not start: " + self.proc.stderr.read()) from exc
                time.sleep(0.1)

    def _move(self, metres: float) -> None:
        dlat = metres * math.cos(math.radians(BEARING_DEG)) / 111_195
        dlon = metres * math.sin(math.radians(BEARING_DEG)) / (111_195 * math.cos(math.radians(START[0])))
        tmp = self.location.with_suffix(".tmp")
        tmp.write_text(json.dumps({**TERMUX_LOCATION, "latitude": START[0] + dlat, "longitude": START[1] + dlon}))
        os.replace(tmp, self.location)  # the stand-in never reads half a file

    def _walk(self) -> None:
        while not self._stop.wait(0.25):
            self.moved_m += STEP_M / 4
            self._move(self.moved_m)

    def lines(self) -> int:
        return len(read_journal(self.out)) if self.out.exists() else 0

    def state(self) -> dict:
        with urllib.request.urlopen(self.url + "api/state", timeout=10) as r:
            return json.loads(r.read())

    def stop(self) -> tuple[int, str]:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err


@pytest.fixture
def walk(tmp_path, fake_bin):
    made = []

    def start(*extra: str) -> Walk:
        w = Walk(tmp_path, fake_bin, extra=list(extra))
        made.append(w)
        return w

    yield start
    for w in made:
        w.stop()


def open_page(browser, url: str):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    requests, errors = [], []
    page.on("request", lambda r: requests.append((time.monotonic(), r.url)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    return context, page, requests, errors


def wait_js(page, expression: str, timeout_ms: float = 10_000) -> None:
    """Wait until a JavaScript expression is true. (Playwright's wait_for_function evaluates its
    predicate with eval, which the page's own Content-Security-Policy forbids, and the tests keep
    that policy on: they show the page works under it and that nothing it asks for is refused.)"""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_ms / 1000:.0f} s: {expression}")
        time.sleep(0.1)


def page_seq(page) -> int:
    return int(page.evaluate("Number(document.body.dataset.seq || -1)"))


# The screen positions of the end of the newest stretch of track and of the position marker.
TRACK_END_JS = """() => {
  const lines = document.querySelectorAll('.leaflet-track-pane path.track-line');
  const me = document.querySelector('.leaflet-me-pane path');
  if (!lines.length || !me) return null;
  const last = lines[lines.length - 1];
  const p = last.getPointAtLength(last.getTotalLength()).matrixTransform(last.getScreenCTM());
  const r = me.getBoundingClientRect();
  return {end: [p.x, p.y], me: [r.x + r.width / 2, r.y + r.height / 2]};
}"""


def assert_track_reaches_the_marker(page) -> None:
    ends = page.evaluate(TRACK_END_JS)
    assert ends is not None, "no track or no position marker drawn"
    assert math.dist(ends["end"], ends["me"]) < 4, ends


def test_the_walk_appears_live_on_a_phone_sized_page(walk, browser, tmp_path):
    from pyproj import Geod

    w = walk("--interval", "0.3", "--duration", "120")
    context, page, requests, errors = open_page(browser, w.url)
    wait_js(page, "Number(document.body.dataset.seq) >= 20", 30_000)

    # Samples appear, and keep appearing.
    first = int(re.match(r"(\d+) samples", page.inner_text("#counts")).group(1))
    wait_js(page, f"parseInt(document.getElementById('counts').textContent) >= {first + 6}", 10_000)
    assert int(re.match(r"(\d+) samples", page.inner_text("#counts")).group(1)) <= w.lines()

    # Each SIM in large type: operator, technology, signal.
    rows = page.query_selector_all(".sig")
    texts = [" ".join(r.inner_text().split()) for r in rows]
    assert len(rows) == 2 and "Indosat" in texts[0] and "-116 dBm" in texts[0] and "LTE" in texts[0]
    assert "Telkomsel" in texts[1] and "-99 dBm" in texts[1] and "Fair" in texts[1]
    assert float(page.eval_on_selector(".sig .dbm", "e => parseFloat(getComputedStyle(e).fontSize)")) >= 30

    # The track, coloured by the chosen operator's signal class; a tap on a row switches operator.
    wait_js(page, "document.querySelectorAll('.leaflet-track-pane path.track-line').length > 0")
    strokes = page.eval_on_selector_all(".leaflet-track-pane path.track-line",
                                        "ps => ps.map(p => p.getAttribute('stroke'))")
    assert set(strokes) == {COLOURS["none"]}
    page.click(".sig[data-operator='Telkomsel']")
    wait_js(page, "[...document.querySelectorAll('.leaflet-track-pane path.track-line')]"
                           ".every(p => p.getAttribute('stroke') === '#009E73')")
    assert page.get_attribute(".sig[data-operator='Telkomsel']", "class").split().count("on-map") == 1
    page.wait_for_timeout(1500)
    assert_track_reaches_the_marker(page)

    # The nearest target: distance and direction from the position shown.
    wait_js(page, "document.getElementById('target-dist').dataset.distanceM !== undefined")
    state = page.evaluate("""() => { const d = document.getElementById('target-dist');
        return {text: d.textContent, m: Number(d.dataset.distanceM), pos: document.getElementById('pos').textContent,
                name: document.getElementById('target-name').textContent}; }""")
    lat, lon = (float(x) for x in re.search(r"GPS (-?[\d.]+), (-?[\d.]+)", state["pos"]).groups())
    az, _, dist_m = Geod(ellps="WGS84").inv(lon, lat, TARGET_NE[1], TARGET_NE[0])
    assert 40 <= az % 360 <= 50 and dist_m < 150
    assert state["m"] == pytest.approx(dist_m, abs=4)  # the phone's sphere, the shown position's rounding
    shown = float(re.match(r"([\d.]+) m north-east$", state["text"]).group(1))
    assert shown == pytest.approx(state["m"], abs=5.01)
    assert "Telkomsel 8a65a1234567fff" in state["name"]
    assert page.eval_on_selector_all(".leaflet-targets-pane path.target", "ps => ps.length") == 2

    # Phone-sized layout: panel, map and buttons stacked on one screen, nothing wider than it.
    boxes = page.evaluate("""() => Object.fromEntries(['panel', 'map', 'bar'].map(id => {
        const r = document.getElementById(id).getBoundingClientRect(); return [id, [r.top, r.bottom, r.width]]; }))""")
    assert boxes["panel"][1] <= boxes["map"][0] + 1 and boxes["map"][1] <= boxes["bar"][0] + 1
    assert boxes["bar"][1] <= 860 and boxes["map"][1] - boxes["map"][0] >= 300
    assert page.evaluate("document.documentElement.scrollWidth") <= 412
    page.screenshot(path=str(tmp_path / "companion-412x860.png"))

    # At most one request a second, and none beyond 127.0.0.1.
    t0 = time.monotonic()
    page.wait_for_timeout(5000)
    polls = [t for t, url in requests if "/api/state" in url and t >= t0]
    assert 3 <= len(polls) <= 6
    assert all(b - a >= 0.95 for a, b in zip(polls, polls[1:]))
    assert requests and all(url.startswith(f"http://127.0.0.1:{w.port}/") for _, url in requests), requests
    assert errors == []
    context.close()


def test_the_page_catches_up_after_the_phone_slept(walk, browser):
    w = walk("--interval", "0.3", "--duration", "120")
    context, page, requests, errors = open_page(browser, w.url)
    wait_js(page, "Number(document.body.dataset.seq) >= 5", 30_000)
    cdp = context.new_cdp_session(page)

    # Frozen, as Chrome on Android freezes a tab when the screen goes off: nothing is asked.
    cdp.send("Page.setWebLifecycleState", {"state": "frozen"})
    time.sleep(0.5)
    asked = len(requests)
    lines = w.lines()
    time.sleep(3)
    assert len(requests) == asked and w.lines() >= lines + 8
    lines = w.lines()
    cdp.send("Page.setWebLifecycleState", {"state": "active"})
    wait_js(page, f"Number(document.body.dataset.seq) >= {lines}", 5000)
    assert_track_reaches_the_marker(page)

    # Hidden (another app in front): no polling; visible again: at once, everything missed.
    page.evaluate("""() => { Object.defineProperty(document, 'hidden', {value: true, configurable: true});
        Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
        document.dispatchEvent(new Event('visibilitychange')); }""")
    time.sleep(0.5)
    asked, seq = len(requests), page_seq(page)
    time.sleep(3)
    assert len(requests) == asked and page_seq(page) == seq
    lines = w.lines()
    shown_at = time.monotonic()
    page.evaluate("""() => { Object.defineProperty(document, 'hidden', {value: false, configurable: true});
        Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
        document.dispatchEvent(new Event('visibilitychange')); }""")
    wait_js(page, f"Number(document.body.dataset.seq) >= {lines}", 3000)
    assert time.monotonic() - shown_at < 2.5
    assert page.inner_text("#live").startswith("LIVE")
    # The page now holds exactly the logger's track.
    server = w.state()
    drawn = page.evaluate("document.querySelectorAll('.leaflet-track-pane path.track-line').length")
    assert drawn >= 1 and server["counts"]["signal"] >= lines
    assert errors == []
    context.close()


def test_a_stopped_logger_shows_on_the_page(walk, browser):
    w = walk("--interval", "0.3", "--duration", "120")
    context, page, _, _ = open_page(browser, w.url)
    wait_js(page, "Number(document.body.dataset.seq) >= 3", 30_000)
    w.stop()
    wait_js(page, "document.getElementById('live').textContent.startsWith('NOT UPDATING')", 10_000)
    context.close()


def test_killing_the_browser_does_not_disturb_logging(walk, browser):
    import psutil

    w = walk("--interval", "0.2", "--count", "40")
    _context, page, _, _ = open_page(browser, w.url)
    wait_js(page, "Number(document.body.dataset.seq) >= 6", 30_000)
    # The browser this test started (through playwright's driver): its main process, by id.
    ours = [p for p in psutil.Process().children(recursive=True)
            if p.name() in ("chromium", "chrome", "headless_shell")
            and not any(a.startswith("--type=") for a in p.cmdline())]
    assert len(ours) == 1, ours
    ours[0].kill()
    ours[0].wait(10)
    assert w.state()["counts"]["signal"] >= 6  # the page's server answers others as before
    code = w.proc.wait(60)  # --count: it ends on its own
    err = w.proc.stderr.read()
    assert code == 0, err
    assert "Traceback" not in err and "Error" not in err
    rows = read_journal(w.out)
    assert len(rows) == 80  # 40 rounds x 2 SIMs, every one written
    times = sorted({r["time"] for r in rows})
    from datetime import datetime

    stamps = [datetime.fromisoformat(t).timestamp() for t in times]
    assert max(b - a for a, b in zip(stamps, stamps[1:])) < 1.0  # never held up
