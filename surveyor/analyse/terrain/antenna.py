"""Which way and how high a household should point an antenna, per operator.

For a place and a mast height: among the operator's towers within 15 km, the one predicting the
strongest signal at the top of the mast (calibrated on the survey when it can be); the bearing
to it (true north, degrees and compass word), the elevation angle (with the 4/3 earth's
curvature), the distance, whether the path clears 60% of the first Fresnel zone at that height,
and the lowest mast height that does (from the profile: see :mod:`~surveyor.analyse.terrain.paths`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveyor.analyse.terrain.constants import (
    CLUTTER_HEIGHT_M,
    FRESNEL_CLEARANCE_FRACTION,
    HOME_MAST_HEIGHT_M,
    MAX_HOME_MAST_M,
    MAX_TOWER_DISTANCE_M,
)
from surveyor.analyse.terrain.context import TerrainContext
from surveyor.analyse.terrain.model import Calibration, best_server, link
from surveyor.errors import InvalidRequest

ANTENNA_STEP_M = 10.0
ADVICE_COLUMNS = ["place", "lat", "lon", "ground_m", "operator", "tower_id", "tower_lat", "tower_lon",
                  "tower_height_m", "tower_height_source", "frequency_mhz", "distance_m", "bearing_deg",
                  "direction", "elevation_deg", "mast_m", "line_of_sight", "fresnel_clear", "clearance_f1",
                  "mast_needed_m", "diffraction_db", "predicted_rsrp_dbm", "calibration", "note"]


def antenna_advice(ctx: TerrainContext, places: pd.DataFrame, operators, *, mast_m: float = HOME_MAST_HEIGHT_M,
                   calibrations: dict[str, Calibration] | None = None, clutter_m: float = CLUTTER_HEIGHT_M
                   ) -> pd.DataFrame:
    """One row per place and operator (:data:`ADVICE_COLUMNS`).

    Parameters
    ----------
    ctx
        DEM and towers.
    places
        ``place`` (a name), ``lat``, ``lon``.
    operators
        Operators to advise on.
    mast_m
        Height of the antenna above the ground (6 m by default).
    calibrations
        Per operator (from :func:`surveyor.analyse.terrain.prediction.survey_calibrations`).

    Raises
    ------
    InvalidRequest
        A place outside the elevation model, or a mast height out of range.
    """
    from surveyor.geo.bearing import bearing_deg, compass

    if not 0 <= mast_m <= 100:
        raise InvalidRequest(f"--height {mast_m:g} m is not a home mast.", fix="Give 0 to 100 m (default 6 m).")
    calibrations = calibrations or {}
    lat = places["lat"].to_numpy(float)
    lon = places["lon"].to_numpy(float)
    ground = ctx.dem.sample_lonlat(lon, lat)
    outside = ~np.isfinite(ground)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise InvalidRequest(
            f"{places['place'].iloc[i]} ({lat[i]:.5f}, {lon[i]:.5f}) lies outside the elevation model.",
            fix="Give a place inside the village (latitude first, e.g. --at -7.437,109.858), or import a DEM "
                "that covers it (surveyor dem import).")
    # A few paths: a profile point every 10 m (bilinear between pixels) follows a ridge's crest closely.
    links = link(ctx.dem, lat, lon, ctx.towers, mast_m, clutter_m=clutter_m, step_m=ANTENNA_STEP_M)
    tower_ops = ctx.towers["operator"].to_numpy(dtype=object)
    rows = []
    for op in operators:
        cal = calibrations.get(op)
        use = cal if cal is not None and cal.status != "uncalibrated" else None
        rsrp, idx = best_server(links, tower_ops == op, use)
        # A tower out of the DEM's reach still deserves a word: the nearest of them, if any.
        for k in range(len(places)):
            base = {"place": places["place"].iloc[k], "lat": lat[k], "lon": lon[k],
                    "ground_m": round(float(ground[k]), 1), "operator": op, "mast_m": mast_m,
                    "calibration": use.status if use else "uncalibrated"}
            li = int(idx[k])
            if li < 0:
                mine = np.flatnonzero((links.place == k) & (tower_ops[links.tower] == op))
                note = (f"no known {op} tower within {MAX_TOWER_DISTANCE_M / 1000:g} km" if len(mine) == 0 else
                        f"the elevation model does not reach the {op} towers: their paths cannot be computed")
                rows.append({**dict.fromkeys(ADVICE_COLUMNS), **base, "note": note})
                continue
            t = ctx.towers.iloc[int(links.tower[li])]
            p = links.paths
            bearing = float(bearing_deg(lat[k], lon[k], float(t.lat), float(t.lon)))
            needed = float(p.mast_needed_m[li])
            clear = bool(p.clearance_f1[li] >= FRESNEL_CLEARANCE_FRACTION)
            if clear:
                note = f"clear at {mast_m:g} m"
            elif needed <= MAX_HOME_MAST_M:
                note = f"raise the antenna to {np.ceil(needed):.0f} m to clear the path"
            else:
                note = (f"no home mast up to {MAX_HOME_MAST_M:g} m clears the path "
                        f"(it needs {needed:,.0f} m): terrain blocks it")
            rows.append({**base, "tower_id": t.tower_id, "tower_lat": float(t.lat), "tower_lon": float(t.lon),
                         "tower_height_m": float(t.height_m), "tower_height_source": t.height_source,
                         "frequency_mhz": float(t.frequency_mhz), "distance_m": round(float(p.distance_m[li]), 1),
                         "bearing_deg": round(bearing, 1), "direction": compass(bearing),
                         "elevation_deg": round(float(p.elevation_deg[li]), 2),
                         "line_of_sight": bool(p.nu_max[li] <= 0.0), "fresnel_clear": clear,
                         "clearance_f1": round(float(p.clearance_f1[li]), 2), "mast_needed_m": round(needed, 1),
                         "diffraction_db": round(float(p.diffraction_db[li]), 1),
                         "predicted_rsrp_dbm": round(float(rsrp[k]), 1), "note": note})
    return pd.DataFrame(rows, columns=ADVICE_COLUMNS)


def dusun_centres(dusun) -> pd.DataFrame:
    """A point inside each dusun polygon (its centroid when that lies inside): ``place``, ``lat``, ``lon``."""
    if dusun is None or len(dusun) == 0:
        raise InvalidRequest("No dusun polygons are configured, so --at dusun has no places.",
                             fix="Set dusun = \"dusun.geojson\" in survey.toml, or give --at LAT,LON.")
    names, lats, lons = [], [], []
    for name, geom in zip(dusun["name"], dusun.geometry):
        c = geom.centroid
        if not geom.contains(c):
            c = geom.representative_point()
        names.append(str(name))
        lats.append(c.y)
        lons.append(c.x)
    return pd.DataFrame({"place": names, "lat": lats, "lon": lons})
