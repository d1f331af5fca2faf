"""GPX 1.0 and 1.1 tracks -> the ``tracks`` layer (GPS track points that place signal logs by time).

A *row* of a GPX file is a track point (``<trkpt>``). Waypoints (``<wpt>``) and planned routes
(``<rte>``) are not rows: they are not where somebody walked at a given time. Segments and tracks
are flattened in file order; an empty ``<trkseg>`` gives nothing.

- A track point without ``<time>`` (common after editing a track in a mapping tool) cannot place
  anything by time: it is quarantined with reason ``no_time``, so the summary says how many.
- A point whose ``lat``/``lon`` attributes are missing or impossible: ``bad_position``.
- ``<ele>`` -> ``altitude_m``; GPX 1.0 ``<speed>`` (m/s) -> ``speed_kmh``; ``<hdop>`` -> an estimated
  ``accuracy_m`` of HDOP x 5 m (a typical phone receiver's range error), when present.

The file is parsed with expat as it streams (a day-long track is large), which also gives the
line of each point for the quarantine.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from surveyor.errors import InputError
from surveyor.ingest.base import Batch, ReadContext, Reader, Reject

_GPX_ROOT = re.compile(r"<gpx[\s>]", re.IGNORECASE)
UERE_M = 5.0  # metres of range error per unit of HDOP: a rough figure for phone receivers
MS_TO_KMH = 3.6
READ_BYTES = 1 << 16


def sniff(head: str, path: Path) -> bool:
    return bool(_GPX_ROOT.search(head[:4096])) and ("topografix.com/GPX" in head or "<trk" in head
                                                   or "<wpt" in head)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


class _Points:
    """Expat handlers collecting track points (with their line) as they stream past."""

    CHILD_TAGS = frozenset({"time", "ele", "speed", "hdop"})

    def __init__(self, parser: xml.parsers.expat.XMLParserType) -> None:
        self.parser = parser  # for the line of each point
        self.done: list[dict] = []
        self.current: dict | None = None
        self.child: str | None = None
        self.text: list[str] = []

    def start(self, tag: str, attrs: dict) -> None:
        name = _local(tag)
        if name == "trkpt":
            self.current = {"line": self.parser.CurrentLineNumber, "lat": attrs.get("lat"),
                            "lon": attrs.get("lon")}
        elif self.current is not None and name in self.CHILD_TAGS:
            self.child, self.text = name, []

    def chars(self, data: str) -> None:
        if self.child is not None:
            self.text.append(data)

    def end(self, tag: str) -> None:
        name = _local(tag)
        if self.current is None:
            return
        if name == self.child:
            self.current[name] = "".join(self.text).strip()
            self.child = None
        elif name == "trkpt":
            self.done.append(self.current)
            self.current = None


def points_frame(points: list[dict], ctx: ReadContext) -> Batch:
    """Track points and rejects from parsed ``<trkpt>`` dicts (pure: no I/O)."""
    df = pd.DataFrame(points, columns=["line", "lat", "lon", "time", "ele", "speed", "hdop"])
    lat = pd.to_numeric(df["lat"], errors="coerce")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    time = pd.to_datetime(df["time"], utc=True, errors="coerce", format="ISO8601")
    bad_pos = lat.isna() | lon.isna() | (lat.abs() > 90) | (lon.abs() > 180)
    no_time = time.isna() & ~bad_pos
    rejects: list[Reject] = []

    def raw(i: int) -> str:
        p = points[i]
        inner = f"<time>{p['time']}</time>" if p.get("time") else ""
        return f'<trkpt lat="{p.get("lat")}" lon="{p.get("lon")}">{inner}</trkpt>'

    for i in np.flatnonzero(bad_pos.to_numpy()):
        rejects.append(Reject(int(df["line"][i]), raw(int(i)), "bad_position",
                              "track point without a valid lat/lon; it is left out."))
    for i in np.flatnonzero(no_time.to_numpy()):
        t = points[i].get("time")
        why = f"<time> {t!r} is not an ISO 8601 time" if t else "track point has no <time>"
        rejects.append(Reject(int(df["line"][i]), raw(int(i)), "no_time",
                              f"{why}, so it cannot place samples by time. Export the track with times "
                              "(the recording app's GPX, not one redrawn in a map editor)."))
    keep = ~(bad_pos | no_time).to_numpy()
    hdop = pd.to_numeric(df["hdop"], errors="coerce")
    tracks = pd.DataFrame({
        "time": time,
        "lat": lat,
        "lon": lon,
        "accuracy_m": hdop * UERE_M,
        "altitude_m": pd.to_numeric(df["ele"], errors="coerce"),
        "speed_kmh": pd.to_numeric(df["speed"], errors="coerce") * MS_TO_KMH,
        "device": ctx.device,
        "source_line": df["line"].astype("int64"),
    })[keep].reset_index(drop=True)
    return Batch(tracks=tracks, rejects=rejects)


def _read(path: Path, ctx: ReadContext) -> Iterator[Batch]:
    parser = xml.parsers.expat.ParserCreate()
    handler = _Points(parser)
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.chars
    seen_points = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(READ_BYTES)
            try:
                parser.Parse(chunk, not chunk)
            except xml.parsers.expat.ExpatError as exc:
                seen_points += len(handler.done)
                if handler.done:
                    yield points_frame(handler.done, ctx)
                    handler.done = []
                if not seen_points:
                    raise InputError(f"not readable as GPX: broken XML ({xml.parsers.expat.ErrorString(exc.code)}).",
                                     path=ctx.source_file, line=exc.lineno,
                                     fix="Copy the GPX again from the app that recorded it.") from None
                # A track cut off (a copy that did not finish, an app killed while saving): the
                # points before the break are kept, and the break itself is one quarantined row.
                yield Batch(rejects=[Reject(exc.lineno, _excerpt(path, exc.lineno), "truncated",
                                            f"the GPX breaks off here ({xml.parsers.expat.ErrorString(exc.code)}); "
                                            f"the {seen_points} track points before it are kept. Copy the file "
                                            "again from the app for the rest.")])
                return
            if len(handler.done) >= ctx.chunk_rows:
                seen_points += len(handler.done)
                yield points_frame(handler.done, ctx)
                handler.done = []
            if not chunk:
                break
    if handler.done:
        yield points_frame(handler.done, ctx)


def _excerpt(path: Path, line_no: int, limit: int = 500) -> str:
    """The text of one line of the file (cut to ``limit`` characters), for the quarantine."""
    with open(path, "rb") as fh:
        for i, raw in enumerate(fh, 1):
            if i == line_no:
                return raw.decode("utf-8", errors="replace").rstrip("\r\n")[:limit] or "(end of file)"
    return "(end of file)"


READER = Reader(
    name="gpx",
    description="GPX 1.0/1.1 GPS track (track points; places signal logs without GPS by time)",
    sniff=sniff,
    read=_read,
)
