"""Where a new tower or repeater would serve the most dead places, per operator.

Targets are an operator's cells that are dead by evidence, plus cells without an evidence class
that the calibrated prediction calls dead; each weighs 1 plus the buildings in it (from the
basemap's ``buildings`` layer, when imported), so a hamlet counts for more than a ravine.
Candidates are the village's own high points (local maxima of the DEM inside the area, at least
300 m apart), or the plots a village can offer (``--candidates plots.geojson``). Every candidate is
tried at every mast height (15, 30, 42 m by default): a target is served when the predicted RSRP
from the new site, with the operator's calibration and default EIRP, reaches the usable-4G
threshold plus a margin. Then k sites are chosen greedily, each the (candidate, height) that serves
the most weight not yet served (ties: the lower mast, then the higher ground).

A proposal lists what Indonesian proposals ask for: the mast height, the cells and buildings it
would newly serve (dead by evidence apart from predicted dead), the distance to the nearest road,
and BAKTI's site requirements (a 20 x 20 m plot with power, access, someone to guard it), filled
from the plot's properties when the village gave them. It is a suggestion for an operator's radio
planning, not a plan.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from surveyor.analyse.terrain.constants import (
    BAKTI_PLOT_M,
    CLUTTER_HEIGHT_M,
    DEFAULT_FREQUENCY_MHZ,
    EIRP_PER_RE_DBM,
    PHONE_HEIGHT_M,
    SITE_CANDIDATE_SPACING_M,
    SITE_CANDIDATES,
    SITE_MARGIN_DB,
    SITE_MAST_HEIGHTS_M,
    SITE_TOP_K,
)
from surveyor.analyse.terrain.context import TerrainContext
from surveyor.analyse.terrain.model import Calibration
from surveyor.config import Settings
from surveyor.errors import InputError

PROPOSAL_COLUMNS = ["rank", "operator", "candidate", "source", "name", "lat", "lon", "ground_m", "mast_height_m",
                    "cells_served", "dead_cells_served", "predicted_dead_cells_served", "buildings_served",
                    "weight_served", "nearest_road_m", "land", "power", "access", "guard", "h3_served", "area_code",
                    "note"]
PLOT_FIELDS = ("land", "power", "access", "guard")
NOTE = ("Suggestion for the operator's radio planning from a terrain prediction calibrated on the survey; "
        "not a radio plan and not evidence.")


def high_points(dem, area_lonlat, n: int = SITE_CANDIDATES, spacing_m: float = SITE_CANDIDATE_SPACING_M
                ) -> pd.DataFrame:
    """The ``n`` highest local maxima of the DEM inside the area, at least ``spacing_m`` apart."""
    from affine import Affine
    from rasterio.features import geometry_mask
    from scipy.ndimage import maximum_filter

    from surveyor.geo.dem import project_geometry

    geom = project_geometry(area_lonlat, "EPSG:4326", dem.crs)
    inside = ~geometry_mask([geom], out_shape=dem.shape, transform=Affine(*dem.transform), all_touched=False)
    z = np.where(inside & np.isfinite(dem.elevation_m), dem.elevation_m, -np.inf)
    size = max(3, int(round(spacing_m / min(dem.resolution_m))) | 1)
    peak = (z == maximum_filter(z, size=size, mode="constant", cval=-np.inf)) & np.isfinite(z)
    rows, cols = np.nonzero(peak)
    order = np.argsort(-z[rows, cols], kind="stable")
    xs, ys = dem.pixel_centres()
    chosen: list[tuple[float, float, float]] = []
    for i in order:
        x, y = xs[cols[i]], ys[rows[i]]
        if all(math.hypot(x - cx, y - cy) >= spacing_m for cx, cy, _ in chosen):
            chosen.append((x, y, float(z[rows[i], cols[i]])))
        if len(chosen) >= n:
            break
    if not chosen:
        return pd.DataFrame({c: [] for c in ("candidate", "source", "name", "lat", "lon")})
    lon, lat = dem.lonlat([c[0] for c in chosen], [c[1] for c in chosen])
    return pd.DataFrame({"candidate": [f"H{i}" for i in range(1, len(chosen) + 1)], "source": "high point",
                         "name": [f"high point {c[2]:,.0f} m" for c in chosen], "lat": np.atleast_1d(lat),
                         "lon": np.atleast_1d(lon)})


def read_candidates(path) -> pd.DataFrame:
    """Candidate plots from a GeoJSON (points or polygons, EPSG:4326), with their properties."""
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # any unreadable file gets the same fix
        raise InputError(f"cannot be read as GeoJSON ({exc}).", path=str(path),
                         fix="Give a GeoJSON FeatureCollection of the plots (points or polygons, EPSG:4326).") from None
    if len(gdf) == 0:
        raise InputError("holds no plots.", path=str(path), fix="Add a feature per plot the village can offer.")
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    pts = gdf.geometry.representative_point()
    out = pd.DataFrame({"candidate": [f"P{i}" for i in range(1, len(gdf) + 1)], "source": "village plot",
                        "name": [str(v) if v is not None and v == v else f"plot {i}" for i, v in
                                 enumerate(gdf["name"] if "name" in gdf.columns else [None] * len(gdf), 1)],
                        "lat": pts.y.to_numpy(), "lon": pts.x.to_numpy()})
    for f in PLOT_FIELDS:
        out[f] = gdf[f].astype(object).where(gdf[f].notna(), None).to_numpy() if f in gdf.columns else None
    return out


def _buildings_per_cell(buildings, resolution: int) -> dict[int, int]:
    from surveyor.geo import cells as grid

    if buildings is None or len(buildings) == 0 or "geometry" not in getattr(buildings, "columns", []):
        return {}
    pts = buildings.geometry.representative_point()
    cells = grid.assign_cells(pts.y.to_numpy(), pts.x.to_numpy(), resolution)
    u, n = np.unique(cells, return_counts=True)
    return {int(a): int(b) for a, b in zip(u, n)}


def _nearest_road_m(roads, lat: np.ndarray, lon: np.ndarray, crs: str) -> np.ndarray:
    import geopandas as gpd

    if roads is None or len(roads) == 0 or "geometry" not in getattr(roads, "columns", []):
        return np.full(len(lat), np.nan)
    r = gpd.GeoSeries(roads.geometry, crs=roads.crs or "EPSG:4326").to_crs(crs)
    union = r.union_all()
    p = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(crs)
    return np.array([union.distance(g) for g in p])


def propose(ctx: TerrainContext, cells: pd.DataFrame, settings: Settings, area_lonlat, *, candidates=None,
            heights=SITE_MAST_HEIGHTS_M, top_k: int = SITE_TOP_K, operators=None,
            calibrations: dict[str, Calibration] | None = None, buildings=None, roads=None,
            margin_db: float = SITE_MARGIN_DB, clutter_m: float = CLUTTER_HEIGHT_M) -> tuple[pd.DataFrame, dict]:
    """Site proposals per operator (:data:`PROPOSAL_COLUMNS`) and a summary of what was searched.

    ``cells`` is the ``cells`` layer with the prediction columns (:func:`surveyor.analyse.terrain.apply`).
    """
    from surveyor.analyse.terrain.pathloss import hata_db
    from surveyor.analyse.terrain.paths import trace_paths
    from surveyor.geo import cells as grid

    calibrations = calibrations or {}
    heights = tuple(float(h) for h in heights)
    if candidates is None:
        candidates = high_points(ctx.dem, area_lonlat)
    candidates = candidates.reset_index(drop=True)
    for f in PLOT_FIELDS:
        if f not in candidates.columns:
            candidates[f] = None
    ground = ctx.dem.sample_lonlat(candidates["lon"].to_numpy(float), candidates["lat"].to_numpy(float))
    usable = np.isfinite(ground)
    candidates = candidates[usable].reset_index(drop=True)
    ground = ground[usable]
    resolution = int(cells["resolution"].iloc[0]) if len(cells) and "resolution" in cells.columns else \
        settings.resolution
    bcount = _buildings_per_cell(buildings, resolution)
    threshold = settings.rsrp_negative_below_dbm + margin_db
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"candidates": len(candidates), "heights_m": list(heights), "operators": {},
                               "threshold_dbm": threshold, "buildings_layer": bool(bcount)}
    cx, cy = ctx.dem.xy(candidates["lon"].to_numpy(float), candidates["lat"].to_numpy(float))
    cx, cy = np.atleast_1d(cx), np.atleast_1d(cy)
    for op in (operators or settings.operators):
        c = cells[cells["operator"] == op]
        evidence_dead = (c["status"] == "dead").to_numpy()
        predicted = c["predicted_status"].to_numpy(dtype=object) if "predicted_status" in c.columns else \
            np.full(len(c), None, dtype=object)
        predicted_dead = ~c["status"].isin(["dead", "marginal", "covered"]).to_numpy() & (predicted == "dead")
        target = evidence_dead | predicted_dead
        t = c[target]
        summary["operators"][op] = {"targets": int(target.sum()), "dead": int(evidence_dead.sum()),
                                    "predicted_dead": int(predicted_dead.sum())}
        if len(t) == 0 or len(candidates) == 0:
            continue
        tcells = grid.from_hex(t["h3"].astype(str))
        b = np.array([bcount.get(int(h), 0) for h in tcells], dtype=float)
        weight = 1.0 + b
        tx_, ty_ = ctx.dem.xy(t["lon"].to_numpy(float), t["lat"].to_numpy(float))
        tx_, ty_ = np.atleast_1d(tx_), np.atleast_1d(ty_)
        ci = np.repeat(np.arange(len(candidates)), len(t))
        ti = np.tile(np.arange(len(t)), len(candidates))
        freq = _frequency(ctx, op)
        results = trace_paths(ctx.dem, cx[ci], cy[ci], tx_[ti], ty_[ti], freq,
                              [(h, PHONE_HEIGHT_M) for h in heights], clutter_m=clutter_m)
        cal = calibrations.get(op)
        served = np.zeros((len(candidates), len(heights), len(t)), dtype=bool)
        for k, (h, res) in enumerate(zip(heights, results)):
            loss = hata_db(res.distance_m, freq, h, PHONE_HEIGHT_M) + res.diffraction_db
            rsrp = EIRP_PER_RE_DBM - loss
            if cal is not None and cal.status != "uncalibrated":
                rsrp = rsrp + cal.correction(np.log10(np.maximum(res.distance_m, 20.0) / 1000.0))
            served[:, k, :] = (np.where(res.computable, rsrp, -np.inf) >= threshold).reshape(len(candidates), len(t))
        left = np.ones(len(t), dtype=bool)
        taken = np.zeros(len(candidates), dtype=bool)
        for rank in range(1, top_k + 1):
            gain = (served & left[None, None, :]).astype(float) @ weight
            gain[taken] = -1.0
            if gain.max() <= 0:
                break
            # Most weight served; then the lower mast; then the higher ground.
            order = np.lexsort((-np.repeat(ground, len(heights)), np.tile(heights, len(candidates)), -gain.ravel()))
            best = int(order[0])
            i, k = divmod(best, len(heights))
            hit = served[i, k] & left
            left &= ~hit
            taken[i] = True
            cand = candidates.iloc[i]
            rows.append({
                "rank": rank, "operator": op, "candidate": cand["candidate"], "source": cand["source"],
                "name": cand["name"], "lat": float(cand["lat"]), "lon": float(cand["lon"]),
                "ground_m": round(float(ground[i]), 1), "mast_height_m": heights[k],
                "cells_served": int(hit.sum()), "dead_cells_served": int((hit & evidence_dead[target]).sum()),
                "predicted_dead_cells_served": int((hit & predicted_dead[target]).sum()),
                "buildings_served": int(b[hit].sum()), "weight_served": float(weight[hit].sum()),
                "nearest_road_m": None, "h3_served": ",".join(t["h3"].astype(str).to_numpy()[hit]),
                **{f: cand[f] for f in PLOT_FIELDS}, "area_code": ctx.area_code or settings.code, "note": NOTE})
    out = pd.DataFrame(rows, columns=PROPOSAL_COLUMNS)
    if len(out):
        out["nearest_road_m"] = np.round(_nearest_road_m(roads, out["lat"].to_numpy(float), out["lon"].to_numpy(float),
                                                         ctx.dem.crs), 1)
        plot = f"needed: a {BAKTI_PLOT_M[0]:g} x {BAKTI_PLOT_M[1]:g} m plot (BAKTI)"
        defaults = {"land": plot, "power": "needed: a PLN power connection", "access": "needed: road access",
                    "guard": "needed: someone from the village to look after the site"}
        for f, text in defaults.items():
            out[f] = [v if isinstance(v, str) and v.strip() else text for v in out[f]]
        out["access"] = [a if not np.isfinite(r) or a != defaults["access"] else f"{a}; nearest road {r:,.0f} m"
                         for a, r in zip(out["access"], out["nearest_road_m"].to_numpy(float))]
    summary["proposals"] = len(out)
    return out, summary


def _frequency(ctx: TerrainContext, op: str) -> float:
    seen = ctx.frequencies.get(op)
    if seen:
        return float(seen["frequency_mhz"])
    mine = ctx.towers_of(op)
    return float(mine["frequency_mhz"].iloc[0]) if len(mine) else DEFAULT_FREQUENCY_MHZ


def proposals_frame(proposals: pd.DataFrame):
    """The proposals as an EPSG:4326 point GeoDataFrame (the ``site_proposals`` layer)."""
    import geopandas as gpd

    return gpd.GeoDataFrame(proposals, geometry=gpd.points_from_xy(proposals["lon"], proposals["lat"]),
                            crs="EPSG:4326")


def to_geojson(proposals: pd.DataFrame) -> str:
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
              "properties": {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                             for k, v in r.items()}} for r in proposals.to_dict(orient="records")]
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False, default=str)


def propose_sites(store, settings: Settings, *, candidates_path=None, heights=SITE_MAST_HEIGHTS_M,
                  top_k: int = SITE_TOP_K, operators=None, write: bool = True,
                  clutter_m: float = CLUTTER_HEIGHT_M) -> tuple[pd.DataFrame, dict]:
    """``surveyor sites``: read the analysis, the DEM, buildings and roads; propose; write ``site_proposals``.

    Raises
    ------
    NothingToDo
        Without an analysis (run ``surveyor analyze``) or without a DEM (``surveyor dem import``).
    """
    from surveyor.analyse.terrain.apply import run
    from surveyor.analyse.terrain.calibrate import SAMPLE_COLUMNS
    from surveyor.errors import NothingToDo
    from surveyor.geo.areas import select_area
    from surveyor.store.dem import IMPORT_FIX, has_dem, read_area_layer, write_area_layer

    if not has_dem(store, settings.code):
        raise NothingToDo(f"{store.url} has no elevation model, which site proposals are computed on.",
                          fix=IMPORT_FIX)
    if not store.get_meta("analysed_at"):
        raise NothingToDo(f"{store.url} has no coverage analysis yet.", fix="Run `surveyor analyze` first.")
    candidates = read_candidates(candidates_path) if candidates_path else None
    cells = store.read_layer("cells")
    from surveyor.geo.scope import in_scope

    # Calibrated on the samples the analysis counts: not those far away, long ago or of other operators.
    samples = in_scope(store.read_samples(columns=SAMPLE_COLUMNS), settings)
    result = run(store, settings, cells, None, samples=samples, cross_validate=False)
    if result is None:  # pragma: no cover - the DEM was checked above
        raise NothingToDo(f"{store.url} has no elevation model.", fix=IMPORT_FIX)
    cells, _, terrain = result
    from surveyor.analyse.terrain.context import load_context

    ctx = load_context(store, settings, samples=samples, required=True)
    calibrations = {op: Calibration(op, c["offset_db"], c["slope_db_per_decade"], c["cells"], c["status"])
                    for op, c in terrain["calibration"].items()}
    area = select_area(store.read_layer("areas"), settings)
    proposals, summary = propose(ctx, cells, settings, area.boundary, candidates=candidates, heights=heights,
                                 top_k=top_k, operators=operators, calibrations=calibrations,
                                 buildings=read_area_layer(store, "buildings", settings.code),
                                 roads=read_area_layer(store, "roads", settings.code), clutter_m=clutter_m)
    summary["calibration"] = terrain["calibration"]
    if write:
        write_area_layer(store, "site_proposals", proposals_frame(proposals), settings.code)
    return proposals, summary
