"""The HTML map in real headless Chromium with no network: it draws, has no errors, asks for
nothing over the network, its layer control toggles layers, and input text stays text."""

from __future__ import annotations

import numpy as np
import pytest

from surveyor.config import Settings
from surveyor.render import style as st
from surveyor.render.html_map import render_map
from surveyor.store import open_store

from fixtures import EVIL

from .conftest import probe_copy, probe_result

pytestmark = pytest.mark.browser


def blended(colour: str, alpha: float) -> np.ndarray:
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
    return alpha * rgb + (1 - alpha) * 255.0


def count_colour(img: np.ndarray, rgb: np.ndarray, tol: float = 8) -> int:
    return int((np.abs(img[:, :, :3].astype(float) - rgb).max(axis=2) <= tol).sum())


@pytest.fixture(scope="module")
def en_map(map_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("map") / "coverage.html"
    with open_store(str(map_db)) as store:
        return render_map(store, Settings(), out, lang="en")


def test_screenshot_shows_every_class_colour(en_map, chromium, tmp_path):
    from PIL import Image

    # The legend's swatches have the class colours too: hide legend and title so only the map counts.
    shot_html = tmp_path / "shot.html"
    shot_html.write_text(en_map.read_text(encoding="utf-8").replace(
        "</head>", "<style>.svy-box{display:none !important}</style></head>", 1), encoding="utf-8")
    png = tmp_path / "shot.png"
    proc = chromium(shot_html, screenshot=png)
    assert png.exists(), proc.stderr[-2000:]
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[:2] == (900, 1200)
    counts = {c.key: count_colour(img, blended(c.colour, c.fill_opacity))
              for c in st.CLASSES if c.fill_opacity > 0}
    # Each class covers at least dozens of 70 m hexagons of the first operator.
    assert all(n > 800 for n in counts.values()), counts
    assert chromium.recorder.page_requests() == []


def test_loads_without_errors_or_network_and_layer_control_toggles(en_map, map_db, chromium, tmp_path):
    from surveyor.i18n import format_number

    page = probe_copy(en_map, tmp_path / "probe.html")
    proc = chromium(page, dump_dom=True)
    r = probe_result(proc.stdout)
    assert r["errors"] == [] and r["console"] == [] and r["alerts"] == []
    assert chromium.recorder.page_requests() == []
    assert all(u.startswith(("data:", "file:")) for u in r["resources"]), r["resources"]
    # Layers: per operator coverage, dead zones, sites; towers; boundary.
    assert {"Telkomsel: coverage", "Telkomsel: dead zones", "Telkomsel: suggested sites", "Indosat: coverage",
            "Indosat: dead zones", "Known towers", "Village boundary"} <= set(r["labels"])
    toggles = {label: (before, after, again) for label, before, after, again in r["toggles"]}
    before, after, again = toggles["Telkomsel: coverage"]
    assert after < before - 100 and again == before  # shown at start: hiding removes its cells
    before, after, again = toggles["Indosat: coverage"]
    assert after > before + 100 and again == before  # hidden at start: showing adds its cells
    assert r["dashed"] > 10  # not-surveyed cells are drawn, as dashed outlines
    assert r["popups"] > 100 and r["popup_imgs"] == 0
    with open_store(str(map_db)) as store:
        zones = store.read_layer("dead_zones")
    shown = zones[zones["operator"] == "Telkomsel"]  # the first operator is shown at start
    assert len(shown) and set(shown["zone_id"]) <= set(r["tooltips"])
    first = zones[zones["zone_id"] == "DZ-TSEL-01"].iloc[0]  # the way out of a dead zone, in its popup
    assert (f"walk {format_number(first['nearest_signal_m'], 'en')} m {first['nearest_signal_direction']}"
            in r["popup_text"])


def test_hostile_text_stays_text_in_chromium(evil_db, chromium, tmp_path):
    out = tmp_path / "evil.html"
    with open_store(str(evil_db)) as store:
        render_map(store, Settings(), out, lang="en", show_samples=True,
                   operators=["Telkomsel", EVIL])
    page = probe_copy(out, tmp_path / "evil-probe.html")
    proc = chromium(page, dump_dom=True)
    r = probe_result(proc.stdout)
    assert r["alerts"] == [] and r["errors"] == []
    assert r["bad_imgs"] == 0 and r["popup_imgs"] == 0
    assert f"{EVIL}: coverage" in r["labels"]  # the operator name shows as text in the layer control
    assert EVIL in r["popup_text"]  # and in popups (dusun, notes, tower operator)
    assert chromium.recorder.page_requests() == []
