"""The elevation model as an array: sampling it at many points, hillshade and contour lines.

A :class:`Dem` is what ``surveyor dem import`` stores and what terrain analysis reads: elevations
in metres above sea level as a float32 array (NaN where the model has no value), the affine
transform of its grid and its coordinate reference system. Surveyor keeps DEMs north-up in the
area's UTM zone, so distances along a profile are plain metres.

Everything here works on whole arrays at once: :meth:`Dem.sample` takes millions of points (the
profiles of every cell to every tower of a village in one call), :func:`hillshade` and
:func:`contour_lines` the whole grid. No file I/O: reading and writing DEM files belongs to
:mod:`surveyor.ingest.dem` and :mod:`surveyor.store.dem`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

# Sun of the standard hillshade (the convention of cartography and of GDAL's gdaldem).
HILLSHADE_AZIMUTH_DEG = 315.0
HILLSHADE_ALTITUDE_DEG = 45.0


@dataclass(frozen=True, eq=False)
class Dem:
    """An elevation grid.

    Parameters
    ----------
    elevation_m
        2-D float32 array, rows from north to south; NaN where there is no data.
    transform
        The six affine coefficients ``(a, b, c, d, e, f)`` of the grid's pixel corners, as GDAL
        and rasterio order them: ``x = a * col + b * row + c``, ``y = d * col + e * row + f``.
    crs
        The grid's coordinate reference system, e.g. ``"EPSG:32749"`` (any string pyproj reads).
    """

    elevation_m: np.ndarray
    transform: tuple[float, float, float, float, float, float]
    crs: str

    def __post_init__(self) -> None:
        t = tuple(float(v) for v in tuple(self.transform)[:6])
        if t[1] != 0.0 or t[3] != 0.0:
            raise ValueError("Dem needs a north-up grid (no rotation terms in the transform)")
        object.__setattr__(self, "transform", t)
        if self.elevation_m.ndim != 2:
            raise ValueError("Dem.elevation_m must be a 2-D array")

    # -- grid ---------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.elevation_m.shape

    @property
    def resolution_m(self) -> tuple[float, float]:
        """Pixel width and height in CRS units (metres for the UTM grids surveyor stores)."""
        return abs(self.transform[0]), abs(self.transform[4])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in CRS units."""
        a, _, c, _, e, f = self.transform
        rows, cols = self.shape
        xs = (c, c + a * cols)
        ys = (f, f + e * rows)
        return min(xs), min(ys), max(xs), max(ys)

    def pixel_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x of each column's centre and y of each row's centre (1-D arrays)."""
        a, _, c, _, e, f = self.transform
        rows, cols = self.shape
        return c + a * (np.arange(cols) + 0.5), f + e * (np.arange(rows) + 0.5)

    # -- coordinates --------------------------------------------------------------------------------
    @cached_property
    def _to_grid(self):
        from pyproj import Transformer

        return Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)

    @cached_property
    def _to_lonlat(self):
        from pyproj import Transformer

        return Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    def xy(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        """Grid coordinates of WGS84 longitudes and latitudes (arrays or scalars)."""
        x, y = self._to_grid.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x), np.asarray(y)

    def lonlat(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 longitudes and latitudes of grid coordinates."""
        lon, lat = self._to_lonlat.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.asarray(lon), np.asarray(lat)

    def contains(self, x: Any, y: Any) -> np.ndarray:
        """True where a grid coordinate lies on the grid and has an elevation."""
        return np.isfinite(self.sample(x, y))

    # -- sampling -----------------------------------------------------------------------------------
    def sample(self, x: Any, y: Any) -> np.ndarray:
        """Bilinear elevation at grid coordinates (any shape; float64 result of the same shape).

        Between pixel centres the four surrounding values are blended; in the outer half pixel the
        edge values are used. NaN outside the grid and wherever one of the four values is missing
        (a profile never crosses a void as if it were flat).
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        a, _, c, _, e, f = self.transform
        rows, cols = self.shape
        col = (x - c) / a - 0.5
        row = (y - f) / e - 0.5
        inside = (col >= -0.5) & (col <= cols - 0.5) & (row >= -0.5) & (row <= rows - 0.5)
        col = np.clip(np.where(inside, col, 0.0), 0.0, cols - 1)
        row = np.clip(np.where(inside, row, 0.0), 0.0, rows - 1)
        c0 = np.minimum(np.floor(col).astype(np.intp), max(cols - 2, 0))
        r0 = np.minimum(np.floor(row).astype(np.intp), max(rows - 2, 0))
        c1 = np.minimum(c0 + 1, cols - 1)
        r1 = np.minimum(r0 + 1, rows - 1)
        fc = col - c0
        fr = row - r0
        z = self.elevation_m
        top = z[r0, c0] * (1.0 - fc) + z[r0, c1] * fc
        bottom = z[r1, c0] * (1.0 - fc) + z[r1, c1] * fc
        out = top * (1.0 - fr) + bottom * fr
        return np.where(inside, out, np.nan).astype(float)

    def sample_lonlat(self, lon: Any, lat: Any) -> np.ndarray:
        """Bilinear elevation at WGS84 positions."""
        return self.sample(*self.xy(lon, lat))

    def sample_segments(self, x0: Any, y0: Any, x1: Any, y1: Any, n: int) -> np.ndarray:
        """Elevations at ``n`` evenly spaced points along each of many straight segments.

        Parameters
        ----------
        x0, y0, x1, y1
            1-D arrays (length m) of segment ends in grid coordinates.
        n
            Points per segment, both ends included.

        Returns
        -------
        numpy.ndarray
            Shape (m, n): row i runs from (x0[i], y0[i]) to (x1[i], y1[i]).
        """
        t = np.linspace(0.0, 1.0, int(n))
        x0, y0, x1, y1 = (np.asarray(v, dtype=float)[:, None] for v in (x0, y0, x1, y1))
        return self.sample(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)


def hillshade(dem: Dem, azimuth_deg: float = HILLSHADE_AZIMUTH_DEG,
              altitude_deg: float = HILLSHADE_ALTITUDE_DEG, z_factor: float = 1.0) -> np.ndarray:
    """Shaded relief as 8-bit values: Horn's slope and aspect, a sun at ``azimuth_deg``/``altitude_deg``.

    Horn (1981), "Hill shading and the reflectance map": slope and aspect from the 3 x 3
    neighbourhood with weights 1-2-1, the formula of GDAL's ``gdaldem hillshade``. A flat pixel
    under the default sun gets 255 x cos(45 deg) = 180; slopes facing the sun are brighter.

    Returns
    -------
    numpy.ndarray
        uint8, same shape as the DEM; 0 where there is no data (1-255 elsewhere).
    """
    z = dem.elevation_m.astype(np.float64)
    dx, dy = dem.resolution_m
    p = np.pad(z, 1, mode="edge")
    # Neighbours a b c / d e f / g h i, rows from north to south.
    a, b, c = p[:-2, :-2], p[:-2, 1:-1], p[:-2, 2:]
    d, f = p[1:-1, :-2], p[1:-1, 2:]
    g, h, i = p[2:, :-2], p[2:, 1:-1], p[2:, 2:]
    dz_dx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * dx)  # rising to the east
    dz_dy = ((a + 2 * b + c) - (g + 2 * h + i)) / (8.0 * dy)  # rising to the north
    dz_dx *= z_factor
    dz_dy *= z_factor
    zenith = math.radians(90.0 - altitude_deg)
    az = math.radians(azimuth_deg)
    # Unit vector towards the sun, and the surface normal (-dz/dx, -dz/dy, 1) normalised.
    sun = np.array([math.sin(az) * math.sin(zenith), math.cos(az) * math.sin(zenith), math.cos(zenith)])
    norm = np.sqrt(dz_dx ** 2 + dz_dy ** 2 + 1.0)
    shade = (-dz_dx * sun[0] - dz_dy * sun[1] + sun[2]) / norm
    ok = np.isfinite(shade) & np.isfinite(z)
    out = np.zeros(shade.shape, dtype=np.uint8)
    out[ok] = np.clip(np.rint(255.0 * np.clip(shade[ok], 0.0, 1.0)), 1, 255).astype(np.uint8)
    return out


def contour_lines(dem: Dem, interval_m: float = 25.0, index_every: int = 4, clip=None,
                  simplify_m: float | None = None):
    """Contour lines of the DEM as a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    dem
        The elevation model.
    interval_m
        Vertical spacing of the lines (25 m by default).
    index_every
        Every n-th line is an index contour (``index`` True; every 100 m by default), drawn heavier.
    clip
        Optional shapely polygon in the DEM's CRS: lines are cut to it.
    simplify_m
        Douglas-Peucker tolerance in metres (default: a quarter pixel), which keeps the layer small
        without moving a line visibly.

    Returns
    -------
    geopandas.GeoDataFrame
        ``elevation_m`` (float), ``index`` (bool) and LineString geometries.
    """
    import contourpy
    import geopandas as gpd
    import shapely

    z = dem.elevation_m
    finite = np.isfinite(z)
    empty = gpd.GeoDataFrame({"elevation_m": np.zeros(0), "index": np.zeros(0, dtype=bool)},
                             geometry=[], crs="EPSG:4326")
    if not finite.any():
        return empty
    lo, hi = float(np.nanmin(z)), float(np.nanmax(z))
    step = float(interval_m)
    levels = np.arange(math.ceil(lo / step) * step, hi + 1e-9, step)
    if len(levels) == 0:
        return empty
    xs, ys = dem.pixel_centres()
    gen = contourpy.contour_generator(xs, ys, np.ma.masked_invalid(z), line_type="Separate")
    tol = simplify_m if simplify_m is not None else 0.25 * min(dem.resolution_m)
    elev, geoms = [], []
    for level in levels:
        for coords in gen.lines(float(level)):
            if len(coords) < 2:
                continue
            elev.append(float(level))
            geoms.append(shapely.linestrings(coords))
    if not geoms:
        return empty
    g = np.asarray(geoms, dtype=object)
    if tol > 0:
        g = shapely.simplify(g, tol, preserve_topology=False)
    elev_a = np.asarray(elev)
    if clip is not None:
        g = shapely.intersection(g, clip)
        mixed = shapely.get_type_id(g) == 7  # a line touching the edge also leaves a point behind
        for k in np.flatnonzero(mixed):
            parts = [p for p in shapely.get_parts(g[k]) if p.geom_type in ("LineString", "MultiLineString")]
            g[k] = shapely.union_all(parts) if parts else shapely.LineString()
        keep = ~shapely.is_empty(g) & np.isin(shapely.get_type_id(g), [1, 5])
        g, elev_a = g[keep], elev_a[keep]
    major = step * max(int(index_every), 1)
    index = np.isclose(np.round(elev_a / major) * major, elev_a)
    frame = gpd.GeoDataFrame({"elevation_m": elev_a, "index": index}, geometry=g, crs=dem.crs)
    return frame.to_crs("EPSG:4326")


def srtm_tile_names(west: float, south: float, east: float, north: float) -> list[str]:
    """Names of the 1 x 1 degree SRTM tiles (e.g. ``S08E109``) covering a WGS84 box."""
    names = []
    for lat in range(math.floor(south), math.floor(north - 1e-12) + 1):
        for lon in range(math.floor(west), math.floor(east - 1e-12) + 1):
            names.append(f"{'N' if lat >= 0 else 'S'}{abs(lat):02d}{'E' if lon >= 0 else 'W'}{abs(lon):03d}")
    return names


def project_geometry(geom, src_crs: str, dst_crs: str):
    """A shapely geometry moved from one CRS to another (e.g. a village boundary into the DEM's UTM grid)."""
    import shapely
    from pyproj import Transformer

    tr = Transformer.from_crs(src_crs, dst_crs, always_xy=True)

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, move)
