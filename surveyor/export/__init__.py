"""Exports for other tools: GeoJSON, KML (Google Earth), CSV, GeoPackage (QGIS), XLSX, and the
blank-spot sheet Diskominfo asks villages for.

Every export goes through :func:`surveyor.outputs.layers.load_layer`, the one place where privacy
applies: exclusion zones from ``survey.toml`` are dropped always, and ``anonymize`` removes
volunteers, device IDs, free text and exact sample positions (see :mod:`surveyor.outputs.privacy`).
Text from inputs is untrusted: KML is
XML-escaped (descriptions are HTML-escaped inside CDATA that cannot be closed early), and CSV/XLSX
cells that a spreadsheet would run as a formula are neutralised (OWASP "CSV injection").

Files are written beside their final name and renamed into place (:mod:`surveyor.files`), so a
failed export never leaves half a file under the name the user gave; the command line, not this
module, decides whether an existing file may be replaced.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterable
from datetime import datetime
from html import escape as html_escape
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from surveyor.config import Settings
from surveyor.errors import InvalidRequest
from surveyor.files import atomic_path
from surveyor.i18n import N_
from surveyor.outputs.layers import EXPORT_LAYERS, load_layer
from surveyor.outputs.tables import neutralize
from surveyor.store.base import Store

FORMATS = ("geojson", "kml", "csv", "gpkg", "xlsx", "blankspot", "parquet")
SUFFIX_FORMATS = {".geojson": "geojson", ".json": "geojson", ".kml": "kml", ".csv": "csv",
                  ".gpkg": "gpkg", ".xlsx": "xlsx", ".parquet": "parquet"}
ANALYSIS_LAYERS = ("cells", "dead_zones", "sites")

# Sample classes (negative first, then RTR-NetTest RSRP classes), as #rrggbb. "none" (LTE RSRP
# under the poor bound) is drawn for samples that are still not negative: a 5G NR signal that
# serves where the LTE anchor is weak, or a poor bound set above the negative threshold.
SAMPLE_COLOURS = {"negative": "#D55E00", "excellent": "#0072B2", "good": "#56B4E9", "fair": "#009E73",
                  "poor": "#E69F00", "none": "#CC79A7", "unknown": "#999999"}

# Control characters that XML 1.0 (KML, XLSX) forbids.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# ---------------------------------------------------------------------------------------------
# Reading a layer with privacy applied


def format_from_suffix(out: str | os.PathLike, fmt: str | None = None, layer: str | None = None) -> str:
    """The export format: ``fmt`` when given, else from the file suffix.

    Raises
    ------
    InvalidRequest
        When the suffix says nothing and no format is given, or the blank-spot sheet is asked for
        with a suffix other than ``.csv``/``.xlsx``.
    """
    suffix = Path(out).suffix.lower()
    if fmt is None:
        if suffix not in SUFFIX_FORMATS:
            raise InvalidRequest(f"Cannot tell the export format from {Path(out).name!r}.",
                             fix="End --out with .geojson, .kml, .csv, .gpkg or .xlsx, or give --format.")
        fmt = SUFFIX_FORMATS[suffix]
    if fmt not in FORMATS:
        raise InvalidRequest(f"Unknown export format {fmt!r}.", fix=f"Use one of: {', '.join(FORMATS)}.")
    if fmt == "blankspot" and suffix not in (".csv", ".xlsx"):
        raise InvalidRequest("The blank-spot sheet is written as CSV or XLSX.",
                         fix="End --out with .csv or .xlsx.")
    return fmt


# ---------------------------------------------------------------------------------------------
# Safe values


def _plain(value: Any) -> Any:
    """A Python scalar for CSV/XLSX/KML: None for missing, ISO 8601 UTC for times."""
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        ts = pd.Timestamp(value)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    return value


def _csv_text(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e15 else repr(value).removesuffix(".0")
    return str(neutralize(value)) if isinstance(value, str) else str(value)


def _table_columns(gdf) -> list[str]:
    return [c for c in gdf.columns if c != gdf.geometry.name] if hasattr(gdf, "geometry") else list(gdf.columns)


# ---------------------------------------------------------------------------------------------
# Writers


def write_csv(rows: Iterable[Iterable[Any]], header: Iterable[str], path: Path, *, bom: bool = False) -> None:
    """CSV (comma, UTF-8, dot decimals) with formula-like text neutralised."""
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(header))
        for row in rows:
            w.writerow([_csv_text(v) for v in row])


def write_xlsx(rows: Iterable[Iterable[Any]], header: Iterable[str], path: Path, *, sheet: str) -> None:
    """One-sheet workbook: numbers stay numbers, text is neutralised and stripped of XML-illegal
    control characters (openpyxl refuses them, and a leading '=' would become a formula)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    ws.append(list(header))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        values = []
        for v in row:
            v = _plain(v)
            if isinstance(v, str):
                v = neutralize(_XML_ILLEGAL.sub("", v))
            values.append(v)
        ws.append(values)
    ws.freeze_panes = "A2"
    wb.save(path)


