"""The words and numbers of maps and the report, one way per language.

- Class words come from the glossary (:mod:`surveyor.i18n.glossary`) and nowhere else.
- Counts with a noun go through the catalogue's plural forms (``msgid_plural``,
  :func:`surveyor.i18n.plural_translator`); Indonesian has one form, English two.
- Distances are metres under a kilometre and kilometres with one decimal above
  (:func:`surveyor.i18n.format_distance`), with the language's separators.
- A time of day always names its zone (``14:05 WIB``), because a telco engineer in Jakarta and a
  reviewer abroad read the same report.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from surveyor.i18n import format_distance as _format_distance
from surveyor.i18n import format_number, plural_catalog, plural_translator

# Indonesia's zones have names people use; other zones are shown by their UTC offset.
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def ngettext(lang: str, domain: str, singular: str, plural: str, n: int) -> str:
    """The catalogue's form of ``singular``/``plural`` for ``n`` (the English msgid when untranslated)."""
    return plural_translator(lang, domain)(singular, plural, int(n))


def plural_msgids(lang: str, domain: str) -> set[str]:
    """The singular msgids whose plural forms a catalogue translates, every form filled (for tests)."""
    need = 1 if lang == "id" else 2
    return {k for k, forms in plural_catalog(lang, domain).items() if len([f for f in forms if f]) >= need}


def count(lang: str, domain: str, singular: str, plural: str, n: Any, digits: int = 0) -> str:
    """``"3 sel"`` / ``"1 cell"``: the number in the language's format inside the plural form
    (``{n}`` in the msgid)."""
    value = 0 if n is None else n
    return ngettext(lang, domain, singular, plural, round(float(value))).format(
        n=format_number(value, lang, digits))


def format_distance(metres: Any, lang: str) -> str:
    """``"240 m"`` under a kilometre, ``"1,2 km"`` / ``"1.2 km"`` from 1 km (rounded as shown)."""
    try:
        m = None if metres is None else float(metres)
    except (TypeError, ValueError):
        m = None
    return _format_distance(m, lang)


def zone_name(tz: str, when: datetime | None = None) -> str:
    """``WIB`` for Asia/Jakarta, else the offset (``UTC+07:00``) or ``UTC``."""
    from zoneinfo import ZoneInfo

    if tz in ZONE_NAMES:
        return ZONE_NAMES[tz]
    if tz in ("UTC", "Etc/UTC"):
        return "UTC"
    try:
        offset = (when or datetime.now(UTC)).astimezone(ZoneInfo(tz)).utcoffset()
    except Exception:
        return "UTC"
    total = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if total >= 0 else "-"
    return f"UTC{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def local_time(value: Any, tz: str, fmt: str = "%H:%M") -> str | None:
    """A UTC time in the survey's zone, with the zone's name: ``"14:05 WIB"``; None when missing."""
    from zoneinfo import ZoneInfo

    import pandas as pd

    if value is None or (isinstance(value, float) and value != value):
        return None
    try:
        t = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    if t is pd.NaT:
        return None
    t = t.tz_localize("UTC") if t.tzinfo is None else t
    try:
        local = t.tz_convert(ZoneInfo(tz))
    except Exception:
        local, tz = t.tz_convert("UTC"), "UTC"
    return f"{local.strftime(fmt)} {zone_name(tz, local.to_pydatetime())}"


def _v(row: dict, key: str) -> Any:
    v = row.get(key)
    if v is None:
        return None
    try:
        if v != v:
            return None
    except (TypeError, ValueError):
        return None
    return v


def terrain_sentence(row: dict, _: Callable[[str], str], lang: str) -> str | None:
    """Why a dead zone is dead, by terrain, in the language (from the zone's terrain columns);
    None when the analysis had no elevation model."""
    verdict = _v(row, "terrain_verdict")
    if verdict is None:
        return None
    op = str(_v(row, "operator") or "")
    lat, lon = _v(row, "terrain_tower_lat"), _v(row, "terrain_tower_lon")
    where = f"({float(lat):.5f}, {float(lon):.5f})" if lat is not None and lon is not None else "?"
    if verdict == "terrain":
        return _("Shadowed by a ridge {height} m high, {distance} from the {operator} tower at {position}.").format(
            height=format_number(_v(row, "ridge_height_m"), lang),
            distance=format_distance(_v(row, "ridge_from_tower_m"), lang), operator=op, position=where)
    if verdict == "not_terrain":
        return _("In line of sight of the {operator} tower at {position}, {distance} away: the cause is not "
                 "terrain (distance, capacity, or a tower that is off).").format(
            operator=op, position=where, distance=format_distance(_v(row, "terrain_tower_m"), lang))
    if verdict == "no_tower":
        return _("No known tower of {operator} within 15 km: terrain cannot be judged.").format(operator=op)
    return _("Not computable: the elevation model does not reach the {operator} towers.").format(operator=op)


ROAD_WORDS = {"major": "the main road", "minor": "the village road", "track": "the farm track",
              "path": "the footpath"}


def road_label(info: dict, _: Callable[[str], str]) -> str | None:
    """The road's name, or what it is ("the footpath") when it has none."""
    name = _v(info, "road_name")
    if name:
        return str(name)
    kind = _v(info, "road_class")
    return _(ROAD_WORDS[kind]) if kind in ROAD_WORDS else None


def access_sentence(info: dict, _: Callable[[str], str], lang: str) -> str | None:
    """"From Jalan Krajan, walk 240 m north-east." (to the zone's centre); None without a road."""
    from surveyor.geo.bearing import compass

    road = road_label(info, _)
    d = _v(info, "road_distance_m")
    if road is None or d is None:
        return None
    if float(d) < 20.0:
        return _("{road} runs through it.").format(road=road)
    key = compass(_v(info, "road_bearing_deg"))
    return _("From {road}, walk {distance} {direction}.").format(
        road=road, distance=format_distance(d, lang), direction=_(key) if key else "")


def facility_word(kind: Any, lang: str) -> str:
    """The glossary's word for a facility kind ("Sekolah", "Fasilitas kesehatan"), else the kind."""
    from surveyor.i18n.glossary import BY_KEY, FACILITY_KEYS

    return BY_KEY[kind].label(lang) if kind in FACILITY_KEYS else str(kind or "")


def facilities_text(text: Any, lang: str) -> str | None:
    """"SD Negeri 1 (school); Masjid (worship)" with the kinds in the glossary's words:
    "SD Negeri 1 (Sekolah); Masjid (Tempat ibadah)"."""
    import re

    if not text:
        return None
    return re.sub(r"\((school|clinic|worship|village_office)\)", lambda m: f"({facility_word(m.group(1), lang)})",
                  str(text))
