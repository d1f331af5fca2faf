"""Dead zones: adjacent dead cells of one operator merged into zones with their evidence.

:func:`dead_zones` gives the ``dead_zones`` layer (docs/layers.md): per zone an ID
(``DZ-TSEL-01``), area, centroid, dusun, the evidence recomputed over the zone's own samples
(effective and raw samples, sessions, devices, days, first and last seen, median signal, share
negative and its bounds, speed tests), and the distance and direction to the nearest covered cell
and to the nearest known tower of the operator (docs/method.md).

**Lasting IDs.** A zone ID goes into letters ("DZ-TSEL-01 in Dusun Krajan"), so it must name the
same place after the next merge and analysis. :func:`dead_zones` takes the previous analysis's
zones and the ID register (:class:`ZoneRegister`, kept in ``meta`` as ``zone_register``): a new
zone that overlaps earlier zones of its operator keeps the ID of the one it overlaps most (each
earlier ID passes to one zone only); other zones get the next number of their operator; an ID
that is no longer used is retired and never given again. :func:`zone_changes` says what changed
(kept, grown, shrunk, new, merged, split off, gone), for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from surveyor.analyse.evidence import REASON_CODES, Evidence
from surveyor.analyse.stats import clopper_pearson
from surveyor.analyse.times import iso_utc, local_days
from surveyor.config import Settings
from surveyor.geo import cells as grid
from surveyor.geo.bearing import bearing_deg, compass
from surveyor.geo.distance import haversine_m
from surveyor.model import OPERATOR_CODES

__all__ = ["ZONE_COLUMNS", "ZONE_COUNT_KEYS", "ZoneRegister", "dead_zones", "zone_changes"]

ZONE_COLUMNS = [
    "zone_id", "operator", "cells", "area_km2", "centroid_lat", "centroid_lon", "dusun",
    "samples_effective", "samples_raw", "negatives_effective", "share_negative", "lower_95", "upper_95",
    "share_no_service", "share_2g3g", "sessions", "devices", "days", "first_seen", "last_seen",
    "rsrp_median_dbm", "speed_tests", "speed_failed", "nearest_signal_m", "nearest_signal_bearing_deg",
    "nearest_signal_direction", "nearest_tower_m", "nearest_tower_bearing_deg", "nearest_tower_direction",
    "area_code",
    # extras
    "h3_cells", "resolution",
]


@dataclass
class ZoneRegister:
    """The zone IDs given so far, per village code and operator code: the last number used (so a
    retired ID is never given again) and the IDs retired. Stored in ``meta`` as ``zone_register``.
    """

    last: dict[str, dict[str, int]] = field(default_factory=dict)
    retired: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_meta(cls, value: dict | None) -> ZoneRegister:
        value = value or {}
        return cls({a: {k: int(v) for k, v in ops.items()} for a, ops in (value.get("last") or {}).items()},
                   {a: list(ids) for a, ids in (value.get("retired") or {}).items()})

    def to_meta(self) -> dict:
        return {"last": self.last, "retired": self.retired}

    def next_id(self, area: str, operator: str) -> str:
        code = _code(operator)
        n = self.last.setdefault(area, {}).get(code, 0) + 1
        self.last[area][code] = n
        return zone_id(code, n)

    def note(self, area: str, zid: str) -> None:
        """Count an ID given earlier (by an analysis before the register existed)."""
        code, n = _split_id(zid)
        if code is not None and n > self.last.setdefault(area, {}).get(code, 0):
            self.last[area][code] = n

    def retire(self, area: str, zid: str) -> None:
        ids = self.retired.setdefault(area, [])
        if zid not in ids:
            ids.append(zid)


def zone_id(code: str, n: int) -> str:
    """``DZ-TSEL-01``: two digits at least, more when a village has a hundred zones."""
    return f"DZ-{code}-{n:02d}"


def _split_id(zid: str) -> tuple[str | None, int]:
    parts = str(zid).split("-")
    if len(parts) < 3 or parts[0] != "DZ" or not parts[-1].isdigit():
        return None, 0
    return "-".join(parts[1:-1]), int(parts[-1])


def _code(operator: str) -> str:
    return OPERATOR_CODES.get(operator) or "".join(ch for ch in operator.upper() if ch.isalnum())[:5] or "OP"


def _nearest(lat, lon, tlat, tlon) -> tuple[float, float, str | None]:
    """Distance (m), bearing (degrees) and compass direction from a point to the nearest of the
    targets; NaN, NaN, None when there is none."""
    tlat = np.asarray(tlat, dtype=float)
    tlon = np.asarray(tlon, dtype=float)
    ok = np.isfinite(tlat) & np.isfinite(tlon)
    if not ok.any():
        return np.nan, np.nan, None
    tlat, tlon = tlat[ok], tlon[ok]
    d = haversine_m(lat, lon, tlat, tlon, xp=np)
    i = int(np.argmin(d))
    b = float(bearing_deg(lat, lon, tlat[i], tlon[i], xp=np))
    return float(d[i]), b, compass(b)


def dead_zones(cells, towers=None, settings: Settings | None = None, evidence: Evidence | None = None,
               previous=None, register: ZoneRegister | None = None, *, zone_counts=None):
    """Merge adjacent dead cells of one operator into dead zones with their evidence.

    Parameters
    ----------
    cells
        The ``cells`` layer (from :func:`~surveyor.analyse.cells.compute_cells`).
    towers
        The ``towers`` layer (operator, lat, lon) or None/empty.
    settings
        Thresholds, area code.
    evidence
        The :class:`Evidence` the cells were computed from. With it, the zone's evidence is
        aggregated over the zone's samples (distinct sessions, devices and days; the median RSRP of
        every sample). Without it, counts are summed over the cells and distinct counts are the
        largest of any cell (a lower bound), and the median is the median of the cell medians.
    previous
        The ``dead_zones`` layer of the previous analysis of this village (``zone_id``,
        ``operator``, geometry), or None: a zone overlapping an earlier zone keeps its ID.
    register
        The IDs given so far (updated in place: new numbers, retired IDs). None: a fresh register.
    zone_counts
        Instead of ``evidence``, a function that counts the zones' evidence where the samples are
        (in the database: :mod:`surveyor.analyse.sql`): called once per operator with the operator
        and the list of its zones' cells (uint64 arrays), it returns one dict per zone with the keys
        of :data:`ZONE_COUNT_KEYS`.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 (multi)polygons, columns :data:`ZONE_COLUMNS`. New IDs (``DZ-TSEL-01``) are
        numbered per operator by centroid latitude, then longitude (south to north), after the
        highest number given before, so the same data always gives the same IDs.
    """
    import geopandas as gpd
    import shapely

    from surveyor.geo.areas import utm_crs

    settings = settings or Settings()
    register = register if register is not None else ZoneRegister()
    area = settings.code or ""
    prev = _previous_by_operator(previous, area, register)

    def empty():
        return gpd.GeoDataFrame({c: [] for c in ZONE_COLUMNS}, geometry=[], crs="EPSG:4326")

    if cells is None or len(cells) == 0:
        _retire_unmatched(prev, set(), area, register)
        return empty()
    rows = []
    geoms = []
    # A plain DataFrame view: filtering a GeoDataFrame costs far more than the work done here.
    c_op = cells["operator"].to_numpy(dtype=object)
    c_st = cells["status"].to_numpy(dtype=object)
    c_lat = cells["lat"].to_numpy(dtype=float)
    c_lon = cells["lon"].to_numpy(dtype=float)
    cells = pd.DataFrame(cells, copy=False)
    for op in sorted(cells["operator"].dropna().unique()):
        dead = cells[(c_op == op) & (c_st == "dead")]
        if len(dead) == 0:
            continue
        dead_cells = grid.from_hex(dead["h3"])
        labels = grid.neighbours_components(dead_cells)
        is_covered = (c_op == op) & (c_st == "covered")
        covered_lat, covered_lon = c_lat[is_covered], c_lon[is_covered]
        # The samples of this operator in any of its dead cells, found once for all its zones.
        op_samples = _samples_in(evidence, op, dead_cells) if evidence is not None else None
        op_towers = None
        if towers is not None and len(towers) and {"operator", "lat", "lon"} <= set(towers.columns):
            op_towers = towers[towers["operator"] == op]
        zone_rows = []
        for lab in np.unique(labels):
            member = dead.iloc[np.flatnonzero(labels == lab)]
            geom = shapely.union_all(list(member["geometry"]))
            crs = utm_crs(float(member["lon"].mean()), float(member["lat"].mean()))
            # Area and centroid in UTM metres: degrees are not equal-area.
            g_utm = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(crs)
            centroid = g_utm.centroid.to_crs("EPSG:4326").iloc[0]
            zone_rows.append((member, geom, float(g_utm.area.iloc[0]) / 1e6, centroid.y, centroid.x))
        zone_rows.sort(key=lambda z: (round(z[3], 7), round(z[4], 7)))
        ids = _lasting_ids([z[1] for z in zone_rows], prev.get(op), area, op, register)
        counted = (zone_counts(op, [grid.from_hex(z[0]["h3"]) for z in zone_rows]) if zone_counts is not None
                   else [None] * len(zone_rows))
        for zid, (member, geom, area_km2, clat, clon), counts in zip(ids, zone_rows, counted):
            row: dict[str, Any] = {
                "zone_id": zid, "operator": op, "cells": len(member),
                "area_km2": area_km2, "centroid_lat": clat, "centroid_lon": clon,
                "dusun": ", ".join(sorted({d for d in member["dusun"].dropna()})) or None,
                "area_code": settings.code, "h3_cells": ",".join(member["h3"]),
                "resolution": int(member["resolution"].iloc[0]),
            }
            row.update(_zone_evidence(member, op, settings, evidence, op_samples) if counts is None
                       else _finish_zone_evidence(counts, settings))
            row["nearest_signal_m"], row["nearest_signal_bearing_deg"], row["nearest_signal_direction"] = \
                _nearest(clat, clon, covered_lat, covered_lon)
            if op_towers is not None and len(op_towers):
                row["nearest_tower_m"], row["nearest_tower_bearing_deg"], row["nearest_tower_direction"] = \
                    _nearest(clat, clon, op_towers["lat"], op_towers["lon"])
            rows.append(row)
            geoms.append(geom)
    _retire_unmatched(prev, {r["zone_id"] for r in rows}, area, register)
    if not rows:
        return empty()
    ints = ("cells", "samples_effective", "samples_raw", "negatives_effective", "sessions", "devices", "days",
            "speed_tests", "speed_failed", "resolution")
    floats = ("nearest_signal_m", "nearest_signal_bearing_deg", "nearest_tower_m", "nearest_tower_bearing_deg",
              "rsrp_median_dbm", "area_km2", "centroid_lat", "centroid_lon")
    out = pd.DataFrame(rows).reindex(columns=ZONE_COLUMNS)
    out = pd.DataFrame({c: np.nan_to_num(out[c].to_numpy(dtype=float)).astype(np.int64) if c in ints
                        else out[c].to_numpy(dtype=float) if c in floats else out[c] for c in ZONE_COLUMNS})
    return gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")


def _previous_by_operator(previous, area: str, register: ZoneRegister) -> dict[str, list[tuple[str, Any]]]:
    """The earlier zones per operator as (ID, geometry), their IDs counted in the register."""
    out: dict[str, list[tuple[str, Any]]] = {}
    if previous is None or len(previous) == 0 or "zone_id" not in previous.columns:
        return out
    for zid, op, geom in zip(previous["zone_id"], previous["operator"], previous.geometry):
        if isinstance(zid, str) and geom is not None and not geom.is_empty:
            register.note(area, zid)
            out.setdefault(op, []).append((zid, geom))
    return out


def _lasting_ids(geoms: list, earlier: list[tuple[str, Any]] | None, area: str, op: str,
                 register: ZoneRegister) -> list[str]:
    """The ID of each new zone (in the order given): the earlier zone it overlaps most, each earlier
    ID to one zone only (the zone overlapping it most; ties to the lower number), else a new one."""
    import shapely

    ids: list[str | None] = [None] * len(geoms)
    if earlier:
        pairs = []
        for i, g in enumerate(geoms):
            for zid, old in earlier:
                if g.intersects(old):
                    shared = shapely.intersection(g, old).area
                    if shared > 0:  # touching along an edge is not the same place
                        pairs.append((-shared, _split_id(zid)[1], i, zid))
        taken: set[str] = set()
        for _, _, i, zid in sorted(pairs):
            if ids[i] is None and zid not in taken:
                ids[i] = zid
                taken.add(zid)
    return [zid if zid is not None else register.next_id(area, op) for zid in ids]


def _retire_unmatched(prev: dict[str, list[tuple[str, Any]]], kept: set[str], area: str,
                      register: ZoneRegister) -> None:
    for zones in prev.values():
        for zid, _ in zones:
            if zid not in kept:
                register.retire(area, zid)


def zone_changes(previous, zones) -> list[dict[str, Any]]:
    """What changed since the previous analysis, one record per zone ID (docs/layers.md).

    ``change`` is ``kept`` (same cells), ``grown``, ``shrunk``, ``reshaped`` (as many cells,
    not all the same), ``new`` (overlaps no earlier zone), ``split`` (a new ID for part of an
    earlier zone, named in ``from``), ``merged`` (an earlier ID now inside the zone named in
    ``into``: retired) or ``gone`` (no longer a dead zone: retired). Each record has ``zone_id``,
    ``operator``, ``change``, ``cells_before``, ``cells_after``, ``area_km2_before``,
    ``area_km2_after``, ``into`` and ``from``.
    """
    def by_id(df) -> dict[str, dict]:
        if df is None or len(df) == 0 or "zone_id" not in df.columns:
            return {}
        cols = [c for c in ("zone_id", "operator", "cells", "area_km2", "h3_cells") if c in df.columns]
        recs = df[cols].to_dict("records")
        return {r["zone_id"]: dict(r, geometry=g) for r, g in zip(recs, df.geometry)}

    before, after = by_id(previous), by_id(zones)
    out: list[dict[str, Any]] = []

    def record(zid, op, change, b=None, a=None, into=None, source=None):
        def num(r, k):
            return (None if r is None or r.get(k) is None or r.get(k) != r.get(k) else
                    (int(r[k]) if k == "cells" else round(float(r[k]), 4)))

        out.append({"zone_id": zid, "operator": op, "change": change, "cells_before": num(b, "cells"),
                    "cells_after": num(a, "cells"), "area_km2_before": num(b, "area_km2"),
                    "area_km2_after": num(a, "area_km2"), "into": into, "from": source})

    def overlapping(rec, others):
        found = []
        for zid, o in others.items():
            if o["operator"] == rec["operator"] and rec["geometry"].intersects(o["geometry"]):
                shared = rec["geometry"].intersection(o["geometry"]).area
                if shared > 0:
                    found.append((shared, zid))
        return [z for _, z in sorted(found, reverse=True)]

    for zid, a in after.items():
        b = before.get(zid)
        if b is None:
            parents = overlapping(a, before)
            record(zid, a["operator"], "split" if parents else "new", a=a, source=parents[0] if parents else None)
            continue
        same = (a.get("h3_cells") == b.get("h3_cells")) if a.get("h3_cells") else a["geometry"].equals(b["geometry"])
        cb, ca = int(b.get("cells") or 0), int(a.get("cells") or 0)
        change = "kept" if same else "grown" if ca > cb else "shrunk" if ca < cb else "reshaped"
        record(zid, a["operator"], change, b, a)
    for zid, b in before.items():
        if zid in after:
            continue
        into = overlapping(b, after)
        record(zid, b["operator"], "merged" if into else "gone", b=b, into=into[0] if into else None)
    order = {"new": 0, "split": 1, "grown": 2, "shrunk": 3, "reshaped": 4, "merged": 5, "gone": 6, "kept": 7}
    return sorted(out, key=lambda r: (r["operator"], order[r["change"]], r["zone_id"]))


def _samples_in(ev: Evidence, op: str, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (ascending) of the signal and the speed samples of ``op`` in ``cells``."""
    sig, sp = ev.signal, ev.speed
    op_i = list(ev.operators).index(op) if op in ev.operators else -2
    return (np.flatnonzero((sig.op == op_i) & np.isin(sig.cell, cells)),
            np.flatnonzero((sp.op == op_i) & np.isin(sp.cell, cells)))


