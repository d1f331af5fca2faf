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

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

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
FIRST_ROWS = 10_000  # rows of the first batch (later batches are blocks of about 8 MB)
# Columns stored as they are, whatever the technology: G-NetTrack column -> sample field.
COPIED = {"Speed": "speed_kmh", "Altitude": "altitude_m", "Accuracy": "accuracy_m", "NRxRSRP": "nr_rsrp_dbm",
          "NRxRSRQ": "nr_rsrq_db", "Level": "level", "ARFCN": "arfcn", "PCI": "pci"}
# Every column the reader takes; the others (CQI, State, CELLHEX, ...) are listed as not used.
USED = {"Timestamp", "Longitude", "Latitude", "Operatorname", "NetworkMode", "RSRP", "RSRQ", "SNR", "RSSI",
        "DL_bitrate", "UL_bitrate", "PINGAVG", "RAWCELLID", "CellID", "LACHEX", *COPIED}
_NUMBER_RE = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"


def _delimiter(header: str) -> str:
    # G-NetTrack writes commas; a log re-saved by a spreadsheet in an Indonesian locale has
    # semicolons and decimal commas, and one saved as "Text (tab delimited)" has tabs.
    return max((",", ";", "\t"), key=header.count)


def sniff(head: str, path: Path) -> bool:
    first = head.splitlines()[0] if head else ""
    cols = [c.strip() for c in first.split(_delimiter(first))]
    return all(c in cols for c in REQUIRED) and ("NetworkMode" in cols or "RSRP" in cols or "Level" in cols)


_MISSING = pa.array(["-", "", "--", "NaN", "nan"])


def _missing(col: pa.Array) -> pa.Array:
    return pc.or_(pc.is_null(col), pc.is_in(col, value_set=_MISSING))


