"""Fixtures for the map and print tests: survey databases (tests/fixtures), and the Chromium
helpers tests/test_payloads.py uses (the map tests themselves drive Chromium with playwright)."""

from __future__ import annotations

import json
import os
import shutil
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
    from surveyor.app.demo import mark_simulated
    from surveyor.store import open_store

    from fixtures import copy_survey

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
