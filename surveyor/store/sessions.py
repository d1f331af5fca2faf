"""Per-session aggregates (the ``sessions`` layer), computed from samples or folded together."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def session_aggregates(samples: pa.Table) -> pd.DataFrame:
    """Per-session aggregates (the columns of ``sessions``) of a batch of samples, given as the
    samples layer's Arrow table. Grouped by Arrow in one pass: a batch has a handful of sessions
    and tens of thousands of rows."""
    n = samples.num_rows

    def column(name: str) -> pa.Array:
        if name in samples.column_names:
            return samples.column(name)
        return pa.nulls(n, type=pa.string())

    # Samples without a session are one session per source file.
    key = pc.coalesce(column("session"),
                      pc.binary_join_element_wise("(none) ", column("source_file").cast(pa.string()), ""))
    table = pa.table({"_key": key, "_placed": pc.is_valid(column("placed_by")),
                      **{c: column(c) for c in ("device", "device_model", "volunteer", "route", "operator",
                                                "source_format", "time")}})
    # "first" is the first value that is not missing, in row order (hence one thread).
    g = table.group_by("_key", use_threads=False).aggregate([
        ("device", "first"), ("device_model", "first"), ("volunteer", "first"), ("route", "first"),
        ("operator", "distinct"), ("time", "min"), ("time", "max"), ("_key", "count", pc.CountOptions(mode="all")),
        ("_placed", "sum"), ("source_format", "first")])
    return pd.DataFrame({
        "session": g.column("_key").to_pylist(),
        "device": g.column("device_first").to_pylist(),
        "device_model": g.column("device_model_first").to_pylist(),
        "volunteer": g.column("volunteer_first").to_pylist(),
        "route": g.column("route_first").to_pylist(),
        "operators": [",".join(sorted(o for o in ops if o is not None)) or None
                      for ops in g.column("operator_distinct").to_pylist()],
        "first": g.column("time_min").to_pandas(),
        "last": g.column("time_max").to_pandas(),
        "samples": g.column("_key_count").to_numpy().astype(np.int64),
        "placed": g.column("_placed_sum").to_numpy(zero_copy_only=False).astype(np.int64),
        "source_format": g.column("source_format_first").to_pylist(),
    })


def combine_sessions(parts: pd.DataFrame) -> pd.DataFrame:
    """Fold rows of ``sessions`` that share a session into one (from several batches or merges)."""
    g = parts.groupby("session", sort=False)
    return pd.DataFrame({
        "device": g["device"].first(), "device_model": g["device_model"].first(),
        "volunteer": g["volunteer"].first(), "route": g["route"].first(),
        "operators": g["operators"].agg(lambda s: ",".join(sorted({o for v in s.dropna() for o in str(v).split(",")
                                                                   if o}))),
        "first": g["first"].min(), "last": g["last"].max(),
        "samples": g["samples"].sum(), "placed": g["placed"].sum(),
        "source_format": g["source_format"].first(),
    }).rename_axis("session").reset_index()
