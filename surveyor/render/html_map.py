"""The interactive coverage map: one self-contained HTML file that works with no network.

The file is what a community leader sends into the village WhatsApp group, so it must open on a
phone with no data plan. Folium writes ``<script src=https://cdn...>`` for Leaflet, jQuery,
Bootstrap and awesome-markers by default, which leaves a blank page offline; here the map's
``default_js``/``default_css`` are emptied and Leaflet 1.9.4 (from the ``django-js-lib-leaflet``
package, read through :mod:`importlib.resources`) is inlined with its images as ``data:`` URIs.
Legends are plain HTML (branca's colour-map legend would pull d3 from a CDN). Base tiles are
optional (``tiles="none"`` by default): the map is complete without them.

Every text that comes from inputs (operator names, dusun names, notes, zone IDs, the village name)
is HTML-escaped in Python before it reaches Leaflet, because Leaflet puts popup, tooltip and layer
control labels into ``innerHTML``. Popups never carry volunteer names or device IDs.
"""

from __future__ import annotations

import html
import logging
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from surveyor.config import Settings
from surveyor.errors import InvalidRequest
from surveyor.files import write_text
from surveyor.leaflet import leaflet_assets
from surveyor.render import style as st

log = logging.getLogger(__name__)

DOMAIN = "map"
COORD_DIGITS = 5  # about 1 m at the equator: far finer than a 70 m cell, and half the bytes
ROUTE_SIMPLIFY_DEG = 0.00004  # about 4 m
MAX_ROUTE_VERTICES = 20000
ROUTE_BREAK_S = 120.0  # a pause longer than this (or a jump) starts a new line
ROUTE_BREAK_M = 300.0


