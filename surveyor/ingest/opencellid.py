"""OpenCelliD / Mozilla Location Service cell exports -> the ``towers`` layer.

Columns ``radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal``,
with or without that header (the full OpenCelliD downloads have none). ``net`` is the MNC;
``created``/``updated`` are Unix seconds (stored as UTC times); ``averageSignal`` 0 means unknown.
Positions are OpenCelliD's estimates from crowd measurements, not surveyed tower sites.

Every row is a tower row or a quarantined row. A row of MCC 510 with an MNC that is not a known
Indonesian network keeps its raw code as the operator (``"51099"``): it is still a cell somebody
measured. Rows with an unreadable or impossible position are quarantined as ``bad_position``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from surveyor.ingest.base import Batch, ReadContext, Reader, Reject
from surveyor.ingest.generic import first_line, split_header, to_numbers
from surveyor.ingest.normalize import operators, whole
from surveyor.ingest.text import csv_records

HEADER = ("radio", "mcc", "net", "area", "cell", "unit", "lon", "lat", "range", "samples", "changeable",
          "created", "updated", "averagesignal")
RADIOS = ("GSM", "UMTS", "LTE", "CDMA", "NR", "NBIOT")
_HEADERLESS = re.compile(rf"^({'|'.join(RADIOS)}),\d{{3}},\d{{1,3}},\d+,\d+,", re.IGNORECASE)
SOURCE = "opencellid"


def sniff(head: str, path: Path) -> bool:
    line = first_line(head)
    cols = tuple(c.lower() for c in split_header(line, ","))
    return cols[:len(HEADER)] == HEADER or bool(_HEADERLESS.match(line.strip()))


def towers_from_rows(rows: list[list[str]], lines: list[int], raws: list[str]) -> Batch:
    """Tower rows (columns of ``TOWER_FIELDS``) and rejects (pure: no I/O)."""
    width = len(HEADER)
    padded = rows if all(len(r) == width for r in rows) else \
        [r + [""] * (width - len(r)) if len(r) < width else r[:width] for r in rows]
    raw = pd.DataFrame(padded, columns=list(HEADER), dtype=object) if padded else pd.DataFrame(columns=HEADER)
    n = len(raw)
    num = {c: to_numbers(raw[c]) for c in HEADER if c != "radio"}
    lat, lon = num["lat"], num["lon"]
    mcc = whole(num["mcc"])
    mnc = whole(num["net"])
    bad_pos = (lat.isna() | lon.isna() | (lat.abs() > 90) | (lon.abs() > 180) | ((lat == 0) & (lon == 0)))
    bad_plmn = mcc.isna() | mnc.isna()
    line_arr = np.asarray(lines, dtype=np.int64)
    rejects: list[Reject] = []
    for i in np.flatnonzero(bad_plmn.to_numpy()):
        rejects.append(Reject(int(line_arr[i]), raws[i], "bad_network",
                              "mcc/net are not numbers; this is not an OpenCelliD cell row. Check the file."))
    for i in np.flatnonzero((bad_pos & ~bad_plmn).to_numpy()):
        rejects.append(Reject(int(line_arr[i]), raws[i], "bad_position",
                              f"lat {raw['lat'][i]!r} / lon {raw['lon'][i]!r} is not a position on Earth; "
                              "the row is left out."))
    keep = ~(bad_pos | bad_plmn).to_numpy()
    ops = operators(mcc=mcc, mnc=mnc, n=n)
    signal = num["averagesignal"]
    df = pd.DataFrame({
        "radio": raw["radio"].str.strip().str.upper(),
        "operator": ops["operator"],
        "mcc": mcc,
        "mnc": mnc,
        "area": whole(num["area"]),
        "cell": whole(num["cell"]),
        "unit": whole(num["unit"]),
        "lat": lat,
        "lon": lon,
        "range_m": num["range"],
        "samples": whole(num["samples"]),
        "changeable": whole(num["changeable"]),
        "created": pd.to_datetime(num["created"], unit="s", utc=True, errors="coerce"),
        "updated": pd.to_datetime(num["updated"], unit="s", utc=True, errors="coerce"),
        # OpenCelliD writes 0 when no measurement reported a signal level.
        "average_signal_dbm": signal.where(signal < 0),
        "source": SOURCE,
        "source_line": line_arr,
    })
    return Batch(towers=df[keep].reset_index(drop=True), rejects=rejects)


def _read(path: Path, ctx: ReadContext) -> Iterator[Batch]:
    rows: list[list[str]] = []
    lines: list[int] = []
    raws: list[str] = []
    first = True
    broken: list[Reject] = []
    for line_no, raw, fields in csv_records(path, width=len(HEADER)):
        if first:
            first = False
            if tuple(f.strip().lower() for f in fields or ())[:len(HEADER)] == HEADER:
                continue
        if fields is None:
            broken.append(Reject(line_no, raw, "malformed_row",
                                 "a double quote opens a value that does not close on this row; the row is "
                                 "left out."))
            continue
        rows.append(fields)
        lines.append(line_no)
        raws.append(raw)
        if len(rows) >= ctx.chunk_rows:
            batch = towers_from_rows(rows, lines, raws)
            batch.rejects[:0], broken = broken, []
            yield batch
            rows, lines, raws = [], [], []
    if rows or broken:
        batch = towers_from_rows(rows, lines, raws)
        batch.rejects[:0] = broken
        yield batch


READER = Reader(
    name="opencellid",
    description="OpenCelliD / Mozilla Location Service cell list (CSV; tower positions)",
    sniff=sniff,
    read=_read,
)
