"""The survey's elevation model, stored with the survey.

- **GeoPackage**: two GeoTIFFs beside the ``.gpkg``, named after it: ``survey.dem.tif`` (float32
  elevations in metres, NaN for no data, DEFLATE-compressed, tiled) and ``survey.hillshade.tif``
  (uint8 shaded relief, 0 for no data), both in the area's UTM zone. QGIS opens them as they are.
  A GeoPackage raster was the alternative; GDAL stores float elevations there only as TIFF tiles
  with a scale and offset, and a second file keeps the vector layers' writes and the raster apart.
- **PostGIS**: the same two GeoTIFFs as bytes in the table ``dem_rasters`` (``area_code``, ``kind``
  = ``dem`` or ``hillshade``, ``tiff``, ``imported_at``), one pair per village code, so a district
  database holds each village's model.

The contour lines go into the ``contours`` layer and the import's description (sources, CRS,
resolution, coverage) into ``meta`` under ``dem`` (GeoPackage) or ``dem:CODE`` (PostGIS).

Writes are whole or nothing: the files are written beside their names and renamed into place only
after every part is ready, and an existing model is replaced only when asked to.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from surveyor.errors import NothingToDo, OutputExists, StoreError
from surveyor.geo.dem import Dem

log = logging.getLogger(__name__)

KINDS = ("dem", "hillshade")
CONTOURS_LAYER = "contours"
PG_TABLE = "dem_rasters"
IMPORT_FIX = ("Import an elevation model first: `surveyor dem import FILE...` (SRTM .hgt/.hgt.zip or a "
              "GeoTIFF covering the village; the README says where to get one).")


def _is_postgis(store) -> bool:
    return type(store).__name__ == "PostgisStore"


def dem_paths(store) -> dict[str, Path]:
    """The files of a GeoPackage store's DEM and hillshade (``survey.dem.tif``, ``survey.hillshade.tif``)."""
    path = Path(getattr(store, "path", store.url))
    stem = path.name[:-5] if path.name.lower().endswith(".gpkg") else path.name
    return {kind: path.with_name(f"{stem}.{kind}.tif") for kind in KINDS}


def meta_key(store, area_code: str | None) -> str:
    return f"dem:{area_code}" if _is_postgis(store) and area_code else "dem"


# -- GeoTIFF bytes ----------------------------------------------------------------------------------

def _profile(array: np.ndarray, dem: Dem) -> dict[str, Any]:
    from affine import Affine

    rows, cols = array.shape
    tiled = rows >= 256 and cols >= 256
    profile = {"driver": "GTiff", "width": cols, "height": rows, "count": 1, "dtype": array.dtype.name,
               "crs": dem.crs, "transform": Affine(*dem.transform), "compress": "deflate"}
    if tiled:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    if array.dtype == np.float32:
        profile.update(nodata=float("nan"), predictor=3)
    else:
        profile.update(nodata=0, predictor=2)
    return profile


def write_geotiff(path: str | os.PathLike, array: np.ndarray, dem: Dem, tags: dict | None = None) -> None:
    """Write one band with the DEM's grid to a GeoTIFF file."""
    import rasterio

    with rasterio.open(path, "w", **_profile(array, dem)) as dst:
        dst.write(array, 1)
        if tags:
            dst.update_tags(**{k: str(v) for k, v in tags.items()})


def geotiff_bytes(array: np.ndarray, dem: Dem, tags: dict | None = None) -> bytes:
    """The same GeoTIFF as bytes (for the PostGIS table)."""
    from rasterio.io import MemoryFile

    with MemoryFile() as mem:
        with mem.open(**_profile(array, dem)) as dst:
            dst.write(array, 1)
            if tags:
                dst.update_tags(**{k: str(v) for k, v in tags.items()})
        return mem.read()


def read_geotiff(source) -> tuple[np.ndarray, tuple, str]:
    """(array, transform, crs) of band 1 of a GeoTIFF path or bytes; float NaN kept as NaN."""
    import rasterio
    from rasterio.io import MemoryFile

    def read(ds):
        arr = ds.read(1)
        if arr.dtype.kind == "f" and ds.nodata is not None and not np.isnan(ds.nodata):
            arr = np.where(arr == ds.nodata, np.nan, arr).astype(np.float32)
        return arr, tuple(ds.transform)[:6], ds.crs.to_string()

    if isinstance(source, (bytes, bytearray, memoryview)):
        with MemoryFile(bytes(source)) as mem, mem.open() as ds:
            return read(ds)
    with rasterio.open(source) as ds:
        return read(ds)


# -- the store's DEM --------------------------------------------------------------------------------

def has_dem(store, area_code: str | None = None) -> bool:
    """Whether an elevation model is stored (for this village, on PostGIS)."""
    if _is_postgis(store):
        return _pg_read(store, area_code, "dem") is not None
    return dem_paths(store)["dem"].exists()


def dem_info(store, area_code: str | None = None) -> dict | None:
    """The description written by the import (sources, CRS, resolution, coverage), or None."""
    return store.get_meta(meta_key(store, area_code))


def load_dem(store, area_code: str | None = None, *, required: bool = False) -> Dem | None:
    """The stored elevation model, or None (``required``: :class:`NothingToDo` naming the import)."""
    data = _load(store, area_code, "dem")
    if data is None:
        if required:
            raise NothingToDo(f"{store.url} has no elevation model (DEM).", fix=IMPORT_FIX)
        return None
    arr, transform, crs = data
    return Dem(arr.astype(np.float32, copy=False), transform, crs)


