"""An independent count of what an OpenStreetMap file holds, by tag, for checking the importer.

The file is parsed whole (ElementTree for XML, ``json`` for Overpass answers; a PBF file is first
re-encoded as XML by pyosmium's writer through its callback handler, a route the importer does
not take), and the rules of the basemap layers are written out here again, plainly, from the
documentation (docs/basemap.md), not taken from the product's code.
"""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

NOT_ROADS = {"proposed", "planned", "abandoned", "disused", "razed", "demolished", "no", "platform", "bus_stop",
             "elevator", "rest_area", "services"}
CLASSES = {"major": {"motorway", "trunk", "primary", "secondary", "tertiary", "motorway_link", "trunk_link",
                     "primary_link", "secondary_link", "tertiary_link"},
           "track": {"track"},
           "path": {"path", "footway", "pedestrian", "steps", "cycleway", "bridleway", "corridor", "via_ferrata"}}
WATER_LINES = {"river", "stream", "canal", "drain", "ditch", "brook", "tidal_channel"}
PLACES = {"city", "town", "village", "hamlet", "isolated_dwelling", "farm", "suburb", "quarter", "neighbourhood",
          "locality"}


class Elements:
    """nodes: id -> (lon, lat, tags); ways: id -> (node ids, tags); relations: id -> (tags, members)."""

    def __init__(self) -> None:
        self.nodes: dict[int, tuple[float, float, dict]] = {}
        self.ways: dict[int, tuple[list[int], dict]] = {}
        self.relations: dict[int, tuple[dict, list[tuple[str, int, str]]]] = {}


def from_xml(path: Path) -> Elements:
    out = Elements()
    root = ET.parse(path).getroot()
    for el in root:
        tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
        if el.tag == "node":
            out.nodes[int(el.get("id"))] = (float(el.get("lon")), float(el.get("lat")), tags)
        elif el.tag == "way":
            out.ways[int(el.get("id"))] = ([int(n.get("ref")) for n in el.findall("nd")], tags)
        elif el.tag == "relation":
            out.relations[int(el.get("id"))] = (tags, [(m.get("type"), int(m.get("ref")), m.get("role"))
                                                       for m in el.findall("member")])
    return out


def from_overpass(path: Path) -> Elements:
    out = Elements()
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        doc = json.load(f)
    for el in doc["elements"]:
        tags = el.get("tags", {})
        if el["type"] == "node":
            out.nodes[el["id"]] = (el["lon"], el["lat"], tags)
        elif el["type"] == "way":
            out.ways[el["id"]] = (list(el["nodes"]), tags)
        else:
            out.relations[el["id"]] = (tags, [(m["type"][0], m["ref"], m["role"]) for m in el["members"]])
    return out


def pbf_to_xml(pbf: Path, xml: Path) -> Path:
    """Re-encode a PBF file as OSM XML with pyosmium's writer (callback handler, no location index)."""
    return copy_osm(pbf, xml)


def copy_osm(src: Path, dst: Path) -> Path:
    """Copy an OpenStreetMap file into another encoding with pyosmium's writer, which picks the
    format from ``dst``'s suffix (``.osm`` XML, ``.osm.pbf``)."""
    import osmium

    writer = osmium.SimpleWriter(str(dst))

    class Copy(osmium.SimpleHandler):
        def node(self, n):
            writer.add_node(n)

        def way(self, w):
            writer.add_way(w)

        def relation(self, r):
            writer.add_relation(r)

    try:
        Copy().apply_file(str(src))
    finally:
        writer.close()
    return dst


def _line(elements: Elements, refs):
    from shapely.geometry import LineString

    coords = [elements.nodes[r][:2] for r in refs if r in elements.nodes]
    return LineString(coords) if len(set(coords)) >= 2 else None


def _area(elements: Elements, refs):
    from shapely.geometry import Polygon

    if len(refs) < 4 or refs[0] != refs[-1] or any(r not in elements.nodes for r in refs):
        return None
    return Polygon([elements.nodes[r][:2] for r in refs])


