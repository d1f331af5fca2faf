"""The interactive coverage map: one self-contained HTML file that works with no network.

The file is what a community leader sends into the village WhatsApp group, so it must open on a
phone with no data plan, and a volunteer must be able to find on it the place they stand. So it
carries, from the survey's own geodatabase, the ground under the coverage: roads and paths,
houses, rivers, hamlet names, schools and clinics (the OpenStreetMap layers of ``surveyor
basemap``) and the relief (the hillshade of ``surveyor dem import``). OpenStreetMap tiles and
satellite imagery are offered too, as choices in the layer control: they need the internet and
simply stay blank without it. A "where am I" button shows the phone's own position (the
browser's geolocation, on the page only; nothing is sent anywhere).

One operator is shown at a time (a switch at the top names it in the title and the legend):
hexagons of two operators drawn together would mix into colours the legend does not have.

Leaflet 1.9.4 (from the ``django-js-lib-leaflet`` package) is inlined with its images as
``data:`` URIs; legends are plain HTML.

**Security.** Nothing from the data ever goes through a template engine: the page is fixed text
plus JSON data (:func:`script_json`) drawn by ``map_page/map.js``. Every text that comes from
inputs (operator names, dusun and road names, notes, zone IDs, the village name) is HTML-escaped
in Python before it reaches Leaflet, because Leaflet puts popup, tooltip and layer control
labels into ``innerHTML``. Popups never carry volunteer names or device IDs.
"""

from __future__ import annotations

import base64
import html
import logging
import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from surveyor.config import Settings
from surveyor.errors import InvalidRequest
from surveyor.files import write_text
from surveyor.leaflet import leaflet_assets
from surveyor.render import style as st
from surveyor.render import words

log = logging.getLogger(__name__)

DOMAIN = "map"
COORD_DIGITS = 5  # about 1 m at the equator: far finer than a 70 m cell, and half the bytes
COORD_SCALE = 10 ** COORD_DIGITS
ROUTE_SIMPLIFY_DEG = 0.00004  # about 4 m
MAX_ROUTE_VERTICES = 20000
ROUTE_BREAK_S = 120.0  # a pause longer than this (or a jump) starts a new line
ROUTE_BREAK_M = 300.0
BUILDING_SIMPLIFY_DEG = 0.00001  # about 1 m: a house keeps its corners
ROAD_SIMPLIFY_DEG = 0.00002  # about 2 m
# Above this many houses in the frame, each is drawn as a dot at its centre (a village of tens of
# thousands of houses would otherwise pass the 3 MB budget of the file).
MAX_BUILDING_POLYGONS = 15000
HILLSHADE_MAX_PX = 1400
HILLSHADE_OPACITY = 0.55
# Online tile layers offered in the layer control (never shown at start): they need the internet.
ONLINE_TILES = {"osm": "OpenStreetMap (online)", "Esri.WorldImagery": "Satellite imagery (online)"}


