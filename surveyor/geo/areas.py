"""Village and dusun boundaries: the builtin Lipursari boundary or any GeoJSON the user gives."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

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