def _frame_rows(gdf, columns: list[str]):
    yield from gdf[columns].itertuples(index=False, name=None)


def _kml_text(value: Any) -> str:
    return xml_escape(_XML_ILLEGAL.sub("", str(value)))


def cdata(text: str) -> str:
    """A CDATA section holding ``text``; a ``]]>`` inside is split across two sections."""
    text = _XML_ILLEGAL.sub("", text)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _kml_coords(coords) -> str:
    return " ".join(f"{x:.7f},{y:.7f}" for x, y, *_ in coords)


def _kml_geometry(geom) -> str:
    if geom is None or geom.is_empty:
        return ""
    t = geom.geom_type
    if t == "Point":
        return f"<Point><coordinates>{geom.x:.7f},{geom.y:.7f}</coordinates></Point>"
    if t == "Polygon":
        inner = "".join(f"<innerBoundaryIs><LinearRing><coordinates>{_kml_coords(r.coords)}</coordinates>"
                        "</LinearRing></innerBoundaryIs>" for r in geom.interiors)
        return ("<Polygon><outerBoundaryIs><LinearRing><coordinates>"
                f"{_kml_coords(geom.exterior.coords)}</coordinates></LinearRing></outerBoundaryIs>{inner}</Polygon>")
    if t == "LineString":
        return f"<LineString><coordinates>{_kml_coords(geom.coords)}</coordinates></LineString>"
    if t.startswith("Multi") or t == "GeometryCollection":
        return "<MultiGeometry>" + "".join(_kml_geometry(g) for g in geom.geoms) + "</MultiGeometry>"
    return ""


def sample_classes(samples, settings: Settings) -> list[str]:
    """The KML style of each sample: ``negative`` when it says no usable 4G, else the class of
    its LTE RSRP (:func:`surveyor.analyse.rules.rsrp_classes`), ``unknown`` without one."""
    import numpy as np

    from surveyor.analyse.rules import negative_reasons, rsrp_classes

    if "rsrp_dbm" in samples.columns:
        rsrp = samples["rsrp_dbm"]
    else:
        rsrp = np.full(len(samples), np.nan)
    classes = np.where(negative_reasons(samples, settings).notna().to_numpy(), "negative",
                       rsrp_classes(rsrp, settings))
    return ["unknown" if c is None else c for c in classes]


def kml_colour(hex_rgb: str, alpha: float = 1.0) -> str:
    """``#D55E00`` -> KML's ``aabbggrr``."""
    h = hex_rgb.lstrip("#")
    return f"{round(alpha * 255):02x}{h[4:6]}{h[2:4]}{h[0:2]}".lower()


def _class_label(key: Any, lang: str) -> str:
    from surveyor.i18n import glossary

    return glossary.label(key, lang) if key in glossary.BY_KEY else str(key)


def _placemark_name(layer: str, row: dict, _, lang: str) -> str:
    if layer == "dead_zones":
        return str(row.get("zone_id"))
    if layer == "sites":
        return _("Site suggestion {rank} for {operator}").format(rank=row.get("rank"), operator=row.get("operator"))
    if layer == "cells":
        return f"{row.get('operator')}: {_class_label(row.get('status'), lang)}"
    if layer == "sample_cells":
        return f"{row.get('operator')}: {_class_label(row.get('status'), lang)}"
    return f"{row.get('operator') or '?'} {row.get('tech') or ''} {_plain(row.get('time')) or ''}".strip()


