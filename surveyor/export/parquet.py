"""GeoParquet: a layer for DuckDB, BigQuery, geopandas, QGIS and anything else that reads Parquet.

One file per layer (``samples``, ``cells``, ``dead_zones``, ``sites``): the layer's columns with
their types (times as UTC timestamps, numbers as numbers, booleans as booleans) and the geometry as
WKB in the column ``geometry``, described by GeoParquet 1.0 metadata (the ``geo`` key: encoding,
geometry types, the CRS (EPSG:4326 as PROJJSON; coordinates longitude, latitude) and the bounding
box). The same
privacy applies as to every export (:func:`surveyor.outputs.layers.load_layer`): exclusion zones
left out always, personal fields and exact positions with ``anonymize``.

Samples are written in row groups of at most 200,000: from a PostGIS store they stream through a
server-side cursor (:meth:`surveyor.store.postgis.PostgisStore.read_samples_chunks`), so a
district's samples never sit in memory at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from surveyor.config import Settings

__all__ = ["GEOPARQUET_VERSION", "write_parquet"]

GEOPARQUET_VERSION = "1.0.0"
CHUNK_ROWS = 200_000
# Columns the analysis layers keep as ISO 8601 UTC text (docs/layers.md), typed as timestamps here.
TIME_TEXT_COLUMNS = ("first_seen", "last_seen")


def _arrow_table(gdf):
    """The frame as Arrow: plain columns with their types, times as UTC timestamps, the geometry as
    WKB (``geometry``)."""
    import pandas as pd
    import pyarrow as pa
    import shapely

    df = pd.DataFrame(gdf.drop(columns=[gdf.geometry.name]))
    for c in df.columns:
        col = df[c]
        if c in TIME_TEXT_COLUMNS and not pd.api.types.is_datetime64_any_dtype(col.dtype):  # ISO text: a timestamp here
            col = pd.to_datetime(col, utc=True, errors="coerce", format="ISO8601")
        if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(col.dtype):
            df[c] = pd.to_datetime(col, utc=True).astype("datetime64[ms, UTC]")
        elif col.dtype == object:
            # text columns with missing values, and mixed values, as text
            df[c] = col.map(lambda v: None if v is None or (isinstance(v, float) and v != v) else
                            v if isinstance(v, (str, bool, int, float)) else str(v))
    table = pa.Table.from_pandas(df, preserve_index=False)
    geoms = gdf.geometry.to_numpy()
    wkb = shapely.to_wkb(geoms, flavor="iso")
    return table.append_column("geometry", pa.array(list(wkb), type=pa.binary()))


def _geo_metadata(types: set[str], bbox) -> bytes:
    column: dict[str, Any] = {"encoding": "WKB", "geometry_types": sorted(types)}
    if bbox is not None and all(b == b for b in bbox):
        column["bbox"] = [float(b) for b in bbox]
    from pyproj import CRS

    # EPSG:4326; GeoParquet stores coordinates x, y (longitude, latitude) whatever the CRS's axis order.
    column["crs"] = CRS("EPSG:4326").to_json_dict()
    return json.dumps({"version": GEOPARQUET_VERSION, "primary_column": "geometry",
                       "columns": {"geometry": column}}).encode("utf-8")


def _chunks(store, settings: Settings, layer: str, area: str | None, anonymize: bool):
    """The layer as GeoDataFrames: one for an analysis layer, chunks of samples (on PostGIS
    streamed from the server)."""
    from surveyor.outputs.layers import load_layer, sample_points

    if layer != "samples" or not store.counts_in_database or (area is not None and store.area(area) is None):
        # An analysis layer, a village's GeoPackage (read at once, as every other export does), or
        # a code the store does not know (the survey's own village by its boundary, as load_layer does).
        yield load_layer(store, settings, layer, area=area, anonymize=anonymize)
        return
    from surveyor.analyse.sql import scope_condition
    from surveyor.geo.exclusion import drop_excluded_samples
    from surveyor.geo.scope import Scope

    # The survey's scope as a condition the server applies (its period counts back from the newest
    # sample of all, which no single chunk knows); operators not configured are left out per chunk.
    scope = Scope.of(settings) if settings.out_of_scope != "include" else None
    where = scope_condition(store, settings, scope, area)
    for df in store.read_samples_chunks(where=where, chunk_rows=CHUNK_ROWS, area=area, order_by="sample_id"):
        if scope is not None and "operator" in df.columns:
            df = df[~scope.other_operator(df["operator"])]
        yield sample_points(drop_excluded_samples(df, settings), settings, anonymize=anonymize)


def write_parquet(store, settings: Settings, out, *, layer: str = "dead_zones", area: str | None = None,
                  anonymize: bool = False) -> Path:
    """Write one layer as GeoParquet to ``out`` (atomically).

    Parameters
    ----------
    store, settings
        The geodatabase and the survey settings (exclusion zones).
    out
        The ``.parquet`` file.
    layer
        ``samples``, ``cells``, ``dead_zones`` or ``sites``.
    area
        An area code: that area and everything inside it.
    anonymize
        Leave out personal data (see :func:`surveyor.outputs.layers.load_layer`).

    Returns
    -------
    pathlib.Path
    """
    import numpy as np
    import pyarrow.parquet as pq
    import shapely

    from surveyor.files import atomic_path

    out = Path(out)
    types: set[str] = set()
    bbox = [np.inf, np.inf, -np.inf, -np.inf]
    with atomic_path(out) as tmp:
        writer = None
        try:
            for gdf in _chunks(store, settings, layer, area, anonymize):
                table = _arrow_table(gdf)
                if writer is None:  # the first chunk sets the schema
                    writer = pq.ParquetWriter(str(tmp), table.schema, compression="zstd")
                elif table.schema != writer.schema:
                    table = table.select(writer.schema.names).cast(writer.schema)
                geoms = gdf.geometry.to_numpy()
                present = geoms[~shapely.is_missing(geoms)]
                if len(present):
                    types.update(str(t) for t in np.unique(shapely.get_type_id(present)))
                    b = shapely.total_bounds(present)
                    bbox = [min(bbox[0], b[0]), min(bbox[1], b[1]), max(bbox[2], b[2]), max(bbox[3], b[3])]
                writer.write_table(table, row_group_size=CHUNK_ROWS)
            if writer is None:  # an empty layer: an empty file with the geometry column
                import geopandas as gpd

                from surveyor.outputs.layers import load_layer

                empty = load_layer(store, settings, layer, area=area, anonymize=anonymize)
                if not isinstance(empty, gpd.GeoDataFrame):
                    empty = gpd.GeoDataFrame(empty, geometry=[], crs="EPSG:4326")
                writer = pq.ParquetWriter(str(tmp), _arrow_table(empty).schema, compression="zstd")
            names = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
                     6: "MultiPolygon", 7: "GeometryCollection"}
            writer.add_key_value_metadata({"geo": _geo_metadata({names.get(int(t), "Unknown") for t in types},
                                                                bbox if np.isfinite(bbox).all() else None)})
        finally:
            if writer is not None:
                writer.close()
    return out

