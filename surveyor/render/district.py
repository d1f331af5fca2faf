"""The district overview: one row and one polygon per village (``surveyor report --district`` and
``surveyor map --district``), and the pieces of page the before-and-after outputs share.

- :func:`render_district_map`: one self-contained HTML file (Leaflet inlined, works offline): a
  polygon per village, coloured by what the survey found there, with its row in a popup.
- :func:`render_district_report`: the table per kecamatan as PDF or HTML (with a printed map of the
  villages), or as an XLSX workbook with one sheet per kecamatan (``--out`` suffix ``.xlsx``).

The numbers come from :func:`surveyor.analyse.district.district_overview` on the stored analysis
(exclusion zones left out as in every output); the words from the glossary
(:mod:`surveyor.i18n.glossary`) and the ``district`` catalogues. Pages are assembled from fixed
text, escaped values and JSON data only (no template engine sees an input's text).
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from surveyor.config import Settings
from surveyor.errors import InvalidRequest

__all__ = ["district_frame", "render_district_map", "render_district_report", "write_district_xlsx"]

# Village classes of the overview map, in legend order, with their colours.
VILLAGE_CLASSES = (
    ("blank_spot", "#d62728"),
    ("weak", "#ff8c00"),
    ("usable", "#2ca02c"),
    ("thin", "#bbbbbb"),
)
# Below this share of its cells surveyed, a village's map colour says "little surveyed".
THIN_SHARE = 0.1


def esc(value: Any) -> str:
    """Text for HTML (escaped; None as a dash)."""
    return "-" if value is None else html.escape(str(value), quote=True)


def script_json(value: Any) -> str:
    """JSON that can stand inside an HTML ``<script>`` element (no ``<``, ``>``, ``&`` raw)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _round_coords(coords: Any) -> Any:
    if isinstance(coords, (list, tuple)):
        if coords and isinstance(coords[0], (int, float)):
            return [round(float(c), 6) for c in coords]
        return [_round_coords(c) for c in coords]
    return coords


def geojson_features(gdf, props) -> dict:
    """A FeatureCollection of a GeoDataFrame's rows, ``props(row)`` giving each one's properties."""
    import shapely

    feats = []
    for row, geom in zip(gdf.to_dict("records"), gdf.geometry):
        if geom is None or geom.is_empty:
            continue
        g = json.loads(shapely.to_geojson(geom))
        g["coordinates"] = _round_coords(g.get("coordinates"))
        feats.append({"type": "Feature", "geometry": g, "properties": props(row)})
    return {"type": "FeatureCollection", "features": feats}


PAGE_JS = r"""
(function () {
  var data = JSON.parse(document.getElementById('svy-data').textContent);
  var map = L.map('svy-map', {preferCanvas: true});
  var overlays = {}, all = [];
  data.layers.forEach(function (spec, i) {
    var layer = L.geoJSON(spec.data, {
      style: function (f) {
        return {color: f.properties.line || '#444', weight: f.properties.weight || 1, opacity: 0.8,
                fillColor: f.properties.c, fillOpacity: f.properties.alpha || 0.55,
                dashArray: f.properties.dash || null};
      },
      onEachFeature: function (f, l) { if (f.properties.p) { l.bindPopup(f.properties.p, {maxWidth: 360}); } }
    });
    overlays[spec.name] = layer;
    if (spec.show) { layer.addTo(map); }
    all.push(layer);
  });
  if (data.layers.length > 1) { L.control.layers(null, overlays, {collapsed: false}).addTo(map); }
  L.control.scale({imperial: false}).addTo(map);
  var b = data.bounds;
  map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
})();
"""

