"""Exclusion zones and anonymisation: what never leaves the survey database.

Exclusion zones from ``survey.toml`` (e.g. around volunteers' homes) are dropped from every output,
always, with or without ``--anonymize``: analysis ignores samples inside them and outputs drop
cells and zones that touch them. ``--anonymize`` removes volunteer names, device IDs and exact
sample positions (only cell aggregates remain); device models stay.
"""

from __future__ import annotations

import numpy as np

from surveyor.config import Settings

PERSONAL_FIELDS = ("volunteer", "device")
EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1, lon1, lat2, lon2):
    """Great-circle distance in metres (haversine), vectorised."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def excluded_mask(lat, lon, settings: Settings) -> np.ndarray:
    """True for positions inside any exclusion zone."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    mask = np.zeros(lat.shape, dtype=bool)
    for z in settings.exclusion_zones:
        with np.errstate(invalid="ignore"):
            mask |= distance_m(lat, lon, z.lat, z.lon) <= z.radius_m
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
    import shapely
    from pyproj import Transformer

    from surveyor.areas import utm_crs

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


def anonymize_samples(df):
    """Remove personal fields and exact positions from a samples frame (keeps h3 cells, models)."""
    out = df.drop(columns=[c for c in PERSONAL_FIELDS + ("lat", "lon", "geometry", "note", "route")
                           if c in df.columns])
    return out
