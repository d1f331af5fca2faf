"""Every msgid the map and print code uses is in both `map` catalogues (id, en), counts go through
plural forms, and the class words are the glossary's, nowhere else."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import surveyor.render as render_pkg
from surveyor.geo.bearing import COMPASS_POINTS
from surveyor.i18n import catalog, missing_messages
from surveyor.render import words

PKG = Path(render_pkg.__file__).parent
SOURCES = ["style.py", "html_map.py", "print_map.py", "mapdraw.py", "basemap.py", "words.py"]
LOCALE = PKG.parent / "i18n" / "locale"


def used_msgids() -> list[str]:
    """String literals passed to _() or N_() in the map/print modules, and the words kept in tables."""
    found = []
    for name in SOURCES:
        tree = ast.parse((PKG / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.append(node.args[0].value)
    from surveyor.render.html_map import ONLINE_TILES

    found += list(words.ROAD_WORDS.values()) + list(ONLINE_TILES.values())
    return list(dict.fromkeys(found))


def used_plurals() -> set[tuple[str, str]]:
    """(singular, plural) msgids of every count(...) in the map/print modules."""
    out = set()
    for name in SOURCES:
        text = (PKG / name).read_text(encoding="utf-8")
        out |= set(re.findall(r'count\(\s*(?:lang,\s*DOMAIN,\s*)?"([^"]+)",\s*"([^"]+)"', text))
    return out


def test_every_translated_call_is_scanned():
    """Messages go through a plain ``_(...)``: ``w._("...")`` would hide them from this test."""
    for name in SOURCES:
        assert not re.search(r'\w\._\(\s*["\']', (PKG / name).read_text(encoding="utf-8")), name


def test_scan_finds_the_messages():
    ids = used_msgids()
    assert len(ids) > 50 and "Legend" in ids and "Where am I" in ids
    assert ("{n} dead zone", "{n} dead zones") in used_plurals()


@pytest.mark.parametrize("lang", ["id", "en"])
def test_no_msgid_is_missing(lang):
    ids = used_msgids() + list(COMPASS_POINTS)  # compass keys come from the dead_zones layer
    assert missing_messages(lang, "map", ids) == []


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_count_has_its_plural_forms(lang):
    assert {singular for singular, _plural in used_plurals()} <= words.plural_msgids(lang, "map")
    assert words.count(lang, "map", "{n} cell", "{n} cells", 1) == ("1 sel" if lang == "id" else "1 cell")
    assert words.count(lang, "map", "{n} cell", "{n} cells", 1200) == ("1.200 sel" if lang == "id" else "1,200 cells")


def test_placeholders_survive_translation():
    table = catalog("id", "map")
    for msgid in used_msgids():
        assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", table[msgid])), msgid


def test_po_files_have_a_header():
    for lang in ("id", "en"):
        text = (LOCALE / lang / "LC_MESSAGES" / "map.po").read_text("utf-8")
        assert text.count('msgid ""\nmsgstr ""\n"Project-Id-Version: surveyor') == 1
        assert "Content-Type: text/plain; charset=utf-8" in text


@pytest.mark.parametrize("domain", ["map", "report"])
def test_no_other_words_for_the_classes(domain):
    """The old class words are gone from the Indonesian catalogues: the glossary's are used instead."""
    text = (LOCALE / "id" / "LC_MESSAGES" / f"{domain}.po").read_text("utf-8")
    strings = " ".join(re.findall(r'^msgstr(?:\[\d\])? "(.*)"$', text, re.M))
    for word in ("Mati", "Campuran atau lemah", "Tercakup", "zona mati", "sel mati", "Blank spot: {n}"):
        assert word not in strings, word


def test_distances_and_times_name_their_units_and_zone():
    assert words.format_distance(240.4, "en") == "240 m"
    assert words.format_distance(999.6, "id") == "1,0 km"
    assert words.format_distance(51_285, "en") == "51.3 km"
    assert words.local_time("2026-07-14T01:05:00Z", "Asia/Jakarta") == "08:05 WIB"
    assert words.local_time("2026-07-14T01:05:00Z", "Asia/Makassar") == "09:05 WITA"
    assert words.local_time("2026-07-14T01:05:00Z", "UTC") == "01:05 UTC"
    assert words.local_time("2026-07-14T01:05:00Z", "Europe/Dublin") == "02:05 UTC+01:00"
