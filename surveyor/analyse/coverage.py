"""Coverage per H3 cell and operator, and dead zones (DESIGN section 4).

Everything here is a pure function of DataFrames, so it tests without a database:

- :func:`prepare_evidence` filters samples (unplaced, exclusion zones, indoor, GPS accuracy, other
  operators), answers the 4G question per sample, marks the *effective* samples and assigns cells.
- :func:`compute_cells` judges every cell and operator (the ``cells`` layer of docs/layers.md).
- :func:`dead_zones` merges adjacent dead cells of one operator into zones with their evidence.

The rules and thresholds all come from :class:`surveyor.config.Settings` (``survey.toml``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from surveyor.geo import cells as grid
from surveyor.analyse.rules import NEGATIVE_REASONS, negative_reasons, speed_failed
from surveyor.analyse.stats import clopper_pearson, grouped_quantiles
from surveyor.config import Settings

log = logging.getLogger(__name__)

STATUSES = ("dead", "marginal", "covered", "insufficient", "not_surveyed")

# Columns of the samples layer the analysis reads.
SAMPLE_COLUMNS = ["time", "lat", "lon", "accuracy_m", "altitude_m", "environment", "device", "session",
                  "kind", "operator", "tech", "service", "rsrp_dbm", "nr_rsrp_dbm", "rscp_dbm", "rssi_dbm",
                  "level", "download_mbps", "upload_mbps", "test", "h3_10", "source_file"]

# Column order of the `cells` layer (docs/layers.md), then the extra columns this module adds.
CELL_COLUMNS = [
    "h3", "resolution", "operator", "area_code", "status", "samples_raw", "samples_effective",
    "negatives_effective", "share_negative", "lower_95", "upper_95", "share_no_service", "share_2g3g",
    "sessions", "devices", "days", "first_seen", "last_seen", "time_spread_h", "rsrp_p20_dbm",
    "rsrp_median_dbm", "rsrp_p80_dbm", "signal_metric", "tech_main", "unknown_accuracy_share",
    "speed_tests", "speed_failed", "download_median_mbps", "upload_median_mbps", "weak_signal", "dusun",
    "outside_area", "needs", "lat", "lon",
    # extras
    "enough_evidence", "dead_by", "speed_passed", "speed_failed_sessions", "altitude_median_m",
]

ZONE_COLUMNS = [
    "zone_id", "operator", "cells", "area_km2", "centroid_lat", "centroid_lon", "dusun",
    "samples_effective", "samples_raw", "negatives_effective", "share_negative", "lower_95", "upper_95",
    "share_no_service", "share_2g3g", "sessions", "devices", "days", "first_seen", "last_seen",
    "rsrp_median_dbm", "speed_tests", "speed_failed", "nearest_signal_m", "nearest_signal_bearing_deg",
    "nearest_signal_direction", "nearest_tower_m", "nearest_tower_bearing_deg", "nearest_tower_direction",
    "area_code",
    # extras
    "h3_cells", "resolution",
]

_TECHS = ("NR", "LTE", "UMTS", "GSM", "NONE")
_MS_PER_H = 3_600_000.0


_SIGNAL_COLUMNS = ("cell", "op", "operator", "session", "device", "t_ms", "lat", "lon", "reason_code", "tech_code",
                   "rsrp", "rscp", "rssi", "accuracy_unknown", "altitude_m", "negative", "effective")
_SPEED_COLUMNS = ("cell", "op", "operator", "session", "t_ms", "failed", "download_mbps", "upload_mbps")


@dataclass
class Evidence:
    """Samples ready to be counted, one frame for signal (and manual) samples, one for speed tests.

    ``signal`` columns: ``cell`` (uint64), ``op`` (index into settings.operators), ``operator``,
    ``session`` and ``device`` (integer codes; -1 unknown device), ``t_ms`` (UTC epoch
    milliseconds), ``lat``, ``lon``, ``reason_code`` (index into :data:`REASON_CODES`; 0 = not
    negative), ``negative``, ``effective``, ``tech_code`` (index into NR, LTE, UMTS, GSM, NONE; -1
    unknown), ``rsrp``/``rscp``/``rssi`` (dBm; ``rsrp`` is the better of LTE and NR),
    ``accuracy_unknown``, ``altitude_m``. ``speed`` columns: ``cell``, ``op``, ``operator``,
    ``session``, ``t_ms``, ``failed``, ``download_mbps``, ``upload_mbps``. ``left_out`` counts samples left out per
    reason; ``other_operators`` counts samples of operators that are not analysed.

    The columns are held as numpy arrays (``sig`` and ``sp``, without ``operator``), which is what
    the analysis itself reads; the ``signal`` and ``speed`` DataFrames are built from them on
    first use.
    """

    sig: dict
    sp: dict
    resolution: int
    operators: tuple = ()
    samples_read: int = 0
    left_out: dict[str, int] = field(default_factory=dict)
    other_operators: dict[str, int] = field(default_factory=dict)

    def _frame(self, arrays: dict, columns) -> pd.DataFrame:
        ops = list(self.operators)
        op = arrays["op"]
        data = {c: (pd.Categorical.from_codes(op, categories=ops) if ops else pd.Categorical([None] * len(op)))
                if c == "operator" else arrays[c] for c in columns}
        return pd.DataFrame(data)

    @property
    def signal(self) -> pd.DataFrame:
        if "_signal" not in self.__dict__:
            self.__dict__["_signal"] = self._frame(self.sig, _SIGNAL_COLUMNS)
        return self.__dict__["_signal"]

    @property
    def speed(self) -> pd.DataFrame:
        if "_speed" not in self.__dict__:
            self.__dict__["_speed"] = self._frame(self.sp, _SPEED_COLUMNS)
        return self.__dict__["_speed"]


# ---------------------------------------------------------------------------------------------
# Effective samples


def _chain_inputs(group, t_ms, lat, lon):
    """The effective-sample rules' inputs as arrays, with each group's first and end index."""
    group = np.asarray(group, dtype=np.int64)
    t = np.asarray(t_ms, dtype=np.int64)
    la = np.asarray(lat, dtype=float)
    lo = np.asarray(lon, dtype=float)
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1]))) if len(t) else np.zeros(0, int)
    ends = np.append(starts[1:], len(t))
    return group, t, la, lo, starts, ends


def effective_mask(group, t_ms, lat, lon, *, min_gap_s: float = 10.0, min_distance_m: float = 20.0,
                   rounds: int = 8, dense_factor: float = 120.0) -> np.ndarray:
    """Which samples count as *effective*: within a group (one session and operator), a sample
    counts when it is at least ``min_gap_s`` seconds AND ``min_distance_m`` metres (haversine) from
    the last counted one; the first sample of each group counts.

    The input must be sorted by group, then time. Samples of one walk are not independent, so this
    thinning is what the evidence thresholds count (DESIGN section 4).

    Parameters
    ----------
    group
        Integer group code per sample (sorted ascending).
    t_ms
        int64 UTC milliseconds (ascending within a group).
    lat, lon
        WGS84 degrees.
    min_gap_s, min_distance_m
        The two spacing rules.
    rounds
        Vectorised look-ahead steps of the dense method before it falls back to a scan (a tuning
        knob only).
    dense_factor
        When the remaining chain steps times this exceed the remaining samples (few, long
        groups), the rest is done by the dense method (a tuning knob only; 0 never switches,
        ``inf`` switches at once).

    Returns
    -------
    numpy.ndarray of bool

    Notes
    -----
    The rule is sequential, but the groups are independent, so the chain is followed in all
    groups at once: one step takes the last counted sample of every group, finds the first
    sample at least ``min_gap_s`` later by binary search, and tests the distance on a small
    window of the samples from there (a window that doubles while nothing in it is far enough,
    so standing still for an hour costs a few steps). Only the counted samples and the few
    after each are ever looked at, not every sample. When few long groups are left (a day in one
    session), the number of steps would grow with their length, so they are finished by
    :func:`_effective_dense`, which computes the next candidate of every sample at once.
    """
    group, t, la, lo, starts, ends = _chain_inputs(group, t_ms, lat, lon)
    n = len(t)
    eff = np.zeros(n, dtype=bool)
    if n == 0:
        return eff
    from surveyor.geo.distance import EARTH_RADIUS_M

    gap_ms = int(round(min_gap_s * 1000))
    # Integer keys keep the time rule exact to the millisecond (10.000 s counts, 9.999 s does not);
    # a group's key range is wider than its times plus the gap, so a search never leaves it early.
    t0 = int(t.min())
    span = int(t.max()) - t0 + max(gap_ms, 0) + 1
    key = np.repeat(np.arange(len(starts), dtype=np.int64) * span - t0, ends - starts) + t
    hav_min = np.sin(min_distance_m / (2 * EARTH_RADIUS_M)) ** 2
    eff[starts] = True
    pos, end = starts, ends
    counted, steps = len(starts), 0
    last = n - 1
    ahead = np.arange(1, 33, dtype=np.int64)
    while len(pos):
        # The first sample at least gap_ms later: samples usually come every second or so, so it
        # is looked for among the next 32 first (the first key reaching the target there is what a
        # binary search over all keys finds), and by binary search for the rows where it is not.
        target = key[pos] + gap_ms
        near = np.minimum(pos[:, None] + ahead, last)
        ok = key[near] >= target[:, None]
        hit = ok.any(axis=1)
        c = pos + 1 + ok.argmax(axis=1)
        if not hit.all():
            miss = ~hit
            c[miss] = np.searchsorted(key, target[miss], side="left")
        np.maximum(c, pos + 1, out=c)
        live = c < end
        if not live.all():
            pos, c, end = pos[live], c[live], end[live]
        if not len(pos):
            break
        nxt = _next_far(pos, c, end, la, lo, hav_min)
        found = nxt >= 0
        pos, end = nxt[found], end[found]
        eff[pos] = True
        counted += len(pos)
        steps += 1
        if steps % 8 == 1 and len(pos) and dense_factor > 0:
            rem = end - pos
            density = counted / max(1, n - int(rem.sum()))  # counted per sample passed so far
            if float(rem.max()) * density * dense_factor > float(rem.sum()):
                # The rest of each group, from its last counted sample (which counts, as a first).
                idx = np.repeat(pos - np.cumsum(rem) + rem, rem) + np.arange(int(rem.sum()))
                sub_group = np.repeat(np.arange(len(pos)), rem)
                eff[idx] |= _effective_dense(sub_group, t[idx], la[idx], lo[idx], min_gap_s=min_gap_s,
                                             min_distance_m=min_distance_m, rounds=rounds)
                break
    return eff


def _next_far(pos, cand, end, la, lo, hav_min: float, window: int = 8) -> np.ndarray:
    """For each last counted sample ``pos[k]``, the first index in ``[cand[k], end[k])`` whose
    haversine term from it reaches ``hav_min`` (-1 when none): a window of samples at a time, the
    window doubling for the rows that found nothing."""
    out = np.full(len(pos), -1, dtype=np.int64)
    rows = np.arange(len(pos))
    p, c, e = pos, cand, end
    while len(rows):
        idx = c[:, None] + np.arange(window)
        valid = idx < e[:, None]
        np.minimum(idx, (e - 1)[:, None], out=idx)
        phi_i, lam_i = np.radians(la[p])[:, None], np.radians(lo[p])[:, None]
        phi_j, lam_j = np.radians(la[idx]), np.radians(lo[idx])
        # Haversine compared on its inner term: d >= D exactly when hav >= sin(D / 2R) ** 2, which
        # saves the arcsine and square root of every comparison.
        hav = (np.sin((phi_j - phi_i) / 2) ** 2
               + np.cos(phi_i) * np.cos(phi_j) * np.sin((lam_j - lam_i) / 2) ** 2)
        ok = (hav >= hav_min) & valid
        hit = ok.any(axis=1)
        if hit.any():
            out[rows[hit]] = c[hit] + ok[hit].argmax(axis=1)
        c = c + window
        more = ~hit & (c < e)
        rows, p, c, e = rows[more], p[more], c[more], e[more]
        window = min(window * 2, 1 << 14)
    return out


def _effective_dense(group, t_ms, lat, lon, *, min_gap_s: float = 10.0, min_distance_m: float = 20.0,
                     rounds: int = 8) -> np.ndarray:
    """:func:`effective_mask` for few long groups: the next counted candidate of *every* sample at
    once, then a walk along the chain.

    The rule is sequential (each choice depends on the last counted sample), but the next counted
    sample after any sample ``i`` depends on ``i`` alone, so it is computed for all samples at once:
    the time rule by binary search, and the distance rule starting from the first sample whose
    *path length* from ``i`` reaches ``min_distance_m`` (no earlier one can be that far away,
    because a straight line is never longer than the path). A short walk along the resulting chain
    of "next" pointers then marks the counted samples. ``rounds`` is the number of vectorised
    look-ahead steps before falling back to a scan.
    """
    from surveyor.geo.distance import EARTH_RADIUS_M, haversine_m

    group, t, la, lo, starts, ends = _chain_inputs(group, t_ms, lat, lon)
    n = len(t)
    eff = np.zeros(n, dtype=bool)
    if n == 0:
        return eff
    grp_end = np.repeat(ends, ends - starts)
    # Integer keys keep the time rule exact to the millisecond (10.000 s counts, 9.999 s does not).
    span = int(t.max() - t.min()) + int(min_gap_s * 1000) + 1
    gidx = np.repeat(np.arange(len(starts), dtype=np.int64), ends - starts)
    key = gidx * span + (t - t.min())
    gap_ms = int(round(min_gap_s * 1000))
    j_time = np.searchsorted(key, key + gap_ms, side="left")
    seg = np.zeros(n)
    if n > 1:
        seg[1:] = haversine_m(la[:-1], lo[:-1], la[1:], lo[1:], xp=np)
        seg[starts] = 0.0
    path = np.cumsum(seg)
    j_path = np.searchsorted(path, path + min_distance_m - 1e-6, side="left")
    cand = np.maximum(np.maximum(j_time, j_path), np.arange(1, n + 1))
    nxt = np.full(n, -2, dtype=np.int64)
    todo = np.arange(n)
    # Haversine compared on its inner term: d >= D exactly when hav >= sin(D / 2R) ** 2, which
    # saves the arcsine and square root of every comparison.
    phi, lam = np.radians(la), np.radians(lo)
    cos_phi = np.cos(phi)
    hav_min = np.sin(min_distance_m / (2 * EARTH_RADIUS_M)) ** 2
    for _ in range(rounds):
        c = cand[todo]
        inside = c < grp_end[todo]
        nxt[todo[~inside]] = -1
        todo, c = todo[inside], c[inside]
        if len(todo) == 0:
            break
        hav = (np.sin((phi[c] - phi[todo]) / 2) ** 2
               + cos_phi[todo] * cos_phi[c] * np.sin((lam[c] - lam[todo]) / 2) ** 2)
        ok = hav >= hav_min
        nxt[todo[ok]] = c[ok]
        todo = todo[~ok]
        cand[todo] += 1
    nxt_list = nxt.tolist()
    counted: list[int] = []
    for s in starts.tolist():
        i = s
        while i >= 0:
            counted.append(i)
            j = nxt_list[i]
            if j == -2:
                j = _scan_next(i, int(cand[i]), int(grp_end[i]), la, lo, min_distance_m)
            i = j
    eff[counted] = True
    return eff


def _scan_next(i: int, start: int, end: int, la, lo, min_distance_m: float, block: int = 512) -> int:
    """First index in [start, end) at least min_distance_m from sample i (time rule already met)."""
    from surveyor.geo.distance import haversine_m

    while start < end:
        stop = min(end, start + block)
        d = haversine_m(la[i], lo[i], la[start:stop], lo[start:stop], xp=np)
        hit = np.flatnonzero(d >= min_distance_m)
        if len(hit):
            return start + int(hit[0])
        start = stop
    return -1


# ---------------------------------------------------------------------------------------------
# Preparing samples


def _utc_ms(times: pd.Series) -> np.ndarray:
    t = times
    if isinstance(t.dtype, pd.DatetimeTZDtype) and t.dtype.unit in ("ms", "us", "ns"):
        # Zoned datetimes hold UTC integers: flooring them to milliseconds is what the conversion
        # below does, without going through pandas.
        i8 = np.asarray(t.array.asi8)
        nat = i8 == np.iinfo(np.int64).min
        out = i8.copy() if t.dtype.unit == "ms" else i8 // (1000 if t.dtype.unit == "us" else 1_000_000)
        if nat.any():
            out[nat] = np.iinfo(np.int64).min
        return out
    if not isinstance(t.dtype, pd.DatetimeTZDtype):
        t = pd.to_datetime(t, utc=True, errors="coerce", format="ISO8601")
    else:
        t = t.dt.tz_convert("UTC")
    return t.astype("datetime64[ms, UTC]").astype("int64").to_numpy(dtype=np.int64, na_value=np.iinfo(np.int64).min)


def _col(df: pd.DataFrame, name: str, default: Any = None) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(default, index=df.index, dtype=object if default is None else None)


def _num(df: pd.DataFrame, name: str) -> np.ndarray:
    """A column as float64 (NaN where missing or not a number); a float64 column is returned as
    its own (read-only) array, without a copy."""
    if name not in df.columns:
        return np.full(len(df), np.nan)
    col = df[name]
    if col.dtype == np.float64:
        return col.to_numpy()
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _codes(df: pd.DataFrame, name: str, narrow: bool = False,
           mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 for missing) and the unique values of a column; fast on Arrow strings.

    The codes are int64, or with ``narrow`` the smallest signed integer type that holds them (for
    codes only compared and combined here, which then move a fraction of the memory). With
    ``mask`` (bool per row), the codes of the rows it selects only (the uniques are those of the
    whole column either way)."""
    n = len(df)
    n_out = n if mask is None else int(np.count_nonzero(mask))
    if name not in df.columns:
        return np.full(n_out, -1, dtype=np.int8 if narrow else np.int64), np.array([], dtype=object)
    col = df[name]
    if n > 4096:
        # Survey columns come in long runs (a session, its device and operator, a technology held
        # for minutes): factorising one value per run and repeating the codes gives the same
        # codes and uniques (first-appearance order) as factorising every row, at a fraction.
        heads = _run_heads(col)
        if heads is not None and len(heads) * 8 < n:
            head_codes, uniques = pd.factorize(col.iloc[heads], use_na_sentinel=True)
            dtype = _code_dtype(len(uniques)) if narrow else np.int64
            # Each run's code repeated for the rows of the run that are wanted.
            lengths = np.diff(np.append(heads, n)) if mask is None else \
                np.add.reduceat(mask, heads, dtype=np.int64)
            codes = np.repeat(np.asarray(head_codes, dtype=dtype), lengths)
            return codes, np.asarray(uniques, dtype=object)
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=_code_dtype(len(uniques)) if narrow else np.int64)
    return codes if mask is None else codes[mask], np.asarray(uniques, dtype=object)


