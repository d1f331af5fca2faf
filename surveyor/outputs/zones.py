"""Reading the analysis layers back and formatting them for the ``deadzones`` and ``revisit``
commands: plain-text tables, CSV (with spreadsheet-formula escaping), GeoJSON and GPX.

Kept in the library (not the CLI) so other code and tests can produce the same outputs.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, overload

import numpy as np
import pandas as pd

from surveyor.errors import InvalidRequest
from surveyor.outputs.layers import require_analysis
from surveyor.outputs.tables import neutralize


@overload
def pick_operator(name: str, known: list[str]) -> str: ...


@overload
def pick_operator(name: None, known: list[str]) -> None: ...


@overload
def pick_operator(name: str | None, known: list[str]) -> str | None: ...


def pick_operator(name: str | None, known: list[str]) -> str | None:
    """The canonical operator for ``--operator`` (any spelling apps use), or a InvalidRequest."""
    from surveyor.model import normalize_operator

    if name is None:
        return None
    canonical = normalize_operator(name).name or name
    for k in known:
        if k.lower() == str(canonical).lower():
            return k
    raise InvalidRequest(f"No analysed operator matches --operator {name!r}.",
                     fix=f"Use one of: {', '.join(known) or '(none)'}; operators are set in survey.toml.")


def read_zones(store, operator: str | None = None, settings=None):
    """The ``dead_zones`` layer (optionally of one operator), after checking an analysis exists;
    with the survey's ``settings``, zones touching an exclusion zone are left out (also those
    added to survey.toml after the analysis)."""
    summary = require_analysis(store)
    op = pick_operator(operator, list(summary.get("operators", {})))
    zones = store.read_layer("dead_zones")
    if len(zones) == 0 or "zone_id" not in zones.columns:
        import geopandas as gpd

        from surveyor.analyse.zones import ZONE_COLUMNS

        return gpd.GeoDataFrame({c: [] for c in ZONE_COLUMNS}, geometry=[], crs="EPSG:4326")
    if op is not None:
        zones = zones[zones["operator"] == op]
    if settings is not None:
        from surveyor.geo.exclusion import drop_excluded_features

        zones = drop_excluded_features(zones, settings)
    return zones.sort_values(["operator", "zone_id"]).reset_index(drop=True)


def read_revisit(store, operator: str | None = None, settings=None) -> pd.DataFrame:
    """Insufficient cells (optionally of one operator), sorted by operator, then north to south.

    With the survey's ``settings``: cells touching an exclusion zone are left out, and so are cells
    outside the survey's area (unless ``out_of_scope = "include"``): nobody is sent to walk there."""
    summary = require_analysis(store)
    op = pick_operator(operator, list(summary.get("operators", {})))
    cells = store.read_layer("cells", where="status = 'insufficient'")
    if len(cells) == 0:
        return pd.DataFrame(columns=["operator", "h3", "lat", "lon", "dusun", "samples_effective", "samples_raw",
                                     "sessions", "first_seen", "needs"])
    if op is not None:
        cells = cells[cells["operator"] == op]
    if settings is not None and len(cells):
        from surveyor.geo.exclusion import drop_excluded_features
        from surveyor.geo.scope import Scope

        cells = drop_excluded_features(cells, settings)
        if settings.out_of_scope != "include":
            cells = cells[~Scope.of(settings).far(cells["lat"], cells["lon"])]
    cells = pd.DataFrame(cells.drop(columns="geometry", errors="ignore"))
    cells = cells.sort_values(["operator", "lat", "lon"], ascending=[True, False, True])
    return cells[["operator", "h3", "lat", "lon", "dusun", "samples_effective", "samples_raw", "sessions",
                  "first_seen", "needs"]].reset_index(drop=True)


# -- formatting ---------------------------------------------------------------------------------

def distance_text(m: Any, lang: str = "en") -> str:
    """'240 m', '20.4 km' (the language's one format, :func:`surveyor.i18n.format_distance`); '-' for missing."""
    from surveyor.i18n import format_distance

    if m is None or (isinstance(m, float) and math.isnan(m)) or pd.isna(m):
        return "-"
    return format_distance(float(m), lang)


def percent(x: Any) -> str:
    if x is None or pd.isna(x):
        return "-"
    return f"{100 * float(x):.0f}%"


