"""Where a dead zone is, in words people use: the nearest named place, the nearest road and the
walk from it, and who is affected (buildings and public facilities inside the zone).

A district office files a blank spot as "near Dusun Sigedang, 300 m south of Jalan Leksono" and
asks who lives there; an H3 index or a coordinate alone means nothing to it. These columns come
from the basemap layers (``roads``, ``buildings``, ``places``, ``facilities``; docs/basemap.md)
when ``surveyor basemap`` imported them, and are null otherwise:

- ``place_name``, ``place_distance_m``: the nearest named OpenStreetMap place (hamlet, village,
  isolated dwelling...) to the zone's centroid;
- ``road_name``, ``road_class``: the road (or path) nearest to the zone;
  ``road_lat``, ``road_lon``: the point of that road nearest to the zone, where a walk starts;
  ``road_distance_m``, ``road_bearing_deg``: the walk from that point to the zone's nearest edge
  (0 m and the bearing to the centroid when the road crosses the zone);
- ``buildings``: buildings whose centre lies inside the zone;
- ``facilities``: the public facilities inside it, ``"name (kind); ..."`` with ``kind`` one of
  ``school``, ``clinic``, ``worship``, ``village_office`` (an unnamed one is ``"(kind)"``).

Distances are measured in the zone's UTM zone (metres), bearings are degrees clockwise from north.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

__all__ = ["CONTEXT_COLUMNS", "add_zone_context", "zone_context"]

CONTEXT_COLUMNS = ("place_name", "place_distance_m", "road_name", "road_class", "road_distance_m",
                   "road_bearing_deg", "road_lat", "road_lon", "buildings", "facilities")
_FLOATS = ("place_distance_m", "road_distance_m", "road_bearing_deg", "road_lat", "road_lon")


def add_zone_context(store, zones):
    """``zones`` with :data:`CONTEXT_COLUMNS` from the store's basemap (nulls without one)."""
    layers = {name: store.read_layer(name) for name in ("roads", "buildings", "places", "facilities")}
    return zone_context(zones, **layers)


def _layer(gdf):
    if gdf is None or len(gdf) == 0 or not hasattr(gdf, "geometry"):
        return None
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    return gdf if len(gdf) else None


def zone_context(zones, roads=None, buildings=None, places=None, facilities=None):
    """Add :data:`CONTEXT_COLUMNS` to a ``dead_zones`` frame from basemap layers (GeoDataFrames
    in EPSG:4326, any of them None or empty).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``zones`` with the columns added (null where the layer is missing, ``buildings``
        null too when there is no ``buildings`` layer, 0 when there is one and none lies inside).
    """
    import geopandas as gpd

    from surveyor.geo.areas import utm_crs

    zones = zones.copy()
    n = len(zones)
    out: dict[str, list] = {c: [None] * n for c in CONTEXT_COLUMNS}
    roads, buildings, places, facilities = (_layer(g) for g in (roads, buildings, places, facilities))
    if n and any(g is not None for g in (roads, buildings, places, facilities)):
        lon0 = (float(np.nanmean(zones["centroid_lon"])) if "centroid_lon" in zones
                else float(zones.geometry.centroid.x.mean()))
        lat0 = (float(np.nanmean(zones["centroid_lat"])) if "centroid_lat" in zones
                else float(zones.geometry.centroid.y.mean()))
        crs = utm_crs(lon0, lat0)
        z_utm = gpd.GeoSeries(list(zones.geometry), crs="EPSG:4326").to_crs(crs)
        if places is not None:
            _nearest_place(z_utm, places.to_crs(crs), out)
        if roads is not None:
            _nearest_road(z_utm, roads.to_crs(crs), crs, out)
        if buildings is not None:
            _buildings_inside(z_utm, buildings.to_crs(crs), out)
        if facilities is not None:
            _facilities_inside(z_utm, facilities.to_crs(crs), out)
    for c in CONTEXT_COLUMNS:
        if c in _FLOATS:
            zones[c] = np.array([np.nan if v is None else v for v in out[c]], dtype=float)
        elif c == "buildings":
            zones[c] = pd.array(out[c], dtype="Int64")
        else:
            zones[c] = pd.Series(out[c], index=zones.index, dtype=object)
    return zones


