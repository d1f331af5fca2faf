"""The basemap: the village's OpenStreetMap data as layers of the survey's geodatabase.

Once, when online (``surveyor basemap fetch``) or from a file brought on a USB stick
(``surveyor basemap import``), the roads and paths, buildings, water, place names and public
facilities around the survey area are stored with the survey, so that every map made afterwards,
offline, shows where things are. What goes into each layer (the rules, also in docs/basemap.md):

- ``roads``: ways with a ``highway`` tag, except ways that do not exist on the ground
  (:data:`NOT_ROADS`); ``class`` groups the value into ``major``, ``minor``, ``track``, ``path``.
- ``buildings``: closed ways and area relations with ``building`` (not ``building=no``).
- ``water``: ways with a ``waterway`` of :data:`WATERWAY_LINES` as lines; ``waterway=riverbank``
  and ``natural=water`` (closed ways, area relations) as polygons.
- ``places``: named ``place`` of :data:`PLACE_VALUES` (nodes; areas by a point inside them).
- ``facilities``: schools, clinics (puskesmas), places of worship and village offices
  (:func:`facility_of`), as points (areas by their centroid, or a point inside them).

Everything is clipped to the area's polygon plus a buffer (default 2 km), in EPSG:4326. An import
replaces all five layers at once, in one transaction with the ``meta`` key ``basemap`` that holds
the source, the time and the OpenStreetMap attribution every map using the layers must show.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from surveyor.config import Settings
from surveyor.errors import InputError
from surveyor.ingest.osm import OsmData, read_osm, read_overpass_json
from surveyor.store.base import BASEMAP_FIELDS, Store

log = logging.getLogger(__name__)

ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"
LICENSE_URL = "https://www.openstreetmap.org/copyright"
DEFAULT_BUFFER_M = 2000.0
LAYERS = tuple(BASEMAP_FIELDS)
# Tag keys of every element any layer may take (the readers drop all others early).
KEYS = ("highway", "building", "waterway", "natural", "place", "amenity", "healthcare", "office")

MAJOR = frozenset({"motorway", "trunk", "primary", "secondary", "tertiary", "motorway_link", "trunk_link",
                   "primary_link", "secondary_link", "tertiary_link"})
TRACK = frozenset({"track"})
PATH = frozenset({"path", "footway", "pedestrian", "steps", "cycleway", "bridleway", "corridor", "via_ferrata"})
# highway values of ways that are not a way one can walk or drive today.
NOT_ROADS = frozenset({"proposed", "planned", "abandoned", "disused", "razed", "demolished", "no", "platform",
                       "bus_stop", "elevator", "rest_area", "services"})
WATERWAY_LINES = frozenset({"river", "stream", "canal", "drain", "ditch", "brook", "tidal_channel"})
PLACE_VALUES = frozenset({"city", "town", "village", "hamlet", "isolated_dwelling", "farm", "suburb", "quarter",
                          "neighbourhood", "locality"})
SCHOOL = frozenset({"school", "kindergarten", "college", "university"})
CLINIC_AMENITY = frozenset({"clinic", "doctors", "hospital"})
CLINIC_HEALTHCARE = frozenset({"clinic", "doctor", "hospital", "centre"})
FACILITY_KINDS = ("school", "clinic", "worship", "village_office")


# -- what each element is ------------------------------------------------------------------------

def road_class(highway: str | None) -> str | None:
    """``major``, ``minor``, ``track`` or ``path`` for a ``highway`` value; None when it is no road."""
    if not highway or highway in NOT_ROADS:
        return None
    if highway in MAJOR:
        return "major"
    if highway in TRACK:
        return "track"
    if highway in PATH:
        return "path"
    return "minor"  # residential, unclassified, service, living_street, road, construction, ...


def water_kind(tags: dict, *, area: bool) -> str | None:
    """The ``kind`` of a water feature: the waterway of a line, or ``riverbank``/``water`` of an area."""
    waterway = tags.get("waterway")
    if area:
        if waterway == "riverbank":
            return "riverbank"
        if tags.get("natural") == "water":
            return "water"
        return None
    return waterway if waterway in WATERWAY_LINES else None


def facility_of(tags: dict) -> tuple[str, str] | None:
    """(kind, the tag that made it) for a public facility, None for anything else.

    Village office (kantor desa): ``amenity=townhall``, or ``office=government`` with an
    ``admin_level``. Clinic (puskesmas, pustu, doctors): ``amenity=clinic|doctors|hospital`` or a
    ``healthcare`` of clinic, doctor, hospital or centre. School: ``amenity=school|kindergarten|
    college|university``. Worship: ``amenity=place_of_worship``. Checked in this order.
    """
    amenity = tags.get("amenity")
    if amenity == "townhall":
        return "village_office", "amenity=townhall"
    if tags.get("office") == "government" and tags.get("admin_level"):
        return "village_office", "office=government"
    if amenity in CLINIC_AMENITY:
        return "clinic", f"amenity={amenity}"
    if tags.get("healthcare") in CLINIC_HEALTHCARE:
        return "clinic", f"healthcare={tags['healthcare']}"
    if amenity in SCHOOL:
        return "school", f"amenity={amenity}"
    if amenity == "place_of_worship":
        return "worship", "amenity=place_of_worship"
    return None


def _place(tags: dict) -> str | None:
    place = tags.get("place")
    return place if place in PLACE_VALUES and tags.get("name") else None


def _building(tags: dict) -> str | None:
    b = tags.get("building")
    return b if b and b != "no" else None


# -- geometry ------------------------------------------------------------------------------------

def _closed(coords) -> bool:
    return len(coords) >= 4 and coords[0] == coords[-1]


def _polygonal(geom):
    """Only the polygon parts of a geometry, as one MultiPolygon (None when there are none)."""
    import shapely
    from shapely.geometry import MultiPolygon

    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    if geom.geom_type == "MultiPolygon":
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    polys = [p for g in parts for p in (g.geoms if g.geom_type == "MultiPolygon" else [g]) if not p.is_empty]
    return MultiPolygon(polys) if polys else None


def _lineal(geom):
    """Only the line parts of a geometry, as one MultiLineString (None when there are none)."""
    import shapely
    from shapely.geometry import MultiLineString

    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "LineString":
        return MultiLineString([geom])
    if geom.geom_type == "MultiLineString":
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("LineString", "MultiLineString")]
    lines = [p for g in parts for p in (g.geoms if g.geom_type == "MultiLineString" else [g]) if not p.is_empty]
    return MultiLineString(lines) if lines else None


def _way_polygon(coords):
    """The polygon of a closed way, as drawn (repaired later, only if it is kept and invalid)."""
    from shapely.geometry import Polygon

    return Polygon(coords) if _closed(coords) else None


def _valid(geom):
    import shapely

    return geom if geom.is_valid else shapely.make_valid(geom)


def _relation_polygon(members, ways):
    """The area of a multipolygon/boundary relation: its outer rings less its inner rings.

    Rings may be made of several ways; ``polygonize`` joins them where they meet. Members missing
    from the file (a relation cut by the extract) leave rings open, which give no polygon.
    """
    import shapely
    from shapely.geometry import LineString

    outer: list[LineString] = []
    inner: list[LineString] = []
    for way_id, role in members:
        coords = ways.get(way_id, ((), None))[0]
        if len(coords) < 2:
            continue
        (inner if role == "inner" else outer).append(LineString(coords))
    if not outer:
        return None
    outer_area = shapely.union_all(list(shapely.get_parts(shapely.polygonize(outer))))
    if outer_area.is_empty:
        return None
    if inner:
        holes = shapely.union_all(list(shapely.get_parts(shapely.polygonize(inner))))
        if not holes.is_empty:
            outer_area = outer_area.difference(holes)
    return _polygonal(shapely.make_valid(outer_area) if not outer_area.is_valid else outer_area)


def _point_in(poly):
    """The centroid of an area, or a point surely inside it when the centroid is not (an L shape)."""
    poly = _valid(poly)
    c = poly.centroid
    return c if poly.contains(c) else poly.representative_point()


# -- the layers ----------------------------------------------------------------------------------

def clip_region(boundary, buffer_m: float):
    """The area's polygon grown by ``buffer_m`` metres (computed in its UTM zone), in EPSG:4326."""
    import shapely
    from pyproj import Transformer

    from surveyor.geo.areas import utm_crs

    if buffer_m < 0:
        from surveyor.errors import InvalidRequest

        raise InvalidRequest(f"--buffer-m {buffer_m:g} is negative.", fix="Give 0 or more metres (default 2000).")
    if buffer_m == 0:
        return boundary
    c = boundary.centroid
    to_utm = Transformer.from_crs("EPSG:4326", utm_crs(c.x, c.y), always_xy=True)
    back = Transformer.from_crs(utm_crs(c.x, c.y), "EPSG:4326", always_xy=True)
    grown = shapely.buffer(shapely.transform(boundary, lambda xy: _apply(to_utm, xy)), buffer_m, quad_segs=16)
    return shapely.transform(grown, lambda xy: _apply(back, xy))


