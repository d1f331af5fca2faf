"""Terrain layers ready for outputs: the hillshade as a PNG overlay with its bounds.

A web map (Leaflet) places an image by its latitude/longitude corners but draws it in Web
Mercator (EPSG:3857), so the overlay must be warped to EPSG:3857 to sit right; a printed map in
EPSG:4326 takes the 4326 version. The stored hillshade is in the area's UTM zone.
"""

from __future__ import annotations

import io

import numpy as np

from surveyor.errors import InvalidRequest

OVERLAY_CRS = ("EPSG:3857", "EPSG:4326")


def hillshade_overlay(store, area_code: str | None = None, *, crs: str = "EPSG:3857", max_px: int = 2048,
                      opacity: float = 0.5) -> tuple[bytes, list[list[float]]] | None:
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
        Alpha of the shading where there is data (no data is fully transparent).

    Returns
    -------
    (png bytes, bounds) or None when no elevation model is imported.
    """
    import rasterio.warp
    from affine import Affine
    from PIL import Image
    from pyproj import Transformer

    from surveyor.store.dem import load_hillshade

    if crs not in OVERLAY_CRS:
        raise InvalidRequest(f"hillshade overlay in {crs} is not offered.", fix=f"Use one of {', '.join(OVERLAY_CRS)}.")
    stored = load_hillshade(store, area_code)
    if stored is None:
        return None
    shade, transform, src_crs = stored
    rows, cols = shade.shape
    src_t = Affine(*transform)
    dst_t, width, height = rasterio.warp.calculate_default_transform(
        src_crs, crs, cols, rows, *rasterio.transform.array_bounds(rows, cols, src_t))
    scale = max(width, height) / max_px
    if scale > 1:
        width, height = int(np.ceil(width / scale)), int(np.ceil(height / scale))
        dst_t = Affine(dst_t.a * scale, dst_t.b, dst_t.c, dst_t.d, dst_t.e * scale, dst_t.f)
    out = np.zeros((height, width), dtype=np.uint8)
    rasterio.warp.reproject(shade, out, src_transform=src_t, src_crs=src_crs, src_nodata=0, dst_transform=dst_t,
                            dst_crs=crs, dst_nodata=0, resampling=rasterio.warp.Resampling.bilinear)
    alpha = np.where(out > 0, int(round(255 * opacity)), 0).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(np.dstack([out, out, out, alpha])).save(buf, format="PNG", optimize=True)
    left, bottom, right, top = rasterio.transform.array_bounds(height, width, dst_t)
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    west, south = to_ll.transform(left, bottom)
    east, north = to_ll.transform(right, top)
    return buf.getvalue(), [[float(south), float(west)], [float(north), float(east)]]
