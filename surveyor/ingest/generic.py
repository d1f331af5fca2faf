"""Generic tables: CSV/TSV whose columns carry surveyor's field names, or are mapped with ``--map``.

What people hand over from a spreadsheet: comma, semicolon or tab delimited; a UTF-8 byte-order
mark and Windows line ends from Excel; decimal commas where the delimiter is a semicolon. Column
names are matched case-insensitively against :data:`surveyor.model.SAMPLE_FIELDS` (plus a few
common spellings such as ``latitude``), and ``--map COLUMN=FIELD`` names the others.

The reader is ``generic=True`` so every specific format is tried first, and it claims a file only
when it recognises at least a time column plus a position or one measured value: a random CSV is
not silently imported as empty samples.

This module also holds the chunking the other table readers share (:func:`record_chunks`); lines
and records are read by :mod:`surveyor.ingest.text`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from surveyor.errors import InputError
from surveyor.ingest.base import Batch, ReadContext, Reader, Reject
from surveyor.ingest.normalize import MISSING_TOKENS, local_to_utc, operators, techs
from surveyor.ingest.text import csv_records, open_text
from surveyor.model import MEASURED_FIELDS, SAMPLE_FIELDS

# Spellings people use for the canonical fields. Only unambiguous ones: a column called "signal"
# could be RSRP, RSSI or bars, so it needs --map.
ALIASES: dict[str, str] = {
    "latitude": "lat", "lng": "lon", "long": "lon", "longitude": "lon",
    "timestamp": "time", "datetime": "time", "date_time": "time", "time_utc": "time",
    "time_of_day": "time",
    "accuracy": "accuracy_m", "altitude": "altitude_m", "rsrp": "rsrp_dbm", "rsrq": "rsrq_db",
    "sinr": "sinr_db", "rssi": "rssi_dbm", "rscp": "rscp_dbm", "ecno": "ecno_db",
    "download": "download_mbps", "upload": "upload_mbps", "latency": "latency_ms", "ping_ms": "latency_ms",
}
# Columns that hold the date alone, beside a column of the time of day (a spreadsheet's habit);
# ``--map Date=date`` names one in other words.
DATE_COLUMNS = ("date", "tanggal", "tgl")
# Pseudo-fields a column may be mapped to besides the sample fields.
EXTRA_FIELDS = ("date", "sample_id")
DELIMITERS = (",", ";", "\t", "|")
_MISSING = {t.lower() for t in MISSING_TOKENS} | {"n/a", "na", "#n/a", "none", "null", "nil", "-"}
_TIME_ONLY = re.compile(r"^\s*\d{1,2}[:.]\d{2}([:.]\d{2}([.,]\d+)?)?\s*$")
_SLASH_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})\b")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+\s*$")
_ZONE_SUFFIX = re.compile(r"(?:Z|[+-]\d\d:?\d\d)\s*$")


# ---------------------------------------------------------------------------------------------
# Chunks of records, shared by the table readers


def record_chunks(records: Iterator[tuple[int, str, list[str] | None]], width: int, chunk_rows: int,
                  reject_wide: Callable[[int, str, list[str] | None], Reject],
                  boundary: Callable[[list[str]], object] | None = None
                  ) -> Iterator[tuple[list[list[str]], list[int], list[str], list[Reject]]]:
    """Records of a table in chunks of about ``chunk_rows``: ``(rows, lines, raws, rejects)``.

    A record with more non-empty fields than the header (or no fields: a record that could not be
    put together) is set aside as ``reject_wide(line, raw, fields)``, in the chunk it arrived in.
    With ``boundary``, a chunk is cut only where ``boundary(fields)`` changes (rows that belong
    together stay in one chunk).
    """
    rows: list[list[str]] = []
    lines: list[int] = []
    raws: list[str] = []
    rejects: list[Reject] = []
    last = None
    for line_no, raw, fields in records:
        if fields is None or (len(fields) > width and any(f.strip() for f in fields[width:])):
            rejects.append(reject_wide(line_no, raw, fields))
            continue
        key = boundary(fields) if boundary is not None else None
        if len(rows) >= chunk_rows and (boundary is None or key != last):
            yield rows, lines, raws, rejects
            rows, lines, raws, rejects = [], [], [], []
        last = key
        rows.append(fields)
        lines.append(line_no)
        raws.append(raw)
    if rows or rejects:
        yield rows, lines, raws, rejects


def first_line(head: str) -> str:
    """The first non-blank line of a file's head (the header row of a table)."""
    for line in head.splitlines():
        if line.strip():
            return line
    return ""


