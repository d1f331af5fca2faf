"""``surveyor dem import``: elevation tiles -> one DEM of the area plus 15 km, in its UTM zone.

Reads GeoTIFF (also Cloud Optimised GeoTIFF), SRTM ``.hgt`` and ``.hgt.zip`` and zip files
holding one of those, through GDAL (rasterio's wheels carry it). Several tiles are mosaicked:
each is reprojected (bilinear) onto one grid in the area's UTM zone that covers the village
boundary plus ``buffer_m`` (15 km: terrain analysis needs the hills between a village and towers
up to 15 km away); where tiles overlap, the first file given wins. Voids inside the model
(SRTM's no-data holes) are filled by GDAL's inverse-distance interpolation
(``rasterio.fill.fillnodata``); area the tiles do not reach stays without data.

Checks, each a message naming the file and the fix, before anything is stored: a file GDAL
cannot read, a file without a coordinate reference system (unless ``crs`` is given), tiles that do
not reach the area at all (with the SRTM tile names that would), and tiles that leave part of the
village uncovered. Nothing already stored changes unless the whole import succeeds, and an
existing model is replaced only with ``overwrite``.
"""

from __future__ import annotations

import logging
import math
import zipfile
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np

from surveyor.config import Settings
from surveyor.errors import InputError, InvalidRequest
from surveyor.geo.dem import Dem, contour_lines, hillshade, srtm_tile_names

log = logging.getLogger(__name__)

BUFFER_M = 15_000.0
CONTOUR_INTERVAL_M = 25.0
CONTOUR_INDEX_EVERY = 4  # an index contour every 100 m
CONTOUR_BUFFER_M = 2_000.0  # contour lines are kept for the village plus this much (the map's extent)
MIN_RESOLUTION_M = 5.0
MAX_PIXELS_PER_SIDE = 6_000
# The village itself must be covered; a few pixels along a jagged boundary may fall outside a tile.
MIN_AREA_COVERAGE = 0.995
# Elevations outside this range are no data (e.g. SRTM's -32767 voids in files without a nodata tag).
VALID_ELEVATION_M = (-500.0, 9_000.0)
RASTER_SUFFIXES = (".tif", ".tiff", ".hgt", ".gtiff", ".vrt", ".dt0", ".dt1", ".dt2", ".asc")
FORMATS_TEXT = "GeoTIFF / Cloud Optimised GeoTIFF, SRTM .hgt or .hgt.zip"


@dataclass
class Source:
    """One opened input tile: its path, what GDAL calls it, its CRS and extent."""

    path: str
    gdal_path: str
    driver: str
    crs: str
    bounds_lonlat: tuple[float, float, float, float]
    resolution_m: float


def _gdal_path(path: Path) -> str:
    """What rasterio should open: the file, or the raster inside a zip that GDAL does not open itself."""
    import rasterio

    try:
        with rasterio.open(path):
            return str(path)
    except Exception:  # fall through to the zip check and the message below
        pass
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if n.lower().endswith(RASTER_SUFFIXES)]
        if members:
            return f"/vsizip/{path.resolve()}/{members[0]}"
        raise InputError(f"the zip file holds no elevation raster (looked for {', '.join(RASTER_SUFFIXES)}).",
                         path=str(path), fix=f"Give the tile itself ({FORMATS_TEXT}).")
    raise InputError("is not an elevation raster GDAL can read.", path=str(path),
                     fix=f"Give a {FORMATS_TEXT} file (the README says where to download one).")


def open_sources(paths: list[str | Path], crs: str | None = None) -> list[Source]:
    """Open and describe every input; collects all problems and raises once."""
    import rasterio
    from rasterio.warp import transform_bounds

    if not paths:
        raise InvalidRequest("No DEM file given.", fix="e.g. surveyor dem import S08E109.hgt")
    problems: list[str] = []
    sources = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            problems.append(f"{path}: no such file.")
            continue
        if path.is_dir():
            problems.append(f"{path}: is a folder; give the tile files.")
            continue
        try:
            gdal_path = _gdal_path(path)
            with rasterio.open(gdal_path) as ds:
                src_crs = ds.crs.to_string() if ds.crs else None
                georeferenced = not ds.transform.is_identity
                use_crs = crs or src_crs
                if not georeferenced or use_crs is None:
                    what = "no coordinate reference system" if georeferenced else "no georeferencing"
                    raise InputError(
                        f"has {what}, so surveyor cannot tell where on earth it lies.", path=str(path),
                        fix="Give its CRS with --crs (e.g. --crs EPSG:4326 for a latitude/longitude grid), or "
                            "export the tile again with its CRS (gdal_edit.py -a_srs EPSG:4326 FILE).")
                bounds = transform_bounds(use_crs, "EPSG:4326", *ds.bounds, densify_pts=21)
                res = _resolution_m(ds.res, use_crs, (bounds[1] + bounds[3]) / 2)
                sources.append(Source(str(path), gdal_path, ds.driver, use_crs, tuple(bounds), res))
        except InputError as exc:
            problems.append(str(exc))
        except Exception as exc:  # GDAL's own errors become one message per file
            problems.append(f"{path}: cannot be read as a DEM ({exc}). Give a {FORMATS_TEXT} file.")
    if problems:
        raise InputError(problems[0] if len(problems) == 1 else "Some DEM files cannot be used:\n  "
                         + "\n  ".join(problems))
    return sources