def esc(value: Any) -> str:
    """HTML-escape any value (None and NaN give an empty string)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value), quote=True)


# -- tiles ----------------------------------------------------------------------------------------

def _tile(spec: str) -> dict:
    """One tile layer for ``osm``, an xyzservices name, or a ``{z}/{x}/{y}`` URL."""
    if "{z}" in spec and "{x}" in spec and "{y}" in spec:
        if not spec.startswith(("http://", "https://")):
            raise InvalidRequest(f"--tiles {spec!r} is not an http(s) tile URL.",
                                 fix="Use osm, none, an xyzservices name or https://.../{z}/{x}/{y}.png.")
        from urllib.parse import urlsplit

        host = urlsplit(spec).hostname or "?"
        return {"name": esc(host), "url": spec, "attribution": esc(f"Tiles: {host}"), "max_zoom": 19}
    import xyzservices
    import xyzservices.providers as xyz

    if spec.lower() in ("osm", "openstreetmap"):
        provider = xyz.OpenStreetMap.Mapnik
    else:
        try:
            provider = xyzservices.providers.query_name(spec)
        except ValueError:
            raise InvalidRequest(f"Unknown tile source {spec!r}.",
                                 fix="Use osm, none, a tile URL with {z}/{x}/{y}, or an xyzservices name "
                                     "such as CartoDB.Positron.") from None
        if provider.get("requires_token"):
            raise InvalidRequest(f"Tile source {spec!r} needs an API key.", fix="Use osm or a tile URL.")
    # xyzservices' html_attribution is markup written by its maintainers (links to the licences).
    return {"name": esc(provider.name), "url": provider.build_url(scale_factor="{r}"),
            "attribution": provider.html_attribution, "max_zoom": int(provider.get("max_zoom", 19))}


def tile_layers(tiles: str | None, *, online: bool = True, translate: Callable[[str], str] = str) -> list[dict]:
    """The online base layers of the layer control, each ``{"name", "url", "attribution",
    "max_zoom", "show"}`` with name and attribution HTML-escaped.

    ``tiles`` is the layer shown when the map opens: ``none`` (the offline map of the survey's
    own layers), ``osm``, an xyzservices name or a ``{z}/{x}/{y}`` URL. With ``online``,
    OpenStreetMap and satellite imagery are offered as well, off at start: offline they simply
    stay blank, and until someone picks one the page asks nothing of the network. ``translate``
    names those two in the map's language.
    """
    shown = None if tiles is None or str(tiles).lower() in ("", "none", "off") else str(tiles)
    out = []
    if shown is not None:
        out.append(dict(_tile(shown), show=True))
    if online:
        for spec, name in ONLINE_TILES.items():
            layer = dict(_tile(spec), name=esc(translate(name)), show=False)
            if all(t["url"] != layer["url"] for t in out):
                out.append(layer)
    return out


# -- geometry -------------------------------------------------------------------------------------

def _round_coords(coords: Any) -> Any:
    if isinstance(coords, (list, tuple)):
        if coords and isinstance(coords[0], (int, float)):
            return [round(float(c), COORD_DIGITS) for c in coords[:2]]
        return [_round_coords(c) for c in coords]
    return coords


def _geometry(geom) -> dict | None:
    from shapely.geometry import mapping

    if geom is None or geom.is_empty:
        return None
    g = mapping(geom)
    if g["type"] == "GeometryCollection":
        return None
    return {"type": g["type"], "coordinates": _round_coords(g["coordinates"])}


def _collection(gdf, props: Callable[[Any], dict]) -> dict:
    feats = []
    for row in gdf.itertuples(index=False):
        g = _geometry(row.geometry)
        if g is None:
            continue
        feats.append({"type": "Feature", "geometry": g, "properties": props(row)})
    return {"type": "FeatureCollection", "features": feats}


class Packer:
    """Lines and rings as integer deltas (1e-5 degree steps, about a metre) from a common origin.

    A basemap has thousands of roads and houses; as GeoJSON they would pass the file's 3 MB budget
    for a large village. Here a house of five corners is a dozen small integers. ``map.js``
    decodes them (:func:`decode` there) with the origin ``[x0, y0]`` of the data.
    """

    def __init__(self, origin_lon: float, origin_lat: float):
        self.x0 = round(origin_lon * COORD_SCALE)
        self.y0 = round(origin_lat * COORD_SCALE)

    @property
    def origin(self) -> list[int]:
        return [self.x0, self.y0]

    def pack(self, coords) -> list[int] | None:
        """``[dx0, dy0, dx1, dy1, ...]`` of a sequence of (lon, lat); None when under two points."""
        import numpy as np

        xy = np.rint(np.asarray(coords, dtype=float)[:, :2] * COORD_SCALE).astype(np.int64)
        keep = np.r_[True, np.any(np.diff(xy, axis=0) != 0, axis=1)]
        xy = xy[keep]
        if len(xy) < 2:
            return None
        d = np.diff(np.vstack([[self.x0, self.y0], xy]), axis=0)
        return d.ravel().tolist()

    def point(self, lon: float, lat: float) -> list[int]:
        """``[dx, dy]`` of one point from the origin."""
        return [round(lon * COORD_SCALE) - self.x0, round(lat * COORD_SCALE) - self.y0]

    def parts(self, geom) -> list[list[int]]:
        """The packed lines of a (Multi)LineString, or the exterior rings of a (Multi)Polygon."""
        out = []
        for part in getattr(geom, "geoms", [geom]):
            if part.is_empty:
                continue
            coords = part.exterior.coords if part.geom_type == "Polygon" else part.coords
            packed = self.pack(coords)
            if packed is not None:
                out.append(packed)
        return out


def _val(row, name: str, default: Any = None) -> Any:
    v = getattr(row, name, default) if not isinstance(row, dict) else row.get(name, default)
    if v is None:
        return default
    try:
        if v != v:  # NaN, NA
            return default
    except (TypeError, ValueError):  # pandas NA compares ambiguous
        return default
    return v


# -- words ----------------------------------------------------------------------------------------

class Words:
    """Translations and number formats of one language, for popups and legends."""

    def __init__(self, lang: str, settings: Settings):
        from surveyor.i18n import translator

        self.lang = lang
        self.settings = settings
        self._ = translator(lang, DOMAIN)

    def num(self, v: Any, digits: int = 0) -> str:
        from surveyor.i18n import format_number

        return format_number(None if v is None else float(v), self.lang, digits)

    def pct(self, v: Any) -> str:
        from surveyor.i18n import format_percent

        return format_percent(None if v is None else float(v), self.lang)

    def dist(self, metres: Any) -> str:
        return words.format_distance(metres, self.lang)

    def count(self, singular: str, plural: str, n: Any, digits: int = 0) -> str:
        return words.count(self.lang, DOMAIN, singular, plural, n, digits)

    def date(self, v: Any) -> str:
        from surveyor.i18n import format_date

        d = st.local_date(st._parse_time(v), self.settings)
        return format_date(d, self.lang) if d is not None else "-"

    def direction(self, key: Any, bearing: Any) -> str:
        from surveyor.geo.bearing import compass

        key = key if isinstance(key, str) and key else compass(None if bearing is None else float(bearing))
        return self._(key) if key else ""

    def cls(self, key: str) -> str:
        """The glossary's word for a class (or for "predicted")."""
        from surveyor.i18n.glossary import BY_KEY

        return BY_KEY[key].label(self.lang) if key in BY_KEY else key


def _table(rows: list[tuple[str, str]]) -> str:
    """A compact popup table; both label and value are already escaped."""
    return "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows if v) + "</table>"


def _evidence_rows(row, w: Words) -> list[tuple[str, str]]:
    _ = w._
    rows: list[tuple[str, str]] = []
    eff, raw = _val(row, "samples_effective", 0), _val(row, "samples_raw", 0)
    rows.append((esc(_("Checks")), esc(_("{effective} independent ({raw} measured)").format(
        effective=w.num(eff), raw=w.num(raw)))))
    sessions, days = _val(row, "sessions"), _val(row, "days")
    if sessions is not None:
        text = w.count("{n} visit", "{n} visits", sessions)
        if days is not None:
            text += ", " + w.count("{n} day", "{n} days", days)
        rows.append((esc(_("Visits")), esc(text)))
    share = _val(row, "share_negative")
    if share is not None:
        lo, hi = _val(row, "lower_95"), _val(row, "upper_95")
        text = w.pct(share)
        if lo is not None and hi is not None:
            text += " " + _("(95% confidence: {low} to {high})").format(low=w.pct(lo), high=w.pct(hi))
        rows.append((esc(_("Checks without usable 4G")), esc(text)))
    nos, old = _val(row, "share_no_service"), _val(row, "share_2g3g")
    if nos or old:
        from surveyor.i18n.glossary import label

        rows.append((esc(_("Why")), esc(f"{label('no_service', w.lang)} {w.pct(nos or 0)}, "
                                        f"{label('2g3g_only', w.lang)} {w.pct(old or 0)}")))
    med = _val(row, "rsrp_median_dbm")
    if med is not None:
        metric = str(_val(row, "signal_metric", "rsrp") or "rsrp").upper()
        rows.append((esc(_("Median signal")), esc(f"{w.num(med)} dBm ({metric})")))
    tests, failed = _val(row, "speed_tests", 0), _val(row, "speed_failed", 0)
    if tests:
        rows.append((esc(_("Speed tests")), esc(_("{tests}, {failed} failed").format(
            tests=w.num(tests), failed=w.num(failed)))))
    first, last = _val(row, "first_seen"), _val(row, "last_seen")
    if last is not None:
        rows.append((esc(_("Last checked")), esc(w.date(last))))
    if first is not None:
        rows.append((esc(_("First checked")), esc(w.date(first))))
    return rows


