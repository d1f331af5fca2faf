"""Links between places and towers, the RSRP they predict, and the per-operator calibration.

A *link* is one (place, tower) pair within :data:`MAX_TOWER_DISTANCE_M`: its path result over the
DEM (:mod:`~surveyor.analyse.terrain.paths`) and its uncalibrated predicted RSRP

    RSRP = EIRP_per_RE - L_Hata(d, f, h_tower, h_rx) - L_diffraction

A place is served by the tower that predicts the strongest signal there. Calibration fits, per
operator, ``measured - predicted = offset + slope x log10(d / 1 km)`` by least squares on the
survey's own cells (the best server re-chosen with the fitted correction, three rounds), so the
operator's real power and the village's clutter come from the measurements, not from a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from surveyor.analyse.terrain.constants import (
    CALIBRATION_MAX_SLOPE_DB,
    CALIBRATION_MIN_CELLS_OFFSET,
    CALIBRATION_MIN_CELLS_SLOPE,
    CLUTTER_HEIGHT_M,
    EIRP_PER_RE_DBM,
    MAX_TOWER_DISTANCE_M,
)
from surveyor.analyse.terrain.pathloss import hata_db
from surveyor.analyse.terrain.paths import PathResult, trace_paths
from surveyor.geo.dem import Dem


@dataclass
class Links:
    """Place-tower pairs: ``place`` and ``tower`` index the inputs; ``paths`` holds one row per pair."""

    place: np.ndarray
    tower: np.ndarray
    paths: PathResult
    rsrp_dbm: np.ndarray  # uncalibrated prediction (NaN when the path is not computable)
    place_xy: tuple[np.ndarray, np.ndarray]
    tower_xy: tuple[np.ndarray, np.ndarray]
    n_places: int
    rx_height_m: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def log_km(self) -> np.ndarray:
        return np.log10(np.maximum(self.paths.distance_m, 20.0) / 1000.0)

    def edge_lonlat(self, dem: Dem) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 position of each link's principal edge (NaN where not computable)."""
        f = np.nan_to_num(self.paths.edge_fraction)
        tx, ty = self.tower_xy[0][self.tower], self.tower_xy[1][self.tower]
        px, py = self.place_xy[0][self.place], self.place_xy[1][self.place]
        lon, lat = dem.lonlat(tx + (px - tx) * f, ty + (py - ty) * f)
        bad = ~self.paths.computable
        return np.where(bad, np.nan, lon), np.where(bad, np.nan, lat)


def link(dem: Dem, lat, lon, towers: pd.DataFrame, rx_height_m, *, clutter_m: float = CLUTTER_HEIGHT_M,
         max_distance_m: float = MAX_TOWER_DISTANCE_M, eirp_dbm: float = EIRP_PER_RE_DBM,
         tower_heights_m=None, step_m: float | None = None) -> Links:
    """Trace every place to every tower within ``max_distance_m`` and predict its RSRP.

    Parameters
    ----------
    dem
        The elevation model.
    lat, lon
        Places (WGS84 arrays).
    towers
        ``tower_id``, ``lat``, ``lon``, ``height_m``, ``frequency_mhz`` (from :func:`load_towers`).
    rx_height_m
        Receiver height above ground: a scalar or one per place.
    tower_heights_m
        Override the towers' antenna heights (one per tower).
    step_m
        Spacing of profile points (default: the larger of 30 m and the DEM's pixel).
    """
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    px, py = dem.xy(lon, lat)
    px, py = np.atleast_1d(px), np.atleast_1d(py)
    tx, ty = dem.xy(towers["lon"].to_numpy(float), towers["lat"].to_numpy(float))
    tx, ty = np.atleast_1d(tx), np.atleast_1d(ty)
    rx_h = np.broadcast_to(np.asarray(rx_height_m, dtype=float), (len(lat),))
    if len(lat) == 0 or len(towers) == 0:
        empty = np.zeros(0, dtype=np.intp)
        return Links(empty, empty, PathResult.empty(), np.zeros(0), (px, py), (tx, ty), len(lat), np.zeros(0))
    from scipy.spatial import cKDTree

    pairs = cKDTree(np.column_stack([px, py])).query_ball_point(np.column_stack([tx, ty]), r=max_distance_m)
    tower_idx = np.repeat(np.arange(len(towers)), [len(p) for p in pairs])
    place_idx = np.fromiter((i for p in pairs for i in p), dtype=np.intp, count=len(tower_idx))
    heights = np.asarray(tower_heights_m if tower_heights_m is not None else towers["height_m"], dtype=float)
    freq = towers["frequency_mhz"].to_numpy(float)[tower_idx]
    (res,) = trace_paths(dem, tx[tower_idx], ty[tower_idx], px[place_idx], py[place_idx], freq,
                         [(heights[tower_idx], rx_h[place_idx])], clutter_m=clutter_m, step_m=step_m)
    rsrp = predict_rsrp(res, freq, heights[tower_idx], rx_h[place_idx], eirp_dbm)
    return Links(place_idx, tower_idx, res, rsrp, (px, py), (tx, ty), len(lat), rx_h[place_idx])


