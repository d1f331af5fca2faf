"""Village and dusun boundaries, and what an area code selects.

A boundary is the builtin Lipursari one or any GeoJSON the user gives. An **area code** (a
Kemendagri code such as ``33.07.05.2002`` for a village, ``33.07.05`` for a kecamatan, ``33.07``
for a kabupaten) means that area and everything inside it, on every command and both stores:
:func:`select_area` unites the polygons of every area whose code is the code itself or starts with
it followed by a dot.
"""

from __future__ import annotations

import json
from importlib import resources
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from surveyor.config import Settings
from surveyor.errors import ConfigError, InputError

BUILTIN = {"lipursari": "lipursari.geojson"}


def _read_geojson(path: Path | str, text: str | None = None) -> dict:
    try:
        return json.loads(text if text is not None else Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the boundary ({exc}).", path=str(path),
                         fix="Give a GeoJSON file of the village boundary with --area.") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid GeoJSON: {exc.msg}.", path=str(path), line=exc.lineno,
                         fix="Export the boundary again as GeoJSON (EPSG:4326).") from None


def _features(doc: dict) -> list[dict]:
    kind = doc.get("type")
    if kind == "FeatureCollection":
        return doc.get("features") or []
    if kind == "Feature":
        return [doc]
    if kind in ("Polygon", "MultiPolygon"):
        return [{"type": "Feature", "properties": {}, "geometry": doc}]
    return []


def boundary_geojson(settings: Settings) -> dict:
    """The village boundary as a GeoJSON dict (a Feature or FeatureCollection)."""
    ref = settings.boundary
    if ref.startswith("builtin:"):
        name = ref.split(":", 1)[1]
        if name not in BUILTIN:
            raise ConfigError(f"Unknown builtin boundary {ref!r}.",
                              fix=f"Use one of {', '.join('builtin:' + b for b in BUILTIN)} or a GeoJSON path.")
        text = resources.files("surveyor.data").joinpath(BUILTIN[name]).read_text(encoding="utf-8")
        return _read_geojson(ref, text)
    return _read_geojson(settings.resolve_path(ref))


def load_boundary(settings: Settings):
    """The village boundary as one 2-D shapely (Multi)Polygon in EPSG:4326."""
    import shapely
    from shapely.geometry import shape

    feats = _features(boundary_geojson(settings))
    geoms = [shape(f["geometry"]) for f in feats if f.get("geometry")]
    geoms = [g for g in geoms if g.geom_type in ("Polygon", "MultiPolygon")]
    if not geoms:
        raise InputError("has no Polygon or MultiPolygon.", path=settings.boundary,
                         fix="Give the village boundary as a GeoJSON polygon.")
    geom = shapely.force_2d(shapely.union_all(geoms))
    return shapely.make_valid(geom) if not geom.is_valid else geom


def load_dusun(settings: Settings):
    """Dusun (hamlet) polygons as a GeoDataFrame with ``name`` and ``geometry``; empty when none."""
    import geopandas as gpd
    import shapely
    from shapely.geometry import shape

    if not settings.dusun:
        return gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326")
    path = settings.resolve_path(settings.dusun)
    feats = _features(_read_geojson(path))
    names, geoms = [], []
    for i, f in enumerate(feats, 1):
        props = f.get("properties") or {}
        name = props.get("name") or props.get("nama") or props.get("dusun") or f"Dusun {i}"
        names.append(str(name))
        geoms.append(shapely.force_2d(shape(f["geometry"])))
    return gpd.GeoDataFrame({"name": names}, geometry=geoms, crs="EPSG:4326")


def areas_frame(settings: Settings):
    """The ``areas`` layer: the village (level ``desa``) and its dusun (level ``dusun``)."""
    import geopandas as gpd
    import pandas as pd

    village = gpd.GeoDataFrame({"code": [settings.code], "name": [settings.name], "level": ["desa"],
                                "parent_code": [None]}, geometry=[load_boundary(settings)], crs="EPSG:4326")
    dusun = load_dusun(settings)
    if len(dusun):
        d = gpd.GeoDataFrame({"code": [f"{settings.code}.{i:02d}" for i in range(1, len(dusun) + 1)],
                              "name": dusun["name"].tolist(), "level": "dusun", "parent_code": settings.code},
                             geometry=dusun.geometry.tolist(), crs="EPSG:4326")
        village = gpd.GeoDataFrame(pd.concat([village, d], ignore_index=True), crs="EPSG:4326")
    return village


def utm_crs(lon: float, lat: float) -> str:
    """The UTM zone of a point, for metric work (Lipursari: EPSG:32749, UTM 49S)."""
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


@dataclass(frozen=True)
class Area:
    """What an area code selects: its polygon (EPSG:4326), its name, and its dusun polygons."""

    code: str
    name: str
    boundary: Any  # shapely (Multi)Polygon, or None when nothing is known of the area's shape
    dusun: Any  # GeoDataFrame with ``name`` and ``geometry``; empty when there are none
    codes: tuple[str, ...] = ()  # the codes of the areas selected (the code itself and those inside)


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and v != v) else str(v)


def select_area(areas, settings: Settings, code: str | None = None) -> Area:
    """The area of ``code`` (default: the survey's village) from an ``areas`` layer.

    Parameters
    ----------
    areas
        The ``areas`` layer (GeoDataFrame with ``code``, ``name``, ``level``, ``parent_code``), or
        None / empty when the store has none: then only the survey's own village is known, from
        its settings.
    settings
        The survey's settings (its village code, name, boundary and dusun file).
    code
        A Kemendagri code: the area itself and every area inside it (codes beginning ``code.``).

    Raises
    ------
    InvalidRequest
        When no area has that code, naming the codes that exist.
    """
    import geopandas as gpd
    import shapely

    from surveyor.errors import InvalidRequest

    code = str(code or settings.code)
    empty = gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326")
    have = areas is not None and len(areas) and {"code", "geometry"} <= set(areas.columns)
    if have:
        codes = areas["code"].astype(str)
        level = areas["level"].astype(str) if "level" in areas.columns else None
        inside = (codes == code) | codes.str.startswith(code + ".")
        # Dusun lie inside their village: counting them again adds nothing to the polygon.
        polygons = areas[inside & ((level != "dusun") if level is not None else True)]
        if len(polygons) == 0:
            polygons = areas[inside]
        if len(polygons):
            mine = areas[codes == code]
            name = _text(mine["name"].iloc[0]) if len(mine) and "name" in mine.columns else code
            if code == settings.code:
                name = name or settings.name
            dusun = empty
            if "parent_code" in areas.columns:
                kids = areas[areas["parent_code"].astype(str) == code]
                if level is not None:
                    kids = kids[kids["level"].astype(str) == "dusun"]
                if len(kids):
                    dusun = gpd.GeoDataFrame({"name": kids["name"].map(_text).tolist()},
                                             geometry=kids.geometry.tolist(), crs="EPSG:4326")
            if len(dusun) == 0 and code == settings.code:
                dusun = load_dusun(settings)
            boundary = shapely.union_all(polygons.geometry.to_numpy())
            return Area(code, name, boundary, dusun, tuple(sorted(set(codes[inside]))))
    if code == settings.code:
        return Area(code, settings.name, load_boundary(settings), load_dusun(settings), (code,))
    known = sorted(set(areas["code"].astype(str))) if have else [settings.code]
    raise InvalidRequest(f"Unknown area code {code!r}.", fix=f"Use one of: {', '.join(known)}.")
