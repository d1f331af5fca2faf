"""Exports for other tools: GeoJSON, KML (Google Earth), CSV, GeoPackage (QGIS), XLSX, and the
blank-spot sheet Diskominfo asks villages for.

Every export goes through :func:`surveyor.outputs.layers.load_layer`, the one place where privacy applies: exclusion zones
from ``survey.toml`` are dropped always, and ``anonymize`` removes volunteers, device IDs, free
text and exact sample positions (see :mod:`surveyor.outputs.privacy`). Text from inputs is untrusted: KML is
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
from datetime import datetime
from html import escape as html_escape
from pathlib import Path
from typing import Any, Iterable
from xml.sax.saxutils import escape as xml_escape

from surveyor.config import Settings
from surveyor.errors import NothingToDo, InvalidRequest
from surveyor.files import atomic_path
from surveyor.outputs.layers import EXPORT_LAYERS, load_layer
from surveyor.outputs.tables import neutralize
from surveyor.store.base import Store

FORMATS = ("geojson", "kml", "csv", "gpkg", "xlsx", "blankspot", "parquet")
SUFFIX_FORMATS = {".geojson": "geojson", ".json": "geojson", ".kml": "kml", ".csv": "csv",
                  ".gpkg": "gpkg", ".xlsx": "xlsx", ".parquet": "parquet"}
ANALYSIS_LAYERS = ("cells", "dead_zones", "sites")

# KML colours are aabbggrr. Status colours match the maps: red dead, orange marginal, green
# covered, grey insufficient, pale grey not surveyed.
STATUS_COLOURS = {"dead": "d91c1cd6", "marginal": "d9008cff", "covered": "d93ca02c",
                  "insufficient": "b3999999", "not_surveyed": "66dddddd"}
# Sample points by what they say (negative first, then RTR-NetTest RSRP classes). "none" (LTE
# RSRP under the poor bound) is drawn for samples that are still not negative: a 5G NR signal
# that serves where the LTE anchor is weak, or a poor bound set above the negative threshold.
SAMPLE_COLOURS = {"negative": "ff1c1cd6", "excellent": "ff2c8a1a", "good": "ff3ca02c",
                  "fair": "ff00c8ff", "poor": "ff008cff", "none": "ff0045ff", "unknown": "ff999999"}

# Diskominfo's blank-spot form is Indonesian whatever the report language.
BLANKSPOT_STATUS = {"dead": "tidak ada sinyal", "weak": "sinyal lemah"}
BLANKSPOT_COLUMNS = ("no", "desa", "kode_desa", "dusun", "zona", "latitude", "longitude", "operator",
                     "status", "sampel_efektif", "sampel_mentah", "sesi", "tanggal_awal",
                     "tanggal_akhir", "keterangan")

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
    for rec in gdf[columns].itertuples(index=False, name=None):
        yield rec


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


def _placemark_name(layer: str, row: dict, _) -> str:
    if layer == "dead_zones":
        return str(row.get("zone_id"))
    if layer == "sites":
        return _("Site suggestion {rank} for {operator}").format(rank=row.get("rank"), operator=row.get("operator"))
    if layer == "cells":
        return f"{row.get('operator')}: {_(STATUS_LABELS[row.get('status')]) if row.get('status') in STATUS_LABELS else row.get('status')}"
    return f"{row.get('operator') or '?'} {row.get('tech') or ''} {_plain(row.get('time')) or ''}".strip()


STATUS_LABELS = {"dead": "dead zone (no usable 4G)", "marginal": "marginal", "covered": "covered",
                 "insufficient": "insufficient evidence", "not_surveyed": "not surveyed"}


def write_kml(gdf, layer: str, path: Path, settings: Settings, *, lang: str) -> None:
    """KML 2.2 for Google Earth: one folder per operator, styled by status (or sample class),
    names and an HTML description with the evidence, plus ExtendedData for every column."""
    from surveyor.i18n import translator

    _ = translator(lang, "report")
    columns = _table_columns(gdf)
    title = f"{settings.name} ({settings.code}): {layer}"
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n',
             '<kml xmlns="http://www.opengis.net/kml/2.2">\n<Document>\n',
             f"<name>{_kml_text(title)}</name>\n"]
    palette = SAMPLE_COLOURS if layer == "samples" else STATUS_COLOURS
    for key, colour in palette.items():
        parts.append(f'<Style id="{key}"><IconStyle><color>{colour}</color><scale>0.6</scale>'
                     "<Icon><href>http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png</href></Icon>"
                     f"</IconStyle><LineStyle><color>ff333333</color><width>1</width></LineStyle>"
                     f"<PolyStyle><color>{colour[:2] if layer != 'dead_zones' else 'b3'}{colour[2:]}</color>"
                     "</PolyStyle></Style>\n")
    parts.append('<Style id="site"><IconStyle><color>ffff0000</color><scale>1.2</scale>'
                 "<Icon><href>http://maps.google.com/mapfiles/kml/shapes/target.png</href></Icon></IconStyle></Style>\n")
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
                style = rec.get("status") if layer == "cells" else "dead"
            rows = "".join(f"<tr><th align='left'>{html_escape(str(c))}</th><td>{html_escape(str(v))}</td></tr>"
                           for c in columns if (v := _plain(rec.get(c))) is not None)
            desc = f"<table>{rows}</table>"
            if layer == "dead_zones":
                desc = f"<p>{html_escape(_evidence_line(rec, _, lang))}</p>" + desc
            data = "".join(f'<Data name="{_kml_text(c)}"><value>{_kml_text(v)}</value></Data>'
                           for c in columns if (v := _plain(rec.get(c))) is not None)
            parts.append(f"<Placemark><name>{_kml_text(_placemark_name(layer, rec, _))}</name>"
                         f"<description>{cdata(desc)}</description><styleUrl>#{style}</styleUrl>"
                         f"<ExtendedData>{data}</ExtendedData>{_kml_geometry(geom)}</Placemark>\n")
        if op is not None:
            parts.append("</Folder>\n")
    parts.append("</Document>\n</kml>\n")
    path.write_text("".join(parts), encoding="utf-8")


def _evidence_line(rec: dict, _, lang: str) -> str:
    from surveyor.i18n import format_number, format_percent

    return _("{neg} of {eff} effective samples without usable 4G ({raw} raw), {sessions} sessions, "
             "{devices} devices; share {share} (95% bounds {lo} to {hi})").format(
        neg=format_number(rec.get("negatives_effective"), lang), eff=format_number(rec.get("samples_effective"), lang),
        raw=format_number(rec.get("samples_raw"), lang), sessions=format_number(rec.get("sessions"), lang),
        devices=format_number(rec.get("devices"), lang), share=format_percent(rec.get("share_negative"), lang),
        lo=format_percent(rec.get("lower_95"), lang, 1), hi=format_percent(rec.get("upper_95"), lang, 1))


def blankspot_rows(store: Store, settings: Settings, *, area: str | None = None) -> list[list[Any]]:
    """Rows of the blank-spot sheet (:data:`BLANKSPOT_COLUMNS`), in DESIGN section 4's terms.

    One row per dead zone ("tidak ada sinyal") and one per covered or marginal cell flagged
    ``weak_signal`` ("sinyal lemah"); insufficient and not-surveyed cells are never listed.
    """
    from surveyor.i18n import format_number

    zones = load_layer(store, settings, "dead_zones", area=area)
    cells = load_layer(store, settings, "cells", area=area)
    rows: list[list[Any]] = []
    for z in zones.sort_values(["operator", "zone_id"]).to_dict("records"):
        note = (f"{format_number(z.get('cells'), 'id')} sel, luas {format_number(z.get('area_km2'), 'id', 3)} km²; "
                f"{format_number(z.get('negatives_effective'), 'id')} dari "
                f"{format_number(z.get('samples_effective'), 'id')} sampel tanpa 4G")
        rows.append([z.get("dusun"), z.get("zone_id"), round(float(z["centroid_lat"]), 6),
                     round(float(z["centroid_lon"]), 6), z.get("operator"), BLANKSPOT_STATUS["dead"],
                     z.get("samples_effective"), z.get("samples_raw"), z.get("sessions"),
                     z.get("first_seen"), z.get("last_seen"), note])
    if len(cells):
        weak = cells[cells["status"].isin(["covered", "marginal"]) & cells["weak_signal"].fillna(False).astype(bool)]
        for c in weak.sort_values(["operator", "lat", "lon"]).to_dict("records"):
            med = c.get("rsrp_median_dbm")
            note = (f"median {c.get('signal_metric') or 'rsrp'} {format_number(med, 'id')} dBm"
                    if med is not None and med == med else "hanya 2G/3G")
            rows.append([c.get("dusun"), c.get("h3"), round(float(c["lat"]), 6), round(float(c["lon"]), 6),
                         c.get("operator"), BLANKSPOT_STATUS["weak"], c.get("samples_effective"),
                         c.get("samples_raw"), c.get("sessions"), c.get("first_seen"), c.get("last_seen"), note])
    out = []
    for i, r in enumerate(rows, 1):
        first, last = (_local_date(v, settings) for v in r[9:11])
        out.append([i, settings.name, settings.code, *r[:9], first, last, r[11]])
    return out


def _local_date(value: Any, settings: Settings) -> str | None:
    import pandas as pd

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return ts.tz_convert(settings.timezone).strftime("%Y-%m-%d")


def export_layer(store: Store, settings: Settings, out: str | os.PathLike, *, layer: str = "dead_zones",
                 fmt: str | None = None, area: str | None = None, anonymize: bool = False,
                 lang: str | None = None) -> Path:
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
        Language of KML names and descriptions (default: ``settings.language``).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    out = Path(out)
    fmt = format_from_suffix(out, fmt, layer)
    lang = lang or settings.language
    if fmt == "blankspot":
        rows = blankspot_rows(store, settings, area=area)
        if out.suffix.lower() == ".xlsx":
            _write(out, lambda p: write_xlsx(rows, BLANKSPOT_COLUMNS, p, sheet="Blank spot"))
        else:
            # With a BOM, Excel on a village office laptop opens the UTF-8 file correctly.
            _write(out, lambda p: write_csv(rows, BLANKSPOT_COLUMNS, p, bom=True))
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
        _write(out, lambda p: write_kml(gdf, layer, p, settings, lang=lang))
    elif fmt in ("geojson", "gpkg"):
        _write(out, lambda p: _write_ogr(gdf, layer, p, fmt))
    return out


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


__all__ = ["EXPORT_LAYERS", "FORMATS", "BLANKSPOT_COLUMNS", "BLANKSPOT_STATUS", "export_layer", "load_layer",
           "blankspot_rows", "neutralize", "cdata", "format_from_suffix"]

