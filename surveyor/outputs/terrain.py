"""Terrain layers ready for outputs: the hillshade as a PNG overlay with its bounds, or as an
array for a printed map, and the credit line of the elevation model.

A web map (Leaflet) places an image by its latitude/longitude corners but draws it in Web
Mercator (EPSG:3857), so the overlay must be warped to EPSG:3857 to sit right; a printed map in
EPSG:4326 takes the 4326 version, one drawn in the area's UTM zone (as surveyor's printed maps
are) the array of :func:`hillshade_array`. The stored hillshade is in the area's UTM zone.

Maps draw relief in the ``shadow`` style: only the slopes turned from the sun darken the map (the
flat and sunlit ground stays paper white), so the coverage colours on top keep their lightness
and a photocopy keeps its classes apart.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from surveyor.errors import InvalidRequest

OVERLAY_CRS = ("EPSG:3857", "EPSG:4326")
# A flat pixel of the stored hillshade (sun 45 degrees high): 255 cos 45 deg.
FLAT_SHADE = 180.0
SHADOW_GAIN = 1.6  # how dark the shadow style draws a slope: alpha per grey level below flat
# The stored hillshade's pixels are warped to at most this size (metres), so the browser and the
# printer scale a smooth image rather than 30 m blocks.
FINE_PIXEL_M = 10.0


def _shadow_rgba(shade: np.ndarray, opacity: float) -> np.ndarray:
    """Black with an alpha that grows with how much darker than flat ground a pixel is."""
    s = shade.astype(float)
    alpha = np.clip((FLAT_SHADE - s) * SHADOW_GAIN, 0.0, 255.0) * opacity
    alpha[shade == 0] = 0.0
    rgba = np.zeros((*shade.shape, 4), dtype=np.uint8)
    rgba[..., 3] = np.round(alpha).astype(np.uint8)
    return rgba


def hillshade_overlay(store, area_code: str | None = None, *, crs: str = "EPSG:3857", max_px: int = 2048,
                      opacity: float = 0.5, bounds: tuple[float, float, float, float] | None = None,
                      style: str = "grey") -> tuple[bytes, list[list[float]]] | None:
    """The stored hillshade as a grey PNG with transparency, and its ``[[south, west], [north, east]]``.

    Parameters
    ----------
    store
        The survey's store (``surveyor dem import`` wrote the hillshade).
    area_code
        Village code (PostGIS stores keep one model per village).
    crs
        ``EPSG:3857`` for web maps (Leaflet's ``L.imageOverlay``), ``EPSG:4326`` for plate carree.
    max_px
        Longest side of the image (the model is resampled down to it).
    opacity
        Alpha of the shading where there is data (no data is fully transparent); in the
        ``shadow`` style, the alpha of the darkest slope.
    bounds
        Only this box (west, south, east, north, degrees), e.g. what a map frames; default the
        whole model (the village plus 15 km).
    style
        ``grey``: the hillshade's grey levels at ``opacity``; ``shadow``: black where slopes face
        away from the sun, transparent elsewhere.

    Returns
    -------
    (png bytes, bounds) or None when no elevation model is imported.
    """
    import rasterio.transform
    from PIL import Image
    from pyproj import Transformer

    if crs not in OVERLAY_CRS:
        raise InvalidRequest(f"hillshade overlay in {crs} is not offered.", fix=f"Use one of {', '.join(OVERLAY_CRS)}.")
    if style not in ("grey", "shadow"):
        raise InvalidRequest(f"hillshade style {style!r} is not offered.", fix="Use grey or shadow.")
    warped = _warp(store, area_code, crs, max_px, bounds)
    if warped is None:
        return None
    out, dst_t = warped
    height, width = out.shape
    if style == "shadow":
        rgba = _shadow_rgba(out, opacity)
    else:
        alpha = np.where(out > 0, round(255 * opacity), 0).astype(np.uint8)
        rgba = np.dstack([out, out, out, alpha])
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG", optimize=True)
    left, bottom, right, top = rasterio.transform.array_bounds(height, width, dst_t)
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    west, south = to_ll.transform(left, bottom)
    east, north = to_ll.transform(right, top)
    return buf.getvalue(), [[float(south), float(west)], [float(north), float(east)]]


def _warp(store, area_code: str | None, crs: str, max_px: int,
          bounds: tuple[float, float, float, float] | None) -> tuple[np.ndarray, Any] | None:
    """The stored hillshade warped to ``crs`` (uint8, 0 for no data) and its transform; the whole
    model, or the box ``bounds`` (degrees) at up to :data:`FINE_PIXEL_M` metres a pixel."""
    import rasterio.warp
    from affine import Affine
    from pyproj import Transformer

    from surveyor.store.dem import load_hillshade

    stored = load_hillshade(store, area_code)
    if stored is None:
        return None
    shade, transform, src_crs = stored
    rows, cols = shade.shape
    src_t = Affine(*transform)
    if bounds is None:
        dst_t, width, height = rasterio.warp.calculate_default_transform(
            src_crs, crs, cols, rows, *rasterio.transform.array_bounds(rows, cols, src_t))
    else:
        west, south, east, north = bounds
        fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        xs, ys = fwd.transform([west, east, west, east], [south, south, north, north])
        left, right, bottom, top = min(xs), max(xs), min(ys), max(ys)
        # Metres per unit of the target CRS near the box (1 for UTM and Web Mercator's x at the
        # equator; Web Mercator stretches by 1 / cos(lat); degrees for EPSG:4326).
        if crs == "EPSG:4326":
            unit_m = 111_320.0 * float(np.cos(np.radians((south + north) / 2)))
        elif crs == "EPSG:3857":
            unit_m = float(np.cos(np.radians((south + north) / 2)))
        else:
            unit_m = 1.0
        pixel = min(FINE_PIXEL_M, abs(src_t.a)) / unit_m
        width = max(int(np.ceil((right - left) / pixel)), 1)
        height = max(int(np.ceil((top - bottom) / pixel)), 1)
        dst_t = Affine(pixel, 0.0, left, 0.0, -pixel, top)
    scale = max(width, height) / max_px
    if scale > 1:
        width, height = int(np.ceil(width / scale)), int(np.ceil(height / scale))
        dst_t = Affine(dst_t.a * scale, dst_t.b, dst_t.c, dst_t.d, dst_t.e * scale, dst_t.f)
    out = np.zeros((height, width), dtype=np.uint8)
    rasterio.warp.reproject(shade, out, src_transform=src_t, src_crs=src_crs, src_nodata=0, dst_transform=dst_t,
                            dst_crs=crs, dst_nodata=0, resampling=rasterio.warp.Resampling.bilinear)
    return out, dst_t


def hillshade_array(store, area_code: str | None, crs: str, bounds: tuple[float, float, float, float], *,
                    max_px: int = 3000, opacity: float = 0.45) -> tuple[np.ndarray, tuple] | None:
    """The hillshade for a printed map in ``crs``: an RGBA array in the ``shadow`` style and its
    extent (left, right, bottom, top) for matplotlib's ``imshow``; None without an elevation model.

    Parameters
    ----------
    store, area_code
        The survey's store and village (PostGIS keeps one model per village).
    crs
        The map's CRS (surveyor prints in the area's UTM zone).
    bounds
        What the map frames (west, south, east, north, degrees).
    max_px
        Longest side of the array.
    opacity
        Alpha of the darkest slope.
    """
    import rasterio.transform

    warped = _warp(store, area_code, crs, max_px, bounds)
    if warped is None:
        return None
    out, t = warped
    left, bottom, right, top = rasterio.transform.array_bounds(out.shape[0], out.shape[1], t)
    return _shadow_rgba(out, opacity), (left, right, bottom, top)


def dem_attribution(meta: dict | None) -> str | None:
    """The credit an elevation model asks for, from the import's description (``meta`` ``dem``).

    SRTM tiles (``S08E109.hgt``) are public domain and credited to NASA/USGS as a courtesy;
    Copernicus GLO-30 requires its sentence; any other model is named by its file.
    """
    import re
    from pathlib import PurePath

    if not meta:
        return None
    names = [PurePath(str(p)).name for p in meta.get("sources") or []]
    if any("copernicus" in n.lower() for n in names):
        return ("Copernicus DEM GLO-30: © DLR e.V. 2010-2014 and © Airbus Defence and Space GmbH 2014-2018 "
                "provided under COPERNICUS by the European Union and ESA")
    if names and all(re.match(r"^[NS]\d{2}[EW]\d{3}", n) for n in names):
        return "SRTM 1\" (NASA/USGS)"
    if any("demnas" in n.lower() for n in names):
        return "DEMNAS (Badan Informasi Geospasial)"
    return ", ".join(names) or None