# -- popups ---------------------------------------------------------------------------------------

def cell_popup(row, w: Words) -> str:
    """Popup HTML of one coverage cell (escaped)."""
    _ = w._
    key = str(_val(row, "status", ""))
    cls = st.CLASS_BY_KEY.get(key)
    head = f"<b>{esc(_val(row, 'operator', ''))}</b>: {esc(w.cls(key))}"
    if cls is not None and cls.key == "not_surveyed":
        return head + "<br>" + esc(cls.meaning(w.lang))
    rows = _evidence_rows(row, w)
    if bool(_val(row, "weak_signal", False)):
        rows.append((esc(_("Note")), esc(_("weak signal (sinyal lemah)"))))
    needs = _val(row, "needs")
    if needs and cls is not None and cls.key == "insufficient":
        rows.append((esc(_("Still needed")), esc(needs)))
    dusun = _val(row, "dusun")
    if dusun:
        rows.append((esc(_("Dusun")), esc(dusun)))
    if bool(_val(row, "outside_area", False)):
        rows.append((esc(_("Note")), esc(_("outside the village boundary"))))
    if _val(row, "child_cells") is not None:
        rows.append((esc(_("Note")), esc(_("summary of {n} smaller cells").format(n=w.num(row.child_cells)))))
    return head + _table(rows)


def predicted_popup(row, w: Words) -> str:
    """Popup of a cell's prediction: named as a prediction, never as evidence."""
    _ = w._
    key = str(_val(row, "predicted_status", ""))
    head = (f"<b>{esc(_val(row, 'operator', ''))}</b>: {esc(w.cls('predicted'))} · {esc(w.cls(key))}")
    rows = []
    rsrp = _val(row, "predicted_rsrp_dbm")
    if rsrp is not None:
        rows.append((esc(_("Predicted signal")), esc(f"{w.num(rsrp)} dBm (RSRP)")))
    p = _val(row, "predicted_p_no4g")
    if p is not None:
        rows.append((esc(_("Chance of no usable 4G")), esc(w.pct(p))))
    tower = _val(row, "predicted_tower")
    if tower:
        rows.append((esc(_("From tower")), esc(tower)))
    measured = w.cls(str(_val(row, "status", "not_surveyed")))
    rows.append((esc(_("Measured")), esc(measured)))
    from surveyor.i18n.glossary import meaning

    return head + _table(rows) + "<i>" + esc(meaning("predicted", w.lang)) + "</i>"


def zone_popup(row, w: Words, access: dict | None = None) -> str:
    """Popup HTML of one dead zone (escaped): evidence, how to get there, and why (terrain)."""
    _ = w._
    from surveyor.i18n.glossary import label

    head = (f"<b>{esc(_val(row, 'zone_id', ''))}</b> · {esc(_val(row, 'operator', ''))}: "
            f"{esc(label('dead_zone', w.lang))}")
    rows = [(esc(_("Size")), esc(_("{area} km², {cells}").format(
        area=w.num(_val(row, "area_km2", 0), 3), cells=w.count("{n} cell", "{n} cells", _val(row, "cells", 0)))))]
    dusun = _val(row, "dusun")
    if dusun:
        rows.append((esc(_("Dusun")), esc(dusun)))
    if access:
        way = words.access_sentence(access, _, w.lang)
        if way:
            rows.append((esc(_("How to get there")), esc(way)))
        place = access.get("place_name")
        if place:
            rows.append((esc(_("Nearest hamlet")), esc(f"{place}, {w.dist(access.get('place_distance_m'))}")))
        if access.get("buildings") is not None:
            rows.append((esc(_("Houses inside")), esc(w.num(access["buildings"]))))
        if access.get("facilities"):
            rows.append((esc(_("Facilities inside")), esc(words.facilities_text(access["facilities"], w.lang))))
    rows += _evidence_rows(row, w)
    d = _val(row, "nearest_signal_m")
    if d is not None:
        rows.append((esc(_("Nearest signal")), esc(_("walk {distance} {direction}").format(
            distance=w.dist(d), direction=w.direction(_val(row, "nearest_signal_direction"),
                                                      _val(row, "nearest_signal_bearing_deg"))).strip())))
    t = _val(row, "nearest_tower_m")
    if t is not None:
        rows.append((esc(_("Nearest known tower")), esc(_("{distance} {direction}").format(
            distance=w.dist(t), direction=w.direction(_val(row, "nearest_tower_direction"),
                                                      _val(row, "nearest_tower_bearing_deg"))).strip())))
    reason = words.terrain_sentence(row if isinstance(row, dict) else row._asdict(), _, w.lang)
    if reason:
        rows.append((esc(_("Terrain")), esc(reason)))
    return head + _table(rows)


def site_popup(row, w: Words) -> str:
    """Popup HTML of one site suggestion: worded as input for the operator's planning."""
    _ = w._
    head = "<b>" + esc(_("Suggested site {rank} for {operator}").format(
        rank=w.num(_val(row, "rank", 0)), operator=_val(row, "operator", ""))) + "</b>"
    text = _("A new site here (reach about {radius}) could serve {cells} without usable 4G "
             "({samples} checks).").format(radius=w.dist(_val(row, "radius_m", 0)),
                                            cells=w.count("{n} cell", "{n} cells", _val(row, "dead_cells_served", 0)),
                                            samples=w.num(_val(row, "samples_served", 0)))
    rows = []
    zones = _val(row, "zone_ids")
    if zones:
        rows.append((esc(_("Dead zones")), esc(zones)))
    alt = _val(row, "altitude_m")
    if alt is not None:
        rows.append((esc(_("Altitude")), esc(f"{w.num(alt)} m")))
    note = _("A suggestion for the operator's radio planning, not a coverage prediction.")
    return head + "<br>" + esc(text) + _table(rows) + "<i>" + esc(note) + "</i>"


def tower_popup(row, w: Words) -> str:
    _ = w._
    head = "<b>" + esc(_("Known tower")) + "</b> · " + esc(_val(row, "operator", "") or "?")
    rows = []
    radio = _val(row, "radio")
    if radio:
        rows.append((esc(_("Technology")), esc(radio)))
    rng = _val(row, "range_m")
    if rng is not None:
        rows.append((esc(_("Estimated range")), esc(w.dist(rng))))
    src = _val(row, "source")
    rows.append((esc(_("Source")), esc(src or "OpenCelliD")))
    return head + _table(rows) + "<i>" + esc(_("Position estimated from phones' measurements.")) + "</i>"