def _code_dtype(n_uniques: int):
    """The smallest signed integer type for codes -1 .. n_uniques - 1."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_uniques <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _run_heads(col: pd.Series) -> np.ndarray | None:
    """Rows where a new run of equal values starts (missing values always start one), or None
    when the column is not one that compares cheaply (Arrow-backed or a numeric numpy column)."""
    arr = col.array
    if hasattr(arr, "__arrow_array__") and not isinstance(col.dtype, pd.CategoricalDtype):
        import pyarrow as pa
        import pyarrow.compute as pc

        a = arr.__arrow_array__()
        if isinstance(a, pa.ChunkedArray):  # one chunk is used as-is (combining copies it)
            a = a.chunk(0) if a.num_chunks == 1 else a.combine_chunks()
        a1, a0 = a.slice(1), a.slice(0, len(a) - 1)
        change = pc.not_equal(a1, a0)
        if change.null_count:  # a run of missing values is one run too
            change = pc.fill_null(change, pc.xor(pc.is_null(a1), pc.is_null(a0)))
        after = pc.indices_nonzero(change).to_numpy()  # runs are few: no boolean array of every row
        heads = np.zeros(len(after) + 1, dtype=np.int64)
        heads[1:] = after
        heads[1:] += 1
        return heads
    elif col.dtype.kind in "biuf":
        v = col.to_numpy()
        change = v[1:] != v[:-1]
        if v.dtype.kind == "f":
            nan = np.isnan(v)
            change &= ~(nan[1:] & nan[:-1])  # a run of NaN is one run too
    else:
        return None
    return np.flatnonzero(np.concatenate(([True], change)))


def _is(codes: np.ndarray, uniques: np.ndarray, values) -> np.ndarray:
    """codes whose value is one of ``values``."""
    hit = np.flatnonzero(np.isin(uniques, list(values)))
    return np.isin(codes, hit) if len(hit) else np.zeros(len(codes), dtype=bool)


# Reason codes of the evidence: 0 is "not negative", then the reasons of the rule.
REASON_CODES = (None, *NEGATIVE_REASONS)


def _reason_codes(kind, service, tech, level, best_rsrp, settings: Settings) -> np.ndarray:
    """The 4G rule of :func:`surveyor.analyse.rules.negative_reasons`, evaluated once per distinct
    combination of its inputs and mapped back (the rule itself stays in rules.py)."""
    (kc, ku), (sc, su), (tc, tu), (lc, lu) = kind, service, tech, level
    # 0 no RSRP, 1 below the threshold, 2 at or above it (NaN compares False both ways)
    with np.errstate(invalid="ignore"):
        weak = (best_rsrp < settings.rsrp_negative_below_dbm).view(np.int8) \
            + 2 * (best_rsrp >= settings.rsrp_negative_below_dbm).view(np.int8)
    sizes = [len(ku) + 1, len(su) + 1, len(tu) + 1, len(lu) + 1, 3]
    space = int(np.prod(sizes, dtype=np.float64))
    # The key built in place, in 32 bits when it fits (a fraction of the memory traffic).
    key = np.zeros(len(kc), dtype=np.int32 if space < 2 ** 31 else np.int64)
    for part, size in zip((kc, sc, tc, lc), sizes):
        key *= size
        key += part
        key += 1
    key *= 3
    key += weak
    if space <= 1 << 22:
        # Few possible combinations: find the present ones by counting, not by hashing every row.
        uniq_keys = np.flatnonzero(np.bincount(key, minlength=space))
        to_uniq = np.zeros(space, dtype=np.int64)
        to_uniq[uniq_keys] = np.arange(len(uniq_keys))
        inverse = to_uniq[key]
    else:
        inverse, uniq_keys = pd.factorize(key)
    parts = []
    rest = np.asarray(uniq_keys, dtype=np.int64)
    for size in reversed(sizes):
        parts.append(rest % size)
        rest = rest // size
    w, l_, t_, s_, k_ = parts
    pick = lambda u, c: np.array([None] + list(u), dtype=object)[c]  # noqa: E731
    thr = settings.rsrp_negative_below_dbm
    combos = pd.DataFrame({"kind": pick(ku, k_), "service": pick(su, s_), "tech": pick(tu, t_),
                           "level": pd.to_numeric(pd.Series(pick(lu, l_)), errors="coerce"),
                           "rsrp_dbm": np.select([w == 1, w == 2], [thr - 1.0, thr], np.nan),
                           "nr_rsrp_dbm": np.nan})
    reasons = negative_reasons(combos, settings)
    lut = np.array([REASON_CODES.index(r) if isinstance(r, str) else 0 for r in reasons], dtype=np.int8)
    return lut[inverse]


def prepare_evidence(samples: pd.DataFrame, settings: Settings, resolution: int | None = None) -> Evidence:
    """Filter samples, answer the 4G question per sample, mark effective samples, assign cells.

    Left out (each sample counted under the first reason that applies): ``unplaced`` (no
    position), ``excluded`` (inside an exclusion zone), ``no_time``, ``indoor``, ``accuracy``
    (GPS accuracy worse than ``max_accuracy_m``; unknown accuracy is kept), ``no_operator``, and
    operators not in ``settings.operators`` (counted in ``other_operators``).

    Parameters
    ----------
    samples
        The ``samples`` layer or journal rows as a DataFrame (``time`` as datetimes or ISO strings).
    settings
        Thresholds and the operators to analyse.
    resolution
        H3 resolution (``settings.resolution`` when None).

    Returns
    -------
    Evidence
    """
    from surveyor.geo.exclusion import excluded_mask

    resolution = grid.check_resolution(resolution if resolution is not None else settings.resolution)
    df = samples
    n_read = len(df)
    lat, lon = _num(df, "lat"), _num(df, "lon")
    t_ms = _utc_ms(_col(df, "time")) if n_read else np.zeros(0, dtype=np.int64)
    acc = _num(df, "accuracy_m")
    env_c, env_u = _codes(df, "environment", narrow=True)
    op_c, op_u = _codes(df, "operator", narrow=True)
    ops = list(settings.operators)
    op_lut = np.array([ops.index(o) if o in ops else -1 for o in op_u] + [-1], dtype=np.int64)
    op_idx = op_lut[op_c]  # code -1 (missing) picks the last entry, -1
    left_out = {k: 0 for k in ("unplaced", "excluded", "no_time", "indoor", "accuracy", "no_operator",
                               "other_operator")}
    keep = np.ones(n_read, dtype=bool)

    def drop(reason: str, mask: np.ndarray) -> None:
        nonlocal keep
        left_out[reason] = int((keep & mask).sum())
        keep &= ~mask

    drop("unplaced", ~(np.isfinite(lat) & np.isfinite(lon)))
    if settings.exclusion_zones:
        ex = np.zeros(n_read, dtype=bool)
        ex[keep] = excluded_mask(lat[keep], lon[keep], settings)
        drop("excluded", ex)
    drop("no_time", t_ms == np.iinfo(np.int64).min)
    drop("indoor", _is(env_c, env_u, ["indoor"]))
    with np.errstate(invalid="ignore"):
        drop("accuracy", acc > settings.max_accuracy_m)
    drop("no_operator", op_c < 0)
    other = keep & (op_idx < 0)
    other_ops: dict[str, int] = {}
    if other.any():
        counts = np.bincount(op_c[other], minlength=len(op_u))
        other_ops = {str(op_u[i]): int(c) for i, c in enumerate(counts) if c}
    drop("other_operator", op_idx < 0)

    idx = np.flatnonzero(keep)
    all_kept = len(idx) == n_read
    take = (lambda a: a) if all_kept else (lambda a: a[idx])  # noqa: E731
    lat, lon, t_ms, op_idx = take(lat), take(lon), take(t_ms), take(op_idx)
    h3_10 = (df["h3_10"] if all_kept else df["h3_10"].iloc[idx]) if "h3_10" in df.columns else None
    cells = grid.assign_cells(lat, lon, resolution, h3_10=h3_10)
    # Text columns are coded for the rows wanted only (kept rows here, signal rows below).
    sub = lambda name, narrow=False: _codes(df, name, narrow, mask=None if all_kept else keep)  # noqa: E731
    ses_c, ses_u = sub("session")
    if (ses_c < 0).any():
        # Samples without a session are grouped per source file, as the sessions layer does.
        src_c, src_u = sub("source_file")
        missing = ses_c < 0
        extra, extra_u = pd.factorize(pd.Series(src_c[missing]))
        ses_c = ses_c.copy()
        ses_c[missing] = len(ses_u) + extra
    kind = sub("kind", narrow=True)
    is_speed = _is(kind[0], kind[1], ["speed"])

    # -- speed tests, judged apart (FCC 4G floor) --
    sp_i = np.flatnonzero(is_speed)
    sp_rows = idx[sp_i]
    # Only the speed-test rows are read (a fraction of the samples).
    sp_df = df[[c for c in ("download_mbps", "upload_mbps", "test") if c in df.columns]]
    sp_df = sp_df.iloc[sp_rows] if len(sp_rows) < n_read else sp_df
    dl, ul = _num(sp_df, "download_mbps"), _num(sp_df, "upload_mbps")
    test_c, test_u = _codes(sp_df, "test")
    failed = speed_failed(sp_df, settings)
    judged = failed | _is(test_c, test_u, ["ok"]) | np.isfinite(dl) | np.isfinite(ul)
    sp_j = sp_i[judged]
    speed = {"cell": cells[sp_j], "op": op_idx[sp_j], "session": ses_c[sp_j], "t_ms": t_ms[sp_j],
             "failed": failed[judged], "download_mbps": dl[judged], "upload_mbps": ul[judged]}

    # -- signal and manual samples --
    no_speed = not len(sp_i)
    sg = np.arange(len(idx)) if no_speed else np.flatnonzero(~is_speed)
    rows = idx if no_speed else idx[sg]
    in_sg = (lambda a: a) if no_speed else (lambda a: a[sg])  # noqa: E731
    if all_kept and no_speed:
        sig_rows = None
    else:  # the kept rows that are not speed tests
        sig_rows = keep.copy()
        sig_rows[sp_rows] = False
    full = lambda name, narrow=True: _codes(df, name, narrow, mask=sig_rows)  # noqa: E731
    num = lambda name: _num(df, name) if sig_rows is None else _num(df, name)[rows]  # noqa: E731
    best = np.fmax(num("rsrp_dbm"), num("nr_rsrp_dbm"))
    tech_c, tech_u = full("tech")
    reason = _reason_codes((in_sg(kind[0]), kind[1]), full("service"), (tech_c, tech_u), full("level"), best,
                           settings)
    tech_lut = np.array([_TECHS.index(t) if t in _TECHS else -1 for t in tech_u] + [-1], dtype=np.int8)
    # Effective samples: per session AND operator, because a dual-SIM phone logs two independent
    # series of observations (one per network) in one session.
    grp = in_sg(ses_c) * (len(ops) + 1) + in_sg(op_idx)
    t_sg = in_sg(t_ms)
    order = _group_time_order(grp, t_sg)
    pick = (lambda a: a) if order is None else (lambda a: a[order])  # noqa: E731
    o_sg = sg if order is None else sg[order]
    at = (lambda a: in_sg(a) if order is None else a[o_sg])  # noqa: E731
    reason = pick(reason)
    signal = {
        "cell": at(cells), "op": at(op_idx), "session": at(ses_c), "device": pick(full("device", False)[0]),
        "t_ms": pick(t_sg),
        "lat": at(lat), "lon": at(lon), "reason_code": reason, "tech_code": tech_lut[pick(tech_c)],
        "rsrp": pick(best), "rscp": pick(num("rscp_dbm")), "rssi": pick(num("rssi_dbm")),
        "accuracy_unknown": pick(np.isnan(acc if sig_rows is None else acc[rows])),
        "altitude_m": pick(num("altitude_m")),
        "negative": reason > 0,
    }
    signal["effective"] = effective_mask(pick(grp), signal["t_ms"], signal["lat"], signal["lon"],
                                         min_gap_s=settings.effective_min_gap_s,
                                         min_distance_m=settings.effective_min_distance_m)
    return Evidence(sig=signal, sp=speed, resolution=resolution, operators=tuple(ops), samples_read=n_read,
                    left_out=left_out, other_operators=other_ops)


def _group_time_order(grp: np.ndarray, t: np.ndarray) -> np.ndarray | None:
    """The order that sorts samples by group, then time (stable), or None when they already are
    (samples usually come in session and time order, which saves a sort and every gather)."""
    if len(grp) < 2:
        return None
    same = grp[1:] == grp[:-1]
    if (grp[1:] >= grp[:-1]).all() and (~same | (t[1:] >= t[:-1])).all():
        return None
    return np.lexsort((t, grp))


# ---------------------------------------------------------------------------------------------
# Cells


def _iso(ms) -> Any:
    if ms is None or (isinstance(ms, float) and np.isnan(ms)):
        return None
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_array(ms: np.ndarray) -> np.ndarray:
    """:func:`_iso` of many epoch milliseconds at once (None where not finite)."""
    out = np.full(len(ms), None, dtype=object)
    ok = np.isfinite(ms)
    if ok.any():
        sec = (ms[ok].astype(np.int64) // 1000).astype("datetime64[s]")
        out[ok] = np.char.add(np.datetime_as_string(sec, unit="s"), "Z").astype(object)
    return out


def _local_day(t_ms: np.ndarray, tz: str) -> np.ndarray:
    """Calendar day number (days since 1970-01-01) in the survey's time zone, vectorised."""
    local = pd.DatetimeIndex(pd.to_datetime(t_ms, unit="ms", utc=True)).tz_convert(tz).tz_localize(None)
    return local.asi8 // 86_400_000_000_000 if local.asi8.dtype == np.int64 and local.unit == "ns" else \
        local.as_unit("ms").asi8 // 86_400_000


