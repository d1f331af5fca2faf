"""Vectorised helpers readers share: operators, technologies, local times, numbers.

Each maps the *distinct* values of a column through the scalar rule of :mod:`surveyor.model`, so a
million rows with a handful of operator names cost a handful of calls.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa

from surveyor.model import normalize_operator, normalize_tech

# Android's CellInfo getters return Integer.MAX_VALUE (CellInfo.UNAVAILABLE) for "unknown";
# apps such as G-NetTrack write it through. It is missing, not a measurement.
ANDROID_UNAVAILABLE = (2147483647.0, -2147483648.0)

MISSING_TOKENS = ("", "-", "--", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")


def text_array(values: pa.Array):
    """Arrow text as a pandas column. pandas 3 keeps text in Arrow, so this costs no Python object
    per row; older pandas get a plain object array."""
    try:
        return pd.array(values, dtype="str")
    except (TypeError, ValueError):
        return values.to_numpy(zero_copy_only=False)


def text_from_codes(words: list, codes: np.ndarray):
    """``words[code]`` for every code (-1 is missing) as a text column: a handful of distinct
    words spread over a batch without a Python object per row."""
    table = pa.array(list(words) + [None], type=pa.string())
    return text_array(table.take(pa.array(np.where(codes < 0, len(words), codes))))


def choose(mask: np.ndarray, yes: str | None, no: str | None):
    """Text column: ``yes`` where ``mask``, else ``no`` (either may be None for missing)."""
    return text_from_codes([no, yes], np.asarray(mask, dtype=np.int64))


def operators(names: pd.Series | None = None, mcc: pd.Series | None = None,
              mnc: pd.Series | None = None, n: int | None = None) -> pd.DataFrame:
    """Columns ``operator``, ``mcc``, ``mnc`` from names and/or MCC/MNC columns."""
    length = n if n is not None else len(next(s for s in (names, mcc, mnc) if s is not None))
    index = next((s.index for s in (names, mcc, mnc) if s is not None), pd.RangeIndex(length))
    # Factorise each column on its own and combine the codes: a handful of distinct operators per
    # file, whatever its length, so the scalar rule runs a handful of times.
    combined = np.zeros(length, dtype=np.int64)
    columns: list[tuple[np.ndarray, np.ndarray]] = []  # (codes, their values)
    for values in (names, mcc, mnc):
        if values is None:
            columns.append((np.full(length, -1, dtype=np.int64), np.array([], dtype=object)))
            continue
        c, u = pd.factorize(values, use_na_sentinel=True)
        columns.append((c.astype(np.int64), np.asarray(u, dtype=object)))
        combined = combined * (len(u) + 1) + (c + 1)
    _keys, reps, codes = np.unique(combined, return_index=True, return_inverse=True)
    ops = [normalize_operator(*(None if cc[r] < 0 else uu[cc[r]] for cc, uu in columns)) for r in reps]
    out = pd.DataFrame(index=index)
    out["operator"] = text_from_codes([o.name for o in ops] or [None], codes)
    for field in ("mcc", "mnc"):
        table = np.array([np.nan if getattr(o, field) is None else getattr(o, field) for o in ops] or [np.nan])
        values = table[codes]
        out[field] = pd.array(np.where(np.isnan(values), 0, values).astype(np.int64), dtype="Int64")
        out.loc[np.isnan(values), field] = pd.NA
    return out


def techs(values: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return pd.Series(text_from_codes([normalize_tech(u) for u in uniques], codes), index=values.index)


def local_to_utc(values: pd.Series, tz: ZoneInfo, fmt: str | None = None) -> pd.Series:
    """Parse naive local timestamps in ``tz`` and return UTC; unparseable or non-existent -> NaT."""
    parsed = pd.to_datetime(values, format=fmt, errors="coerce")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_convert("UTC")
    localized = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return localized.dt.tz_convert("UTC")


def numbers(values: pd.Series, decimal_comma: bool = False) -> pd.Series:
    """Floats from text with '-' and friends as missing; optional decimal comma."""
    s = values
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        s = s.astype(str).str.strip()
        s = s.where(~s.isin(MISSING_TOKENS))
        if decimal_comma:
            s = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return pd.to_numeric(s, errors="coerce")


def whole(values) -> pd.Series:
    """Whole numbers (nullable Int64) from numbers: a fraction is rounded; a value that is not finite
    or beyond 2**53 (no identifier or measurement is) becomes missing, never an overflow."""
    f = pd.to_numeric(pd.Series(values), errors="coerce").astype("float64")
    return f.where(f.abs() < 2.0 ** 53).round().astype("Int64")