def split_header(line: str, delimiter: str) -> list[str]:
    try:
        return [c.strip() for c in next(csv.reader([line], delimiter=delimiter))]
    except (StopIteration, csv.Error):
        return []


def missing(values: pd.Series) -> pd.Series:
    """True where a text cell says "no value" ('', '-', 'NA', 'n/a', ...), in any case."""
    s = values.astype(object).where(values.notna(), "")
    return s.astype(str).str.strip().str.lower().isin(_MISSING)


def broken_numbers(values: pd.Series, parsed: pd.Series) -> np.ndarray:
    """True where a cell holds text that is neither a number nor a "no value" word (``abc``):
    such a row is quarantined as ``bad_value``, never read as missing."""
    failed = parsed.isna().to_numpy()
    if not failed.any():
        return failed
    out = np.zeros(len(values), dtype=bool)
    idx = np.flatnonzero(failed)
    out[idx] = ~missing(values.iloc[idx]).to_numpy()
    return out


def to_numbers(values: pd.Series) -> pd.Series:
    """Floats from text; a column written with decimal commas (``-7,437``) is read as such.

    The fast path parses the column as it is; only cells that fail are looked at again (trimmed,
    missing tokens, decimal commas). The decimal-comma decision is per column, not per cell, and
    only replaces the comma: thousands separators do not occur in coordinates and signal values,
    and stripping dots would break dot-decimal cells.
    """
    s = values.astype(object).where(values.notna(), "")
    out = pd.to_numeric(s, errors="coerce").astype(float)
    failed = out.isna().to_numpy() & (s != "").to_numpy()
    if failed.any():
        rest = s[failed].astype(str).str.strip()
        rest = rest.where(~rest.str.lower().isin(_MISSING), "")
        if rest.str.match(_DECIMAL_COMMA).any():
            rest = rest.str.replace(",", ".", regex=False)
        out[failed] = pd.to_numeric(rest.where(rest != ""), errors="coerce").astype(float)
    return out


class DateOrder:
    """Whether slash dates (``04/05/2024``) are day-first or month-first, decided once per file.

    ``order`` is ``"dmy"`` or ``"mdy"`` when given (``--date-order``) or seen in the data (a first
    number above 12 is a day, a second one above 12 is a day); while every date seen could be
    either, there is no decision and :meth:`decide` refuses the file rather than guess.
    """

    def __init__(self, order: str | None = None, source: str = "") -> None:
        self.order = order
        self.given = order is not None
        self.source = source

    def decide(self, texts: pd.Series) -> bool | None:
        """``dayfirst`` for these texts (None when they hold no slash dates)."""
        m = texts.str.extract(_SLASH_DATE)
        m = m.dropna()
        if not len(m):
            return None
        a, b = m[0].astype(int), m[1].astype(int)
        day_first, month_first = bool((a > 12).any()), bool((b > 12).any())
        if not self.given:
            if day_first and month_first:
                raise InputError(
                    "its dates are written both day-first (e.g. 25/04) and month-first (e.g. 04/25).",
                    path=self.source, fix="Write the dates one way, best as ISO 8601 (2024-04-25 10:47:00).")
            seen = "dmy" if day_first else "mdy" if month_first else None
            if seen and self.order and seen != self.order:
                raise InputError(
                    f"its dates change from {self.order.upper()} to {seen.upper()} order part-way through.",
                    path=self.source, fix="Write the dates one way, best as ISO 8601 (2024-04-25 10:47:00).")
            self.order = self.order or seen
            if self.order is None:
                example = texts[m.index[0]]
                raise InputError(
                    f"its dates (e.g. {example!r}) could be day-first or month-first, and no date in it "
                    "decides which.", path=self.source,
                    fix="Say which with --date-order dmy (25/04/2024) or --date-order mdy (04/25/2024), "
                        "or write the dates as ISO 8601 (2024-04-25 10:47:00).")
        return self.order == "dmy"