def _resolution_m(res: tuple[float, float], crs: str, lat: float) -> float:
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    if c.is_geographic:
        m_per_deg = math.pi / 180 * 6_371_008.8
        return float(math.sqrt(res[0] * m_per_deg * math.cos(math.radians(lat)) * res[1] * m_per_deg))
    factor = c.axis_info[0].unit_conversion_factor if c.axis_info else 1.0
    return float(math.sqrt(res[0] * res[1]) * factor)


@dataclass
class Grid:
    crs: str
    transform: tuple[float, float, float, float, float, float]
    shape: tuple[int, int]


def plan_grid(area_lonlat, sources: list[Source], buffer_m: float = BUFFER_M,
              resolution_m: float | None = None) -> Grid:
    """The output grid: the area's UTM zone, the area's bounds plus ``buffer_m``, snapped to the resolution."""
    from surveyor.geo.areas import utm_crs
    from surveyor.geo.dem import project_geometry

    c = area_lonlat.centroid
    crs = utm_crs(c.x, c.y)
    left, bottom, right, top = project_geometry(area_lonlat, "EPSG:4326", crs).buffer(buffer_m).bounds
    res = float(resolution_m) if resolution_m else max(min(s.resolution_m for s in sources), MIN_RESOLUTION_M)
    res = max(res, max(right - left, top - bottom) / MAX_PIXELS_PER_SIDE)
    res = float(round(res, 1)) if res < 10 else float(round(res))
    left, bottom = math.floor(left / res) * res, math.floor(bottom / res) * res
    right, top = math.ceil(right / res) * res, math.ceil(top / res) * res
    cols, rows = int(round((right - left) / res)), int(round((top - bottom) / res))
    return Grid(crs, (res, 0.0, left, 0.0, -res, top), (rows, cols))


def mosaic(sources: list[Source], grid: Grid) -> tuple[np.ndarray, list[int]]:
    """Reproject every source onto the grid; the first source with a value wins. Returns the array
    (float32, NaN = no data) and the pixels each source contributed."""
    import rasterio
    from affine import Affine
    from rasterio.warp import Resampling, reproject

    out = np.full(grid.shape, np.nan, dtype=np.float32)
    used = []
    for s in sources:
        with rasterio.open(s.gdal_path) as ds:
            band = ds.read(1, masked=True)
            src = np.ma.filled(band.astype(np.float32), np.nan)
            transform = ds.transform
        lo, hi = VALID_ELEVATION_M
        src[(src < lo) | (src > hi)] = np.nan
        dst = np.full(grid.shape, np.nan, dtype=np.float32)
        reproject(src, dst, src_transform=transform, src_crs=s.crs, src_nodata=np.nan,
                  dst_transform=Affine(*grid.transform), dst_crs=grid.crs, dst_nodata=np.nan,
                  resampling=Resampling.bilinear)
        take = np.isnan(out) & np.isfinite(dst)
        out[take] = dst[take]
        used.append(int(take.sum()))
    return out, used


def fill_voids(z: np.ndarray) -> tuple[np.ndarray, int]:
    """Fill no-data holes enclosed by data (not the area beyond the tiles' edges); returns pixels filled."""
    from rasterio.fill import fillnodata
    from scipy import ndimage

    missing = ~np.isfinite(z)
    if not missing.any() or missing.all():
        return z, 0
    labels, _n = ndimage.label(missing)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    holes = missing & ~np.isin(labels, border)
    if not holes.any():
        return z, 0
    spans = ndimage.find_objects(np.where(holes, labels, 0))
    reach = max((max(s[0].stop - s[0].start, s[1].stop - s[1].start) for s in spans if s is not None), default=1)
    filled = fillnodata(np.where(missing, 0, z).astype(np.float32), mask=(~missing).astype(np.uint8),
                        max_search_distance=float(reach + 2), smoothing_iterations=0)
    out = z.copy()
    out[holes] = filled[holes]
    return out, int(holes.sum())


