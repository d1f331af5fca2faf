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


def cut_walks(df, settings: Settings):
    """Samples outside every exclusion zone, with each walk cut where it meets one.

    Within a session (ordered by time), the samples after a stretch inside a zone, or after a step
    whose straight line passes through a zone, get the session name with ``~N`` appended: a map
    that joins a session's samples into a line then never draws a line into or across a zone.
    """
    if not settings.exclusion_zones or len(df) == 0:
        return df
    import pandas as pd

    lat = df["lat"].to_numpy(dtype=float)
    lon = df["lon"].to_numpy(dtype=float)
    inside = excluded_mask(lat, lon, settings)
    session = (df["session"] if "session" in df.columns else pd.Series("", index=df.index)).fillna("").astype(str)
    order = np.lexsort((pd.to_datetime(df["time"], utc=True).astype("int64").to_numpy()
                        if "time" in df.columns else np.arange(len(df)), session.to_numpy()))
    s_sorted = session.to_numpy()[order]
    in_sorted = inside[order]
    kept = np.flatnonzero(~in_sorted)
    cut = np.zeros(len(order), dtype=bool)
    if len(kept) > 1:
        a, b = kept[:-1], kept[1:]
        same = s_sorted[a] == s_sorted[b]
        skipped_inside = (b - a) > 1  # samples inside a zone lay between them
        crosses = _crosses(lat[order][a], lon[order][a], lat[order][b], lon[order][b], settings)
        cut[b] = same & (skipped_inside | crosses)
    piece = np.zeros(len(order), dtype=np.int64)
    starts = np.r_[True, s_sorted[1:] != s_sorted[:-1]]
    counter = np.cumsum(cut)
    first_of_session = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    piece = counter - counter[first_of_session]
    names = np.where(piece > 0, np.char.add(np.char.add(s_sorted.astype(str), "~"), piece.astype(str)), s_sorted)
    out = df.iloc[order].copy()
    if "session" in out.columns or (piece > 0).any():
        out["session"] = names
    return out[~in_sorted].sort_index()


def _crosses(lat1, lon1, lat2, lon2, settings: Settings) -> np.ndarray:
    """Whether the straight step from point 1 to point 2 passes within a zone's radius (on a local
    flat approximation, fine for steps of a walk)."""
    out = np.zeros(len(lat1), dtype=bool)
    for z in settings.exclusion_zones:
        k = np.cos(np.radians(z.lat))
        ax, ay = (lon1 - z.lon) * k * 111_320.0, (lat1 - z.lat) * 110_540.0
        bx, by = (lon2 - z.lon) * k * 111_320.0, (lat2 - z.lat) * 110_540.0
        dx, dy = bx - ax, by - ay
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.clip(-(ax * dx + ay * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        t = np.where(np.isfinite(t), t, 0.0)
        out |= np.hypot(ax + t * dx, ay + t * dy) <= z.radius_m
    return out


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
        parts.append(shapely.transform(circle, lambda c, back=back: np.column_stack(back.transform(c[:, 0], c[:, 1]))))
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