# Decimals kept per kind of column, so KML and its descriptions show what the measurement can
# say (a centroid to 6 decimals is 0.1 m; an RSRP to 0.1 dB; a share to 0.001).
_DECIMALS = {"lat": 6, "lon": 6, "centroid_lat": 6, "centroid_lon": 6, "road_lat": 6, "road_lon": 6,
             "area_km2": 4, "share_negative": 3, "lower_95": 3, "upper_95": 3, "share_no_service": 3,
             "share_2g3g": 3, "unknown_accuracy_share": 3, "time_spread_h": 1}


def rounded(column: str, value: Any) -> Any:
    """A value as KML and the sheets show it: floats rounded for their kind (1 decimal by default,
    whole metres and degrees for distances and bearings)."""
    value = _plain(value)
    if not isinstance(value, float):
        return value
    if column in _DECIMALS:
        return round(value, _DECIMALS[column])
    if column.endswith(("_m", "_deg")):
        return round(value)
    return round(value, 1)


def write_kml(gdf, layer: str, path: Path, settings: Settings, *, lang: str, boundary=None) -> None:
    """KML 2.2 for Google Earth: the village boundary, then one folder per operator, styled with
    the map's palette by status (or sample class), names and an HTML description in the
    glossary's words, plus ExtendedData for every column (values rounded)."""
    from surveyor.i18n import translator
    from surveyor.render.style import BOUNDARY_COLOUR, CLASS_BY_KEY, SITE_COLOUR

    _ = translator(lang, "export")
    columns = _table_columns(gdf)
    title = f"{settings.name} ({settings.code}): {_(LAYER_TITLES.get(layer, layer))}"
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n',
             '<kml xmlns="http://www.opengis.net/kml/2.2">\n<Document>\n',
             f"<name>{_kml_text(title)}</name>\n"]
    if layer == "samples":
        palette = {k: (c, 1.0) for k, c in SAMPLE_COLOURS.items()}
    else:
        palette = {k: (c.colour, c.fill_opacity if c.fill_opacity else 0.0) for k, c in CLASS_BY_KEY.items()}
    for key, (colour, alpha) in palette.items():
        edge = CLASS_BY_KEY[key].edge if key in CLASS_BY_KEY else colour
        parts.append(f'<Style id="{key}"><IconStyle><color>{kml_colour(colour)}</color><scale>0.6</scale>'
                     "<Icon><href>http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png</href></Icon>"
                     f"</IconStyle><LineStyle><color>{kml_colour(edge)}</color><width>"
                     f"{2 if layer == 'dead_zones' else 1}</width></LineStyle>"
                     f"<PolyStyle><color>{kml_colour(colour, alpha)}</color></PolyStyle></Style>\n")
    parts.append(f'<Style id="site"><IconStyle><color>{kml_colour(SITE_COLOUR)}</color><scale>1.2</scale>'
                 "<Icon><href>http://maps.google.com/mapfiles/kml/shapes/target.png</href></Icon></IconStyle></Style>\n")
    parts.append(f'<Style id="boundary"><LineStyle><color>{kml_colour(BOUNDARY_COLOUR)}</color><width>3</width>'
                 "</LineStyle><PolyStyle><fill>0</fill></PolyStyle></Style>\n")
    if boundary is not None and not boundary.is_empty:
        parts.append(f"<Placemark><name>{_kml_text(_('Desa {name}').format(name=settings.name))}</name>"
                     f"<description>{cdata(html_escape(_('Village boundary') + f' ({settings.code})'))}</description>"
                     f"<styleUrl>#boundary</styleUrl>{_kml_geometry(boundary)}</Placemark>\n")
    op_col = gdf["operator"] if "operator" in gdf.columns else None
    groups = [(None, gdf)] if op_col is None else [
        (op, gdf[gdf["operator"].fillna("?") == op]) for op in sorted(gdf["operator"].fillna("?").unique(), key=str)]
    for op, sub in groups:
        if op is not None:
            parts.append(f"<Folder><name>{_kml_text(op)}</name>\n")
        classes = sample_classes(sub, settings) if layer == "samples" else None
        for i, (rec, geom) in enumerate(zip(sub[columns].to_dict("records"), sub.geometry)):
            if geom is None or geom.is_empty:
                continue  # unplaced samples have no position to show
            if classes is not None:
                style = classes[i]
            elif layer == "sites":
                style = "site"
            else:
                style = rec.get("status") if layer in ("cells", "sample_cells") else "dead"
            values = {c: rounded(c, rec.get(c)) for c in columns}
            rows = "".join(f"<tr><th align='left'>{html_escape(str(c))}</th><td>{html_escape(str(v))}</td></tr>"
                           for c, v in values.items() if v is not None)
            desc = f"<table>{rows}</table>"
            note = _kml_note(layer, rec, _, lang)
            if note:
                desc = f"<p>{html_escape(note)}</p>" + desc
            data = "".join(f'<Data name="{_kml_text(c)}"><value>{_kml_text(v)}</value></Data>'
                           for c, v in values.items() if v is not None)
            parts.append(f"<Placemark><name>{_kml_text(_placemark_name(layer, rec, _, lang))}</name>"
                         f"<description>{cdata(desc)}</description><styleUrl>#{style}</styleUrl>"
                         f"<ExtendedData>{data}</ExtendedData>{_kml_geometry(geom)}</Placemark>\n")
        if op is not None:
            parts.append("</Folder>\n")
    parts.append("</Document>\n</kml>\n")
    path.write_text("".join(parts), encoding="utf-8")