def _area_mask(area_lonlat, grid: Grid) -> np.ndarray:
    from affine import Affine
    from rasterio.features import geometry_mask

    from surveyor.geo.dem import project_geometry

    geom = project_geometry(area_lonlat, "EPSG:4326", grid.crs)
    return ~geometry_mask([geom], out_shape=grid.shape, transform=Affine(*grid.transform), all_touched=True)


def _km_to_box(lon: float, lat: float, box) -> float:
    """Distance in km from a point to the nearest point of a lon/lat box (0 inside it)."""
    from surveyor.geo.distance import haversine_m

    return haversine_m(lat, lon, min(max(lat, box[1]), box[3]), min(max(lon, box[0]), box[2])) / 1000.0


def _fmt_box(b) -> str:
    def ns(v):
        return f"{abs(v):.3f}{'N' if v >= 0 else 'S'}"

    def ew(v):
        return f"{abs(v):.3f}{'E' if v >= 0 else 'W'}"
    return f"{ns(b[1])}-{ns(b[3])}, {ew(b[0])}-{ew(b[2])}"


def build_dem(paths: list[str | Path], area_lonlat, *, area_name: str = "the area", crs: str | None = None,
              buffer_m: float = BUFFER_M, resolution_m: float | None = None) -> tuple[Dem, dict[str, Any]]:
    """Read, reproject, mosaic, check and fill: the DEM of the area plus ``buffer_m``, and its description.

    Raises
    ------
    InputError
        A file cannot be read or has no CRS; the tiles do not reach the area; they leave part of it
        uncovered.
    """
    from pyproj import Transformer

    sources = open_sources(paths, crs)
    grid = plan_grid(area_lonlat, sources, buffer_m, resolution_m)
    to_ll = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    res, _, left, _, _, top = grid.transform
    rows, cols = grid.shape
    grid_ll = to_ll.transform_bounds(left, top - res * rows, left + res * cols, top)
    area_box = area_lonlat.bounds
    centre = area_lonlat.centroid
    names = srtm_tile_names(*grid_ll)
    z, used = mosaic(sources, grid)
    files = ", ".join(Path(s.path).name for s in sources)
    if not np.isfinite(z).any():
        far = min(_km_to_box(centre.x, centre.y, s.bounds_lonlat) for s in sources)
        covers = "; ".join(f"{Path(s.path).name} covers {_fmt_box(s.bounds_lonlat)}" for s in sources)
        raise InputError(
            f"{files}: this elevation model is of another place: {covers}, but {area_name} lies at "
            f"{_fmt_box(area_box)} ({far:,.0f} km away).",
            fix=f"Give tiles that cover {area_name} and 15 km around it: SRTM {', '.join(names)} "
                "(or the Copernicus GLO-30 / DEMNAS tiles of the same place).")
    z, filled = fill_voids(z)
    valid = np.isfinite(z)
    in_area = _area_mask(area_lonlat, grid)
    area_cov = float(valid[in_area].mean()) if in_area.any() else 0.0
    if area_cov < MIN_AREA_COVERAGE:
        missing_names = _missing_tiles(z, grid, to_ll, in_area)
        raise InputError(
            f"{files}: the elevation model covers only {100 * area_cov:.0f}% of {area_name}.",
            fix="Add the tiles that cover the rest" + (f" (SRTM {', '.join(missing_names)})" if missing_names else "")
                + " to the same command: several tiles are mosaicked.")
    buffer_cov = float(valid.mean())
    warnings = []
    if buffer_cov < 0.999:
        missing_names = _missing_tiles(z, grid, to_ll, np.ones_like(valid))
        warnings.append(
            f"The elevation model covers {100 * buffer_cov:.0f}% of {area_name} plus {buffer_m / 1000:g} km; towers "
            "beyond it get no terrain profile" + (f" (add SRTM {', '.join(missing_names)})" if missing_names else "")
            + ".")
    for s, n in zip(sources, used):
        if n == 0:
            warnings.append(f"{s.path}: not used (outside {area_name} plus {buffer_m / 1000:g} km, or covered by "
                            "an earlier file).")
    dem = Dem(z, grid.transform, grid.crs)
    zin = z[in_area & valid]
    info = {
        "sources": [s.path for s in sources],
        "source_crs": sorted({s.crs for s in sources}),
        "crs": grid.crs,
        "resolution_m": grid.transform[0],
        "shape": list(grid.shape),
        "bounds": list(dem.bounds),
        "bounds_lonlat": [round(v, 6) for v in grid_ll],
        "buffer_m": buffer_m,
        "area_coverage": round(area_cov, 4),
        "buffer_coverage": round(buffer_cov, 4),
        "voids_filled_px": filled,
        "elevation_min_m": float(np.nanmin(z)),
        "elevation_max_m": float(np.nanmax(z)),
        "area_elevation_min_m": float(zin.min()) if zin.size else None,
        "area_elevation_max_m": float(zin.max()) if zin.size else None,
        "warnings": warnings,
    }
    return dem, info


