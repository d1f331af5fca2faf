"""The analysis inside PostGIS: the evidence counted where the samples are, only per-cell aggregates
leave the server.

A district server holds millions of samples; reading them all into the analysing computer (what
:func:`surveyor.analyse.compute` does with a village's GeoPackage) makes memory grow with the
district. Here the database does every step that touches single samples, with the same rules as
the Python path:

- **which samples count** and **why a sample is negative** are SQL expressions written from the
  same settings as :mod:`surveyor.analyse.rules` and :mod:`surveyor.analyse.evidence`;
- **effective samples**: the rule is sequential (a sample counts when it is far enough in time AND
  distance from the last *counted* one), so no window function can decide it. The samples of each
  session and operator are read in time order from the session-order index (no sort of the
  district), gathered into arrays per session, and a small PL/pgSQL function walks each session
  from counted sample to counted sample: the first sample at least ``effective_min_gap_s`` later
  is found by binary search (``width_bucket`` over the session's times, in C), and from there the
  first one at least ``effective_min_distance_m`` away (the haversine of
  :mod:`surveyor.analyse.effective`, term by term). Only counted samples and the few after each
  are looked at, never every sample in PL/pgSQL. The counted samples (a few percent) go to a
  temporary table;
- **per-cell counts**: raw samples, technologies, unknown GPS accuracy, first and last time, and the
  histogram of the signal values per cell, in one grouped scan (which PostgreSQL runs in
  parallel); the 20th, 50th and 80th percentiles are picked from the histogram with window
  functions (the two order statistics around each, so the interpolation is the same as
  :func:`surveyor.analyse.stats.grouped_quantiles`); sessions, devices, days, the time spread and
  the speed tests from the counted samples;
- **dead zones** count their evidence over the zone's own counted samples in the database, and
  their median RSRP from the cells' histograms.

Both scans run side by side on two connections that share one snapshot
(:meth:`surveyor.store.postgis.PostgisStore.sql_sessions`), so a merge committed meanwhile is seen
by both or neither. The judgement (Clopper-Pearson bounds, statuses, zones, sites) is the Python
path's own (:func:`surveyor.analyse.cells.judge_cells`, :func:`surveyor.analyse.zones.dead_zones`),
so both stores give the same cells and zones from the same samples (tests/district).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from surveyor.analyse.cells import COUNT_COLUMNS, judge_cells
from surveyor.analyse.summary import EvidenceTotals
from surveyor.analyse.times import iso_utc
from surveyor.config import Settings
from surveyor.geo.distance import EARTH_RADIUS_M
from surveyor.model import TECHS

log = logging.getLogger(__name__)

__all__ = ["CHAIN_FUNCTION", "DatabaseCells", "count_in_database", "supports"]

# The resolutions the database can count at: the stored h3_10 cell and its parents (bit arithmetic).
MAX_RESOLUTION = 10

# Why a sample was left out, in the order of surveyor.analyse.evidence.prepare_evidence; 0 is kept,
# 8 a speed test (counted apart), 9 a placed sample without its h3_10 cell (not made by surveyor).
DROP_REASONS = {1: "unplaced", 2: "excluded", 3: "no_time", 4: "indoor", 5: "accuracy", 6: "no_operator",
                7: "other_operator"}
DROP_SPEED, DROP_NO_CELL = 8, 9

# The walk along one session's samples (times ascending; see the module docstring). Returns the
# 1-based positions of the counted samples. ``gap`` and ``hav_min`` are the two rules: the time gap
# and sin(D / 2R)^2 for the distance D, compared on the haversine's inner term as
# surveyor.analyse.effective does (same terms, same order of operations).
CHAIN_FUNCTION = r"""
CREATE OR REPLACE FUNCTION pg_temp.surveyor_effective(t timestamptz[], la float8[], lo float8[],
                                                       gap interval, hav_min float8) RETURNS int[]
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  n int := cardinality(t);
  counted int[] := ARRAY[1];
  i int := 1;
  j int;
  phi_i float8; lam_i float8; cos_i float8; phi_j float8; s1 float8; s2 float8;
BEGIN
  IF n = 0 THEN
    RETURN '{}'::int[];
  END IF;
  LOOP
    -- the first sample at least gap after sample i: width_bucket counts the times before it
    j := greatest(width_bucket(t[i] + gap - interval '1 microsecond', t) + 1, i + 1);
    EXIT WHEN j > n;
    phi_i := radians(la[i]);
    lam_i := radians(lo[i]);
    cos_i := cos(phi_i);
    LOOP
      phi_j := radians(la[j]);
      s1 := sin((phi_j - phi_i) / 2);
      s2 := sin((radians(lo[j]) - lam_i) / 2);
      EXIT WHEN s1 * s1 + cos_i * cos(phi_j) * (s2 * s2) >= hav_min;
      j := j + 1;
      EXIT WHEN j > n;
    END LOOP;
    EXIT WHEN j > n;
    IF t[j] < t[i] THEN
      RAISE EXCEPTION 'surveyor: samples of a session reached the effective-sample walk out of time order';
    END IF;
    counted := counted || j;
    i := j;
  END LOOP;
  RETURN counted;
