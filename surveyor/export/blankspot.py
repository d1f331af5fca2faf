"""The blank-spot sheet, as a district office files it.

Diskominfo collects blank spots per village and dusun, with coordinates, to take to the operators.
The sheet is what a village sends: title rows saying whose list it is (desa, kecamatan,
kabupaten, provinsi with their Kemendagri codes, the survey period, the contact), then one row
per dead zone and one per weak area, each named by its dusun and the nearest place of the basemap
(never by an H3 index), with coordinates, a map link, the operator, the status in the glossary's
words (:mod:`surveyor.i18n.glossary`), who is affected (buildings, public facilities), the road to
reach it, the dates and the evidence in one sentence. XLSX opens ready to print (A4 landscape,
fitted to the page width, header repeated on each page) and to copy rows from (frozen header,
autofilter, dates as dates); CSV carries the same table without the title rows.

Rows: a **dead zone** (``dead_zones`` layer) is "Tidak ada 4G layak"; a **weak area** is a group
of adjacent covered or marginal cells of one operator flagged ``weak_signal`` (median RSRP under
``weak_signal_median_dbm`` or only 2G/3G), "Lemah sinyal". Insufficient and not-surveyed cells
are never listed: nothing is said where the evidence does not say it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from surveyor.config import Settings
from surveyor.i18n import N_, format_distance, format_number, format_percent, glossary, translator
from surveyor.outputs.layers import load_layer
from surveyor.store.base import Store

# (key, header msgid, width in characters, kind): kind picks the cell format.
COLUMNS: tuple[tuple[str, str, float, str], ...] = (
    ("no", N_("No."), 5, "int"),
    ("location", N_("Location"), 30, "wrap"),
    ("dusun", N_("Dusun"), 14, "text"),
    ("nearest_place", N_("Nearest place (map)"), 20, "wrap"),
    ("zone", N_("Zone code"), 13, "text"),
    ("operator", N_("Operator"), 11, "text"),
    ("status", N_("Status"), 17, "wrap"),
    ("latitude", N_("Latitude"), 11, "coord"),
    ("longitude", N_("Longitude"), 11, "coord"),
    ("map_link", N_("Map link"), 11, "link"),
    ("area_ha", N_("Area (ha)"), 8, "area"),
    ("buildings", N_("Buildings inside"), 10, "int"),
    ("facilities", N_("Public facilities inside"), 26, "wrap"),
    ("road", N_("Nearest road"), 24, "wrap"),
    ("samples", N_("Effective samples"), 10, "int"),
    ("sessions", N_("Visits"), 8, "int"),
    ("first_date", N_("First measured"), 12, "date"),
    ("last_date", N_("Last measured"), 12, "date"),
    ("evidence", N_("Evidence"), 60, "wrap"),
)
COLUMN_KEYS = tuple(c[0] for c in COLUMNS)


@dataclass
class Sheet:
    """The sheet's content, language already applied: ``title`` (the first row), ``facts``
    (label, value) rows under it, ``header`` (column titles) and ``rows`` (dicts by
    :data:`COLUMN_KEYS`; dates as :class:`datetime.date`)."""

    title: str
    facts: list[tuple[str, Any]]
    header: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    lang: str = "id"


def admin_names(settings: Settings) -> dict[str, tuple[str | None, str | None]]:
    """Desa, kecamatan, kabupaten and provinsi: (name, Kemendagri code) from the settings.

    ``district`` reads like "Kecamatan Leksono, Kabupaten Wonosobo, Jawa Tengah"; the codes are the
    leading parts of the village code (33 / 33.07 / 33.07.05 / 33.07.05.2002).
    """
    parts = [p.strip() for p in (settings.district or "").split(",") if p.strip()]
    kec = kab = prov = None
    for p in parts:
        low = p.lower()
        if low.startswith(("kecamatan ", "kec. ", "distrik ")):
            kec = p.split(" ", 1)[1].strip()
        elif low.startswith(("kabupaten ", "kab. ", "kota ")):
            kab = p if low.startswith("kota ") else p.split(" ", 1)[1].strip()
        else:
            prov = p.removeprefix("Provinsi ").strip()
    code = (settings.code or "").split(".")
    codes = [".".join(code[:n]) if len(code) >= n else None for n in (1, 2, 3, 4)]
    return {"desa": (settings.name, codes[3]), "kecamatan": (kec, codes[2]), "kabupaten": (kab, codes[1]),
            "provinsi": (prov, codes[0])}


def _isnull(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (not isinstance(v, str) and v != v)


def _local_date(value: Any, tz: str) -> date | None:
    import pandas as pd

    if _isnull(value):
        return None
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return ts.tz_convert(tz).date()


def map_link(lat: float, lon: float) -> str:
    """A link that opens the point in a map on any phone or computer (OpenStreetMap)."""
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"


def facilities_text(text: Any, lang: str) -> str | None:
    """``"SD 2 (school); (worship)"`` in the glossary's words: ``"SD 2 (Sekolah); Tempat ibadah"``."""
    from surveyor.analyse.context import parse_facilities

    items = []
    for name, kind in parse_facilities(text):
        word = glossary.label(kind, lang) if kind in glossary.BY_KEY else kind
        items.append(f"{name} ({word})" if name else word)
    return "; ".join(items) or None


