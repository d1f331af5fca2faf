"""Vectorised helpers readers share: operators, technologies, local times, numbers.

Each maps the *distinct* values of a column through the scalar rule of :mod:`surveyor.model`, so a
million rows with a handful of operator names cost a handful of calls.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from surveyor.model import normalize_operator, normalize_tech

# Android's CellInfo getters return Integer.MAX_VALUE (CellInfo.UNAVAILABLE) for "unknown";
# apps such as G-NetTrack write it through. It is missing, not a measurement.
ANDROID_UNAVAILABLE = (2147483647.0, -2147483648.0)

MISSING_TOKENS = ("", "-", "--", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")


def map_distinct(values: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` to each distinct value only (nulls stay null)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def operators(names: pd.Series | None = None, mcc: pd.Series | None = None,
              mnc: pd.Series | None = None, n: int | None = None) -> pd.DataFrame:
    """Columns ``operator``, ``mcc``, ``mnc`` from names and/or MCC/MNC columns."""
    length = n if n is not None else len(next(s for s in (names, mcc, mnc) if s is not None))
    index = next((s.index for s in (names, mcc, mnc) if s is not None), pd.RangeIndex(length))
    parts = {k: (v.astype(object).where(v.notna(), None) if v is not None else pd.Series([None] * length, index=index,
                                                                                        dtype=object))
             for k, v in (("name", names), ("mcc", mcc), ("mnc", mnc))}
    key = pd.Series(list(zip(parts["name"], parts["mcc"], parts["mnc"])), index=index, dtype=object)
    codes, uniques = pd.factorize(key)
    ops = [normalize_operator(*u) for u in uniques]
    out = pd.DataFrame(index=index)
    out["operator"] = np.array([o.name for o in ops], dtype=object)[codes] if len(ops) else None
    out["mcc"] = pd.array(np.array([o.mcc for o in ops], dtype=object)[codes] if len(ops) else [None] * length,
                          dtype="Int64")
    out["mnc"] = pd.array(np.array([o.mnc for o in ops], dtype=object)[codes] if len(ops) else [None] * length,
                          dtype="Int64")
    return out


def techs(values: pd.Series) -> pd.Series:
    return map_distinct(values, normalize_tech)


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
