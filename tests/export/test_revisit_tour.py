"""`surveyor revisit`: a walking order from a start, names by dusun and place, only inside the
village, in the chosen language; GPX waypoints named the same way."""

from __future__ import annotations

import csv
import io
import itertools
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import shapely

from surveyor.geo.distance import haversine_m
from surveyor.outputs.zones import walking_order

GPX = {"g": "http://www.topografix.com/GPX/1/1"}


def tour_length(lat, lon, order, start):
    pts = [start] + [(lat[i], lon[i]) for i in order]
    return sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in zip(pts, pts[1:]))


def test_walking_order_is_close_to_the_shortest_walk():
    rng = np.random.default_rng(3)
    for _ in range(5):
        lat = -7.44 + rng.uniform(0, 0.01, 7)
        lon = 109.85 + rng.uniform(0, 0.01, 7)
        start = (-7.44, 109.85)
        best = min(tour_length(lat, lon, p, start) for p in itertools.permutations(range(7)))
        order = walking_order(lat, lon, start)
        assert sorted(order) == list(range(7))
        assert tour_length(lat, lon, order, start) <= best * 1.10


def _stops(invoke, survey, *args):
    r = invoke("revisit", "--db", str(survey.db), "--config", str(survey.folder / "survey.toml"),
               "--format", "csv", *args)
    assert r.exit_code == 0, r.output
    return list(csv.DictReader(io.StringIO(r.stdout)))


def test_tour_stays_inside_the_village_in_walking_order_named_by_dusun(invoke, survey, store):
    from surveyor.config import load_settings
    from surveyor.geo.areas import load_boundary

    settings = load_settings(survey.folder / "survey.toml")
    stops = _stops(invoke, survey, "--from", "Krajan")
    assert stops and [int(s["stop"]) for s in stops] == list(range(1, len(stops) + 1))
    boundary = load_boundary(settings)
    lat = np.array([float(s["lat"]) for s in stops])
    lon = np.array([float(s["lon"]) for s in stops])
    assert shapely.intersects_xy(boundary, lon, lat).all()
    cells = store.read_layer("cells", where="status = 'insufficient'")
    outside = cells[~shapely.intersects_xy(boundary, cells["lon"].to_numpy(float), cells["lat"].to_numpy(float))]
    assert not set(outside["h3"]) & {s["h3"] for s in stops}
    for s in stops:
        assert s["name"].startswith("Dusun ") and s["h3"] not in s["name"]
    # The legs add up, and the walk is far shorter than visiting the places in the layer's order.
    total = np.cumsum([float(s["leg_m"]) for s in stops])
    assert float(stops[-1]["total_m"]) == pytest.approx(total[-1])
    dusun = __import__("surveyor.geo.areas", fromlist=["load_dusun"]).load_dusun(settings)
    krajan = dusun[dusun["name"] == "Krajan"].geometry.iloc[0].representative_point()
    naive = tour_length(lat, lon, np.argsort([s["h3"] for s in stops]), (krajan.y, krajan.x))
    assert total[-1] < naive
    assert float(stops[0]["leg_m"]) == pytest.approx(haversine_m(krajan.y, krajan.x, lat[0], lon[0]), rel=1e-6)


def test_from_a_point_or_a_bad_start(invoke, survey):
    stops = _stops(invoke, survey, "--from", "-7.4300,109.8500")
    first = stops[0]
    d0 = haversine_m(-7.43, 109.85, float(first["lat"]), float(first["lon"]))
    others = [haversine_m(-7.43, 109.85, float(s["lat"]), float(s["lon"])) for s in stops]
    assert d0 == pytest.approx(min(others))  # the walk starts at the place nearest the start
    r = invoke("revisit", "--db", str(survey.db), "--config", str(survey.folder / "survey.toml"), "--from", "Nowhere")
    assert r.exit_code == 2 and "Krajan" in r.stderr


def test_gpx_and_table_in_the_chosen_language(invoke, survey):
    r = invoke("revisit", "--db", str(survey.db), "--config", str(survey.folder / "survey.toml"),
               "--format", "GPX", "--lang", "id", "--from", "Krajan")
    assert r.exit_code == 0, r.output
    wpts = ET.fromstring(r.stdout).findall("g:wpt", GPX)
    names = [w.find("g:name", GPX).text for w in wpts]
    assert names[0].startswith("1. Dusun ") and names[1].startswith("2. ")
    assert "dari perhentian sebelumnya" in wpts[0].find("g:desc", GPX).text
    assert not any("more checks" in w.find("g:desc", GPX).text for w in wpts)
    r = invoke("revisit", "--db", str(survey.db), "--config", str(survey.folder / "survey.toml"), "--lang", "EN")
    assert r.exit_code == 0 and "what is needed" in r.stdout and "places to revisit" in r.stderr