def _parsed(col: pa.Array) -> np.ndarray | None:
    """Floats of a text column with '-'/'' as NaN, or None when some text is not a number."""
    try:
        values = pc.cast(pc.if_else(_missing(col), pa.scalar(None, pa.string()), col), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return _unavailable_to_nan(values.to_numpy(zero_copy_only=False))


def _repaired(col: pa.Array) -> pa.Array:
    """A text column whose bytes that are not UTF-8 are replaced by U+FFFD (only called when Arrow
    found some: the fast paths never pay for it)."""
    return pa.array([None if b is None else b.decode("utf-8", errors="replace")
                     for b in col.cast(pa.binary()).to_pylist()], type=pa.string())


def _numbers(col: pa.Array, decimal_comma: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(values, broken): floats with '-'/'' as NaN; ``broken`` marks text that is not a number."""
    try:
        return _numbers_of(col, decimal_comma)
    except pa.ArrowInvalid:
        return _numbers_of(_repaired(col), decimal_comma)


def _numbers_of(col: pa.Array, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray]:
    if decimal_comma:
        col = pc.replace_substring(col, ",", ".")
    # Parsed as written first: G-NetTrack writes no spaces, and trimming costs as much as the
    # parse. Text with spaces fails that cast and is trimmed, which gives the same numbers.
    values = _parsed(col)
    if values is None:
        col = pc.utf8_trim_whitespace(col)
        values = _parsed(col)
    if values is not None:
        return values, np.zeros(len(col), dtype=bool)
    missing = _missing(col)
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
    """Text column as a categorical of its distinct words ('-' and '' are missing; bytes that are not
    UTF-8 become U+FFFD). A log has a handful of operator names or network modes whatever its
    length, and the normalisers work on distinct values: no Python string per row is made."""
    enc = pc.dictionary_encode(col.cast(pa.binary()))
    words = [None if b is None else b.decode("utf-8", errors="replace").strip()
             for b in enc.dictionary.to_pylist()]
    # Distinct words after cleaning (two spellings may differ only in spaces); -1 is missing.
    categories = sorted({w for w in words if w not in (None, "-", "")})
    position = {w: i for i, w in enumerate(categories)}
    remap = np.array([position.get(w, -1) for w in words] + [-1], dtype=np.int64)
    idx = enc.indices.to_numpy(zero_copy_only=False)
    idx = np.where(np.isnan(idx.astype(float)), len(words), idx).astype(int) if enc.indices.null_count else idx
    return pd.Series(pd.Categorical.from_codes(remap[idx], categories=categories))


def _local_times(col: pa.Array, ctx: ReadContext) -> pd.Series:
    """UTC times from G-NetTrack's local ``YYYY.MM.DD_HH.MM.SS`` (Arrow's parser: fast, NaT on error)."""
    try:
        text = pc.utf8_trim_whitespace(col.cast(pa.binary()).cast(pa.string(), safe=False))
    except pa.ArrowInvalid:  # bytes that are not UTF-8: those cells are read as text with U+FFFD
        text = pc.utf8_trim_whitespace(_repaired(col))
    naive = pc.strptime(text, format=TIME_FORMAT, unit="s", error_is_null=True)
    local = pd.Series(naive.to_pandas()).dt.tz_localize(ctx.tz, ambiguous="NaT", nonexistent="NaT")
    return local.dt.tz_convert("UTC").reset_index(drop=True)


def _hex(values: pd.Series) -> np.ndarray:
    """Hexadecimal text (LACHEX) as numbers, NaN where missing or not hexadecimal."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)

    def conv(v: object) -> float:
        try:
            return float(int(str(v), 16))
        except (TypeError, ValueError):
            return np.nan
    return np.array([conv(u) for u in uniques] + [np.nan], dtype=float)[codes]


def read(path: Path, ctx: ReadContext) -> Iterator[Batch]:
    with open(path, "rb") as fh:
        header = fh.readline().decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    delimiter = _delimiter(header)
    names = [c.strip() for c in header.split(delimiter)]
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
        read_options=pacsv.ReadOptions(skip_rows=1, column_names=names, block_size=1 << 23),
        # G-NetTrack never quotes a value: a double quote in a row (a spreadsheet's edit) is text,
        # and must not open a "value" that swallows every row up to the next quote.
        parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid,
                                         newlines_in_values=False, quote_char=False),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             check_utf8=False, strings_can_be_null=False),
    )
    session = f"gnettrack-{ctx.content_hash[:12]}"
    lines = _LineNumbers(path)
    first = True
    unused: list[str] | None = [c or f"column {i + 1}" for i, c in enumerate(names) if c not in USED]
    for record_batch in reader:
        numbers, rejects = lines.take(record_batch.num_rows, skipped)
        skipped.clear()
        if first and record_batch.num_rows > FIRST_ROWS and len(numbers) == record_batch.num_rows:
            # The first rows go out on their own: a merge starts writing them while the rest of
            # the first block is prepared, instead of waiting for the whole block.
            yield Batch(samples=_convert(record_batch.slice(0, FIRST_ROWS), numbers[:FIRST_ROWS], ctx, session,
                                         delimiter == ";"), rejects=rejects, unused_columns=unused)
            unused = None
            record_batch, numbers, rejects = record_batch.slice(FIRST_ROWS), numbers[FIRST_ROWS:], []
        first = False
        yield Batch(samples=_convert(record_batch, numbers, ctx, session, delimiter == ";"), rejects=rejects,
                    unused_columns=unused)
        unused = None
    if skipped:  # rejected rows after the last block (e.g. a truncated last line)
        _, rejects = lines.take(0, skipped)
        yield Batch(samples=pd.DataFrame(), rejects=rejects)
    lines.close()


class _LineNumbers:
    """Physical line numbers of the rows pyarrow hands over.

    pyarrow's streaming reader does not say which line a rejected row was on. While no row is
    rejected, rows are consecutive lines after the header; from the first rejected row on, a
    second handle walks the file line by line to tell valid rows from rejected ones (a cost paid
    only by files that have broken rows).
    """

    def __init__(self, path: Path):
        self.path = path
        self.next_line = 2  # line 1 is the header
        self.fh: BinaryIO | None = None

    def take(self, n_valid: int, skipped: list[tuple[int, str, str]]) -> tuple[np.ndarray, list[Reject]]:
        if not skipped and self.fh is None:
            numbers = np.arange(self.next_line, self.next_line + n_valid, dtype=np.int64)
            self.next_line += n_valid
            return numbers, []
        if self.fh is None:
            self.fh = open(self.path, "rb")
            for _ in range(self.next_line - 1):
                self.fh.readline()
        wanted = [(txt.rstrip("\r\n"), msg) for _, txt, msg in skipped]
        numbers = np.empty(n_valid, dtype=np.int64)
        rejects: list[Reject] = []
        filled = 0
        while filled < n_valid or wanted:
            raw = self.fh.readline()
            if not raw:
                break
            line_no = self.next_line
            self.next_line += 1
            if not raw.strip():
                continue  # pyarrow skips empty lines too
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if wanted and text == wanted[0][0]:
                rejects.append(Reject(line_no, text, "malformed_row",
                                      wanted.pop(0)[1] + "; the row is cut off or has extra commas"))
            elif filled < n_valid:
                numbers[filled] = line_no
                filled += 1
        for text, msg in wanted:  # not found again (should not happen): keep them, line unknown
            rejects.append(Reject(None, text, "malformed_row", msg + "; the row is cut off or has extra commas"))
        return numbers[:filled] if filled < n_valid else numbers, rejects

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()