def parse_times(values: pd.Series, tz, order: DateOrder | None = None) -> pd.Series:
    """UTC timestamps from ISO 8601 text (with zone: as written; without: local in ``tz``),
    slash dates in the order ``order`` decides (day-first when no decider is given), or Unix
    seconds/milliseconds. A time of day without a date is not a timestamp. Unreadable -> NaT."""
    s = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    s = s.where(~s.str.match(_TIME_ONLY), "")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    numeric = pd.to_numeric(s.str.replace(",", ".", regex=False), errors="coerce")
    is_num = numeric.notna() & s.str.match(r"^\d{9,13}([.,]\d+)?$")
    if is_num.any():
        ms = numeric[is_num].where(numeric[is_num] > 1e11, numeric[is_num] * 1000.0)
        out[is_num] = pd.to_datetime(ms, unit="ms", utc=True, errors="coerce")
    text = ~is_num & (s != "")
    zoned = text & s.str.contains(_ZONE_SUFFIX)
    if zoned.any():
        out[zoned] = pd.to_datetime(s[zoned], utc=True, errors="coerce", format="ISO8601")
    naive = text & ~zoned
    if naive.any():
        iso = local_to_utc(s[naive], tz, fmt="ISO8601")
        rest = iso.isna()
        if rest.any():
            # Spreadsheets in Indonesia (and most of the world) write 27/04/2024 10:47; American
            # ones 04/27/2024. Which one is decided from the file, never guessed.
            texts = s[naive][rest]
            dayfirst = order.decide(texts) if order is not None else True
            parsed = pd.to_datetime(texts, errors="coerce", dayfirst=bool(dayfirst), format="mixed")
            iso[rest] = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
        out[naive] = iso
    return out


def to_bools(values: pd.Series) -> pd.Series:
    s = values.astype(object).where(values.notna(), "").astype(str).str.strip().str.lower()
    mapping = {"true": True, "1": True, "yes": True, "y": True, "ya": True,
               "false": False, "0": False, "no": False, "n": False, "tidak": False}
    return s.map(mapping).astype("boolean")


# ---------------------------------------------------------------------------------------------
# The generic reader


def _canonical(column: str) -> str | None:
    key = column.strip().lower().replace(" ", "_")
    if key in SAMPLE_FIELDS or key == "sample_id":
        return key
    if key in DATE_COLUMNS:
        return "date"
    return ALIASES.get(key)


def _known(field: str) -> bool:
    return field in SAMPLE_FIELDS or field in EXTRA_FIELDS


def resolve_columns(header: list[str], mapping: dict[str, str] | None = None) -> dict[int, str]:
    """Column index -> sample field, from ``--map`` first, then canonical names and aliases.

    ``mapping`` keys match column names case-insensitively. A field is taken by the first column
    that claims it, so a mapped column wins over a same-named one.
    """
    mapping = {k.strip().lower(): v for k, v in (mapping or {}).items()}
    out: dict[int, str] = {}
    taken: set[str] = set()
    for i, name in enumerate(header):
        field = mapping.get(name.strip().lower())
        if field and _known(field) and field not in taken:
            out[i] = field
            taken.add(field)
    for i, name in enumerate(header):
        if i in out:
            continue
        field = _canonical(name)
        if field and field not in taken:
            out[i] = field
            taken.add(field)
    return out


