"""Stable identities: of a source file (its content hash) and of samples (vectorised).

``sample_id`` is a 63-bit hash of what makes a sample itself: for a sample with a device ID, the
device, the UTC time, the raw position, the operator, the kind and the measured values; for a
sample without one (G-NetTrack, Ookla, generic tables), its content alone: the time to the second,
the position rounded to :data:`POSITION_DECIMALS` (about a metre, finer than a phone's GPS and
coarser than the noise of a spreadsheet re-save), the operator, the kind and the measured values
rounded to :data:`VALUE_DECIMALS`. So the same walk arrives once whatever file or format carried it
(a re-saved, re-delimited or cut copy, or surveyor's own export). It is computed from the values
alone, with a fixed mixing function, so it is the same on every machine and every version of
pandas; two phones that walked together stay two devices.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from surveyor.model import MEASURED_FIELDS, SAMPLE_FIELDS

IDENTITY_FIELDS = ("time", "lat", "lon", "operator", "kind", "no_fix") + tuple(
    f for f in MEASURED_FIELDS if f not in ("operator", "kind"))
_MASK63 = np.uint64(0x7FFFFFFFFFFFFFFF)
_NULL_FLOAT = np.float64(-1.2345e300)  # stands for "missing" in the hash; no real value is this
POSITION_DECIMALS = 5  # 1e-5 degrees: about 1.1 m
VALUE_DECIMALS = 2
CONTENT_KEY = "content:v2"  # the key of samples without a device (no file in it: identity by content)


def file_hash(path) -> str:
    """The SHA-256 of a file's content, read in 1 MB blocks: what identifies a merged source."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the bits of 64-bit words."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _hash_strings(values: pd.Series) -> np.ndarray:
    # Factorised as they are (Arrow-backed text factorises in C++): only the few distinct values
    # are hashed in Python. Missing values (None, NaN, NA) all take the sentinel.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    digests = [int.from_bytes(hashlib.blake2b(str(u).encode("utf-8"), digest_size=8).digest(), "little")
               for u in uniques]
    table = np.array(digests + [0x5EED], dtype=np.uint64)
    return table[codes]


def _hash_column(values: pd.Series, kind: str, decimals: int | None = None, whole_seconds: bool = False
                 ) -> np.ndarray:
    if kind == "str":
        return _hash_strings(values)
    if kind == "time":
        t = pd.to_datetime(values, utc=True, errors="coerce")
        ms = t.astype("datetime64[ms, UTC]").astype("int64").to_numpy(dtype=np.int64, na_value=-1)
        if whole_seconds:
            ms = np.where(ms == -1, ms, ms // 1000 * 1000)
        return ms.view(np.uint64)
    if kind == "bool":
        return pd.array(values, dtype="boolean").to_numpy(dtype=np.float64, na_value=-1.0).view(np.uint64)
    # Numbers hash as float64 whatever their column type, so 5 and 5.0 are the same value.
    f = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if decimals is not None:
        with np.errstate(invalid="ignore", over="ignore"):
            f = np.round(f, decimals)
    f = np.where(np.isnan(f), _NULL_FLOAT, f + 0.0)  # + 0.0 turns -0.0 into 0.0
    return f.view(np.uint64)


def _decimals(name: str) -> int | None:
    return POSITION_DECIMALS if name in ("lat", "lon") else VALUE_DECIMALS


def _fold(df: pd.DataFrame, key: np.ndarray, fields: tuple[str, ...], by_content: bool) -> np.ndarray:
    h = _mix(key ^ np.uint64(0x9E3779B97F4A7C15))
    # A missing value leaves the hash as it is, so a sample read from a format with fewer columns
    # has the same identity as from one where those columns are empty.
    for i, name in enumerate(IDENTITY_FIELDS, 1):
        if name not in fields or name not in df.columns:
            continue
        present = df[name].notna().to_numpy()
        if not present.any():
            continue
        kind = SAMPLE_FIELDS[name]
        col = _hash_column(df[name], kind, _decimals(name) if by_content and kind in ("float", "int") else None,
                           whole_seconds=by_content)
        with np.errstate(over="ignore"):
            mixed = _mix(h ^ (_mix(col + np.uint64(i)) * np.uint64(0x9E3779B97F4A7C15)))
        h = np.where(present, mixed, h)
    return h


# What identifies a sample without a device: no_fix follows from the position, so it is left out.
CONTENT_FIELDS = tuple(f for f in IDENTITY_FIELDS if f != "no_fix")


def sample_ids(df: pd.DataFrame, source_key: str | None = None) -> np.ndarray:
    """63-bit identities (as int64) of the rows of a samples DataFrame.

    Rows with a ``device`` are keyed by it; rows without one by their content (see the module's
    docstring; ``source_key`` is no longer part of it and is accepted for callers that pass it).
    A row that carries a ``sample_id`` already (surveyor's own exports) keeps it.
    """
    n = len(df)
    device = df["device"] if "device" in df.columns else None
    has_device = device.notna().to_numpy() if device is not None else np.zeros(n, dtype=bool)
    content_key = _hash_strings(pd.Series([CONTENT_KEY], dtype=object))[0]
    if has_device.all() and n:
        h = _fold(df, _hash_strings(device), IDENTITY_FIELDS, False)
    elif device is None or not has_device.any():  # most app exports: one key for every row
        h = _fold(df, np.full(n, content_key, dtype=np.uint64), CONTENT_FIELDS, True)
    else:
        by_device = _fold(df, _hash_strings(device.fillna("")), IDENTITY_FIELDS, False)
        by_content = _fold(df, np.full(n, content_key, dtype=np.uint64), CONTENT_FIELDS, True)
        h = np.where(has_device, by_device, by_content)
    ids = (h & _MASK63).astype(np.int64)
    if "sample_id" in df.columns:
        try:
            given = df["sample_id"].astype("Int64").to_numpy(dtype=np.int64, na_value=-1)
        except (TypeError, ValueError):
            given = np.full(n, -1, dtype=np.int64)
        ids = np.where(given >= 0, given, ids)
    return ids

