"""Evidence: the samples that count, judged one by one, ready to be counted per cell.

:func:`prepare_evidence` filters the samples (unplaced, exclusion zones, no time, indoor, GPS
accuracy, other operators), answers the 4G question per sample with
:func:`surveyor.analyse.rules.negative_reasons`, judges speed tests with
:func:`surveyor.analyse.rules.speed_failed`, marks the *effective* samples
(:func:`surveyor.analyse.effective.effective_mask`) and assigns H3 cells. The result,
:class:`Evidence`, holds one numpy array per quantity (:class:`SignalSamples`,
:class:`SpeedTests`): what the cells and zones count.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from surveyor.analyse.effective import effective_mask
from surveyor.analyse.rules import NEGATIVE_REASONS, negative_reasons, speed_failed
from surveyor.analyse.times import NO_TIME_MS, utc_ms
from surveyor.config import Settings
from surveyor.geo import cells as grid
from surveyor.model import TECHS

__all__ = ["REASON_CODES", "SAMPLE_COLUMNS", "Evidence", "SignalSamples", "SpeedTests", "prepare_evidence"]

# Columns of the samples layer the analysis reads.
SAMPLE_COLUMNS = ["time", "lat", "lon", "accuracy_m", "altitude_m", "environment", "device", "session",
                  "kind", "operator", "tech", "service", "rsrp_dbm", "nr_rsrp_dbm", "rscp_dbm", "rssi_dbm",
                  "level", "download_mbps", "upload_mbps", "test", "h3_10", "source_file", "sample_id"]

# Reason codes of the evidence: 0 is "not negative", then the reasons of the rule.
REASON_CODES = (None, *NEGATIVE_REASONS)


@dataclass
class _Columns:
    """Arrays of equal length, one per field; a DataFrame of them on demand. (A dataclass without
    fields of its own, so :func:`dataclasses.fields` applies to it; the subclasses declare them.)"""

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))

    def frame(self, operators: tuple[str, ...] = ()) -> pd.DataFrame:
        """The arrays as a DataFrame, plus ``operator`` (the name of ``op`` among ``operators``)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        op = data["op"]
        data["operator"] = (pd.Categorical.from_codes(op, categories=list(operators)) if operators
                            else pd.Categorical([None] * len(op)))
        return pd.DataFrame(data)


@dataclass
class SignalSamples(_Columns):
    """The signal and manual samples that count, sorted by session and operator, then time.

    Attributes
    ----------
    cell : numpy.ndarray of uint64
        H3 cell (integer form) at the analysis resolution.
    op : numpy.ndarray of int
        Operator, as an index into :attr:`Evidence.operators`.
    session : numpy.ndarray of int
        Session code (samples without a session: one code per source file).
    device : numpy.ndarray of int
        Device code; -1 when the device is unknown.
    t_ms : numpy.ndarray of int64
        Time, UTC epoch milliseconds.
    lat, lon : numpy.ndarray of float
        Position, WGS84 degrees.
    reason_code : numpy.ndarray of int8
        Why the sample says "no usable 4G": an index into :data:`REASON_CODES`, 0 when it does not.
    negative : numpy.ndarray of bool
        ``reason_code > 0``.
    effective : numpy.ndarray of bool
        The sample counts as an effective sample (:func:`~surveyor.analyse.effective.effective_mask`
        per session and operator).
    tech_code : numpy.ndarray of int8
        Technology, an index into :data:`surveyor.model.TECHS`; -1 when unknown.
    rsrp_dbm : numpy.ndarray of float
        RSRP (dBm), the better of the LTE anchor and 5G NR SS-RSRP; NaN when unknown.
    rscp_dbm, rssi_dbm : numpy.ndarray of float
        UMTS RSCP and GSM RSSI (dBm); NaN when unknown.
    accuracy_unknown : numpy.ndarray of bool
        The GPS accuracy is unknown (such samples are kept, and their share reported).
    altitude_m : numpy.ndarray of float
        Altitude (m); NaN when unknown.
    """

    cell: np.ndarray
    op: np.ndarray
    session: np.ndarray
    device: np.ndarray
    t_ms: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    reason_code: np.ndarray
    negative: np.ndarray
    effective: np.ndarray
    tech_code: np.ndarray
    rsrp_dbm: np.ndarray
    rscp_dbm: np.ndarray
    rssi_dbm: np.ndarray
    accuracy_unknown: np.ndarray
    altitude_m: np.ndarray


@dataclass
class SpeedTests(_Columns):
    """The speed tests that count (those with a result: failed, ok, or a measured speed).

    Attributes
    ----------
    cell, op, session, t_ms : numpy.ndarray
        As in :class:`SignalSamples`.
    failed : numpy.ndarray of bool
        The test failed (:func:`surveyor.analyse.rules.speed_failed`).
    download_mbps, upload_mbps : numpy.ndarray of float
        Measured speeds (Mbit/s); NaN when not measured.
    """

    cell: np.ndarray
    op: np.ndarray
    session: np.ndarray
    t_ms: np.ndarray
    failed: np.ndarray
    download_mbps: np.ndarray
    upload_mbps: np.ndarray