def place_text(dusun: Any, place: Any, distance_m: Any, settings: Settings, _, lang: str) -> str:
    """"Dusun Krajan, near Sigedang (120 m)": the words a villager uses; the village when unknown."""
    from surveyor.outputs.zones import place_words

    return place_words(dusun, place, distance_m, settings.name, _, lang)


def road_text(row: dict, _m, _, lang: str) -> str | None:
    if _isnull(row.get("road_distance_m")):
        return None
    name = row.get("road_name") if isinstance(row.get("road_name"), str) else None
    what = name or _("an unnamed {kind}").format(kind=_(ROAD_CLASSES.get(str(row.get("road_class")), "road")))
    if row["road_distance_m"] < 1:
        return _("{road} crosses it").format(road=what)
    direction = _m(_compass(row.get("road_bearing_deg")))
    return _("{distance} {direction} from {road}").format(distance=format_distance(row["road_distance_m"], lang),
                                                          direction=direction, road=what)


ROAD_CLASSES = {"major": N_("main road"), "minor": N_("road"), "track": N_("track"), "path": N_("footpath")}


def _compass(bearing: Any) -> str:
    from surveyor.geo.bearing import compass

    return (compass(float(bearing)) or "") if not _isnull(bearing) else ""


def zone_evidence(z: dict, settings: Settings, _, _m, lang: str) -> str:
    """One sentence a district officer can read: what was measured, how often, and where the
    nearest signal is."""
    eff = int(z.get("samples_effective") or 0)
    neg = int(z.get("negatives_effective") or 0)
    text = _("{neg} of {eff} checks found no usable 4G ({share}; at least {low} with 95% confidence), "
             "in {sessions} visits with {devices} phones").format(
        neg=format_number(neg, lang), eff=format_number(eff, lang), share=format_percent(z.get("share_negative"), lang),
        low=format_percent(z.get("lower_95"), lang), sessions=format_number(z.get("sessions"), lang),
        devices=format_number(z.get("devices"), lang))
    main = _main_reason(z)
    if main:
        word = glossary.label(main, lang)
        text += "; " + _("mostly: {reason}").format(reason=word[:1].lower() + word[1:])
    if not _isnull(z.get("speed_tests")) and int(z.get("speed_tests") or 0):
        text += "; " + _("{failed} of {tests} speed tests failed").format(
            failed=format_number(z.get("speed_failed"), lang), tests=format_number(z.get("speed_tests"), lang))
    if not _isnull(z.get("nearest_signal_m")):
        text += "; " + _("usable 4G {distance} to the {direction}").format(
            distance=format_distance(z["nearest_signal_m"], lang),
            direction=_m(z.get("nearest_signal_direction") or ""))
    return text + "."


def _share(z: dict, key: str) -> float:
    value = z.get(key)
    return 0.0 if value is None or _isnull(value) else float(value)


def _main_reason(z: dict) -> str | None:
    ns, g2, share = _share(z, "share_no_service"), _share(z, "share_2g3g"), _share(z, "share_negative")
    if ns >= 0.5:
        return "no_service"
    if g2 >= 0.5:
        return "2g3g_only"
    if share - ns - g2 >= 0.5:
        return "weak_signal"
    return None


def weak_areas(cells, settings: Settings):
    """Adjacent weak cells of one operator, grouped: one record per area (centroid, cells, evidence)."""
    import numpy as np
    import pandas as pd

    from surveyor.geo import cells as grid

    if cells is None or len(cells) == 0 or "weak_signal" not in cells.columns:
        return []
    weak = cells[cells["status"].isin(["covered", "marginal"]) & cells["weak_signal"].fillna(False).astype(bool)]
    out = []
    for op in sorted(weak["operator"].dropna().unique()):
        sub = pd.DataFrame(weak[weak["operator"] == op])
        labels = grid.neighbours_components(grid.from_hex(sub["h3"]))
        for lab in np.unique(labels):
            m = sub.iloc[np.flatnonzero(labels == lab)]
            med = m["rsrp_median_dbm"].dropna()
            only2g = bool(med.empty)
            out.append({
                "operator": op, "cells": len(m), "lat": float(m["lat"].mean()), "lon": float(m["lon"].mean()),
                "dusun": ", ".join(sorted({d for d in m["dusun"].dropna()})) or None,
                "samples_effective": int(m["samples_effective"].sum()), "sessions": int(m["sessions"].max()),
                "first_seen": m["first_seen"].dropna().min() if m["first_seen"].notna().any() else None,
                "last_seen": m["last_seen"].dropna().max() if m["last_seen"].notna().any() else None,
                "rsrp_median_dbm": float(med.median()) if not only2g else None,
                "share_2g3g": float((m["share_2g3g"].fillna(0) * m["samples_effective"]).sum()
                                    / max(1, m["samples_effective"].sum())),
                "area_km2": len(m) * float(grid_cell_area_km2(int(m["resolution"].iloc[0]))),
            })
    out.sort(key=lambda a: (a["operator"], -a["lat"], a["lon"]))
    return out


