"""The survey's scope: the area (the boundary plus ``max_distance_m``), the period (``period_days``
before the newest sample) and the operators of ``survey.toml``.

Data from far away or long ago (a G-NetTrack log from another country, a years-old export) and
operators the survey is not about are kept in the database but left out of the analysis and of
every output, unless ``out_of_scope = "include"`` (``--all-data``). Merge reports them with counts,
and names operator spellings that are near misses of a configured name (``Telkomsell``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from surveyor.config import Settings


@dataclass(frozen=True)
class Scope:
    """What is inside the survey: ``boundary`` a shapely polygon in EPSG:4326 (None when no
    boundary is known), ``period_s`` the period in seconds, the configured ``operators``, and
    ``max_distance_m``; :attr:`area` is the boundary grown by ``max_distance_m``."""

    boundary: object
    period_s: float
    operators: tuple[str, ...]
    max_distance_m: float

    @classmethod
    def of(cls, settings: Settings, boundary=None) -> Scope:
        if boundary is None:
            from surveyor.geo.areas import load_boundary

            try:
                boundary = load_boundary(settings)
            except Exception:  # a survey whose boundary cannot be read has no area scope
                boundary = None
        return cls(boundary, settings.period_days * 86400.0, tuple(settings.operators), settings.max_distance_m)

    @cached_property
    def area(self):
        """The boundary grown by ``max_distance_m`` (None without a boundary). Computed when first
        asked: growing a kabupaten's outline takes a while, and a district's analysis in the
        database needs only the period."""
        return buffered(self.boundary, self.max_distance_m) if self.boundary is not None else None

    def far(self, lat, lon) -> np.ndarray:
        """True for placed positions outside the area (unplaced positions are not far)."""
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        if self.area is None:
            return np.zeros(lat.shape, dtype=bool)
        import shapely

        placed = np.isfinite(lat) & np.isfinite(lon)
        out = np.zeros(lat.shape, dtype=bool)
        if placed.any():
            out[placed] = ~shapely.contains_xy(self.area, lon[placed], lat[placed])
        return out

    def old(self, times_s: np.ndarray, newest_s: float | None = None) -> np.ndarray:
        """True for times (seconds since 1970, NaN unknown) more than the period before the newest."""
        t = np.asarray(times_s, dtype=float)
        known = np.isfinite(t)
        if not known.any():
            return np.zeros(t.shape, dtype=bool)
        newest = np.nanmax(t) if newest_s is None else max(float(newest_s), float(np.nanmax(t)))
        with np.errstate(invalid="ignore"):
            return known & (t < newest - self.period_s)

    def other_operator(self, operators) -> np.ndarray:
        """True for named operators that are not configured (unknown operators are not 'other')."""
        import pandas as pd

        ops = pd.Series(operators, dtype=object)
        wanted = {o.lower() for o in self.operators}
        named = ops.notna().to_numpy()
        return named & ~ops.astype(str).str.lower().isin(wanted).to_numpy()


def buffered(boundary, distance_m: float):
    """The boundary grown by ``distance_m`` metres (in its UTM zone), in EPSG:4326."""
    import shapely
    from pyproj import Transformer

    from surveyor.geo.areas import utm_crs

    c = boundary.centroid
    crs = utm_crs(c.x, c.y)
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    back = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    metric = shapely.transform(boundary, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
    grown = shapely.buffer(metric, distance_m, quad_segs=8)
    out = shapely.transform(grown, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1])))
    shapely.prepare(out)
    return out


def near_miss(name: str, configured: tuple[str, ...] | list[str]) -> str | None:
    """The configured operator a name is most likely a misspelling of (``Telkomsell`` ->
    ``Telkomsel``), or None."""
    if not name or any(name.lower() == c.lower() for c in configured):
        return None
    lower = {c.lower(): c for c in configured}
    match = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.75)
    return lower[match[0]] if match else None


def in_scope(df, settings: Settings, scope: Scope | None = None):
    """The samples inside the survey's scope (all of them when ``out_of_scope = "include"``).

    ``df`` needs ``lat``/``lon``; ``time`` and ``operator`` are used when present.
    """
    if settings.out_of_scope == "include" or len(df) == 0:
        return df
    keep = ~scope_masks(df, settings, scope)["any"]
    return df if keep.all() else df[keep]


def scope_masks(df, settings: Settings, scope: Scope | None = None) -> dict[str, np.ndarray]:
    """Per sample: ``far`` (from the area), ``old`` (before the period), ``other_operator``, ``any``."""
    import pandas as pd

    scope = scope or Scope.of(settings)
    n = len(df)
    far = scope.far(df["lat"], df["lon"]) if "lat" in df.columns and "lon" in df.columns else np.zeros(n, bool)
    if "time" in df.columns:
        t = pd.to_datetime(df["time"], utc=True, errors="coerce")
        secs = t.astype("datetime64[ns, UTC]").astype("int64").to_numpy(dtype=float) / 1e9
        secs[t.isna().to_numpy()] = np.nan
        # The period is counted back from the newest sample in the area (a far-away log of a later
        # date does not push the whole survey out of its own period).
        near = np.where(far, np.nan, secs)
        newest = np.nanmax(near) if np.isfinite(near).any() else None
        # Far samples are out already; judged on the near ones only, the newest stays theirs.
        old = scope.old(near, newest)
    else:
        old = np.zeros(n, dtype=bool)
    other = scope.other_operator(df["operator"]) if "operator" in df.columns else np.zeros(n, dtype=bool)
    return {"far": far, "old": old, "other_operator": other, "any": far | old | other}
