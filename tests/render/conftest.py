"""Fixtures for the map and print tests: survey databases (tests/fixtures) and headless Chromium
(no network)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1200,900", "--hide-scrollbars"]


@pytest.fixture(scope="session")
def map_survey(village, tmp_path_factory):
    """A copy of the simulated village survey: two operators, every class, dead zones, sites, towers."""
    from fixtures import copy_survey

    return copy_survey(village, tmp_path_factory.mktemp("map") / "survey")


@pytest.fixture(scope="session")
def map_db(map_survey) -> Path:
    return map_survey.db


@pytest.fixture(scope="session")
def mapped_survey(mapped_village, tmp_path_factory):
    """A copy of the village with its basemap and elevation model, marked as simulated data (as
    ``surveyor demo`` marks its survey), so every output must carry the SIMULASI mark."""
    from fixtures import copy_survey
    from surveyor.app.demo import mark_simulated
    from surveyor.store import open_store

    built = copy_survey(mapped_village, tmp_path_factory.mktemp("mapped-copy") / "survey")
    with open_store(str(built.db)) as store:
        mark_simulated(store)
    return built


@pytest.fixture(scope="session")
def mapped_db(mapped_survey) -> Path:
    return mapped_survey.db


@pytest.fixture(scope="session")
def evil_db(hostile_village, tmp_path_factory) -> Path:
    """Operator, dusun, notes and a tower's technology that are HTML (<img src=x onerror=alert(1)>)."""
    from fixtures import copy_survey

    return copy_survey(hostile_village, tmp_path_factory.mktemp("evil") / "survey").db


@pytest.fixture(scope="session")
def evil_mapped_db(tmp_path_factory) -> Path:
    """The hostile survey with a basemap whose road, place and facility names are HTML payloads."""
    from dataclasses import replace

    from fixtures import HOSTILE, build_survey

    return build_survey(tmp_path_factory.mktemp("evil-mapped") / "survey", replace(HOSTILE, context=True)).db


def chromium_path() -> str:
    """The Chromium binary; skip (or fail when CI=true) when it is not installed."""
    path = os.environ.get("SURVEYOR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        reason = "headless Chromium (Debian package chromium) is not installed"
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)
    return path


class RequestRecorder:
    """A proxy that refuses everything and records what was asked: Chromium's only way out."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first = "?"
                self.requests.append(first)
                try:
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def page_requests(self) -> list[str]:
        """Requests other than Chromium's own background services (update, time, accounts checks,
        which it makes even for an empty page despite --disable-background-networking)."""
        import re

        out = []
        for line in self.requests:
            m = re.match(r"^[A-Z]+ (?:https?://)?([^/:\s]+)", line)
            host = m.group(1) if m else ""
            if not re.search(r"(^|\.)(google\.com|googleapis\.com|gstatic\.com|gvt1\.com)$", host):
                out.append(line)
        return out

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def chromium(tmp_path):
    """Run headless Chromium on a file; every network request goes to a recording proxy."""
    exe = chromium_path()
    recorder = RequestRecorder()

    def run(html: Path, *, screenshot: Path | None = None, dump_dom: bool = False, budget_ms: int = 4000):
        profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
        profile.mkdir()
        args = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                f"--proxy-server=http://127.0.0.1:{recorder.port}", "--proxy-bypass-list=<-loopback>",
                f"--virtual-time-budget={budget_ms}"]
        if screenshot is not None:
            args.append(f"--screenshot={screenshot}")
        if dump_dom:
            args.append("--dump-dom")
        args.append(html.resolve().as_uri())
        proc = subprocess.run(args, capture_output=True, text=True, timeout=90)
        return proc

    run.recorder = recorder
    yield run
    recorder.close()


# Injected at the very top of <head> in a copy of the map: collects errors, alerts and resources,
# then (after load) toggles layers and opens every popup, and writes the results into the DOM.
PROBE_HEAD = """<script>
window.__probe = {errors: [], alerts: [], console: []};
window.addEventListener('error', function (e) { __probe.errors.push(String(e.message || e.type)); }, true);
window.alert = function (m) { __probe.alerts.push(String(m)); };
window.confirm = window.prompt = window.alert;
var __ce = console.error; console.error = function () { __probe.console.push([].join.call(arguments, ' ')); };
</script>"""

PROBE_TAIL = """<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var out = __probe;
    var map = window.svyMap;
    var paths = function () { return document.querySelectorAll('.leaflet-overlay-pane path').length; };
    out.labels = [].map.call(document.querySelectorAll('.leaflet-control-layers-overlays label'),
                             function (l) { return l.textContent.trim(); });
    out.paths_start = paths();
    out.dashed = document.querySelectorAll('.leaflet-overlay-pane path[stroke-dasharray="3 3"]').length;
    out.toggles = [];
    [].forEach.call(document.querySelectorAll('.leaflet-control-layers-overlays label'), function (l) {
      var input = l.querySelector('input');
      var before = paths();
      input.click();
      var after = paths();
      input.click();
      out.toggles.push([l.textContent.trim(), before, after, paths()]);
    });
    var popups = 0, imgs = 0, texts = [];
    map.eachLayer(function (l) {
      if (l.feature && l.getPopup && l.getPopup() && popups < 3000) {
        l.openPopup();
        // The popup's own element: a closing popup stays in the DOM while it fades out.
        var el = l.getPopup().getElement();
        var c = el && el.querySelector('.leaflet-popup-content');
        if (c) { imgs += c.querySelectorAll('img,script,iframe').length; texts.push(c.textContent); }
        popups += 1;
      }
    });
    out.popups = popups; out.popup_imgs = imgs; out.popup_text = texts.join('\\n');
    out.tooltips = [].map.call(document.querySelectorAll('.leaflet-tooltip'), function (t) { return t.textContent; });
    out.resources = performance.getEntriesByType('resource').map(function (r) { return r.name; });
    out.bad_imgs = document.querySelectorAll('img[src="x"]').length;
    var pre = document.createElement('pre'); pre.id = 'probe-result';
    pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
  }, 300);
});
</script>"""


def probe_copy(html: Path, dest: Path) -> Path:
    text = html.read_text(encoding="utf-8")
    text = text.replace("<head>", "<head>" + PROBE_HEAD, 1)
    text = text.replace("</body>", PROBE_TAIL + "</body>", 1)
    dest.write_text(text, encoding="utf-8")
    return dest


def probe_result(dom: str) -> dict:
    import html as _html
    import re

    m = re.search(r'<pre id="probe-result">(.*?)</pre>', dom, re.S)
    assert m, "the probe did not run (page did not load?): " + dom[-2000:]
    return json.loads(_html.unescape(m.group(1)))
