"""Arrow tables of a fixed schema: the samples layer's (:data:`SAMPLE_SCHEMA`), made once here and
handed to :meth:`surveyor.store.base.Store.append`, and pandas frames turned into them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from surveyor.model import ALL_FIELDS

ARROW_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "str": pa.string(),
    "bool": pa.bool_(),
    "time": pa.timestamp("ms", tz="UTC"),
}


def arrow_schema(fields: dict[str, str], geometry: bool = True) -> pa.Schema:
    cols = [pa.field(name, ARROW_TYPES[kind]) for name, kind in fields.items()]
    if geometry:
        cols.insert(0, pa.field("geom", pa.binary()))
    return pa.schema(cols)


def check_table(table, schema: pa.Schema, what: str) -> pa.Table:
    """``table`` when it is an Arrow table whose columns are columns of ``schema``, with its types
    (columns may be left out); TypeError otherwise: a programming error, not a user's."""
    if not isinstance(table, pa.Table):
        raise TypeError(f"{what} must be a pyarrow Table of its schema, not {type(table).__name__}")
    for f in table.schema:
        i = schema.get_field_index(f.name)
        if i < 0 or schema.field(i).type != f.type:
            expected = "no such column" if i < 0 else str(schema.field(i).type)
            raise TypeError(f"{what}: column {f.name!r} of type {f.type} ({expected} in the schema)")
    return table


def column_array(values: pd.Series | None, kind: str, n: int) -> pa.Array:
    """One column as Arrow of the layer's type; missing columns become nulls."""
    typ = ARROW_TYPES[kind]
    if values is None:
        return pa.nulls(n, type=typ)
    if kind == "time":
        s = values
        if not isinstance(s.dtype, pd.DatetimeTZDtype):
            s = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
        return pa.array(s.dt.tz_convert("UTC").astype("datetime64[ms, UTC]"), type=typ, from_pandas=True)
    if kind == "int":
        if isinstance(values.dtype, np.dtype) and values.dtype.kind in "fiu":
            # Numbers already (readers give floats, NaN for missing): Arrow converts them without
            # pandas' nullable integers; a fraction fails the safe cast and takes the path below.
            try:
                return pa.array(values.to_numpy(), from_pandas=True).cast(typ)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        s = pd.to_numeric(values, errors="coerce")
        if not pd.api.types.is_integer_dtype(s.dtype):
            # Floats: a fraction is rounded; beyond 2**53 (1e308 in a broken file) it is missing,
            # never an overflow. Integers (H3 cells, sample ids) stay exact.
            f = s.astype("float64")
            s = f.where(f.abs() < 2.0 ** 53).round()
        return pa.array(s.astype("Int64"), type=typ, from_pandas=True)
    if kind == "float":
        if isinstance(values.dtype, np.dtype) and values.dtype == np.float64:
            return pa.array(values.to_numpy(), type=typ, from_pandas=True)
        return pa.array(pd.to_numeric(values, errors="coerce").astype("float64"), type=typ, from_pandas=True)
    if kind == "bool":
        return pa.array(values.astype("boolean"), type=typ, from_pandas=True)
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        try:
            return pa.array(values, type=typ, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # mixed types (e.g. numbers in a text field): convert one by one below
    s = values.astype(object).where(values.notna(), None)
    return pa.array(s.map(lambda v: v if v is None else str(v)), type=typ, from_pandas=True)


def point_wkb(lat: pd.Series | None, lon: pd.Series | None, n: int) -> pa.Array:
    """WKB points from lat/lon columns; null where either is missing (unplaced samples)."""
    if lat is None or lon is None:
        return pa.nulls(n, type=pa.binary())
    la = pd.to_numeric(lat, errors="coerce").to_numpy(dtype=float)
    lo = pd.to_numeric(lon, errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(la) & np.isfinite(lo)
    # A WKB point is 21 fixed bytes (byte order, type 1, x, y): build them all at once instead of
    # making a million geometry objects and serialising each.
    wkb = np.empty(n, dtype=_WKB_POINT)
    wkb["order"], wkb["type"], wkb["x"], wkb["y"] = 1, 1, lo, la
    offsets = np.zeros(n + 1, dtype=np.int32)
    offsets[1:] = np.cumsum(np.where(ok, _WKB_POINT.itemsize, 0))
    data = wkb[ok].tobytes()
    validity = pa.array(ok).buffers()[1] if not ok.all() else None
    return pa.Array.from_buffers(pa.binary(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(data)],
                                 null_count=int((~ok).sum()))


_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


def drop_empty_columns(table: pa.Table) -> pa.Table:
    """The table without the columns that are empty in it (``geom`` stays). A store writing a
    batch leaves them to the database's NULL: a G-NetTrack log leaves about half of the 53 sample
    columns empty, and each column is work for GDAL on every row."""
    empty = [name for name in table.column_names if name != "geom" and table.column(name).null_count == len(table)]
    return table.drop_columns(empty) if empty and len(empty) < table.num_columns - 1 else table


def frame_to_arrow(df: pd.DataFrame, fields: dict[str, str], geometry: bool = True) -> pa.Table:
    n = len(df)
    arrays = [column_array(df[name] if name in df.columns else None, kind, n) for name, kind in fields.items()]
    names = list(fields)
    if geometry:
        arrays.insert(0, point_wkb(df.get("lat"), df.get("lon"), n))
        names.insert(0, "geom")
    return pa.Table.from_arrays(arrays, names=names)


# The samples layer as Arrow: a WKB point ``geom`` and the sample fields, each of its layer type.
SAMPLE_SCHEMA: pa.Schema = arrow_schema(ALL_FIELDS)


def sample_table(df: pd.DataFrame) -> pa.Table:
    """Samples (a frame with the sample fields; missing columns become nulls) as a table of
    :data:`SAMPLE_SCHEMA`, points built from ``lat``/``lon``."""
    return frame_to_arrow(df, ALL_FIELDS)


def check_samples(table) -> pa.Table:
    """A batch handed to ``append("samples", ...)``: a table of :data:`SAMPLE_SCHEMA` (some empty
    columns may be left out) whose rows all carry a merge_id."""
    check_table(table, SAMPLE_SCHEMA, "a batch of samples")
    if table.num_rows and ("merge_id" not in table.column_names or table.column("merge_id").null_count):
        raise TypeError("a batch of samples needs a merge_id on every row")
    return table
