"""The ground under the coverage: the survey's OpenStreetMap layers, read for maps and the report,
and the way from the nearest road to each dead zone.

``surveyor basemap import``/``fetch`` stores ``roads``, ``buildings``, ``water``, ``places`` and
``facilities`` in the survey (docs/basemap.md). Every output that draws them reads them here,
cut to what it frames, and says where they come from (:attr:`Basemap.attribution`, the ODbL
credit stored with them in ``meta``).

Directions to a dead zone ("from Jalan Krajan, walk 240 m north-east") are read from the zone's
own context columns when the analysis wrote them (``road_name``, ``road_class``,
``road_distance_m``, ``road_bearing_deg``, ``road_lat``, ``road_lon``, ``place_name``,
``place_distance_m``, ``buildings``, ``facilities``), and computed here from the basemap when it
did not (:func:`zone_access`), so a report works either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from surveyor.store.base import BASEMAP_FIELDS

LAYERS = tuple(BASEMAP_FIELDS)
OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"
# The zone context columns (written by the analysis when it has the basemap).
ACCESS_COLUMNS = ("place_name", "place_distance_m", "road_name", "road_class", "road_distance_m",
                  "road_bearing_deg", "road_lat", "road_lon", "buildings", "facilities")


@dataclass
class Basemap:
    """The basemap layers (GeoDataFrames, EPSG:4326) inside a frame, and their credit."""

    roads: Any
    buildings: Any
    water: Any
    places: Any
    facilities: Any
    attribution: str | None = None

    def layers(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in LAYERS}

    @property
    def empty(self) -> bool:
        return all(len(g) == 0 for g in self.layers().values())


def _empty(layer: str):
    import geopandas as gpd

    return gpd.GeoDataFrame({c: [] for c in BASEMAP_FIELDS[layer]}, geometry=[], crs="EPSG:4326")


def load_basemap(store, bounds: tuple[float, float, float, float] | None = None) -> Basemap | None:
    """The stored basemap cut to ``bounds`` (west, south, east, north); None when none is stored.

    Features that cross the frame are kept whole (a road leaving the frame still leads
    somewhere); features entirely outside it are left out.
    """
    meta = store.get_meta("basemap")
    if not meta:
        return None
    out = {}
    for layer in LAYERS:
        g = store.read_layer(layer)
        if g is None or len(g) == 0 or "geometry" not in getattr(g, "columns", []):
            out[layer] = _empty(layer)
            continue
        if g.crs is None:
            g = g.set_crs("EPSG:4326")
        g = g[g.geometry.notna() & ~g.geometry.is_empty]
        if bounds is not None:
            import shapely

            g = g[shapely.intersects(g.geometry.values, shapely.box(*bounds))]
        out[layer] = g.reset_index(drop=True)
    credit = meta.get("attribution") if isinstance(meta, dict) else None
    return Basemap(**out, attribution=credit or OSM_ATTRIBUTION)


# -- the way to a dead zone -------------------------------------------------------------------------

def _value(row: dict, key: str) -> Any:
    v = row.get(key)
    if v is None:
        return None
    try:
        if v != v:  # NaN
            return None
    except (TypeError, ValueError):
        return None
    return v


def zone_access(zones, basemap: Basemap | None, crs: str) -> list[dict[str, Any]]:
    """For each dead zone (in order): the nearest road and how to walk from it to the zone's centre,
    the nearest named place, the houses inside the zone and the facilities in it.

    Each dict has the keys of :data:`ACCESS_COLUMNS` plus ``source`` ("analysis" when every value
    came from the zone's own columns, "basemap" when some were computed here, None without a
    basemap and without columns). Values the zone layer holds are used as they are; the rest are
    computed from ``basemap`` in the metric CRS ``crs``.
    """
    import geopandas as gpd
    import numpy as np
    import shapely
    from shapely.ops import nearest_points

    from surveyor.geo.bearing import bearing_deg

    rows = zones.to_dict("records") if len(zones) else []
    have_cols = [c for c in ACCESS_COLUMNS if c in getattr(zones, "columns", [])]
    out: list[dict[str, Any]] = []
    metric = None
    if basemap is not None and not basemap.empty and len(zones):
        metric = {name: g.to_crs(crs) if len(g) else g for name, g in basemap.layers().items()}
        zgeom = gpd.GeoSeries(zones.geometry.values, crs="EPSG:4326").to_crs(crs)
    for i, row in enumerate(rows):
        got = {c: _value(row, c) for c in have_cols}
        have_road = got.get("road_distance_m") is not None and got.get("road_lat") is not None
        have_place = got.get("place_name") is not None
        info: dict[str, Any] = dict.fromkeys(ACCESS_COLUMNS)
        info.update(got)
        computed = False
        if metric is not None:
            poly = zgeom.iloc[i]
            centre = shapely.Point(float(row["centroid_lon"]), float(row["centroid_lat"]))
            centre_m = gpd.GeoSeries([centre], crs="EPSG:4326").to_crs(crs).iloc[0]
            roads = metric["roads"]
            if not have_road and len(roads):
                dist = roads.geometry.distance(centre_m).to_numpy()
                # A named road within 1.5 times the distance of the nearest one is what people know.
                best = int(np.argmin(dist))
                near = dist <= max(dist[best] * 1.5, dist[best] + 50.0)
                named = np.flatnonzero(roads["name"].notna().to_numpy() & near)
                if len(named):
                    best = int(named[np.argmin(dist[named])])
                on_road = nearest_points(roads.geometry.iloc[best], centre_m)[0]
                ll = gpd.GeoSeries([on_road], crs=crs).to_crs("EPSG:4326").iloc[0]
                d = float(on_road.distance(centre_m))
                info.update(road_name=roads["name"].iloc[best] if isinstance(roads["name"].iloc[best], str) else None,
                            road_class=roads["class"].iloc[best], road_distance_m=round(d, 0),
                            road_lat=round(float(ll.y), 6), road_lon=round(float(ll.x), 6),
                            road_bearing_deg=(round(float(bearing_deg(ll.y, ll.x, centre.y, centre.x)), 0)
                                              if d >= 1.0 else None))
                computed = True
            places = metric["places"]
            if not have_place and len(places):
                named = places[places["name"].notna()]
                if len(named):
                    dist = named.geometry.distance(centre_m).to_numpy()
                    k = int(np.argmin(dist))
                    info.update(place_name=named["name"].iloc[k], place_distance_m=round(float(dist[k]), 0))
                    computed = True
            if info.get("buildings") is None and len(metric["buildings"]):
                b = metric["buildings"]
                info["buildings"] = int(shapely.intersects(b.geometry.values, poly).sum())
                computed = True
            if info.get("facilities") is None and len(metric["facilities"]):
                f = metric["facilities"]
                inside = f[shapely.intersects(f.geometry.values, poly)]
                info["facilities"] = "; ".join(f"{r['name'] or '?'} ({r['kind']})" for r in
                                               inside.to_dict("records")) or None
                computed = True
        info["source"] = "basemap" if computed else ("analysis" if have_cols else None)
        out.append(info)
    return out
