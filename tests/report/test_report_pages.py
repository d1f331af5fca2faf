"""The report's map pages and dead-zone pages, its words and numbers, on the village with its
basemap and elevation model (marked as simulated data, as the demo's survey is)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from surveyor.config import Settings
from surveyor.store import open_store

from .conftest import pdf_pages, pdftotext


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_one_full_page_map_per_operator(mapped_pdf):
    if shutil.which("pdfimages") is None:
        pytest.skip("poppler-utils (pdfimages) is not installed")
    pages = pdf_pages(mapped_pdf)
    for op in ("Telkomsel", "Indosat"):
        page = next(p for p in pages if f"Peta: {op}" in p)
        assert len(_flat(page)) < 200  # the map (an image) fills the page: a heading, page footer, no table
    rows = subprocess.run(["pdfimages", "-list", str(mapped_pdf)], capture_output=True, text=True,
                          check=True).stdout.splitlines()[2:]
    widths = sorted((int(r.split()[3]) for r in rows if r.strip()), reverse=True)
    assert len(widths) >= 2 + 5 and widths[1] >= 1100  # two page-wide maps, and a map per dead zone


def test_a_page_per_dead_zone_with_what_a_telco_engineer_needs(mapped, mapped_pdf):
    import shapely

    with open_store(str(mapped.db)) as store:
        zones = store.read_layer("dead_zones")
        samples = store.read_samples(["operator", "lat", "lon", "cell_id", "pci", "arfcn", "kind"])
    pages = pdf_pages(mapped_pdf)
    for z in zones.itertuples():
        page = _flat(next(p for p in pages if f"{z.zone_id} · {z.operator}: Zona tanpa 4G layak" in p))
        # From the nearest road, how to walk in (or: the road runs through the zone).
        assert ("Dari " in page and "berjalan" in page) or "melintasinya" in page
        assert "Sel pelayan yang terlihat di sini" in page and "Kapan sampel diambil (WIB)" in page
        assert f"{z.centroid_lat:.6f}, {z.centroid_lon:.6f}" in page
        # The serving cell seen most often in the zone is on its page, with its PCI and EARFCN.
        mine = samples[(samples["operator"] == z.operator) & samples["lat"].notna() & samples["cell_id"].notna()]
        inside = mine[shapely.contains_xy(z.geometry, mine["lon"].to_numpy(float), mine["lat"].to_numpy(float))]
        if len(inside):
            top = inside.groupby("cell_id").size().idxmax()
            assert str(int(top)) in page
            arfcn = inside.loc[inside["cell_id"] == top, "arfcn"].dropna()
            if len(arfcn):
                assert str(int(arfcn.mode().iloc[0])) in page
        # Why, by terrain, in Indonesian.
        if z.terrain_verdict == "terrain":
            assert "Terhalang punggung bukit setinggi" in page
        elif z.terrain_verdict == "not_terrain":
            assert "penyebabnya bukan medan" in page


def test_directions_come_from_the_zone_layer_when_the_analysis_wrote_them(mapped, tmp_path):
    """The analysis may add the way in (road_name, road_distance_m, ...): the page then says exactly that."""
    from surveyor.render.report import render_report

    from fixtures import copy_survey

    built = copy_survey(mapped, tmp_path / "copy")
    with open_store(str(built.db)) as store:
        zones = store.read_layer("dead_zones")
        zones["road_name"] = "Jalan Contoh"
        zones["road_class"] = "minor"
        zones["road_distance_m"] = 1240.0
        zones["road_bearing_deg"] = 45.0
        zones["road_lat"] = zones["centroid_lat"] - 0.001
        zones["road_lon"] = zones["centroid_lon"] - 0.001
        zones["place_name"] = "Dusun Contoh"
        zones["place_distance_m"] = 300.0
        zones["buildings"] = 7
        zones["facilities"] = "SD Contoh (school)"
        store.write_layer("dead_zones", zones)
        html = render_report(store, Settings(), tmp_path / "r.html", lang="en").read_text(encoding="utf-8")
    assert html.count("From Jalan Contoh, walk 1.2 km north-east.") == 2 * len(zones)  # list and page
    assert "Dusun Contoh, 300 m" in html and "7 houses" in html and "SD Contoh (School)" in html
    with open_store(str(built.db)) as store:
        indonesian = render_report(store, Settings(), tmp_path / "l.html", lang="id").read_text(encoding="utf-8")
    assert "SD Contoh (Sekolah)" in indonesian
    assert "Dari Jalan Contoh, berjalan 1,2 km ke arah timur laut." in indonesian


def test_prediction_is_apart_from_the_evidence(mapped, mapped_html_en):
    with open_store(str(mapped.db)) as store:
        cells = store.read_layer("cells")
    assert "Predicted (not evidence)" in mapped_html_en
    shown = cells[cells["prediction_shown"].astype(bool)]
    for op in ("Telkomsel", "Indosat"):
        n = int((shown["operator"] == op).sum())
        assert re.search(rf"<td>{op}</td><td class=\"n\">{n:,} \(", mapped_html_en)
        # The coverage shares count only cells with samples: predicted cells never enter them.
        surveyed = int(((cells["operator"] == op) & (cells["status"] != "not_surveyed")).sum())
        assert re.search(rf"<tr><td>{op}</td><td class=\"n\">{surveyed}</td>", mapped_html_en)


def test_one_session_count_everywhere_and_what_is_counted(mapped, mapped_html_en):
    with open_store(str(mapped.db)) as store:
        st = store.status()
    text = _flat(re.sub(r"<[^>]+>", " ", mapped_html_en))
    assert f"{st.samples:,} samples in {st.sessions} sessions with {st.devices} devices" in text
    assert "Counted as `surveyor status` counts them" in text


def test_words_numbers_times_and_plurals(mapped_html_en, mapped_pdf):
    text = _flat(re.sub(r"<[^>]+>", " ", mapped_html_en))
    # Every time of day names its zone.
    stamps = re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?: [A-Z]{3,4}\b)?", text)
    assert stamps and all(s.endswith(" WIB") for s in stamps), [s for s in stamps if not s.endswith(" WIB")]
    # Plural forms: a one-cell zone is "1 cell", never "1 cells".
    assert "1 cell" in text and "1 cells" not in text
    # Distances: metres under a kilometre, kilometres with one decimal above.
    assert not re.search(r"\b\d{1,3},\d{3} m\b", text)
    indonesian = _flat(pdftotext(mapped_pdf))
    assert not re.search(r"\b\d\.\d{3} m\b", indonesian)  # "1.240 m" would be 1,2 km
    # No install instruction for an index that does not serve the package.
    assert "pip install surveyor\n" not in mapped_html_en and "pip install surveyor " not in text
    assert "py3-none-any.whl" in text


def test_a_simulated_survey_says_so_on_every_page(mapped_pdf):
    pages = [p for p in pdf_pages(mapped_pdf) if p.strip()]
    assert len(pages) >= 10
    assert all("SIMULASI / SIMULATED DATA" in p for p in pages)
