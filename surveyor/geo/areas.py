"""Village and dusun boundaries, and what an area code selects.

A boundary is the builtin Lipursari one or any GeoJSON the user gives. An **area code** (a
Kemendagri code such as ``33.07.05.2002`` for a village, ``33.07.05`` for a kecamatan, ``33.07``
for a kabupaten) means that area and everything inside it, on every command and both stores:
:func:`area_rows` picks the area itself, every area whose code starts with the code followed by a
dot, and the areas below those by ``parent_code``; :func:`find_area` unites their polygons, and
:func:`select_area` falls back to the survey's own boundary when a store holds no areas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
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
    check_lon_lat(geom, settings.boundary)
    return shapely.make_valid(geom) if not geom.is_valid else geom


def check_lon_lat(geom, source: str) -> None:
    """Refuse a boundary whose coordinates cannot be longitude, latitude in degrees: latitudes
    beyond 90 (GeoJSON writes [longitude, latitude]; the file has them swapped), a projected
    file (metres), or no area at all. Caught here, it never reaches the maps as NaN."""
    import math

    minx, miny, maxx, maxy = geom.bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise InputError("has coordinates that are not numbers.", path=source,
                         fix="Give the village boundary as a GeoJSON polygon in longitude, latitude (EPSG:4326).")
    if miny < -90 or maxy > 90:
        swapped = -90 <= minx and maxx <= 90 and -180 <= miny and maxy <= 180
        raise InputError(
            f"has latitudes of {miny:g} to {maxy:g}, outside -90..90"
            + ("; its coordinates look swapped (GeoJSON writes [longitude, latitude])." if swapped else
               "; it is not in degrees (a projected file?)."),
            path=source, fix="Save the boundary as GeoJSON in EPSG:4326 with [longitude, latitude] pairs.")
    if minx < -180 or maxx > 180:
        raise InputError(f"has longitudes of {minx:g} to {maxx:g}, outside -180..180; it is not in degrees.",
                         path=source, fix="Save the boundary as GeoJSON in EPSG:4326 with [longitude, latitude] pairs.")
    if geom.area == 0:
        raise InputError("encloses no area.", path=source, fix="Give the village boundary as a GeoJSON polygon.")


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


def area_rows(areas, code: str):
    """The rows of an ``areas`` layer that an area code selects (none when it selects nothing).

    That is the area of ``code`` itself, every area whose code begins with ``code.`` (Kemendagri
    codes are hierarchical), and every area below those in the ``parent_code`` tree.
    """
    import numpy as np

    code = str(code)
    codes = areas["code"].astype(str)
    chosen = ((codes == code) | codes.str.startswith(code + ".")).to_numpy().copy()
    if "parent_code" in areas.columns:
        parents = areas["parent_code"].map(_text).to_numpy(dtype=object)
        while True:
            above = np.asarray([code, *codes[chosen]], dtype=object)
            more = ~chosen & np.isin(parents, above)
            if not more.any():
                break
            chosen |= more
    return areas[chosen]


def find_area(areas, code: str) -> Area | None:
    """What an area code selects in an ``areas`` layer (see :func:`area_rows`), or None when it
    selects nothing. The boundary unites the selected polygons; dusun are the areas of level
    ``dusun`` directly below ``code``."""
    import geopandas as gpd
    import shapely

    code = str(code)
    if areas is None or len(areas) == 0 or not {"code", "geometry"} <= set(areas.columns):
        return None
    rows = area_rows(areas, code)
    if len(rows) == 0:
        return None
    level = rows["level"].astype(str) if "level" in rows.columns else None
    # Dusun lie inside their village: counting them again adds nothing to the polygon.
    polygons = rows[(level != "dusun").to_numpy()] if level is not None else rows
    if len(polygons) == 0:
        polygons = rows
    mine = areas[(areas["code"].astype(str) == code).to_numpy()]
    name = _text(mine["name"].iloc[0]) if len(mine) and "name" in mine.columns else code
    dusun = gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326")
    if "parent_code" in areas.columns:
        kids = areas[(areas["parent_code"].map(_text) == code).to_numpy()]
        if "level" in kids.columns:
            kids = kids[(kids["level"].astype(str) == "dusun").to_numpy()]
        if len(kids):
            dusun = gpd.GeoDataFrame({"name": kids["name"].map(_text).tolist()},
                                     geometry=kids.geometry.tolist(), crs="EPSG:4326")
    boundary = shapely.union_all([g for g in polygons.geometry.to_numpy() if g is not None])
    return Area(code, name, boundary, dusun, tuple(sorted(set(rows["code"].astype(str)))))


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
        A Kemendagri code: the area itself and every area inside it (:func:`area_rows`).

    Raises
    ------
    InvalidRequest
        When no area has that code, naming the codes that exist.
    """
    import dataclasses

    from surveyor.errors import InvalidRequest

    code = str(code or settings.code)
    found = find_area(areas, code)
    if found is not None:
        if code == settings.code:
            found = dataclasses.replace(found, name=found.name or settings.name,
                                        dusun=found.dusun if len(found.dusun) else load_dusun(settings))
        return found
    if code == settings.code:
        return Area(code, settings.name, load_boundary(settings), load_dusun(settings), (code,))
    have = areas is not None and len(areas) and "code" in areas.columns
    known = sorted(set(areas["code"].astype(str))) if have else [settings.code]
    raise InvalidRequest(f"Unknown area code {code!r}.", fix=f"Use one of: {', '.join(known)}.")


