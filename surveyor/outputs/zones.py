"""Reading the analysis layers back and formatting them for the ``deadzones`` and ``revisit``
commands: plain-text tables, CSV (with spreadsheet-formula escaping), GeoJSON and GPX.

Kept in the library (not the CLI) so other code and tests can produce the same outputs.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from surveyor.errors import InvalidRequest
from surveyor.outputs.layers import require_analysis
from surveyor.outputs.tables import neutralize


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
        from surveyor.analyse.zones import ZONE_COLUMNS
        import geopandas as gpd

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

def distance_text(m: Any) -> str:
    """'240 m', '20.4 km'; '-' for missing."""
    if m is None or (isinstance(m, float) and math.isnan(m)) or pd.isna(m):
        return "-"
    m = float(m)
    return f"{m:.0f} m" if m < 1000 else f"{m / 1000:.1f} km"


def percent(x: Any) -> str:
    if x is None or pd.isna(x):
        return "-"
    return f"{100 * float(x):.0f}%"


def text_table(rows: list[list[str]], header: list[str]) -> str:
    """A plain fixed-width table (readable in any terminal and in a text file)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(header)]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]) + "\n"


def zones_table(zones) -> str:
    header = ["zone", "operator", "area km2", "dusun", "samples eff/raw", "sessions", "days", "devices",
              "no usable 4G (95% bounds)", "nearest signal", "nearest tower"]
    rows = []
    for z in zones.itertuples(index=False):
        sig = "-" if pd.isna(z.nearest_signal_m) else f"{distance_text(z.nearest_signal_m)} {z.nearest_signal_direction}"
        tow = "-" if pd.isna(z.nearest_tower_m) else f"{distance_text(z.nearest_tower_m)} {z.nearest_tower_direction}"
        rows.append([z.zone_id, z.operator, f"{z.area_km2:.3f}", z.dusun if isinstance(z.dusun, str) else "-",
                     f"{z.samples_effective}/{z.samples_raw}", z.sessions, z.days, z.devices,
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