def facility_popup(row, w: Words) -> str:
    word = words.facility_word(_val(row, "kind"), w.lang)
    name = _val(row, "name")
    return "<b>" + esc(name or word) + "</b>" + ("<br>" + esc(word) if name else "")


# -- legend, header -------------------------------------------------------------------------------

def _swatch(style: str, cls: str = "sw") -> str:
    return f'<span class="{cls}" style="{style}"></span>'


def _class_swatch(cls: st.CoverageClass) -> str:
    if cls.key == "not_surveyed":
        return _swatch(f"background:#fff;border:1px dashed {cls.edge}")
    return _swatch(f"background:{cls.colour};opacity:{max(cls.fill_opacity, 0.6)};border-color:{cls.edge}")


def _hatch_swatch(colour: str) -> str:
    return _swatch(f"background:repeating-linear-gradient(45deg,{colour} 0 2px,transparent 2px 6px);"
                   f"border-color:{colour}")


def _row(swatch: str, text: str, small: str = "") -> str:
    return (f'<div class="row">{swatch}<div>{text}' + (f"<br><small>{small}</small>" if small else "")
            + "</div></div>")


def legend_html(layers: st.MapLayers, op: str, w: Words) -> str:
    """The legend of one operator's map as plain HTML (no d3, no CDN), in the glossary's words."""
    _ = w._
    from surveyor.i18n.glossary import meaning

    cells = layers.cells[layers.cells["operator"].astype(str) == op] if len(layers.cells) else layers.cells
    present = set(cells["status"].astype(str)) if len(cells) else set()
    parts = [f'<h2>{esc(_("Legend"))}: {esc(op)}</h2>']
    for cls in st.CLASSES:
        if cls.key not in present and cls.key != "not_surveyed":
            continue
        parts.append(_row(_class_swatch(cls), f"<b>{esc(cls.label(w.lang))}</b>", esc(cls.meaning(w.lang))))
    if len(layers.predicted(op)):
        parts.append(_row(_hatch_swatch(st.CLASS_BY_KEY["dead"].colour), f"<b>{esc(w.cls('predicted'))}</b>",
                          esc(meaning("predicted", w.lang)) + " " + esc(_("Off at start: turn it on in the "
                                                                        "layers menu."))))
    parts.append(_row(_swatch(f"background:#fff;border:2.5px solid {st.DEAD_ZONE_EDGE}"),
                      esc(_("Dead zone outline with its ID"))))
    if len(layers.sites) and (layers.sites["operator"].astype(str) == op).any():
        parts.append(_row(_swatch(f"background:{st.SITE_COLOUR};border-radius:50%"),
                          esc(_("Suggested site for an operator to consider"))))
    if len(layers.towers):
        parts.append(_row(_swatch("background:#fff;border:2px solid #000;border-radius:50%"),
                          esc(_("Known tower (estimated position)"))))
    parts.append(_row(_swatch(f"background:#fff;border:2px solid {st.BOUNDARY_COLOUR}"), esc(_("Village boundary"))))
    if len(layers.dusun):
        parts.append(_row(_swatch(f"background:#fff;border:1.5px dashed {st.DUSUN_COLOUR}"), esc(_("Dusun boundary"))))
    bm = layers.basemap
    if bm is not None and not bm.empty:
        parts.append(f'<h3>{esc(_("On the ground"))}</h3>')
        if len(bm.roads):
            parts.append(_row(_swatch(f"height:0;border:0;border-top:3px solid {st.ROAD_STYLE['major'][0]};"
                                      "margin-top:7px"), esc(_("Road"))))
            parts.append(_row(_swatch(f"height:0;border:0;border-top:2px dashed {st.ROAD_STYLE['path'][0]};"
                                      "margin-top:7px"), esc(_("Path or farm track"))))
        if len(bm.buildings):
            parts.append(_row(_swatch(f"background:{st.BUILDING_FILL};border-color:{st.BUILDING_EDGE}"),
                              esc(_("House or building"))))
        if len(bm.water):
            parts.append(_row(_swatch(f"height:0;border:0;border-top:2px solid {st.WATER_COLOUR};margin-top:7px"),
                              esc(_("River or stream"))))
        if len(bm.facilities):
            parts.append(_row(_swatch(f"background:{st.FACILITY_COLOUR};border:2px solid #fff;border-radius:50%;"
                                      "box-shadow:0 0 0 1px #444"),
                              esc(_("School, clinic, place of worship or village office"))))
        if len(bm.places):
            parts.append(_row('<span class="sw sw-text">Aa</span>', esc(_("Hamlet or village name"))))
    if layers.has_dem:
        parts.append(_row(_swatch("background:linear-gradient(135deg,#fff 0,#fff 45%,#9a9a9a 100%)"),
                          esc(_("Relief (shaded hills)"))))
    values = st.explain_values(w.settings, w.lang)
    s = layers.summary
    summary = _("Measurements: {samples} · survey walks (sessions): {sessions} · days: {days}.").format(
        samples=w.num(s.get("samples")), sessions=w.num(s.get("sessions")), days=w.num(s.get("days")))
    method = _("A place is a hexagon of about {size} m. A check is one measurement at least {gap_s} s and "
               "{dist_m} m from the previous one. No usable 4G means no signal, only 2G/3G, or signal "
               "(RSRP) below {rsrp_dbm} dBm. A place is judged with at least {min_samples} checks from "
               "{min_sessions} visits {gap_h} hours apart.").format(
        size=w.num(_edge_m(layers.resolution)), gap_s=w.num(w.settings.effective_min_gap_s),
        dist_m=w.num(w.settings.effective_min_distance_m), **{k: values[k] for k in (
            "rsrp_dbm", "min_samples", "min_sessions", "gap_h")})
    parts.append(f"<p><small>{esc(summary)} {esc(method)}</small></p>")
    if layers.rolled_up:
        parts.append(f"<p><small>{esc(_('The area is large, so small cells are summarised into larger ones.'))}"
                     "</small></p>")
    parts.append("<p><small>" + esc(_("Where am I: the button under the zoom shows your position on this "
                                      "map, from your phone's location. It is never sent anywhere.")) + "</small></p>")
    analysed = s.get("analysed_at")
    source = _("Source: surveyor, analysed {date}.").format(date=w.date(analysed) if analysed else "-")
    credits = " · ".join(esc(c) for c in layers.credits())
    parts.append("<p><small>" + esc(source) + (" " + credits if credits else "") + "</small></p>")
    return "".join(parts)