PAGE_CSS = """
html, body {margin: 0; height: 100%; font-family: 'DejaVu Sans', Arial, sans-serif;}
#svy-map {position: absolute; top: 0; bottom: 0; left: 0; right: 0;}
.svy-box {position: absolute; z-index: 1000; background: rgba(255,255,255,0.93); padding: 6px 10px;
          border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.3); font-size: 13px;}
.svy-title {top: 10px; left: 50px; max-width: 60%;}
.svy-title h1 {font-size: 16px; margin: 0 0 2px 0;}
.svy-legend {bottom: 24px; left: 10px; max-width: 320px;}
.svy-legend i {display: inline-block; width: 14px; height: 14px; margin-right: 6px; vertical-align: middle;
               border: 1px solid #555;}
.leaflet-popup-content table {border-collapse: collapse; font-size: 12px;}
.leaflet-popup-content th {text-align: left; padding-right: 8px; font-weight: normal; color: #555;}
"""


def leaflet_page(*, lang: str, page_title: str, title_html: str, legend_html: str, layers: list[dict],
                 bounds) -> str:
    """A whole offline map page: Leaflet and its styles inlined, the layers as JSON data."""
    from surveyor.leaflet import leaflet_assets

    js, css = leaflet_assets()
    payload = {"layers": layers, "bounds": [round(float(b), 6) for b in bounds]}
    return ("<!DOCTYPE html>\n<html lang=\"" + esc(lang) + "\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
            "<title>" + esc(page_title) + "</title>\n<style>" + css + "</style>\n<style>" + PAGE_CSS + "</style>\n"
            "<script>" + js + "</script>\n</head>\n<body>\n<div id=\"svy-map\"></div>\n"
            '<div class="svy-box svy-title">' + title_html + "</div>\n"
            '<div class="svy-box svy-legend">' + legend_html + "</div>\n"
            '<script type="application/json" id="svy-data">' + script_json(payload) + "</script>\n"
            "<script>" + PAGE_JS.replace("</script", "<\\/script") + "</script>\n</body>\n</html>\n")


def popup_table(rows: list[tuple[str, str]], heading: str | None = None) -> str:
    """A popup: an optional heading and a two-column table (all text escaped)."""
    head = f"<b>{esc(heading)}</b><br>" if heading else ""
    return head + "<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows) + "</table>"


def write_document(page: str, out: Path) -> Path:
    """An HTML page to ``out``: as it is for ``.html``/``.htm``, printed by WeasyPrint otherwise (it
    reads nothing but the ``data:`` images the page embeds)."""
    from surveyor.files import atomic_path, write_text

    out = Path(out)
    if out.suffix.lower() in (".html", ".htm"):
        return write_text(out, page)
    if out.suffix.lower() != ".pdf":
        raise InvalidRequest(f"Cannot tell the document format from {out.name!r}.",
                             fix="End --out with .pdf or .html.")
    from surveyor.render.report import check_fonts, load_weasyprint

    weasyprint = load_weasyprint()
    check_fonts()

    import weasyprint.urls as urls

    if hasattr(urls, "URLFetcher"):  # newer WeasyPrint: a class with allowed protocols
        fetch = urls.URLFetcher(allowed_protocols={"data"})
    else:  # older WeasyPrint: a function
        def fetch(url: str, *args, **kwargs):
            if url.startswith("data:"):
                return weasyprint.default_url_fetcher(url, *args, **kwargs)
            raise ValueError(f"the document loads nothing from outside itself ({url[:60]})")

    with atomic_path(out) as tmp:
        weasyprint.HTML(string=page, url_fetcher=fetch).write_pdf(str(tmp))
    return out


DOC_CSS = """
@page {size: A4 landscape; margin: 14mm 12mm 16mm 12mm;
       @bottom-right {content: counter(page) " / " counter(pages); font-size: 8pt; color: #666;}}
body {font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 9.5pt; color: #222;}
h1 {font-size: 17pt; margin: 0 0 4px 0;} h2 {font-size: 13pt; margin: 16px 0 6px 0; page-break-after: avoid;}
h3 {font-size: 11pt; margin: 12px 0 4px 0; page-break-after: avoid;}
p.sub {color: #555; margin: 0 0 10px 0;}
table {border-collapse: collapse; width: 100%; margin: 4px 0 10px 0;}
thead {display: table-header-group;}
th, td {border: 1px solid #bbb; padding: 2px 5px; text-align: left; vertical-align: top;}
th {background: #eee; font-weight: bold;}
td.n {text-align: right; white-space: nowrap;}
tr {page-break-inside: avoid;}
img.map {max-width: 100%; max-height: 150mm; display: block; margin: 6px auto;}
.key i {display: inline-block; width: 11px; height: 11px; margin: 0 4px 0 10px; vertical-align: middle;
        border: 1px solid #555;}
.note {color: #444; font-size: 8.5pt;}
"""