LAYER_TITLES = {"samples": N_("measurements"), "sample_cells": N_("measurements per cell"),
                "cells": N_("coverage cells"), "dead_zones": N_("dead zones"), "sites": N_("site suggestions")}


def _kml_note(layer: str, rec: dict, _, lang: str) -> str | None:
    """The placemark's first line, in the glossary's words."""
    from surveyor.i18n import glossary

    if layer == "dead_zones":
        return f"{glossary.label('dead', lang)}. {_evidence_line(rec, _, lang)}"
    if layer in ("cells", "sample_cells") and rec.get("status") in glossary.BY_KEY:
        return f"{glossary.label(rec['status'], lang)}: {glossary.meaning(rec['status'], lang)}"
    return None


def _evidence_line(rec: dict, _, lang: str) -> str:
    from surveyor.i18n import format_number, format_percent

    return _("{neg} of {eff} effective samples without usable 4G ({raw} raw), {sessions} sessions, "
             "{devices} devices; share {share} (95% bounds {lo} to {hi})").format(
        neg=format_number(rec.get("negatives_effective"), lang), eff=format_number(rec.get("samples_effective"), lang),
        raw=format_number(rec.get("samples_raw"), lang), sessions=format_number(rec.get("sessions"), lang),
        devices=format_number(rec.get("devices"), lang), share=format_percent(rec.get("share_negative"), lang),
        lo=format_percent(rec.get("lower_95"), lang, 1), hi=format_percent(rec.get("upper_95"), lang, 1))


