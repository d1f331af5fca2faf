"""Cells rolled up to a coarser H3 resolution (9 or 8) for reports and areas larger than a village."""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveyor.geo.cells import cell_centres, cell_polygons, from_hex, parent_cells, to_hex


def rollup(cells, resolution: int, settings=None):
    """Roll a ``cells`` layer up to a coarser H3 resolution (9 or 8 for reports).

    Counts (raw, effective and negative samples, speed tests) are summed over the child cells of
    each parent and operator, and the share and its bounds are recomputed on the sums. Distinct
    counts (sessions, devices, days) cannot be summed, so the parent carries the largest child
    value: a lower bound of the true number. A parent has enough evidence when one of its
    children had, or when its sums meet the thresholds with a child that met the session rules.
    Status: dead / covered / marginal from the recomputed bounds when there is enough evidence
    (or when a child is dead by speed tests), insufficient otherwise, and not_surveyed when every
    child was not surveyed.

    Parameters
    ----------
    cells
        The ``cells`` layer (GeoDataFrame) as written by ``surveyor analyze``.
    resolution
        Target H3 resolution, coarser than the cells'.
    settings
        :class:`surveyor.config.Settings` for the thresholds (defaults when None).

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of the ``cells`` layer that can be aggregated, plus ``child_cells`` and
        ``dead_child_cells``.
    """
    import geopandas as gpd

    from surveyor.analyse.stats import clopper_pearson
    from surveyor.config import Settings

    settings = settings or Settings()
    if len(cells) == 0:
        return gpd.GeoDataFrame(cells.copy(), geometry=[], crs="EPSG:4326")
    src_res = int(cells["resolution"].iloc[0])
    if resolution > src_res:
        raise ValueError(f"cannot roll up resolution {src_res} cells to a finer resolution {resolution}")
    df = pd.DataFrame(cells.drop(columns="geometry", errors="ignore")).copy()
    df["parent"] = parent_cells(from_hex(df["h3"]), resolution)
    surveyed = df["status"] != "not_surveyed"
    df["_enough"] = df["status"].isin(["dead", "covered", "marginal"]) & (df.get("dead_by", "") != "speed_tests")
    df["_speed_dead"] = df.get("dead_by", pd.Series("", index=df.index)).fillna("") == "speed_tests"
    df["_dead"] = df["status"] == "dead"
    df["_surveyed"] = surveyed
    df["_nns"] = df["share_no_service"].fillna(0) * df["samples_effective"]
    df["_n2g"] = df["share_2g3g"].fillna(0) * df["samples_effective"]
    sums = ["samples_raw", "samples_effective", "negatives_effective", "speed_tests", "speed_failed", "_nns", "_n2g"]
    maxes = ["sessions", "devices", "days", "time_spread_h"]
    g = df.groupby(["parent", "operator"], sort=True)
    out = g[sums].sum()
    out[maxes] = g[maxes].max()
    out["first_seen"] = g["first_seen"].min()
    out["last_seen"] = g["last_seen"].max()
    out["child_cells"] = g.size()
    out["dead_child_cells"] = g["_dead"].sum()
    out["surveyed"] = g["_surveyed"].any()
    out["enough_child"] = g["_enough"].any()
    out["speed_dead"] = g["_speed_dead"].any()
    out["area_code"] = g["area_code"].first()
    out["outside_area"] = g["outside_area"].all()
    out = out.reset_index()
    n = out["samples_effective"].to_numpy(dtype=float)
    k = out["negatives_effective"].to_numpy(dtype=float)
    lower, upper = clopper_pearson(k, n, settings.confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_negative"] = np.where(n > 0, k / n, np.nan)
        out["share_no_service"] = np.where(n > 0, out.pop("_nns") / n, np.nan)
        out["share_2g3g"] = np.where(n > 0, out.pop("_n2g") / n, np.nan)
    out["lower_95"], out["upper_95"] = lower, upper
    enough = out["enough_child"] | ((n >= settings.min_effective_samples)
                                    & (out["sessions"] >= settings.min_sessions)
                                    & (out["time_spread_h"] >= settings.min_session_gap_h))
    status = np.where(lower > settings.dead_lower_bound, "dead",
                      np.where(upper < settings.covered_upper_bound, "covered", "marginal"))
    status = np.where(enough, status, "insufficient")
    status = np.where(out["speed_dead"], "dead", status)
    status = np.where(out["surveyed"], status, "not_surveyed")
    out["status"] = status
    out["h3"] = to_hex(out.pop("parent").to_numpy(dtype=np.uint64))
    out["resolution"] = resolution
    parents = from_hex(out["h3"])
    out["lat"], out["lon"] = cell_centres(parents)
    out = out.drop(columns=["enough_child", "speed_dead", "surveyed"])
    return gpd.GeoDataFrame(out, geometry=list(cell_polygons(parents)), crs="EPSG:4326")