def grid_cell_area_km2(resolution: int) -> float:
    import h3

    return float(h3.average_hexagon_area(resolution, unit="km^2"))


def weak_evidence(a: dict, settings: Settings, _, lang: str) -> str:
    if a.get("rsrp_median_dbm") is None:
        what = _("only 2G/3G")
    else:
        what = _("median 4G signal {rsrp} dBm, under the {limit} dBm a phone needs for steady data").format(
            rsrp=format_number(a["rsrp_median_dbm"], lang), limit=format_number(settings.weak_signal_median_dbm, lang))
    return _("{what}; {eff} checks in {sessions} visits over {cells} cells of about 70 m").format(
        what=what, eff=format_number(a["samples_effective"], lang), sessions=format_number(a["sessions"], lang),
        cells=format_number(a["cells"], lang)) + "."


def _nearest_places(places, lat: float, lon: float) -> tuple[str | None, float | None]:
    from surveyor.outputs.zones import nearest_place

    return nearest_place(places, lat, lon)


def _named_places(store: Store):
    from surveyor.outputs.zones import named_places

    return named_places(store)


def build_sheet(store: Store, settings: Settings, *, area: str | None = None, lang: str | None = None) -> Sheet:
    """The sheet's title rows and table (see the module docstring), in ``lang`` (default: the
    survey's language)."""
    lang = lang or settings.language
    _ = translator(lang, "export")
    _m = translator(lang, "map")  # compass words
    zones = load_layer(store, settings, "dead_zones", area=area)
    cells = load_layer(store, settings, "cells", area=area)
    places = _named_places(store)
    rows: list[dict[str, Any]] = []
    for z in zones.sort_values(["operator", "zone_id"]).to_dict("records"):
        lat, lon = float(z["centroid_lat"]), float(z["centroid_lon"])
        place, dist = z.get("place_name"), z.get("place_distance_m")
        if _isnull(place):
            place, dist = _nearest_places(places, lat, lon)
        buildings = z.get("buildings")
        rows.append({
            "location": place_text(z.get("dusun"), place, dist, settings, _, lang),
            "dusun": z.get("dusun"), "nearest_place": None if _isnull(place) else place,
            "zone": z.get("zone_id"), "operator": z.get("operator"), "status": glossary.label("dead", lang),
            "latitude": round(lat, 6), "longitude": round(lon, 6), "map_link": map_link(lat, lon),
            "area_ha": round(float(z.get("area_km2") or 0) * 100, 1),
            "buildings": None if _isnull(buildings) else int(buildings),
            "facilities": facilities_text(z.get("facilities"), lang), "road": road_text(z, _m, _, lang),
            "samples": int(z.get("samples_effective") or 0), "sessions": int(z.get("sessions") or 0),
            "first_date": _local_date(z.get("first_seen"), settings.timezone),
            "last_date": _local_date(z.get("last_seen"), settings.timezone),
            "evidence": zone_evidence(z, settings, _, _m, lang),
        })
    for a in weak_areas(cells, settings):
        place, dist = _nearest_places(places, a["lat"], a["lon"])
        rows.append({
            "location": place_text(a["dusun"], place, dist, settings, _, lang), "dusun": a["dusun"],
            "nearest_place": place, "zone": None, "operator": a["operator"],
            "status": glossary.label("weak_area", lang), "latitude": round(a["lat"], 6),
            "longitude": round(a["lon"], 6), "map_link": map_link(a["lat"], a["lon"]),
            "area_ha": round(a["area_km2"] * 100, 1), "buildings": None, "facilities": None, "road": None,
            "samples": a["samples_effective"], "sessions": a["sessions"],
            "first_date": _local_date(a["first_seen"], settings.timezone),
            "last_date": _local_date(a["last_seen"], settings.timezone),
            "evidence": weak_evidence(a, settings, _, lang),
        })
    for i, r in enumerate(rows, 1):
        r["no"] = i
    return Sheet(title=_("Blank-spot list of Desa {name}").format(name=settings.name),
                 facts=_facts(store, settings, _, lang), header=[_(c[1]) for c in COLUMNS], rows=rows, lang=lang)


