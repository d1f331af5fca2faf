"""Ookla Speedtest Android "export results" CSV.

Header ``Date,ConnType,Lat,Lon,Download,Upload,Latency,ServerName,InternalIp,ExternalIp``; every
text field quoted, including Lat/Lon; ``Date`` is ``YYYY-MM-DD HH:MM`` local time without a zone
(interpreted in ``--tz``); Download/Upload in kbit/s (stored as Mbit/s); Latency in ms.

Quirks handled:

- Exports sent by e-mail come back with records wrapped over several lines. A record is complete
  when its quotes balance and it has the header's number of fields; until then the next line is
  joined to it (with a space when the break is inside a quoted text, where mailers wrap at spaces;
  directly otherwise). A record that is still short when a new record (a quoted date) starts is
  quarantined as ``truncated_record``; a stray quote never swallows the records after it
  (:mod:`surveyor.ingest.text`).
- The export has no operator column: ``--operator`` names it (rows are left without operator
  otherwise, and reports show them as unknown).
- ``Wifi`` rows are not mobile coverage: quarantined with reason ``wifi``.
- Lat outside +-90 while Lon is inside: the columns are swapped (seen in hand-fixed exports);
  quarantined as ``latlon_swapped`` rather than guessed. Both empty: kept as a no-fix speed sample
  (``no_fix`` true, no position), which a GPS track of the same walk can place later. Only one of
  them empty or unreadable: quarantined as ``bad_position``.
- InternalIp/ExternalIp are not imported (personal data, no use for coverage).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from surveyor.ingest.base import Batch, ReadContext, Reader, Reject
from surveyor.ingest.generic import broken_numbers, first_line, record_chunks, split_header, to_numbers
from surveyor.ingest.normalize import local_to_utc, techs
from surveyor.ingest.text import open_text, text_lines
from surveyor.ingest.text import records as assemble

HEADER = ("date", "conntype", "lat", "lon", "download", "upload", "latency", "servername", "internalip",
          "externalip")
_REQUIRED = set(HEADER[:7])
_RECORD_START = re.compile(r'^\s*"?\d{4}-\d{2}-\d{2}')
KBPS_PER_MBPS = 1000.0


def sniff(head: str, path: Path) -> bool:
    cols = {c.lower().replace(" ", "") for c in split_header(first_line(head), ",")}
    return _REQUIRED <= cols


def records(path: Path, width: int) -> Iterator[tuple[int, str, list[str] | None]]:
    """``(first_line, raw, fields)`` per record, rejoining records wrapped over several lines.

    ``fields`` is None for a record that could not be completed (quarantined by the caller).
    The header (the first non-blank line) is not yielded.
    """
    with open_text(path) as fh:
        lines = text_lines(fh)
        for _line_no, header in lines:
            if header.strip():
                break
        # Mailers wrap at spaces inside quoted text (rejoined with a space) and anywhere outside.
        yield from assemble(lines, delimiter=",", width=width,
                            join=lambda text, piece, inside: text + (" " if inside else "") + piece,
                            starts_record=lambda piece: bool(_RECORD_START.match(piece)),
                            complete=lambda fields: len(fields) >= width)


def batch_from_records(rows: list[list[str]], lines: list[int], raws: list[str], header: list[str],
                       ctx: ReadContext) -> Batch:
    """Samples and rejects from complete records (pure: no I/O)."""
    width = len(header)
    padded = rows if all(len(r) == width for r in rows) else \
        [r + [""] * (width - len(r)) if len(r) < width else r[:width] for r in rows]
    raw = pd.DataFrame(padded, columns=header, dtype=object) if padded else pd.DataFrame(columns=header)
    line_arr = np.asarray(lines, dtype=np.int64)
    conn = raw["conntype"].astype(str).str.strip()
    lat_txt = raw["lat"].astype(str).str.strip()
    lon_txt = raw["lon"].astype(str).str.strip()
    lat, lon = to_numbers(lat_txt), to_numbers(lon_txt)
    time = local_to_utc(raw["date"].astype(str).str.strip(), ctx.tz, fmt="ISO8601")

    reasons = pd.Series([None] * len(raw), dtype=object)
    messages = pd.Series([None] * len(raw), dtype=object)

    def mark(mask, reason: str, message) -> None:
        mask = np.asarray(mask) & reasons.isna().to_numpy()
        reasons[mask] = reason
        messages[mask] = message(mask) if callable(message) else message

    mark(conn.str.lower().eq("wifi"), "wifi",
         "a Wi-Fi speed test says nothing about mobile coverage; not imported.")
    mark(time.isna(), "bad_time",
         lambda m: [f"Date {d!r} is not 'YYYY-MM-DD HH:MM'; fix the date in the file." for d in raw["date"][m]])
    swapped = (lat.abs() > 90) & (lon.abs() <= 90)
    mark(swapped, "latlon_swapped",
         lambda m: [f"Lat {a} is outside -90..90 while Lon {b} is a latitude: the Lat and Lon columns are "
                    "swapped. Swap them back in the file and merge it again."
                    for a, b in zip(lat_txt[m], lon_txt[m])])
    both_empty = (lat_txt == "") & (lon_txt == "")
    bad_pos = (lat.isna() | lon.isna()) & ~both_empty
    mark(bad_pos, "bad_position",
         lambda m: [f"Lat {a!r} / Lon {b!r} is not a position; fix it or empty both cells (the test is then "
                    "placed from a GPS track of the walk)." for a, b in zip(lat_txt[m], lon_txt[m])])

    for column in ("download", "upload", "latency"):
        text = raw[column]
        mark(broken_numbers(text, to_numbers(text)), "bad_value",
             lambda m, column=column, text=text: [f"{column.capitalize()} {v!r} is not a number; fix it in the file "
                                                  "(an empty cell means the test gave no result)." for v in text[m]])

    rejected = reasons.notna().to_numpy()
    rejects = [Reject(int(line_arr[i]), raws[i], reasons[i], messages[i]) for i in np.flatnonzero(rejected)]
    keep = ~rejected
    down = to_numbers(raw["download"]) / KBPS_PER_MBPS
    up = to_numbers(raw["upload"]) / KBPS_PER_MBPS
    df = pd.DataFrame({
        "time": time,
        "lat": lat,
        "lon": lon,
        "no_fix": both_empty.to_numpy(),
        "gps": "ookla",
        "kind": "speed",
        "tech": techs(conn),
        "download_mbps": down,
        "upload_mbps": up,
        "latency_ms": to_numbers(raw["latency"]),
        # No result at all means the test did not run: that is a failed test, and evidence.
        "test": np.where(down.isna() & up.isna(), "failed", "ok"),
        "test_server": raw["servername"].astype(str).str.strip().replace("", None)
        if "servername" in raw.columns else None,
        "operator": ctx.operator,
        "device": ctx.device,
        "volunteer": ctx.volunteer,
        "source_line": line_arr,
    })
    return Batch(samples=df[keep].reset_index(drop=True), rejects=rejects)


def _read(path: Path, ctx: ReadContext) -> Iterator[Batch]:
    with open_text(path) as fh:
        header_line = next((line for line in fh if line.strip()), "")
    header = [h.lower().replace(" ", "") for h in split_header(header_line.rstrip("\r\n"), ",")]
    width = len(header)
    it = records(path, width)

    def truncated(line_no: int, raw: str, fields: list[str] | None) -> Reject:
        return Reject(line_no, raw, "truncated_record",
                      f"record does not have the header's {width} fields even after joining "
                      "wrapped lines; copy the export again from the phone, not from an e-mail body.")

    for rows, lines, raws, rejects in record_chunks(it, width, ctx.chunk_rows, truncated):
        batch = batch_from_records(rows, lines, raws, header, ctx)
        batch.rejects[:0] = rejects
        yield batch


READER = Reader(
    name="ookla",
    description="Ookla Speedtest Android results export (CSV; speed tests)",
    sniff=sniff,
    read=_read,
)
