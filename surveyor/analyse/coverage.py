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

from surveyor.analyse import grid
from surveyor.analyse.stats import bearing_deg, clopper_pearson, grouped_quantiles
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
    """

    signal: pd.DataFrame
    speed: pd.DataFrame
    resolution: int
    samples_read: int = 0
    left_out: dict[str, int] = field(default_factory=dict)
    other_operators: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Effective samples


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
    group = np.asarray(group, dtype=np.int64)
    t = np.asarray(t_ms, dtype=np.int64)
    la = np.asarray(lat, dtype=float)
    lo = np.asarray(lon, dtype=float)
    n = len(t)
    eff = np.zeros(n, dtype=bool)
    if n == 0:
        return eff
    from surveyor.privacy import EARTH_RADIUS_M

    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    ends = np.append(starts[1:], n)
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
    while len(pos):
        c = np.searchsorted(key, key[pos] + gap_ms, side="left")
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
    from surveyor.privacy import EARTH_RADIUS_M, distance_m

    group = np.asarray(group, dtype=np.int64)
    t = np.asarray(t_ms, dtype=np.int64)
    la = np.asarray(lat, dtype=float)
    lo = np.asarray(lon, dtype=float)
    n = len(t)
    eff = np.zeros(n, dtype=bool)
    if n == 0:
        return eff
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    ends = np.append(starts[1:], n)
    grp_end = np.repeat(ends, ends - starts)
    # Integer keys keep the time rule exact to the millisecond (10.000 s counts, 9.999 s does not).
    span = int(t.max() - t.min()) + int(min_gap_s * 1000) + 1
    gidx = np.repeat(np.arange(len(starts), dtype=np.int64), ends - starts)
    key = gidx * span + (t - t.min())
    gap_ms = int(round(min_gap_s * 1000))
    j_time = np.searchsorted(key, key + gap_ms, side="left")
    seg = np.zeros(n)
    if n > 1:
        seg[1:] = distance_m(la[:-1], lo[:-1], la[1:], lo[1:])
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
    from surveyor.privacy import distance_m

    while start < end:
        stop = min(end, start + block)
        d = distance_m(la[i], lo[i], la[start:stop], lo[start:stop])
        hit = np.flatnonzero(d >= min_distance_m)
        if len(hit):
            return start + int(hit[0])
        start = stop
    return -1


# ---------------------------------------------------------------------------------------------
# Preparing samples


def _utc_ms(times: pd.Series) -> np.ndarray:
    t = times
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
    if name not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _codes(df: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 for missing) and the unique values of a column; fast on Arrow strings."""
    if name not in df.columns:
        return np.full(len(df), -1, dtype=np.int64), np.array([], dtype=object)
    codes, uniques = pd.factorize(df[name], use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def _is(codes: np.ndarray, uniques: np.ndarray, values) -> np.ndarray:
    """codes whose value is one of ``values``."""
    hit = np.flatnonzero(np.isin(uniques, list(values)))
    return np.isin(codes, hit) if len(hit) else np.zeros(len(codes), dtype=bool)


REASON_CODES = (None, "no_service", "2g3g_only", "weak_signal", "manual_no_signal")


def _reason_codes(kind, service, tech, level, best_rsrp, settings: Settings) -> np.ndarray:
    """The 4G rule of :func:`surveyor.model.negative_reasons`, evaluated once per distinct
    combination of its inputs and mapped back (the rule itself stays in model.py)."""
    from surveyor.model import negative_reasons

    (kc, ku), (sc, su), (tc, tu), (lc, lu) = kind, service, tech, level
    with np.errstate(invalid="ignore"):
        weak = np.where(np.isnan(best_rsrp), 0, np.where(best_rsrp < settings.rsrp_negative_below_dbm, 1, 2))
    sizes = [len(ku) + 1, len(su) + 1, len(tu) + 1, len(lu) + 1, 3]
    key = np.zeros(len(kc), dtype=np.int64)
    for part, size in zip((kc + 1, sc + 1, tc + 1, lc + 1, weak), sizes):
        key = key * size + part
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
    reasons = negative_reasons(combos, rsrp_negative_below_dbm=thr, manual_max_level=settings.manual_max_level)
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
    from surveyor.privacy import excluded_mask

    resolution = grid.check_resolution(resolution if resolution is not None else settings.resolution)
    df = samples
    n_read = len(df)
    lat, lon = _num(df, "lat"), _num(df, "lon")
    t_ms = _utc_ms(_col(df, "time")) if n_read else np.zeros(0, dtype=np.int64)
    acc = _num(df, "accuracy_m")
    env_c, env_u = _codes(df, "environment")
    op_c, op_u = _codes(df, "operator")
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
    lat, lon, t_ms, acc, op_idx = lat[idx], lon[idx], t_ms[idx], acc[idx], op_idx[idx]
    h3_10 = df["h3_10"].iloc[idx] if "h3_10" in df.columns else None
    cells = grid.assign_cells(lat, lon, resolution, h3_10=h3_10)
    sub = lambda name: tuple(a[idx] if i == 0 else a for i, a in enumerate(_codes(df, name)))  # noqa: E731
    ses_c, ses_u = sub("session")
    if (ses_c < 0).any():
        # Samples without a session are grouped per source file, as the sessions layer does.
        src_c, src_u = sub("source_file")
        missing = ses_c < 0
        extra, extra_u = pd.factorize(pd.Series(src_c[missing]))
        ses_c = ses_c.copy()
        ses_c[missing] = len(ses_u) + extra
    dev_c, _ = sub("device")
    kind = sub("kind")
    is_speed = _is(kind[0], kind[1], ["speed"])
    operator_cat = pd.Categorical.from_codes(op_idx, categories=ops) if ops else pd.Categorical([None] * len(idx))

    # -- speed tests, judged apart (FCC 4G floor) --
    sp_i = np.flatnonzero(is_speed)
    sp_rows = idx[sp_i]
    dl = _num(df, "download_mbps")[sp_rows]
    ul = _num(df, "upload_mbps")[sp_rows]
    test_c, test_u = _codes(df, "test")
    test_c = test_c[sp_rows]
    with np.errstate(invalid="ignore"):
        failed = _is(test_c, test_u, ["failed"]) | (dl < settings.download_min_mbps) | (ul < settings.upload_min_mbps)
    judged = failed | _is(test_c, test_u, ["ok"]) | np.isfinite(dl) | np.isfinite(ul)
    speed = pd.DataFrame({
        "cell": cells[sp_i], "op": op_idx[sp_i], "operator": operator_cat[sp_i], "session": ses_c[sp_i],
        "t_ms": t_ms[sp_i], "failed": failed, "download_mbps": dl, "upload_mbps": ul,
    })[judged].reset_index(drop=True)

    # -- signal and manual samples --
    sg = np.flatnonzero(~is_speed)
    rows = idx[sg]
    best = np.fmax(_num(df, "rsrp_dbm")[rows], _num(df, "nr_rsrp_dbm")[rows])
    full = lambda name: (lambda c, u: (c[rows], u))(*_codes(df, name))  # noqa: E731
    tech_c, tech_u = full("tech")
    reason = _reason_codes((kind[0][sg], kind[1]), full("service"), (tech_c, tech_u), full("level"), best, settings)
    tech_lut = np.array([_TECHS.index(t) if t in _TECHS else -1 for t in tech_u] + [-1], dtype=np.int8)
    # Effective samples: per session AND operator, because a dual-SIM phone logs two independent
    # series of observations (one per network) in one session.
    grp = ses_c[sg] * (len(ops) + 1) + op_idx[sg]
    order = np.lexsort((t_ms[sg], grp))
    o_rows, o_sg = rows[order], sg[order]
    signal = pd.DataFrame({
        "cell": cells[o_sg], "op": op_idx[o_sg], "operator": operator_cat[o_sg], "session": ses_c[o_sg],
        "device": dev_c[o_sg], "t_ms": t_ms[o_sg], "lat": lat[o_sg], "lon": lon[o_sg],
        "reason_code": reason[order], "tech_code": tech_lut[tech_c[order]],
        "rsrp": best[order], "rscp": _num(df, "rscp_dbm")[o_rows], "rssi": _num(df, "rssi_dbm")[o_rows],
        "accuracy_unknown": np.isnan(acc[o_sg]), "altitude_m": _num(df, "altitude_m")[o_rows],
    })
    signal["negative"] = signal["reason_code"].to_numpy() > 0
    signal["effective"] = effective_mask(grp[order], signal["t_ms"].to_numpy(), signal["lat"].to_numpy(),
                                         signal["lon"].to_numpy(), min_gap_s=settings.effective_min_gap_s,
                                         min_distance_m=settings.effective_min_distance_m)
    return Evidence(signal=signal, speed=speed, resolution=resolution, samples_read=n_read, left_out=left_out,
                    other_operators=other_ops)


# ---------------------------------------------------------------------------------------------
# Cells


def _iso(ms) -> Any:
    if ms is None or (isinstance(ms, float) and np.isnan(ms)):
        return None
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _local_day(t_ms: np.ndarray, tz: str) -> np.ndarray:
    """Calendar day number (days since 1970-01-01) in the survey's time zone, vectorised."""
    local = pd.DatetimeIndex(pd.to_datetime(t_ms, unit="ms", utc=True)).tz_convert(tz).tz_localize(None)
    return local.asi8 // 86_400_000_000_000 if local.asi8.dtype == np.int64 and local.unit == "ns" else \
        local.as_unit("ms").asi8 // 86_400_000


def _local_text(ms: float, tz: str) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").tz_convert(tz).strftime("%Y-%m-%d %H:%M")


def _needs(eff: int, sessions: int, spread_h: float, first_ms: float, settings: Settings) -> str:
    """What an insufficient cell still needs, in plain words."""
    parts = []
    more = settings.min_effective_samples - int(eff)
    if more > 0:
        parts.append(f"{more} more sample{'s' if more != 1 else ''}")
    missing_sessions = max(0, settings.min_sessions - int(sessions))
    if not (spread_h >= settings.min_session_gap_h) and settings.min_sessions >= 2:
        when = _local_text(first_ms, settings.timezone) if np.isfinite(first_ms) else "the first visit"
        parts.append(f"another session >= {settings.min_session_gap_h:g} h after {when}")
        missing_sessions -= 1
    if missing_sessions > 0:
        parts.append(f"{missing_sessions} more session{'s' if missing_sessions != 1 else ''}")
    return "; ".join(parts)


def cell_table(ev: Evidence, settings: Settings) -> pd.DataFrame:
    """Per cell and operator with samples: counts, bounds and status (no geometry, no area rows)."""
    sig, sp = ev.signal, ev.speed
    ops = list(settings.operators)
    op_index = {o: i for i, o in enumerate(ops)}
    n_ops = max(1, len(ops))
    all_cells = np.concatenate([sig["cell"].to_numpy(dtype=np.uint64), sp["cell"].to_numpy(dtype=np.uint64)])
    cell_codes, cell_uniques = pd.factorize(all_cells, sort=True)
    sig_op = sig["op"].to_numpy(dtype=np.int64)
    sp_op = sp["op"].to_numpy(dtype=np.int64)
    key_sig = cell_codes[:len(sig)] * n_ops + sig_op
    key_sp = cell_codes[len(sig):] * n_ops + sp_op
    n_keys = len(cell_uniques) * n_ops

    eff = sig["effective"].to_numpy()
    neg = sig["negative"].to_numpy()
    reason = sig["reason_code"].to_numpy()
    bc = lambda k, w=None: np.bincount(k, weights=w, minlength=n_keys)  # noqa: E731
    raw = bc(key_sig)
    n_eff = bc(key_sig, eff)
    n_neg = bc(key_sig, eff & neg)
    n_ns = bc(key_sig, eff & (reason == REASON_CODES.index("no_service")))
    n_2g = bc(key_sig, eff & (reason == REASON_CODES.index("2g3g_only")))
    unk_acc = bc(key_sig, sig["accuracy_unknown"].to_numpy())
    t_ms = sig["t_ms"].to_numpy()

    tech_codes = sig["tech_code"].to_numpy(dtype=np.int64)  # -1 unknown
    tech_counts = np.bincount(key_sig * (len(_TECHS) + 1) + (tech_codes + 1),
                              minlength=n_keys * (len(_TECHS) + 1)).reshape(n_keys, len(_TECHS) + 1)
    known = tech_counts[:, 1:]
    tech_main = np.where(known.sum(axis=1) > 0, np.array(_TECHS, dtype=object)[known.argmax(axis=1)], None)
    modern = known[:, 0] + known[:, 1]
    old = known[:, 2] + known[:, 3]
    only_2g3g = (old > 0) & (modern == 0)

    out = pd.DataFrame({"key": np.arange(n_keys)})
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

    # first/last seen over every sample in the cell (signal and speed)
    t_all = np.concatenate([t_ms, sp["t_ms"].to_numpy()])
    k_all = np.concatenate([key_sig, key_sp])
    first = np.full(n_keys, np.inf)
    last = np.full(n_keys, -np.inf)
    if len(k_all):
        s = pd.Series(t_all).groupby(k_all)
        mins, maxs = s.min(), s.max()
        first[mins.index.to_numpy()] = mins.to_numpy()
        last[maxs.index.to_numpy()] = maxs.to_numpy()

    # Sessions, devices, days and the time spread count the visits that gave evidence: sessions
    # with effective samples in the cell.
    dev = sig["device"].to_numpy()[eff]
    e = pd.DataFrame({"key": key_sig[eff], "session": sig["session"].to_numpy()[eff],
                      "device": pd.Series(dev).where(dev >= 0), "t": t_ms[eff]})
    sessions = np.zeros(n_keys, dtype=np.int64)
    devices = np.zeros(n_keys, dtype=np.int64)
    days = np.zeros(n_keys, dtype=np.int64)
    spread_h = np.zeros(n_keys)
    first_visit = first.copy()
    if len(e):
        e["day"] = _local_day(e["t"].to_numpy(), settings.timezone)
        g = e.groupby("key")
        idx = g.size().index.to_numpy()
        sessions[idx] = g["session"].nunique().to_numpy()
        devices[idx] = g["device"].nunique().to_numpy()
        days[idx] = g["day"].nunique().to_numpy()
        starts = e.groupby(["key", "session"])["t"].min().groupby(level=0)
        spread_h[idx] = ((starts.max() - starts.min()) / _MS_PER_H).to_numpy()
        first_visit[idx] = starts.min().to_numpy()
    out["sessions"], out["devices"], out["days"] = sessions, devices, days
    out["first_ms"], out["last_ms"], out["first_visit_ms"] = first, last, first_visit
    out["time_spread_h"] = spread_h

    # Signal percentiles, of the metric that fits the cell's main technology.
    metric = np.where(pd.Series(tech_main).isin(["UMTS"]), "rscp",
                      np.where(pd.Series(tech_main).isin(["GSM"]), "rssi", "rsrp"))
    m_per_sample = metric[key_sig]
    values = np.select([m_per_sample == "rscp", m_per_sample == "rssi"],
                       [sig["rscp"].to_numpy(), sig["rssi"].to_numpy()], sig["rsrp"].to_numpy())
    q = grouped_quantiles(key_sig, values, n_keys, (0.2, 0.5, 0.8))
    out["rsrp_p20_dbm"], out["rsrp_median_dbm"], out["rsrp_p80_dbm"] = q[:, 0], q[:, 1], q[:, 2]
    out["signal_metric"] = np.where(raw > 0, metric, None)
    out["tech_main"] = tech_main
    out["only_2g3g"] = only_2g3g

    # Altitude per cell (all operators), for site suggestions.
    # (over effective samples: enough for a tie-break, and a fraction of the work)
    alt = grouped_quantiles(cell_codes[:len(sig)][eff], sig["altitude_m"].to_numpy()[eff], len(cell_uniques),
                            (0.5,))[:, 0]
    out["altitude_median_m"] = np.repeat(alt, n_ops)

    # Speed tests.
    failed = sp["failed"].to_numpy()
    out["speed_tests"] = np.bincount(key_sp, minlength=n_keys).astype(np.int64)
    out["speed_failed"] = np.bincount(key_sp, weights=failed, minlength=n_keys).astype(np.int64)
    out["speed_passed"] = out["speed_tests"] - out["speed_failed"]
    fs = np.zeros(n_keys, dtype=np.int64)
    if failed.any():
        f = pd.DataFrame({"key": key_sp[failed], "s": sp["session"].to_numpy()[failed]}).groupby("key")["s"].nunique()
        fs[f.index.to_numpy()] = f.to_numpy()
    out["speed_failed_sessions"] = fs
    out["download_median_mbps"] = grouped_quantiles(key_sp, sp["download_mbps"].to_numpy(), n_keys, (0.5,))[:, 0]
    out["upload_median_mbps"] = grouped_quantiles(key_sp, sp["upload_mbps"].to_numpy(), n_keys, (0.5,))[:, 0]

    out = out[(out["samples_raw"] > 0) | (out["speed_tests"] > 0)].copy()
    _classify(out, settings)
    return out.drop(columns=["key"]).reset_index(drop=True)


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
        fv = out["first_visit_ms"].to_numpy()
        for i in ins:
            needs[i] = _needs(eff[i], ses[i], spr[i], fv[i], settings)
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
        full = pd.DataFrame({"cell": np.repeat(in_area, len(settings.operators)),
                             "operator": np.tile(np.array(settings.operators, dtype=object), len(in_area))})
        have = pd.MultiIndex.from_frame(table[["cell", "operator"]].astype({"cell": np.uint64}))
        missing = full[~pd.MultiIndex.from_frame(full).isin(have)].copy()
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
    table["first_seen"] = [_iso(v) if np.isfinite(v) else None for v in table["first_ms"].to_numpy(dtype=float)] \
        if "first_ms" in table.columns else None
    table["last_seen"] = [_iso(v) if np.isfinite(v) else None for v in table["last_ms"].to_numpy(dtype=float)] \
        if "last_ms" in table.columns else None
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
    from surveyor.privacy import distance_m
    from surveyor.render.i18n import compass

    tlat = np.asarray(tlat, dtype=float)
    tlon = np.asarray(tlon, dtype=float)
    ok = np.isfinite(tlat) & np.isfinite(tlon)
    if not ok.any():
        return np.nan, np.nan, None
    tlat, tlon = tlat[ok], tlon[ok]
    d = distance_m(lat, lon, tlat, tlon)
    i = int(np.argmin(d))
    b = float(bearing_deg(lat, lon, tlat[i], tlon[i]))
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

    from surveyor.areas import utm_crs

    settings = settings or Settings()
    empty = gpd.GeoDataFrame({c: [] for c in ZONE_COLUMNS}, geometry=[], crs="EPSG:4326")
    if cells is None or len(cells) == 0:
        return empty
    rows = []
    geoms = []
    for op in sorted(cells["operator"].dropna().unique()):
        dead = cells[(cells["operator"] == op) & (cells["status"] == "dead")]
        if len(dead) == 0:
            continue
        dead_cells = grid.from_hex(dead["h3"])
        labels = grid.neighbours_components(dead_cells)
        covered = cells[(cells["operator"] == op) & (cells["status"] == "covered")]
        op_towers = None
        if towers is not None and len(towers) and {"operator", "lat", "lon"} <= set(towers.columns):
            op_towers = towers[towers["operator"] == op]
        zone_rows = []
        for lab in np.unique(labels):
            member = dead.iloc[np.flatnonzero(labels == lab)]
            geom = shapely.union_all(list(member.geometry))
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
            row.update(_zone_evidence(member, op, settings, evidence))
            row["nearest_signal_m"], row["nearest_signal_bearing_deg"], row["nearest_signal_direction"] = \
                _nearest(clat, clon, covered["lat"], covered["lon"])
            if op_towers is not None and len(op_towers):
                row["nearest_tower_m"], row["nearest_tower_bearing_deg"], row["nearest_tower_direction"] = \
                    _nearest(clat, clon, op_towers["lat"], op_towers["lon"])
            rows.append(row)
            geoms.append(geom)
    if not rows:
        return empty
    out = pd.DataFrame(rows).reindex(columns=ZONE_COLUMNS)
    for c in ("cells", "samples_effective", "samples_raw", "negatives_effective", "sessions", "devices", "days",
              "speed_tests", "speed_failed", "resolution"):
        out[c] = out[c].fillna(0).astype(np.int64)
    for c in ("nearest_signal_m", "nearest_signal_bearing_deg", "nearest_tower_m", "nearest_tower_bearing_deg",
              "rsrp_median_dbm", "area_km2", "centroid_lat", "centroid_lon"):
        out[c] = out[c].astype(float)
    return gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")


def _zone_evidence(member, op: str, settings: Settings, ev: Evidence | None) -> dict[str, Any]:
    """Evidence of one zone, with the bounds recomputed on the zone totals."""
    out: dict[str, Any] = {}
    if ev is not None:
        cells = grid.from_hex(member["h3"])
        sig = ev.signal[(ev.signal["operator"] == op).to_numpy() & np.isin(ev.signal["cell"].to_numpy(), cells)]
        sp = ev.speed[(ev.speed["operator"] == op).to_numpy() & np.isin(ev.speed["cell"].to_numpy(), cells)]
        eff = sig[sig["effective"]]
        n_eff, n_neg = len(eff), int(eff["negative"].sum())
        out.update(samples_effective=n_eff, samples_raw=len(sig), negatives_effective=n_neg,
                   sessions=eff["session"].nunique(), devices=eff["device"][eff["device"] >= 0].nunique())
        out["days"] = len(np.unique(_local_day(eff["t_ms"].to_numpy(), settings.timezone)))
        t_all = np.concatenate([sig["t_ms"].to_numpy(), sp["t_ms"].to_numpy()])
        out["first_seen"] = _iso(t_all.min()) if len(t_all) else None
        out["last_seen"] = _iso(t_all.max()) if len(t_all) else None
        rsrp = sig["rsrp"].dropna()
        out["rsrp_median_dbm"] = float(rsrp.median()) if len(rsrp) else np.nan
        out["speed_tests"], out["speed_failed"] = len(sp), int(sp["failed"].sum())
        ns = int((eff["reason_code"] == REASON_CODES.index("no_service")).sum())
        g2 = int((eff["reason_code"] == REASON_CODES.index("2g3g_only")).sum())
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