def _edge_m(resolution: int) -> float:
    import h3

    return round(h3.average_hexagon_edge_length(resolution, unit="m") * 2, -1)


def title_text(layers: st.MapLayers, op: str, w: Words) -> str:
    """The map's title naming the operator shown (escaped)."""
    _ = w._
    return f"{esc(_('4G coverage'))}: {esc(layers.area_name)} · {esc(op)}"


def header_html(layers: st.MapLayers, w: Words) -> str:
    """The bar above the map: title, the operator switch, the legend button, the simulated-data
    mark and a status line (for the position). Fixed markup; every data text escaped."""
    _ = w._
    ops = layers.operators
    sub = esc(st.date_range(layers.summary, w.settings, w.lang))
    parts = ['<header id="svy-head">',
             f'<div id="svy-title"><h1 id="svy-h1">{title_text(layers, ops[0], w)}</h1>'
             f'<div class="svy-sub">{sub}</div></div>']
    if len(ops) > 1:
        parts.append(f'<div id="svy-ops" role="radiogroup" aria-label="{esc(_("Operator"))}">')
        for i, op in enumerate(ops):
            checked = " checked" if i == 0 else ""
            parts.append(f'<label><input type="radio" name="svy-op" value="{i}"{checked}> {esc(op)}</label>')
        parts.append("</div>")
    parts.append(f'<button type="button" id="svy-legend-btn" aria-controls="svy-legend" aria-expanded="true">'
                 f'{esc(_("Legend"))}</button>')
    if layers.simulated:
        parts.append(f'<div id="svy-sim" title="{esc(_("Made from simulated data, not measurements."))}">'
                     'SIMULASI / SIMULATED DATA</div>')
    parts.append('<div id="svy-status" role="status" aria-live="polite" hidden></div></header>')
    return "".join(parts)


# -- layers ---------------------------------------------------------------------------------------

def _geo(data: dict, *, style: dict | None = None, marker: dict | None = None, interactive: bool = True,
         pane: str | None = None, pattern: bool = False) -> dict:
    """One GeoJSON layer of the page: features plus how the page's script draws them."""
    return {"type": "geojson", "data": data, "style": style or {}, "marker": marker, "interactive": interactive,
            "pane": pane, "pattern": pattern}


def _nonempty(specs: list[dict]) -> list[dict]:
    out = []
    for x in specs:
        if x["type"] == "geojson" and not x["data"]["features"]:
            continue
        if x["type"] in ("lines", "polygons", "points") and not x["coords"]:
            continue
        if x["type"] == "labels" and not x["labels"]:
            continue
        out.append(x)
    return out


def _basemap_layers(layers: st.MapLayers, packer: Packer, w: Words) -> list[dict]:
    """The ground: relief is added apart (an image); here water, houses, roads, facilities, names."""
    bm = layers.basemap
    groups: list[dict] = []
    if bm is None or bm.empty:
        return groups
    _ = w._
    specs: list[dict[str, Any]]
    if len(bm.water):
        lines = bm.water[bm.water.geom_type.isin(["LineString", "MultiLineString"])]
        polys = bm.water[bm.water.geom_type.isin(["Polygon", "MultiPolygon"])]
        specs = [{"type": "polygons", "coords": [p for g in polys.geometry.simplify(ROAD_SIMPLIFY_DEG)
                                                 for p in packer.parts(g)],
                  "style": {"color": st.WATER_COLOUR, "weight": 1, "fillColor": st.WATER_FILL, "fillOpacity": 1},
                  "pane": "svy-ground"},
                 {"type": "lines", "coords": [p for g in lines.geometry.simplify(ROAD_SIMPLIFY_DEG)
                                              for p in packer.parts(g)],
                  "style": {"color": st.WATER_COLOUR, "weight": 2, "opacity": 0.9}, "pane": "svy-ground"}]
        groups.append({"key": "water", "name": esc(_("Rivers and streams")), "show": True,
                       "layers": _nonempty(specs)})
    if len(bm.buildings):
        b = bm.buildings
        if len(b) > MAX_BUILDING_POLYGONS:
            pts = b.geometry.representative_point()
            specs = [{"type": "points", "coords": [packer.point(p.x, p.y) for p in pts],
                      "marker": {"radius": 1.5, "stroke": False, "fillColor": st.BUILDING_EDGE, "fillOpacity": 1},
                      "pane": "svy-ground"}]
        else:
            specs = [{"type": "polygons", "coords": [p for g in b.geometry.simplify(BUILDING_SIMPLIFY_DEG)
                                                     for p in packer.parts(g)],
                      "style": {"color": st.BUILDING_EDGE, "weight": 0.6, "fillColor": st.BUILDING_FILL,
                                "fillOpacity": 1}, "pane": "svy-ground"}]
        groups.append({"key": "buildings", "name": esc(_("Houses and buildings")), "show": True,
                       "layers": _nonempty(specs)})
    if len(bm.roads):
        specs = []
        for cls in st.ROAD_ORDER:
            part = bm.roads[bm.roads["class"].astype(str) == cls]
            if not len(part):
                continue
            colour, _w_pt, w_px, dash = st.ROAD_STYLE[cls]
            coords, names = [], []
            for g, name in zip(part.geometry.simplify(ROAD_SIMPLIFY_DEG), part["name"]):
                for packed in packer.parts(g):
                    coords.append(packed)
                    names.append(esc(name) if isinstance(name, str) and name else "")
            style: dict[str, Any] = {"color": colour, "weight": w_px, "opacity": 0.9, "lineCap": "round"}
            if dash:
                style["dashArray"] = " ".join(f"{d * w_px:g}" for d in dash)
            specs.append({"type": "lines", "coords": coords, "names": names if any(names) else None,
                          "style": style, "pane": "svy-ground"})
        groups.append({"key": "roads", "name": esc(_("Roads and paths")), "show": True, "layers": _nonempty(specs)})
    if len(bm.facilities):
        data = _collection(bm.facilities, lambda r: {"p": facility_popup(r, w)})
        groups.append({"key": "facilities", "name": esc(_("Schools, clinics, mosques, village office")),
                       "show": True, "layers": _nonempty([_geo(data, pane="svy-points", marker={
                           "radius": 5, "color": "#ffffff", "weight": 2, "fill": True,
                           "fillColor": st.FACILITY_COLOUR, "fillOpacity": 1})])})
    if len(bm.places):
        labels = []
        for r in bm.places.itertuples(index=False):
            if isinstance(r.name, str) and r.name and r.geometry is not None:
                p = r.geometry if r.geometry.geom_type == "Point" else r.geometry.representative_point()
                big = str(getattr(r, "place", "")) in ("village", "town", "city")
                labels.append([round(p.y, COORD_DIGITS), round(p.x, COORD_DIGITS), esc(r.name), 1 if big else 0])
        groups.append({"key": "places", "name": esc(_("Place names")), "show": True,
                       "layers": _nonempty([{"type": "labels", "labels": labels}])})
    return groups


