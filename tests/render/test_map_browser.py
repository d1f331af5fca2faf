"""The HTML map in real headless Chromium (the system browser, driven by playwright), at a phone's
size (412 x 860) and a desktop's (1400 x 1000): it draws with no error and asks nothing of the
network; no control overlaps another, the open legend or an open popup; the operator switch, the
layer control and "where am I" work; input text stays text."""

from __future__ import annotations

import itertools

import pytest

from surveyor.config import Settings
from surveyor.render.html_map import render_map
from surveyor.store import open_store

from conftest import CHROMIUM_ARGS, PHONE
from fixtures import EVIL

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1400, "height": 1000}}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
# Everything a reader can press or read around the map; none may cover another.
CONTROLS = ["#svy-title", "#svy-ops", "#svy-legend-btn", "#svy-sim", "#svy-status", ".leaflet-control-zoom",
            ".svy-locate", ".leaflet-control-layers", ".leaflet-control-scale", ".leaflet-control-attribution",
            "#svy-legend"]
RECTS_JS = """(sels) => sels.map((s) => {
  const el = document.querySelector(s);
  if (!el) return [s, null];
  const r = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  if (!r.width || !r.height || style.display === 'none' || style.visibility === 'hidden') return [s, null];
  return [s, [r.left, r.top, r.right, r.bottom]];
})"""


