"""G-NetTrack Pro CSV logs (drive-test app for Android).

Quirks handled (see the real logs in ``../shared/data/gnettrack``):

- ``-`` means missing; coordinates carry float noise (``51.893421999999994``): rounded to 7
  decimals (about 1 cm), which also keeps sample identities stable.
- ``Timestamp`` is ``YYYY.MM.DD_HH.MM.SS`` in the phone's local time without a zone: read in
  ``--tz`` (default from survey.toml, Asia/Jakarta) and stored as UTC.
- The same second can repeat: two rows of one second with different values are two samples.
- ``DL_bitrate``/``UL_bitrate`` are per-second throughput (kbit/s) while something downloads: kept
  as ``throughput_dl_kbps``/``throughput_ul_kbps`` on signal samples, not speed tests.
- On 2G/3G rows the ``RSRP``/``RSRQ`` columns hold RSCP/RSSI-like and Ec/Io-like values: stored as
  ``rscp_dbm``/``ecno_db`` (UMTS) or ``rssi_dbm`` (GSM), never as LTE RSRP.
- 5G (non-standalone) rows keep the LTE anchor in ``rsrp_dbm`` and the NR values (``NRxRSRP``,
  ``NRxRSRQ``) apart in ``nr_rsrp_dbm``/``nr_rsrq_db``.

Parsed with pyarrow's streaming CSV reader in chunks, so a file larger than memory merges.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from surveyor.errors import InputError
from surveyor.ingest import normalize
from surveyor.ingest.base import Batch, ReadContext, Reader, Reject

REQUIRED = ("Timestamp", "Longitude", "Latitude")
# G-NetTrack column -> how it is read. Numeric columns become float64; the rest text.
NUMERIC = ("Longitude", "Latitude", "Speed", "RSRP", "RSRQ", "SNR", "CQI", "RSSI", "DL_bitrate",
           "UL_bitrate", "PINGAVG", "NRxRSRP", "NRxRSRQ", "Altitude", "Accuracy", "Level", "ARFCN", "PSC",
           "PCI", "RAWCELLID", "CellID", "LAC", "Qual", "LTERSSI")
TIME_FORMAT = "%Y.%m.%d_%H.%M.%S"
_NUMBER_RE = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"


def sniff(head: str, path: Path) -> bool:
    first = head.splitlines()[0] if head else ""
    cols = [c.strip() for c in first.split(",")]
    return all(c in cols for c in REQUIRED) and ("NetworkMode" in cols or "RSRP" in cols or "Level" in cols)


def _numbers(col: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(values, broken): floats with '-'/'' as NaN; ``broken`` marks text that is not a number."""
    col = pc.utf8_trim_whitespace(col)
    missing = pc.or_(pc.is_null(col), pc.is_in(col, value_set=pa.array(["-", "", "--", "NaN", "nan"])))
    try:
        values = pc.cast(pc.if_else(missing, pa.scalar(None, pa.string()), col), pa.float64())
        return _unavailable_to_nan(values.to_numpy(zero_copy_only=False)), np.zeros(len(col), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = pc.match_substring_regex(col, _NUMBER_RE)
        good = pc.and_(ok, pc.invert(missing))
        values = pc.cast(pc.if_else(good, col, pa.scalar(None, pa.string())), pa.float64())
        broken = pc.and_(pc.invert(ok), pc.invert(missing)).to_numpy(zero_copy_only=False)
        return _unavailable_to_nan(values.to_numpy(zero_copy_only=False)), np.asarray(broken, dtype=bool)


def _unavailable_to_nan(values: np.ndarray) -> np.ndarray:
    # Android reports "unavailable" as Integer.MAX_VALUE (or MIN_VALUE); apps copy it through.
    values = np.asarray(values, dtype=float)
    return np.where(np.isin(values, normalize.ANDROID_UNAVAILABLE), np.nan, values)


def _text(col: pa.Array) -> pd.Series:
    """Text column as Python strings; bytes that are not UTF-8 become U+FFFD (low cardinality)."""
    enc = pc.dictionary_encode(col.cast(pa.binary()))
    words = [None if b is None else b.decode("utf-8", errors="replace").strip()
             for b in enc.dictionary.to_pylist()]
    idx = enc.indices.to_numpy(zero_copy_only=False)
    arr = np.array(words + [None], dtype=object)
    idx = np.where(np.isnan(idx.astype(float)), len(words), idx).astype(int) if enc.indices.null_count else idx
    out = pd.Series(arr[idx], dtype=object)
    return out.where(~out.isin(["-", ""]), None)


def _hex(values: pd.Series) -> pd.Series:
    def conv(v: object) -> int | None:
        try:
            return int(str(v), 16)
        except (TypeError, ValueError):
            return None
    return normalize.map_distinct(values, conv)


def read(path: Path, ctx: ReadContext) -> Iterator[Batch]:
    with open(path, "rb") as fh:
        header = fh.readline().decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    names = [c.strip() for c in header.split(",")]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputError(f"G-NetTrack header lacks {', '.join(missing)}.", path=ctx.source_file, line=1,
                         fix="Export the log again from G-NetTrack (CSV, comma-separated).")
    skipped: list[tuple[int, str, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        skipped.append((row.number or -1, row.text or "",
                        f"{row.actual_columns} fields where the header has {row.expected_columns}"))
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(skip_rows=1, column_names=names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             check_utf8=False, strings_can_be_null=False),
    )
    next_line = 2  # line 1 is the header
    session = f"gnettrack-{ctx.content_hash[:12]}"
    for record_batch in reader:
        n = record_batch.num_rows
        # Physical line numbers: consecutive, skipping the rows pyarrow rejected in this block.
        bad_lines = {s[0] for s in skipped}
        lines = np.empty(n, dtype=np.int64)
        filled = 0
        while filled < n:
            if next_line not in bad_lines:
                lines[filled] = next_line
                filled += 1
            next_line += 1
        rejects = [Reject(ln, txt.rstrip("\r\n"), "malformed_row", msg + "; the row is cut off or has extra commas")
                   for ln, txt, msg in skipped]
        skipped.clear()
        yield Batch(samples=_convert(record_batch, lines, ctx, session), rejects=rejects)
    if skipped:  # rejected rows after the last block (e.g. a truncated last line)
        yield Batch(samples=pd.DataFrame(), rejects=[
            Reject(ln, txt.rstrip("\r\n"), "malformed_row", msg + "; the row is cut off or has extra commas")
            for ln, txt, msg in skipped])


def _convert(batch: pa.RecordBatch, lines: np.ndarray, ctx: ReadContext, session: str) -> pd.DataFrame:
    cols = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
    num: dict[str, np.ndarray] = {}
    broken = np.zeros(batch.num_rows, dtype=bool)
    broken_field = np.full(batch.num_rows, None, dtype=object)
    for name in NUMERIC:
        if name in cols:
            values, bad = _numbers(cols[name])
            num[name] = values
            new = bad & ~broken
            broken_field[new] = name
            broken |= bad
    n = batch.num_rows
    df = pd.DataFrame({"source_line": lines})
    df["time"] = normalize.local_to_utc(_text(cols["Timestamp"]), ctx.tz, TIME_FORMAT)
    df["lat"] = np.round(num["Latitude"], 7)
    df["lon"] = np.round(num["Longitude"], 7)
    if "Speed" in num:
        df["speed_kmh"] = num["Speed"]
    if "Altitude" in num:
        df["altitude_m"] = num["Altitude"]
    if "Accuracy" in num:
        df["accuracy_m"] = num["Accuracy"]
    ops = normalize.operators(_text(cols["Operatorname"]) if "Operatorname" in cols else None, n=n)
    df["operator"] = ops["operator"].to_numpy()
    df["mcc"] = ops["mcc"].to_numpy()
    df["mnc"] = ops["mnc"].to_numpy()
    if ctx.operator:
        df["operator"] = df["operator"].where(df["operator"].notna(), ctx.operator)
    tech = normalize.techs(_text(cols["NetworkMode"])) if "NetworkMode" in cols else pd.Series([None] * n)
    df["tech"] = tech.to_numpy()
    rsrp, rsrq = num.get("RSRP", np.full(n, np.nan)), num.get("RSRQ", np.full(n, np.nan))
    t = df["tech"].to_numpy()
    lte = np.isin(t, ["LTE", "NR"]) | (t == None)  # noqa: E711 - unknown tech: LTE is what the columns mean
    umts, gsm = t == "UMTS", t == "GSM"
    df["rsrp_dbm"] = np.where(lte, rsrp, np.nan)
    df["rsrq_db"] = np.where(lte, rsrq, np.nan)
    df["rscp_dbm"] = np.where(umts, rsrp, np.nan)
    df["ecno_db"] = np.where(umts, rsrq, np.nan)
    rssi = num.get("RSSI", np.full(n, np.nan))
    df["rssi_dbm"] = np.where(gsm & np.isnan(rssi), rsrp, rssi)
    if "SNR" in num:
        df["sinr_db"] = np.where(lte, num["SNR"], np.nan)
    if "NRxRSRP" in num:
        df["nr_rsrp_dbm"] = num["NRxRSRP"]
    if "NRxRSRQ" in num:
        df["nr_rsrq_db"] = num["NRxRSRQ"]
    if "Level" in num:
        df["level"] = num["Level"]
    if "ARFCN" in num:
        df["arfcn"] = num["ARFCN"]
    if "PCI" in num:
        df["pci"] = num["PCI"]
    cell = num.get("RAWCELLID")
    if cell is None or np.isnan(cell).all():
        cell = num.get("CellID", np.full(n, np.nan))
    df["cell_id"] = cell
    if "LACHEX" in cols:
        area = _hex(_text(cols["LACHEX"])).to_numpy()
        df["tac"] = np.where(lte, area, None)
        df["lac"] = np.where(~lte, area, None)
    df["throughput_dl_kbps"] = num.get("DL_bitrate", np.full(n, np.nan))
    df["throughput_ul_kbps"] = num.get("UL_bitrate", np.full(n, np.nan))
    if "PINGAVG" in num:
        df["latency_ms"] = num["PINGAVG"]
    has_signal = ~(np.isnan(rsrp) & np.isnan(rssi))
    df["service"] = np.where(t == "NONE", "no_service", np.where(has_signal | (t != None), "in_service",  # noqa: E711
                                                                  "unknown"))
    df["kind"] = "signal"
    df["gps"] = "gnettrack"
    df["session"] = session
    df["device"] = ctx.device
    df["volunteer"] = ctx.volunteer
    if broken.any():
        # Text where a number belongs: the row is quarantined by validation with the field named.
        df["_broken"] = broken_field
    return df


READER = Reader(name="gnettrack", description="G-NetTrack Pro CSV log", sniff=sniff, read=read)