def esc(value: Any) -> str:
    """HTML-escape any value (None and NaN give an empty string)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value), quote=True)


# -- tiles ----------------------------------------------------------------------------------------

def tile_layers(tiles: str | None) -> list[dict]:
    """Base tile layers for ``osm``, an xyzservices name, or a ``{z}/{x}/{y}`` URL; none for ``none``.

    Each is ``{"name", "url", "attribution", "max_zoom"}`` with name and attribution HTML-escaped;
    the page's script adds them to the layer control. Offline they simply stay blank.
    """
    if tiles is None or str(tiles).lower() in ("", "none", "off"):
        return []
    spec = str(tiles)
    if "{z}" in spec and "{x}" in spec and "{y}" in spec:
        if not spec.startswith(("http://", "https://")):
            raise InvalidRequest(f"--tiles {spec!r} is not an http(s) tile URL.",
                             fix="Use osm, none, an xyzservices name or https://.../{z}/{x}/{y}.png.")
        from urllib.parse import urlsplit

        host = urlsplit(spec).hostname or "?"
        return [{"name": esc(host), "url": spec, "attribution": esc(f"Tiles: {host}"), "max_zoom": 19}]
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
    return [{"name": esc(provider.name), "url": provider.build_url(scale_factor="{r}"),
             "attribution": provider.html_attribution, "max_zoom": int(provider.get("max_zoom", 19))}]


# -- GeoJSON helpers ------------------------------------------------------------------------------

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


def _val(row, name: str, default: Any = None) -> Any:
    v = getattr(row, name, default)
    if v is None:
        return default
    try:
        if v != v:  # NaN, NA
            return default
    except (TypeError, ValueError):  # pandas NA compares ambiguous
        return default
    return v


# -- popups ---------------------------------------------------------------------------------------

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

    def date(self, v: Any) -> str:
        from surveyor.i18n import format_date

        d = st.local_date(st._parse_time(v), self.settings)
        return format_date(d, self.lang) if d is not None else "-"

    def direction(self, key: Any, bearing: Any) -> str:
        from surveyor.geo.bearing import compass

        key = key if isinstance(key, str) and key else compass(None if bearing is None else float(bearing))
        return self._(key) if key else ""


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
        text = _("{sessions} visits").format(sessions=w.num(sessions))
        if days is not None:
            text += ", " + _("{days} days").format(days=w.num(days))
        rows.append((esc(_("Visits")), esc(text)))
    share = _val(row, "share_negative")
    if share is not None:
        lo, hi = _val(row, "lower_95"), _val(row, "upper_95")
        text = w.pct(share)
        if lo is not None and hi is not None:
            text += " " + _("(95% confidence: {low} to {high})").format(low=w.pct(lo), high=w.pct(hi))
        rows.append((esc(_("No usable 4G")), esc(text)))
    nos, old = _val(row, "share_no_service"), _val(row, "share_2g3g")
    if nos or old:
        rows.append((esc(_("Why")), esc(_("no signal {no_signal}, only 2G/3G {old}").format(
            no_signal=w.pct(nos or 0), old=w.pct(old or 0)))))
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


def cell_popup(row, w: Words) -> str:
    """Popup HTML of one coverage cell (escaped)."""
    _ = w._
    cls = st.CLASS_BY_KEY.get(str(_val(row, "status", "")), None)
    label = _(cls.label) if cls else str(_val(row, "status", ""))
    head = f"<b>{esc(_val(row, 'operator', ''))}</b>: {esc(label)}"
    if cls is not None and cls.key == "not_surveyed":
        return head + "<br>" + esc(_(cls.explain))
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


def zone_popup(row, w: Words) -> str:
    """Popup HTML of one dead zone (escaped)."""
    _ = w._
    head = f"<b>{esc(_val(row, 'zone_id', ''))}</b> · {esc(_val(row, 'operator', ''))}: " \
           f"{esc(_('No usable 4G (dead zone)'))}"
    rows = [(esc(_("Size")), esc(_("{area} km², {cells} cells").format(
        area=w.num(_val(row, "area_km2", 0), 3), cells=w.num(_val(row, "cells", 0)))))]
    dusun = _val(row, "dusun")
    if dusun:
        rows.append((esc(_("Dusun")), esc(dusun)))
    rows += _evidence_rows(row, w)
    d = _val(row, "nearest_signal_m")
    if d is not None:
        rows.append((esc(_("Nearest signal")), esc(_("walk {distance} m {direction}").format(
            distance=w.num(d), direction=w.direction(_val(row, "nearest_signal_direction"),
                                                     _val(row, "nearest_signal_bearing_deg"))).strip())))
    t = _val(row, "nearest_tower_m")
    if t is not None:
        rows.append((esc(_("Nearest known tower")), esc(_("{distance} m {direction}").format(
            distance=w.num(t), direction=w.direction(_val(row, "nearest_tower_direction"),
                                                     _val(row, "nearest_tower_bearing_deg"))).strip())))
    return head + _table(rows)


def site_popup(row, w: Words) -> str:
    """Popup HTML of one site suggestion: worded as input for the operator's planning."""
    _ = w._
    head = "<b>" + esc(_("Suggested site {rank} for {operator}").format(
        rank=w.num(_val(row, "rank", 0)), operator=_val(row, "operator", ""))) + "</b>"
    text = _("A new site here (reach about {radius} m) could serve {cells} cells without usable 4G "
             "({samples} checks).").format(radius=w.num(_val(row, "radius_m", 0)),
                                            cells=w.num(_val(row, "dead_cells_served", 0)),
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
        rows.append((esc(_("Estimated range")), esc(f"{w.num(rng)} m")))
    src = _val(row, "source")
    rows.append((esc(_("Source")), esc(src or "OpenCelliD")))
    return head + _table(rows) + "<i>" + esc(_("Position estimated from phones' measurements.")) + "</i>"


# -- the map --------------------------------------------------------------------------------------



def _class_swatch(cls: st.CoverageClass) -> str:
    if cls.key == "not_surveyed":
        return f'<span class="sw" style="background:#fff;border:1px dashed {cls.edge}"></span>'
    return (f'<span class="sw" style="background:{cls.colour};opacity:{max(cls.fill_opacity, 0.6)};'
            f'border-color:{cls.edge}"></span>')


def legend_html(layers: st.MapLayers, w: Words) -> str:
    """The legend as plain HTML (no d3, no CDN), thresholds in plain words."""
    _ = w._
    values = st.explain_values(w.settings, w.lang)
    present = set(layers.cells["status"].astype(str)) if len(layers.cells) else set()
    parts = [f'<details class="svy-box svy-legend" id="svy-legend" open><summary>{esc(_("Legend"))}</summary>']
    for cls in st.CLASSES:
        if cls.key not in present and cls.key != "not_surveyed":
            continue
        parts.append(f'<div class="row" data-class="{cls.key}">{_class_swatch(cls)}<div><b>{esc(_(cls.label))}'
                     f'</b><br><small>{esc(_(cls.explain).format(**values))}</small></div></div>')
    parts.append(f'<div class="row"><span class="sw" style="background:#fff;border:2.5px solid '
                 f'{st.DEAD_ZONE_EDGE}"></span><div>{esc(_("Dead zone outline with its ID"))}</div></div>')
    if len(layers.sites):
        parts.append(f'<div class="row"><span class="sw" style="background:{st.SITE_COLOUR};border-radius:50%">'
                     f'</span><div>{esc(_("Suggested site for an operator to consider"))}</div></div>')
    if len(layers.towers):
        parts.append('<div class="row"><span class="sw" style="background:#fff;border:2px solid #000;'
                     f'border-radius:50%"></span><div>{esc(_("Known tower (estimated position)"))}</div></div>')
    parts.append(f'<div class="row"><span class="sw" style="background:#fff;border:2px solid '
                 f'{st.BOUNDARY_COLOUR}"></span><div>{esc(_("Village boundary"))}</div></div>')
    s = layers.summary
    summary = _("Measurements: {samples} · survey walks: {sessions} · days: {days}.").format(
        samples=w.num(s.get("samples")), sessions=w.num(s.get("sessions")), days=w.num(s.get("days")))
    method = _("A place is a hexagon of about {size} m. A check is one measurement at least {gap_s} s and "
               "{dist_m} m from the previous one. No usable 4G means no signal, only 2G/3G, or signal "
               "(RSRP) below {rsrp_dbm} dBm.").format(
        size=w.num(_edge_m(layers.resolution)), gap_s=w.num(w.settings.effective_min_gap_s),
        dist_m=w.num(w.settings.effective_min_distance_m), rsrp_dbm=values["rsrp_dbm"])
    parts.append(f"<p><small>{esc(summary)} {esc(method)}</small></p>")
    if layers.rolled_up:
        parts.append(f"<p><small>{esc(_('The area is large, so small cells are summarised into larger ones.'))}"
                     "</small></p>")
    analysed = s.get("analysed_at")
    parts.append("<p><small>" + esc(_("Source: surveyor, analysed {date}.").format(
        date=w.date(analysed) if analysed else "-")) + "</small></p></details>")
    return "".join(parts)


def _edge_m(resolution: int) -> float:
    import h3

    return round(h3.average_hexagon_edge_length(resolution, unit="m") * 2, -1)


def title_html(layers: st.MapLayers, w: Words) -> str:
    _ = w._
    ops = ", ".join(layers.operators)
    return (f'<div class="svy-box svy-title" id="svy-title"><h1>{esc(_("4G coverage"))}: '
            f'{esc(layers.area_name)}</h1>{esc(ops)} · {esc(st.date_range(layers.summary, w.settings, w.lang))}'
            "</div>")


def _sample_layers(store, settings: Settings, layers: st.MapLayers, w: Words):
    """Thinned sample points and simplified routes (only with --show-samples)."""
    import numpy as np
    import pandas as pd
    import shapely

    from surveyor.geo.cells import assign_cells, parent_cells
    from surveyor.analyse.rules import negative_reasons
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
    keep = None
    for res in range(12, 6, -1):
        cells = fine if res == 12 else parent_cells(fine, res)
        first = ~pd.DataFrame({"op": ops, "cell": cells}).duplicated().to_numpy()
        if first.sum() <= st.MAX_SAMPLE_POINTS or res == 7:
            keep = np.flatnonzero(first)[: st.MAX_SAMPLE_POINTS]
            break
    _ = w._
    feats = []
    for i in keep:
        r = df.iloc[i]
        rsrp = r["rsrp_dbm"] if pd.notna(r["rsrp_dbm"]) else r["nr_rsrp_dbm"]
        rows = [(esc(_("Time")), esc(w.date(r["time"]) + " " + (
                    st.local_time(r["time"], settings) or ""))),
                (esc(_("Technology")), esc(r["tech"] if pd.notna(r["tech"]) else "-")),
                (esc(_("Signal")), esc(f"{w.num(rsrp)} dBm" if pd.notna(rsrp) else "-"))]
        if pd.notna(r["service"]) and r["service"] != "in_service":
            rows.append((esc(_("Service")), esc(r["service"])))
        if isinstance(r["note"], str) and r["note"]:
            rows.append((esc(_("Note")), esc(r["note"])))
        popup = f"<b>{esc(r['operator'])}</b>: " + esc(_("no usable 4G") if neg[i] else _("usable 4G")) + _table(rows)
        feats.append({"type": "Feature", "properties": {"p": popup},
                      "geometry": {"type": "Point", "coordinates": [round(float(r["lon"]), COORD_DIGITS),
                                                                    round(float(r["lat"]), COORD_DIGITS)]}})
    negs = {"type": "FeatureCollection", "features": [f for f, i in zip(feats, keep) if neg[i]]}
    poss = {"type": "FeatureCollection", "features": [f for f, i in zip(feats, keep) if not neg[i]]}
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
    return (negs, poss), routes


def _layer(data: dict, *, style: dict | None = None, marker: dict | None = None,
           interactive: bool = True) -> dict:
    """One GeoJSON layer of the page: features plus how the page's script draws them."""
    return {"data": data, "style": style or {}, "marker": marker, "interactive": interactive}


def _group(name: str, layers: list[dict], show: bool) -> dict:
    """An entry of the layer control: a name (already HTML-escaped) and the layers it toggles."""
    return {"name": name, "show": show, "layers": [x for x in layers if x["data"]["features"]]}


def build_map(store, settings: Settings, *, operators=None, area: str | None = None, tiles: str | None = "none",
              lang: str = "id", show_samples: bool = False) -> tuple[dict, st.MapLayers]:
    """The map's content as plain data (see :func:`render_map`) and the layers it was drawn from.

    The result holds the view bounds, base tiles and overlay groups; every text in it is already
    HTML-escaped, because Leaflet puts popups, tooltips and control labels into ``innerHTML``.
    """
    w = Words(lang, settings)
    _ = w._
    layers = st.map_layers(store, settings, operators=operators, area=area)
    minx, miny, maxx, maxy = layers.bounds()
    groups: list[dict] = []
    for n, op in enumerate(layers.operators):
        show = n == 0  # one operator at a time: hexagons of two operators would cover each other
        cells = layers.cells[layers.cells["operator"].astype(str) == op]
        parts = []
        for cls in st.CLASSES:
            part = cells[cells["status"] == cls.key]
            if len(part) == 0:
                continue
            style = {"color": cls.edge, "weight": 1 if cls.key == "not_surveyed" else 0.6,
                     "opacity": 0.9, "fillColor": cls.colour, "fillOpacity": cls.fill_opacity,
                     "fill": cls.fill_opacity > 0}
            if cls.dashed:
                style["dashArray"] = "3 3"
            parts.append(_layer(_collection(part, lambda r: {"p": cell_popup(r, w)}), style=style))
        groups.append(_group(esc(_("{operator}: coverage").format(operator=op)), parts, show))
        zones = layers.dead_zones[layers.dead_zones["operator"].astype(str) == op] \
            if len(layers.dead_zones) else layers.dead_zones
        if len(zones):
            data = _collection(zones, lambda r: {"p": zone_popup(r, w), "t": esc(_val(r, "zone_id", ""))})
            groups.append(_group(esc(_("{operator}: dead zones").format(operator=op)), [_layer(
                data, style={"color": st.DEAD_ZONE_EDGE, "weight": 2.5, "fill": True, "fillOpacity": 0.0,
                             "opacity": 1})], show))
        sites = layers.sites[layers.sites["operator"].astype(str) == op] if len(layers.sites) else layers.sites
        if len(sites):
            data = _collection(sites, lambda r: {"p": site_popup(r, w)})
            groups.append(_group(esc(_("{operator}: suggested sites").format(operator=op)), [_layer(
                data, marker={"radius": 8, "color": "#000000", "weight": 2, "fill": True,
                              "fillColor": st.SITE_COLOUR, "fillOpacity": 1.0})], show))
    if len(layers.towers):
        data = _collection(layers.towers, lambda r: {"p": tower_popup(r, w)})
        groups.append(_group(esc(_("Known towers")), [_layer(
            data, marker={"radius": 5, "color": st.TOWER_COLOUR, "weight": 2, "fill": True,
                          "fillColor": "#ffffff", "fillOpacity": 1.0})], True))
    if layers.boundary is not None and not layers.boundary.is_empty:
        b = layers.boundary.simplify(0.00002)
        data = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": _geometry(b), "properties": {"p": "<b>" + esc(layers.area_name) + "</b>"}}]}
        parts = [_layer(data, interactive=False,
                        style={"color": st.BOUNDARY_COLOUR, "weight": 2.5, "fill": False, "opacity": 1})]
        if len(layers.dusun):
            dus = layers.dusun.copy()
            dus["geometry"] = dus.geometry.simplify(0.00002)
            parts.append(_layer(_collection(dus, lambda r: {"t": esc(_val(r, "name", ""))}), interactive=False,
                                style={"color": st.DUSUN_COLOUR, "weight": 1.2, "dashArray": "6 4", "fill": False,
                                       "opacity": 1}))
        groups.append(_group(esc(_("Village boundary")), parts, True))
    if show_samples:
        points, routes = _sample_layers(store, settings, layers, w)
        if points is not None:
            groups.append(_group(esc(_("Survey walks")), [_layer(
                routes, interactive=False,
                style={"color": st.ROUTE_COLOUR, "weight": 1.5, "opacity": 0.8, "dashArray": "4 3"})], True))
            parts = [_layer(data, marker={"radius": 3, "color": "#000000", "weight": 0.5, "fill": True,
                                          "fillColor": colour, "fillOpacity": 1.0})
                     for data, colour in ((points[1], st.CLASS_BY_KEY["covered"].colour),
                                          (points[0], st.CLASS_BY_KEY["dead"].colour))]
            groups.append(_group(esc(_("Measurements (thinned)")), parts, True))
    content = {"bounds": [[miny, minx], [maxy, maxx]], "tiles": tile_layers(tiles), "groups": groups,
               "title": title_html(layers, w), "legend": legend_html(layers, w),
               "page_title": esc(_("4G coverage")) + ": " + esc(layers.area_name)}
    return content, layers


def script_json(value: Any) -> str:
    """JSON that can stand inside an HTML ``<script>`` element: no ``<``, ``>`` or ``&`` left raw, so
    no text can close the element or start a comment, and U+2028/2029 cannot end a JS line."""
    import json

    text = json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def map_page(content: dict) -> str:
    """The whole HTML page of a map's content: Leaflet, the page script and the data, inlined.

    Nothing here goes through a template engine. folium (and branca under it) compiles the text of
    every element it renders as a Jinja template, so any input text handed to it (a dusun name, a
    note, an operator name) could run as template code on the machine drawing the map. The page is
    therefore assembled from fixed text and :func:`script_json` data only, and the page script
    (``map.js``) builds the Leaflet layers from that data in the browser.
    """
    js, css = leaflet_assets()
    page_js, page_css = page_assets()
    return ("<!DOCTYPE html>\n<html lang=\"" + esc(content.get("lang", "id")) + "\">\n<head>\n"
            '<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
            "<title>" + content["page_title"] + "</title>\n"
            "<style>" + css + "</style>\n<style>" + page_css + "</style>\n"
            "<script>" + js + "</script>\n</head>\n<body>\n"
            '<div id="svy-map"></div>\n'
            + content["title"] + "\n" + content["legend"] + "\n"
            '<script type="application/json" id="svy-data">' + script_json(
                {k: content[k] for k in ("bounds", "tiles", "groups")}) + "</script>\n"
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
               tiles: str | None = "none", lang: str = "id", show_samples: bool = False) -> Path:
    """Write the interactive coverage map as one self-contained HTML file.

    Parameters
    ----------
    store
        An open store with an analysis (``surveyor analyze``).
    settings
        Survey settings: village, operators, thresholds, exclusion zones.
    out
        The HTML file to write, atomically (replaced if it exists: the command line checks
        ``--overwrite`` and creates missing folders).
    operators
        Operators to map (default: those of the settings that have cells).
    area
        Village code, for databases that hold several villages.
    tiles
        ``"none"`` (default: complete offline), ``"osm"``, an xyzservices name or a tile URL. Tiles
        are the only network reference the file can contain.
    lang
        ``"id"`` or ``"en"``.
    show_samples
        Also draw survey walks and thinned measurement points. Off by default because a walk can
        reveal where a volunteer lives.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    if lang not in ("id", "en"):
        raise InvalidRequest(f"Unknown language {lang!r}.", fix="Use id or en.")
    content, _layers = build_map(store, settings, operators=operators, area=area, tiles=tiles, lang=lang,
                                 show_samples=show_samples)
    content["lang"] = lang
    text = map_page(content)
    leaks = external_references(text)
    if leaks:  # pragma: no cover - a folium upgrade adding a CDN reference would land here
        raise RuntimeError(f"the map would load from the network: {leaks[:3]}")
    p = write_text(out, text)
    log.info("wrote %s (%.0f kB)", p, p.stat().st_size / 1024)
    return p