def _hillshade(store, layers: st.MapLayers, w: Words) -> dict | None:
    if not layers.has_dem:
        return None
    from surveyor.outputs.terrain import hillshade_overlay

    got = hillshade_overlay(store, layers.area_code, bounds=layers.frame(0.5), max_px=HILLSHADE_MAX_PX,
                            opacity=HILLSHADE_OPACITY, style="shadow")
    if got is None:
        return None
    png, bounds = got
    url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    _ = w._
    return {"key": "relief", "name": esc(_("Relief (hillshade)")), "show": True,
            "layers": [{"type": "image", "url": url, "bounds": bounds, "pane": "svy-relief"}]}


def _cell_style(cls: st.CoverageClass) -> dict:
    style = {"color": cls.edge, "weight": 1 if cls.key == "not_surveyed" else 0.6, "opacity": 0.9,
             "fillColor": cls.colour, "fillOpacity": cls.fill_opacity, "fill": cls.fill_opacity > 0}
    if cls.dashed:
        style["dashArray"] = "3 3"
    return style


def _operator_layers(layers: st.MapLayers, op: str, w: Words, access: dict[str, dict]) -> dict[str, list[dict]]:
    """The layers the operator switch swaps: coverage, prediction, dead zones, sites."""
    out: dict[str, list[dict]] = {}
    cells = layers.cells[layers.cells["operator"].astype(str) == op]
    parts = []
    for cls in st.CLASSES:
        part = cells[cells["status"] == cls.key]
        if len(part):
            parts.append(_geo(_collection(part, lambda r: {"p": cell_popup(r, w)}), style=_cell_style(cls)))
    out["coverage"] = _nonempty(parts)
    pred = layers.predicted(op)
    parts = []
    for key in st.EVIDENCE_KEYS if len(pred) else ():
        part = pred[pred["predicted_status"].astype(str) == key]
        if len(part):
            colour = st.CLASS_BY_KEY[key].colour
            parts.append(_geo(_collection(part, lambda r: {"p": predicted_popup(r, w)}), pane="svy-pred",
                              pattern=True, style={"color": colour, "weight": 0.8, "opacity": 0.7,
                                                   "dashArray": "2 3", "fillColor": key,
                                                   "fillOpacity": st.PREDICTED_OPACITY}))
    out["predicted"] = _nonempty(parts)
    zones = layers.dead_zones[layers.dead_zones["operator"].astype(str) == op] if len(layers.dead_zones) \
        else layers.dead_zones
    if len(zones):
        data = _collection(zones, lambda r: {"p": zone_popup(r, w, access.get(str(r.zone_id))),
                                             "t": esc(_val(r, "zone_id", ""))})
        out["zones"] = _nonempty([_geo(data, pane="svy-zones", style={
            "color": st.DEAD_ZONE_EDGE, "weight": 2.5, "fill": True, "fillOpacity": 0.0, "opacity": 1})])
    else:
        out["zones"] = []
    sites = layers.sites[layers.sites["operator"].astype(str) == op] if len(layers.sites) else layers.sites
    out["sites"] = _nonempty([_geo(_collection(sites, lambda r: {"p": site_popup(r, w)}), pane="svy-points", marker={
        "radius": 8, "color": "#000000", "weight": 2, "fill": True, "fillColor": st.SITE_COLOUR,
        "fillOpacity": 1.0})]) if len(sites) else []
    return out