def predict_rsrp(paths: PathResult, frequency_mhz, tower_height_m, rx_height_m,
                 eirp_dbm: float = EIRP_PER_RE_DBM) -> np.ndarray:
    """Uncalibrated RSRP of traced paths: EIRP per resource element - Hata - diffraction."""
    loss = hata_db(paths.distance_m, frequency_mhz, tower_height_m, rx_height_m) + paths.diffraction_db
    return np.where(paths.computable, eirp_dbm - loss, np.nan)


@dataclass
class Calibration:
    """The fitted correction of one operator: ``offset_db + slope_db * log10(d / 1 km)``."""

    operator: str
    offset_db: float = 0.0
    slope_db: float = 0.0
    cells: int = 0
    status: str = "uncalibrated"  # "fitted", "offset only" or "uncalibrated"
    fit_rmse_db: float | None = None

    def correction(self, log_km) -> np.ndarray:
        return self.offset_db + self.slope_db * np.asarray(log_km, dtype=float)

    def as_dict(self) -> dict:
        return {"operator": self.operator, "offset_db": round(self.offset_db, 2), "slope_db_per_decade":
                round(self.slope_db, 2), "cells": self.cells, "status": self.status,
                "fit_rmse_db": None if self.fit_rmse_db is None else round(self.fit_rmse_db, 2)}


def best_server(links: Links, tower_mask: np.ndarray, calibration: Calibration | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per place: the strongest predicted RSRP among the towers in ``tower_mask`` and the link index
    giving it (-1 and NaN where no tower of the mask reaches the place)."""
    use = tower_mask[links.tower] & np.isfinite(links.rsrp_dbm)
    value = links.rsrp_dbm + (calibration.correction(links.log_km) if calibration else 0.0)
    value = np.where(use, value, -np.inf)
    best = np.full(links.n_places, -np.inf)
    np.maximum.at(best, links.place, value)
    hit = np.flatnonzero(use & (value == best[links.place]))
    # The first link reaching the maximum, per place (links are in tower order).
    first = np.full(links.n_places, np.iinfo(np.intp).max, dtype=np.intp)
    np.minimum.at(first, links.place[hit], hit)
    idx = np.where(first == np.iinfo(np.intp).max, -1, first)
    best[~np.isfinite(best)] = np.nan
    return best, idx


def fit_calibration(links: Links, tower_mask: np.ndarray, measured: np.ndarray, operator: str,
                    rounds: int = 3) -> Calibration:
    """Fit an operator's correction on places with a measured RSRP (NaN elsewhere)."""
    cal = Calibration(operator)
    have = np.isfinite(measured)
    for _ in range(rounds):
        _pred, idx = best_server(links, tower_mask, cal if cal.status != "uncalibrated" else None)
        ok = have & (idx >= 0)
        n = int(ok.sum())
        if n < CALIBRATION_MIN_CELLS_OFFSET:
            return Calibration(operator, cells=n)
        base = links.rsrp_dbm[idx[ok]]
        resid = measured[ok] - base
        lk = links.log_km[idx[ok]]
        if n >= CALIBRATION_MIN_CELLS_SLOPE and np.ptp(lk) > 0.05:
            a = np.column_stack([np.ones(n), lk])
            (offset, slope), *_ = np.linalg.lstsq(a, resid, rcond=None)
            if abs(slope) > CALIBRATION_MAX_SLOPE_DB:
                slope = float(np.clip(slope, -CALIBRATION_MAX_SLOPE_DB, CALIBRATION_MAX_SLOPE_DB))
                offset = float(np.mean(resid - slope * lk))
            status = "fitted"
        else:
            offset, slope, status = float(np.mean(resid)), 0.0, "offset only"
        fitted = base + offset + slope * lk
        cal = Calibration(operator, float(offset), float(slope), n, status,
                          float(np.sqrt(np.mean((measured[ok] - fitted) ** 2))))
    return cal