def text_table(rows: list[list[str]], header: list[str]) -> str:
    """A plain fixed-width table (readable in any terminal and in a text file)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(header)]

    def line(r):
        return "  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]) + "\n"


def zones_table(zones, lang: str = "en") -> str:
    """The dead zones as a plain table, in ``lang`` (words from the ``export`` catalogue and the
    glossary, distances in the language's format, directions as the maps write them)."""
    from surveyor.i18n import format_number, translator

    _ = translator(lang, "export")
    _m = translator(lang, "map")
    header = [_("zone"), _("operator"), _("area km2"), _("dusun"), _("checks no 4G/effective/raw"), _("visits"),
              _("days"), _("phones"), _("no usable 4G (95% bounds)"), _("nearest usable 4G"), _("nearest tower")]
    rows = []
    for z in zones.itertuples(index=False):
        sig = "-" if pd.isna(z.nearest_signal_m) else \
            f"{distance_text(z.nearest_signal_m, lang)} {_m(z.nearest_signal_direction or '')}"
        tow = "-" if pd.isna(z.nearest_tower_m) else \
            f"{distance_text(z.nearest_tower_m, lang)} {_m(z.nearest_tower_direction or '')}"
        rows.append([z.zone_id, z.operator, format_number(z.area_km2, lang, 3),
                     z.dusun if isinstance(z.dusun, str) else "-",
                     f"{z.negatives_effective}/{z.samples_effective}/{z.samples_raw}", z.sessions, z.days, z.devices,
                     f"{percent(z.share_negative)} ({percent(z.lower_95)}-{percent(z.upper_95)})", sig, tow])
    return text_table(rows, header)


def revisit_table(cells: pd.DataFrame) -> str:
    header = ["operator", "h3", "lat", "lon", "dusun", "effective", "sessions", "needs"]
    rows = [[c.operator, c.h3, f"{c.lat:.5f}", f"{c.lon:.5f}", c.dusun if isinstance(c.dusun, str) else "-",
             c.samples_effective, c.sessions, c.needs or ""] for c in cells.itertuples(index=False)]
    return text_table(rows, header)


def to_csv(df: pd.DataFrame) -> str:
    """CSV text of a frame without its geometry, strings escaped against formula injection."""
    df = pd.DataFrame(df.drop(columns="geometry", errors="ignore"))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(df.columns))
    for row in df.itertuples(index=False):
        writer.writerow(["" if (not isinstance(v, str) and pd.isna(v)) else neutralize(v) for v in row])
    return buf.getvalue()


