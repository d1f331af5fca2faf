"""Times of the evidence: sample times as UTC epoch milliseconds, and back to text and days.

The analysis holds every time as int64 milliseconds since 1970-01-01 UTC (exact to the
millisecond, cheap to compare); layers show them as ISO 8601 UTC text, and the evidence counts
calendar days in the survey's time zone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The epoch milliseconds of a sample without a (readable) time.
NO_TIME_MS = np.iinfo(np.int64).min


def utc_ms(times: pd.Series) -> np.ndarray:
    """Sample times (zoned datetimes, or ISO 8601 text) as int64 UTC epoch milliseconds, floored;
    :data:`NO_TIME_MS` where missing or unreadable."""
    t = times
    if isinstance(t.dtype, pd.DatetimeTZDtype) and t.dtype.unit in ("ms", "us", "ns"):
        # Zoned datetimes hold UTC integers: flooring them to milliseconds is what the conversion
        # below does, without going through pandas.
        i8 = np.asarray(t.array.asi8)
        nat = i8 == NO_TIME_MS
        out = i8.copy() if t.dtype.unit == "ms" else i8 // (1000 if t.dtype.unit == "us" else 1_000_000)
        if nat.any():
            out[nat] = NO_TIME_MS
        return out
    if not isinstance(t.dtype, pd.DatetimeTZDtype):
        t = pd.to_datetime(t, utc=True, errors="coerce", format="ISO8601")
    else:
        t = t.dt.tz_convert("UTC")
    return t.astype("datetime64[ms, UTC]").astype("int64").to_numpy(dtype=np.int64, na_value=NO_TIME_MS)


def iso_utc(ms) -> np.ndarray:
    """Epoch milliseconds (float array; NaN or infinite for none) as ISO 8601 UTC text to the
    second (``2026-07-14T01:00:00Z``), None where there is no time."""
    ms = np.asarray(ms, dtype=float)
    out = np.full(len(ms), None, dtype=object)
    ok = np.isfinite(ms)
    if ok.any():
        sec = (ms[ok].astype(np.int64) // 1000).astype("datetime64[s]")
        out[ok] = np.char.add(np.datetime_as_string(sec, unit="s"), "Z").astype(object)
    return out


def local_days(t_ms: np.ndarray, tz: str) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01) in the time zone ``tz``."""
    local = pd.DatetimeIndex(pd.to_datetime(t_ms, unit="ms", utc=True)).tz_convert(tz).tz_localize(None)
    return local.asi8 // 86_400_000_000_000 if local.asi8.dtype == np.int64 and local.unit == "ns" else \
        local.as_unit("ms").asi8 // 86_400_000


def local_text(ms: np.ndarray, tz: str) -> np.ndarray:
    """Epoch milliseconds (float array) as local ``YYYY-MM-DD HH:MM`` text in ``tz``, None where
    not finite."""
    ms = np.asarray(ms, dtype=float)
    out = np.full(len(ms), None, dtype=object)
    ok = np.isfinite(ms)
    if ok.any():
        out[ok] = pd.to_datetime(ms[ok].astype(np.int64), unit="ms", utc=True).tz_convert(tz).strftime(
            "%Y-%m-%d %H:%M").to_numpy(dtype=object)
    return out