def _relation_area(elements: Elements, members):
    """A relation counts only when every member way is in the file with all its nodes."""
    import shapely

    lines = []
    for kind, ref, _role in members:
        if kind not in ("w", "way"):
            continue
        if ref not in elements.ways:
            return None
        refs = elements.ways[ref][0]
        if any(r not in elements.nodes for r in refs):
            return None
        lines.append(shapely.geometry.LineString([elements.nodes[r][:2] for r in refs]))
    polys = list(shapely.get_parts(shapely.polygonize(lines))) if lines else []
    return shapely.union_all(polys) if polys else None


def facility(tags: dict) -> str | None:
    a = tags.get("amenity")
    if a == "townhall" or (tags.get("office") == "government" and "admin_level" in tags):
        return "village_office"
    if a in ("clinic", "doctors", "hospital") or tags.get("healthcare") in ("clinic", "doctor", "hospital", "centre"):
        return "clinic"
    if a in ("school", "kindergarten", "college", "university"):
        return "school"
    if a == "place_of_worship":
        return "worship"
    return None


def expected(elements: Elements, region) -> dict[str, dict[tuple[str, int], str]]:
    """Per layer: (osm_type, osm_id) -> class or kind, of what meets ``region``."""
    out: dict[str, dict] = {k: {} for k in ("roads", "buildings", "water", "places", "facilities")}

    def take(layer, key, geom, value):
        if geom is not None and geom.intersects(region):
            out[layer][key] = value

    from shapely.geometry import Point

    for nid, (lon, lat, tags) in elements.nodes.items():
        if tags.get("place") in PLACES and tags.get("name"):
            take("places", ("node", nid), Point(lon, lat), tags["place"])
        if facility(tags):
            take("facilities", ("node", nid), Point(lon, lat), facility(tags))
    for wid, (refs, tags) in elements.ways.items():
        key = ("way", wid)
        hw = tags.get("highway")
        if hw and hw not in NOT_ROADS:
            cls = next((c for c, values in CLASSES.items() if hw in values), "minor")
            take("roads", key, _line(elements, refs), cls)
        if tags.get("waterway") in WATER_LINES:
            take("water", key, _line(elements, refs), tags["waterway"])
        area = _area(elements, refs)
        if area is None:
            continue
        if tags.get("building", "no") != "no":
            take("buildings", key, area, tags["building"])
        if tags.get("waterway") == "riverbank" or tags.get("natural") == "water":
            take("water", key, area, "riverbank" if tags.get("waterway") == "riverbank" else "water")
        inside = area.representative_point()
        if tags.get("place") in PLACES and tags.get("name"):
            take("places", key, inside, tags["place"])
        if facility(tags):
            take("facilities", key, inside, facility(tags))
    for rid, (tags, members) in elements.relations.items():
        if tags.get("type") not in ("multipolygon", "boundary"):
            continue
        area = _relation_area(elements, members)
        key = ("relation", rid)
        if tags.get("building", "no") != "no":
            take("buildings", key, area, tags["building"])
        if tags.get("waterway") == "riverbank" or tags.get("natural") == "water":
            take("water", key, area, "riverbank" if tags.get("waterway") == "riverbank" else "water")
        if area is not None:
            if tags.get("place") in PLACES and tags.get("name"):
                take("places", key, area.representative_point(), tags["place"])
            if facility(tags):
                take("facilities", key, area.representative_point(), facility(tags))
    return out


def stored(store) -> dict[str, dict[tuple[str, int], str]]:
    """The same shape from the store's layers: class for roads, building for buildings, kind/place else."""
    value = {"roads": "class", "buildings": "building", "water": "kind", "places": "place", "facilities": "kind"}
    out = {}
    for layer, col in value.items():
        df = store.read_layer(layer)
        out[layer] = {(str(t), int(i)): str(v) for t, i, v in zip(df["osm_type"], df["osm_id"], df[col])} \
            if len(df) else {}
    return out


def summary(d: dict[str, dict]) -> dict[str, Counter]:
    return {layer: Counter(v.values()) for layer, v in d.items()}