def _local_text(ms: float, tz: str) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").tz_convert(tz).strftime("%Y-%m-%d %H:%M")


def _needs(eff: int, sessions: int, spread_h: float, first_ms: float, settings: Settings,
           when: str | None = None) -> str:
    """What an insufficient cell still needs, in plain words."""
    parts = []
    more = settings.min_effective_samples - int(eff)
    if more > 0:
        parts.append(f"{more} more sample{'s' if more != 1 else ''}")
    missing_sessions = max(0, settings.min_sessions - int(sessions))
    if not (spread_h >= settings.min_session_gap_h) and settings.min_sessions >= 2:
        if not np.isfinite(first_ms):
            when = "the first visit"
        elif when is None:
            when = _local_text(first_ms, settings.timezone)
        parts.append(f"another session >= {settings.min_session_gap_h:g} h after {when}")
        missing_sessions -= 1
    if missing_sessions > 0:
        parts.append(f"{missing_sessions} more session{'s' if missing_sessions != 1 else ''}")
    return "; ".join(parts)


def cell_table(ev: Evidence, settings: Settings) -> pd.DataFrame:
    """Per cell and operator with samples: counts, bounds and status (no geometry, no area rows)."""
    sig, sp = ev.sig, ev.sp
    n_sig = len(sig["cell"])
    ops = list(settings.operators)
    n_ops = max(1, len(ops))
    all_cells = np.concatenate([sig["cell"].astype(np.uint64, copy=False), sp["cell"].astype(np.uint64, copy=False)])
    cell_codes, cell_uniques = _factorize_sorted(all_cells)
    sig_op = sig["op"].astype(np.int64, copy=False)
    sp_op = sp["op"].astype(np.int64, copy=False)
    key_sig = cell_codes[:n_sig] * n_ops + sig_op
    key_sp = cell_codes[n_sig:] * n_ops + sp_op
    n_keys = len(cell_uniques) * n_ops

    eff = np.flatnonzero(sig["effective"])  # the effective samples are few: index them once
    neg = sig["negative"]
    reason = sig["reason_code"]
    bc = lambda k, w=None: np.bincount(k, weights=w, minlength=n_keys)  # noqa: E731
    raw = bc(key_sig)
    k_eff = key_sig[eff]
    n_eff = bc(k_eff).astype(float)
    n_neg = bc(k_eff[neg[eff]]).astype(float)
    r_eff = reason[eff]
    n_ns = bc(k_eff[r_eff == REASON_CODES.index("no_service")]).astype(float)
    n_2g = bc(k_eff[r_eff == REASON_CODES.index("2g3g_only")]).astype(float)
    unk_acc = bc(key_sig[sig["accuracy_unknown"]]).astype(float)
    t_ms = sig["t_ms"]

    tech_codes = sig["tech_code"].astype(np.int64)  # -1 unknown
    tech_counts = np.bincount(key_sig * (len(_TECHS) + 1) + (tech_codes + 1),
                              minlength=n_keys * (len(_TECHS) + 1)).reshape(n_keys, len(_TECHS) + 1)
    known = tech_counts[:, 1:]
    tech_main = np.where(known.sum(axis=1) > 0, np.array(_TECHS, dtype=object)[known.argmax(axis=1)], None)
    modern = known[:, 0] + known[:, 1]
    old = known[:, 2] + known[:, 3]
    only_2g3g = (old > 0) & (modern == 0)

    out = {"key": np.arange(n_keys)}
    out["cell"] = np.repeat(cell_uniques.astype(np.uint64), n_ops)
    out["operator"] = np.tile(np.array(ops, dtype=object), len(cell_uniques))
    out["samples_raw"] = raw.astype(np.int64)
    out["samples_effective"] = n_eff.astype(np.int64)
    out["negatives_effective"] = n_neg.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_negative"] = np.where(n_eff > 0, n_neg / n_eff, np.nan)
        out["share_no_service"] = np.where(n_eff > 0, n_ns / n_eff, np.nan)
        out["share_2g3g"] = np.where(n_eff > 0, n_2g / n_eff, np.nan)
        out["unknown_accuracy_share"] = np.where(raw > 0, unk_acc / raw, np.nan)
    lower, upper = clopper_pearson(n_neg, n_eff, settings.confidence)
    out["lower_95"], out["upper_95"] = lower, upper

    # first/last seen over every sample in the cell (signal and speed). Signal samples are sorted
    # by group (session and operator) and time, so within a run of one key and one group the
    # first sample is the earliest and the last the latest: only run ends need comparing.
    first = np.full(n_keys, np.inf)
    last = np.full(n_keys, -np.inf)
    if n_sig:
        grp = sig["session"].astype(np.int64) * (len(ops) + 1) + sig_op
        brk = np.flatnonzero((key_sig[1:] != key_sig[:-1]) | (grp[1:] != grp[:-1]))
        heads = np.concatenate(([0], brk + 1))
        tails = np.append(brk, n_sig - 1)
        k_all = np.concatenate([key_sig[heads], key_sp])
        lo_all = np.concatenate([t_ms[heads], sp["t_ms"]]).astype(float)
        hi_all = np.concatenate([t_ms[tails], sp["t_ms"]]).astype(float)
    else:
        k_all, lo_all, hi_all = key_sp, sp["t_ms"].astype(float), sp["t_ms"].astype(float)
    np.minimum.at(first, k_all, lo_all)
    np.maximum.at(last, k_all, hi_all)

    # Sessions, devices, days and the time spread count the visits that gave evidence: sessions
    # with effective samples in the cell.
    ses_e = sig["session"][eff].astype(np.int64)
    dev_e = sig["device"][eff].astype(np.int64)
    t_e = t_ms[eff]
    sessions = _distinct_per_key(k_eff, ses_e, n_keys)
    devices = _distinct_per_key(k_eff[dev_e >= 0], dev_e[dev_e >= 0], n_keys)
    days = _distinct_per_key(k_eff, _local_day(t_e, settings.timezone) if len(t_e) else t_e, n_keys)
    spread_h = np.zeros(n_keys)
    first_visit = first.copy()
    if len(k_eff):
        # First effective sample of each (key, session): the earliest, as samples are in time order
        # within a session and operator (and the key holds the operator).
        pair = k_eff * (int(ses_e.max()) + 1) + ses_e
        uniq_pair, first_i = np.unique(pair, return_index=True)
        pk = uniq_pair // (int(ses_e.max()) + 1)
        starts_t = t_e[first_i].astype(float)
        b = np.flatnonzero(np.concatenate(([True], pk[1:] != pk[:-1])))
        kk = pk[b]
        mx, mn = np.maximum.reduceat(starts_t, b), np.minimum.reduceat(starts_t, b)
        spread_h[kk] = (mx - mn) / _MS_PER_H
        first_visit[kk] = mn
    out["sessions"], out["devices"], out["days"] = sessions, devices, days
    out["first_ms"], out["last_ms"], out["first_visit_ms"] = first, last, first_visit
    out["time_spread_h"] = spread_h

    # Signal percentiles, of the metric that fits the cell's main technology.
    metric = np.where(tech_main == "UMTS", "rscp", np.where(tech_main == "GSM", "rssi", "rsrp")).astype(object)
    if (metric == "rsrp").all():
        values = sig["rsrp"]
    else:
        m_per_sample = metric[key_sig]
        values = np.select([m_per_sample == "rscp", m_per_sample == "rssi"], [sig["rscp"], sig["rssi"]], sig["rsrp"])
    q = grouped_quantiles(key_sig, values, n_keys, (0.2, 0.5, 0.8))
    out["rsrp_p20_dbm"], out["rsrp_median_dbm"], out["rsrp_p80_dbm"] = q[:, 0], q[:, 1], q[:, 2]
    out["signal_metric"] = np.where(raw > 0, metric, None)
    out["tech_main"] = tech_main
    out["only_2g3g"] = only_2g3g

    # Altitude per cell (all operators), for site suggestions.
    # (over effective samples: enough for a tie-break, and a fraction of the work)
    alt = grouped_quantiles(cell_codes[eff], sig["altitude_m"][eff], len(cell_uniques), (0.5,))[:, 0]
    out["altitude_median_m"] = np.repeat(alt, n_ops)

    # Speed tests.
    failed = sp["failed"].astype(bool)
    out["speed_tests"] = np.bincount(key_sp, minlength=n_keys).astype(np.int64)
    out["speed_failed"] = np.bincount(key_sp[failed], minlength=n_keys).astype(np.int64)
    out["speed_passed"] = out["speed_tests"] - out["speed_failed"]
    out["speed_failed_sessions"] = _distinct_per_key(key_sp[failed], sp["session"][failed].astype(np.int64), n_keys)
    out["download_median_mbps"] = grouped_quantiles(key_sp, sp["download_mbps"], n_keys, (0.5,))[:, 0]
    out["upload_median_mbps"] = grouped_quantiles(key_sp, sp["upload_mbps"], n_keys, (0.5,))[:, 0]

    have = (out["samples_raw"] > 0) | (out["speed_tests"] > 0)
    out = pd.DataFrame({k: v[have] for k, v in out.items()})
    _classify(out, settings)
    return out.drop(columns=["key"]).reset_index(drop=True)


