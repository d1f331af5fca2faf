"""The hook ``surveyor analyze`` calls: terrain fields on dead zones, predicted RSRP on cells."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from surveyor.config import Settings

log = logging.getLogger(__name__)

CELL_TERRAIN_COLUMNS = ["predicted_rsrp_dbm", "predicted_status", "predicted_p_no4g", "predicted_tower",
                        "predicted_diffraction_db", "prediction_sigma_db", "prediction_shown"]
# Evidence classes that a prediction never overrides.
EVIDENCE_CLASSES = ("dead", "marginal", "covered")
NO_DEM_NOTE = ("no elevation model imported: dead zones get no terrain verdict and cells no prediction "
               "(`surveyor dem import FILE...` adds one)")


def places_of(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct cell of the ``cells`` layer: ``cell`` (uint64), ``lat``, ``lon``."""
    from surveyor.geo import cells as grid

    if cells is None or len(cells) == 0:
        return pd.DataFrame({"cell": np.zeros(0, dtype=np.uint64), "lat": [], "lon": []})
    first = cells.drop_duplicates("h3")
    out = pd.DataFrame({"cell": grid.from_hex(first["h3"].astype(str)), "lat": first["lat"].to_numpy(float),
                        "lon": first["lon"].to_numpy(float)})
    return out.reset_index(drop=True)


def run(store, settings: Settings, cells: pd.DataFrame, zones: pd.DataFrame, *, samples=None,
        cross_validate: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]] | None:
    """The terrain analysis of an analysed survey; None when no DEM is imported.

    Returns the cells and zones with their terrain columns and a summary (calibration per
    operator, cross-validated error, towers used and left out).
    """
    from surveyor.analyse.terrain.calibrate import SAMPLE_COLUMNS, measurements
    from surveyor.analyse.terrain.context import load_context
    from surveyor.analyse.terrain.prediction import classify, predict
    from surveyor.analyse.terrain.verdicts import zone_verdicts

    if samples is None:
        from surveyor.store.dem import has_dem

        if not has_dem(store, settings.code):
            return None  # no DEM: nothing to add, and no reason to read every sample of a district
        from surveyor.geo.scope import in_scope

        # Calibrated on the samples the analysis counts: not those far away, long ago or of other operators.
        samples = in_scope(store.read_samples(columns=SAMPLE_COLUMNS), settings)
    ctx = load_context(store, settings, samples=samples)
    if ctx is None:
        return None
    resolution = int(cells["resolution"].iloc[0]) if len(cells) and "resolution" in cells.columns else \
        settings.resolution
    meas = measurements(samples, settings, resolution)
    places = places_of(cells)
    operators = list(dict.fromkeys(list(settings.operators) + (list(cells["operator"].dropna().unique())
                                                                if len(cells) else [])))
    pred = predict(ctx, places, meas, operators, cross_validate=cross_validate)
    cells = _cell_columns(cells, places, pred, ctx, settings, classify)
    if zones is not None and len(zones):
        zones = pd.concat([zones.drop(columns=[c for c in zones.columns if c in _zone_cols()]),
                           zone_verdicts(ctx, pred, zones)], axis=1)
    summary = {
        "dem": {"crs": ctx.dem.crs, "resolution_m": ctx.dem.resolution_m[0]},
        "towers": len(ctx.towers),
        "towers_by_operator": {str(k): int(v) for k, v in ctx.towers["operator"].value_counts().items()},
        "towers_left_out": ctx.notes,
        "frequencies": ctx.frequencies,
        "calibration": {op: c.as_dict() for op, c in pred.calibrations.items()},
        "cross_validation": pred.cross_validation,
        "links": len(pred.links.place),
        "links_not_computable": int((~pred.links.paths.computable).sum()),
    }
    return cells, zones, summary


def _zone_cols() -> list[str]:
    from surveyor.analyse.terrain.verdicts import ZONE_TERRAIN_COLUMNS

    return ZONE_TERRAIN_COLUMNS


