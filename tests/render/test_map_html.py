"""The HTML map as a file: offline, small, escaped, private; and the `surveyor map` command."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from surveyor.config import ExclusionZone, Settings
from surveyor.render.html_map import external_references, render_map
from surveyor.store import open_store

from fixtures import EVIL, SurveySpec, build_survey, empty_survey


def map_data(text: str) -> dict:
    """The JSON data the page's script draws."""
    import json

    m = re.search(r'<script type="application/json" id="svy-data">(.*?)</script>', text, re.S)
    assert m, "no map data in the page"
    return json.loads(m.group(1))


def points_of(data: dict) -> list[tuple[float, float]]:
    """Every (lon, lat) of GeoJSON points in the data (sample points, sites, towers, facilities)."""
    out = []

    def walk(v):
        if isinstance(v, dict):
            if v.get("type") == "Point" and "coordinates" in v:
                out.append(tuple(v["coordinates"]))
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(data)
    return out


@pytest.fixture(scope="module")
def id_map(map_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("idmap") / "coverage.html"
    with open_store(str(map_db)) as store:
        render_map(store, Settings(), out, show_samples=True)
    return out.read_text(encoding="utf-8")


def test_self_contained_and_small(id_map):
    assert external_references(id_map) == []
    # Elements that load something (links a reader may click, like Leaflet's credit, are fine).
    assert not re.search(r"""<(script|img|iframe|embed|source|video|audio)\b[^>]*\bsrc\s*=\s*["']?https?://""",
                         id_map)
    assert not re.search(r"""<link\b[^>]*\bhref\s*=\s*["']?https?://""", id_map)
    assert "cdn." not in id_map and "jquery" not in id_map.lower() and "bootstrap" not in id_map.lower()
    assert "Leaflet 1.9.4" in id_map  # inlined, with its licence header
    assert "url(data:image/png;base64," in id_map  # layer-control icon inlined
    assert len(id_map.encode()) < 3_000_000


def test_indonesian_by_default_with_indonesian_numbers(id_map, map_db):
    from surveyor.i18n import format_number

    assert "Jangkauan 4G: Lipursari" in id_map
    assert "Keterangan" in id_map and "Belum disurvei" in id_map
    with open_store(str(map_db)) as store:
        samples = store.status().samples
    assert samples >= 1000 and "." in format_number(samples, "id")  # Indonesian thousands separator
    assert f"Pengukuran: {format_number(samples, 'id')}" in id_map


def test_no_volunteer_names_or_device_ids_even_with_samples(id_map, map_survey):
    for secret in (*map_survey.volunteers, *map_survey.devices):
        assert secret not in id_map, secret
    assert "Jalur survei" in id_map  # the walks are there (thinned) with --show-samples


def test_samples_only_on_request(map_db, tmp_path):
    out = tmp_path / "m.html"
    with open_store(str(map_db)) as store:
        render_map(store, Settings(), out, lang="en")
    text = out.read_text(encoding="utf-8")
    assert "Survey walks" not in text and "Measurements (thinned)" not in text


def test_hostile_text_is_escaped(evil_db, tmp_path):
    out = tmp_path / "evil.html"
    with open_store(str(evil_db)) as store:
        render_map(store, Settings(), out, lang="en", show_samples=True, operators=["Telkomsel", EVIL])
    text = out.read_text(encoding="utf-8")
    assert "<img src=x" not in text and "<img src=\\u0022x" not in text
    # Inside scripts the escaped text is JSON-encoded (< as \u003c); it is there, as text.
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in text or "&lt;img src=x onerror=alert(1)&gt;" in text


def test_tiles_are_the_only_network_reference(map_db, tmp_path):
    out = tmp_path / "osm.html"
    with open_store(str(map_db)) as store:
        render_map(store, Settings(), out, tiles="osm", lang="en")
    text = out.read_text(encoding="utf-8")
    assert external_references(text) == []
    urls = set(re.findall(r"https?://[^\s\"'<>\\]+", text))
    assert any("tile.openstreetmap.org" in u for u in urls)


def test_exclusion_zones_remove_cells(map_db, tmp_path):
    settings = Settings(exclusion_zones=(ExclusionZone(-7.436, 109.857, 300.0, "home"),))
    out_b = tmp_path / "b.html"
    with open_store(str(map_db)) as store:
        from surveyor.render.style import map_layers

        all_cells = map_layers(store, Settings())
        fewer = map_layers(store, settings)
        render_map(store, settings, out_b, lang="en", show_samples=True)
    assert len(fewer.cells) < len(all_cells.cells)
    from surveyor.geo.exclusion import exclusion_geometry

    zone = exclusion_geometry(settings)
    assert not fewer.cells.geometry.intersects(zone).any()
    # Sample points inside the zone are gone too: none within its radius (less the metre the map's
    # rounding of coordinates may move a point; the zone's polygon is a slightly larger outline).
    from surveyor.geo.distance import haversine_m

    pts = points_of(map_data(out_b.read_text(encoding="utf-8")))
    assert pts and min(haversine_m(-7.436, 109.857, float(y), float(x)) for x, y in pts) > 300.0 - 2.0


def test_large_area_rolls_up_to_coarser_cells(map_db, tmp_path, monkeypatch):
    from surveyor.render import style

    monkeypatch.setattr(style, "MAX_CELLS", 200)
    with open_store(str(map_db)) as store:
        layers = style.map_layers(store, Settings())
    assert layers.rolled_up and layers.resolution < 10
    assert set(layers.cells["resolution"]) == {layers.resolution}
    assert {"dead", "covered"} <= set(layers.cells["status"])


@pytest.mark.slow
def test_many_samples_do_not_grow_the_file(tmp_path):
    # The same walks logged every 30-40 s and every 1-1.5 s: the same cells, 25 times the samples.
    walks = SurveySpec(seed=3, n_volunteers=2, days=10)
    sizes, samples = {}, {}
    for name, interval_s in (("small", (30.0, 40.0)), ("large", (1.0, 1.5))):
        db = build_survey(tmp_path / name, replace(walks, interval_s=interval_s)).db
        with open_store(str(db)) as store:
            samples[name] = store.status().samples
            for show in (False, True):
                out = tmp_path / f"{name}-{show}.html"
                render_map(store, Settings(), out, show_samples=show)
                sizes[name, show] = out.stat().st_size
    assert samples["large"] > 20 * samples["small"]
    # Aggregates only: the file holds the cells, not the samples. More evidence changes what the
    # cells say (statuses and numbers in their popups), by a few percent, not with the samples.
    assert abs(sizes["large", False] - sizes["small", False]) < 0.05 * sizes["small", False]
    # With --show-samples the points and walks are thinned to a fixed budget.
    assert sizes["large", True] < 3_000_000


# -- the command ----------------------------------------------------------------------------------

def test_cli_writes_and_refuses_to_overwrite(invoke, map_db, tmp_path):
    out = tmp_path / "new" / "folder" / "map.html"
    r = invoke("map", "--db", str(map_db), "--out", str(out), "--lang", "en")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(out) and out.exists()
    assert "Created folder" in r.stderr
    assert sorted(p.name for p in (tmp_path / "new").rglob("*")) == ["folder", "map.html"]
    before = out.read_bytes()
    r = invoke("map", "--db", str(map_db), "--out", str(out))
    assert r.exit_code == 1
    assert "exists already" in r.stderr and "--overwrite" in r.stderr
    assert out.read_bytes() == before
    r = invoke("map", "--db", str(map_db), "--out", str(out), "--overwrite", "--operator", "Indosat")
    assert r.exit_code == 0, r.output
    data = map_data(out.read_text(encoding="utf-8"))
    assert [o["name"] for o in data["operators"]] == ["Indosat"]
    assert "Jangkauan 4G: Lipursari · Indosat" in out.read_text(encoding="utf-8")


def test_cli_empty_database_says_merge_first(invoke, tmp_path):
    db = empty_survey(tmp_path / "empty")
    out = tmp_path / "m.html"
    r = invoke("map", "--db", str(db), "--out", str(out))
    assert r.exit_code == 1
    assert "no survey samples" in r.stderr and "surveyor merge" in r.stderr
    assert not out.exists()


def test_cli_without_analysis_says_analyze_first(invoke, merged_only, tmp_path):
    db = merged_only.db
    out = tmp_path / "m.html"
    r = invoke("map", "--db", str(db), "--out", str(out))
    assert r.exit_code == 1
    assert "no coverage analysis" in r.stderr and "surveyor analyze" in r.stderr
    assert not out.exists()
    r = invoke("print", "--db", str(db), "--out", str(tmp_path / "m.pdf"))
    assert r.exit_code == 1 and "surveyor analyze" in r.stderr


def test_cli_unknown_operator_and_tiles(invoke, map_db, tmp_path):
    r = invoke("map", "--db", str(map_db), "--out", str(tmp_path / "a.html"), "--operator", "Nowhere")
    assert r.exit_code == 2 and "Nowhere" in r.stderr and "Telkomsel" in r.stderr  # a usage error everywhere
    r = invoke("map", "--db", str(map_db), "--out", str(tmp_path / "b.html"), "--tiles", "no.such.tiles")
    assert r.exit_code == 2 and "tile" in r.stderr.lower()


def test_commands_have_help(invoke):
    for name in ("map", "print"):
        r = invoke(name, "--help")
        assert r.exit_code == 0 and "--overwrite" in r.stdout and "--lang" in r.stdout


# -- the ground, the operators, the prediction, the marks ---------------------------------------------

@pytest.fixture(scope="module")
def mapped_html(mapped_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("mapped") / "coverage.html"
    with open_store(str(mapped_db)) as store:
        render_map(store, Settings(), out, lang="en")
    return out.read_text(encoding="utf-8")


def test_the_ground_is_drawn_from_the_geodatabase(mapped_html, mapped_db):
    data = map_data(mapped_html)
    base = {g["key"]: g for g in data["base"]}
    assert {"relief", "roads", "buildings", "water", "places", "facilities", "boundary"} <= set(base)
    relief = base["relief"]["layers"][0]
    assert relief["type"] == "image" and relief["url"].startswith("data:image/png;base64,")
    with open_store(str(mapped_db)) as store:
        roads, houses = store.read_layer("roads"), store.read_layer("buildings")
        places = store.read_layer("places")
    drawn_roads = sum(len(spec["coords"]) for spec in base["roads"]["layers"])
    assert drawn_roads >= len(roads)  # every road (a multi-part road is several lines)
    assert sum(len(spec["coords"]) for spec in base["buildings"]["layers"]) == len(houses)
    labels = [label[2] for label in base["places"]["layers"][0]["labels"]]
    assert set(places["name"]) == set(labels)
    # The ODbL credit of the OpenStreetMap layers, on the map.
    assert "© OpenStreetMap contributors, ODbL 1.0" in data["credits"]


def test_packed_lines_decode_to_the_stored_roads(mapped_html, mapped_db):
    """The page's compact coordinates (integer steps from an origin) are the roads, to a metre."""
    import numpy as np
    import shapely

    from surveyor.geo.distance import haversine_m

    data = map_data(mapped_html)
    scale, (x0, y0) = data["scale"], data["origin"]
    lines = [c for spec in next(g for g in data["base"] if g["key"] == "roads")["layers"] for c in spec["coords"]]
    with open_store(str(mapped_db)) as store:
        roads = shapely.union_all(store.read_layer("roads").geometry.values)
    for flat in lines[:20]:
        xy = (np.cumsum(np.asarray(flat).reshape(-1, 2), axis=0) + [x0, y0]) / scale
        near = [shapely.ops.nearest_points(roads, shapely.Point(x, y))[0] for x, y in xy]
        assert max(haversine_m(y, x, p.y, p.x) for (x, y), p in zip(xy, near)) < 3.0


def test_no_basemap_no_ground_and_no_osm_credit(map_db, tmp_path):
    out = tmp_path / "plain.html"
    with open_store(str(map_db)) as store:
        render_map(store, Settings(), out, lang="en")
    data = map_data(out.read_text(encoding="utf-8"))
    assert not {"relief", "roads", "buildings"} & {g["key"] for g in data["base"]}
    assert "OpenStreetMap" not in data["credits"]


def test_one_operator_at_a_time_named_in_title_and_legend(mapped_html):
    data = map_data(mapped_html)
    assert [o["name"] for o in data["operators"]] == ["Telkomsel", "Indosat"]
    for o in data["operators"]:
        assert o["title"].endswith("· " + o["name"]) and f"Legend: {o['name']}" in o["legend"]
        assert o["layers"]["coverage"]
    # The switch: one radio button per operator, the first checked.
    assert mapped_html.count('<input type="radio" name="svy-op"') == 2 and 'value="0" checked' in mapped_html
    assert {o["key"] for o in data["overlays"]} >= {"coverage", "zones", "predicted"}


def test_legend_and_popups_use_the_glossary(mapped_html):
    from surveyor.i18n.glossary import label

    data = map_data(mapped_html)
    legend = data["operators"][0]["legend"]
    for key in ("dead", "marginal", "covered", "insufficient", "not_surveyed", "predicted"):
        assert label(key, "en") in legend, key
    popups = " ".join(f["properties"].get("p", "") for spec in data["operators"][0]["layers"]["coverage"]
                      for f in spec["data"]["features"])
    assert "No usable 4G" in popups and "Weak signal" in popups
    for old in ("Mixed or weak", "Not enough checks yet", "dead zone)"):
        assert old not in mapped_html


def test_the_prediction_is_its_own_layer_off_at_start_and_never_over_evidence(mapped_html, mapped_db):
    data = map_data(mapped_html)
    assert next(o for o in data["overlays"] if o["key"] == "predicted")["show"] is False
    with open_store(str(mapped_db)) as store:
        cells = store.read_layer("cells")
    evidence = {(r.operator, r.h3) for r in cells.itertuples() if r.status in ("dead", "marginal", "covered")}
    shown = cells[cells["prediction_shown"].astype(bool)]
    for o in data["operators"]:
        feats = [f for spec in o["layers"]["predicted"] for f in spec["data"]["features"]]
        assert len(feats) == int((shown["operator"] == o["name"]).sum()) > 0
        assert all("Predicted (not evidence)" in f["properties"]["p"] for f in feats)
        assert all(spec["pattern"] for spec in o["layers"]["predicted"])  # hatched, never filled
    # No predicted cell sits where a cell of the same operator has an evidence class.
    assert not {(r.operator, r.h3) for r in shown.itertuples()} & evidence


def test_dead_zone_popups_say_how_to_get_there_and_why(mapped_html, mapped_db):
    data = map_data(mapped_html)
    with open_store(str(mapped_db)) as store:
        zones = store.read_layer("dead_zones")
    popups = {f["properties"]["t"]: f["properties"]["p"] for o in data["operators"]
              for spec in o["layers"]["zones"] for f in spec["data"]["features"]}
    assert set(popups) == set(zones["zone_id"])
    for z in zones.itertuples():
        p = popups[z.zone_id]
        assert "How to get there" in p and "Nearest hamlet" in p and "Terrain" in p
        assert ("Shadowed by a ridge" in p) == (z.terrain_verdict == "terrain")


def test_online_layers_are_offered_never_shown_at_start(map_db, tmp_path):
    with open_store(str(map_db)) as store:
        render_map(store, Settings(), tmp_path / "a.html", lang="en")
        render_map(store, Settings(), tmp_path / "b.html", lang="en", tiles="osm")
        render_map(store, Settings(), tmp_path / "c.html", lang="en", online_tiles=False)
    a, b, c = (map_data((tmp_path / n).read_text(encoding="utf-8"))["tiles"] for n in ("a.html", "b.html", "c.html"))
    assert len(a) == 2 and not any(t["show"] for t in a)
    assert any("openstreetmap" in t["url"] for t in a) and any("World_Imagery" in t["url"] for t in a)
    assert b[0]["show"] and "openstreetmap" in b[0]["url"] and len(b) == 2
    assert c == []


def test_a_simulated_survey_says_so(mapped_html, map_db, tmp_path):
    assert "SIMULASI / SIMULATED DATA" in mapped_html  # the mapped survey is marked, as the demo's is
    out = tmp_path / "real.html"
    with open_store(str(map_db)) as store:
        render_map(store, Settings(), out, lang="en")
    assert "SIMULASI" not in out.read_text(encoding="utf-8")


def test_many_houses_become_dots(mapped_db, tmp_path, monkeypatch):
    from surveyor.render import html_map

    monkeypatch.setattr(html_map, "MAX_BUILDING_POLYGONS", 10)
    out = tmp_path / "dots.html"
    with open_store(str(mapped_db)) as store:
        render_map(store, Settings(), out, lang="en")
        n = len(store.read_layer("buildings"))
    spec = next(g for g in map_data(out.read_text(encoding="utf-8"))["base"] if g["key"] == "buildings")["layers"][0]
    assert spec["type"] == "points" and len(spec["coords"]) == n


def test_basemap_names_are_escaped_text(evil_mapped_db, tmp_path):
    out = tmp_path / "evil-ground.html"
    with open_store(str(evil_mapped_db)) as store:
        render_map(store, Settings(), out, lang="en", operators=["Telkomsel", EVIL])
    text = out.read_text(encoding="utf-8")
    assert "<img src=x" not in text
    data = map_data(text)
    places = next(g for g in data["base"] if g["key"] == "places")["layers"][0]["labels"]
    assert all(label[2].startswith("&lt;img src=x onerror=alert(1)&gt; ") for label in places)
    popups = " ".join(o["layers"]["zones"][0]["data"]["features"][0]["properties"]["p"] for o in data["operators"]
                      if o["layers"]["zones"])
    assert "&lt;img src=x onerror=alert(1)&gt; Jalan" in popups  # the road's name in the way in