def _factorize_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pandas.factorize(values, sort=True)`` (int64 codes), one value per run of equal values
    when runs are long (samples walk through a cell in runs), which gives the same result."""
    n = len(values)
    if n > 4096:
        heads = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        if len(heads) * 8 < n:
            head_codes, uniques = pd.factorize(values[heads], sort=True)
            return np.repeat(np.asarray(head_codes, dtype=np.int64), np.diff(np.append(heads, n))), uniques
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(codes, dtype=np.int64), uniques


def _distinct_per_key(key: np.ndarray, values: np.ndarray, n_keys: int) -> np.ndarray:
    """Number of distinct ``values`` per key (ints), like a grouped nunique."""
    if not len(key):
        return np.zeros(n_keys, dtype=np.int64)
    values = np.asarray(values, dtype=np.int64)
    v0 = int(values.min())
    width = int(values.max()) - v0 + 1
    pair = np.unique(key.astype(np.int64) * width + (values - v0))
    return np.bincount(pair // width, minlength=n_keys).astype(np.int64)


def _classify(out: pd.DataFrame, settings: Settings) -> None:
    """Status, dead_by, weak_signal and needs, in place (DESIGN section 4)."""
    enough = ((out["samples_effective"] >= settings.min_effective_samples)
              & (out["sessions"] >= settings.min_sessions)
              & ((out["time_spread_h"] >= settings.min_session_gap_h) | (settings.min_sessions < 2)))
    lower, upper = out["lower_95"].to_numpy(), out["upper_95"].to_numpy()
    with np.errstate(invalid="ignore"):
        by_signal = enough.to_numpy() & (lower > settings.dead_lower_bound)
        covered = enough.to_numpy() & (upper < settings.covered_upper_bound)
    by_speed = ((out["speed_failed"] >= settings.failed_tests_dead)
                & (out["speed_failed_sessions"] >= settings.failed_tests_min_sessions)
                & (out["speed_passed"] == 0)).to_numpy()
    status = np.where(enough, np.where(by_signal, "dead", np.where(covered, "covered", "marginal")), "insufficient")
    # Failed speed tests decide cells that have too few signal samples to be judged ("dead even
    # with few signal samples"). Where the signal samples are enough, the signal rule decides and
    # the tests are supporting evidence (speed_failed), so the two rules never contradict each
    # other (slow tests under good signal point at congestion or backhaul, not at coverage).
    by_speed = by_speed & ~enough.to_numpy()
    status = np.where(by_speed, "dead", status)
    out["status"] = status
    out["enough_evidence"] = enough.to_numpy()
    out["dead_by"] = np.select([by_signal, by_speed], ["signal", "speed_tests"], None)
    weak = (out["status"].isin(["covered", "marginal"])
            & (((out["signal_metric"] == "rsrp") & (out["rsrp_median_dbm"] < settings.weak_signal_median_dbm))
               | out["only_2g3g"]))
    out["weak_signal"] = weak.to_numpy(dtype=bool)
    needs = np.full(len(out), None, dtype=object)
    ins = np.flatnonzero(status == "insufficient")
    if len(ins):
        eff = out["samples_effective"].to_numpy()
        ses = out["sessions"].to_numpy()
        spr = out["time_spread_h"].to_numpy()
        fv = out["first_visit_ms"].to_numpy()[ins]
        ok = np.isfinite(fv)
        when = np.full(len(ins), None, dtype=object)
        if ok.any():
            when[ok] = pd.to_datetime(fv[ok].astype(np.int64), unit="ms", utc=True).tz_convert(
                settings.timezone).strftime("%Y-%m-%d %H:%M").to_numpy(dtype=object)
        for j, i in enumerate(ins):
            needs[i] = _needs(eff[i], ses[i], spr[i], fv[j], settings, when=when[j])
    out["needs"] = needs


def compute_cells(samples: pd.DataFrame | Evidence, settings: Settings, boundary=None, dusun=None,
                  resolution: int | None = None):
    """The ``cells`` layer: one row per H3 cell and operator (docs/layers.md).

    Parameters
    ----------
    samples
        Samples (DataFrame) or an :class:`Evidence` already prepared from them.
    settings
        Thresholds, operators, area code and time zone.
    boundary
        Village boundary (shapely, lon/lat). Cells inside it with no samples of an operator get a
        ``not_surveyed`` row for that operator; cells with samples whose centre is outside are
        kept and flagged ``outside_area``. None: no ``not_surveyed`` rows, nothing is outside.
    dusun
        GeoDataFrame of dusun polygons with ``name`` (optional).
    resolution
        H3 resolution (``settings.resolution`` when None).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 polygons, columns :data:`CELL_COLUMNS`.
    """
    import geopandas as gpd
    import shapely

    ev = samples if isinstance(samples, Evidence) else prepare_evidence(samples, settings, resolution)
    res = ev.resolution
    table = cell_table(ev, settings)
    in_area = grid.area_cells(boundary, res) if boundary is not None else np.zeros(0, dtype=np.uint64)
    # not_surveyed: area cells x operators without a row
    if len(in_area) and len(settings.operators):
        n_ops = len(settings.operators)
        op_names = np.array(settings.operators, dtype=object)
        have = np.zeros((len(in_area), n_ops), dtype=bool)
        t_cell = table["cell"].to_numpy(dtype=np.uint64)
        t_op = pd.Index(op_names).get_indexer(table["operator"].to_numpy(dtype=object))
        at = np.minimum(np.searchsorted(in_area, t_cell), len(in_area) - 1)
        hit = (in_area[at] == t_cell) & (t_op >= 0)
        have[at[hit], t_op[hit]] = True
        miss = ~have.ravel()
        missing = pd.DataFrame({"cell": np.repeat(in_area, n_ops)[miss], "operator": np.tile(op_names, len(in_area))[miss]})
        missing["status"] = "not_surveyed"
        for c in ("samples_raw", "samples_effective", "negatives_effective", "sessions", "devices", "days",
                  "speed_tests", "speed_failed", "speed_passed", "speed_failed_sessions"):
            missing[c] = 0
        missing["weak_signal"] = False
        missing["enough_evidence"] = False
        table = pd.concat([table, missing], ignore_index=True) if len(table) else missing.reset_index(drop=True)
    cells = table["cell"].to_numpy(dtype=np.uint64)
    uniq, inv = np.unique(cells, return_inverse=True)
    clat, clon = grid.cell_centres(uniq)
    polys = grid.cell_polygons(uniq)
    table["lat"], table["lon"] = clat[inv], clon[inv]
    table["h3"] = grid.to_hex(uniq)[inv] if len(uniq) else np.array([], dtype=object)
    table["resolution"] = res
    table["area_code"] = settings.code
    table["outside_area"] = (~np.isin(cells, in_area)) if boundary is not None else False
    table["dusun"] = None
    if dusun is not None and len(dusun):
        names = np.full(len(uniq), None, dtype=object)
        for name, geom in zip(dusun["name"], dusun.geometry):
            inside = shapely.contains_xy(geom, clon, clat) & pd.isna(names)
            names[inside] = name
        table["dusun"] = names[inv]
    table["first_seen"] = _iso_array(table["first_ms"].to_numpy(dtype=float)) if "first_ms" in table.columns else None
    table["last_seen"] = _iso_array(table["last_ms"].to_numpy(dtype=float)) if "last_ms" in table.columns else None
    out = table.reindex(columns=CELL_COLUMNS)
    for c in ("samples_raw", "samples_effective", "negatives_effective", "sessions", "devices", "days",
              "speed_tests", "speed_failed", "speed_passed", "speed_failed_sessions", "resolution"):
        out[c] = out[c].fillna(0).astype(np.int64)
    for c in ("weak_signal", "outside_area", "enough_evidence"):
        out[c] = out[c].fillna(False).astype(bool)
    for c in ("time_spread_h", "share_negative", "lower_95", "upper_95", "share_no_service", "share_2g3g",
              "rsrp_p20_dbm", "rsrp_median_dbm", "rsrp_p80_dbm", "unknown_accuracy_share",
              "download_median_mbps", "upload_median_mbps", "altitude_median_m", "lat", "lon"):
        out[c] = out[c].astype(float)
    order = np.lexsort((out["h3"].to_numpy(), out["operator"].to_numpy()))
    out = out.iloc[order].reset_index(drop=True)
    geoms = polys[inv][order] if len(uniq) else []
    return gpd.GeoDataFrame(out, geometry=list(geoms), crs="EPSG:4326")


# ---------------------------------------------------------------------------------------------
# Dead zones


def _code(operator: str) -> str:
    from surveyor.model import OPERATOR_CODES

    return OPERATOR_CODES.get(operator) or "".join(ch for ch in operator.upper() if ch.isalnum())[:5] or "OP"


def _nearest(lat, lon, tlat, tlon) -> tuple[float, float, str | None]:
    from surveyor.geo.bearing import bearing_deg, compass
    from surveyor.geo.distance import haversine_m

    tlat = np.asarray(tlat, dtype=float)
    tlon = np.asarray(tlon, dtype=float)
    ok = np.isfinite(tlat) & np.isfinite(tlon)
    if not ok.any():
        return np.nan, np.nan, None
    tlat, tlon = tlat[ok], tlon[ok]
    d = haversine_m(lat, lon, tlat, tlon, xp=np)
    i = int(np.argmin(d))
    b = float(bearing_deg(lat, lon, tlat[i], tlon[i], xp=np))
    return float(d[i]), b, compass(b)


def dead_zones(cells, towers=None, settings: Settings | None = None, evidence: Evidence | None = None):
    """Merge adjacent dead cells of one operator into dead zones with their evidence.

    Parameters
    ----------
    cells
        The ``cells`` layer (from :func:`compute_cells`).
    towers
        The ``towers`` layer (operator, lat, lon) or None/empty.
    settings
        Thresholds, area code.
    evidence
        The :class:`Evidence` the cells were computed from. With it, the zone's evidence is
        aggregated over the zone's samples (distinct sessions, devices and days; the median RSRP of
        every sample). Without it, counts are summed over the cells and distinct counts are the
        largest of any cell (a lower bound), and the median is the median of the cell medians.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 (multi)polygons, columns :data:`ZONE_COLUMNS`. IDs (``DZ-TSEL-01``) are numbered
        per operator by centroid latitude, then longitude (south to north), so the same data
        always gives the same IDs.
    """
    import geopandas as gpd
    import shapely

    from surveyor.geo.areas import utm_crs

    settings = settings or Settings()

    def empty():
        return gpd.GeoDataFrame({c: [] for c in ZONE_COLUMNS}, geometry=[], crs="EPSG:4326")

    if cells is None or len(cells) == 0:
        return empty()
    rows = []
    geoms = []
    # A plain DataFrame view: filtering a GeoDataFrame costs far more than the work done here.
    c_op = cells["operator"].to_numpy(dtype=object)
    c_st = cells["status"].to_numpy(dtype=object)
    c_lat = cells["lat"].to_numpy(dtype=float)
    c_lon = cells["lon"].to_numpy(dtype=float)
    cells = pd.DataFrame(cells, copy=False)
    for op in sorted(cells["operator"].dropna().unique()):
        dead = cells[(c_op == op) & (c_st == "dead")]
        if len(dead) == 0:
            continue
        dead_cells = grid.from_hex(dead["h3"])
        labels = grid.neighbours_components(dead_cells)
        is_covered = (c_op == op) & (c_st == "covered")
        covered_lat, covered_lon = c_lat[is_covered], c_lon[is_covered]
        # The samples of this operator in any of its dead cells, found once for all its zones.
        op_samples = _samples_in(evidence, op, dead_cells) if evidence is not None else None
        op_towers = None
        if towers is not None and len(towers) and {"operator", "lat", "lon"} <= set(towers.columns):
            op_towers = towers[towers["operator"] == op]
        zone_rows = []
        for lab in np.unique(labels):
            member = dead.iloc[np.flatnonzero(labels == lab)]
            geom = shapely.union_all(list(member["geometry"]))
            crs = utm_crs(float(member["lon"].mean()), float(member["lat"].mean()))
            # Area and centroid in UTM metres: degrees are not equal-area.
            g_utm = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(crs)
            centroid = g_utm.centroid.to_crs("EPSG:4326").iloc[0]
            zone_rows.append((member, geom, float(g_utm.area.iloc[0]) / 1e6, centroid.y, centroid.x))
        zone_rows.sort(key=lambda z: (round(z[3], 7), round(z[4], 7)))
        width = max(2, len(str(len(zone_rows))))
        for n, (member, geom, area_km2, clat, clon) in enumerate(zone_rows, 1):
            row: dict[str, Any] = {
                "zone_id": f"DZ-{_code(op)}-{n:0{width}d}", "operator": op, "cells": len(member),
                "area_km2": area_km2, "centroid_lat": clat, "centroid_lon": clon,
                "dusun": ", ".join(sorted({d for d in member["dusun"].dropna()})) or None,
                "area_code": settings.code, "h3_cells": ",".join(member["h3"]),
                "resolution": int(member["resolution"].iloc[0]),
            }
            row.update(_zone_evidence(member, op, settings, evidence, op_samples))
            row["nearest_signal_m"], row["nearest_signal_bearing_deg"], row["nearest_signal_direction"] = \
                _nearest(clat, clon, covered_lat, covered_lon)
            if op_towers is not None and len(op_towers):
                row["nearest_tower_m"], row["nearest_tower_bearing_deg"], row["nearest_tower_direction"] = \
                    _nearest(clat, clon, op_towers["lat"], op_towers["lon"])
            rows.append(row)
            geoms.append(geom)
    if not rows:
        return empty()
    ints = ("cells", "samples_effective", "samples_raw", "negatives_effective", "sessions", "devices", "days",
            "speed_tests", "speed_failed", "resolution")
    floats = ("nearest_signal_m", "nearest_signal_bearing_deg", "nearest_tower_m", "nearest_tower_bearing_deg",
              "rsrp_median_dbm", "area_km2", "centroid_lat", "centroid_lon")
    out = pd.DataFrame(rows).reindex(columns=ZONE_COLUMNS)
    out = pd.DataFrame({c: np.nan_to_num(out[c].to_numpy(dtype=float)).astype(np.int64) if c in ints
                        else out[c].to_numpy(dtype=float) if c in floats else out[c] for c in ZONE_COLUMNS})
    return gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")


def _samples_in(ev: Evidence, op: str, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (ascending) of the signal and the speed samples of ``op`` in ``cells``."""
    sig, sp = ev.sig, ev.sp
    op_i = list(ev.operators).index(op) if op in ev.operators else -2
    return (np.flatnonzero((sig["op"] == op_i) & np.isin(sig["cell"], cells)),
            np.flatnonzero((sp["op"] == op_i) & np.isin(sp["cell"], cells)))


