"""Cells: the ``cells`` layer, one row per H3 cell and operator (docs/layers.md).

:func:`cell_table` counts the :class:`~surveyor.analyse.evidence.Evidence` per cell and operator
(raw and effective samples, negatives and their sub-reasons, sessions, devices, days, signal
percentiles, speed tests) and judges each one (docs/method.md): ``dead``, ``covered`` or
``marginal`` from the Clopper-Pearson bounds of the negative share when there is enough evidence,
``dead`` from failed speed tests alone, ``insufficient`` otherwise. :func:`compute_cells` adds the
cells of the area nobody surveyed (``not_surveyed``), the geometry, the area and the dusun.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveyor.analyse.evidence import REASON_CODES, Evidence, prepare_evidence
from surveyor.analyse.stats import clopper_pearson, grouped_quantiles
from surveyor.analyse.times import iso_utc, local_days, local_text
from surveyor.config import Settings
from surveyor.geo import cells as grid
from surveyor.model import TECHS

__all__ = ["CELL_COLUMNS", "COUNT_COLUMNS", "STATUSES", "cell_table", "compute_cells", "count_cells", "judge_cells"]

STATUSES = ("dead", "marginal", "covered", "insufficient", "not_surveyed")

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

_MS_PER_H = 3_600_000.0


def _needs(eff: int, sessions: int, spread_h: float, first_visit: str | None, settings: Settings) -> str:
    """What an insufficient cell still needs, in plain words; ``first_visit`` is the local time
    of the first visit that gave evidence (None when no visit did)."""
    parts = []
    more = settings.min_effective_samples - int(eff)
    if more > 0:
        parts.append(f"{more} more sample{'s' if more != 1 else ''}")
    missing_sessions = max(0, settings.min_sessions - int(sessions))
    if not (spread_h >= settings.min_session_gap_h) and settings.min_sessions >= 2:
        parts.append(f"another session >= {settings.min_session_gap_h:g} h after {first_visit or 'the first visit'}")
        missing_sessions -= 1
    if missing_sessions > 0:
        parts.append(f"{missing_sessions} more session{'s' if missing_sessions != 1 else ''}")
    return "; ".join(parts)


# What is counted per cell and operator before anything is judged: :func:`count_cells` counts it
# from the samples, :mod:`surveyor.analyse.sql` in the database; :func:`judge_cells` does the rest
# for both, so the two give the same cells.
COUNT_COLUMNS = [
    "cell", "operator", "samples_raw", "samples_effective", "negatives_effective", "no_service_effective",
    "only_2g3g_effective", "unknown_accuracy", "sessions", "devices", "days", "first_ms", "last_ms",
    "first_visit_ms", "time_spread_h", "rsrp_p20_dbm", "rsrp_median_dbm", "rsrp_p80_dbm", "signal_metric",
    "tech_main", "only_2g3g", "altitude_median_m", "speed_tests", "speed_failed", "speed_failed_sessions",
    "download_median_mbps", "upload_median_mbps",
]


def cell_table(ev: Evidence, settings: Settings) -> pd.DataFrame:
    """Per cell and operator with samples: counts, bounds and status (no geometry, no area rows)."""
    return judge_cells(count_cells(ev, settings), settings)


def count_cells(ev: Evidence, settings: Settings) -> pd.DataFrame:
    """What :data:`COUNT_COLUMNS` counts, per cell and operator (every operator of the settings for
    every cell with a sample; :func:`judge_cells` drops the pairs without any)."""
    sig, sp = ev.signal, ev.speed
    n_sig = len(sig)
    ops = list(settings.operators)
    n_ops = max(1, len(ops))
    all_cells = np.concatenate([sig.cell.astype(np.uint64, copy=False), sp.cell.astype(np.uint64, copy=False)])
    cell_codes, cell_uniques = _factorize_sorted(all_cells)
    sig_op = sig.op.astype(np.int64, copy=False)
    sp_op = sp.op.astype(np.int64, copy=False)
    key_sig = cell_codes[:n_sig] * n_ops + sig_op
    key_sp = cell_codes[n_sig:] * n_ops + sp_op
    n_keys = len(cell_uniques) * n_ops

    eff = np.flatnonzero(sig.effective)  # the effective samples are few: index them once
    neg = sig.negative
    reason = sig.reason_code

    def bc(k, w=None):
        return np.bincount(k, weights=w, minlength=n_keys)

    raw = bc(key_sig)
    k_eff = key_sig[eff]
    n_eff = bc(k_eff).astype(float)
    n_neg = bc(k_eff[neg[eff]]).astype(float)
    r_eff = reason[eff]
    n_ns = bc(k_eff[r_eff == REASON_CODES.index("no_service")]).astype(float)
    n_2g = bc(k_eff[r_eff == REASON_CODES.index("2g3g_only")]).astype(float)
    unk_acc = bc(key_sig[sig.accuracy_unknown]).astype(float)
    t_ms = sig.t_ms

    tech_codes = sig.tech_code.astype(np.int64)  # -1 unknown
    tech_counts = np.bincount(key_sig * (len(TECHS) + 1) + (tech_codes + 1),
                              minlength=n_keys * (len(TECHS) + 1)).reshape(n_keys, len(TECHS) + 1)
    known = tech_counts[:, 1:]
    # numpy's stubs take where(c, x, None) for the one-argument where() (an index tuple)
    tech_main: np.ndarray = np.where(  # type: ignore[assignment]
        known.sum(axis=1) > 0, np.array(TECHS, dtype=object)[known.argmax(axis=1)], None)
    modern = known[:, 0] + known[:, 1]
    old = known[:, 2] + known[:, 3]
    only_2g3g = (old > 0) & (modern == 0)

    out: dict[str, np.ndarray] = {}
    out["cell"] = np.repeat(cell_uniques.astype(np.uint64), n_ops)
    out["operator"] = np.tile(np.array(ops, dtype=object), len(cell_uniques))
    out["samples_raw"] = raw.astype(np.int64)
    out["samples_effective"] = n_eff.astype(np.int64)
    out["negatives_effective"] = n_neg.astype(np.int64)
    out["no_service_effective"] = n_ns.astype(np.int64)
    out["only_2g3g_effective"] = n_2g.astype(np.int64)
    out["unknown_accuracy"] = unk_acc.astype(np.int64)

    # first/last seen over every sample in the cell (signal and speed). Signal samples are sorted
    # by group (session and operator) and time, so within a run of one key and one group the
    # first sample is the earliest and the last the latest: only run ends need comparing.
    first = np.full(n_keys, np.inf)
    last = np.full(n_keys, -np.inf)
    if n_sig:
        grp = sig.session.astype(np.int64) * (len(ops) + 1) + sig_op
        brk = np.flatnonzero((key_sig[1:] != key_sig[:-1]) | (grp[1:] != grp[:-1]))
        heads = np.concatenate(([0], brk + 1))
        tails = np.append(brk, n_sig - 1)
        k_all = np.concatenate([key_sig[heads], key_sp])
        lo_all = np.concatenate([t_ms[heads], sp.t_ms]).astype(float)
        hi_all = np.concatenate([t_ms[tails], sp.t_ms]).astype(float)
    else:
        k_all, lo_all, hi_all = key_sp, sp.t_ms.astype(float), sp.t_ms.astype(float)
    np.minimum.at(first, k_all, lo_all)
    np.maximum.at(last, k_all, hi_all)

    # Sessions, devices, days and the time spread count the visits that gave evidence: sessions
    # with effective samples in the cell.
    ses_e = sig.session[eff].astype(np.int64)
    dev_e = sig.device[eff].astype(np.int64)
    t_e = t_ms[eff]
    sessions = _distinct_per_key(k_eff, ses_e, n_keys)
    devices = _distinct_per_key(k_eff[dev_e >= 0], dev_e[dev_e >= 0], n_keys)
    days = _distinct_per_key(k_eff, local_days(t_e, settings.timezone) if len(t_e) else t_e, n_keys)
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
        values = sig.rsrp_dbm
    else:
        m_per_sample = metric[key_sig]
        values = np.select([m_per_sample == "rscp", m_per_sample == "rssi"], [sig.rscp_dbm, sig.rssi_dbm], sig.rsrp_dbm)
    q = grouped_quantiles(key_sig, values, n_keys, (0.2, 0.5, 0.8))
    out["rsrp_p20_dbm"], out["rsrp_median_dbm"], out["rsrp_p80_dbm"] = q[:, 0], q[:, 1], q[:, 2]
    # numpy's stubs leave None (an object array's value) out of where() and select()
    out["signal_metric"] = np.where(raw > 0, metric, None)  # type: ignore[call-overload]
    out["tech_main"] = tech_main
    out["only_2g3g"] = only_2g3g

    # Altitude per cell (all operators), for site suggestions.
    # (over effective samples: enough for a tie-break, and a fraction of the work)
    alt = grouped_quantiles(cell_codes[eff], sig.altitude_m[eff], len(cell_uniques), (0.5,))[:, 0]
    out["altitude_median_m"] = np.repeat(alt, n_ops)

    # Speed tests.
    failed = sp.failed.astype(bool)
    out["speed_tests"] = np.bincount(key_sp, minlength=n_keys).astype(np.int64)
    out["speed_failed"] = np.bincount(key_sp[failed], minlength=n_keys).astype(np.int64)
    out["speed_failed_sessions"] = _distinct_per_key(key_sp[failed], sp.session[failed].astype(np.int64), n_keys)
    out["download_median_mbps"] = grouped_quantiles(key_sp, sp.download_mbps, n_keys, (0.5,))[:, 0]
    out["upload_median_mbps"] = grouped_quantiles(key_sp, sp.upload_mbps, n_keys, (0.5,))[:, 0]
    return pd.DataFrame(out, columns=COUNT_COLUMNS)


def judge_cells(counts: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The shares, their Clopper-Pearson bounds and the status of each cell and operator with a
    sample, from what :func:`count_cells` counts (:data:`COUNT_COLUMNS`)."""
    out = {c: counts[c].to_numpy() for c in COUNT_COLUMNS}
    raw = out["samples_raw"].astype(float)
    n_eff = out["samples_effective"].astype(float)
    n_neg = out["negatives_effective"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_negative"] = np.where(n_eff > 0, n_neg / n_eff, np.nan)
        out["share_no_service"] = np.where(n_eff > 0, out["no_service_effective"].astype(float) / n_eff, np.nan)
        out["share_2g3g"] = np.where(n_eff > 0, out["only_2g3g_effective"].astype(float) / n_eff, np.nan)
        out["unknown_accuracy_share"] = np.where(raw > 0, out["unknown_accuracy"].astype(float) / raw, np.nan)
    out["lower_95"], out["upper_95"] = clopper_pearson(n_neg, n_eff, settings.confidence)
    out["speed_passed"] = out["speed_tests"] - out["speed_failed"]
    have = (out["samples_raw"] > 0) | (out["speed_tests"] > 0)
    table = pd.DataFrame({k: v[have] for k, v in out.items()})
    _classify(table, settings)
    return (table.drop(columns=["no_service_effective", "only_2g3g_effective", "unknown_accuracy"])
            .reset_index(drop=True))


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
    """Status, dead_by, weak_signal and needs, in place (docs/method.md)."""
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
    out["dead_by"] = np.select([by_signal, by_speed], ["signal", "speed_tests"], None)  # type: ignore[call-overload]
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
        first_visit = local_text(out["first_visit_ms"].to_numpy(dtype=float)[ins], settings.timezone)
        for j, i in enumerate(ins):
            needs[i] = _needs(eff[i], ses[i], spr[i], first_visit[j], settings)
    out["needs"] = needs


def compute_cells(samples: pd.DataFrame | Evidence | None, settings: Settings, boundary=None, dusun=None,
                  resolution: int | None = None, *, table: pd.DataFrame | None = None):
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
    table
        The judged cells (:func:`judge_cells`) when they were counted elsewhere (in the database:
        :mod:`surveyor.analyse.sql`); ``samples`` is then not read and ``resolution`` must be given.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 polygons, columns :data:`CELL_COLUMNS`.
    """
    import geopandas as gpd
    import shapely

    if table is None:
        ev = samples if isinstance(samples, Evidence) else prepare_evidence(samples, settings, resolution)
        res = ev.resolution
        table = cell_table(ev, settings)
    else:
        res = grid.check_resolution(resolution if resolution is not None else settings.resolution)
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
        missing = pd.DataFrame({"cell": np.repeat(in_area, n_ops)[miss],
                                "operator": np.tile(op_names, len(in_area))[miss]})
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
    table["first_seen"] = iso_utc(table["first_ms"].to_numpy(dtype=float)) if "first_ms" in table.columns else None
    table["last_seen"] = iso_utc(table["last_ms"].to_numpy(dtype=float)) if "last_ms" in table.columns else None
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
    geoms = list(polys[inv][order]) if len(uniq) else []
    return gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")