def _whole(text: object) -> int | None:
    t = str(text).strip()
    if t.isdigit() and len(t) <= 19 and int(t) < 2**63:
        return int(t)
    return None


def unused_columns(header: list[str], columns: dict[int, str]) -> list[str]:
    """The header's columns that no field takes (told to the user, so nothing vanishes unseen)."""
    return [h.strip() or f"column {i + 1}" for i, h in enumerate(header) if i not in columns]


def enough_columns(fields: set[str]) -> bool:
    """A table is usable when it has a time (or a date) and either a position or a measured value."""
    measured = set(MEASURED_FIELDS) - {"service", "tech", "test", "cell_id", "pci"}
    return bool({"time", "date"} & fields) and ({"lat", "lon"} <= fields or bool(fields & measured))


def best_delimiter(line: str, mapping: dict[str, str] | None = None) -> tuple[str, dict[int, str]]:
    """The delimiter under which the header line yields the most recognised columns."""
    best: tuple[str, dict[int, str]] = (",", {})
    for d in DELIMITERS:
        cols = resolve_columns(split_header(line, d), mapping)
        if len(cols) > len(best[1]):
            best = (d, cols)
    return best


def claims(head: str, mapping: dict[str, str] | None = None) -> bool:
    """Whether the generic reader should take a file, knowing the user's ``--map`` (if any)."""
    _, cols = best_delimiter(first_line(head), mapping)
    return enough_columns(set(cols.values()))


def sniff(head: str, path: Path) -> bool:
    return claims(head)


def frame_from_rows(rows: list[list[str]], columns: dict[int, str], tz, ctx: ReadContext,
                    order: DateOrder | None = None) -> pd.DataFrame:
    """Typed sample columns from raw text cells (pure: no I/O).

    A cell of a number field holding text (``abc``) leaves the row's ``_broken`` naming the field
    (validation quarantines it as ``bad_value``); a ``date`` column is joined to the ``time`` of day.
    """
    n = len(rows)
    width = max(columns) + 1 if columns else 0
    padded = [r + [""] * (width - len(r)) if len(r) < width else r for r in rows]
    raw = {field: pd.Series([r[i] for r in padded], dtype=object) for i, field in columns.items()}
    if "date" in raw:
        date = raw.pop("date").astype(str).str.strip()
        raw["time"] = (date + " " + raw["time"].astype(str).str.strip()).str.strip() if "time" in raw else date
    df = pd.DataFrame(index=pd.RangeIndex(n))
    broken = np.full(n, None, dtype=object)
    for field, values in raw.items():
        if field == "sample_id":  # surveyor's own export: exact 63-bit integers, never through floats
            df[field] = pd.array([_whole(v) for v in values], dtype="Int64")
            continue
        kind = SAMPLE_FIELDS[field]
        if kind in ("float", "int"):
            numbers = to_numbers(values)
            bad = broken_numbers(values, numbers) & pd.isna(broken)
            broken[bad] = field
        if kind == "time":
            df[field] = parse_times(values, tz, order)
        elif kind == "float":
            df[field] = numbers
        elif kind == "int":
            df[field] = numbers.where(numbers.abs() < 2**53).round().astype("Int64")
        elif kind == "bool":
            df[field] = to_bools(values)
        else:
            s = values.astype(str).str.strip()
            df[field] = s.where(~missing(s), None).astype(object)
    if "tech" in df.columns:
        df["tech"] = techs(df["tech"])
    if {"operator", "mcc", "mnc"} & set(df.columns):
        ops = operators(df.get("operator"), df.get("mcc"), df.get("mnc"), n=n)
        for c in ("operator", "mcc", "mnc"):
            if c in df.columns or ops[c].notna().any():
                df[c] = ops[c]
    for field, value in (("operator", ctx.operator), ("volunteer", ctx.volunteer), ("device", ctx.device)):
        if value:
            df[field] = df[field].fillna(value) if field in df.columns else value
    if "kind" not in df.columns:
        df["kind"] = np.where(df.get("download_mbps", pd.Series(np.nan, index=df.index)).notna()
                              | df.get("upload_mbps", pd.Series(np.nan, index=df.index)).notna(),
                              "speed", "signal")
    else:
        df["kind"] = df["kind"].fillna("signal")
    # A signal log without GPS has no position columns: its rows are no-fix samples, placed later
    # from a GPS track by time. The position columns are always there, empty when unknown.
    for c in ("lat", "lon"):
        if c not in df.columns:
            df[c] = np.nan
    no_pos = df["lat"].isna() | df["lon"].isna()
    df["no_fix"] = (df["no_fix"].fillna(False) | no_pos) if "no_fix" in df.columns else no_pos
    if pd.notna(broken).any():
        df["_broken"] = broken
    return df


