"""Checks every sample row must pass before it is stored; failures go to quarantine with a reason.

Reason codes (stable, documented in the README):

- ``bad_time``: no timestamp, or one that cannot be read.
- ``time_out_of_range``: before 2000 or more than a day in the future (a phone with a wrong clock).
- ``lat_out_of_range`` / ``lon_out_of_range``: outside -90..90 / -180..180.
- ``null_island``: exactly 0,0, which GPS chips report before they have a fix.
- ``value_out_of_range``: a measured value outside what radios can report (e.g. RSRP +20 dBm).
- ``bad_value``: a field with a value it cannot take (text in a number field; unknown kind, test or
  environment).
- ``no_measurement``: a signal sample with no measured radio value and no state that is evidence on
  its own (no service, no network, 2G/3G only): it would count as usable 4G without evidence.

A sample without a position is not rejected: it is kept as ``no_fix`` and placed later by time
from a GPS track (``surveyor.ingest.place``), or stays unplaced and out of the maps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from surveyor.model import ENVIRONMENTS, KINDS, SERVICES, TECHS, TESTS, VALUE_RANGES

EARLIEST = pd.Timestamp("2000-01-01", tz="UTC")
UNITS = {"_dbm": "dBm", "_db": "dB", "_mbps": "Mbit/s", "_ms": "ms", "_m": "m", "_kmh": "km/h"}


def _unit(name: str) -> str:
    for suffix, unit in UNITS.items():
        if name.endswith(suffix):
            return " " + unit
    return ""


def validate(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split samples into (good, rejected). ``rejected`` has ``source_line``, ``reason``, ``message``.

    Only the first problem of a row is reported. Good rows get ``no_fix`` set where they lack a
    position, and ``kind`` defaults to ``signal``.
    """
    n = len(df)
    reason = np.full(n, None, dtype=object)
    message = np.full(n, None, dtype=object)
    flagged = np.zeros(n, dtype=bool)

    def flag(mask: np.ndarray, code: str, text) -> None:
        new = mask & ~flagged
        if new.any():
            flagged[new] = True
            reason[new] = code
            message[new] = text(new) if callable(text) else text

    if "_broken" in df.columns:
        broken = df["_broken"].to_numpy()
        flag(df["_broken"].notna().to_numpy(), "bad_value",
             lambda m: [f"{f} holds text where a number belongs" for f in broken[m]])

    now = pd.Timestamp(datetime.now(UTC) + timedelta(days=1))
    if "time" in df.columns:
        t = df["time"]
        if not isinstance(t.dtype, pd.DatetimeTZDtype):
            t = pd.to_datetime(t, utc=True, errors="coerce", format="ISO8601")
    else:
        t = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")
    tnull = t.isna().to_numpy()
    flag(tnull, "bad_time", "no timestamp, or one that cannot be read; fix the time column or use --format")
    bad_range = (~tnull) & ((t < EARLIEST) | (t > now)).fillna(False).to_numpy()
    flag(bad_range, "time_out_of_range",
         lambda m: [f"timestamp {x:%Y-%m-%d %H:%M:%S}Z is before 2000 or in the future; check the device "
                    "clock, or --tz for local times" for x in t[m]])

    lat = pd.to_numeric(df["lat"], errors="coerce") if "lat" in df.columns else pd.Series(np.nan, index=df.index)
    lon = pd.to_numeric(df["lon"], errors="coerce") if "lon" in df.columns else pd.Series(np.nan, index=df.index)
    la, lo = lat.to_numpy(dtype=float), lon.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        flag(np.abs(la) > 90, "lat_out_of_range",
             lambda m: [f"latitude {v} is outside -90..90; latitude and longitude may be swapped" for v in la[m]])
        flag(np.abs(lo) > 180, "lon_out_of_range",
             lambda m: [f"longitude {v} is outside -180..180" for v in lo[m]])
        flag((la == 0) & (lo == 0), "null_island",
             "position 0,0 is what a GPS without a fix reports, not a place; the sample needs a real position")

    for name, (low, high) in VALUE_RANGES.items():
        if name not in df.columns:
            continue
        v = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad = (v < low) | (v > high)
        flag(bad, "value_out_of_range",
             lambda m, name=name, v=v, low=low, high=high:
             [f"{name} {x:g}{_unit(name)} is outside {low:g}..{high:g}{_unit(name)}; the value is broken"
              for x in v[m]])

    for name, allowed in (("kind", KINDS), ("tech", TECHS), ("service", SERVICES), ("test", TESTS),
                          ("environment", ENVIRONMENTS)):
        if name not in df.columns:
            continue
        s = df[name]
        bad = (s.notna() & ~s.isin(allowed)).to_numpy()
        flag(bad, "bad_value",
             lambda m, name=name, s=s, allowed=allowed:
             [f"{name} {x!r} is not one of {', '.join(allowed)}" for x in s[m]])

    if len(df):
        flag(_without_measurement(df), "no_measurement",
             "a signal sample with no measured value (RSRP, RSRQ, SINR, RSSI, RSCP, Ec/Io, bars) and no "
             "no-service state is not evidence; check the column names (or --map) and the export settings")

    # A new frame either way (pandas copies on write): rows are filtered only when some failed.
    good = (df[~flagged] if flagged.any() else df).drop(columns=["_broken"], errors="ignore")
    rejected = pd.DataFrame({
        "source_line": df["source_line"].to_numpy()[flagged] if "source_line" in df.columns else None,
        "reason": reason[flagged],
        "message": message[flagged],
    })
    # Keep a no-position sample as evidence, to be placed from a GPS track later. The position
    # columns are always there (a journal of a phone that never had a fix has none).
    for c in ("lat", "lon"):
        if c not in good.columns:
            good[c] = np.nan
    gl = pd.to_numeric(good["lat"], errors="coerce") if "lat" in good.columns else pd.Series(np.nan, index=good.index)
    gn = pd.to_numeric(good["lon"], errors="coerce") if "lon" in good.columns else pd.Series(np.nan, index=good.index)
    nopos = gl.isna() | gn.isna()
    if "no_fix" in good.columns:
        good["no_fix"] = good["no_fix"].astype("boolean").fillna(False) | nopos
    else:
        good["no_fix"] = nopos
    if nopos.any():
        good.loc[nopos, ["lat", "lon"] if "lat" in good.columns and "lon" in good.columns else []] = np.nan
    if "kind" in good.columns:
        good["kind"] = good["kind"].fillna("signal")
    else:
        good["kind"] = "signal"
    good["time"] = t[~flagged]
    return good, rejected


# Radio values that measure the signal; bars (``level``) count, as a phone reports them.
RADIO_VALUES = ("rsrp_dbm", "rsrq_db", "sinr_db", "rssi_dbm", "rscp_dbm", "ecno_db", "nr_rsrp_dbm",
                "nr_rsrq_db", "nr_sinr_db", "level")
# States that are evidence without a value: no service at all, or only 2G/3G (no usable data).
EVIDENCE_STATES = {"service": ("no_service", "emergency_only"), "tech": ("NONE", "GSM", "UMTS")}


def _without_measurement(df: pd.DataFrame) -> np.ndarray:
    """Signal samples that carry neither a measured value nor a state that is evidence."""
    kind = df["kind"] if "kind" in df.columns else pd.Series(None, index=df.index, dtype=object)
    signal = (kind.isna() | (kind == "signal")).to_numpy()
    if not signal.any():
        return signal
    evidence = np.zeros(len(df), dtype=bool)
    for name in RADIO_VALUES:
        if name in df.columns:
            evidence |= pd.to_numeric(df[name], errors="coerce").notna().to_numpy()
    for name, states in EVIDENCE_STATES.items():
        if name in df.columns:
            evidence |= df[name].isin(states).to_numpy()
    return signal & ~evidence
