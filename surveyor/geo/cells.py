"""The H3 grid: assigning samples to cells, cell geometry, cells of an area, and roll-ups.

H3 (Uber's hexagonal grid) is what the FCC BDC mobile challenge uses. Resolution 10 cells have
edges of about 66-76 m (about 0.015 km2), which is the scale of a footpath through a hamlet;
resolutions 9 and 8 (about 7x and 49x larger) are for reports and for areas larger than a village.
Cells are handled as unsigned 64-bit integers internally and written as hex strings (``h3``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_RESOLUTION = 5
MAX_RESOLUTION = 12


def check_resolution(resolution: int) -> int:
    """The resolution as an int, or :class:`surveyor.errors.UsageError` when out of range."""
    from surveyor.errors import UsageError

    if not isinstance(resolution, (int, np.integer)) or not MIN_RESOLUTION <= int(resolution) <= MAX_RESOLUTION:
        raise UsageError(f"H3 resolution {resolution!r} is out of range.",
                         fix=f"Use {MIN_RESOLUTION} to {MAX_RESOLUTION} (10 is about 70 m cells, 8 about 460 m).")
    return int(resolution)


def assign_cells(lat, lon, resolution: int, h3_10=None) -> np.ndarray:
    """H3 cells (uint64; 0 where there is no position) of sample positions, vectorised.

    Parameters
    ----------
    lat, lon
        WGS84 degrees (NaN for unplaced samples).
    resolution
        H3 resolution.
    h3_10
        The ``h3_10`` column computed at merge, when available: reused as-is at resolution 10 and
        parented (exactly, by bit operations) at coarser resolutions, which saves the point-in-cell
        work. Rows where it is missing are computed from lat/lon.
    """
    from surveyor.ingest.identity import cells_of

    la = np.asarray(lat, dtype=float)
    lo = np.asarray(lon, dtype=float)
    out = np.zeros(len(la), dtype=np.uint64)
    todo = np.isfinite(la) & np.isfinite(lo)
    if h3_10 is not None and resolution <= 10:
        s = pd.Series(h3_10)
        if pd.api.types.is_integer_dtype(s.dtype):
            have = s.notna().to_numpy() & todo
            raw = np.zeros(len(s), dtype=np.uint64)
            raw[have] = s[have].to_numpy(dtype=np.int64).astype(np.uint64)
            # A column that went through float64 on its way (a reader turning nullable integers into
            # floats) has lost its low bits; only valid resolution-10 cells are reused.
            have &= valid_res10(raw)
            if have.any():
                out[have] = raw[have] if resolution == 10 else parent_cells(raw[have], resolution)
                todo &= ~have
    if len(la) and todo.all():  # every position needs computing: no masking, no copies
        cells = np.asarray(cells_of(la, lo, resolution), dtype=np.uint64)
        return cells if cells.flags.writeable else cells.copy()
    if todo.any():
        out[todo] = cells_of(la[todo], lo[todo], resolution)
    return out


def valid_res10(cells: np.ndarray) -> np.ndarray:
    """True for integers that look like resolution-10 H3 cells (mode 1, resolution 10, unused
    digits 11-15 all 7)."""
    c = np.asarray(cells, dtype=np.uint64)
    return (((c >> np.uint64(59)) & np.uint64(0xF)) == 1) & (((c >> _RES_SHIFT) & np.uint64(0xF)) == 10) \
        & ((c & np.uint64(0x7FFF)) == np.uint64(0x7FFF))


# H3 index layout: bits 52-55 hold the resolution, then 15 groups of 3 bits (resolutions 1..15),
# unused digits set to 7. Changing resolution to a parent is therefore pure bit arithmetic.
_RES_SHIFT = np.uint64(52)
_RES_MASK = np.uint64(0xF) << _RES_SHIFT


def parent_cells(cells: np.ndarray, resolution: int) -> np.ndarray:
    """Parents (uint64) of cells at a coarser ``resolution``, vectorised by bit arithmetic."""
    cells = np.asarray(cells, dtype=np.uint64)
    out = (cells & ~_RES_MASK) | (np.uint64(resolution) << _RES_SHIFT)
    for r in range(resolution + 1, 16):
        out |= np.uint64(7) << np.uint64(3 * (15 - r))
    return out


def to_hex(cells: np.ndarray) -> np.ndarray:
    """Hex strings of uint64 cells (the ``h3`` column)."""
    return np.array([format(int(c), "x") for c in np.asarray(cells, dtype=np.uint64)], dtype=object)


def from_hex(h3: pd.Series | list) -> np.ndarray:
    """uint64 cells of hex strings."""
    return np.array([int(h, 16) for h in h3], dtype=np.uint64)


def cell_centres(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (lat, lon) of each cell."""
    import pyarrow as pa
    from h3ronpy.vector import cells_to_coordinates

    cells = np.asarray(cells, dtype=np.uint64)
    if len(cells) == 0:
        return np.zeros(0), np.zeros(0)
    rb = cells_to_coordinates(pa.array(cells))
    return (np.asarray(pa.array(rb.column("lat")).to_numpy(zero_copy_only=False), dtype=float),
            np.asarray(pa.array(rb.column("lng")).to_numpy(zero_copy_only=False), dtype=float))


def cell_polygons(cells: np.ndarray) -> np.ndarray:
    """Shapely polygons (lon, lat) of cells."""
    import pyarrow as pa
    import shapely
    from h3ronpy.vector import cells_to_wkb_polygons

    cells = np.asarray(cells, dtype=np.uint64)
    if len(cells) == 0:
        return np.array([], dtype=object)
    wkb = pa.array(cells_to_wkb_polygons(pa.array(cells))).to_pylist()
    return shapely.from_wkb(wkb)


