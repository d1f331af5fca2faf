"""Where the survey still needs evidence: targets read from `surveyor revisit --format gpx` (or
GeoJSON), and the distance and compass direction to them.

Standard library only (the GPX through :mod:`xml.parsers.expat`, which gives line numbers for the
messages), because the logger's ``--web`` page uses it on a phone without the geospatial stack.
Distances are on a sphere (haversine), within about 0.6% of the WGS84 ellipsoid: a few metres
over a village, plenty to walk by.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.parsers import expat

from surveyor.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["Target", "read_targets"]


# ---------------------------------------------------------------------------------------------
# Targets: `surveyor revisit --format gpx`, or GeoJSON points/polygons


@dataclass(frozen=True)
class Target:
    """A place the survey still needs evidence from."""

    name: str
    lat: float
    lon: float


def _check_position(lat, lon, path: str, where: str, line: int | None = None) -> tuple[float, float]:
    ok = (isinstance(lat, (int, float)) and isinstance(lon, (int, float)) and not isinstance(lat, bool)
          and not isinstance(lon, bool) and math.isfinite(lat) and math.isfinite(lon)
          and -90 <= lat <= 90 and -180 <= lon <= 180)
    if not ok:
        raise InputError(f"{where} has no usable position (lat {lat!r}, lon {lon!r}).", path=path, line=line,
                         fix="Positions are WGS84 degrees; export the file again "
                             "(e.g. `surveyor revisit --format gpx > targets.gpx`).")
    return float(lat), float(lon)


def _gpx_targets(data: bytes, path: str) -> list[Target]:
    # No DTDs: a waypoint file has none, and entity expansion is how XML files attack parsers.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InputError("has a DOCTYPE or ENTITY declaration, which a GPX file does not have.", path=path,
                         fix="Use the GPX that `surveyor revisit --format gpx` writes.")
    parser = expat.ParserCreate()
    found: list[Target] = []
    stack: list[str] = []
    current: dict = {}

    def start(name: str, attrs: dict) -> None:
        local = name.rpartition(":")[2]
        if not stack and local != "gpx":
            raise InputError(f"is XML but not GPX (its root element is <{name}>).", path=path,
                             line=parser.CurrentLineNumber,
                             fix="Give a GPX file of waypoints or a GeoJSON file of points.")
        stack.append(local)
        if local in ("wpt", "rtept"):
            line = parser.CurrentLineNumber
            lat: object  # the numbers, or else what the file holds, for the message
            lon: object
            try:
                lat, lon = float(attrs["lat"]), float(attrs["lon"])
            except (KeyError, ValueError):
                lat, lon = attrs.get("lat"), attrs.get("lon")
            lat, lon = _check_position(lat, lon, path, f"the <{local}> element", line)
            current.clear()
            current.update(lat=lat, lon=lon, name="", line=line)

    def end(name: str) -> None:
        local = stack.pop()
        if local in ("wpt", "rtept") and current:
            label = " ".join(current["name"].split()) or f"target {len(found) + 1}"
            found.append(Target(label, current["lat"], current["lon"]))
            current.clear()

    def text(chars: str) -> None:
        if current and len(stack) >= 2 and stack[-1] == "name" and stack[-2] in ("wpt", "rtept"):
            current["name"] += chars

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise InputError(f"is not well-formed GPX/XML ({expat.errors.messages[exc.code]}).", path=path,
                         line=exc.lineno, fix="Copy the file to the phone again; it may be cut off.") from None
    if not found:
        raise InputError("has no waypoints (<wpt>) or route points (<rtept>).", path=path,
                         fix="Write targets with `surveyor revisit --format gpx > targets.gpx`.")
    return found


def _ring_centre(ring) -> tuple[float, float, float] | None:
    """(lon, lat, area) of a polygon ring by the shoelace formula in degrees (fine at village size);
    the mean of the vertices when the ring has no area."""
    pts = [(float(p[0]), float(p[1])) for p in ring if isinstance(p, (list, tuple)) and len(p) >= 2]
    if not pts:
        return None
    # Relative to the first vertex: products of 109.86... would cancel away centimetres.
    ox, oy = pts[0]
    rel = [(x - ox, y - oy) for x, y in pts]
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(rel, rel[1:] + rel[:1]):
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(a) < 1e-18:
        return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts), 0.0
    return ox + cx / (3 * a), oy + cy / (3 * a), abs(a) / 2


def _geometry_centre(geom) -> tuple[float, float] | None:
    """(lon, lat) of a Point, the mean of a MultiPoint, the centre of a (Multi)Polygon; None for
    other geometries. Raises ValueError/TypeError/IndexError on malformed coordinates."""
    if not isinstance(geom, dict):
        return None
    coords: Any = geom.get("coordinates")  # JSON as read: a malformed shape raises, as documented
    kind = geom.get("type")
    if kind == "Point":
        return coords[0], coords[1]
    if kind == "MultiPoint":
        if not coords:
            return None
        return sum(p[0] for p in coords) / len(coords), sum(p[1] for p in coords) / len(coords)
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if not polygons:
        return None
    parts = [c for c in (_ring_centre(poly[0]) for poly in polygons if poly) if c is not None]
    if not parts:
        return None
    total = sum(p[2] for p in parts)
    if total <= 0:
        return parts[0][0], parts[0][1]
    return sum(p[0] * p[2] for p in parts) / total, sum(p[1] * p[2] for p in parts) / total


def _feature_name(props: dict, number: int) -> str:
    for key in ("name", "title", "zone_id", "label"):
        if isinstance(props.get(key), (str, int)) and str(props[key]).strip():
            return " ".join(str(props[key]).split())
    if props.get("operator") and props.get("h3"):
        return f"{props['operator']} {props['h3']}"
    return f"target {number}"


def _geojson_targets(text: str, path: str) -> tuple[list[Target], int]:
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise InputError(f"is not valid JSON ({getattr(exc, 'msg', exc)}).", path=path,
                         line=getattr(exc, "lineno", None),
                         fix="Copy the file to the phone again; it may be cut off.") from None
    if isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list):
            raise InputError("is a FeatureCollection without a list of features.", path=path,
                             fix="Give a GeoJSON FeatureCollection of points or polygons.")
    elif isinstance(obj, dict) and obj.get("type") == "Feature":
        features = [obj]
    elif isinstance(obj, dict) and "coordinates" in obj:
        features = [{"type": "Feature", "geometry": obj, "properties": {}}]
    else:
        raise InputError("is JSON but not GeoJSON (no FeatureCollection, Feature or geometry).", path=path,
                         fix="Give a GeoJSON FeatureCollection of points or polygons, or a GPX file.")
    found, skipped = [], 0
    for number, feat in enumerate(features, start=1):
        if not isinstance(feat, dict):
            raise InputError(f"feature {number} is not an object.", path=path,
                             fix="Give a GeoJSON FeatureCollection of points or polygons.")
        try:
            centre = _geometry_centre(feat.get("geometry"))
        except (TypeError, ValueError, IndexError, KeyError):
            raise InputError(f"feature {number} has malformed coordinates.", path=path,
                             fix="Export the file again, or remove that feature.") from None
        if centre is None:
            skipped += 1
            continue
        lat, lon = _check_position(centre[1], centre[0], path, f"feature {number}")
        props = feat.get("properties")
        found.append(Target(_feature_name(props if isinstance(props, dict) else {}, number), lat, lon))
    if not found:
        raise InputError("has no points or polygons.", path=path,
                         fix="Give a GeoJSON FeatureCollection of points or polygons (lines are not targets).")
    return found, skipped


def read_targets(path: str | Path) -> list[Target]:
    """The targets of a GPX (``surveyor revisit --format gpx``) or GeoJSON file.

    GPX waypoints and route points become targets with their ``<name>``; GeoJSON points become
    targets, polygons their centre, with the ``name`` (or ``zone_id``, or operator and H3 cell)
    of their properties. Targets at the same position (one cell needing evidence for two
    operators) are shown as one.

    Raises
    ------
    InputError
        The file cannot be read or is neither; the message names the file (and the line for XML
        and JSON syntax errors).
    """
    path = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc}).", path=path,
                         fix="Check the --targets path (on Termux, files copied to the phone are under "
                             "~/storage/shared after `termux-setup-storage`).") from None
    data = data.removeprefix(b"\xef\xbb\xbf")
    head = data.lstrip()[:1]
    if head == b"<":
        targets, skipped = _gpx_targets(data, path), 0
    elif head in (b"{", b"["):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"is not UTF-8 text (byte {exc.start}).", path=path,
                             fix="Save the GeoJSON as UTF-8.") from None
        targets, skipped = _geojson_targets(text, path)
    else:
        raise InputError("is neither GPX nor GeoJSON.", path=path,
                         fix="Write targets with `surveyor revisit --format gpx > targets.gpx`, "
                             "or give a GeoJSON FeatureCollection of points or polygons.")
    if skipped:
        log.warning("%s: %d feature(s) that are not points or polygons were left out of the targets.",
                    path, skipped)
    merged: dict[tuple[int, int], Target] = {}
    for t in targets:
        key = (round(t.lat * 1e6), round(t.lon * 1e6))
        old = merged.get(key)
        merged[key] = t if old is None else Target(f"{old.name}; {t.name}", old.lat, old.lon)
    return list(merged.values())