def _cell_columns(cells, places, pred, ctx, settings, classify) -> pd.DataFrame:
    cells = cells.drop(columns=[c for c in CELL_TERRAIN_COLUMNS if c in cells.columns])
    if len(cells) == 0:
        for c in CELL_TERRAIN_COLUMNS:
            cells[c] = pd.Series(dtype=object)
        return cells
    from surveyor.geo import cells as grid

    where = {int(c): i for i, c in enumerate(places["cell"].to_numpy())}
    pos = np.array([where[int(c)] for c in grid.from_hex(cells["h3"].astype(str))], dtype=np.intp)
    ops = cells["operator"].to_numpy(dtype=object)
    rsrp = np.full(len(cells), np.nan)
    tower = np.full(len(cells), None, dtype=object)
    diff = np.full(len(cells), np.nan)
    sigma = np.full(len(cells), np.nan)
    status = np.full(len(cells), None, dtype=object)
    p_no = np.full(len(cells), np.nan)
    tower_ids = ctx.towers["tower_id"].to_numpy(dtype=object)
    for op in pd.unique(ops):
        if op not in pred.best_rsrp:
            continue
        rows = np.flatnonzero(ops == op)
        best, idx = pred.best_rsrp[op][pos[rows]], pred.best_link[op][pos[rows]]
        rsrp[rows] = np.round(best, 1)
        has = idx >= 0
        tower[rows[has]] = tower_ids[pred.links.tower[idx[has]]]
        diff[rows[has]] = np.round(pred.links.paths.diffraction_db[idx[has]], 1)
        s = pred.sigma_db(op)
        sigma[rows] = s
        status[rows], p_no[rows] = classify(best, s, settings)
    cells = cells.copy()
    cells["predicted_rsrp_dbm"] = rsrp
    cells["predicted_status"] = status
    cells["predicted_p_no4g"] = np.round(p_no, 3)
    cells["predicted_tower"] = tower
    cells["predicted_diffraction_db"] = diff
    cells["prediction_sigma_db"] = sigma
    cells["prediction_shown"] = ~cells["status"].isin(EVIDENCE_CLASSES).to_numpy() & pd.notna(status)
    return cells


def apply(store, settings: Settings, cells: pd.DataFrame, zones: pd.DataFrame, *, samples=None
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the terrain fields to an analysis: the hook for ``surveyor analyze``.

    Dead zones gain ``terrain_verdict`` (``terrain``, ``not_terrain``, ``no_tower``,
    ``not_computable``), ``terrain_reason`` (the sentence), the blocking ridge (``ridge_lat``,
    ``ridge_lon``, ``ridge_height_m``, ``ridge_from_tower_m``), the tower used (``terrain_tower_*``)
    and ``diffraction_db``; cells gain the prediction (``predicted_rsrp_dbm``, ``predicted_status``,
    ``predicted_p_no4g``, ``predicted_tower``, ``predicted_diffraction_db``, ``prediction_sigma_db``)
    and ``prediction_shown`` (True where no evidence class exists, so a map may draw the prediction,
    hatched). The calibration and its cross-validated error go to ``meta`` as ``terrain_summary``.

    Without an imported DEM the inputs come back unchanged and a note is logged: analysis without
    terrain still works.

    Parameters
    ----------
    store
        The open store (its DEM, towers, samples).
    settings
        The survey's settings.
    cells, zones
        The ``cells`` and ``dead_zones`` layers as computed by the analysis.
    samples
        The samples already read, if the caller has them (columns of
        :data:`surveyor.analyse.terrain.calibrate.SAMPLE_COLUMNS`).

    Returns
    -------
    (cells, zones)
    """
    result = run(store, settings, cells, zones, samples=samples)
    if result is None:
        log.info("%s", NO_DEM_NOTE)
        return cells, zones
    cells, zones, summary = result
    store.set_meta("terrain_summary", summary)
    return cells, zones
