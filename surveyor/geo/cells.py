"""The H3 grid: assigning samples to cells, cell geometry, cells of an area, coarser parents.

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
    """The resolution as an int, or :class:`surveyor.errors.InvalidRequest` when out of range."""
    from surveyor.errors import InvalidRequest

    if not isinstance(resolution, (int, np.integer)) or not MIN_RESOLUTION <= int(resolution) <= MAX_RESOLUTION:
        raise InvalidRequest(f"H3 resolution {resolution!r} is out of range.",
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


def h3_cells(lat: pd.Series, lon: pd.Series, resolution: int = 10) -> pd.Series:
    """H3 cell ids (integers) for the rows with a position; missing elsewhere."""
    la = pd.to_numeric(lat, errors="coerce").to_numpy(dtype=float)
    lo = pd.to_numeric(lon, errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(la) & np.isfinite(lo)
    cells = np.zeros(len(la), dtype=np.int64)
    if ok.all():
        cells = cells_of(la, lo, resolution).astype(np.int64)
    elif ok.any():
        cells[ok] = cells_of(la[ok], lo[ok], resolution).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(cells, ~ok), index=lat.index)


def cells_of(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    """H3 cells (uint64) of finite coordinates, vectorised.

    h3-py 4.x converts one point at a time; h3ronpy (the Rust h3o library) does whole arrays.
    """
    try:
        import pyarrow as pa
        from h3ronpy.vector import coordinates_to_cells

        return np.asarray(pa.array(coordinates_to_cells(lat, lon, resolution)).to_numpy(zero_copy_only=False),
                          dtype=np.uint64)
    except ImportError:  # pragma: no cover - h3ronpy is a declared dependency
        import h3

        return np.array([h3.str_to_int(h3.latlng_to_cell(a, b, resolution)) for a, b in zip(lat, lon)],
                        dtype=np.uint64)


def cell_ints(values) -> tuple[np.ndarray, np.ndarray]:
    """uint64 cells of a column of integer cells with gaps (None, NaN, pandas NA), and a mask of
    the rows that have one."""
    s = pd.Series(values)
    ok = s.notna().to_numpy()
    cells = np.zeros(len(s), dtype=np.uint64)
    if ok.any():
        cells[ok] = s[ok].to_numpy(dtype=np.int64).astype(np.uint64)
    return cells, ok


def resolution_of(cells: np.ndarray) -> np.ndarray:
    """The H3 resolution of each cell, read from its bits."""
    return ((np.asarray(cells, dtype=np.uint64) >> _RES_SHIFT) & np.uint64(0xF)).astype(np.int64)


def coarsened(cells: np.ndarray, resolution: int) -> np.ndarray:
    """Cells finer than ``resolution`` replaced by their parent at it; coarser ones kept."""
    cells = np.asarray(cells, dtype=np.uint64)
    finer = resolution_of(cells) > resolution
    out = cells.copy()
    if finer.any():
        out[finer] = parent_cells(cells[finer], resolution)
    return out
