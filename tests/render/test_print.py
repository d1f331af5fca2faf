"""The printed map: PDF pages of the right size, class colours and hatching on the page, the
WhatsApp PNG, and the `surveyor print` command."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from surveyor.config import Settings
from surveyor.render import style as st
from surveyor.render.print_map import print_colour, render_print
from surveyor.store import open_store

from fixtures import EVIL, empty_survey


def poppler(name: str) -> str:
    path = shutil.which(name)
    if not path:
        from .conftest import IN_CI

        if IN_CI:
            pytest.fail(f"required in CI: {name} (poppler-utils)")
        pytest.skip(f"{name} (poppler-utils) is not installed")
    return path


def pdf_pages(pdf) -> list[tuple[float, float]]:
    out = subprocess.run([poppler("pdfinfo"), "-f", "1", "-l", "99", str(pdf)], capture_output=True, text=True,
                         check=True).stdout
    import re

    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out)]


def page_image(pdf, tmp_path, page: int = 1, gray: bool = False) -> np.ndarray:
    from PIL import Image

    prefix = tmp_path / f"page{page}{'g' if gray else ''}"
    args = [poppler("pdftoppm"), "-r", "100", "-f", str(page), "-l", str(page), "-png"]
    if gray:
        args.append("-gray")
    subprocess.run(args + [str(pdf), str(prefix)], check=True)
    png = next(tmp_path.glob(prefix.name + "*.png"))
    return np.asarray(Image.open(png).convert("RGB"))


def colour_pixels(img: np.ndarray, rgb: tuple[float, float, float], tol: float = 6) -> int:
    target = np.array(rgb) * 255
    return int((np.abs(img.astype(float) - target).max(axis=2) <= tol).sum())


@pytest.fixture(scope="module")
def a4_pdf(map_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("print") / "coverage.pdf"
    with open_store(str(map_db)) as store:
        assert render_print(store, Settings(), out, lang="en") == [out]
    return out


def test_a4_landscape_one_page_per_operator(a4_pdf):
    pages = pdf_pages(a4_pdf)
    assert len(pages) == 2  # Telkomsel, Indosat
    for w, h in pages:
        assert abs(w - 842) < 1 and abs(h - 595) < 1


def test_page_shows_every_class_and_its_text(a4_pdf, tmp_path):
    img = page_image(a4_pdf, tmp_path)
    for cls in st.CLASSES:
        if cls.key == "not_surveyed":
            continue
        assert colour_pixels(img, print_colour(cls)) > 300, cls.key
    text = subprocess.run([poppler("pdftotext"), "-f", "1", "-l", "1", str(a4_pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    for needle in ("4G coverage: Lipursari", "Telkomsel", "DZ-TSEL-01", "Legend", "Not surveyed",
                   "Village boundary", "Measurements:", "Source: surveyor", "N"):
        assert needle in text, needle
    assert "500" in text or "250" in text  # scale bar labels in metres


def test_classes_stay_apart_in_greyscale(a4_pdf, tmp_path):
    """A photocopy: grey levels of the class fills differ, and the hatched classes carry texture."""
    grey = page_image(a4_pdf, tmp_path, gray=True)[:, :, 0].astype(float)
    levels = {}
    for cls in st.CLASSES:
        if cls.fill_opacity == 0:
            continue
        r, g, b = print_colour(cls)
        levels[cls.key] = 255 * (0.299 * r + 0.587 * g + 0.114 * b)
        assert (np.abs(grey - levels[cls.key]) <= 3).sum() > 300, cls.key
    values = sorted(levels.values())
    assert min(b - a for a, b in zip(values, values[1:])) > 8, levels


def test_a3_portrait_and_indonesian(map_db, tmp_path):
    out = tmp_path / "a3.pdf"
    with open_store(str(map_db)) as store:
        render_print(store, Settings(), out, paper="A3", orientation="portrait", operators=["Telkomsel"])
    pages = pdf_pages(out)
    assert len(pages) == 1 and abs(pages[0][0] - 842) < 1 and abs(pages[0][1] - 1191) < 1
    text = subprocess.run([poppler("pdftotext"), str(out), "-"], capture_output=True, text=True).stdout
    assert "Jangkauan 4G: Lipursari" in text and "Keterangan" in text


def test_whatsapp_png(map_db, tmp_path):
    from PIL import Image

    out = tmp_path / "wa.png"
    with open_store(str(map_db)) as store:
        render_print(store, Settings(), out, size="whatsapp", lang="en")
    img = Image.open(out)
    assert img.size[0] == 1600 and out.stat().st_size < 1_000_000
    arr = np.asarray(img.convert("RGB"))
    assert colour_pixels(arr, print_colour(st.CLASS_BY_KEY["dead"]), tol=8) > 500


def test_hostile_names_print_as_text(evil_db, tmp_path):
    out = tmp_path / "evil.pdf"
    with open_store(str(evil_db)) as store:
        render_print(store, Settings(), out, lang="en", operators=[EVIL])
    text = subprocess.run([poppler("pdftotext"), str(out), "-"], capture_output=True, text=True).stdout
    assert EVIL in text  # title and panel: the name as it is, not interpreted

    dollar = tmp_path / "dollar.png"
    with open_store(str(evil_db)) as store:
        render_print(store, Settings(name="Desa $x^2$"), dollar, lang="en")  # no mathtext error


def test_basemap_names_print_as_text(evil_mapped_db, tmp_path):
    out = tmp_path / "evil-ground.pdf"
    with open_store(str(evil_mapped_db)) as store:
        render_print(store, Settings(), out, lang="en", operators=["Telkomsel"])
    pdftotext = subprocess.run([poppler("pdftotext"), str(out), "-"], capture_output=True, text=True)
    text = " ".join(pdftotext.stdout.split())
    assert f"{EVIL} Krajan" in text or f"{EVIL} Sidareja" in text  # a place name, as it is


def test_cli_print(invoke, map_db, tmp_path):
    out = tmp_path / "maps" / "coverage.pdf"
    r = invoke("print", "--db", str(map_db), "--out", str(out), "--paper", "A3", "--lang", "en")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(out)
    assert all(abs(w - 1191) < 1 and abs(h - 842) < 1 for w, h in pdf_pages(out))
    r = invoke("print", "--db", str(map_db), "--out", str(out))
    assert r.exit_code == 1 and "--overwrite" in r.stderr
    r = invoke("print", "--db", str(map_db), "--out", str(tmp_path / "x.svg"))
    assert r.exit_code == 2 and ".pdf or .png" in r.stderr
    r = invoke("print", "--db", str(map_db), "--out", str(tmp_path / "x.pdf"), "--size", "whatsapp")
    assert r.exit_code == 2 and "PNG" in r.stderr


def test_print_empty_database(invoke, tmp_path):
    db = empty_survey(tmp_path / "e")
    r = invoke("print", "--db", str(db), "--out", str(tmp_path / "e.pdf"))
    assert r.exit_code == 1 and "surveyor merge" in r.stderr


def test_mapped_print_has_the_ground_its_credits_and_the_marks(mapped_db, tmp_path):
    out = tmp_path / "mapped.pdf"
    with open_store(str(mapped_db)) as store:
        render_print(store, Settings(), out, paper="A3", lang="en")
        zones = store.read_layer("dead_zones")
        places = set(store.read_layer("places")["name"])
    pages = subprocess.run([poppler("pdftotext"), str(out), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    pages = [" ".join(p.split()) for p in pages]  # lines wrap anywhere
    for page, op in zip(pages, ("Telkomsel", "Indosat")):
        assert f"4G coverage: Lipursari · {op}" in page
        for needle in ("© OpenStreetMap contributors, ODbL 1.0", "SIMULASI / SIMULATED DATA",
                       "Predicted (not evidence)", "Road", "House or building", "Relief (shaded hills)"):
            assert needle in page, (op, needle)
        for zone_id in zones.loc[zones["operator"] == op, "zone_id"]:
            assert zone_id in page
        assert len([p for p in places if p in page]) >= len(places) // 2  # names placed where they fit
    # The relief and the roads are under the classes: the page is not white where nobody surveyed.
    img = page_image(out, tmp_path)
    assert (img.std(axis=2) < 4).mean() < 0.97


def test_whatsapp_png_with_the_ground_stays_small(mapped_db, tmp_path):
    from PIL import Image

    out = tmp_path / "wa.png"
    with open_store(str(mapped_db)) as store:
        render_print(store, Settings(), out, size="whatsapp", lang="id")
    assert Image.open(out).size[0] == 1600 and out.stat().st_size < 1_000_000
