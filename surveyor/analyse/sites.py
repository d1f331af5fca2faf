"""Site suggestions: where one new site of a given radius would serve the most dead cells.

These are suggestions for an operator's radio planning, NOT a propagation model: a site is assumed
to serve every cell whose centre lies within ``radius_m`` of it, whatever hills lie between. They
say where the measured need is concentrated and which surveyed, reachable places (cells where
someone measured some signal) lie near it; an operator's planners decide the rest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveyor.config import Settings

NOTE = ("Suggestion for an operator's radio planning, not a propagation model: a site is assumed to "
        "serve every cell centre within radius_m.")

SITE_COLUMNS = ["rank", "operator", "h3", "lat", "lon", "altitude_m", "dead_cells_served", "samples_served",
                "zone_ids", "radius_m", "area_code", "note"]


def suggest_sites(cells, settings: Settings | None = None, zones=None, *, radius_m: float | None = None,
                  top_k: int | None = None):
    """Greedy site suggestions per operator.

    Candidates are the cells where someone measured a signal that was judged covered or marginal
    (for any operator: surveyed places people can reach). For each operator, the candidate that
    serves the most dead cells of that operator not yet served by a better-ranked suggestion is
    picked, ties broken by higher median measured altitude (a hill sees further), then by samples
    served, then by cell id; this repeats ``top_k`` times or until no dead cell is left unserved.

    Parameters
    ----------
    cells
        The ``cells`` layer.
    settings
        ``radius_m``, ``top_k`` and the area code.
    zones
        The ``dead_zones`` layer, to name the zones each suggestion serves (optional).
    radius_m, top_k
        Override the settings.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points, columns :data:`SITE_COLUMNS`; ``dead_cells_served`` and
        ``samples_served`` (effective samples of those dead cells) count what each suggestion adds
        to the better-ranked ones.
    """
    import geopandas as gpd
    from pyproj import Transformer
    from scipy.spatial import cKDTree

    from surveyor.geo.areas import utm_crs

    settings = settings or Settings()
    radius_m = float(radius_m if radius_m is not None else settings.radius_m)
    top_k = int(top_k if top_k is not None else settings.top_k)
    def empty():
        return gpd.GeoDataFrame({c: [] for c in SITE_COLUMNS}, geometry=[], crs="EPSG:4326")

    if cells is None or len(cells) == 0 or top_k <= 0:
        return empty()
    # Plain columns: filtering a GeoDataFrame costs far more than the arithmetic here.
    cells = pd.DataFrame({c: cells[c].to_numpy() for c in ("h3", "operator", "status", "lat", "lon",
                                                             "samples_effective", "altitude_median_m")
                          if c in cells.columns})
    is_cand = cells["status"].isin(["covered", "marginal"]).to_numpy()
    if not is_cand.any():
        return empty()
    # One candidate per cell (any operator), in h3 order: the first row's centre, the highest altitude.
    h3_all = cells["h3"].to_numpy(dtype=object)[is_cand]
    uniq, first_i, inv = np.unique(h3_all, return_index=True, return_inverse=True)
    alt_all = (cells["altitude_median_m"].to_numpy(dtype=float)[is_cand] if "altitude_median_m" in cells.columns
               else np.full(len(h3_all), np.nan))
    alt_max = np.full(len(uniq), np.nan)
    np.fmax.at(alt_max, inv.ravel(), alt_all)
    cand = pd.DataFrame({"h3": uniq, "lat": cells["lat"].to_numpy()[is_cand][first_i],
                         "lon": cells["lon"].to_numpy()[is_cand][first_i], "_alt": alt_max})
    crs = utm_crs(float(cells["lon"].mean()), float(cells["lat"].mean()))
    # Radius in UTM metres (a planar circle is what "covers within radius_m" means at village scale).
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    cx, cy = fwd.transform(cand["lon"].to_numpy(), cand["lat"].to_numpy())
    zone_of: dict[tuple[str, str], str] = {}
    if zones is not None and len(zones) and "h3_cells" in zones.columns:
        for zid, op, hs in zip(zones["zone_id"], zones["operator"], zones["h3_cells"]):
            for h in str(hs).split(","):
                zone_of[(op, h)] = zid
    rows = []
    for op in sorted(cells["operator"].dropna().unique()):
        dead = cells[((cells["operator"] == op) & (cells["status"] == "dead")).to_numpy()].reset_index(drop=True)
        if len(dead) == 0:
            continue
        dx, dy = fwd.transform(dead["lon"].to_numpy(), dead["lat"].to_numpy())
        tree = cKDTree(np.column_stack([dx, dy]))
        served = tree.query_ball_point(np.column_stack([cx, cy]), r=radius_m)
        weight = dead["samples_effective"].to_numpy(dtype=np.int64)
        alt = np.nan_to_num(cand["_alt"].to_numpy(dtype=float), nan=-1e9)
        left = np.ones(len(dead), dtype=bool)
        # The dead cells each candidate serves, flat (cell index, candidate index), so the gains of
        # all candidates are two bincounts.
        n_served = np.array([len(s) for s in served], dtype=np.int64)
        flat = np.fromiter((j for s in served for j in s), dtype=np.int64, count=int(n_served.sum()))
        owner = np.repeat(np.arange(len(served)), n_served)
        for rank in range(1, top_k + 1):
            left_flat = left[flat]
            gain = np.bincount(owner[left_flat], minlength=len(served)).astype(np.int64)
            if gain.max(initial=0) <= 0:
                break
            samples = np.bincount(owner[left_flat], weights=weight[flat][left_flat],
                                  minlength=len(served)).astype(np.int64)
            # lexsort: last key is primary
            best = np.lexsort((cand["h3"].to_numpy(), -samples, -alt, -gain))[0]
            hit = [j for j in served[best] if left[j]]
            left[hit] = False
            zids = sorted({zone_of[(op, h)] for h in dead["h3"].iloc[hit] if (op, h) in zone_of})
            a = cand["_alt"].iloc[best]
            rows.append({"rank": rank, "operator": op, "h3": cand["h3"].iloc[best],
                         "lat": float(cand["lat"].iloc[best]), "lon": float(cand["lon"].iloc[best]),
                         "altitude_m": float(a) if pd.notna(a) else np.nan,
                         "dead_cells_served": len(hit), "samples_served": int(weight[hit].sum()),
                         "zone_ids": ",".join(zids), "radius_m": radius_m, "area_code": settings.code,
                         "note": NOTE})
    if not rows:
        return empty()
    out = pd.DataFrame(rows, columns=SITE_COLUMNS)
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")