def area_cells(boundary, resolution: int) -> np.ndarray:
    """Cells (uint64, sorted) whose centre lies inside ``boundary`` (a shapely polygon, lon/lat)."""
    import h3

    if boundary is None or boundary.is_empty:
        return np.zeros(0, dtype=np.uint64)
    cells = h3.geo_to_cells(boundary.__geo_interface__, resolution)
    return np.sort(np.array([h3.str_to_int(c) for c in cells], dtype=np.uint64))


def neighbours_components(cells: np.ndarray) -> np.ndarray:
    """Connected-component label of each cell, where cells sharing an edge are connected.

    Uses H3's ring of the six neighbours (``grid_disk(cell, 1)``) and scipy's connected components.
    """
    import h3
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    cells = np.asarray(cells, dtype=np.uint64)
    n = len(cells)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    index = {int(c): i for i, c in enumerate(cells)}
    rows, cols = [], []
    for i, c in enumerate(cells):
        for nb in h3.grid_disk(h3.int_to_str(int(c)), 1):
            j = index.get(h3.str_to_int(nb))
            if j is not None and j != i:
                rows.append(i)
                cols.append(j)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def rollup(cells, resolution: int, settings=None):
    """Roll a ``cells`` layer up to a coarser H3 resolution (9 or 8 for reports).

    Counts (raw, effective and negative samples, speed tests) are summed over the child cells of
    each parent and operator, and the share and its bounds are recomputed on the sums. Distinct
    counts (sessions, devices, days) cannot be summed, so the parent carries the largest child
    value: a lower bound of the true number. A parent has enough evidence when one of its
    children had, or when its sums meet the thresholds with a child that met the session rules.
    Status: dead / covered / marginal from the recomputed bounds when there is enough evidence
    (or when a child is dead by speed tests), insufficient otherwise, and not_surveyed when every
    child was not surveyed.

    Parameters
    ----------
    cells
        The ``cells`` layer (GeoDataFrame) as written by ``surveyor analyze``.
    resolution
        Target H3 resolution, coarser than the cells'.
    settings
        :class:`surveyor.config.Settings` for the thresholds (defaults when None).

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of the ``cells`` layer that can be aggregated, plus ``child_cells`` and
        ``dead_child_cells``.
    """
    import geopandas as gpd

    from surveyor.analyse.stats import clopper_pearson
    from surveyor.config import Settings

    settings = settings or Settings()
    if len(cells) == 0:
        return gpd.GeoDataFrame(cells.copy(), geometry=[], crs="EPSG:4326")
    src_res = int(cells["resolution"].iloc[0])
    if resolution > src_res:
        raise ValueError(f"cannot roll up resolution {src_res} cells to a finer resolution {resolution}")
    df = pd.DataFrame(cells.drop(columns="geometry", errors="ignore")).copy()
    df["parent"] = parent_cells(from_hex(df["h3"]), resolution)
    surveyed = df["status"] != "not_surveyed"
    df["_enough"] = df["status"].isin(["dead", "covered", "marginal"]) & (df.get("dead_by", "") != "speed_tests")
    df["_speed_dead"] = df.get("dead_by", pd.Series("", index=df.index)).fillna("") == "speed_tests"
    df["_dead"] = df["status"] == "dead"
    df["_surveyed"] = surveyed
    df["_nns"] = df["share_no_service"].fillna(0) * df["samples_effective"]
    df["_n2g"] = df["share_2g3g"].fillna(0) * df["samples_effective"]
    sums = ["samples_raw", "samples_effective", "negatives_effective", "speed_tests", "speed_failed", "_nns", "_n2g"]
    maxes = ["sessions", "devices", "days", "time_spread_h"]
    g = df.groupby(["parent", "operator"], sort=True)
    out = g[sums].sum()
    out[maxes] = g[maxes].max()
    out["first_seen"] = g["first_seen"].min()
    out["last_seen"] = g["last_seen"].max()
    out["child_cells"] = g.size()
    out["dead_child_cells"] = g["_dead"].sum()
    out["surveyed"] = g["_surveyed"].any()
    out["enough_child"] = g["_enough"].any()
    out["speed_dead"] = g["_speed_dead"].any()
    out["area_code"] = g["area_code"].first()
    out["outside_area"] = g["outside_area"].all()
    out = out.reset_index()
    n = out["samples_effective"].to_numpy(dtype=float)
    k = out["negatives_effective"].to_numpy(dtype=float)
    lower, upper = clopper_pearson(k, n, settings.confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_negative"] = np.where(n > 0, k / n, np.nan)
        out["share_no_service"] = np.where(n > 0, out.pop("_nns") / n, np.nan)
        out["share_2g3g"] = np.where(n > 0, out.pop("_n2g") / n, np.nan)
    out["lower_95"], out["upper_95"] = lower, upper
    enough = out["enough_child"] | ((n >= settings.min_effective_samples)
                                    & (out["sessions"] >= settings.min_sessions)
                                    & (out["time_spread_h"] >= settings.min_session_gap_h))
    status = np.where(lower > settings.dead_lower_bound, "dead",
                      np.where(upper < settings.covered_upper_bound, "covered", "marginal"))
    status = np.where(enough, status, "insufficient")
    status = np.where(out["speed_dead"], "dead", status)
    status = np.where(out["surveyed"], status, "not_surveyed")
    out["status"] = status
    out["h3"] = to_hex(out.pop("parent").to_numpy(dtype=np.uint64))
    out["resolution"] = resolution
    parents = from_hex(out["h3"])
    out["lat"], out["lon"] = cell_centres(parents)
    out = out.drop(columns=["enough_child", "speed_dead", "surveyed"])
    return gpd.GeoDataFrame(out, geometry=list(cell_polygons(parents)), crs="EPSG:4326")