def _convert(batch: pa.RecordBatch, lines: np.ndarray, ctx: ReadContext, session: str,
             decimal_comma: bool = False) -> pd.DataFrame:
    cols = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
    num: dict[str, np.ndarray] = {}
    broken = np.zeros(batch.num_rows, dtype=bool)
    broken_field = np.full(batch.num_rows, None, dtype=object)
    for name in NUMERIC:
        if name in cols:
            values, bad = _numbers(cols[name], decimal_comma)
            num[name] = values
            new = bad & ~broken
            broken_field[new] = name
            broken |= bad
    n = batch.num_rows
    df = pd.DataFrame({"source_line": lines})
    df["time"] = _local_times(cols["Timestamp"], ctx)
    df["lat"] = np.round(num["Latitude"], 7)
    df["lon"] = np.round(num["Longitude"], 7)
    ops = normalize.operators(_text(cols["Operatorname"]) if "Operatorname" in cols else None, n=n)
    df["operator"] = ops["operator"].array
    df["mcc"] = ops["mcc"].array
    df["mnc"] = ops["mnc"].array
    if ctx.operator:
        df["operator"] = df["operator"].where(df["operator"].notna(), ctx.operator)
    tech = normalize.techs(_text(cols["NetworkMode"])) if "NetworkMode" in cols else pd.Series([None] * n)
    df["tech"] = tech.array
    rsrp, rsrq = num.get("RSRP", np.full(n, np.nan)), num.get("RSRQ", np.full(n, np.nan))
    t = df["tech"].to_numpy(dtype=object)
    known_tech = df["tech"].notna().to_numpy()
    lte = np.isin(t, ["LTE", "NR"]) | ~known_tech  # unknown tech: LTE is what the columns mean
    umts, gsm = t == "UMTS", t == "GSM"
    df["rsrp_dbm"] = np.where(lte, rsrp, np.nan)
    df["rsrq_db"] = np.where(lte, rsrq, np.nan)
    df["rscp_dbm"] = np.where(umts, rsrp, np.nan)
    df["ecno_db"] = np.where(umts, rsrq, np.nan)
    rssi = num.get("RSSI", np.full(n, np.nan))
    df["rssi_dbm"] = np.where(gsm & np.isnan(rssi), rsrp, rssi)
    if "SNR" in num:
        df["sinr_db"] = np.where(lte, num["SNR"], np.nan)
    for column, field in COPIED.items():
        if column in num:
            df[field] = num[column]
    cell = num.get("RAWCELLID")
    if cell is None or np.isnan(cell).all():
        cell = num.get("CellID", np.full(n, np.nan))
    df["cell_id"] = cell
    if "LACHEX" in cols:
        area = _hex(_text(cols["LACHEX"]))
        df["tac"] = np.where(lte, area, np.nan)
        df["lac"] = np.where(~lte, area, np.nan)
    df["throughput_dl_kbps"] = num.get("DL_bitrate", np.full(n, np.nan))
    df["throughput_ul_kbps"] = num.get("UL_bitrate", np.full(n, np.nan))
    if "PINGAVG" in num:
        df["latency_ms"] = num["PINGAVG"]
    has_signal = ~(np.isnan(rsrp) & np.isnan(rssi))
    # A row with no network mode and no radio value at all is the phone out of service: G-NetTrack
    # keeps logging position then. It is evidence against the operator the log is about (the
    # file's operator, or --operator), so it is kept as no_service for that operator.
    silent = ~has_signal & ~known_tech
    df["service"] = normalize.choose(t == "NONE", "no_service", "in_service")
    if silent.any():
        named = df["operator"].dropna()
        log_operator = ctx.operator or (named.mode().iloc[0] if len(named) else None)
        df.loc[silent, "service"] = "no_service"
        df.loc[silent, "tech"] = "NONE"
        if log_operator is not None:
            df.loc[silent & df["operator"].isna().to_numpy(), "operator"] = log_operator
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