def _apply(transformer, xy):
    import numpy as np

    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def build_layers(data: OsmData, region) -> tuple[dict[str, Any], dict[str, int]]:
    """The five basemap layers from what the readers found, clipped to ``region``.

    Returns the layers (GeoDataFrames with the columns of
    :data:`surveyor.store.base.BASEMAP_FIELDS`) and counts of what was left out: ``incomplete``
    (areas whose outline is not whole in the file, lines of fewer than two known positions).
    """
    import numpy as np
    import shapely
    from shapely.geometry import Point

    shapely.prepare(region)
    west, south, east, north = region.bounds
    rows: dict[str, list] = {layer: [] for layer in LAYERS}
    # A geometry, or ("line", k) / ("ring", k): the k-th way of those made in one go at the end
    # (shapely makes a hundred thousand outlines from one array far faster than one by one).
    geoms: dict[str, list] = {layer: [] for layer in LAYERS}
    batch: dict[str, list] = {"line": [], "ring": []}
    skipped = {"incomplete": 0}

    def add(layer: str, geom, values: dict) -> None:
        rows[layer].append(values)
        geoms[layer].append(geom)

    def area_features(osm_type: str, osm_id: int, tags: dict, poly, coords=None) -> None:
        name = tags.get("name")
        building = _building(tags)
        kind = water_kind(tags, area=True)
        if poly is None and (building or kind):
            batch["ring"].append(coords)
            poly_ref = ("ring", len(batch["ring"]) - 1)
        else:
            poly_ref = poly
        if building:
            add("buildings", poly_ref, {"osm_type": osm_type, "osm_id": osm_id, "building": building, "name": name})
        if kind:
            add("water", poly_ref, {"osm_type": osm_type, "osm_id": osm_id, "kind": kind, "name": name})
        if _place(tags) or facility_of(tags):
            point_features(osm_type, osm_id, tags, None, poly if poly is not None else _way_polygon(coords))

    def point_features(osm_type: str, osm_id: int, tags: dict, point, poly=None) -> None:
        place = _place(tags)
        facility = facility_of(tags)
        if not (place or facility):
            return
        if point is None:
            point = _point_in(poly)
        if place:
            add("places", point, {"osm_type": osm_type, "osm_id": osm_id, "place": place, "name": tags["name"]})
        if facility:
            add("facilities", point, {"osm_type": osm_type, "osm_id": osm_id, "kind": facility[0],
                                      "tag": facility[1], "name": tags.get("name")})

    for nid, (lon, lat, tags) in data.nodes.items():
        point_features("node", nid, tags, Point(lon, lat))
    for wid, (coords, tags) in data.ways.items():
        if not tags:
            continue  # a relation's member, nothing of its own
        if coords:
            # Far outside the region (most of a large extract): no geometry is made at all.
            lons = [c[0] for c in coords]
            lats = [c[1] for c in coords]
            if max(lons) < west or min(lons) > east or max(lats) < south or min(lats) > north:
                continue
        needs_area = bool(_building(tags) or water_kind(tags, area=True) or _place(tags) or facility_of(tags))
        cls = road_class(tags.get("highway"))
        line_kind = water_kind(tags, area=False)
        if (cls or line_kind) and len(set(coords)) < 2:
            skipped["incomplete"] += 1
        elif cls or line_kind:
            batch["line"].append(coords)
            line = ("line", len(batch["line"]) - 1)
            if cls:
                add("roads", line, {"osm_type": "way", "osm_id": wid, "class": cls, "highway": tags["highway"],
                                    "name": tags.get("name")})
            if line_kind:
                add("water", line, {"osm_type": "way", "osm_id": wid, "kind": line_kind, "name": tags.get("name")})
        if needs_area:
            if _closed(coords):
                area_features("way", wid, tags, None, coords)
            elif _building(tags) or water_kind(tags, area=True):
                skipped["incomplete"] += 1  # an outline that does not close (cut by the extract)
    for rid, (tags, members) in data.relations.items():
        if not (_building(tags) or water_kind(tags, area=True) or _place(tags) or facility_of(tags)):
            continue
        poly = _relation_polygon(members, data.ways)
        if poly is None:
            skipped["incomplete"] += 1
            continue
        area_features("relation", rid, tags, poly)

    made = {}
    for kind, parts in batch.items():
        if not parts:
            continue
        flat = np.array([c for coords in parts for c in coords], dtype=float)
        index = np.repeat(np.arange(len(parts)), [len(c) for c in parts])
        made[kind] = (shapely.linestrings(flat, indices=index) if kind == "line"
                      else shapely.polygons(shapely.linearrings(flat, indices=index)))
    for layer in LAYERS:
        geoms[layer] = [made[g[0]][g[1]] if isinstance(g, tuple) else g for g in geoms[layer]]
    return {layer: _clipped_frame(layer, rows[layer], geoms[layer], region) for layer in LAYERS}, skipped