def sample_cells(samples, settings: Settings):
    """Samples aggregated per H3 cell (resolution 10) and operator, for a KML that stays small: the
    number of samples, how many said no usable 4G, the median RSRP, and the status word of that
    share (``dead`` for a majority without usable 4G, ``marginal`` for some, ``covered`` for none;
    not the analysis's judgement, which needs the evidence rules: see the cells layer)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from surveyor.analyse.rules import negative_reasons
    from surveyor.geo import cells as grid

    placed = (samples[samples["lat"].notna() & samples["h3_10"].notna()] if "h3_10" in samples.columns
              else samples.iloc[0:0])
    if len(placed) == 0:
        return gpd.GeoDataFrame({"operator": [], "h3": [], "samples": []}, geometry=[], crs="EPSG:4326")
    df = pd.DataFrame({"operator": placed["operator"].fillna("?").to_numpy(),
                       "cell": grid.cell_ints(placed["h3_10"])[0].astype(np.int64),
                       "negative": negative_reasons(placed, settings).notna().to_numpy(),
                       "rsrp_dbm": placed["rsrp_dbm"].to_numpy(float) if "rsrp_dbm" in placed else np.nan})
    g = df.groupby(["operator", "cell"], sort=True)
    agg = g.agg(samples=("negative", "size"), negative=("negative", "sum"), rsrp_median_dbm=("rsrp_dbm", "median"))
    agg = agg.reset_index()
    share = agg["negative"] / agg["samples"]
    agg["share_negative"] = share
    agg["status"] = np.where(share > 0.5, "dead", np.where(share > 0, "marginal", "covered"))
    cells = agg["cell"].to_numpy().astype(np.uint64)
    agg["h3"] = grid.to_hex(cells)
    lat, lon = grid.cell_centres(cells)
    agg["lat"], agg["lon"] = lat, lon
    geoms = grid.cell_polygons(cells)
    return gpd.GeoDataFrame(agg.drop(columns=["cell"]), geometry=geoms, crs="EPSG:4326")


def export_layer(store: Store, settings: Settings, out: str | os.PathLike, *, layer: str = "dead_zones",
                 fmt: str | None = None, area: str | None = None, anonymize: bool = False,
                 lang: str | None = None, show_samples: bool = False) -> Path:
    """Write one layer (or the blank-spot sheet) to ``out``, atomically (replacing it).

    Parameters
    ----------
    store, settings
        The geodatabase and the survey settings.
    out
        The file to write; its suffix picks the format when ``fmt`` is None.
    layer
        ``samples``, ``cells``, ``dead_zones`` or ``sites`` (ignored by ``blankspot``, which uses
        dead zones and weak cells).
    fmt
        ``geojson``, ``kml``, ``csv``, ``gpkg``, ``xlsx`` or ``blankspot``.
    area
        Only this village (Kemendagri code).
    anonymize
        Leave out personal data (see :func:`surveyor.outputs.layers.load_layer`). Exclusion zones apply regardless.
    lang
        Language of KML names and descriptions and of the blank-spot sheet (default:
        ``settings.language``).
    show_samples
        KML of ``samples``: every sample as a point. By default samples are aggregated per H3 cell
        and operator, so the file stays small enough for Google Earth on a village laptop.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    from surveyor.export import blankspot

    out = Path(out)
    fmt = format_from_suffix(out, fmt, layer)
    lang = lang or settings.language
    if fmt == "blankspot":
        sheet = blankspot.build_sheet(store, settings, area=area, lang=lang)
        if out.suffix.lower() == ".xlsx":
            _write(out, lambda p: blankspot.write_xlsx(sheet, p))
        else:
            _write(out, lambda p: blankspot.write_csv(sheet, p))
        return out
    if fmt == "parquet":  # GeoParquet, in surveyor.export.parquet (samples streamed from PostGIS)
        from surveyor.export.parquet import write_parquet

        return write_parquet(store, settings, out, layer=layer, area=area, anonymize=anonymize)
    gdf = load_layer(store, settings, layer, area=area, anonymize=anonymize)
    columns = _table_columns(gdf)
    if fmt == "csv":
        _write(out, lambda p: write_csv(_frame_rows(gdf, columns), columns, p))
    elif fmt == "xlsx":
        _write(out, lambda p: write_xlsx(_frame_rows(gdf, columns), columns, p, sheet=layer))
    elif fmt == "kml":
        boundary = _boundary(store, settings, area)
        if layer == "samples" and not show_samples:
            gdf, layer = sample_cells(gdf, settings), "sample_cells"
        _write(out, lambda p: write_kml(gdf, layer, p, settings, lang=lang, boundary=boundary))
    elif fmt in ("geojson", "gpkg"):
        _write(out, lambda p: _write_ogr(gdf, layer, p, fmt))
    return out


def _boundary(store: Store, settings: Settings, area: str | None):
    """The village outline for KML (None when it cannot be had)."""
    from surveyor.errors import SurveyorError
    from surveyor.outputs.layers import area_of

    try:
        return area_of(store, settings, area).boundary
    except (SurveyorError, OSError, ValueError):
        return None


def _write(out: Path, write) -> None:
    with atomic_path(out) as tmp:
        write(tmp)


def _write_ogr(gdf, layer: str, path: Path, fmt: str) -> None:
    import pandas as pd
    import pyogrio

    gdf = gdf.copy()
    for c in gdf.columns:
        if c != gdf.geometry.name and (isinstance(gdf[c].dtype, pd.DatetimeTZDtype)
                                       or pd.api.types.is_datetime64_any_dtype(gdf[c].dtype)):
            gdf[c] = gdf[c].map(_plain)  # ISO 8601 UTC text reads the same in every tool
    if fmt == "geojson":
        pyogrio.write_dataframe(gdf, path, driver="GeoJSON", layer=layer, layer_options={"RFC7946": "YES"})
    else:
        kwargs = {"geometry_type": "Unknown"} if len(gdf) == 0 else {}
        pyogrio.write_dataframe(gdf, path, driver="GPKG", layer=layer, **kwargs)


__all__ = [
    "EXPORT_LAYERS",
    "FORMATS",
    "cdata",
    "export_layer",
    "format_from_suffix",
    "kml_colour",
    "load_layer",
    "neutralize",
    "rounded",
    "sample_cells",
]