def to_records(df: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts (NaN -> None, numpy scalars -> Python)."""
    df = pd.DataFrame(df.drop(columns="geometry", errors="ignore"))
    out = []
    for rec in df.to_dict(orient="records"):
        out.append({k: (None if (not isinstance(v, (str, list, dict)) and pd.isna(v)) else
                        v.item() if isinstance(v, np.generic) else v) for k, v in rec.items()})
    return out


def to_geojson(gdf) -> str:
    """A GeoJSON FeatureCollection; every feature carries all the properties."""
    from shapely.geometry import mapping

    features = [{"type": "Feature", "properties": props, "geometry": mapping(geom) if geom is not None else None}
                for props, geom in zip(to_records(gdf), gdf.geometry)]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1) + "\n"


def to_gpx(cells: pd.DataFrame, title: str = "surveyor revisit") -> str:
    """GPX 1.1 waypoints (cell centres) that volunteers load on a phone; text is XML-escaped."""
    import xml.etree.ElementTree as ET

    ns = "http://www.topografix.com/GPX/1/1"
    ET.register_namespace("", ns)
    root = ET.Element(f"{{{ns}}}gpx", {"version": "1.1", "creator": "surveyor"})
    meta = ET.SubElement(root, f"{{{ns}}}metadata")
    ET.SubElement(meta, f"{{{ns}}}name").text = title
    ET.SubElement(meta, f"{{{ns}}}desc").text = ("Cells with too little evidence: walk there and log again "
                                                 "(surveyor revisit).")
    for c in cells.itertuples(index=False):
        w = ET.SubElement(root, f"{{{ns}}}wpt", {"lat": f"{float(c.lat):.7f}", "lon": f"{float(c.lon):.7f}"})
        ET.SubElement(w, f"{{{ns}}}name").text = f"{c.operator} {c.h3}"
        where = f" Dusun: {c.dusun}." if isinstance(c.dusun, str) and c.dusun else ""
        ET.SubElement(w, f"{{{ns}}}desc").text = (
            f"{c.operator}: needs {c.needs or 'more evidence'}. So far {int(c.samples_effective)} effective "
            f"samples in {int(c.sessions)} session(s).{where}")
        ET.SubElement(w, f"{{{ns}}}sym").text = "Flag, Blue"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- the revisit tour ---------------------------------------------------------------------------

def place_words(dusun: Any, place: Any, distance_m: Any, village: str, _, lang: str) -> str:
    """"Dusun Krajan, near Sigedang (120 m)": a place as a villager names it (never an H3 index);
    the village when nothing nearer is known. ``_`` translates from the ``export`` catalogue."""
    from surveyor.i18n import format_distance

    parts = []
    if isinstance(dusun, str) and dusun.strip():
        parts.append(_("Dusun {name}").format(name=dusun.strip()))
    if isinstance(place, str) and place.strip():
        if distance_m is None or pd.isna(distance_m) or distance_m < 50:
            parts.append(_("at {place}").format(place=place.strip()))
        else:
            parts.append(_("near {place} ({distance})").format(place=place.strip(),
                                                                distance=format_distance(distance_m, lang)))
    return ", ".join(parts) or _("Desa {name}").format(name=village)


def named_places(store) -> pd.DataFrame | None:
    """The basemap's named places as (name, lat, lon), None without any."""
    places = store.read_layer("places")
    if places is None or len(places) == 0 or "name" not in places.columns:
        return None
    places = places[places["name"].notna() & (places["name"].astype(str).str.strip() != "")]
    if len(places) == 0:
        return None
    return pd.DataFrame({"name": places["name"].astype(str).to_numpy(), "lat": places.geometry.y.to_numpy(),
                         "lon": places.geometry.x.to_numpy()})


def nearest_place(places: pd.DataFrame | None, lat: float, lon: float) -> tuple[str | None, float | None]:
    from surveyor.geo.distance import haversine_m

    if places is None or len(places) == 0:
        return None, None
    d = haversine_m(lat, lon, places["lat"].to_numpy(float), places["lon"].to_numpy(float), xp=np)
    i = int(np.argmin(d))
    return str(places["name"].iloc[i]), float(d[i])


def needs_words(row, settings, _, lang: str) -> str:
    """What a cell still needs, in ``lang`` (from its counts, as the analysis judged them)."""
    from surveyor.i18n import format_number, plural_translator

    ngettext = plural_translator(lang, "export")
    parts = []
    more = settings.min_effective_samples - int(row.get("samples_effective") or 0)
    if more > 0:
        parts.append(ngettext("{n} more check", "{n} more checks", more).format(n=format_number(more, lang)))
    sessions = int(row.get("sessions") or 0)
    missing = max(0, settings.min_sessions - sessions)
    spread = row.get("time_spread_h")
    spread = 0.0 if spread is None or pd.isna(spread) else float(spread)
    if spread < settings.min_session_gap_h and settings.min_sessions >= 2:
        first = row.get("first_seen")
        when = "-"
        if first is not None and not pd.isna(first):
            ts = pd.Timestamp(first)
            ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
            when = ts.tz_convert(settings.timezone).strftime("%d/%m %H:%M")
        parts.append(_("another visit at least {hours} h after {when}").format(
            hours=format_number(settings.min_session_gap_h, lang), when=when))
        missing -= 1
    if missing > 0:
        parts.append(ngettext("{n} more visit", "{n} more visits", missing).format(n=format_number(missing, lang)))
    return "; ".join(parts) or _("more checks")


def parse_start(text: str | None, dusun, default: tuple[float, float]) -> tuple[float, float, str | None]:
    """``--from``: a dusun name (its centre) or ``LAT,LON``; the default point when None.

    Raises
    ------
    InvalidRequest
        When the text is neither (the message lists the dusun).
    """
    if text is None:
        return default[0], default[1], None
    parts = text.replace(" ", "").split(",")
    if len(parts) == 2:
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except ValueError:
            pass
        else:
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                return lat, lon, None
            raise InvalidRequest(f"--from {text}: latitude first, e.g. --from -7.437,109.858.",
                                 fix="Give LAT,LON in degrees (south is negative) or a dusun name.")
    names = [] if dusun is None or len(dusun) == 0 else list(dusun["name"].astype(str))
    wanted = text.strip().lower().removeprefix("dusun ").strip()
    for name, geom in zip(names, [] if dusun is None or len(dusun) == 0 else dusun.geometry):
        if name.strip().lower() == wanted:
            p = geom.representative_point()
            return p.y, p.x, name
    raise InvalidRequest(f"--from {text!r} is neither LAT,LON nor a dusun of this survey.",
                         fix="Use one of: " + (", ".join(names) if names else "(no dusun configured)")
                             + ", or LAT,LON such as -7.437,109.858.")


def walking_order(lat: np.ndarray, lon: np.ndarray, start: tuple[float, float]) -> np.ndarray:
    """A short walk through every point from ``start``: nearest neighbour first, then improved by
    2-opt (reversing a stretch whenever that shortens the walk) until no reversal helps. Not the
    shortest walk in general, but within a few per cent of it for the few hundred places of a village."""
    from surveyor.geo.distance import haversine_m

    n = len(lat)
    if n == 0:
        return np.zeros(0, dtype=int)
    pts_lat = np.concatenate([[start[0]], lat])
    pts_lon = np.concatenate([[start[1]], lon])
    d = haversine_m(pts_lat[:, None], pts_lon[:, None], pts_lat[None, :], pts_lon[None, :], xp=np)
    order = [0]
    left = set(range(1, n + 1))
    while left:
        here = order[-1]
        nxt = min(left, key=lambda j: (d[here, j], j))
        order.append(nxt)
        left.remove(nxt)
    route = np.array(order)
    improved, rounds = True, 0
    while improved and rounds < 50:
        improved, rounds = False, rounds + 1
        for i in range(1, n):
            for k in range(i + 1, n + 1):
                a, b = route[i - 1], route[i]
                c = route[k]
                e = route[k + 1] if k + 1 <= n else None
                before = d[a, b] + (d[c, e] if e is not None else 0.0)
                after = d[a, c] + (d[b, e] if e is not None else 0.0)
                if after < before - 1e-6:
                    route[i:k + 1] = route[i:k + 1][::-1]
                    improved = True
    return route[1:] - 1


def revisit_tour(store, settings, operator: str | None = None, start: str | None = None,
                 lang: str | None = None, area: str | None = None) -> pd.DataFrame:
    """The places that need more evidence, inside the area, in a walking order from ``start``.

    One stop per place (an H3 cell insufficient for one operator or more), named by dusun and the
    nearest place of the basemap, with what each operator still needs, the leg from the stop
    before (distance and compass direction) and the distance walked so far.

    Columns: ``stop``, ``name``, ``dusun``, ``place``, ``lat``, ``lon``, ``operators``, ``needs``,
    ``leg_m``, ``leg_direction``, ``total_m``, ``h3``.

    ``area``: an area code of a shared database; the places of that area and everything inside it
    (its polygon as the boundary) instead of the survey's own village.
    """
    import shapely

    from surveyor.geo.areas import load_boundary, load_dusun
    from surveyor.geo.bearing import bearing_deg, compass
    from surveyor.geo.distance import haversine_m
    from surveyor.i18n import translator

    lang = lang or settings.language
    _ = translator(lang, "export")
    _m = translator(lang, "map")
    summary = require_analysis(store)
    op = pick_operator(operator, list(summary.get("operators", {})))
    cells = store.read_layer("cells", where="status = 'insufficient'")
    columns = ["stop", "name", "dusun", "place", "lat", "lon", "operators", "needs", "leg_m", "leg_direction",
               "total_m", "h3"]
    selected = None
    if area is not None:
        from surveyor.analyse.district import find_district

        selected = find_district(store, settings, area)
    boundary = selected.boundary if selected is not None else load_boundary(settings)
    if len(cells):
        if op is not None:
            cells = cells[cells["operator"] == op]
        if selected is not None and "area_code" in cells.columns:
            cells = cells[cells["area_code"].astype(str).isin({*selected.codes, str(area)}).to_numpy()]
        from surveyor.geo.exclusion import drop_excluded_features

        cells = drop_excluded_features(cells, settings)
        inside = shapely.intersects_xy(boundary, cells["lon"].to_numpy(float), cells["lat"].to_numpy(float)) \
            if boundary is not None else np.ones(len(cells), dtype=bool)
        if "outside_area" in cells.columns:
            inside &= ~cells["outside_area"].fillna(False).astype(bool).to_numpy()
        cells = pd.DataFrame(cells[inside].drop(columns="geometry", errors="ignore"))
    if len(cells) == 0:
        return pd.DataFrame(columns=columns)
    dusun = selected.dusun if selected is not None else load_dusun(settings)
    centre = boundary.representative_point() if boundary is not None else None
    default = (centre.y, centre.x) if centre is not None else (float(cells["lat"].mean()), float(cells["lon"].mean()))
    office = _village_office(store)
    s_lat, s_lon, _name = parse_start(start, dusun, office or default)
    places = named_places(store)
    stops = []
    for h3, group in cells.sort_values(["h3", "operator"]).groupby("h3", sort=True):
        first = group.iloc[0]
        stops.append({"h3": h3, "lat": float(first["lat"]), "lon": float(first["lon"]),
                      "dusun": first.get("dusun") if isinstance(first.get("dusun"), str) else None,
                      "operators": ", ".join(group["operator"]),
                      "needs": " | ".join(f"{r['operator']}: {needs_words(r, settings, _, lang)}"
                                          for r in group.to_dict("records"))})
    stops = pd.DataFrame(stops)
    order = walking_order(stops["lat"].to_numpy(float), stops["lon"].to_numpy(float), (s_lat, s_lon))
    stops = stops.iloc[order].reset_index(drop=True)
    prev_lat = np.concatenate([[s_lat], stops["lat"].to_numpy(float)[:-1]])
    prev_lon = np.concatenate([[s_lon], stops["lon"].to_numpy(float)[:-1]])
    leg = haversine_m(prev_lat, prev_lon, stops["lat"].to_numpy(float), stops["lon"].to_numpy(float), xp=np)
    bearing = bearing_deg(prev_lat, prev_lon, stops["lat"].to_numpy(float), stops["lon"].to_numpy(float), xp=np)
    stops["leg_m"] = leg
    stops["leg_direction"] = [None if (d := compass(float(b))) is None else _m(d) for b in np.atleast_1d(bearing)]
    stops["total_m"] = np.cumsum(leg)
    stops["stop"] = np.arange(1, len(stops) + 1)
    found = [nearest_place(places, la, lo) for la, lo in zip(stops["lat"], stops["lon"])]
    stops["place"] = [p for p, _d in found]
    stops["name"] = [place_words(du, p, dist, settings.name, _, lang)
                     for du, (p, dist) in zip(stops["dusun"], found)]
    return stops[columns]


def _village_office(store) -> tuple[float, float] | None:
    """Where the walk starts by default: the village office of the basemap, when there is one."""
    fac = store.read_layer("facilities")
    if fac is None or len(fac) == 0 or "kind" not in fac.columns:
        return None
    office = fac[fac["kind"] == "village_office"]
    if len(office) == 0:
        return None
    g = office.geometry.iloc[0]
    return (g.y, g.x)


def tour_table(stops: pd.DataFrame, lang: str) -> str:
    """The walk as a table a volunteer reads on a phone or prints."""
    from surveyor.i18n import format_distance, translator

    _ = translator(lang, "export")
    header = [_("stop"), _("place"), _("walk"), _("total"), _("what is needed"), _("lat, lon")]
    rows = [[int(s.stop), s.name, f"{format_distance(s.leg_m, lang)} {s.leg_direction}",
             format_distance(s.total_m, lang), s.needs, f"{s.lat:.5f},{s.lon:.5f}"]
            for s in stops.itertuples(index=False)]
    return text_table(rows, header)


def tour_gpx(stops: pd.DataFrame, lang: str, title: str) -> str:
    """GPX 1.1: one waypoint per stop, named by its number and place (the walking order), for
    OsmAnd, Organic Maps or the logger's ``--web --targets`` page."""
    import xml.etree.ElementTree as ET

    from surveyor.i18n import format_distance, translator

    _ = translator(lang, "export")
    ns = "http://www.topografix.com/GPX/1/1"
    ET.register_namespace("", ns)
    root = ET.Element(f"{{{ns}}}gpx", {"version": "1.1", "creator": "surveyor"})
    meta = ET.SubElement(root, f"{{{ns}}}metadata")
    ET.SubElement(meta, f"{{{ns}}}name").text = title
    ET.SubElement(meta, f"{{{ns}}}desc").text = _("Places that need more checks, in walking order: walk there "
                                                  "and log again (surveyor revisit).")
    names = []
    for s in stops.itertuples(index=False):
        name = f"{int(s.stop)}. {s.name}"
        names.append(name)
        w = ET.SubElement(root, f"{{{ns}}}wpt", {"lat": f"{float(s.lat):.7f}", "lon": f"{float(s.lon):.7f}"})
        ET.SubElement(w, f"{{{ns}}}name").text = name
        ET.SubElement(w, f"{{{ns}}}desc").text = (
            _("{walk} {direction} from the stop before.").format(walk=format_distance(s.leg_m, lang),
                                                                 direction=s.leg_direction) + " " + s.needs)
        ET.SubElement(w, f"{{{ns}}}sym").text = "Flag, Blue"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