def _clipped_frame(layer: str, rows: list[dict], geoms: list, region):
    """The layer's rows whose geometry meets ``region``, lines and areas cut at its edge, lines as
    MultiLineStrings and areas as MultiPolygons."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    fields = BASEMAP_FIELDS[layer]
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    keep = shapely.intersects(arr, region) if len(arr) else np.zeros(0, dtype=bool)
    arr = arr[keep]
    kept_rows = [r for r, k in zip(rows, keep) if k]
    if layer not in ("places", "facilities") and len(arr):
        lines = shapely.get_dimensions(arr) == 1
        bad = ~shapely.is_valid(arr)
        if bad.any():  # self-touching outlines happen in hand-drawn data
            arr[bad] = shapely.make_valid(arr[bad])
        # Only what crosses the edge is cut (the prepared region answers "inside" quickly).
        edge = ~shapely.contains(region, arr)
        if edge.any():
            arr[edge] = shapely.intersection(arr[edge], region)
        types = shapely.get_type_id(arr)
        out = np.empty(len(arr), dtype=object)
        # A line stays a line and an area an area: an area that only touches the edge is cut to
        # a line, which is no area, and is left out below.
        for pick, make in (((types == 1) & lines, shapely.multilinestrings),
                           ((types == 3) & ~lines, shapely.multipolygons)):
            if pick.any():
                out[pick] = make(arr[pick], indices=np.arange(int(pick.sum())))
        done = ((types == 5) & lines) | ((types == 6) & ~lines)  # multi already
        out[done] = arr[done]
        left = np.array([g is None for g in out], dtype=bool)  # collections left by cutting or repair
        for i in np.flatnonzero(left):
            out[i] = _lineal(arr[i]) if lines[i] else _polygonal(arr[i])
        ok = np.array([g is not None and not g.is_empty for g in out], dtype=bool)
        kept_rows = [r for r, k in zip(kept_rows, ok) if k]
        arr = out[ok]
    columns = {}
    for name, kind in fields.items():
        values = [r.get(name) for r in kept_rows]
        columns[name] = pd.Series(values, dtype="int64" if kind == "int" else object)
    frame = pd.DataFrame(columns, columns=list(fields))
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(list(arr), crs="EPSG:4326"), crs="EPSG:4326")
    return gdf.sort_values(["osm_type", "osm_id"], kind="stable").reset_index(drop=True)


# -- importing -----------------------------------------------------------------------------------

def _area(store: Store, settings: Settings, code: str | None):
    from surveyor.geo.areas import select_area

    return select_area(store.read_layer("areas"), settings, code)


def _overlap_check(data: OsmData, region, area_label: str) -> None:
    import shapely

    source = data.sources[0] if data.sources else "the data"
    if data.extent is None:
        raise InputError("holds no positions at all (no nodes), so nothing of it can be mapped.", path=source,
                         fix="Give an extract of the area's OpenStreetMap data.")
    w, s, e, n = data.extent
    if not shapely.box(w, s, e, n).intersects(region):
        rw, rs, re_, rn = region.bounds
        raise InputError(f"does not overlap the area: it covers lon {w:.4f}..{e:.4f}, lat {s:.4f}..{n:.4f}, "
                         f"and {area_label} with its buffer lies at lon {rw:.4f}..{re_:.4f}, lat {rs:.4f}..{rn:.4f}.",
                         path=source, fix="Give an extract of this area (or run `surveyor basemap fetch` when "
                                          "online), or check that --db and --config name the right survey.")


def _store(store: Store, data: OsmData, region, *, source: str, buffer_m: float, area_code: str,
           area_label: str) -> dict[str, Any]:
    layers, skipped = build_layers(data, region)
    counts = {layer: len(gdf) for layer, gdf in layers.items()}
    if not any(counts.values()):
        raise InputError(f"holds no roads, buildings, water, places or facilities inside {area_label} "
                         f"(with its {buffer_m:g} m buffer); the basemap was left as it was.", path=source,
                         fix="Give an extract that covers the area, or a larger --buffer-m.")
    record = {
        "source": source,
        "format": ", ".join(sorted(set(data.formats))),
        "imported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data_timestamp": data.timestamp,
        "attribution": ATTRIBUTION,
        "license_url": LICENSE_URL,
        "area_code": area_code,
        "buffer_m": float(buffer_m),
        "bounds": [round(v, 6) for v in region.bounds],
        "counts": counts,
        "skipped": skipped,
    }
    store.replace_layers(layers, {"basemap": record})
    return record


def import_basemap(store: Store, settings: Settings, paths: Iterable[str | os.PathLike], *,
                   buffer_m: float = DEFAULT_BUFFER_M, area: str | None = None,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Import OpenStreetMap files into the basemap layers, replacing the earlier basemap.

    Parameters
    ----------
    store, settings
        The survey's geodatabase and settings (the area's polygon comes from its ``areas`` layer).
    paths
        OSM XML (``.osm``, ``.osm.bz2``), PBF (``.osm.pbf``) or Overpass JSON (``.json``,
        ``.json.gz``) files; several files are combined (an element in two of them counts once).
    buffer_m
        Keep what lies within this many metres of the area's polygon.
    area
        Area code (default: the survey's village).

    Returns
    -------
    dict
        What was stored in ``meta`` under ``basemap``: source, format, imported_at, data_timestamp,
        attribution, area_code, buffer_m, bounds, counts per layer, skipped.

    Raises
    ------
    InputError
        A file that is not OpenStreetMap data, is cut short, does not overlap the area, or gives
        nothing inside it. The basemap already stored is then left as it was.
    """
    say = progress or (lambda _m: None)
    files = [os.fspath(p) for p in paths]
    if not files:
        from surveyor.errors import InvalidRequest

        raise InvalidRequest("No file given.", fix="Give one or more OpenStreetMap files.")
    the_area = _area(store, settings, area)
    region = clip_region(the_area.boundary, buffer_m)
    label = f"the area {the_area.name} ({the_area.code})"
    combined = OsmData()
    for path in files:
        say(f"reading {path}")
        data = read_osm(path, KEYS, region.bounds)
        _overlap_check(data, region, label)
        combined.update(data)
    if combined.missing_nodes:
        log.info("%d node references without a position (outside the extract)", combined.missing_nodes)
    return _store(store, combined, region, source=", ".join(files), buffer_m=buffer_m, area_code=the_area.code,
                  area_label=label)


