"""Predicted RSRP per cell and operator, calibrated on the survey's cells and cross-validated by session.

The prediction is **never evidence**: it is stored in columns of its own (``predicted_*``), a
cell's evidence class always wins where there is one, and maps draw it apart (hatched, "perkiraan").
Its class follows the evidence rules' spirit: with the cross-validated error sigma, the chance
that RSRP is under the usable-4G threshold is ``p = Phi((threshold - predicted) / sigma)``; the
cell is predicted ``dead`` when p exceeds ``dead_lower_bound`` (0.5), ``covered`` when p is under
``covered_upper_bound`` (0.2), ``marginal`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from surveyor.analyse.terrain.calibrate import cell_medians
from surveyor.analyse.terrain.constants import (
    CALIBRATION_MIN_SAMPLES,
    CLUTTER_HEIGHT_M,
    DEFAULT_PREDICTION_SIGMA_DB,
    PHONE_HEIGHT_M,
)
from surveyor.analyse.terrain.context import TerrainContext
from surveyor.analyse.terrain.model import Calibration, Links, best_server, fit_calibration, link
from surveyor.config import Settings

# A held-out session's cell enters the check with at least this many samples in that session.
CV_MIN_SAMPLES = 3
# Fewer held-out cells than this: the error is not measured and DEFAULT_PREDICTION_SIGMA_DB is used.
CV_MIN_PAIRS = 10


@dataclass
class Prediction:
    """Links of every place to the towers, and per operator its calibration and best servers."""

    places: pd.DataFrame  # cell (uint64), lat, lon
    links: Links
    calibrations: dict[str, Calibration] = field(default_factory=dict)
    cross_validation: dict[str, dict] = field(default_factory=dict)
    best_rsrp: dict[str, np.ndarray] = field(default_factory=dict)  # per place
    best_link: dict[str, np.ndarray] = field(default_factory=dict)  # per place, -1 when none

    def sigma_db(self, operator: str) -> float:
        cv = self.cross_validation.get(operator) or {}
        if cv.get("pairs", 0) >= CV_MIN_PAIRS and cv.get("rmse_db") is not None:
            return float(cv["rmse_db"])
        return DEFAULT_PREDICTION_SIGMA_DB


def _measured_for(places_index: dict[int, int], n: int, medians: pd.DataFrame) -> np.ndarray:
    out = np.full(n, np.nan)
    for cell, value in zip(medians["cell"].to_numpy(), medians["median_dbm"].to_numpy(float)):
        i = places_index.get(int(cell))
        if i is not None:
            out[i] = value
    return out


def predict(ctx: TerrainContext, places: pd.DataFrame, meas: pd.DataFrame, operators, *,
            rx_height_m: float = PHONE_HEIGHT_M, clutter_m: float = CLUTTER_HEIGHT_M,
            cross_validate: bool = True) -> Prediction:
    """Trace every place to every tower, calibrate per operator, cross-validate by session.

    Parameters
    ----------
    ctx
        DEM and towers.
    places
        ``cell`` (H3 uint64), ``lat``, ``lon``: one row per cell (any operator).
    meas
        :func:`surveyor.analyse.terrain.calibrate.measurements` of the survey.
    operators
        The operators to predict.
    """
    links = link(ctx.dem, places["lat"].to_numpy(float), places["lon"].to_numpy(float), ctx.towers, rx_height_m,
                 clutter_m=clutter_m)
    pred = Prediction(places.reset_index(drop=True), links)
    index = {int(c): i for i, c in enumerate(places["cell"].to_numpy())}
    n = len(places)
    tower_ops = ctx.towers["operator"].to_numpy(dtype=object)
    for op in operators:
        mask = tower_ops == op
        m_op = meas[meas["operator"] == op] if len(meas) else meas
        measured = _measured_for(index, n, cell_medians(m_op, CALIBRATION_MIN_SAMPLES))
        cal = fit_calibration(links, mask, measured, op) if mask.any() else Calibration(op)
        pred.calibrations[op] = cal
        best, idx = best_server(links, mask, cal if cal.status != "uncalibrated" else None)
        pred.best_rsrp[op], pred.best_link[op] = best, idx
        if cross_validate and mask.any():
            pred.cross_validation[op] = _cross_validate(links, mask, m_op, index, n, op)
    return pred


def _cross_validate(links: Links, mask: np.ndarray, m_op: pd.DataFrame, index: dict[int, int], n: int,
                    op: str) -> dict:
    """Leave one session out: fit on the others, compare with the held-out session's cell medians."""
    errors = []
    sessions = sorted(set(m_op["session"])) if len(m_op) else []
    for s in sessions:
        held = (m_op["session"] == s).to_numpy()
        test = cell_medians(m_op[held], CV_MIN_SAMPLES)
        test = test[~test["censored"]]
        if len(test) == 0:
            continue
        train = _measured_for(index, n, cell_medians(m_op[~held], CALIBRATION_MIN_SAMPLES))
        cal = fit_calibration(links, mask, train, op)
        best, _ = best_server(links, mask, cal if cal.status != "uncalibrated" else None)
        where = np.array([index.get(int(c), -1) for c in test["cell"].to_numpy()])
        ok = where >= 0
        p = best[where[ok]]
        e = p - test["median_dbm"].to_numpy(float)[ok]
        errors.append(e[np.isfinite(e)])
    e = np.concatenate(errors) if errors else np.zeros(0)
    if len(e) == 0:
        return {"sessions": len(sessions), "pairs": 0, "rmse_db": None, "bias_db": None}
    return {"sessions": len(sessions), "pairs": len(e), "rmse_db": round(float(np.sqrt(np.mean(e ** 2))), 2),
            "bias_db": round(float(np.mean(e)), 2)}


def classify(rsrp_dbm: np.ndarray, sigma_db: float, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class and the chance of no usable 4G, per predicted RSRP (NaN gives None)."""
    from scipy.stats import norm

    r = np.asarray(rsrp_dbm, dtype=float)
    p = norm.cdf((settings.rsrp_negative_below_dbm - r) / max(sigma_db, 1e-6))
    status = np.where(p > settings.dead_lower_bound, "dead",
                      np.where(p < settings.covered_upper_bound, "covered", "marginal")).astype(object)
    status[~np.isfinite(r)] = None
    p = np.where(np.isfinite(r), p, np.nan)
    return status, p


def survey_calibrations(ctx: TerrainContext, samples: pd.DataFrame, settings: Settings) -> dict[str, Calibration]:
    """Each operator's calibration, fitted on the cells the survey measured (no analysis needed)."""
    from surveyor.analyse.terrain.calibrate import measurements
    from surveyor.geo import cells as grid

    meas = measurements(samples, settings, settings.resolution)
    if len(meas) == 0 or len(ctx.towers) == 0:
        return {}
    cells = np.unique(meas["cell"].to_numpy(dtype=np.uint64))
    lat, lon = grid.cell_centres(cells)
    places = pd.DataFrame({"cell": cells, "lat": lat, "lon": lon})
    pred = predict(ctx, places, meas, list(settings.operators), cross_validate=False)
    return pred.calibrations
