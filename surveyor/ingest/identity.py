"""Stable identities: of a source file (its content hash) and of samples (vectorised).

``sample_id`` is a 63-bit hash of what makes a sample itself (DESIGN section 3): the device (or,
for formats without one, the source file's content hash), the UTC time, the raw position, the
operator, the kind and the measured values. It is computed from the values alone, with a fixed
mixing function, so it is the same on every machine and every version of pandas: merging the same
file twice adds nothing, and two phones that walked together stay two devices.
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


def _hash_column(values: pd.Series, kind: str) -> np.ndarray:
    if kind == "str":
        return _hash_strings(values)
    if kind == "time":
        t = pd.to_datetime(values, utc=True, errors="coerce")
        ms = t.astype("datetime64[ms, UTC]").astype("int64").to_numpy(dtype=np.int64, na_value=-1)
        return ms.view(np.uint64)
    if kind == "bool":
        return pd.array(values, dtype="boolean").to_numpy(dtype=np.float64, na_value=-1.0).view(np.uint64)
    # Numbers hash as float64 whatever their column type, so 5 and 5.0 are the same value.
    f = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    f = np.where(np.isnan(f), _NULL_FLOAT, f + 0.0)  # + 0.0 turns -0.0 into 0.0
    return f.view(np.uint64)


def sample_ids(df: pd.DataFrame, source_key: str) -> np.ndarray:
    """63-bit identities (as int64) of the rows of a samples DataFrame.

    ``source_key`` is used for rows without a ``device``: the content hash of their source file.
    """
    n = len(df)
    device = df["device"] if "device" in df.columns else None
    if device is not None and device.notna().any():
        key = _hash_strings(device.fillna("file:" + source_key))
    else:  # every row has the file's key (most app exports): hashed once, not once a row
        key = np.full(n, _hash_strings(pd.Series(["file:" + source_key], dtype=object))[0], dtype=np.uint64)
    h = _mix(key ^ np.uint64(0x9E3779B97F4A7C15))
    # A missing value leaves the hash as it is, so a sample read from a format with fewer columns
    # has the same identity as from one where those columns are empty.
    for i, name in enumerate(IDENTITY_FIELDS, 1):
        if name not in df.columns:
            continue
        present = df[name].notna().to_numpy()
        if not present.any():
            continue
        col = _hash_column(df[name], SAMPLE_FIELDS[name])
        with np.errstate(over="ignore"):
            mixed = _mix(h ^ (_mix(col + np.uint64(i)) * np.uint64(0x9E3779B97F4A7C15)))
        h = np.where(present, mixed, h)
    return (h & _MASK63).astype(np.int64)