def _nearest_place(z_utm, places, out) -> None:
    import shapely

    named = places[places["name"].notna() & (places["name"].astype(str).str.strip() != "")] \
        if "name" in places.columns else places.iloc[0:0]
    if len(named) == 0:
        return
    pts = np.asarray(named.geometry.values)
    names = named["name"].astype(str).to_numpy()
    for i, geom in enumerate(z_utm):
        d = shapely.distance(geom.centroid, pts)
        j = int(np.argmin(d))
        out["place_name"][i] = names[j]
        out["place_distance_m"][i] = float(d[j])


def _nearest_road(z_utm, roads, crs, out) -> None:
    import shapely
    from pyproj import Transformer

    from surveyor.geo.bearing import bearing_deg

    lines = np.asarray(roads.geometry.values)
    tree = shapely.STRtree(lines)
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    names = roads["name"].to_numpy(dtype=object) if "name" in roads.columns else np.full(len(roads), None)
    classes = roads["class"].to_numpy(dtype=object) if "class" in roads.columns else np.full(len(roads), None)
    for i, geom in enumerate(z_utm):
        j = int(tree.query_nearest(geom)[0])
        line = shapely.shortest_line(lines[j], geom)  # from the road to the zone
        (rx, ry), (zx, zy) = line.coords[0], line.coords[-1]
        dist = float(line.length)
        if dist == 0:  # the road crosses the zone: the walk is to its centre
            zx, zy = geom.centroid.x, geom.centroid.y
        rlon, rlat = to_ll.transform(rx, ry)
        zlon, zlat = to_ll.transform(zx, zy)
        name = names[j]
        out["road_name"][i] = str(name) if isinstance(name, str) and name.strip() else None
        out["road_class"][i] = str(classes[j]) if isinstance(classes[j], str) else None
        out["road_distance_m"][i] = dist
        out["road_bearing_deg"][i] = float(bearing_deg(rlat, rlon, zlat, zlon))
        out["road_lat"][i], out["road_lon"][i] = float(rlat), float(rlon)


def _buildings_inside(z_utm, buildings, out) -> None:
    import shapely

    centres = shapely.centroid(np.asarray(buildings.geometry.values))
    tree = shapely.STRtree(centres)
    for i, geom in enumerate(z_utm):
        out["buildings"][i] = len(tree.query(geom, predicate="contains"))


def _facilities_inside(z_utm, facilities, out) -> None:
    import shapely

    pts = shapely.centroid(np.asarray(facilities.geometry.values))
    tree = shapely.STRtree(pts)
    names = facilities["name"].to_numpy(dtype=object) if "name" in facilities.columns else np.full(len(pts), None)
    kinds = facilities["kind"].to_numpy(dtype=object) if "kind" in facilities.columns else np.full(len(pts), None)
    for i, geom in enumerate(z_utm):
        hits = sorted(tree.query(geom, predicate="contains"))
        items = []
        for j in hits:
            name = names[j].strip() if isinstance(names[j], str) else ""
            kind = kinds[j] if isinstance(kinds[j], str) else "facility"
            items.append(f"{name} ({kind})" if name else f"({kind})")
        out["facilities"][i] = "; ".join(sorted(items)) if items else None


def parse_facilities(text) -> list[tuple[str, str]]:
    """``"SD 1 (school); (worship)"`` -> ``[("SD 1", "school"), ("", "worship")]`` (for outputs)."""
    import re

    if not isinstance(text, str) or not text.strip():
        return []
    found = []
    for part in text.split("; "):
        m = re.match(r"^(.*?)\s*\((\w+)\)$", part.strip())
        found.append((m.group(1), m.group(2)) if m else (part.strip(), ""))
    return found