def _sample_layers(store, settings: Settings, layers: st.MapLayers, w: Words):
    """Thinned sample points per operator and simplified routes (only with --show-samples)."""
    import numpy as np
    import pandas as pd
    import shapely

    from surveyor.analyse.rules import negative_reasons
    from surveyor.geo.cells import assign_cells, parent_cells
    from surveyor.geo.distance import haversine_m
    from surveyor.outputs.layers import walk_samples

    cols = ["time", "lat", "lon", "session", "operator", "kind", "tech", "service", "rsrp_dbm",
            "nr_rsrp_dbm", "level", "environment", "note", "h3_10"]
    where = " OR ".join("operator = '" + op.replace("'", "''") + "'" for op in layers.operators)
    df = store.read_samples(cols, where=f"lat IS NOT NULL AND ({where})" if where else "lat IS NOT NULL")
    df = df[np.isfinite(df["lat"].to_numpy(dtype=float)) & np.isfinite(df["lon"].to_numpy(dtype=float))]
    minx, miny, maxx, maxy = layers.bounds()
    m = 0.01
    df = df[df["lon"].between(minx - m, maxx + m) & df["lat"].between(miny - m, maxy + m)]
    df = walk_samples(df, settings)  # scope, exclusion zones, walks cut where they meet a zone
    if len(df) == 0:
        return None, None
    df = df.sort_values("time").reset_index(drop=True)
    neg = negative_reasons(df, settings).notna().to_numpy()
    # Points: one per operator and small H3 cell, at the finest resolution that fits the budget.
    fine = assign_cells(df["lat"].to_numpy(float), df["lon"].to_numpy(float), 12)
    ops = pd.factorize(df["operator"].astype(str))[0]
    keep = np.arange(0)
    for res in range(12, 6, -1):
        cells = fine if res == 12 else parent_cells(fine, res)
        first = ~pd.DataFrame({"op": ops, "cell": cells}).duplicated().to_numpy()
        if first.sum() <= st.MAX_SAMPLE_POINTS or res == 7:
            keep = np.flatnonzero(first)[: st.MAX_SAMPLE_POINTS]
            break
    _ = w._
    points: dict[str, tuple[list, list]] = {}
    for i in keep:
        r = df.iloc[i]
        rsrp = r["rsrp_dbm"] if pd.notna(r["rsrp_dbm"]) else r["nr_rsrp_dbm"]
        rows = [(esc(_("Time")), esc(w.date(r["time"]) + " " + (
                    words.local_time(r["time"], settings.timezone) or ""))),
                (esc(_("Technology")), esc(r["tech"] if pd.notna(r["tech"]) else "-")),
                (esc(_("Signal")), esc(f"{w.num(rsrp)} dBm" if pd.notna(rsrp) else "-"))]
        if pd.notna(r["service"]) and r["service"] != "in_service":
            rows.append((esc(_("Service")), esc(r["service"])))
        if isinstance(r["note"], str) and r["note"]:
            rows.append((esc(_("Note")), esc(r["note"])))
        popup = f"<b>{esc(r['operator'])}</b>: " + esc(_("no usable 4G") if neg[i] else _("usable 4G")) + _table(rows)
        feat = {"type": "Feature", "properties": {"p": popup},
                "geometry": {"type": "Point", "coordinates": [round(float(r["lon"]), COORD_DIGITS),
                                                              round(float(r["lat"]), COORD_DIGITS)]}}
        points.setdefault(str(r["operator"]), ([], []))[0 if neg[i] else 1].append(feat)
    # Routes: one line per walk, broken at pauses, jumps and wherever an exclusion zone removed samples.
    lines = []
    for _session, g in df.groupby(df["session"].fillna("").astype(str), sort=False):
        lat, lon = g["lat"].to_numpy(float), g["lon"].to_numpy(float)
        t = g["time"].astype("int64").to_numpy() / 1e9
        if len(g) < 2:
            continue
        step_m = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:], xp=np)
        breaks = np.flatnonzero((np.diff(t) > ROUTE_BREAK_S) | (step_m > ROUTE_BREAK_M)) + 1
        for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(g)]):
            if b - a >= 2:
                lines.append(shapely.LineString(np.column_stack([lon[a:b], lat[a:b]])))
    tol = ROUTE_SIMPLIFY_DEG
    simple = [ln.simplify(tol) for ln in lines]
    while sum(len(s.coords) for s in simple) > MAX_ROUTE_VERTICES and tol < 0.01:
        tol *= 2
        simple = [ln.simplify(tol) for ln in lines]
    routes = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": _geometry(s)} for s in simple if not s.is_empty]}
    return points, routes


def build_map(store, settings: Settings, *, operators=None, area: str | None = None, tiles: str | None = "none",
              lang: str = "id", show_samples: bool = False, online_tiles: bool = True) -> tuple[dict, st.MapLayers]:
    """The map's content as plain data (see :func:`render_map`) and the layers it was drawn from.

    The result holds the page's header and legend markup and the data its script draws: the view
    bounds, the online base layers, the ground layers shared by every operator, and per operator
    the layers the operator switch swaps. Every text in it is already HTML-escaped, because Leaflet
    puts popups, tooltips and control labels into ``innerHTML``.
    """
    from surveyor.geo.areas import utm_crs
    from surveyor.render.basemap import zone_access

    w = Words(lang, settings)
    _ = w._
    layers = st.map_layers(store, settings, operators=operators, area=area)
    minx, miny, maxx, maxy = layers.bounds()
    packer = Packer((minx + maxx) / 2, (miny + maxy) / 2)
    access: dict[str, dict] = {}
    if len(layers.dead_zones):
        crs = utm_crs((minx + maxx) / 2, (miny + maxy) / 2)
        for zid, info in zip(layers.dead_zones["zone_id"].astype(str),
                             zone_access(layers.dead_zones, layers.basemap, crs)):
            access[zid] = info
    base: list[dict] = []
    relief = _hillshade(store, layers, w)
    if relief is not None:
        base.append(relief)
    base += _basemap_layers(layers, packer, w)
    if len(layers.towers):
        data = _collection(layers.towers, lambda r: {"p": tower_popup(r, w)})
        base.append({"key": "towers", "name": esc(_("Known towers")), "show": True, "layers": _nonempty([_geo(
            data, pane="svy-points", marker={"radius": 5, "color": st.TOWER_COLOUR, "weight": 2, "fill": True,
                                             "fillColor": "#ffffff", "fillOpacity": 1.0})])})
    if layers.boundary is not None and not layers.boundary.is_empty:
        b = layers.boundary.simplify(0.00002)
        data = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": _geometry(b), "properties": {}}]}
        parts = [_geo(data, interactive=False, pane="svy-zones",
                      style={"color": st.BOUNDARY_COLOUR, "weight": 2.5, "fill": False, "opacity": 1})]
        if len(layers.dusun):
            dus = layers.dusun.copy()
            dus["geometry"] = dus.geometry.simplify(0.00002)
            parts.append(_geo(_collection(dus, lambda r: {"d": esc(_val(r, "name", ""))}), interactive=False,
                              pane="svy-zones", style={"color": st.DUSUN_COLOUR, "weight": 1.2, "dashArray": "6 4",
                                                       "fill": False, "opacity": 1}))
        base.append({"key": "boundary", "name": esc(_("Village and dusun boundaries")), "show": True,
                     "layers": _nonempty(parts)})
    per_op: list[dict[str, Any]] = []
    for op in layers.operators:
        per_op.append({"name": esc(op), "title": title_text(layers, op, w), "legend": legend_html(layers, op, w),
                       "layers": _operator_layers(layers, op, w, access)})
    overlays = [{"key": "coverage", "name": esc(_("Coverage (measured)")), "show": True},
                {"key": "predicted", "name": esc(w.cls("predicted")), "show": False},
                {"key": "zones", "name": esc(_("Dead zones")), "show": True},
                {"key": "sites", "name": esc(_("Suggested sites")), "show": True}]
    if show_samples:
        points, routes = _sample_layers(store, settings, layers, w)
        if points is not None:
            base.append({"key": "walks", "name": esc(_("Survey walks")), "show": True, "layers": _nonempty([_geo(
                routes, interactive=False, style={"color": st.ROUTE_COLOUR, "weight": 1.5, "opacity": 0.8,
                                                  "dashArray": "4 3"})])})
            for entry, op in zip(per_op, layers.operators):
                neg, pos = points.get(op, ([], []))
                entry["layers"]["samples"] = _nonempty([
                    _geo({"type": "FeatureCollection", "features": feats}, pane="svy-points",
                         marker={"radius": 3, "color": "#000000", "weight": 0.5, "fill": True,
                                 "fillColor": colour, "fillOpacity": 1.0})
                    for feats, colour in ((pos, st.CLASS_BY_KEY["covered"].colour),
                                          (neg, st.CLASS_BY_KEY["dead"].colour))])
            overlays.append({"key": "samples", "name": esc(_("Measurements (thinned)")), "show": True})
    overlays = [o for o in overlays if any(e["layers"].get(o["key"]) for e in per_op)]
    page_data: dict[str, Any] = {
        "bounds": [[miny, minx], [maxy, maxx]], "origin": packer.origin, "scale": COORD_SCALE,
        "tiles": tile_layers(tiles, online=online_tiles, translate=_), "offline": esc(_("Village map (offline)")),
        "base": [g for g in base if g["layers"]], "operators": per_op, "overlays": overlays,
        "credits": " · ".join(esc(c) for c in layers.credits()),
        "hatch": {k: st.CLASS_BY_KEY[k].colour for k in st.EVIDENCE_KEYS},
        "texts": {k: esc(v) for k, v in {
            "locate": _("Where am I"), "locating": _("Finding your position ..."),
            "located": _("Your position (within {accuracy} m)"),
            "no_location": _("Your position is not available: allow location for this page, or go outside."),
            "legend": _("Legend"), "hide_legend": _("Hide legend"),
        }.items()},
    }
    content = {"data": page_data, "header": header_html(layers, w), "legend": per_op[0]["legend"] if per_op else "",
               "page_title": esc(_("4G coverage")) + ": " + esc(layers.area_name)}
    return content, layers


