"""Exclusion zones: circles (e.g. around volunteers' homes) that no output ever shows.

Zones come from the survey's settings (``[[exclusion_zones]]``: lat, lon, radius_m, label).
Analysis ignores samples inside them; every output drops samples inside them and the cells, zones,
sites and towers that touch them, with or without ``--anonymize``.
"""

from __future__ import annotations

import numpy as np
import shapely

from surveyor.config import Settings
from surveyor.geo.distance import haversine_m


def excluded_mask(lat, lon, settings: Settings) -> np.ndarray:
    """True for positions inside any exclusion zone."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    mask = np.zeros(lat.shape, dtype=bool)
    for z in settings.exclusion_zones:
        with np.errstate(invalid="ignore"):
            mask |= haversine_m(lat, lon, z.lat, z.lon, xp=np) <= z.radius_m
    return mask


def drop_excluded_samples(df, settings: Settings):
    """Samples (a DataFrame with lat/lon) outside every exclusion zone."""
    if not settings.exclusion_zones or len(df) == 0:
        return df
    return df[~excluded_mask(df["lat"].to_numpy(dtype=float), df["lon"].to_numpy(dtype=float), settings)]


def exclusion_geometry(settings: Settings):
    """The exclusion zones as one shapely geometry in EPSG:4326 (None when there are none)."""
    if not settings.exclusion_zones:
        return None
    from pyproj import Transformer

    from surveyor.geo.areas import utm_crs

    parts = []
    for z in settings.exclusion_zones:
        crs = utm_crs(z.lon, z.lat)
        fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        back = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        x, y = fwd.transform(z.lon, z.lat)
        circle = shapely.Point(x, y).buffer(z.radius_m, 32)
        parts.append(shapely.transform(circle, lambda c: np.column_stack(back.transform(c[:, 0], c[:, 1]))))
    return shapely.union_all(parts)


def drop_excluded_features(gdf, settings: Settings):
    """Features (cells, zones, sites, towers) that touch no exclusion zone."""
    zone = exclusion_geometry(settings)
    if zone is None or len(gdf) == 0:
        return gdf
    return gdf[~gdf.geometry.intersects(zone)]


def drop_samples_in_excluded_cells(df, settings: Settings, resolution: int = 10):
    """Samples whose H3 cell touches no exclusion zone.

    Used before positions are coarsened to cell centres: a cell that touches a home's zone is left
    out whole, as it is from the ``cells`` outputs, so no centre ever points at that home.
    """
    zone = exclusion_geometry(settings)
    if zone is None or len(df) == 0 or "h3_10" not in df.columns:
        return df
    from surveyor.geo.cells import cell_ints, cell_polygons, coarsened

    cells, ok = cell_ints(df["h3_10"])
    keep = np.ones(len(df), dtype=bool)
    if ok.any():
        unique, inverse = np.unique(coarsened(cells[ok], resolution), return_inverse=True)
        touches = shapely.intersects(cell_polygons(unique), zone)
        keep[ok] = ~touches[inverse]
    return df[keep]