def _read(path: Path, ctx: ReadContext) -> Iterator[Batch]:
    with open_text(path) as fh:
        header_line = ""
        for header_line in fh:
            if header_line.strip():
                break
    delimiter, columns = best_delimiter(header_line.rstrip("\r\n"), ctx.mapping)
    if not enough_columns(set(columns.values())):
        found = ", ".join(split_header(header_line.rstrip("\r\n"), delimiter)[:12])
        raise InputError(
            f"the table's columns ({found}) do not give a time and a position or a measured value.",
            path=ctx.source_file, line=1,
            fix="Name the columns like surveyor's fields (time, lat, lon, rsrp_dbm, ...) or map them: "
                "--map Waktu=time --map Lintang=lat --map Bujur=lon --map Sinyal=rsrp_dbm.")
    records = csv_records(path, delimiter=delimiter)
    header = split_header(header_line.rstrip("\r\n"), delimiter)
    width = len(header)
    unused: list[str] | None = unused_columns(header, columns)
    order = DateOrder(ctx.date_order, ctx.source_file)
    next(records, None)  # the header

    def wide(line_no: int, raw: str, fields: list[str] | None) -> Reject:
        if fields is None:
            return Reject(line_no, raw, "malformed_row",
                          "a double quote opens a value that does not close on this row, and the row "
                          f"does not have the header's {width} fields without it; fix the quote (write \"\" "
                          "for a quote inside a quoted value).")
        return Reject(line_no, raw, "wrong_column_count",
                      f"row has {len(fields)} fields, the header has {width}; "
                      "check for an unquoted delimiter inside a value.")

    for rows, lines, raws, rejects in record_chunks(records, width, ctx.chunk_rows, wide):
        df = frame_from_rows(rows, columns, ctx.tz, ctx, order)
        bad_time = df["time"].isna().to_numpy()
        out_rejects = list(rejects)
        time_cols = [k for k, f in columns.items() if f in ("date", "time")]
        for i in np.flatnonzero(bad_time):
            value = " ".join(rows[i][k] for k in time_cols if k < len(rows[i]))
            out_rejects.append(Reject(lines[i], raws[i], "bad_time",
                                      f"time {value!r} is not a date and time surveyor can read; write ISO 8601 "
                                      "(2024-05-01T09:30:00+07:00), give --tz for local times, or map a separate "
                                      "date column with --map COLUMN=date."))
        df["source_line"] = np.asarray(lines, dtype=np.int64)
        yield Batch(samples=df[~bad_time].reset_index(drop=True), rejects=out_rejects, unused_columns=unused)
        unused = None  # said once per file


READER = Reader(
    name="generic",
    description="CSV/TSV with surveyor's field names (time, lat, lon, rsrp_dbm, ...) or --map COLUMN=FIELD",
    sniff=sniff,
    read=_read,
    generic=True,
)