END $$
"""


def supports(store, resolution: int) -> bool:
    """Whether the analysis can run inside this store: a PostGIS store, at resolution 10 or coarser
    (finer cells need H3 from positions, which Debian's PostgreSQL does not have)."""
    return store.counts_in_database and resolution <= MAX_RESOLUTION


# ---------------------------------------------------------------------------------------------
# The rules as SQL


class _Sql:
    """The SQL expressions of the coverage rules for one analysis (literals quoted by the driver)."""

    def __init__(self, settings: Settings, resolution: int, area_condition: str, lit) -> None:
        from surveyor.store.postgis import SESSION_KEY

        self.s = settings
        self.lit = lit
        self.session = SESSION_KEY
        self.area = area_condition
        self.ops = ", ".join(lit(o) for o in settings.operators) or "NULL"
        self.cell = _cell_expression(resolution)

    def excluded(self) -> str:
        """Inside an exclusion zone: the haversine of surveyor.geo.distance, within the radius."""
        if not self.s.exclusion_zones:
            return "false"
        parts = []
        for z in self.s.exclusion_zones:
            zlat, zlon = f"{float(z.lat)!r}::float8", f"{float(z.lon)!r}::float8"
            a = (f"(sin((radians({zlat}) - radians(lat)) / 2) ^ 2 + cos(radians(lat)) * cos(radians({zlat})) "
                 f"* sin(radians({zlon} - lon) / 2) ^ 2)")
            parts.append(f"(2 * {EARTH_RADIUS_M!r} * asin(sqrt(least(greatest({a}, 0), 1))) <= {float(z.radius_m)!r})")
        return "(" + " OR ".join(parts) + ")"

    def drop(self) -> str:
        """Why a sample is left out (:data:`DROP_REASONS`), 0 when it counts: the first reason that
        applies, in the order of prepare_evidence."""
        s = self.s
        return (f"CASE WHEN lat IS NULL OR lon IS NULL THEN 1 WHEN {self.excluded()} THEN 2 "
                "WHEN time IS NULL THEN 3 WHEN environment = 'indoor' THEN 4 "
                f"WHEN accuracy_m > {float(s.max_accuracy_m)!r} THEN 5 WHEN operator IS NULL THEN 6 "
                f"WHEN operator NOT IN ({self.ops}) THEN 7 WHEN kind = 'speed' THEN {DROP_SPEED} "
                f"WHEN h3_10 IS NULL THEN {DROP_NO_CELL} ELSE 0 END")

    def kept(self) -> str:
        """The samples that count (signal, manual and speed tests alike)."""
        s = self.s
        return (f"{self.area} AND lat IS NOT NULL AND lon IS NOT NULL AND h3_10 IS NOT NULL AND time IS NOT NULL "
                f"AND environment IS DISTINCT FROM 'indoor' "
                f"AND NOT coalesce(accuracy_m > {float(s.max_accuracy_m)!r}, false) "
                f"AND operator IN ({self.ops}) AND NOT {self.excluded()}")

    def reason(self) -> str:
        """Why a signal or manual sample is negative: the index into
        surveyor.analyse.evidence.REASON_CODES (1 no_service, 2 2g3g_only, 3 weak_signal,
        4 manual_no_signal), 0 when it is not (rules.negative_reasons, in its order)."""
        s = self.s
        return ("CASE WHEN service = 'no_service' OR tech = 'NONE' THEN 1 "
                f"WHEN kind = 'manual' AND level <= {int(s.manual_max_level)} THEN 4 "
                "WHEN tech IN ('GSM', 'UMTS') AND kind IS DISTINCT FROM 'manual' THEN 2 "
                "WHEN (tech IN ('LTE', 'NR') OR tech IS NULL) AND kind IS DISTINCT FROM 'manual' "
                f"AND greatest(rsrp_dbm, nr_rsrp_dbm) < {float(s.rsrp_negative_below_dbm)!r} THEN 3 ELSE 0 END")

    def failed(self) -> str:
        """A failed speed test (rules.speed_failed)."""
        s = self.s
        return (f"coalesce(test = 'failed' OR download_mbps < {float(s.download_min_mbps)!r} "
                f"OR upload_mbps < {float(s.upload_min_mbps)!r}, false)")

    def judged(self) -> str:
        """A speed test with a result (failed, ok, or a measured speed)."""
        return (f"({self.failed()} OR coalesce(test = 'ok', false) OR download_mbps IS NOT NULL "
                "OR upload_mbps IS NOT NULL)")


def _cell_expression(resolution: int) -> str:
    """The H3 cell at ``resolution`` (10 or coarser) of the stored h3_10, by the bit arithmetic of
    surveyor.geo.cells.parent_cells."""
    if resolution == 10:
        return "h3_10"
    res_mask = 0xF << 52
    fill = sum(7 << (3 * (15 - r)) for r in range(resolution + 1, 16))
    return f"((h3_10 & ~{res_mask}::bigint) | {resolution << 52}::bigint | {fill}::bigint)"


def _effective_table(q: _Sql) -> str:
    """The counted samples and the speed tests of the area, into a temporary table: one row per
    effective signal or manual sample (``speed`` false) and per judged speed test (``speed`` true)."""
    s = q.s
    gap = q.lit(f"{int(round(s.effective_min_gap_s * 1000))} milliseconds") + "::interval"
    hav_min = repr(float(np.sin(s.effective_min_distance_m / (2 * EARTH_RADIUS_M)) ** 2))
    sig = "FILTER (WHERE NOT is_speed)"
    spd = "FILTER (WHERE is_speed AND judged)"
    # The subquery's ORDER BY is what the session-order index gives; the rows reach array_agg in
    # that order (grouping consumes its input in order), which is what the walk needs.
    return f"""
CREATE TEMP TABLE surveyor_eff AS
WITH s AS (
  SELECT {q.session} AS ses, operator AS op, time, sample_id, lat, lon, {q.cell} AS cell,
         kind IS NOT DISTINCT FROM 'speed' AS is_speed, {q.reason()}::int2 AS reason,
         coalesce(hashtextextended(device, 0), 0) AS device, coalesce(altitude_m, 'NaN'::float8) AS alt,
         {q.failed()} AS failed, {q.judged()} AS judged, download_mbps AS dl, upload_mbps AS ul
  FROM samples WHERE {q.kept()}
  ORDER BY {q.session}, operator, time, sample_id
), g AS (
  SELECT ses, op,
    array_agg(time) {sig} AS t, array_agg(lat) {sig} AS la, array_agg(lon) {sig} AS lo,
    array_agg(cell) {sig} AS ce, array_agg(reason) {sig} AS re, array_agg(device) {sig} AS dv,
    array_agg(alt) {sig} AS al,
    array_agg(cell) {spd} AS sce, array_agg(time) {spd} AS st, array_agg(failed) {spd} AS sf,
    array_agg(dl) {spd} AS sdl, array_agg(ul) {spd} AS sul
  FROM s GROUP BY ses, op
)
SELECT g.ses, g.op, e.*
FROM g, LATERAL (
  SELECT false AS speed, g.ce[k] AS cell, g.re[k] AS reason, g.dv[k] AS device, g.t[k] AS time,
         g.al[k] AS altitude_m, NULL::boolean AS failed, NULL::float8 AS dl, NULL::float8 AS ul
  FROM unnest(pg_temp.surveyor_effective(g.t, g.la, g.lo, {gap}, {hav_min}::float8)) k
  UNION ALL
  SELECT true, u.cell, NULL::int2, NULL::bigint, u.time, NULL::float8, u.failed, u.dl, u.ul
  FROM unnest(g.sce, g.st, g.sf, g.sdl, g.sul) u(cell, time, failed, dl, ul)
) e
"""


def _quantile_columns(value: str, cum: str, tot: str, qs: tuple[float, ...], prefix: str) -> str:
    """Per quantile q, the two order statistics around position (n - 1) q of the values sorted
    (0-based positions floor(pos) and min(floor(pos) + 1, n - 1), computed in float8 as numpy does):
    the smallest value whose cumulative count passes the position."""
    out = []
    for q in qs:
        pos = f"floor(({tot} - 1)::float8 * {q!r}::float8)"
        tag = f"{prefix}{int(round(q * 100))}"
        out.append(f"min({value}) FILTER (WHERE {cum} > {pos}) AS {tag}_lo")
        out.append(f"min({value}) FILTER (WHERE {cum} > least({pos} + 1, {tot} - 1)) AS {tag}_hi")
    return ",\n    ".join(out)


def _raw_statement(q: _Sql) -> str:
    """One grouped scan of the area: per cell and operator the raw counts and the histograms of the
    signal values (sorted values and their counts: the best RSRP, RSCP, RSSI); per reason the
    samples left out (rows with ``d`` > 0). Two steps: the samples to (cell, operator, values)
    groups, which PostgreSQL does in parallel, then those groups to cells."""
    # Technology and unknown accuracy are grouping keys (not per-row FILTERs): fewer aggregate calls
    # per sample, and the counts per technology are sums of those groups.
    tech_sums = ", ".join(f"sum(n) FILTER (WHERE tech = '{t}')::bigint AS t_{t.lower()}" for t in TECHS)
    # Unordered (so the cells group by hashing); the values are sorted where they are read.
    hist = ",\n  ".join(f"array_agg({v}) FILTER (WHERE {v} IS NOT NULL) AS {v}_values, "
                        f"array_agg(n) FILTER (WHERE {v} IS NOT NULL) AS {v}_counts"
                        for v in ("best", "rscp", "rssi"))
    return f"""
WITH r AS (
  SELECT {q.drop()} AS d, operator, {q.cell} AS cell, greatest(rsrp_dbm, nr_rsrp_dbm) AS best,
         rscp_dbm, rssi_dbm, tech, accuracy_m, time
  FROM samples WHERE {q.area}
), h AS (
  SELECT d, CASE WHEN d IN (0, 7) THEN operator END AS op, CASE WHEN d = 0 THEN cell END AS cell,
         CASE WHEN d = 0 THEN tech END AS tech, d = 0 AND accuracy_m IS NULL AS unk,
         CASE WHEN d = 0 THEN best END AS best, CASE WHEN d = 0 THEN rscp_dbm END AS rscp,
         CASE WHEN d = 0 THEN rssi_dbm END AS rssi,
         count(*) AS n, min(time) AS t0, max(time) AS t1
  FROM r GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
)
SELECT d, op, cell, sum(n)::bigint AS raw, {tech_sums}, coalesce(sum(n) FILTER (WHERE unk), 0)::bigint AS unk,
  {_ms("min(t0)")} AS t0_ms, {_ms("max(t1)")} AS t1_ms,
  {hist}
FROM h GROUP BY d, op, cell
"""


def _order_stats(source: str, groups: str, value: str, qs: tuple[float, ...], prefix: str, where: str) -> str:
    """Per group, the number of values and the order statistics around each quantile (see
    :func:`_quantile_columns`), over the rows of ``source`` that ``where`` selects."""
    return f"""
SELECT {groups}, max(tot)::bigint AS {prefix}_n, {_quantile_columns("v", "rn", "tot", qs, prefix)}
FROM (SELECT {groups}, {value} AS v, row_number() OVER (PARTITION BY {groups} ORDER BY {value}) AS rn,
             count(*) OVER (PARTITION BY {groups}) AS tot
      FROM {source} WHERE {where} AND {value} IS NOT NULL AND {value} <> 'NaN'::float8) x
GROUP BY {groups}
"""


def _ms(expr: str) -> str:
    return f"floor(extract(epoch FROM {expr}) * 1000)::bigint"


def _effective_cells(q: _Sql) -> str:
    """Per cell and operator, what the counted samples and the speed tests say."""
    tz = q.lit(q.s.timezone)
    return f"""
SELECT cell, op,
  count(*) FILTER (WHERE NOT speed) AS n_eff,
  count(*) FILTER (WHERE NOT speed AND reason > 0) AS n_neg,
  count(*) FILTER (WHERE NOT speed AND reason = 1) AS n_ns,
  count(*) FILTER (WHERE NOT speed AND reason = 2) AS n_2g,
  count(DISTINCT ses) FILTER (WHERE NOT speed) AS sessions,
  count(DISTINCT device) FILTER (WHERE NOT speed AND device <> 0) AS devices,
  count(DISTINCT (time AT TIME ZONE {tz})::date) FILTER (WHERE NOT speed) AS days,
  count(*) FILTER (WHERE speed) AS tests,
  count(*) FILTER (WHERE speed AND failed) AS failed,
  count(DISTINCT ses) FILTER (WHERE speed AND failed) AS failed_sessions,
  {_ms("min(time) FILTER (WHERE speed)")} AS sp_t0_ms, {_ms("max(time) FILTER (WHERE speed)")} AS sp_t1_ms
FROM pg_temp.surveyor_eff GROUP BY cell, op
"""


_VISITS = f"""
SELECT cell, op, {_ms("min(f)")} AS visit_first_ms, {_ms("max(f)")} AS visit_last_ms
FROM (SELECT cell, op, ses, min(time) AS f FROM pg_temp.surveyor_eff WHERE NOT speed GROUP BY 1, 2, 3) x
GROUP BY cell, op
"""


@dataclass
class DatabaseCells:
    """What the database counted: the cells to judge, the totals for the summary, and the counts of
    the dead zones (:meth:`zone_counts`, while the job's connections are open)."""

    counts: pd.DataFrame
    totals: EvidenceTotals
    histograms: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]
    cells_table: pd.DataFrame
    _effective_session: Any
    _settings: Settings

    def zone_counts(self, operator: str, zones: list[np.ndarray]) -> list[dict[str, Any]]:
        """The evidence counts of ``operator``'s zones (each a uint64 array of cells), over the zone's
        own samples (see :data:`surveyor.analyse.zones.ZONE_COUNT_KEYS`)."""
        if not zones:
            return []
        session = self._effective_session
        tz = session.literal(self._settings.timezone)
        session.execute("CREATE TEMP TABLE IF NOT EXISTS surveyor_zones (zone int, cell bigint)")
        session.execute("TRUNCATE pg_temp.surveyor_zones")
        session.copy_rows("pg_temp.surveyor_zones", ["zone", "cell"],
                          ((i, int(np.int64(c))) for i, cells in enumerate(zones) for c in cells.astype(np.uint64)))
        rows = session.frame(f"""
SELECT z.zone,
  count(*) FILTER (WHERE NOT e.speed) AS n_eff,
  count(*) FILTER (WHERE NOT e.speed AND e.reason > 0) AS n_neg,
  count(*) FILTER (WHERE NOT e.speed AND e.reason = 1) AS n_ns,
  count(*) FILTER (WHERE NOT e.speed AND e.reason = 2) AS n_2g,
  count(DISTINCT e.ses) FILTER (WHERE NOT e.speed) AS sessions,
  count(DISTINCT e.device) FILTER (WHERE NOT e.speed AND e.device <> 0) AS devices,
  count(DISTINCT (e.time AT TIME ZONE {tz})::date) FILTER (WHERE NOT e.speed) AS days,
  count(*) FILTER (WHERE e.speed) AS tests, count(*) FILTER (WHERE e.speed AND e.failed) AS failed
FROM pg_temp.surveyor_zones z JOIN pg_temp.surveyor_eff e ON e.cell = z.cell AND e.op = {session.literal(operator)}
GROUP BY z.zone""").set_index("zone")
        table = self.cells_table
        out = []
        for i, cells in enumerate(zones):
            mine = table[(table["operator"] == operator) & table["cell"].isin(cells.astype(np.uint64))]
            r = rows.loc[i] if i in rows.index else None

            def get(k: str, r=r) -> int:
                return int(r[k]) if r is not None else 0

            span = np.array([np.nanmin(mine["first_ms"].to_numpy(dtype=float), initial=np.inf),
                             np.nanmax(mine["last_ms"].to_numpy(dtype=float), initial=-np.inf)])
            first, last = iso_utc(span)
            values, counts = self._zone_histogram(operator, cells)
            out.append({"samples_effective": get("n_eff"), "samples_raw": int(mine["samples_raw"].sum()),
                        "negatives_effective": get("n_neg"), "sessions": get("sessions"), "devices": get("devices"),
                        "days": get("days"), "first_seen": first, "last_seen": last,
                        "rsrp_median_dbm": _median_of_histogram(values, counts), "speed_tests": get("tests"),
                        "speed_failed": get("failed"), "no_service": get("n_ns"), "only_2g3g": get("n_2g")})
        return out

    def _zone_histogram(self, operator: str, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [self.histograms[(int(c), operator)] for c in cells.astype(np.uint64)
                 if (int(c), operator) in self.histograms]
        if not parts:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        values = np.concatenate([p[0] for p in parts])
        counts = np.concatenate([p[1] for p in parts])
        uniq, inv = np.unique(values, return_inverse=True)
        return uniq, np.bincount(inv, weights=counts, minlength=len(uniq)).astype(np.int64)


def _median_of_histogram(values: np.ndarray, counts: np.ndarray) -> float:
    """``numpy.median`` of the values the histogram stands for (sorted values, their counts): the
    middle one, or the mean of the two middle ones."""
    n = int(counts.sum())
    if n == 0:
        return float("nan")
    cum = np.cumsum(counts)

    def at(k):
        return values[np.searchsorted(cum, k, side="right")]

    if n % 2:
        return float(at(n // 2))
    return float(np.mean([at(n // 2 - 1), at(n // 2)]))


def _quantiles(lo: np.ndarray, hi: np.ndarray, n: np.ndarray, q: float) -> np.ndarray:
    """The linear-interpolation quantile from its two order statistics, with the arithmetic of
    surveyor.analyse.stats._quantiles_at (NaN where there are no values)."""
    n = np.asarray(n, dtype=float)
    out = np.full(len(n), np.nan)
    has = n > 0
    counts = n[has].astype(np.int64)
    pos = (counts - 1) * q
    frac = pos - np.floor(pos).astype(np.int64)
    out[has] = lo[has].astype(float) * (1 - frac) + hi[has].astype(float) * frac
    return out


def count_in_database(store, settings: Settings, resolution: int, area: str | None, job, *,
                      where: str | None = None, codes=None) -> DatabaseCells:
    """Count the evidence of ``area`` (the whole database when None) inside the database; ``where``
    is an SQL condition on the samples besides (a survey round's period, for comparisons); ``codes``
    the area codes ``area`` selects, when the caller has them.

    ``job`` is the list of sessions of :meth:`surveyor.store.postgis.PostgisStore.sql_sessions`
    (two): the first walks the sessions and keeps the counted samples (and then answers
    :meth:`DatabaseCells.zone_counts`), the second counts the raw samples, at the same time.

    Raises
    ------
    surveyor.errors.NothingToDo
        When the area holds no samples.
    """
    from surveyor.errors import NothingToDo

    eff, raw = job
    area_condition = store._area_condition(area, codes=codes) if area is not None else "TRUE"
    if where:
        area_condition = f"({area_condition}) AND ({where})"
    q = _Sql(settings, resolution, area_condition, eff.literal)

    by_index = (area is None and not where) or _share_of_samples(eff, area_condition) > 0.2

    def walk() -> dict[str, pd.DataFrame]:
        eff.execute("SET LOCAL jit = off")
        eff.execute("SET LOCAL work_mem = '256MB'")
        if by_index:
            # Much of the database: its sessions in time order from the session-order index, not a
            # sort of the district (which PostgreSQL would choose, not knowing that the rows of a
            # session lie together on disk). A village reads its rows by the area index and sorts them.
            eff.execute("SET LOCAL enable_sort = off")
            eff.execute("SET LOCAL enable_seqscan = off")
        eff.execute(CHAIN_FUNCTION)
        eff.execute(_effective_table(q))
        return {"cells": eff.frame(_effective_cells(q)), "visits": eff.frame(_VISITS),
                "altitude": eff.frame(_order_stats("pg_temp.surveyor_eff", "cell", "altitude_m", (0.5,), "alt",
                                                    "NOT speed")),
                "download": eff.frame(_order_stats("pg_temp.surveyor_eff", "cell, op", "dl", (0.5,), "dl", "speed")),
                "upload": eff.frame(_order_stats("pg_temp.surveyor_eff", "cell, op", "ul", (0.5,), "ul", "speed"))}

    def count_raw() -> pd.DataFrame:
        raw.execute("SET LOCAL jit = off")
        # The groups of (cell, operator, value), and then the cells, hash in memory rather than sort.
        raw.execute("SET LOCAL work_mem = '256MB'")
        raw.execute("SET LOCAL enable_sort = off")
        return raw.frame(_raw_statement(q))

    with ThreadPoolExecutor(max_workers=2) as pool:
        walked, counted = pool.submit(walk), pool.submit(count_raw)
        e, r = walked.result(), counted.result()
    drops = r[r["d"] > 0]
    samples_read = int(r["raw"].sum())
    if samples_read == 0:
        raise NothingToDo(f"The geodatabase {store.url} holds no samples" + (f" in area {area}" if area else "")
                          + " to analyse.", fix="Merge or push the survey first, or check the area code.")
    if (drops["d"] == DROP_NO_CELL).any():
        raise NeedsPositions()
    counts, histograms = _assemble(r[r["d"] == 0], e, settings)
    left_out = {name: int(drops.loc[drops["d"] == code, "raw"].sum()) for code, name in DROP_REASONS.items()}
    other = drops[drops["d"] == 7]
    by_operator = counts.groupby("operator")["samples_raw"].sum()
    totals = EvidenceTotals(
        resolution=resolution, samples_read=samples_read, signal_samples=int(counts["samples_raw"].sum()),
        effective_samples=int(counts["samples_effective"].sum()), speed_tests=int(counts["speed_tests"].sum()),
        unknown_accuracy=int(counts["unknown_accuracy"].sum()), left_out=left_out,
        other_operators={str(o): int(n) for o, n in zip(other["op"], other["raw"]) if n},
        by_operator={op: int(by_operator.get(op, 0)) for op in settings.operators})
    return DatabaseCells(counts=counts, totals=totals, histograms=histograms, cells_table=judge_cells(counts, settings),
                         _effective_session=eff, _settings=settings)


def _share_of_samples(session, condition: str) -> float:
    """The planner's estimate of the share of the samples a condition selects (no scan)."""
    import json

    total = session.rows("SELECT reltuples FROM pg_class WHERE oid = 'samples'::regclass")[0][0] or 0
    if total <= 0:
        return 1.0
    plan = session.rows(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM samples WHERE {condition}")[0][0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return float(plan[0]["Plan"]["Plan Rows"]) / float(total)


class NeedsPositions(Exception):
    """Placed samples without their stored H3 cell: only the Python path can place them in cells."""


def _assemble(raw: pd.DataFrame, e: dict[str, pd.DataFrame], settings: Settings):
    """The database's answers as :data:`surveyor.analyse.cells.COUNT_COLUMNS`, and the per-cell
    histograms of the best RSRP (for the zones' medians)."""
    key = ["cell", "op"]
    raw = raw.drop(columns=["d"]).copy()
    raw["cell"] = raw["cell"].astype(np.int64)
    cells = e["cells"].copy()
    for frame in (cells, e["visits"], e["download"], e["upload"]):
        if len(frame):
            frame["cell"] = frame["cell"].astype(np.int64)
    t = raw.merge(cells, on=key, how="outer")
    for extra in ("visits", "download", "upload"):
        t = t.merge(e[extra], on=key, how="left") if len(e[extra]) else t
    alt = e["altitude"]
    if len(alt):
        alt = alt.assign(cell=alt["cell"].astype(np.int64))
        t = t.merge(alt, on="cell", how="left")
    n = len(t)

    def col(name, fill=0):
        return t[name].fillna(fill).to_numpy() if name in t.columns else np.full(n, fill)

    def num(name):
        return (pd.to_numeric(t[name], errors="coerce").to_numpy(dtype=float) if name in t.columns
                else np.full(n, np.nan))

    out: dict[str, Any] = {"cell": t["cell"].to_numpy(dtype=np.int64).astype(np.uint64),
                           "operator": t["op"].to_numpy(dtype=object)}
    out["samples_raw"] = col("raw").astype(np.int64)
    out["samples_effective"] = col("n_eff").astype(np.int64)
    out["negatives_effective"] = col("n_neg").astype(np.int64)
    out["no_service_effective"] = col("n_ns").astype(np.int64)
    out["only_2g3g_effective"] = col("n_2g").astype(np.int64)
    out["unknown_accuracy"] = col("unk").astype(np.int64)
    out["sessions"] = col("sessions").astype(np.int64)
    out["devices"] = col("devices").astype(np.int64)
    out["days"] = col("days").astype(np.int64)
    # first/last over the signal samples and the speed tests
    out["first_ms"] = np.fmin(num("t0_ms"), num("sp_t0_ms"))
    out["last_ms"] = np.fmax(num("t1_ms"), num("sp_t1_ms"))
    visit_first, visit_last = num("visit_first_ms"), num("visit_last_ms")
    has_visit = np.isfinite(visit_first)
    out["first_visit_ms"] = np.where(has_visit, visit_first, out["first_ms"])
    out["first_ms"] = np.where(np.isnan(out["first_ms"]), np.inf, out["first_ms"])
    out["last_ms"] = np.where(np.isnan(out["last_ms"]), -np.inf, out["last_ms"])
    out["first_visit_ms"] = np.where(np.isnan(out["first_visit_ms"]), np.inf, out["first_visit_ms"])
    out["time_spread_h"] = np.where(has_visit, (visit_last - visit_first) / 3_600_000.0, 0.0)
    techs = np.column_stack([col(f"t_{t.lower()}").astype(np.int64) for t in TECHS])
    tech_main = np.where(techs.sum(axis=1) > 0, np.array(TECHS, dtype=object)[techs.argmax(axis=1)], None)
    metric = np.where(tech_main == "UMTS", "rscp", np.where(tech_main == "GSM", "rssi", "rsrp")).astype(object)
    # The percentiles of the metric that fits the cell's main technology, from its histogram.
    hists = {m: _histograms(t, f"{v}_values", f"{v}_counts") for m, v in (("rsrp", "best"), ("rscp", "rscp"),
                                                                         ("rssi", "rssi"))}
    q = np.full((n, 3), np.nan)
    for m, (values, counts) in hists.items():
        rows = np.flatnonzero(metric == m)
        if len(rows):
            q[rows] = _histogram_quantiles([values[i] for i in rows], [counts[i] for i in rows], (0.2, 0.5, 0.8))
    out["rsrp_p20_dbm"], out["rsrp_median_dbm"], out["rsrp_p80_dbm"] = q[:, 0], q[:, 1], q[:, 2]
    # numpy's stubs leave None (an object array's value) out of where()
    out["signal_metric"] = np.where(out["samples_raw"] > 0, metric, None)  # type: ignore[call-overload]
    out["tech_main"] = tech_main
    old = techs[:, TECHS.index("UMTS")] + techs[:, TECHS.index("GSM")]
    modern = techs[:, TECHS.index("NR")] + techs[:, TECHS.index("LTE")]
    out["only_2g3g"] = (old > 0) & (modern == 0)
    out["altitude_median_m"] = _quantiles(num("alt50_lo"), num("alt50_hi"), col("alt_n"), 0.5)
    out["speed_tests"] = col("tests").astype(np.int64)
    out["speed_failed"] = col("failed").astype(np.int64)
    out["speed_failed_sessions"] = col("failed_sessions").astype(np.int64)
    out["download_median_mbps"] = _quantiles(num("dl50_lo"), num("dl50_hi"), col("dl_n"), 0.5)
    out["upload_median_mbps"] = _quantiles(num("ul50_lo"), num("ul50_hi"), col("ul_n"), 0.5)
    counts = pd.DataFrame(out, columns=COUNT_COLUMNS)
    best_values, best_counts = hists["rsrp"]
    histograms = {(int(c), op): (v, k) for c, op, v, k in zip(out["cell"], out["operator"], best_values, best_counts)
                  if len(v)}
    counts = counts.sort_values(["cell", "operator"], kind="stable").reset_index(drop=True)
    return counts, histograms


def _histograms(t: pd.DataFrame, values: str, counts: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per row, the histogram in columns ``values``/``counts`` (arrays, sorted by value here; empty
    where there is none)."""
    empty_v, empty_c = np.zeros(0), np.zeros(0, dtype=np.int64)
    if values not in t.columns:
        return [empty_v] * len(t), [empty_c] * len(t)
    vs, cs = [], []
    for v, c in zip(t[values], t[counts]):
        if isinstance(v, list) and v:
            v, c = np.asarray(v, dtype=float), np.asarray(c, dtype=np.int64)
            order = np.argsort(v, kind="stable")
            vs.append(v[order])
            cs.append(c[order])
        else:
            vs.append(empty_v)
            cs.append(empty_c)
    return vs, cs


def _histogram_quantiles(values: list[np.ndarray], counts: list[np.ndarray], qs: tuple[float, ...]) -> np.ndarray:
    """Per histogram (values sorted ascending, their counts), the linear-interpolation quantiles of
    the values it stands for, with the arithmetic of surveyor.analyse.stats._quantiles_at: the two
    order statistics around position (n - 1) q read off the cumulative counts. NaN when empty."""
    out = np.full((len(values), len(qs)), np.nan)
    if not values:
        return out
    lens = np.array([len(v) for v in values], dtype=np.int64)
    vals = np.concatenate(values) if lens.sum() else np.zeros(0)
    cnts = np.concatenate(counts) if lens.sum() else np.zeros(0, dtype=np.int64)
    cum = np.cumsum(cnts)
    ends = np.cumsum(lens)
    start_cum = np.concatenate(([0], cum))[ends - lens]  # samples before each histogram
    total = np.concatenate(([0], cum))[ends] - start_cum
    has = total > 0

    def at(k):
        return vals[np.searchsorted(cum, k, side="right")]

    for j, q in enumerate(qs):
        pos = (total[has] - 1) * q
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, total[has] - 1)
        frac = pos - lo
        out[has, j] = at(start_cum[has] + lo) * (1 - frac) + at(start_cum[has] + hi) * frac
    return out


def scope_condition(store, settings: Settings, scope, area: str | None, codes=None, *, rows=None) -> str | None:
    """The survey's scope (:mod:`surveyor.geo.scope`) as an SQL condition on the samples, the
    same samples :func:`surveyor.geo.scope.in_scope` keeps in memory; None when everything counts.

    The area: placed samples inside the boundary grown by ``max_distance_m`` (with an ``area`` the
    samples are that area's already). The period: samples at most ``period_days`` before the newest
    sample inside it (samples without a time are kept). Operators that are not configured are
    left out by the counting itself (as ``other_operators``).

    ``rows``: a function that runs a query and returns its rows (:meth:`SqlSession.rows` of the
    job's snapshot); the newest time is then asked once and written into the condition as a
    literal, instead of a subquery that each statement of the job would run again.
    """
    if scope is None:
        return None
    parts = []
    if area is None and scope.area is not None:
        import shapely

        wkt = shapely.to_wkt(scope.area, rounding_precision=9)
        parts.append(f"(geom IS NULL OR ST_Intersects(geom, ST_GeomFromText('{wkt}', 4326)))")
    # The period counts back from the newest sample that is not far (a later log from far away does
    # not push the survey out of its own period), as in memory.
    near = " AND ".join([store._area_condition(area, codes=codes), *parts])
    newest = f"(SELECT max(time) FROM samples WHERE {near})"
    if rows is not None:
        found = rows(f"SELECT max(time)::text FROM samples WHERE {near}")[0][0]
        if found is None:
            return " AND ".join(parts) or None
        newest = f"'{found}'::timestamptz"
    parts.append(f"(time IS NULL OR time >= {newest} - make_interval(secs => {float(scope.period_s)!r}))")
    return " AND ".join(parts)