@pytest.fixture(scope="module")
def browser(playwright):
    b = playwright.chromium.launch(executable_path=playwright.chromium_exe, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def en_map(mapped_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("map") / "coverage.html"
    with open_store(str(mapped_db)) as store:
        return render_map(store, Settings(), out, lang="en")


class Page:
    """A page of the map with every request and error it caused."""

    def __init__(self, browser, html, size: str, **context):
        self.context = browser.new_context(**SIZES[size], **context)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.goto(html.resolve().as_uri())
        self.page.wait_for_function("window.svyMap !== undefined")
        self.page.wait_for_timeout(300)

    def rects(self, selectors=CONTROLS) -> dict[str, list[float]]:
        return {s: r for s, r in self.page.evaluate(RECTS_JS, selectors) if r is not None}

    def network(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]

    def close(self):
        self.context.close()


def overlap(a, b, tol: float = 0.5) -> bool:
    return a[0] < b[2] - tol and b[0] < a[2] - tol and a[1] < b[3] - tol and b[1] < a[3] - tol


def assert_apart(rects: dict[str, list[float]]):
    for (a, ra), (b, rb) in itertools.combinations(rects.items(), 2):
        assert not overlap(ra, rb), (a, ra, b, rb)


def assert_credits_readable(p: Page) -> None:
    """The credits (Leaflet, and OpenStreetMap's licence when a basemap is drawn) are readable,
    not squeezed into a sliver."""
    scroll, client, width = p.page.evaluate("""() => {
        const el = document.querySelector('.leaflet-control-attribution');
        return [el.scrollWidth, el.clientWidth, el.getBoundingClientRect().width]; }""")
    assert scroll <= client + 1 and width >= 40, (scroll, client, width)


@pytest.mark.parametrize("size", SIZES)
def test_credits_are_readable_without_a_basemap(browser, map_db, tmp_path, size):
    # Only Leaflet's short credit: the box it sits in is as narrow as the word.
    with open_store(str(map_db)) as store:
        html = render_map(store, Settings(), tmp_path / "plain.html", lang="en")
    p = Page(browser, html, size)
    try:
        assert_credits_readable(p)
    finally:
        p.close()


@pytest.mark.parametrize("size", SIZES)
def test_controls_never_overlap_and_nothing_is_fetched(browser, en_map, size):
    p = Page(browser, en_map, size)
    try:
        start = p.rects()
        assert {".leaflet-control-zoom", ".svy-locate", ".leaflet-control-layers", ".leaflet-control-scale",
                ".leaflet-control-attribution", "#svy-legend-btn", "#svy-ops", "#svy-sim"} <= set(start)
        assert_apart(start)
        assert_credits_readable(p)
        # The legend: beside the map on a desktop, folded on a phone; opened or closed, apart.
        assert ("#svy-legend" in start) == (size == "desktop")
        p.page.click("#svy-legend-btn")
        p.page.wait_for_timeout(200)
        toggled = p.rects()
        assert ("#svy-legend" in toggled) == (size == "phone")
        assert_apart(toggled)
        # The layer list opened: it ends above the controls of the bottom corners.
        p.page.hover(".leaflet-control-layers")
        p.page.wait_for_selector(".leaflet-control-layers-expanded")
        assert_apart(p.rects())
        assert p.errors == []
        assert p.network() == []
    finally:
        p.close()


@pytest.mark.parametrize("size", SIZES)
def test_open_popups_stay_clear_of_every_control(browser, en_map, size):
    p = Page(browser, en_map, size)
    try:
        if size == "phone":
            p.page.click("#svy-legend-btn")  # the smallest map: legend open under it
            p.page.wait_for_timeout(200)
        # Each dead zone, and the cells nearest the four corners of the view (their popups open
        # where a control sits), and a site.
        n = p.page.evaluate("""() => {
          const m = window.svyMap, out = [];
          const size = m.getSize(), corners = [[0, 0], [size.x, 0], [0, size.y], [size.x, size.y]];
          const best = corners.map(() => [Infinity, null]);
          m.eachLayer((l) => {
            if (!l.feature || !l.getPopup || !l.getPopup()) return;
            if (l.feature.properties.t) out.push(l);
            const c = l.getBounds ? l.getBounds().getCenter() : l.getLatLng();
            const pt = m.latLngToContainerPoint(c);
            corners.forEach((k, i) => {
              const d = Math.hypot(pt.x - k[0], pt.y - k[1]);
              if (d < best[i][0]) best[i] = [d, l];
            });
          });
          window.__popupTargets = out.concat(best.map((b) => b[1]).filter(Boolean));
          return window.__popupTargets.length;
        }""")
        assert n >= 5
        for i in range(n):
            p.page.evaluate(f"() => {{ window.svyMap.closePopup(); window.__popupTargets[{i}].openPopup(); }}")
            p.page.wait_for_timeout(120)
            rects = p.rects()
            # The open popup's own element (a closed one fades out in the DOM for a moment).
            popup = p.page.evaluate(f"""() => {{ const r = window.__popupTargets[{i}].getPopup().getElement()
                .getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }}""")
            mapbox = p.rects(["#svy-map"])["#svy-map"]
            assert mapbox[0] - 1 <= popup[0] and popup[2] <= mapbox[2] + 1, (i, popup, mapbox)
            assert mapbox[1] - 1 <= popup[1] and popup[3] <= mapbox[3] + 1, (i, popup, mapbox)
            for name, r in rects.items():
                assert not overlap(popup, r), (i, name, popup, r)
        assert p.errors == [] and p.network() == []
    finally:
        p.close()


def test_operator_switch_names_the_operator_and_swaps_the_layers(browser, en_map):
    p = Page(browser, en_map, "desktop")
    try:
        count_js = """(op) => { let n = 0; window.svyMap.eachLayer((l) => {
            if (l.feature && l.feature.properties.p && l.feature.properties.p.startsWith('<b>' + op + '</b>')) n++; });
            return n; }"""
        assert p.page.inner_text("#svy-h1").endswith("Telkomsel")
        tsel = p.page.evaluate(count_js, "Telkomsel")
        assert tsel > 100 and p.page.evaluate(count_js, "Indosat") == 0
        p.page.click("#svy-ops label:has-text('Indosat')")
        p.page.wait_for_timeout(200)
        assert p.page.inner_text("#svy-h1").endswith("Indosat")
        assert "Legend: Indosat" in p.page.inner_text("#svy-legend")
        assert p.page.evaluate(count_js, "Telkomsel") == 0 and p.page.evaluate(count_js, "Indosat") > 100
        assert "DZ-ISAT-01" in p.page.inner_text(".leaflet-tooltip-pane")
        assert "DZ-TSEL-01" not in p.page.inner_text(".leaflet-tooltip-pane")
        assert p.errors == [] and p.network() == []
    finally:
        p.close()


def test_layer_control_offers_the_ground_and_online_layers_without_fetching(browser, en_map):
    p = Page(browser, en_map, "desktop")
    try:
        labels = p.page.evaluate("""() => [...document.querySelectorAll('.leaflet-control-layers label')]
                                      .map((l) => l.textContent.trim())""")
        for name in ("Village map (offline)", "OpenStreetMap (online)", "Satellite imagery (online)",
                     "Coverage (measured)",
                     "Predicted (not evidence)", "Dead zones", "Roads and paths", "Houses and buildings",
                     "Relief (hillshade)", "Place names"):
            assert name in labels, (name, labels)
        # The prediction is off at start; turned on, its hatched cells appear, and nothing is fetched.
        hatched = "() => document.querySelectorAll('.leaflet-svy-pred-pane path[fill^=\"url(#svy-hatch\"]').length"
        assert p.page.evaluate(hatched) == 0
        p.page.hover(".leaflet-control-layers")
        p.page.click(".leaflet-control-layers label:has-text('Predicted (not evidence)')")
        p.page.wait_for_timeout(200)
        assert p.page.evaluate(hatched) > 50
        assert p.errors == [] and p.network() == []
    finally:
        p.close()


def test_where_am_i_shows_the_phone_position_and_sends_it_nowhere(browser, en_map):
    here = {"latitude": -7.4372, "longitude": 109.8576, "accuracy": 12}
    p = Page(browser, en_map, "phone", geolocation=here, permissions=["geolocation"])
    try:
        p.page.click(".svy-locate a")
        p.page.wait_for_selector(".svy-me", timeout=5000)
        centre = p.page.evaluate("() => { const c = window.svyMap.getCenter(); return [c.lat, c.lng]; }")
        assert abs(centre[0] - here["latitude"]) < 0.001 and abs(centre[1] - here["longitude"]) < 0.001
        assert "within 12 m" in p.page.inner_text("#svy-status")
        assert_apart(p.rects())  # the status line pushes the map down; nothing overlaps
        assert p.errors == [] and p.network() == []
    finally:
        p.close()


def test_where_am_i_without_permission_says_what_to_do(browser, en_map):
    p = Page(browser, en_map, "phone")
    try:
        p.page.click(".svy-locate a")
        p.page.wait_for_function("document.getElementById('svy-status').textContent.includes('not available')",
                                 timeout=25000)
        assert p.page.query_selector(".svy-me") is None and p.network() == []
    finally:
        p.close()


def test_hostile_text_stays_text_in_chromium(browser, evil_db, tmp_path):
    out = tmp_path / "evil.html"
    with open_store(str(evil_db)) as store:
        render_map(store, Settings(), out, lang="en", show_samples=True, operators=["Telkomsel", EVIL])
    alerts = []
    p = Page(browser, out, "desktop")
    try:
        p.page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
        p.page.click("#svy-ops label:nth-child(2)")
        p.page.wait_for_timeout(200)
        assert EVIL in p.page.inner_text("#svy-h1")  # the operator name shows as text in the title
        texts = p.page.evaluate("""() => { const out = []; window.svyMap.eachLayer((l) => {
            if (l.feature && l.getPopup && l.getPopup()) { l.openPopup();
              const c = l.getPopup().getElement().querySelector('.leaflet-popup-content');
              out.push([c.textContent, c.querySelectorAll('img,script,iframe').length]); } });
            return out; }""")
        assert EVIL in " ".join(t for t, _n in texts) and all(n == 0 for _t, n in texts)
        assert p.page.query_selector("img[src='x']") is None
        assert alerts == [] and p.errors == [] and p.network() == []
    finally:
        p.close()