@dataclass
class Evidence:
    """Samples ready to be counted: the signal and manual samples apart from the speed tests.

    Attributes
    ----------
    signal : SignalSamples
        Signal and manual samples.
    speed : SpeedTests
        Speed tests, judged apart from the signal (docs/method.md).
    resolution : int
        H3 resolution of the cells.
    operators : tuple of str
        The operators analysed (``settings.operators``); ``op`` codes index into it.
    samples_read : int
        Samples given, before any was left out.
    left_out : dict of str to int
        Samples left out per reason (see :func:`prepare_evidence`).
    other_operators : dict of str to int
        Samples of operators that are not analysed, per operator.
    """

    signal: SignalSamples
    speed: SpeedTests
    resolution: int
    operators: tuple[str, ...] = ()
    samples_read: int = 0
    left_out: dict[str, int] = field(default_factory=dict)
    other_operators: dict[str, int] = field(default_factory=dict)

    def signal_frame(self) -> pd.DataFrame:
        """The signal samples as a DataFrame, with the operator's name in ``operator``."""
        return self.signal.frame(self.operators)


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(None, index=df.index, dtype=object)


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
    key: np.ndarray = np.zeros(len(kc), dtype=np.int32 if space < 2 ** 31 else np.int64)
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

    def pick(u, c):
        return np.array([None] + list(u), dtype=object)[c]

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
    t_ms = utc_ms(_col(df, "time")) if n_read else np.zeros(0, dtype=np.int64)
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
    drop("no_time", t_ms == NO_TIME_MS)
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
    take = (lambda a: a) if all_kept else (lambda a: a[idx])
    lat, lon, t_ms, op_idx = take(lat), take(lon), take(t_ms), take(op_idx)
    h3_10 = (df["h3_10"] if all_kept else df["h3_10"].iloc[idx]) if "h3_10" in df.columns else None
    cells = grid.assign_cells(lat, lon, resolution, h3_10=h3_10)
    # Text columns are coded for the rows wanted only (kept rows here, signal rows below).

    def sub(name, narrow=False):
        return _codes(df, name, narrow, mask=None if all_kept else keep)

    ses_c, ses_u = sub("session")
    if (ses_c < 0).any():
        # Samples without a session are grouped per source file, as the sessions layer does.
        src_c, _ = sub("source_file")
        missing = ses_c < 0
        extra, _ = pd.factorize(pd.Series(src_c[missing]))
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
    speed = SpeedTests(cell=cells[sp_j], op=op_idx[sp_j], session=ses_c[sp_j], t_ms=t_ms[sp_j],
                       failed=failed[judged], download_mbps=dl[judged], upload_mbps=ul[judged])

    # -- signal and manual samples --
    no_speed = not len(sp_i)
    sg = np.arange(len(idx)) if no_speed else np.flatnonzero(~is_speed)
    rows = idx if no_speed else idx[sg]
    in_sg = (lambda a: a) if no_speed else (lambda a: a[sg])
    if all_kept and no_speed:
        sig_rows = None
    else:  # the kept rows that are not speed tests
        sig_rows = keep.copy()
        sig_rows[sp_rows] = False

    def full(name, narrow=True):
        return _codes(df, name, narrow, mask=sig_rows)

    def num(name):
        return _num(df, name) if sig_rows is None else _num(df, name)[rows]

    best = np.fmax(num("rsrp_dbm"), num("nr_rsrp_dbm"))
    tech_c, tech_u = full("tech")
    reason = _reason_codes((in_sg(kind[0]), kind[1]), full("service"), (tech_c, tech_u), full("level"), best,
                           settings)
    tech_lut = np.array([TECHS.index(t) if t in TECHS else -1 for t in tech_u] + [-1], dtype=np.int8)
    # Effective samples: per session AND operator, because a dual-SIM phone logs two independent
    # series of observations (one per network) in one session.
    grp = in_sg(ses_c) * (len(ops) + 1) + in_sg(op_idx)
    t_sg = in_sg(t_ms)
    # Samples of one time in a session are taken in sample_id order, as the database reads them.
    ids = df["sample_id"] if "sample_id" in df.columns else None
    tie = (ids.to_numpy(dtype=np.int64)[rows] if ids is not None and ids.dtype.kind in "iu" and not ids.isna().any()
           else None)
    order = _group_time_order(grp, t_sg, tie)
    pick = (lambda a: a) if order is None else (lambda a: a[order])
    o_sg = sg if order is None else sg[order]

    def at(a):
        return in_sg(a) if order is None else a[o_sg]

    reason = pick(reason)
    t_sorted, lat_sorted, lon_sorted = pick(t_sg), at(lat), at(lon)
    effective = effective_mask(pick(grp), t_sorted, lat_sorted, lon_sorted,
                               min_gap_s=settings.effective_min_gap_s,
                               min_distance_m=settings.effective_min_distance_m)
    signal = SignalSamples(
        cell=at(cells), op=at(op_idx), session=at(ses_c), device=pick(full("device", False)[0]), t_ms=t_sorted,
        lat=lat_sorted, lon=lon_sorted, reason_code=reason, negative=reason > 0, effective=effective,
        tech_code=tech_lut[pick(tech_c)], rsrp_dbm=pick(best), rscp_dbm=pick(num("rscp_dbm")),
        rssi_dbm=pick(num("rssi_dbm")), accuracy_unknown=pick(np.isnan(acc if sig_rows is None else acc[rows])),
        altitude_m=pick(num("altitude_m")))
    return Evidence(signal=signal, speed=speed, resolution=resolution, operators=tuple(ops), samples_read=n_read,
                    left_out=left_out, other_operators=other_ops)


def _group_time_order(grp: np.ndarray, t: np.ndarray, tie: np.ndarray | None = None) -> np.ndarray | None:
    """The order that sorts samples by group, then time, then ``tie`` (stable without it), or None
    when they already are (samples usually come in session and time order, which saves a sort and
    every gather)."""
    if len(grp) < 2:
        return None
    same = grp[1:] == grp[:-1]
    if (grp[1:] >= grp[:-1]).all() and (~same | (t[1:] >= t[:-1])).all():
        if tie is None:
            return None
        same_t = same & (t[1:] == t[:-1])
        if not same_t.any() or (tie[1:][same_t] > tie[:-1][same_t]).all():
            return None
    return np.lexsort((t, grp)) if tie is None else np.lexsort((tie, t, grp))
