"""Per-session aggregates (the ``sessions`` layer), computed from samples or folded together."""

from __future__ import annotations

import pandas as pd


def session_aggregates(samples: pd.DataFrame) -> pd.DataFrame:
    """Per-session aggregates (the columns of ``sessions``) of some samples."""
    n = len(samples)

    def column(name: str) -> pd.Series:
        if name in samples.columns:
            return samples[name].reset_index(drop=True)
        return pd.Series([None] * n, dtype=object)

    session = column("session")
    if session.notna().all():  # the usual case: every sample names its session
        key = session
    else:
        key = session.astype(object).where(session.notna(), "(none) " + column("source_file").astype(str))
    # Only the columns the aggregates need (a batch has some fifty).
    df = pd.DataFrame({"_key": key.to_numpy(), "_placed": column("placed_by").notna().to_numpy(),
                       **{c: column(c) for c in ("device", "device_model", "volunteer", "route", "operator",
                                                 "source_format", "time")}})
    g = df.groupby("_key", sort=False, dropna=False)
    out = pd.DataFrame({
        "device": g["device"].first(),
        "device_model": g["device_model"].first(),
        "volunteer": g["volunteer"].first(),
        "route": g["route"].first(),
        "operators": _operators_by_key(df),
        "first": g["time"].min(),
        "last": g["time"].max(),
        "samples": g.size(),
        "placed": g["_placed"].sum(),
        "source_format": g["source_format"].first(),
    })
    return out.rename_axis("session").reset_index()


def _operators_by_key(df: pd.DataFrame) -> pd.Series:
    # Distinct (session, operator) pairs first: a few rows, whatever the number of samples.
    pairs = df[["_key", "operator"]].dropna().drop_duplicates()
    return pairs.groupby("_key", sort=False)["operator"].agg(lambda s: ",".join(sorted(s)))


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
