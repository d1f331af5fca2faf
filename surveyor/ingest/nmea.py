"""NMEA 0183 logs (a GPS receiver's serial output, as gpsd and gpsfake capture it) -> ``tracks``.

What a *row* is: NMEA has several sentences per fix (RMC, GGA, GLL with the position; GSA, GSV,
VTG, ZDA... about satellites, course and clock). The row is the **fix epoch**: the consecutive
position sentences (RMC/GGA/GLL, any talker: GP, GN, GL, GA, BD...) that carry the same UTC time of
day. Each epoch becomes exactly one of:

- a track point (``time``, ``lat``, ``lon``, ``altitude_m`` from GGA, ``speed_kmh`` from RMC knots,
  ``accuracy_m`` estimated as HDOP x 5 m), when RMC status is ``A``, GGA quality is above 0 or
  GLL status is ``A``;
- a quarantined row with reason ``no_fix`` (RMC ``V`` / GGA quality 0: the receiver had no fix),
  ``no_date`` (no RMC/ZDA date and no ``# Date`` header before it), or ``bad_checksum`` (every
  position sentence of the epoch failed its checksum).

Other lines are not rows: ``#`` comment lines of gpsd captures, the non-position sentences and
blank lines; they carry neither a time nor a position of their own. The date comes from RMC (or
ZDA), else from a gpsd ``# Date: YYYY-MM-DD`` header; a time of day that goes backwards with no new
date is taken as midnight passing. CRLF and LF line ends both work.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from surveyor.ingest.base import Batch, ReadContext, Reader, Reject

_SENTENCE = re.compile(r"^\$(?P<talker>[A-Z]{2})(?P<type>[A-Z]{3}),")
_POSITION_TYPES = {"RMC", "GGA", "GLL"}
_HEADER_DATE = re.compile(r"^#\s*Date\s*[:=]\s*(\d{4})-(\d{2})-(\d{2})")
UERE_M = 5.0  # metres of range error per unit of HDOP: a rough figure for consumer receivers
KNOTS_TO_KMH = 1.852


def sniff(head: str, path: Path) -> bool:
    data = [ln.strip() for ln in head.splitlines() if ln.strip() and not ln.startswith("#")]
    if not data:
        return False
    sentences = sum(1 for ln in data if ln.startswith(("$", "!")))
    positions = sum(1 for ln in data if (m := _SENTENCE.match(ln)) and m["type"] in _POSITION_TYPES)
    return positions >= 1 and sentences >= 0.8 * len(data)


def checksum_ok(line: str) -> bool:
    """True when the ``*hh`` checksum matches (a sentence without one is accepted)."""
    body, star, given = line[1:].partition("*")
    if not star:
        return True
    calc = 0
    for ch in body:
        calc ^= ord(ch)
    try:
        return calc == int(given[:2], 16)
    except ValueError:
        return False


def _coord(value: str, hemi: str) -> float | None:
    """ddmm.mmmm / dddmm.mmmm and N/S/E/W -> signed degrees."""
    if not value or "." not in value:
        return None
    try:
        dot = value.index(".")
        deg = float(value[:dot - 2]) if dot > 2 else 0.0
        minutes = float(value[dot - 2:])
    except ValueError:
        return None
    out = deg + minutes / 60.0
    return -out if hemi in ("S", "W") else out


def _float(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _tod(value: str) -> float | None:
    """hhmmss.sss -> seconds of the day."""
    if len(value) < 6 or not value[:6].isdigit():
        return None
    try:
        return int(value[0:2]) * 3600 + int(value[2:4]) * 60 + float(value[4:])
    except ValueError:
        return None


class _Epoch:
    __slots__ = ("alt", "any_ok", "date", "fix", "hdop", "lat", "line", "lon", "raw", "speed_kn", "tod")

    def __init__(self, tod: float, line: int) -> None:
        self.tod, self.line = tod, line
        self.raw: list[str] = []  # the epoch's sentences
        self.fix = False
        self.lat: float | None = None
        self.lon: float | None = None
        self.alt: float | None = None
        self.speed_kn: float | None = None
        self.hdop: float | None = None
        self.date: date | None = None
        self.any_ok = False


def _apply(epoch: _Epoch, kind: str, f: list[str]) -> None:
    """Fold one checksum-valid position sentence into its epoch. GGA wins for the position (it has
    altitude and HDOP); RMC gives date and speed."""
    if kind == "RMC" and len(f) > 9:
        if f[2] == "A":
            lat, lon = _coord(f[3], f[4]), _coord(f[5], f[6])
            if lat is not None and lon is not None:
                epoch.fix = True
                if epoch.lat is None:
                    epoch.lat, epoch.lon = lat, lon
            epoch.speed_kn = _float(f[7])
        d = f[9]
        if len(d) == 6 and d.isdigit():
            try:
                epoch.date = date(2000 + int(d[4:6]) if int(d[4:6]) < 80 else 1900 + int(d[4:6]),
                                  int(d[2:4]), int(d[0:2]))
            except ValueError:
                pass
    elif kind == "GGA" and len(f) > 9:
        quality = int(f[6]) if f[6].isdigit() else 0
        if quality > 0:
            lat, lon = _coord(f[2], f[3]), _coord(f[4], f[5])
            if lat is not None and lon is not None:
                epoch.fix = True
                epoch.lat, epoch.lon = lat, lon
                epoch.hdop = _float(f[8])
                epoch.alt = _float(f[9])
    elif kind == "GLL" and len(f) > 6:
        if f[6].startswith("A"):
            lat, lon = _coord(f[1], f[2]), _coord(f[3], f[4])
            if lat is not None and lon is not None:
                epoch.fix = True
                if epoch.lat is None:
                    epoch.lat, epoch.lon = lat, lon


def _time_field(kind: str, f: list[str]) -> str:
    return f[5] if kind == "GLL" and len(f) > 5 else (f[1] if len(f) > 1 else "")


def epochs(path: Path) -> Iterator[tuple[_Epoch, date | None]]:
    """Yield each fix epoch with the date that applies to it, streaming the file."""
    current: _Epoch | None = None
    known_date: date | None = None
    last_tod: float | None = None

    def close(ep: _Epoch) -> tuple[_Epoch, date | None]:
        nonlocal known_date, last_tod
        if ep.date is not None:
            known_date = ep.date
        elif known_date is not None and last_tod is not None and ep.tod + 3600 < last_tod:
            known_date = known_date + timedelta(days=1)  # midnight passed without a dated sentence
        last_tod = ep.tod
        return ep, known_date

    with open(path, encoding="ascii", errors="replace", newline=None) as fh:
        for line_no, line in enumerate(fh, 1):
            text = line.strip()
            if text.startswith("#"):
                m = _HEADER_DATE.match(text)
                if m and known_date is None:
                    known_date = date(int(m[1]), int(m[2]), int(m[3]))
                continue
            m = _SENTENCE.match(text)
            if not m:
                continue
            kind = m["type"]
            fields = text.split("*", 1)[0].split(",")
            if kind == "ZDA" and len(fields) > 4 and checksum_ok(text):
                try:
                    known_date = date(int(fields[4]), int(fields[3]), int(fields[2]))
                except ValueError:
                    pass
                continue
            if kind not in _POSITION_TYPES:
                continue
            tod = _tod(_time_field(kind, fields))
            if tod is None:
                continue  # a position sentence without a time (receiver warming up) places nothing
            if current is not None and abs(current.tod - tod) > 1e-6:
                yield close(current)
                current = None
            if current is None:
                current = _Epoch(tod, line_no)
            current.raw.append(text)
            if checksum_ok(text):
                current.any_ok = True
                _apply(current, kind, fields)
        if current is not None:
            yield close(current)


def _batch(points: list[dict], rejects: list[Reject]) -> Batch:
    cols = ["time", "lat", "lon", "accuracy_m", "altitude_m", "speed_kmh", "device", "source_line"]
    tracks = pd.DataFrame(points, columns=cols)
    tracks["time"] = pd.to_datetime(tracks["time"], utc=True)
    for c in ("lat", "lon", "accuracy_m", "altitude_m", "speed_kmh"):
        tracks[c] = pd.to_numeric(tracks[c], errors="coerce").astype(float)
    tracks["source_line"] = tracks["source_line"].astype("int64")
    return Batch(tracks=tracks, rejects=rejects)


def _read(path: Path, ctx: ReadContext) -> Iterator[Batch]:
    points: list[dict] = []
    rejects: list[Reject] = []
    for ep, day in epochs(path):
        raw = "\n".join(ep.raw)
        if not ep.any_ok:
            rejects.append(Reject(ep.line, raw, "bad_checksum",
                                  "every position sentence of this fix failed its NMEA checksum (a noisy "
                                  "serial line); check the cable or baud rate."))
        elif not ep.fix:
            rejects.append(Reject(ep.line, raw, "no_fix",
                                  "the receiver had no fix (RMC status V / GGA quality 0); nothing to place. "
                                  "Wait for a fix outdoors before walking."))
        elif day is None:
            rejects.append(Reject(ep.line, raw, "no_date",
                                  "no RMC or ZDA sentence gave the date before this fix; log RMC sentences "
                                  "too, or add a '# Date: YYYY-MM-DD' line at the top of the log."))
        else:
            t = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=ep.tod)
            points.append({
                "time": t, "lat": ep.lat, "lon": ep.lon,
                "accuracy_m": ep.hdop * UERE_M if ep.hdop else None,
                "altitude_m": ep.alt,
                "speed_kmh": ep.speed_kn * KNOTS_TO_KMH if ep.speed_kn is not None else None,
                "device": ctx.device, "source_line": ep.line,
            })
        if len(points) + len(rejects) >= ctx.chunk_rows:
            yield _batch(points, rejects)
            points, rejects = [], []
    if points or rejects:
        yield _batch(points, rejects)


READER = Reader(
    name="nmea",
    description="NMEA 0183 GPS log (gpsd capture; one track point per fix epoch)",
    sniff=sniff,
    read=_read,
)