def script_json(value: Any) -> str:
    """JSON that can stand inside an HTML ``<script>`` element: no ``<``, ``>`` or ``&`` left raw, so
    no text can close the element or start a comment, and U+2028/2029 cannot end a JS line."""
    import json

    text = json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def map_page(content: dict) -> str:
    """The whole HTML page of a map's content: Leaflet, the page script and the data, inlined.

    Nothing here goes through a template engine. folium (and branca under it) compiles the text of
    every element it renders as a Jinja template, so any input text handed to it (a dusun name, a
    note, an operator name) could run as template code on the machine drawing the map. The page is
    therefore assembled from fixed text, markup built here with every data text escaped, and
    :func:`script_json` data; the page script (``map.js``) builds the Leaflet layers from that data
    in the browser.
    """
    js, css = leaflet_assets()
    page_js, page_css = page_assets()
    return ("<!DOCTYPE html>\n<html lang=\"" + esc(content.get("lang", "id")) + "\">\n<head>\n"
            '<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
            "<title>" + content["page_title"] + "</title>\n"
            "<style>" + css + "</style>\n<style>" + page_css + "</style>\n"
            "<script>" + js + "</script>\n</head>\n<body>\n"
            + content["header"] + "\n"
            '<div id="svy-body"><div id="svy-map"></div>'
            '<aside id="svy-legend" aria-label="legend">' + content["legend"] + "</aside></div>\n"
            '<script type="application/json" id="svy-data">' + script_json(content["data"]) + "</script>\n"
            "<script>" + page_js + "</script>\n</body>\n</html>\n")


@lru_cache(maxsize=1)
def page_assets() -> tuple[str, str]:
    """(javascript, css) of the page that draws a map's data with Leaflet."""
    base = resources.files("surveyor.render").joinpath("map_page")
    js = base.joinpath("map.js").read_text(encoding="utf-8")
    css = base.joinpath("map.css").read_text(encoding="utf-8")
    return js.replace("</script", "<\\/script"), css


EXTERNAL_REF = re.compile(
    r"""<script[^>]*\bsrc\s*=\s*["']?(?:https?:)?//|<link[^>]*\bhref\s*=\s*["']?(?:https?:)?//|"""
    r"""url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:url\()?\s*["']?(?:https?:)?//""", re.I)


def external_references(text: str) -> list[str]:
    """Script, stylesheet, CSS url() and @import references to the network in an HTML text."""
    return [text[m.start(): m.start() + 120] for m in EXTERNAL_REF.finditer(text)]


def render_map(store, settings: Settings, out, *, operators=None, area: str | None = None,
               tiles: str | None = "none", lang: str = "id", show_samples: bool = False,
               online_tiles: bool = True) -> Path:
    """Write the interactive coverage map as one self-contained HTML file.

    Parameters
    ----------
    store
        An open store with an analysis (``surveyor analyze``); its basemap (``surveyor basemap``)
        and elevation model (``surveyor dem import``) are drawn when they are there.
    settings
        Survey settings: village, operators, thresholds, exclusion zones.
    out
        The HTML file to write, atomically (replaced if it exists: the command line checks
        ``--overwrite`` and creates missing folders).
    operators
        Operators to map (default: those of the settings that have cells); the page switches
        between them.
    area
        Village code, for databases that hold several villages.
    tiles
        The background shown when the map opens: ``"none"`` (default: the survey's own layers,
        complete offline), ``"osm"``, an xyzservices name or a tile URL.
    lang
        ``"id"`` or ``"en"``.
    show_samples
        Also draw survey walks and thinned measurement points. Off by default because a walk can
        reveal where a volunteer lives.
    online_tiles
        Offer OpenStreetMap tiles and satellite imagery in the layer control (off at start; they
        need the internet and tell the tile server where the map is looked at).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    if lang not in ("id", "en"):
        raise InvalidRequest(f"Unknown language {lang!r}.", fix="Use id or en.")
    content, _layers = build_map(store, settings, operators=operators, area=area, tiles=tiles, lang=lang,
                                 show_samples=show_samples, online_tiles=online_tiles)
    content["lang"] = lang
    text = map_page(content)
    leaks = external_references(text)
    if leaks:  # pragma: no cover - a change adding a CDN reference would land here
        raise RuntimeError(f"the map would load from the network: {leaks[:3]}")
    p = write_text(out, text)
    log.info("wrote %s (%.0f kB)", p, p.stat().st_size / 1024)
    return p