class AreaIndex:
    """Which area a point lies in: the code of the smallest area polygon containing it (then the
    lowest code), so a point on a border between two villages belongs to one of them only.

    Built once per set of areas (a shapely STRtree over a few hundred polygons): asking per point
    in SQL costs about 20 us a sample, as much as the rest of a merge's insert; here a point costs
    about 2 us (each polygon tests its candidate points at once, smallest polygon first).
    """

    def __init__(self, codes, geometries) -> None:
        import numpy as np
        import shapely

        keep = [i for i, g in enumerate(geometries) if g is not None and not shapely.is_empty(g)]
        self.codes = np.asarray([str(codes[i]) for i in keep], dtype=object)
        geoms = np.asarray([geometries[i] for i in keep], dtype=object)
        self.tree = shapely.STRtree(geoms)
        self.sizes = shapely.area(geoms) if len(geoms) else np.zeros(0)

    @classmethod
    def of(cls, areas) -> AreaIndex:
        """The index of an ``areas`` layer (a GeoDataFrame with ``code``; empty or None: no areas)."""
        if areas is None or len(areas) == 0 or "code" not in areas.columns:
            return cls([], [])
        return cls(areas["code"].tolist(), list(areas.geometry.to_numpy()))

    def codes_at(self, lat, lon):
        """The area code of each point (object array; None outside every area or where lat/lon are NaN)."""
        import numpy as np
        import shapely

        la = np.asarray(lat, dtype=float)
        lo = np.asarray(lon, dtype=float)
        out = np.full(len(la), None, dtype=object)
        ok = np.flatnonzero(np.isfinite(la) & np.isfinite(lo))
        if len(self.codes) == 0 or ok.size == 0:
            return out
        pts, polys = self.tree.query(shapely.points(lo[ok], la[ok]))  # candidates by bounding box
        if pts.size == 0:
            return out
        # Then polygon by polygon, smallest first (then by code): the candidate points not placed yet,
        # at once, against the prepared polygon. A vectorised test instead of one GEOS predicate per
        # pair, and a point inside a village is never tested against the kecamatan around it.
        rank = np.lexsort((self.codes.astype(str), self.sizes))
        position = np.empty(len(rank), dtype=np.int64)
        position[rank] = np.arange(len(rank))
        order = np.argsort(position[polys], kind="stable")
        pts, polys = pts[order], polys[order]
        bounds = np.flatnonzero(np.diff(polys)) + 1
        placed = np.zeros(ok.size, dtype=bool)
        geoms = self.tree.geometries
        for group in np.split(np.arange(pts.size), bounds):
            cand = pts[group]
            cand = cand[~placed[cand]]
            if cand.size == 0:
                continue
            poly = geoms[polys[group[0]]]
            shapely.prepare(poly)
            p = ok[cand]
            inside = cand[shapely.intersects_xy(poly, lo[p], la[p])]
            placed[inside] = True
            out[ok[inside]] = self.codes[polys[group[0]]]
        return out
