"""Why a dead zone is dead: shadowed by terrain, in line of sight (so something else), or no tower.

For each dead zone and the towers of its operator within 15 km, every cell of the zone is traced to
every tower (:mod:`~surveyor.analyse.terrain.paths`). A cell is *shadowed* when terrain stands above
the straight line to every one of those towers (knife-edge nu > 0, which costs more than 6 dB);
it is *in line of sight* when at least one tower sees it. The zone's verdict follows the majority
of its cells whose paths could be computed:

- ``terrain``: "shadowed by a ridge 1,180 m high, 2.3 km from the Telkomsel tower at (lat, lon)":
  the principal (Deygout) edge of the path from the tower that would serve the zone best, at the
  shadowed cell nearest the zone's centre; its height is the terrain's, above sea level.
- ``not_terrain``: "in line of sight of the tower ...: the cause is not terrain (distance, capacity,
  or a tower that is off)".
- ``no_tower``: no known tower of the operator within 15 km (the towers list may be incomplete:
  OpenCelliD only knows cells phones have reported).
- ``not_computable``: the elevation model does not reach the towers (import a larger DEM).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveyor.analyse.terrain.constants import MAX_TOWER_DISTANCE_M, SHADOW_NU
from surveyor.analyse.terrain.context import TerrainContext
from surveyor.analyse.terrain.prediction import Prediction

VERDICTS = ("terrain", "not_terrain", "no_tower", "not_computable")
ZONE_TERRAIN_COLUMNS = ["terrain_verdict", "terrain_reason", "terrain_cells_shadowed", "terrain_tower_id",
                        "terrain_tower_lat", "terrain_tower_lon", "terrain_tower_m", "ridge_lat", "ridge_lon",
                        "ridge_height_m", "ridge_from_tower_m", "diffraction_db"]


def _coord(lat: float, lon: float) -> str:
    return f"({lat:.5f}, {lon:.5f})"


def _km(m: float) -> str:
    return f"{m / 1000:.1f} km" if m >= 1000 else f"{m:,.0f} m"


def zone_verdicts(ctx: TerrainContext, pred: Prediction, zones: pd.DataFrame) -> pd.DataFrame:
    """The terrain columns (:data:`ZONE_TERRAIN_COLUMNS`) for each dead zone, in the zones' order."""
    from surveyor.geo import cells as grid

    rows = []
    links = pred.links
    index = {int(c): i for i, c in enumerate(pred.places["cell"].to_numpy())}
    towers = ctx.towers
    tower_op = towers["operator"].to_numpy(dtype=object)
    nu = links.paths.nu_max
    comp = links.paths.computable
    edge_lon, edge_lat = links.edge_lonlat(ctx.dem)
    for z in zones.itertuples(index=False):
        op = z.operator
        cells = grid.from_hex([h for h in str(getattr(z, "h3_cells", "") or "").split(",") if h])
        places = np.array([index[int(c)] for c in cells if int(c) in index], dtype=np.intp)
        in_zone = np.isin(links.place, places) & (tower_op[links.tower] == op) if len(links.place) else \
            np.zeros(0, dtype=bool)
        row = dict.fromkeys(ZONE_TERRAIN_COLUMNS)
        if not in_zone.any():
            row.update(terrain_verdict="no_tower", terrain_reason=f"no known tower of {op} within "
                       f"{MAX_TOWER_DISTANCE_M / 1000:g} km")
            rows.append(row)
            continue
        ok = in_zone & comp
        if not ok.any():
            row.update(terrain_verdict="not_computable", terrain_reason=(
                f"the elevation model does not reach the {op} towers within {MAX_TOWER_DISTANCE_M / 1000:g} km: "
                "import a DEM covering them (surveyor dem import)"))
            rows.append(row)
            continue
        # Per cell: seen by any tower (nu <= 0), or shadowed from all.
        zone_places = np.unique(links.place[ok])
        seen = np.zeros(links.n_places, dtype=bool)
        np.logical_or.at(seen, links.place[ok], nu[ok] <= SHADOW_NU)
        shadowed = ~seen[zone_places]
        share = float(shadowed.mean())
        clat, clon = float(z.centroid_lat), float(z.centroid_lon)
        plat = pred.places["lat"].to_numpy(float)
        plon = pred.places["lon"].to_numpy(float)
        row["terrain_cells_shadowed"] = round(share, 3)
        strength = np.where(ok, links.rsrp_dbm, -np.inf)
        if share >= 0.5:
            pick = zone_places[shadowed]
            p = pick[np.argmin((plat[pick] - clat) ** 2 + ((plon[pick] - clon) * np.cos(np.radians(clat))) ** 2)]
            cand = np.flatnonzero(ok & (links.place == p))
            li = cand[np.argmax(strength[cand])]
            t = towers.iloc[int(links.tower[li])]
            from_tower = float(links.paths.edge_fraction[li] * links.paths.distance_m[li])
            height = float(links.paths.edge_ground_m[li])
            row.update(terrain_verdict="terrain", ridge_lat=float(edge_lat[li]), ridge_lon=float(edge_lon[li]),
                       ridge_height_m=round(height, 1), ridge_from_tower_m=round(from_tower, 1),
                       terrain_reason=f"shadowed by a ridge {height:,.0f} m high, {_km(from_tower)} from the {op} "
                                      f"tower at {_coord(t.lat, t.lon)}")
        else:
            visible = ok & (nu <= SHADOW_NU)
            li = np.flatnonzero(visible)[np.argmax(strength[visible])]
            t = towers.iloc[int(links.tower[li])]
            row.update(terrain_verdict="not_terrain", terrain_reason=(
                f"in line of sight of the {op} tower at {_coord(t.lat, t.lon)} "
                f"({_km(float(links.paths.distance_m[li]))}): the cause is not terrain (distance, capacity, or a "
                "tower that is off)"))
        row.update(terrain_tower_id=t.tower_id, terrain_tower_lat=float(t.lat), terrain_tower_lon=float(t.lon),
                   terrain_tower_m=round(float(links.paths.distance_m[li]), 1),
                   diffraction_db=round(float(links.paths.diffraction_db[li]), 1))
        rows.append(row)
    return pd.DataFrame(rows, columns=ZONE_TERRAIN_COLUMNS, index=zones.index)