def _zone_evidence(member, op: str, settings: Settings, ev: Evidence | None,
                   op_samples: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Any]:
    """Evidence of one zone, with the bounds recomputed on the zone totals. ``op_samples``: the
    samples of ``op`` in a set of cells holding the zone's (from :func:`_samples_in`), to look
    among (all samples when None)."""
    out: dict[str, Any] = {}
    if ev is not None:
        cells = grid.from_hex(member["h3"])
        sig, sp = ev.signal, ev.speed
        if op_samples is None:
            op_samples = _samples_in(ev, op, cells)
        m, m_sp = op_samples
        m = m[np.isin(sig.cell[m], cells)]
        m_sp = m_sp[np.isin(sp.cell[m_sp], cells)]
        e = m[sig.effective[m]]
        n_eff, n_neg = len(e), int(sig.negative[e].sum())
        dev = sig.device[e]
        out.update(samples_effective=n_eff, samples_raw=len(m), negatives_effective=n_neg,
                   sessions=len(np.unique(sig.session[e])), devices=len(np.unique(dev[dev >= 0])))
        out["days"] = len(np.unique(local_days(sig.t_ms[e], settings.timezone)))
        t_all = np.concatenate([sig.t_ms[m], sp.t_ms[m_sp]])
        span = [t_all.min(), t_all.max()] if len(t_all) else [np.nan, np.nan]
        out["first_seen"], out["last_seen"] = iso_utc(np.array(span, dtype=float))
        rsrp = sig.rsrp_dbm[m]
        rsrp = rsrp[~np.isnan(rsrp)]
        out["rsrp_median_dbm"] = float(np.median(rsrp)) if len(rsrp) else np.nan
        out["speed_tests"], out["speed_failed"] = len(m_sp), int(sp.failed[m_sp].sum())
        reason = sig.reason_code[e]
        # counts here, weighted shares of counts below
        ns: float = int((reason == REASON_CODES.index("no_service")).sum())
        g2: float = int((reason == REASON_CODES.index("2g3g_only")).sum())
    else:
        n_eff = int(member["samples_effective"].sum())
        n_neg = int(member["negatives_effective"].sum())
        out.update(samples_effective=n_eff, samples_raw=int(member["samples_raw"].sum()),
                   negatives_effective=n_neg, sessions=int(member["sessions"].max()),
                   devices=int(member["devices"].max()), days=int(member["days"].max()),
                   first_seen=member["first_seen"].dropna().min(), last_seen=member["last_seen"].dropna().max(),
                   rsrp_median_dbm=float(member["rsrp_median_dbm"].median()),
                   speed_tests=int(member["speed_tests"].sum()), speed_failed=int(member["speed_failed"].sum()))
        ns = float((member["share_no_service"].fillna(0) * member["samples_effective"]).sum())
        g2 = float((member["share_2g3g"].fillna(0) * member["samples_effective"]).sum())
    out["no_service"], out["only_2g3g"] = ns, g2
    return _finish_zone_evidence(out, settings)


# What a zone's evidence is made of, counted over the zone's own samples (see ``zone_counts``).
ZONE_COUNT_KEYS = ("samples_effective", "samples_raw", "negatives_effective", "sessions", "devices", "days",
                   "first_seen", "last_seen", "rsrp_median_dbm", "speed_tests", "speed_failed", "no_service",
                   "only_2g3g")


def _finish_zone_evidence(counts: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """A zone's evidence row from its counts (:data:`ZONE_COUNT_KEYS`): the shares and the bounds
    recomputed on the zone totals."""
    out = {k: counts[k] for k in ZONE_COUNT_KEYS if k not in ("no_service", "only_2g3g")}
    n_eff, n_neg = int(counts["samples_effective"]), int(counts["negatives_effective"])
    ns, g2 = counts["no_service"], counts["only_2g3g"]
    lower, upper = clopper_pearson([n_neg], [n_eff], settings.confidence)
    out["share_negative"] = n_neg / n_eff if n_eff else np.nan
    out["lower_95"], out["upper_95"] = float(lower[0]), float(upper[0])
    out["share_no_service"] = ns / n_eff if n_eff else np.nan
    out["share_2g3g"] = g2 / n_eff if n_eff else np.nan
    return out
