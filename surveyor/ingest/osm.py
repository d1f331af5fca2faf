"""Readers of OpenStreetMap data: XML, PBF and Overpass API JSON, into one plain structure.

Formats are recognised by content, not by the file name (an HTML page saved as ``.osm`` is told
apart from OpenStreetMap data before anything is parsed):

- **OSM XML** (``.osm``, also compressed ``.osm.bz2``/``.osm.gz``), streamed with the standard
  library's ``iterparse``; elements are cleared once read, so only node positions stay in memory.
- **PBF** (``.osm.pbf``) through pyosmium (libosmium), which keeps node locations in its own
  C++ index and filters untagged nodes before they reach Python.
- **Overpass API JSON** (``.json``, ``.json.gz``), as ``out body; >; out skel qt;`` (ways with node
  ids, nodes with positions) or ``out geom`` (ways and relation members with their geometry).

Every reader returns :class:`OsmData`: the tagged nodes, the ways with their coordinates and the
area relations (multipolygons, boundaries) with their member ways, keeping only elements that
carry one of the keys asked for (and the untagged ways that are members of kept relations).
Which elements become which layer is decided in :mod:`surveyor.ingest.basemap`.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import os
import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, cast

from surveyor.errors import InputError

# Relation types whose outer/inner member ways enclose an area.
AREA_RELATION_TYPES = frozenset({"multipolygon", "boundary"})

Coords = list[tuple[float, float]]  # (lon, lat) pairs


@dataclass
class OsmData:
    """What one or more OpenStreetMap files hold, reduced to what the basemap needs.

    Attributes
    ----------
    nodes
        Tagged nodes kept: id -> (lon, lat, tags).
    ways
        Ways kept: id -> (coordinates as (lon, lat) in way order, tags). Member ways of kept
        relations are here too, possibly without tags. Nodes missing from the file are left out of
        the coordinates (and counted in ``missing_nodes``).
    relations
        Area relations kept: id -> (tags, [(way_id, role), ...]).
    extent
        (west, south, east, north) of the file's data: its declared bounds and the positions it
        holds. None when it holds neither.
    """

    sources: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    nodes: dict[int, tuple[float, float, dict]] = field(default_factory=dict)
    ways: dict[int, tuple[Coords, dict]] = field(default_factory=dict)
    relations: dict[int, tuple[dict, list[tuple[int, str]]]] = field(default_factory=dict)
    extent: tuple[float, float, float, float] | None = None
    timestamp: str | None = None  # when the data was current (the file's or server's own stamp)
    missing_nodes: int = 0

    def update(self, other: OsmData) -> None:
        """Add another file's elements (an element in both keeps the later file's version)."""
        self.sources += other.sources
        self.formats += other.formats
        self.nodes.update(other.nodes)
        for wid, (coords, tags) in other.ways.items():
            # A member way read without tags in one file keeps its tags from the other.
            old = self.ways.get(wid)
            self.ways[wid] = ((coords if len(coords) >= len(old[0]) else old[0], tags or old[1]) if old
                              else (coords, tags))
        self.relations.update(other.relations)
        self.extent = _union_extent(self.extent, other.extent)
        self.timestamp = max(filter(None, (self.timestamp, other.timestamp)), default=None)
        self.missing_nodes += other.missing_nodes


def _union_extent(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


class _Extent:
    """Running bounding box of positions seen."""

    def __init__(self) -> None:
        self.w = self.s = float("inf")
        self.e = self.n = float("-inf")

    def add(self, lon: float, lat: float) -> None:
        if lon < self.w:
            self.w = lon
        if lon > self.e:
            self.e = lon
        if lat < self.s:
            self.s = lat
        if lat > self.n:
            self.n = lat

    def get(self):
        return None if self.w == float("inf") else (self.w, self.s, self.e, self.n)


Box = tuple[float, float, float, float]  # west, south, east, north


def _in_box(box: Box | None, coords) -> bool:
    """Whether the bounding box of ``coords`` meets ``box`` (always, without a box). Lets the
    readers drop what lies far outside the area early, so a large extract does not fill memory."""
    if box is None or not coords:
        return True
    lons = [c[0] for c in coords]
    lats = [c[1] for c in coords]
    return not (max(lons) < box[0] or min(lons) > box[2] or max(lats) < box[1] or min(lats) > box[3])


def _wanted(tags: dict, keys: frozenset[str]) -> bool:
    return any(k in tags for k in keys)


def _area_relation(tags: dict, keys: frozenset[str]) -> bool:
    return tags.get("type") in AREA_RELATION_TYPES and _wanted(tags, keys)


# -- recognising the format -------------------------------------------------------------------

FORMATS = ("xml", "pbf", "overpass-json")
_FIX_FORMAT = ("Give OpenStreetMap data: OSM XML (.osm, .osm.bz2), PBF (.osm.pbf) or an Overpass API JSON answer "
               "(.json, .json.gz), e.g. from `surveyor basemap fetch`, download.geofabrik.de or overpass-turbo.eu "
               "(Export > raw OSM data).")


def _open_raw(path: str) -> tuple[IO[bytes], str]:
    """The file as a byte stream, decompressed when it is gzip or bzip2 (told by its first bytes)."""
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc}).", path=path,
                         fix="Check the file name and that the file is readable.") from None
    head = f.read(4)
    f.seek(0)
    if head[:2] == b"\x1f\x8b":
        # A GzipFile is a binary stream; typeshed declares it a BufferedIOBase, not an IO[bytes].
        return cast(IO[bytes], gzip.GzipFile(fileobj=f, mode="rb")), "gzip"
    if head[:3] == b"BZh":
        return bz2.BZ2File(f, mode="rb"), "bzip2"
    return f, ""


def _compressed_error(path: str, compression: str, exc: Exception) -> InputError:
    return InputError(f"the {compression} compression is damaged or cut short ({exc}).", path=path,
                      fix="Copy or download the file again; a transfer that stopped early leaves a cut file.")


def detect_format(path: str) -> str:
    """``xml``, ``pbf`` or ``overpass-json``, from the content; :class:`InputError` otherwise.

    An HTML page (an error page or a web page saved under an ``.osm`` name) and an empty file get
    messages of their own.
    """
    f, compression = _open_raw(path)
    try:
        with f:
            head = f.read(4096)
    except (OSError, EOFError, ValueError) as exc:
        raise _compressed_error(path, compression or "file", exc) from None
    if not head.strip():
        raise InputError("is empty.", path=path, fix=_FIX_FORMAT)
    # PBF: a 4-byte length, then a BlobHeader whose first field is the type "OSMHeader".
    if b"OSMHeader" in head[:32]:
        if compression:
            raise InputError(f"is a PBF file inside {compression} compression.", path=path,
                             fix="Decompress it first; PBF is compressed inside already.")
        return "pbf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<"):
        if re.search(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", text[:2048]):
            raise InputError("is an HTML page, not OpenStreetMap data (a web page or an error page saved "
                             "under this name).", path=path,
                             fix="Download the data itself: on openstreetmap.org use Export, on overpass-turbo.eu "
                                 "Export > raw OSM data, or run `surveyor basemap fetch` when online.")
        return "xml"
    if text.startswith((b"{", b"[")):
        return "overpass-json"
    raise InputError("is not in a known OpenStreetMap format.", path=path, fix=_FIX_FORMAT)


def read_osm(path: str | os.PathLike, keys: Iterable[str], box: Box | None = None) -> OsmData:
    """Read one OpenStreetMap file of any supported format.

    Parameters
    ----------
    path
        The file.
    keys
        Tag keys of the elements to keep (e.g. ``highway``, ``building``).
    box
        (west, south, east, north): tagged nodes and ways wholly outside it are not kept (the
        extent still covers the whole file). Member ways of kept relations are always kept.

    Raises
    ------
    InputError
        The file cannot be read, is not OpenStreetMap data, is cut short, or is an Overpass error.
    """
    path = os.fspath(path)
    keys = frozenset(keys)
    fmt = detect_format(path)
    if fmt == "pbf":
        data = read_pbf(path, keys, box)
    elif fmt == "xml":
        data = read_xml(path, keys, box)
    else:
        data = read_overpass_json(path, keys, box=box)
    return data


# -- OSM XML ------------------------------------------------------------------------------------

def read_xml(path: str, keys: frozenset[str], box: Box | None = None) -> OsmData:
    """OSM XML (plain, gzip or bzip2) streamed with ``iterparse``."""
    import xml.etree.ElementTree as ET

    f, compression = _open_raw(path)
    data = OsmData(sources=[path], formats=["xml"])
    positions: dict[int, tuple[float, float]] = {}
    way_refs: dict[int, tuple[array, dict]] = {}
    member_ways: set[int] = set()
    extent = _Extent()
    declared = None
    tags: dict = {}
    refs = array("q")
    members: list[tuple[int, str]] = []
    depth = 0
    root: ET.Element | None = None
    try:
        with f:
            for event, el in ET.iterparse(f, events=("start", "end")):
                if event == "start":
                    depth += 1
                    if root is None:
                        root = el
                        if el.tag != "osm":
                            raise InputError(f"is XML but not OpenStreetMap data (its root element is <{el.tag}>, "
                                             "not <osm>).", path=path, fix=_FIX_FORMAT)
                        data.timestamp = el.get("timestamp")
                    continue
                depth -= 1
                tag = el.tag
                if tag == "tag":
                    tags[el.get("k")] = el.get("v")
                elif tag == "nd":
                    refs.append(int(el.get("ref")))
                elif tag == "member":
                    if el.get("type") == "way":
                        members.append((int(el.get("ref")), el.get("role") or ""))
                elif depth == 1:  # an element directly under <osm>
                    if el.get("action") == "delete" or el.get("visible") == "false":
                        pass  # deleted in an editor's file, or a deleted version
                    elif tag == "node":
                        nid, lon, lat = int(el.get("id")), float(el.get("lon")), float(el.get("lat"))
                        positions[nid] = (lon, lat)
                        extent.add(lon, lat)
                        if tags and _wanted(tags, keys) and _in_box(box, ((lon, lat),)):
                            data.nodes[nid] = (lon, lat, tags)
                    elif tag == "way":
                        # Every way's node ids are kept until the relations (after the ways) say
                        # which untagged ways are multipolygon members.
                        way_refs[int(el.get("id"))] = (refs, tags if _wanted(tags, keys) else {})
                    elif tag == "relation":
                        if _area_relation(tags, keys):
                            data.relations[int(el.get("id"))] = (tags, members)
                            member_ways.update(w for w, _ in members)
                    elif tag == "remark" and "error" in (el.text or "").lower():
                        # Overpass's XML output says so when a query stopped early.
                        raise InputError("the Overpass server stopped with an error, so the data is incomplete: "
                                         f"{(el.text or '').strip()}", path=path,
                                         fix="Run the query again (later, or for a smaller area) and save the "
                                             "new answer.")
                    elif tag == "bounds":
                        try:
                            declared = (float(el.get("minlon")), float(el.get("minlat")),
                                        float(el.get("maxlon")), float(el.get("maxlat")))
                        except (TypeError, ValueError):
                            declared = None
                    if tag in ("node", "way", "relation"):
                        tags, refs, members = {}, array("q"), []
                    # Read: drop it from the tree, so memory holds positions, not the document
                    # (the root is known: its start came first).
                    if root is not None:
                        root.clear()
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        cut = "no element found" in str(exc) or "unclosed token" in str(exc)
        raise InputError(("the XML ends before it is complete (a cut-off download?): " if cut else
                          "is not well-formed XML: ") + str(exc).split(":")[0] + ".", path=path, line=line,
                         fix="Download or copy the file again." if cut else _FIX_FORMAT) from None
    except (EOFError, OSError) as exc:
        raise _compressed_error(path, compression or "file", exc) from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"an element has a missing or bad id or position ({exc}).", path=path,
                         fix=_FIX_FORMAT) from None
    for wid, (way_nodes, wtags) in way_refs.items():
        if wtags or wid in member_ways:
            coords = []
            for ref in way_nodes:
                p = positions.get(ref)
                if p is None:
                    data.missing_nodes += 1
                else:
                    coords.append(p)
            if wid in member_ways or _in_box(box, coords):
                data.ways[wid] = (coords, wtags)
    data.extent = _union_extent(declared, extent.get())
    return data


# -- Overpass API JSON --------------------------------------------------------------------------

def overpass_error(doc: dict) -> str | None:
    """The error an Overpass answer reports in its ``remark`` (e.g. a query that timed out), if any.

    Overpass sends HTTP 200 with whatever it had found before the error, so such an answer must
    never be taken for the whole data.
    """
    remark = doc.get("remark") if isinstance(doc, dict) else None
    if isinstance(remark, str) and "error" in remark.lower():
        return remark.strip()
    return None


def read_overpass_json(path: str, keys: frozenset[str], *, raw: bytes | None = None,
                       source: str | None = None, box: Box | None = None) -> OsmData:
    """An Overpass API JSON answer (a file, gzip or not, or the bytes ``raw`` fetched from ``source``)."""
    shown = source or path
    if raw is not None:
        stream: IO[bytes] = io.BytesIO(raw)
        compression = ""
    else:
        stream, compression = _open_raw(path)
    try:
        with stream:
            doc = json.load(stream)
    except json.JSONDecodeError as exc:
        raise InputError(f"is not complete JSON ({exc.msg}; cut short?).", path=shown, line=exc.lineno,
                         fix="Download or fetch it again.") from None
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 JSON.", path=shown, fix=_FIX_FORMAT) from None
    except (EOFError, OSError) as exc:
        raise _compressed_error(shown, compression or "file", exc) from None
    error = overpass_error(doc)
    if error:
        raise InputError(f"the Overpass server stopped with an error, so the data is incomplete: {error}",
                         path=shown, fix="Nothing was changed. Try again later, or with a smaller --buffer-m, or "
                                         "another server (--overpass-url); or import a file instead.")
    if not isinstance(doc, dict) or not isinstance(doc.get("elements"), list):
        kind = "GeoJSON" if isinstance(doc, dict) and doc.get("type") in ("FeatureCollection", "Feature") else "JSON"
        raise InputError(f"is {kind} but not an Overpass API answer (it has no list of 'elements').", path=shown,
                         fix="Use Overpass's JSON output ([out:json]) with `out body; >; out skel qt;` or "
                             "`out geom;`, or an OSM XML/PBF file.")
    data = OsmData(sources=[shown], formats=["overpass-json"])
    data.timestamp = (doc.get("osm3s") or {}).get("timestamp_osm_base") if isinstance(doc.get("osm3s"), dict) else None
    positions: dict[int, tuple[float, float]] = {}
    extent = _Extent()
    pending_ways: dict[int, tuple[list, dict]] = {}
    member_ways: set[int] = set()
    try:
        for el in doc["elements"]:
            kind = el.get("type")
            tags = el.get("tags") or {}
            if kind == "node":
                if "lat" not in el:
                    continue
                nid, lon, lat = int(el["id"]), float(el["lon"]), float(el["lat"])
                positions[nid] = (lon, lat)
                extent.add(lon, lat)
                if tags and _wanted(tags, keys) and _in_box(box, ((lon, lat),)):
                    data.nodes[nid] = (lon, lat, tags)
            elif kind == "way":
                wid = int(el["id"])
                if el.get("geometry"):
                    coords = [(float(p["lon"]), float(p["lat"])) for p in el["geometry"] if p]
                    for lon, lat in coords:
                        extent.add(lon, lat)
                    pending_ways[wid] = (coords, tags)
                else:
                    pending_ways[wid] = (el.get("nodes") or [], tags)
            elif kind == "relation":
                if not _area_relation(tags, keys):
                    continue
                members = []
                for m in el.get("members") or []:
                    if m.get("type") != "way":
                        continue
                    ref = int(m["ref"])
                    members.append((ref, m.get("role") or ""))
                    member_ways.add(ref)
                    if m.get("geometry") and ref not in pending_ways:  # `out geom`: members carry theirs
                        coords = [(float(p["lon"]), float(p["lat"])) for p in m["geometry"] if p]
                        for lon, lat in coords:
                            extent.add(lon, lat)
                        pending_ways[ref] = (coords, {})
                data.relations[int(el["id"])] = (tags, members)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"an element lacks its id or position ({exc!r}).", path=shown, fix=_FIX_FORMAT) from None
    for wid, (nodes, tags) in pending_ways.items():
        wtags = tags if _wanted(tags, keys) else {}
        if not wtags and wid not in member_ways:
            continue
        if nodes and isinstance(nodes[0], tuple):
            coords = nodes
        else:
            coords = []
            for ref in nodes:
                p = positions.get(int(ref))
                if p is None:
                    data.missing_nodes += 1
                else:
                    coords.append(p)
        if wid in member_ways or _in_box(box, coords):
            data.ways[wid] = (coords, wtags)
    data.extent = extent.get()
    return data


# -- PBF (pyosmium) ---------------------------------------------------------------------------

def read_pbf(path: str, keys: frozenset[str], box: Box | None = None) -> OsmData:
    """A PBF file through pyosmium: area relations first (to learn their member ways), then the
    tagged nodes and ways with node locations, then (only when relations need them) the untagged
    member ways. libosmium keeps every node's location and filters by tag before Python sees an
    object, so Python time goes only to what the basemap may use."""
    try:
        import osmium
    except ImportError:  # pragma: no cover - a dependency
        raise InputError("is a PBF file, and reading PBF needs pyosmium.", path=path,
                         fix="Install it: pip install osmium.") from None
    data = OsmData(sources=[path], formats=["pbf"])
    extent = _Extent()

    def way_coords(way) -> list[tuple[float, float]]:
        coords = []
        for n in way.nodes:
            loc = n.location
            if loc.valid():
                coords.append((loc.lon, loc.lat))
            else:
                data.missing_nodes += 1
        return coords

    try:
        relations = osmium.FileProcessor(path, osmium.osm.RELATION).with_filter(osmium.filter.KeyFilter(*keys))
        member_ways: set[int] = set()
        for r in relations:
            if not isinstance(r, osmium.osm.Relation):  # the processor reads relations only
                continue
            tags = {t.k: t.v for t in r.tags}
            if not _area_relation(tags, keys):
                continue
            members = [(m.ref, m.role) for m in r.members if m.type == "w"]
            data.relations[r.id] = (tags, members)
            member_ways.update(w for w, _ in members)
        processor = (osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY).with_locations()
                     .with_filter(osmium.filter.KeyFilter(*keys)))
        header = processor.header
        header_box = header.box()
        declared = None
        if header_box.valid():
            declared = (header_box.bottom_left.lon, header_box.bottom_left.lat, header_box.top_right.lon,
                        header_box.top_right.lat)
        data.timestamp = header.get("osmosis_replication_timestamp") or header.get("timestamp") or None
        for obj in processor:
            if isinstance(obj, osmium.osm.Node):
                loc = obj.location
                if loc.valid():
                    extent.add(loc.lon, loc.lat)
                    if _in_box(box, ((loc.lon, loc.lat),)):
                        data.nodes[obj.id] = (loc.lon, loc.lat, {t.k: t.v for t in obj.tags})
                continue
            coords = way_coords(obj)
            if coords:
                extent.add(min(c[0] for c in coords), min(c[1] for c in coords))
                extent.add(max(c[0] for c in coords), max(c[1] for c in coords))
            if obj.id in member_ways or _in_box(box, coords):
                data.ways[obj.id] = (coords, {t.k: t.v for t in obj.tags})
        missing = member_ways - data.ways.keys()
        if missing:
            # The relations' untagged member ways: one more pass, ways picked by id in libosmium.
            member_pass = (osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY).with_locations()
                           .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
                           .with_filter(osmium.filter.IdFilter(missing)))
            for way in member_pass:
                data.ways[way.id] = (way_coords(way), {})
    except RuntimeError as exc:
        text = str(exc)
        cut = "eof" in text.lower() or "truncated" in text.lower()
        raise InputError(("the PBF file ends before it is complete (a cut-off download or copy): " if cut else
                          "the PBF file cannot be read: ") + text + ".", path=path,
                         fix="Download or copy the file again." if cut else _FIX_FORMAT) from None
    # A header's box may be smaller than the data (ways keep their nodes beyond the cut).
    data.extent = _union_extent(declared, extent.get())
    return data
