"""The catalogue reader, plural forms and the one number/distance format of each language."""

from __future__ import annotations

from pathlib import Path

import pytest

import surveyor.i18n as i18n

LOCALE = Path(i18n.__file__).parent / "locale"


@pytest.mark.parametrize("po", sorted(LOCALE.glob("*/LC_MESSAGES/*.po")), ids=lambda p: f"{p.parts[-3]}-{p.stem}")
def test_the_reader_reads_what_babel_reads(po):
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        cat = read_po(fh)
    singles = {m.id: m.string for m in cat if m.id and isinstance(m.id, str)}
    plurals = {m.id[0]: list(m.string) for m in cat if m.id and isinstance(m.id, tuple)}
    mine, mine_plurals = i18n.read_po(po.read_text("utf-8"))
    assert mine == singles and mine_plurals == plurals
    assert len(mine) > 0


def test_reader_handles_escapes_continuations_plurals_and_obsolete_entries():
    text = ('msgid ""\nmsgstr ""\n"Language: id\\n"\n\n#, fuzzy\nmsgid "a \\"b\\"\\n"\n"c"\nmsgstr "x"\n"y\\t"\n\n'
            'msgid "{n} zone"\nmsgid_plural "{n} zones"\nmsgstr[0] "{n} zona"\n\n#~ msgid "old"\n#~ msgstr "lama"\n')
    singles, plurals = i18n.read_po(text)
    assert singles == {'a "b"\nc': "xy\t"}
    assert plurals == {"{n} zone": ["{n} zona"]}


@pytest.mark.parametrize("lang, metres, text", [
    ("id", 0, "0 m"), ("en", 240.4, "240 m"), ("id", 999.4, "999 m"), ("id", 999.6, "1,0 km"),
    ("en", 999.6, "1.0 km"), ("id", 51_285, "51,3 km"), ("en", 51_285, "51.3 km"), ("en", 1_234_567, "1,234.6 km"),
    ("id", 1_234_567, "1.234,6 km"), ("id", None, "-"), ("en", float("nan"), "-")])
def test_distances_are_metres_under_a_kilometre_then_kilometres(lang, metres, text):
    assert i18n.format_distance(metres, lang) == text


def test_numbers_use_the_language_separators():
    assert i18n.format_number(12345.678, "id", 1) == "12.345,7"
    assert i18n.format_number(12345.678, "en", 1) == "12,345.7"


def test_plural_forms(monkeypatch):
    from surveyor.i18n import plural_translator

    en = plural_translator("en", "cli")
    assert en("{n} dead zone", "{n} dead zones", 1) == "{n} dead zone"
    assert en("{n} dead zone", "{n} dead zones", 2) == "{n} dead zones"
    assert i18n.format_count(1, "{n} dead zone", "{n} dead zones", "en") == "1 dead zone"
    assert i18n.format_count(1200, "{n} dead zone", "{n} dead zones", "en") == "1,200 dead zones"
    assert i18n.format_count(1, "{n} dead zone", "{n} dead zones", "id") == "1 zona tanpa 4G layak"
    assert i18n.format_count(3, "{n} dead zone", "{n} dead zones", "id") == "3 zona tanpa 4G layak"
    assert i18n.plural_form("id", 5) == 0 and i18n.plural_form("en", 5) == 1
