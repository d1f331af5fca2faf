"""Exclusion zones and anonymisation: what never leaves the survey database.

Exclusion zones from ``survey.toml`` (e.g. around volunteers' homes) are dropped from every output,
always, with or without ``--anonymize``: analysis ignores samples inside them and outputs drop
cells and zones that touch them. ``--anonymize`` removes volunteer names, device IDs and exact
sample positions (only cell aggregates remain); device models stay.

What ``--anonymize`` removes from samples, and why (see the README, "Privacy"):

- ``volunteer``, ``device`` (personal data by DESIGN section 3);
- ``route``, ``note``, ``source_file`` and ``source_line``: free text and file names that
  volunteers fill in, which in practice often hold a name or "rumah ..." (home);
- ``session`` is replaced by a pseudonym (``S001``...) numbered by start time, because session
  IDs are often built from a device ID, while reviewers still need to count sessions;
- the position: dropped, or replaced by the centre of the sample's H3 cell (``positions="cell"``),
  so a home walk cannot be traced finer than a cell.
"""

from __future__ import annotations

import numpy as np

from surveyor.config import Settings

PERSONAL_FIELDS = ("volunteer", "device")
# Free text and file names that may name a person or a home; removed with the personal fields.
IDENTIFYING_FIELDS = ("route", "note", "source_file", "source_line")
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


def anonymize_samples(df, *, positions: str = "drop", resolution: int = 10):
    """Remove personal fields and exact positions from a samples frame (keeps h3 cells, models).

    Parameters
    ----------
    df
        Samples (DataFrame or GeoDataFrame) with the columns of the ``samples`` layer.
    positions
        ``"drop"`` removes ``lat``/``lon``/``geometry``; ``"cell"`` replaces ``lat``/``lon`` by the
        centre of the sample's H3 cell (its ``h3_10`` cell, or that cell's parent at
        ``resolution`` when coarser) and drops the geometry, so callers rebuild points from them.
    resolution
        H3 resolution of the cell centres for ``positions="cell"`` (at most 10).

    Returns
    -------
    pandas.DataFrame
        A new frame; ``session`` holds pseudonyms (``S001``...) numbered by session start.
    """
    import pandas as pd

    drop = [c for c in PERSONAL_FIELDS + IDENTIFYING_FIELDS + ("geometry",) if c in df.columns]
    out = pd.DataFrame(df.drop(columns=drop))
    if "session" in out.columns:
        out["session"] = pseudonymize_sessions(out)
    if positions == "drop":
        return out.drop(columns=[c for c in ("lat", "lon") if c in out.columns])
    if positions != "cell":
        raise ValueError(f"positions must be 'drop' or 'cell', not {positions!r}")
    lat, lon = cell_centres(out["h3_10"] if "h3_10" in out.columns else pd.Series([], dtype=object),
                            resolution)
    out["lat"], out["lon"] = lat, lon
    # Accuracy and altitude belong to the exact fix; at a cell centre they would mislead.
    return out.drop(columns=[c for c in ("accuracy_m", "altitude_m") if c in out.columns])


def pseudonymize_sessions(df):
    """Session IDs replaced by ``S001``, ``S002``... numbered by each session's first sample time."""
    import pandas as pd

    sessions = df["session"]
    if "time" in df.columns:
        order = df.groupby("session", dropna=True)["time"].min().sort_values(kind="stable").index
    else:
        order = pd.Index(sorted(sessions.dropna().unique(), key=str))
    names = {s: f"S{i:03d}" for i, s in enumerate(order, 1)}
    return sessions.map(names).astype(object).where(sessions.notna(), None)


def _cell_at(h3_int: int, resolution: int) -> str:
    """An H3 cell (integer) as a string, coarsened to ``resolution`` when it is finer."""
    import h3

    cell = h3.int_to_str(h3_int)
    return h3.cell_to_parent(cell, resolution) if h3.get_resolution(cell) > resolution else cell


def cell_centres(h3_ints, resolution: int = 10):
    """Latitudes and longitudes (numpy arrays) of the centres of H3 cells given as integers.

    Missing cells (unplaced samples) give NaN.
    """
    import h3

    lat = np.full(len(h3_ints), np.nan)
    lon = np.full(len(h3_ints), np.nan)
    cache: dict[int, tuple[float, float]] = {}
    for i, v in enumerate(h3_ints):
        if v is None or v != v:
            continue
        v = int(v)
        if v not in cache:
            cache[v] = h3.cell_to_latlng(_cell_at(v, resolution))
        lat[i], lon[i] = cache[v]
    return lat, lon


def drop_samples_in_excluded_cells(df, settings: Settings, resolution: int = 10):
    """Samples whose H3 cell touches no exclusion zone.

    Used before positions are coarsened to cell centres: a cell that touches a home's zone is left
    out whole, as it is from the ``cells`` outputs, so no centre ever points at that home.
    """
    zone = exclusion_geometry(settings)
    if zone is None or len(df) == 0 or "h3_10" not in df.columns:
        return df
    import h3
    import shapely

    keep = np.ones(len(df), dtype=bool)
    verdict: dict[int, bool] = {}
    for i, v in enumerate(df["h3_10"]):
        if v is None or v != v:
            continue
        v = int(v)
        if v not in verdict:
            ring = [(b, a) for a, b in h3.cell_to_boundary(_cell_at(v, resolution))]
            verdict[v] = not shapely.Polygon(ring).intersects(zone)
        keep[i] = verdict[v]
    return df[keep]