def fetch_basemap(store: Store, settings: Settings, *, overpass_url: str | None = None,
                  buffer_m: float = DEFAULT_BUFFER_M, area: str | None = None, timeout_s: float | None = None,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Fetch the basemap for the area's bounding box (plus buffer) from an Overpass API server, once.

    Same result as :func:`import_basemap` of the server's answer; ``source`` is the server's URL.

    Raises
    ------
    NetworkError
        The server cannot be reached or answers with an HTTP error (429, 504, ...).
    InputError
        The server answered 200 with an error remark (a query that ran out of time or memory), or
        something that is not an Overpass answer. The basemap already stored is left as it was.
    """
    from surveyor.acquire import overpass

    say = progress or (lambda _m: None)
    url = overpass_url or overpass.DEFAULT_URL
    the_area = _area(store, settings, area)
    region = clip_region(the_area.boundary, buffer_m)
    west, south, east, north = region.bounds
    query = overpass.build_query(south, west, north, east)
    say(f"asking {url} for the OpenStreetMap data of lon {west:.4f}..{east:.4f}, lat {south:.4f}..{north:.4f}")
    raw = overpass.fetch(query, url, timeout_s=timeout_s or overpass.DEFAULT_TIMEOUT_S)
    say(f"received {len(raw):,} bytes")
    if raw.lstrip()[:1] == b"<":
        # A login page of a Wi-Fi hotspot, a proxy's error page, or a URL that is no Overpass API.
        raise InputError("answered with a web page instead of OpenStreetMap data (a Wi-Fi login page, a "
                         "proxy, or a URL that is not an Overpass API interpreter?).", path=url,
                         fix="Open a web page in a browser to check the connection, or give the right "
                             "--overpass-url; nothing was changed.")
    data = read_overpass_json("", frozenset(KEYS), raw=raw, source=url, box=region.bounds)
    label = f"the area {the_area.name} ({the_area.code})"
    return _store(store, data, region, source=url, buffer_m=buffer_m, area_code=the_area.code, area_label=label)