def _facts(store: Store, settings: Settings, _, lang: str) -> list[tuple[str, Any]]:
    from surveyor.i18n import format_date

    names = admin_names(settings)
    facts = []
    for key, label in (("desa", N_("Village (desa)")), ("kecamatan", N_("Kecamatan")),
                       ("kabupaten", N_("Kabupaten")), ("provinsi", N_("Province"))):
        name, code = names[key]
        facts.append((_(label), f"{name or '-'}" + (f" ({_('code')} {code})" if code else "")))
    status = store.status()
    first, last = _local_date(status.first, settings.timezone), _local_date(status.last, settings.timezone)
    period = (f"{format_date(first, lang)} - {format_date(last, lang)}" if first and last else "-")
    facts.append((_("Survey period"), period))
    analysed = _local_date(store.get_meta("analysed_at"), settings.timezone)
    facts.append((_("Analysed on"), format_date(analysed, lang) if analysed else "-"))
    facts.append((_("Contact"), settings.contact or _("(not given: set contact in survey.toml)")))
    weak = _("4G is there but weak (median signal under {limit} dBm) or only 2G/3G, for this operator").format(
        limit=format_number(settings.weak_signal_median_dbm, lang))
    facts.append((_("Statuses"), f"{glossary.label('dead', lang)}: {glossary.meaning('dead', lang)} "
                                 f"{glossary.label('weak_area', lang)}: {weak}."))
    return facts


# ---------------------------------------------------------------------------------------------
# Writers

# Control characters that XML 1.0 (XLSX) forbids.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean_text(value: Any) -> Any:
    """Text safe in a cell: XML-illegal characters removed, formulas neutralised."""
    from surveyor.outputs.tables import neutralize

    return neutralize(_XML_ILLEGAL.sub("", value)) if isinstance(value, str) else value


def write_xlsx(sheet: Sheet, path: Path) -> None:
    """The sheet as a workbook ready to print and to copy rows from (see the module docstring)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties

    wb = Workbook()
    ws = wb.active
    ws.title = "Blank spot"
    last_col = get_column_letter(len(COLUMNS))
    ws.append([clean_text(sheet.title)])
    ws["A1"].font = Font(bold=True, size=14)
    for label, value in sheet.facts:
        ws.append([clean_text(label), None, clean_text(value)])
        r = ws.max_row
        ws.cell(row=r, column=1).font = Font(bold=True)
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=2)
        ws.merge_cells(start_row=r, start_column=3, end_row=r, end_column=len(COLUMNS))
        ws.cell(row=r, column=3).alignment = Alignment(wrap_text=True, vertical="top")
    header_row = ws.max_row + 2  # a blank row between the title rows and the table
    for j, h in enumerate(sheet.header, 1):
        ws.cell(row=header_row, column=j, value=clean_text(h))
    thin = Side(style="thin", color="999999")
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.border = Border(bottom=thin)
    date_format = "DD/MM/YYYY" if sheet.lang == "id" else "YYYY-MM-DD"
    link_text = "Buka peta" if sheet.lang == "id" else "Open map"
    for row in sheet.rows:
        ws.append([clean_text(row.get(k)) if isinstance(row.get(k), str) else row.get(k) for k in COLUMN_KEYS])
        r = ws.max_row
        for j, (_key, _label, _w, kind) in enumerate(COLUMNS, 1):
            cell = ws.cell(row=r, column=j)
            cell.alignment = Alignment(wrap_text=kind == "wrap", vertical="top")
            if kind == "date" and cell.value is not None:
                cell.number_format = date_format
            elif kind == "coord":
                cell.number_format = "0.000000"
            elif kind == "area":
                cell.number_format = "0.0"
            elif kind == "link" and cell.value:
                cell.hyperlink = cell.value
                cell.value = link_text
                cell.font = Font(color="0563C1", underline="single")
    for j, (_key, _label, width, _kind) in enumerate(COLUMNS, 1):
        ws.column_dimensions[get_column_letter(j)].width = width
    last_row = max(ws.max_row, header_row)
    ws.auto_filter.ref = f"A{header_row}:{last_col}{last_row}"
    ws.freeze_panes = f"C{header_row + 1}"  # the header and the row's number and place stay in view
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.print_options.gridLines = True
    ws.oddFooter.center.text = "&P / &N"
    wb.save(path)


def write_csv(sheet: Sheet, path: Path) -> None:
    """The table alone (header and rows), UTF-8 with a byte-order mark so Excel opens it right."""
    import csv

    from surveyor.outputs.tables import neutralize

    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(sheet.header)
        for row in sheet.rows:
            out = []
            for k in COLUMN_KEYS:
                v = row.get(k)
                out.append("" if v is None else v.isoformat() if isinstance(v, date) else
                           neutralize(v) if isinstance(v, str) else v)
            w.writerow(out)