def document(lang: str, title: str, body: str) -> str:
    """A printable HTML document around ``body`` (already escaped HTML)."""
    return ("<!DOCTYPE html>\n<html lang=\"" + esc(lang) + "\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
            + esc(title) + "</title>\n<style>" + DOC_CSS + "</style>\n</head>\n<body>\n" + body
            + "\n</body>\n</html>\n")


def table_html(header: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td class=\"n\">{esc(v)}</td>" if i in numeric else f"<td>{esc(v)}</td>"
                                    for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def png_data_uri(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def draw_polygons(ax, geoms, colours, *, edge="#444444", width=0.4, hatch=None) -> None:
    """Polygons (lon/lat) on a matplotlib axis, one colour each."""
    from matplotlib.patches import Polygon as Patch

    for geom, colour in zip(geoms, colours):
        if geom is None or geom.is_empty:
            continue
        parts = geom.geoms if hasattr(geom, "geoms") else [geom]
        for part in parts:
            if part.geom_type != "Polygon":
                continue
            ax.add_patch(Patch(list(part.exterior.coords), closed=True, facecolor=colour, edgecolor=edge,
                               linewidth=width, hatch=hatch))


def figure_for(bounds, width_in: float = 10.5):
    """A matplotlib figure and axis framing lon/lat ``bounds``, in local proportions."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x0, y0, x1, y1 = bounds
    aspect = 1.0 / max(math.cos(math.radians((y0 + y1) / 2)), 0.2)
    w, h = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    height_in = min(width_in * h * aspect / w, 7.0)
    fig, ax = plt.subplots(figsize=(width_in, max(height_in, 3.0)))
    pad_x, pad_y = w * 0.03, h * 0.03
    ax.set_xlim(x0 - pad_x, x1 + pad_x)
    ax.set_ylim(y0 - pad_y, y1 + pad_y)
    ax.set_aspect(aspect)
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_color("#999")
    return fig, ax


# ---------------------------------------------------------------------------------------------
# The district overview


def district_frame(store, settings: Settings, code: str):
    """(overview, villages): the :class:`~surveyor.analyse.district.DistrictOverview` of ``code``
    and the villages' polygons (GeoDataFrame with ``code``), from the stored analysis."""
    from surveyor.analyse.district import _villages, district_overview, find_district
    from surveyor.outputs.layers import load_layer, require_analysis

    selected = find_district(store, settings, code)
    require_analysis(store)
    areas = store.read_layer("areas")
    cells = load_layer(store, settings, "cells", area=code)
    zones = load_layer(store, settings, "dead_zones", area=code)
    rules = store.get_meta("analysis_rules") or {}
    res = int(rules.get("resolution") or (int(cells["resolution"].iloc[0]) if len(cells) else settings.resolution))
    overview = district_overview(selected, areas, cells, zones, settings, resolution=res,
                                 analysed_at=store.get_meta("analysed_at"))
    if areas is not None and len(areas) and "code" in areas.columns:
        villages = _villages(areas, selected)
    else:
        import geopandas as gpd

        villages = gpd.GeoDataFrame({"code": [selected.code]}, geometry=[selected.boundary], crs="EPSG:4326")
    return overview, villages


def village_class(row) -> str:
    """What the map colours a village by: a blank spot found, weak signal or no usable 4G of an
    operator, usable 4G everywhere judged, or too little of it surveyed to say."""
    if row.surveyed_share is None or row.surveyed_share < THIN_SHARE:
        return "thin"
    if row.blank_spot_km2 > 0:
        return "blank_spot"
    if any(v > 0 for v in row.weak_km2.values()) or any(v > 0 for v in row.dead_km2.values()):
        return "weak"
    return "usable"


def _class_labels(lang: str) -> dict[str, str]:
    """The legend of the village map, in the glossary's words."""
    from surveyor.i18n.glossary import label

    _ = _words(lang)
    return {"blank_spot": label("blank_spot", lang) + " " + _("found"),
            "weak": _("An operator without usable 4G, or weak signal"),
            "usable": _("Usable 4G wherever judged"),
            "thin": _("Less than a tenth of the village surveyed")}


def _words(lang: str):
    from surveyor.i18n import translator

    return translator(lang, "district")


def village_rows(overview, lang: str, timezone: str = "Asia/Jakarta") -> tuple[list[str], list[list[Any]], set[int]]:
    """The overview's header and rows for tables (numbers as the language writes them)."""
    from surveyor.i18n import format_number, format_percent
    from surveyor.i18n.glossary import label

    _ = _words(lang)
    header = [_("Village code"), _("Village"), _("Cells"), _("Surveyed"), label("blank_spot", lang) + " (km²)"]
    for op in overview.operators:
        header += [f"{label('dead_zone', lang)}: {op}", f"{label('dead', lang)}: {op} (km²)",
                   f"{label('weak_area', lang)}: {op} (km²)"]
    header.append(_("Last survey"))
    rows = []
    for v in overview.villages:
        row = [v.code, v.name, format_number(v.cells, lang),
               format_percent(v.surveyed_share, lang), format_number(v.blank_spot_km2, lang, 3)]
        for op in overview.operators:
            row += [format_number(v.dead_zones.get(op, 0), lang), format_number(v.dead_km2.get(op, 0.0), lang, 3),
                    format_number(v.weak_km2.get(op, 0.0), lang, 3)]
        row.append(_local_date(v.last_survey, lang, timezone))
        rows.append(row)
    return header, rows, set(range(2, len(header) - 1))


def _local_date(value, lang: str, timezone: str = "Asia/Jakarta") -> str:
    import pandas as pd

    from surveyor.i18n import format_date

    if not value:
        return "-"
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return format_date(ts.tz_convert(timezone).date(), lang, "medium")


def render_district_map(store, settings: Settings, code: str, out, *, lang: str | None = None) -> Path:
    """Write the district overview map: one polygon per village, one self-contained HTML file.

    Parameters
    ----------
    store, settings
        The geodatabase (analysed) and the survey settings.
    code
        The district's area code (a kecamatan or kabupaten): its villages are shown.
    out
        The HTML file to write (atomically).
    lang
        ``id`` or ``en`` (default: the settings' language).
    """
    from surveyor.files import write_text
    from surveyor.i18n import format_number, format_percent
    from surveyor.i18n.glossary import label

    lang = lang or settings.language
    _ = _words(lang)
    overview, villages = district_frame(store, settings, code)
    rows = {v.code: v for v in overview.villages}
    labels = _class_labels(lang)
    colours = dict(VILLAGE_CLASSES)

    def props(rec) -> dict:
        v = rows.get(str(rec["code"]))
        if v is None:
            return {"c": "#ffffff", "alpha": 0.1}
        cls = village_class(v)
        table = [(_("Village code"), v.code), (_("Kecamatan"), f"{v.group_name or ''} {v.group or ''}".strip()),
                 (_("Surveyed"), f"{format_percent(v.surveyed_share, lang)} ({format_number(v.surveyed_cells, lang)}"
                                 f"/{format_number(v.cells, lang)} {_('cells')})"),
                 (label("blank_spot", lang), f"{format_number(v.blank_spot_km2, lang, 3)} km²")]
        for op in overview.operators:
            table.append((f"{label('dead_zone', lang)}: {op}",
                          f"{format_number(v.dead_zones.get(op, 0), lang)} "
                          f"({format_number(v.dead_km2.get(op, 0.0), lang, 3)} km²)"))
            table.append((f"{label('weak_area', lang)}: {op}",
                          f"{format_number(v.weak_km2.get(op, 0.0), lang, 3)} km²"))
        table.append((_("Last survey"), _local_date(v.last_survey, lang, settings.timezone)))
        return {"c": colours[cls], "p": popup_table(table, v.name), "alpha": 0.6}

    data = geojson_features(villages, props)
    legend = "<b>" + esc(_("Villages")) + "</b><br>" + "<br>".join(
        f"<i style=\"background:{c}\"></i>{esc(labels[k])}" for k, c in VILLAGE_CLASSES)
    legend += "<br><span style=\"font-size:11px;color:#555\">" + esc(
        _("Blank spot: no usable 4G from any operator measured there. Click a village for its numbers.")) + "</span>"
    title = (f"<h1>{esc(_('Coverage survey by village'))}: {esc(overview.name)} ({esc(overview.code)})</h1>"
             f"{esc(format_number(len(overview.villages), lang))} {esc(_('villages'))}; "
             f"{esc(_('analysed'))} {esc(_local_date(overview.analysed_at, lang, settings.timezone))}")
    page = leaflet_page(lang=lang, page_title=f"{_('Coverage survey by village')}: {overview.name}", title_html=title,
                        legend_html=legend, layers=[{"name": _("Villages"), "data": data, "show": True}],
                        bounds=villages.total_bounds if len(villages) else (0, 0, 0, 0))
    return write_text(out, page)


def render_district_report(store, settings: Settings, code: str, out, *, lang: str | None = None) -> Path:
    """Write the district overview: a table per kecamatan as PDF or HTML (with a printed map of the
    villages), or an XLSX workbook with one sheet per kecamatan when ``out`` ends in ``.xlsx``."""
    lang = lang or settings.language
    out = Path(out)
    overview, villages = district_frame(store, settings, code)
    if out.suffix.lower() == ".xlsx":
        return write_district_xlsx(overview, out, lang=lang, timezone=settings.timezone)
    return write_document(_district_document(overview, villages, settings, lang), out)


def _district_document(overview, villages, settings: Settings, lang: str) -> str:
    from surveyor.i18n import format_number
    from surveyor.i18n.glossary import label, meaning

    _ = _words(lang)
    labels = _class_labels(lang)
    colours = dict(VILLAGE_CLASSES)
    rows = {v.code: v for v in overview.villages}
    body = [f"<h1>{esc(_('Coverage survey by village'))}: {esc(overview.name)} ({esc(overview.code)})</h1>",
            f"<p class=\"sub\">{esc(format_number(len(overview.villages), lang))} {esc(_('villages'))}; "
            f"{esc(_('analysed'))} {esc(_local_date(overview.analysed_at, lang, settings.timezone))}; "
            f"{esc(_('H3 cells of about'))} {esc(format_number(overview.cell_km2, lang, 3))} km²</p>"]
    if len(villages):
        fig, ax = figure_for(villages.total_bounds)
        cls = [village_class(rows[c]) if c in rows else "thin" for c in villages["code"].astype(str)]
        draw_polygons(ax, villages.geometry, [colours[c] for c in cls])
        body.append(f"<img class=\"map\" src=\"{png_data_uri(fig)}\" alt=\"\">")
        body.append("<p class=\"key\">" + "".join(f"<i style=\"background:{c}\"></i>{esc(labels[k])}"
                                                  for k, c in VILLAGE_CLASSES) + "</p>")
    body.append("<p class=\"note\">" + esc(f"{label('blank_spot', lang)}: {meaning('blank_spot', lang)} "
                                           f"{label('weak_area', lang)}: {meaning('weak_area', lang)} "
                                           f"{label('dead_zone', lang)}: {meaning('dead_zone', lang)}") + "</p>")
    header, _rows, numeric = village_rows(overview, lang, settings.timezone)
    by_code = {v.code: r for v, r in zip(overview.villages, _rows)}
    for group, name, villages_in in overview.groups():
        heading = f"{name} ({group})" if name else f"{_('Kecamatan')} {group or '-'}"
        body.append(f"<h2>{esc(heading)}</h2>")
        body.append(table_html(header, [by_code[v.code] for v in villages_in], numeric))
    return document(lang, f"{_('Coverage survey by village')}: {overview.name}", "\n".join(body))


def _sheet_title(text: str, used: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of ``[]:*?/\\``, unique in the workbook."""
    clean = "".join(ch for ch in text if ch not in "[]:*?/\\").strip() or "Sheet"
    title = clean[:31]
    k = 2
    while title.lower() in used:
        suffix = f" ({k})"
        title = clean[:31 - len(suffix)] + suffix
        k += 1
    used.add(title.lower())
    return title


def write_district_xlsx(overview, out, *, lang: str, timezone: str = "Asia/Jakarta") -> Path:
    """The overview as an XLSX workbook: a summary sheet of the kecamatan, then one sheet per
    kecamatan with one row per village; human headers in the language, numbers as numbers (shares
    as percentages), dates as dates, columns sized, the header row frozen, text neutralised so a
    spreadsheet never runs it as a formula."""
    import pandas as pd
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from surveyor.files import atomic_path
    from surveyor.i18n.glossary import label
    from surveyor.outputs.tables import neutralize

    _ = _words(lang)
    ops = overview.operators
    header = [_("Village code"), _("Village"), _("Cells"), _("Surveyed cells"), _("Surveyed"),
              label("blank_spot", lang) + " (km²)"]
    formats = [None, None, "#,##0", "#,##0", "0%", "0.000"]
    for op in ops:
        header += [f"{label('dead_zone', lang)}: {op}", f"{label('dead', lang)}: {op} (km²)",
                   f"{label('weak_area', lang)}: {op} (km²)"]
        formats += ["#,##0", "0.000", "0.000"]
    header.append(_("Last survey"))
    formats.append("yyyy-mm-dd")

    def text(v):
        return neutralize(v) if isinstance(v, str) else v

    def last_date(v):
        if not v:
            return None
        ts = pd.Timestamp(v)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
        return ts.tz_convert(timezone).date()

    def row_of(v) -> list[Any]:
        row = [text(v.code), text(v.name), v.cells, v.surveyed_cells, v.surveyed_share, v.blank_spot_km2]
        for op in ops:
            row += [v.dead_zones.get(op, 0), v.dead_km2.get(op, 0.0), v.weak_km2.get(op, 0.0)]
        row.append(last_date(v.last_survey))
        return row

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDDDDD")

    def fill_sheet(ws, head, rows, fmts):
        ws.append(head)
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for r in rows:
            ws.append(r)
        for j, fmt in enumerate(fmts, 1):
            if fmt:
                for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell.number_format = fmt
        for j, h in enumerate(head, 1):
            values = [str(h)] + [str(r[j - 1]) for r in rows if r[j - 1] is not None]
            ws.column_dimensions[get_column_letter(j)].width = min(max(10, max(len(v) for v in values) + 2), 42)
        ws.row_dimensions[1].height = 45
        ws.freeze_panes = "C2"

    wb = Workbook()
    used: set[str] = set()
    summary = wb.active
    summary.title = _sheet_title(_("Kecamatan"), used)
    s_head = [_("Kecamatan code"), _("Kecamatan"), _("Villages"), _("Cells"), _("Surveyed cells"), _("Surveyed"),
              label("blank_spot", lang) + " (km²)"] + [f"{label('dead_zone', lang)}: {op}" for op in ops]
    s_rows = []
    for group, name, villages in overview.groups():
        cells = sum(v.cells for v in villages)
        surveyed = sum(v.surveyed_cells for v in villages)
        s_rows.append([text(group or "-"), text(name or ""), len(villages), cells, surveyed,
                       (surveyed / cells) if cells else None, round(sum(v.blank_spot_km2 for v in villages), 4)]
                      + [sum(v.dead_zones.get(op, 0) for v in villages) for op in ops])
    fill_sheet(summary, s_head, s_rows, [None, None, "#,##0", "#,##0", "#,##0", "0%", "0.000"] + ["#,##0"] * len(ops))
    for group, name, villages in overview.groups():
        ws = wb.create_sheet(_sheet_title(f"{name or group or '-'}", used))
        fill_sheet(ws, header, [row_of(v) for v in villages], formats)
    with atomic_path(out) as tmp:
        wb.save(tmp)
    return Path(out)