def _zone_evidence(member, op: str, settings: Settings, ev: Evidence | None,
                   op_samples: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Any]:
    """Evidence of one zone, with the bounds recomputed on the zone totals. ``op_samples``: the
    samples of ``op`` in a set of cells holding the zone's (from :func:`_samples_in`), to look
    among (all samples when None)."""
    out: dict[str, Any] = {}
    if ev is not None:
        cells = grid.from_hex(member["h3"])
        sig, sp = ev.sig, ev.sp
        if op_samples is None:
            op_samples = _samples_in(ev, op, cells)
        m, m_sp = op_samples
        m = m[np.isin(sig["cell"][m], cells)]
        m_sp = m_sp[np.isin(sp["cell"][m_sp], cells)]
        e = m[sig["effective"][m]]
        n_eff, n_neg = len(e), int(sig["negative"][e].sum())
        dev = sig["device"][e]
        out.update(samples_effective=n_eff, samples_raw=len(m), negatives_effective=n_neg,
                   sessions=len(np.unique(sig["session"][e])), devices=len(np.unique(dev[dev >= 0])))
        out["days"] = len(np.unique(_local_day(sig["t_ms"][e], settings.timezone)))
        t_all = np.concatenate([sig["t_ms"][m], sp["t_ms"][m_sp]])
        out["first_seen"] = _iso(t_all.min()) if len(t_all) else None
        out["last_seen"] = _iso(t_all.max()) if len(t_all) else None
        rsrp = sig["rsrp"][m]
        rsrp = rsrp[~np.isnan(rsrp)]
        out["rsrp_median_dbm"] = float(np.median(rsrp)) if len(rsrp) else np.nan
        out["speed_tests"], out["speed_failed"] = len(m_sp), int(sp["failed"][m_sp].sum())
        reason = sig["reason_code"][e]
        ns = int((reason == REASON_CODES.index("no_service")).sum())
        g2 = int((reason == REASON_CODES.index("2g3g_only")).sum())
    else:
        n_eff = int(member["samples_effective"].sum())
        n_neg = int(member["negatives_effective"].sum())
        out.update(samples_effective=n_eff, samples_raw=int(member["samples_raw"].sum()),
                   negatives_effective=n_neg, sessions=int(member["sessions"].max()),
                   devices=int(member["devices"].max()), days=int(member["days"].max()),
                   first_seen=member["first_seen"].dropna().min(), last_seen=member["last_seen"].dropna().max(),
                   rsrp_median_dbm=float(member["rsrp_median_dbm"].median()),
                   speed_tests=int(member["speed_tests"].sum()), speed_failed=int(member["speed_failed"].sum()))
        ns = float((member["share_no_service"].fillna(0) * member["samples_effective"]).sum())
        g2 = float((member["share_2g3g"].fillna(0) * member["samples_effective"]).sum())
    lower, upper = clopper_pearson([n_neg], [n_eff], settings.confidence)
    out["share_negative"] = n_neg / n_eff if n_eff else np.nan
    out["lower_95"], out["upper_95"] = float(lower[0]), float(upper[0])
    out["share_no_service"] = ns / n_eff if n_eff else np.nan
    out["share_2g3g"] = g2 / n_eff if n_eff else np.nan
    return out
