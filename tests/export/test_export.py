"""Exports parse with independent readers, match the database, and keep untrusted text harmless."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from surveyor.config import ExclusionZone, Settings
from surveyor.errors import InvalidRequest
from surveyor.export import export_layer, neutralize
from surveyor.i18n import glossary
from surveyor.testing.simulate import DEFAULT_VOLUNTEERS

from fixtures import HOSTILE_NOTE, HOSTILE_VOLUNTEER

KML = "{http://www.opengis.net/kml/2.2}"


def _db_count(store, layer):
    return len(store.read_samples()) if layer == "samples" else len(store.read_layer(layer))


def _read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("layer", ["samples", "cells", "dead_zones", "sites"])
def test_every_format_parses_and_counts_match(store, settings, tmp_path, layer):
    import openpyxl
    import pyogrio

    n = _db_count(store, layer)
    assert n > 0
    assert len(_read_csv(export_layer(store, settings, tmp_path / "x.csv", layer=layer))) == n
    assert len(pyogrio.read_dataframe(export_layer(store, settings, tmp_path / "x.geojson", layer=layer))) == n
    assert len(pyogrio.read_dataframe(export_layer(store, settings, tmp_path / "x.gpkg", layer=layer))) == n
    ws = openpyxl.load_workbook(export_layer(store, settings, tmp_path / "x.xlsx", layer=layer)).active
    assert ws.max_row - 1 == n
    root = ET.parse(export_layer(store, settings, tmp_path / "x.kml", layer=layer, show_samples=True)).getroot()
    assert root.tag == f"{KML}kml"
    # KML draws places: samples logged before the GPS had a fix have none and are left out. The
    # village boundary is one placemark more.
    placed = int(store.read_samples(["lat"])["lat"].notna().sum()) if layer == "samples" else n
    assert len(root.findall(f".//{KML}Placemark")) == placed + 1


def test_kml_is_styled_by_status_with_evidence(store, settings, tmp_path):
    root = ET.parse(export_layer(store, settings, tmp_path / "z.kml", layer="dead_zones")).getroot()
    styles = {s.get("id") for s in root.iter(f"{KML}Style")}
    assert {"dead", "marginal", "covered", "insufficient", "not_surveyed"} <= styles
    marks = root.findall(f".//{KML}Folder/{KML}Placemark")
    names = {m.findtext(f"{KML}name") for m in marks}
    assert names == set(store.read_layer("dead_zones")["zone_id"])
    desc = marks[0].findtext(f"{KML}description")
    assert "efektif" in desc and glossary.label("dead", "id") in desc
    assert all(m.findtext(f"{KML}styleUrl") == "#dead" for m in marks)
    boundary = [m for m in root.findall(f"{KML}Document/{KML}Placemark")]
    assert [m.findtext(f"{KML}name") for m in boundary] == ["Desa Lipursari"]
    assert boundary[0].find(f".//{KML}Polygon") is not None


def test_kml_escapes_html_and_cdata_payloads(store, settings, tmp_path):
    path = export_layer(store, settings, tmp_path / "s.kml", layer="samples", show_samples=True)
    root = ET.parse(path).getroot()  # ]]> in a note must not break the document
    descs = [m.findtext(f"{KML}description") for m in root.iter(f"{KML}Placemark")]
    nasty = [d for d in descs if "evil.example" in d]
    assert nasty, "the note must survive"
    # Inside the description (HTML for Google Earth) the payload is escaped text, not markup.
    assert "<script>" not in nasty[0] and "&lt;script&gt;" in nasty[0]
    assert "<b>bold</b>" not in nasty[0]
    raw = path.read_text(encoding="utf-8")
    assert "<script>" not in raw


def test_kml_samples_are_styled_by_the_coverage_rules(store, settings, tmp_path):
    from surveyor.analyse.rules import negative_reasons, rsrp_classes

    root = ET.parse(export_layer(store, settings, tmp_path / "s.kml", layer="samples", show_samples=True)).getroot()
    styles = {s.get("id") for s in root.iter(f"{KML}Style")}
    used = [m.findtext(f"{KML}styleUrl").lstrip("#") for m in root.iter(f"{KML}Placemark")
            if m.findtext(f"{KML}styleUrl") != "#boundary"]
    assert set(used) <= styles, "every placemark's style is defined"
    samples = store.read_samples()
    samples = samples[samples["lat"].notna()]
    negative = negative_reasons(samples, settings).notna().to_numpy()
    assert used.count("negative") == negative.sum() > 0
    classes = rsrp_classes(samples["rsrp_dbm"][~negative], settings)
    for name in ("excellent", "good", "fair", "poor"):
        assert used.count(name) == (classes == name).sum()


def test_csv_and_xlsx_neutralise_formulas_but_keep_negative_numbers(store, settings, tmp_path):
    import openpyxl

    rows = _read_csv(export_layer(store, settings, tmp_path / "s.csv", layer="samples"))
    notes = [r["note"] for r in rows if r["note"]]
    # The formula is neutralised; the volunteers' plain notes are exported as they are.
    assert "'" + HOSTILE_NOTE in notes
    stored = set(store.read_samples(["note"])["note"].dropna())
    assert {n for n in notes if n != "'" + HOSTILE_NOTE} == stored - {HOSTILE_NOTE} != set()
    vols = {r["volunteer"] for r in rows}
    assert HOSTILE_VOLUNTEER in vols  # does not start with a formula character: unchanged
    assert any(r["rsrp_dbm"].startswith("-1") for r in rows)
    ws = openpyxl.load_workbook(export_layer(store, settings, tmp_path / "s.xlsx", layer="samples")).active
    header = [c.value for c in ws[1]]
    note_col, rsrp_col = header.index("note"), header.index("rsrp_dbm")
    values = list(ws.iter_rows(min_row=2, values_only=True))
    cells = [r[note_col] for r in values if r[note_col]]
    assert "'" + HOSTILE_NOTE in cells and HOSTILE_NOTE not in cells
    assert all(ws.cell(row=i + 2, column=note_col + 1).data_type == "s" for i, r in enumerate(values) if r[note_col])
    assert any(isinstance(r[rsrp_col], (int, float)) and r[rsrp_col] < 0 for r in values)


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1+2", "'+1+2"), ("-2+3", "'-2+3"), ("@SUM(1)", "'@SUM(1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("-115", "-115"), ("-7.43", "-7.43"), (-115.0, -115.0), ("ok", "ok"),
])
def test_neutralize(value, expected):
    assert neutralize(value) == expected


def test_anonymized_samples_have_no_personal_strings_and_cell_centre_positions(store, survey, settings, tmp_path):
    import h3
    import pyogrio

    for suffix in ("csv", "kml", "geojson", "xlsx", "gpkg"):
        path = export_layer(store, settings, tmp_path / f"a.{suffix}", layer="samples", anonymize=True)
        if suffix == "xlsx":
            import openpyxl

            text = " ".join(str(v) for r in openpyxl.load_workbook(path).active.iter_rows(values_only=True) for v in r)
        elif suffix == "gpkg":
            text = pyogrio.read_dataframe(path).to_csv()
        else:
            text = path.read_text(encoding="utf-8")
        for secret in survey.personal_strings():
            assert secret not in text, (suffix, secret)
    rows = _read_csv(tmp_path / "a.csv")
    assert len(rows) == len(store.read_samples())
    assert "volunteer" not in rows[0] and "device" not in rows[0] and "note" not in rows[0]
    assert DEFAULT_VOLUNTEERS[0].device_model in {r["device_model"] for r in rows}  # not personal: kept
    for r in [r for r in rows if r["lat"]][:20]:
        lat, lon = h3.cell_to_latlng(h3.int_to_str(int(r["h3_10"])))
        assert float(r["lat"]) == pytest.approx(lat, abs=1e-9) and float(r["lon"]) == pytest.approx(lon, abs=1e-9)
    sessions = store.read_samples(["session"])["session"].nunique()
    assert sessions > 1 and {r["session"] for r in rows} == {f"S{i:03d}" for i in range(1, sessions + 1)}


def test_exclusion_zones_apply_with_and_without_anonymize(store, tmp_path):
    samples = store.read_samples()
    home = samples.iloc[len(samples) // 2]
    settings = Settings(exclusion_zones=(ExclusionZone(float(home["lat"]), float(home["lon"]), 60.0, "home"),))
    from surveyor.geo.exclusion import excluded_mask

    inside = int(excluded_mask(samples["lat"], samples["lon"], settings).sum())
    assert inside > 0
    rows = _read_csv(export_layer(store, settings, tmp_path / "s.csv", layer="samples"))
    assert len(rows) == len(samples) - inside
    placed = [r for r in rows if r["lat"]]  # samples without a position are in no zone
    assert not excluded_mask(np.array([float(r["lat"]) for r in placed]), np.array([float(r["lon"]) for r in placed]),
                             settings).any()
    anon = _read_csv(export_layer(store, settings, tmp_path / "a.csv", layer="samples", anonymize=True))
    assert len(anon) < len(rows)  # whole cells touching the zone go
    cells = _read_csv(export_layer(store, settings, tmp_path / "c.csv", layer="cells"))
    assert len(cells) < len(store.read_layer("cells"))


def test_kml_uses_the_glossary_words_the_map_palette_and_rounded_values(store, settings, tmp_path):
    from surveyor.export import kml_colour
    from surveyor.render.style import CLASS_BY_KEY

    for lang in ("id", "en"):
        root = ET.parse(export_layer(store, settings, tmp_path / f"c-{lang}.kml", layer="cells", lang=lang)).getroot()
        styles = {s.get("id"): s for s in root.iter(f"{KML}Style")}
        for key, cls in CLASS_BY_KEY.items():
            assert styles[key].findtext(f"{KML}IconStyle/{KML}color") == kml_colour(cls.colour)
        names = {m.findtext(f"{KML}name").split(": ", 1)[-1] for m in root.iter(f"{KML}Placemark")
                 if m.findtext(f"{KML}styleUrl") != "#boundary"}
        assert names <= {glossary.label(k, lang) for k in glossary.CLASS_KEYS}
        assert glossary.label("covered", lang) in names
    values = [d.findtext(f"{KML}value") for d in root.iter(f"{KML}Data") if d.get("name") == "lat"]
    assert values and all(len(v.split(".")[1]) <= 6 for v in values)
    shares = [d.findtext(f"{KML}value") for d in root.iter(f"{KML}Data") if d.get("name") == "share_negative"]
    assert shares and all(len(v.split(".")[-1]) <= 3 for v in shares)


def test_samples_kml_is_aggregated_per_cell_by_default(store, settings, tmp_path):
    small = export_layer(store, settings, tmp_path / "agg.kml", layer="samples")
    full = export_layer(store, settings, tmp_path / "all.kml", layer="samples", show_samples=True)
    assert small.stat().st_size * 3 < full.stat().st_size
    root = ET.parse(small).getroot()
    marks = [m for m in root.iter(f"{KML}Placemark") if m.findtext(f"{KML}styleUrl") != "#boundary"]
    samples = store.read_samples(["operator", "h3_10", "lat"])
    placed = samples[samples["lat"].notna()]
    assert len(marks) == len(placed.groupby(["operator", "h3_10"]))
    counts = sum(int(d.findtext(f"{KML}value")) for d in root.iter(f"{KML}Data") if d.get("name") == "samples")
    assert counts == len(placed)


def test_refuses_overwrite_and_unknown_formats(store, survey_db, settings, tmp_path, invoke):
    out = tmp_path / "z.csv"
    r = invoke("export", "--db", str(survey_db), "--out", str(out))
    assert r.exit_code == 0, r.output
    before = out.read_bytes()
    r = invoke("export", "--db", str(survey_db), "--out", str(out), "--layer", "cells")
    assert r.exit_code == 1 and "exists already" in r.stderr and out.read_bytes() == before
    r = invoke("export", "--db", str(survey_db), "--out", str(out), "--layer", "cells", "--overwrite")
    assert r.exit_code == 0 and out.read_bytes() != before
    with pytest.raises(InvalidRequest, match="--format"):
        export_layer(store, settings, tmp_path / "z.txt", layer="cells")
    with pytest.raises(InvalidRequest, match=r"\.csv or \.xlsx"):
        export_layer(store, settings, tmp_path / "b.kml", fmt="blankspot")
    with pytest.raises(InvalidRequest, match=r"33\.07\.05\.2002"):
        export_layer(store, settings, tmp_path / "q.csv", layer="cells", area="99.99")


def test_export_before_analysis_says_run_analyze(merged_only, tmp_path, settings):
    from surveyor.errors import NothingToDo
    from surveyor.store import open_store

    with open_store(str(merged_only.db)) as store, pytest.raises(NothingToDo, match="surveyor analyze"):
        export_layer(store, settings, tmp_path / "z.kml", layer="dead_zones")


def test_cli_export_prints_the_path(survey_db, tmp_path, runner):
    from surveyor.cli import cli

    out = tmp_path / "bs.xlsx"
    res = runner.invoke(cli, ["export", "--db", str(survey_db), "--format", "blankspot", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(out)
    res = runner.invoke(cli, ["export", "--db", str(survey_db), "--out", str(tmp_path / "x.txt")])
    assert res.exit_code != 0


def test_reviewer_recomputes_a_dead_zone_from_the_samples_csv(store, settings, tmp_path):
    """From the CSV of samples alone (plus the zone outline), recompute DZ-TSEL-01's evidence.

    As a reviewer would, by the rules of the report: the samples of Telkomsel that count (signal and
    manual, placed, outdoor, GPS accuracy within 50 m or unknown), thinned per walk to those 10 s and
    20 m from the last counted one along the whole walk, then those inside the zone.
    """
    import pyogrio
    import shapely
    from scipy.stats import beta

    from surveyor.geo.distance import haversine_m as distance_m

    rows = _read_csv(export_layer(store, settings, tmp_path / "s.csv", layer="samples"))
    zones = pyogrio.read_dataframe(export_layer(store, settings, tmp_path / "z.geojson", layer="dead_zones"))
    zone = zones[zones["zone_id"] == "DZ-TSEL-01"].iloc[0]
    poly = zone.geometry.buffer(1e-9)
    walks = [r for r in rows if r["operator"] == "Telkomsel" and r["kind"] in ("signal", "manual")
             and r["environment"] != "indoor" and (not r["accuracy_m"] or float(r["accuracy_m"]) <= 50)
             and r["lat"]]
    raw = eff = neg = 0
    last: dict[str, tuple] = {}
    for r in sorted(walks, key=lambda r: (r["session"], r["time"])):
        t = np.datetime64(r["time"].rstrip("Z"))
        lat, lon = float(r["lat"]), float(r["lon"])
        inside = poly.contains(shapely.Point(lon, lat))
        raw += inside
        prev = last.get(r["session"])
        if prev is not None and not ((t - prev[0]) / np.timedelta64(1, "s") >= 10
                                     and distance_m(prev[1], prev[2], lat, lon) >= 20):
            continue
        last[r["session"]] = (t, lat, lon)
        if not inside:
            continue
        eff += 1
        rsrp = float(r["rsrp_dbm"]) if r["rsrp_dbm"] else None
        negative = (r["service"] == "no_service" or r["tech"] == "NONE"
                    or (r["kind"] == "manual" and r["level"] and int(r["level"]) <= 1)
                    or (r["kind"] == "signal" and (r["tech"] in ("GSM", "UMTS") or (rsrp is not None and rsrp < -115))))
        neg += negative
    assert 0 < neg <= eff < raw
    lower = beta.ppf(0.05, neg, eff - neg + 1) if neg else 0.0
    upper = beta.ppf(0.95, neg + 1, eff - neg) if neg < eff else 1.0
    assert raw == zone["samples_raw"]
    assert eff == zone["samples_effective"]
    assert neg == zone["negatives_effective"]
    assert lower == pytest.approx(zone["lower_95"], abs=1e-6)
    assert upper == pytest.approx(zone["upper_95"], abs=1e-6)