def load_hillshade(store, area_code: str | None = None) -> tuple[np.ndarray, tuple, str] | None:
    """The stored hillshade as (uint8 array with 0 for no data, transform, crs), or None."""
    return _load(store, area_code, "hillshade")


def _load(store, area_code: str | None, kind: str):
    if _is_postgis(store):
        blob = _pg_read(store, area_code, kind)
        return None if blob is None else read_geotiff(blob)
    path = dem_paths(store)[kind]
    if not path.exists():
        return None
    try:
        return read_geotiff(path)
    except Exception as exc:  # any unreadable file gets the same fix
        raise StoreError(f"{path}: the stored elevation model cannot be read ({exc}).",
                         fix="Import the DEM again: `surveyor dem import FILE... --overwrite`.") from None


def save_dem(store, dem: Dem, hillshade: np.ndarray, contours, info: dict, *, area_code: str,
             overwrite: bool = False) -> list[str]:
    """Store the DEM, its hillshade, the ``contours`` layer and the import description.

    Everything is prepared before anything is replaced, and an existing model is replaced only with
    ``overwrite``; returns where each part went (file paths, or table and layer names).
    """
    info = dict(info, area_code=area_code, stored_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    tags = {"SURVEYOR_AREA_CODE": area_code, "SURVEYOR_SOURCES": ", ".join(info.get("sources", [])),
            "UNITS": "metres above sea level"}
    contours = contours.assign(area_code=area_code)
    with store.writer_lock():
        if has_dem(store, area_code) and not overwrite:
            where = dem_paths(store)["dem"] if not _is_postgis(store) else f"{PG_TABLE} ({area_code})"
            raise OutputExists(str(where), fix="An elevation model is imported already; add --overwrite to "
                                               "replace it with this one.")
        if _is_postgis(store):
            blobs = {"dem": geotiff_bytes(dem.elevation_m.astype(np.float32), dem, tags),
                     "hillshade": geotiff_bytes(hillshade.astype(np.uint8), dem, tags)}
            write_area_layer(store, CONTOURS_LAYER, contours, area_code)
            _pg_write(store, area_code, blobs)
            store.set_meta(meta_key(store, area_code), info)
            return [f"{PG_TABLE} ({area_code})", CONTOURS_LAYER]
        paths = dem_paths(store)
        parts = {kind: path.with_name(f".{path.name}.part.tif") for kind, path in paths.items()}
        try:
            write_geotiff(parts["dem"], dem.elevation_m.astype(np.float32), dem, tags)
            write_geotiff(parts["hillshade"], hillshade.astype(np.uint8), dem, tags)
            write_area_layer(store, CONTOURS_LAYER, contours, area_code)
            for kind in KINDS:
                os.replace(parts[kind], paths[kind])
        finally:
            for p in parts.values():
                if p.exists():
                    p.unlink()
        store.set_meta(meta_key(store, area_code), info)
        return [str(paths["dem"]), str(paths["hillshade"]), CONTOURS_LAYER]


def write_area_layer(store, layer: str, gdf, area_code: str) -> None:
    """Replace a layer (GeoPackage) or this village's rows of it (PostGIS, by ``area_code``)."""
    if _is_postgis(store):
        store.write_layer(layer, gdf, area=area_code)
    else:
        store.write_layer(layer, gdf)


def read_area_layer(store, layer: str, area_code: str | None = None):
    """A layer (GeoPackage), or this village's rows of it (PostGIS); empty when absent."""
    if _is_postgis(store) and area_code:
        return store.read_layer(layer, area=area_code)
    return store.read_layer(layer)


# -- PostGIS table ----------------------------------------------------------------------------------

def _pg_ensure(store, conn) -> None:
    conn.execute(f"CREATE TABLE IF NOT EXISTS {PG_TABLE} (area_code text NOT NULL, kind text NOT NULL, "
                 "tiff bytea NOT NULL, imported_at timestamptz NOT NULL DEFAULT now(), "
                 "PRIMARY KEY (area_code, kind))")


def _pg_read(store, area_code: str | None, kind: str) -> bytes | None:
    conn = store._connection()
    with store._errors("reading the elevation model"):
        if conn.execute("SELECT to_regclass(%s)", (PG_TABLE,)).fetchone()[0] is None:
            return None
        if area_code is None:
            row = conn.execute(f"SELECT tiff FROM {PG_TABLE} WHERE kind = %s ORDER BY imported_at DESC LIMIT 1",
                               (kind,)).fetchone()
        else:
            row = conn.execute(f"SELECT tiff FROM {PG_TABLE} WHERE kind = %s AND area_code = %s",
                               (kind, area_code)).fetchone()
    return None if row is None else bytes(row[0])


def _pg_write(store, area_code: str, blobs: dict[str, bytes]) -> None:
    conn = store._connection()
    with store._errors("writing the elevation model"), conn.transaction():
        _pg_ensure(store, conn)
        for kind, blob in blobs.items():
            conn.execute(f"INSERT INTO {PG_TABLE} (area_code, kind, tiff) VALUES (%s, %s, %s) "
                         "ON CONFLICT (area_code, kind) DO UPDATE SET tiff = excluded.tiff, imported_at = now()",
                         (area_code, kind, blob))
