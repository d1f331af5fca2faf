"""Anonymisation: what ``--anonymize`` takes out of the outputs.

Exclusion zones (:mod:`surveyor.geo.exclusion`) apply to every output always, with or without
``--anonymize``. ``--anonymize`` also removes volunteer names, device IDs and exact sample
positions (only cell aggregates remain); device models stay.

What ``--anonymize`` removes from samples, and why (see the README, "Privacy"):

- ``volunteer``, ``device`` (personal data by docs/layers.md);
- ``route``, ``note``, ``source_file`` and ``source_line``: free text and file names that
  volunteers fill in, which in practice often hold a name or "rumah ..." (home);
- ``session`` is replaced by a pseudonym (``S001``...) numbered by start time, because session
  IDs are often built from a device ID, while reviewers still need to count sessions;
- the position: dropped, or replaced by the centre of the sample's H3 cell (``positions="cell"``),
  so a home walk cannot be traced finer than a cell.
"""

from __future__ import annotations

import numpy as np

from surveyor.geo.cells import cell_centres, cell_ints, coarsened

PERSONAL_FIELDS = ("volunteer", "device")
# Free text and file names that may name a person or a home; removed with the personal fields.
IDENTIFYING_FIELDS = ("route", "note", "source_file", "source_line")

def anonymize_samples(df, *, positions: str = "drop", resolution: int = 10):
    """Remove personal fields and exact positions from a samples frame (keeps h3 cells, models).

    Parameters
    ----------
    df
        Samples (DataFrame or GeoDataFrame) with the columns of the ``samples`` layer.
    positions
        ``"drop"`` removes ``lat``/``lon``/``geometry``; ``"cell"`` replaces ``lat``/``lon`` by the
        centre of the sample's H3 cell (its ``h3_10`` cell, or that cell's parent at
        ``resolution`` when coarser) and drops the geometry, so callers rebuild points from them.
    resolution
        H3 resolution of the cell centres for ``positions="cell"`` (at most 10).

    Returns
    -------
    pandas.DataFrame
        A new frame; ``session`` holds pseudonyms (``S001``...) numbered by session start.
    """
    import pandas as pd

    drop = [c for c in PERSONAL_FIELDS + IDENTIFYING_FIELDS + ("geometry",) if c in df.columns]
    out = pd.DataFrame(df.drop(columns=drop))
    if "session" in out.columns:
        out["session"] = pseudonymize_sessions(out)
    if positions == "drop":
        return out.drop(columns=[c for c in ("lat", "lon") if c in out.columns])
    if positions != "cell":
        raise ValueError(f"positions must be 'drop' or 'cell', not {positions!r}")
    cells, ok = cell_ints(out["h3_10"] if "h3_10" in out.columns else pd.Series([None] * len(out), dtype=object))
    lat, lon = np.full(len(out), np.nan), np.full(len(out), np.nan)
    lat[ok], lon[ok] = cell_centres(coarsened(cells[ok], resolution))
    out["lat"], out["lon"] = lat, lon
    # Accuracy and altitude belong to the exact fix; at a cell centre they would mislead.
    return out.drop(columns=[c for c in ("accuracy_m", "altitude_m") if c in out.columns])


def pseudonymize_sessions(df):
    """Session IDs replaced by ``S001``, ``S002``... numbered by each session's first sample time."""
    import pandas as pd

    sessions = df["session"]
    if "time" in df.columns:
        order = df.groupby("session", dropna=True)["time"].min().sort_values(kind="stable").index
    else:
        order = pd.Index(sorted(sessions.dropna().unique(), key=str))
    names = {s: f"S{i:03d}" for i, s in enumerate(order, 1)}
    return sessions.map(names).astype(object).where(sessions.notna(), None)