def _missing_tiles(z: np.ndarray, grid: Grid, to_ll, where: np.ndarray) -> list[str]:
    """SRTM tile names of pixels without data (inside ``where``)."""
    rows, cols = np.nonzero(~np.isfinite(z) & where)
    if len(rows) == 0:
        return []
    step = max(1, len(rows) // 5000)
    a, _, c, _, e, f = grid.transform
    x = c + a * (cols[::step] + 0.5)
    y = f + e * (rows[::step] + 0.5)
    lon, lat = to_ll.transform(x, y)
    tiles = set()
    for lo, la in zip(np.floor(lon).astype(int), np.floor(lat).astype(int)):
        tiles.update(srtm_tile_names(lo + 0.5, la + 0.5, lo + 0.5, la + 0.5))
    return sorted(tiles)


def import_dem(store, settings: Settings, paths: list[str | Path], *, area: str | None = None,
               crs: str | None = None, buffer_m: float = BUFFER_M, resolution_m: float | None = None,
               overwrite: bool = False) -> dict[str, Any]:
    """Import elevation tiles into the survey: the DEM, its hillshade and the ``contours`` layer.

    Parameters
    ----------
    store
        The survey's store (the DEM goes beside a GeoPackage, or into PostGIS).
    settings
        The survey's settings (its village boundary and code).
    paths
        Tiles: GeoTIFF/COG, SRTM ``.hgt``/``.hgt.zip``; several are mosaicked.
    area
        Village code (default: the survey's own).
    crs
        CRS for files that carry none (e.g. ``EPSG:4326``).
    buffer_m
        How far around the village the model reaches (15 km).
    resolution_m
        Output pixel size (default: the finest input's, at least 5 m).
    overwrite
        Replace an elevation model imported before.

    Returns
    -------
    dict
        The description stored in ``meta`` plus ``written`` (paths or table/layer names).
    """
    from surveyor.geo.areas import select_area

    if crs is not None:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(crs).to_string()
        except CRSError:
            raise InvalidRequest(f"--crs {crs!r} is not a coordinate reference system.",
                                 fix="Use an EPSG code such as EPSG:4326.") from None
    sel = select_area(store.read_layer("areas"), settings, area)
    if sel.boundary is None or sel.boundary.is_empty:
        raise InvalidRequest(f"The area {sel.code} has no boundary to import a DEM for.",
                             fix="Set the village boundary in survey.toml (surveyor init --area FILE).")
    dem, info = build_dem(paths, sel.boundary, area_name=sel.name or sel.code, crs=crs, buffer_m=buffer_m,
                          resolution_m=resolution_m)
    shade = hillshade(dem)
    contours = _contours(dem, sel.boundary)
    info["contours"] = len(contours)
    info["contour_interval_m"] = CONTOUR_INTERVAL_M
    info["imported_at"] = _now()
    from surveyor.store.dem import save_dem

    written = save_dem(store, dem, shade, contours, info, area_code=sel.code, overwrite=overwrite)
    for w in info["warnings"]:
        log.info("%s", w)
    return dict(info, written=written)


def _contours(dem: Dem, area_lonlat):
    from surveyor.geo.dem import project_geometry

    clip = project_geometry(area_lonlat, "EPSG:4326", dem.crs).buffer(CONTOUR_BUFFER_M)
    return contour_lines(dem, CONTOUR_INTERVAL_M, CONTOUR_INDEX_EVERY, clip=clip)


def _now() -> str:
    from datetime import datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
