"""Before and after: did a new tower fix the dead zones? Two survey rounds compared cell by cell.

A village surveys again after something changed (a tower built, an operator's upgrade) and asks,
per cell and operator: **improved**, **worsened**, **unchanged**, or **not enough evidence**. Each
round is counted with the same rules (:mod:`surveyor.analyse.evidence`, the effective samples of
docs/method.md), on its own samples: two periods of one database, or two databases. For a cell
with enough evidence in both rounds (the rule that makes a cell judgeable at all: enough effective
samples from enough sessions hours apart), the two rounds' negative shares ``k1 / n1`` and
``k2 / n2`` go to **Fisher's exact test**, one-sided in each direction at half of ``1 -
confidence``:

- improved: the before round's share is higher (p of the one-sided test below the level);
- worsened: the after round's share is higher;
- unchanged: neither test shows a change at that level (not a proof of equality: a change too
  small for the samples there to show stays "unchanged");
- not enough evidence: either round lacks enough evidence in the cell (or has no samples there).

The p-value of "improved" is the hypergeometric upper tail ``P(X >= k1)`` of ``X ~
Hypergeom(n1 + n2, k1 + k2, n1)``, which is exactly ``scipy.stats.fisher_exact`` with
``alternative="greater"`` on ``[[k1, n1 - k1], [k2, n2 - k2]]`` (and "worsened" the lower tail,
``alternative="less"``), computed for every cell at once. Why Fisher's test and what the level
controls (one cell's chance of a false call, not the district's) is in docs/method.md, "Comparing
two rounds".

Rounds must be judged by the same rules: a database whose stored analysis used another H3
resolution or other rule settings than this comparison is refused, naming the difference.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from surveyor.config import Settings
from surveyor.errors import InvalidRequest, NothingToDo

log = logging.getLogger(__name__)

__all__ = ["CHANGES", "Comparison", "Period", "Round", "change_tests", "compare_rounds", "parse_period",
           "rules_difference"]

CHANGES = ("improved", "worsened", "unchanged", "not_enough_evidence")
_PERIOD = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})\s*$")


@dataclass(frozen=True)
class Period:
    """A survey round's dates: from the start of ``first`` to the end of ``last`` (local dates in
    the survey's time zone), as UTC instants [start, end)."""

    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def text(self) -> str:
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


def is_period(text: str) -> bool:
    """Whether ``text`` is written as a period (``2026-07-01..2026-07-31``)."""
    return bool(_PERIOD.match(str(text)))


def parse_period(text: str, timezone: str) -> Period:
    """A period ``YYYY-MM-DD..YYYY-MM-DD`` (both days included, in the survey's time zone).

    Raises
    ------
    InvalidRequest
        When the text is not such a period, a date does not exist, or the end comes first.
    """
    m = _PERIOD.match(str(text))
    if not m:
        raise InvalidRequest(f"{text!r} is not a period.",
                             fix="Write the first and last day, e.g. 2026-07-01..2026-07-31, or give a database.")
    try:
        first, last = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
    except ValueError as exc:
        raise InvalidRequest(f"{text!r} is not a period: {exc}.",
                             fix="Give real dates, e.g. 2026-07-01..2026-07-31.") from None
    if last < first:
        raise InvalidRequest(f"The period {text} ends before it begins.", fix="Give the first day first.")
    tz = ZoneInfo(timezone)
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(ZoneInfo("UTC"))
    return Period(first, last, start, end)


@dataclass
class Round:
    """One survey round as counted for the comparison.

    Attributes
    ----------
    label
        ``before`` or ``after``.
    source
        The database (URL with its password masked, or path).
    period
        Its dates, or None for every sample of the database.
    samples, effective_samples, sessions
        Samples read, effective signal samples, sessions (visits) among them.
    first, last
        The first and last sample time (ISO 8601 UTC).
    cells
        The judged cells of the round (:func:`surveyor.analyse.cells.judge_cells`).
    """

    label: str
    source: str
    period: Period | None
    samples: int
    effective_samples: int
    sessions: int
    first: str | None
    last: str | None
    cells: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "period": self.period.text if self.period else None,
                "samples": self.samples, "effective_samples": self.effective_samples, "sessions": self.sessions,
                "first": self.first, "last": self.last}


@dataclass
class Comparison:
    """The two rounds compared: one row per cell and operator (``cells``, a GeoDataFrame), and
    the level of the tests."""

    before: Round
    after: Round
    cells: Any
    resolution: int
    confidence: float
    operators: tuple[str, ...]
    area: str | None = None
    area_name: str | None = None

    @property
    def level(self) -> float:
        """The level of each one-sided test: half of ``1 - confidence``."""
        return (1.0 - self.confidence) / 2.0

    def counts(self) -> dict[str, dict[str, int]]:
        """Cells per operator and change (every change, 0 when none)."""
        out = {}
        for op in self.operators:
            mine = self.cells[self.cells["operator"] == op]["change"] if len(self.cells) else pd.Series(dtype=object)
            out[op] = {c: int((mine == c).sum()) for c in CHANGES}
        return out

    def expected_false_calls(self) -> dict[str, float]:
        """Per operator, the most cells that could be called improved or worsened by chance if
        nothing changed in any of them: the tested cells times ``1 - confidence``."""
        out = {}
        for op, c in self.counts().items():
            tested = c["improved"] + c["worsened"] + c["unchanged"]
            out[op] = round(tested * (1.0 - self.confidence), 2)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"before": self.before.to_dict(), "after": self.after.to_dict(), "resolution": self.resolution,
                "confidence": self.confidence, "test": "Fisher's exact test, one-sided each way",
                "level_per_direction": self.level, "area": self.area, "cells": self.counts(),
                "expected_false_calls_at_most": self.expected_false_calls()}


# ---------------------------------------------------------------------------------------------
# The test


def change_tests(k1, n1, k2, n2) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Fisher's exact p-values of every cell: (improved, worsened).

    ``improved`` tests whether the first round's negative share is higher than the second's
    (``fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="greater")``), ``worsened``
    whether it is lower (``alternative="less"``). NaN where a round has no samples.
    """
    from scipy.stats import hypergeom

    k1, n1, k2, n2 = (np.asarray(a, dtype=np.int64) for a in (k1, n1, k2, n2))
    total, negatives = n1 + n2, k1 + k2
    ok = (n1 > 0) & (n2 > 0)
    improved = np.full(len(k1), np.nan)
    worsened = np.full(len(k1), np.nan)
    # X, the negatives among the first round's samples given both margins, is hypergeometric.
    improved[ok] = hypergeom.sf(k1[ok] - 1, total[ok], negatives[ok], n1[ok])
    worsened[ok] = hypergeom.cdf(k1[ok], total[ok], negatives[ok], n1[ok])
    return np.clip(improved, 0.0, 1.0), np.clip(worsened, 0.0, 1.0)


def decide(before_enough, after_enough, p_improved, p_worsened, level: float) -> np.ndarray:
    """The change of every cell (:data:`CHANGES`) from its evidence and its two p-values."""
    enough = np.asarray(before_enough, dtype=bool) & np.asarray(after_enough, dtype=bool)
    with np.errstate(invalid="ignore"):
        up = enough & (np.asarray(p_improved) < level)
        down = enough & ~up & (np.asarray(p_worsened) < level)
    return np.select([~enough, up, down], ["not_enough_evidence", "improved", "worsened"], "unchanged").astype(object)


# ---------------------------------------------------------------------------------------------
# The rounds


def rules_difference(stored: dict | None, settings: Settings, resolution: int) -> list[str]:
    """The differences between the rules an analysis was stored with and these settings (empty
    when it was made with the same, or when nothing is stored)."""
    if not stored:
        return []
    wanted = dict(settings.rules(), resolution=resolution)
    out = []
    for key, value in wanted.items():
        if key not in stored:
            continue
        have = stored[key]
        same = (have == value) or (isinstance(value, (int, float)) and isinstance(have, (int, float))
                                    and float(have) == float(value))
        if not same:
            label = "H3 resolution" if key == "resolution" else key
            out.append(f"{label} {_value(have)} there, {_value(value)} here")
    return out


def _value(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return repr(v) if isinstance(v, str) else str(v)
    return f"{v:g}"


def _round_cells(store, settings: Settings, resolution: int, area: str | None, period: Period | None):
    """The judged cells of one round, counted in the database on PostGIS, here on a GeoPackage."""
    from surveyor.analyse import sql
    from surveyor.analyse.cells import count_cells, judge_cells
    from surveyor.analyse.evidence import SAMPLE_COLUMNS, prepare_evidence

    if sql.supports(store, resolution):
        where = None
        if period is not None:
            where = (f"time >= '{period.start.isoformat()}'::timestamptz AND "
                     f"time < '{period.end.isoformat()}'::timestamptz")
        with store.sql_sessions(2) as job:
            try:
                counted = sql.count_in_database(store, settings, resolution, area, job, where=where)
            except sql.NeedsPositions:
                counted = None
            if counted is not None:
                sessions = job[0].rows("SELECT count(DISTINCT ses) FROM pg_temp.surveyor_eff WHERE NOT speed")[0][0]
                return counted.cells_table, counted.totals.samples_read, counted.totals.effective_samples, \
                    int(sessions), _span(counted.cells_table)
    samples = store.read_samples(columns=SAMPLE_COLUMNS, area=area)
    if period is not None and len(samples):
        t = pd.to_datetime(samples["time"], utc=True, errors="coerce")
        samples = samples[((t >= pd.Timestamp(period.start)) & (t < pd.Timestamp(period.end))).to_numpy()]
    if len(samples) == 0:
        raise _NoSamples()
    ev = prepare_evidence(samples, settings, resolution)
    cells = judge_cells(count_cells(ev, settings), settings)
    eff = ev.signal.effective
    return cells, len(samples), int(eff.sum()), len(np.unique(ev.signal.session[eff])), _span(cells)


def _span(cells: pd.DataFrame) -> tuple[str | None, str | None]:
    from surveyor.analyse.times import iso_utc

    if len(cells) == 0:
        return None, None
    first = np.nanmin(np.where(np.isfinite(cells["first_ms"].to_numpy(dtype=float)), cells["first_ms"], np.nan))
    last = np.nanmax(np.where(np.isfinite(cells["last_ms"].to_numpy(dtype=float)), cells["last_ms"], np.nan))
    a, b = iso_utc(np.array([first, last], dtype=float))
    return a, b


class _NoSamples(Exception):
    pass


def _stored_span(store, area: str | None) -> str:
    """When the database's samples were taken, for messages."""
    try:
        st = store.status(area=area)
    except Exception:
        return ""
    if not st.samples:
        return " (it holds no samples)"
    return f" (its samples run from {str(st.first)[:10]} to {str(st.last)[:10]})"


def _count_round(label: str, store, settings: Settings, resolution: int, area: str | None,
                 period: Period | None) -> Round:
    try:
        cells, n, eff, sessions, (first, last) = _round_cells(store, settings, resolution, area, period)
    except (_NoSamples, NothingToDo):
        where = f" between {period.first} and {period.last}" if period is not None else ""
        raise NothingToDo(f"The {label} round has no samples{where} in {store.url}"
                          + (f", area {area}" if area else "") + _stored_span(store, area) + ".",
                          fix=f"Give a --{label} period that holds the round's walks, or merge them first.") from None
    if eff == 0:
        log.warning("the %s round has no effective signal samples", label)
    return Round(label, store.url, period, n, eff, sessions, first, last, cells)


def compare_rounds(before_store, after_store, settings: Settings, *, before_period: Period | None = None,
                   after_period: Period | None = None, area: str | None = None,
                   resolution: int | None = None) -> Comparison:
    """Compare two survey rounds cell by cell (see the module docstring).

    Parameters
    ----------
    before_store, after_store
        Open stores (the same one for two periods of one database).
    settings
        The rules both rounds are judged with, and ``confidence``.
    before_period, after_period
        The rounds' dates; None: every sample of that store.
    area
        An area code: only the samples of that area and everything inside it.
    resolution
        H3 resolution (``settings.resolution`` when None).

    Raises
    ------
    InvalidRequest
        When a store's stored analysis used another resolution or other rules (the difference
        named), or the area code selects nothing.
    NothingToDo
        When a round has no samples.
    """
    from surveyor.analyse.district import find_district
    from surveyor.geo import cells as grid

    res = grid.check_resolution(resolution if resolution is not None else settings.resolution)
    for label, store in (("before", before_store), ("after", after_store)):
        diff = rules_difference(store.get_meta("analysis_rules"), settings, res)
        if diff:
            raise InvalidRequest(f"The {label} round ({store.url}) was analysed with other rules than this "
                                 f"comparison: {'; '.join(diff)}.",
                                 fix="Compare rounds judged by the same rules: run `surveyor analyze` on it with "
                                     "the same survey.toml and --resolution, or use that survey.toml here.")
    selected = find_district(before_store, settings, area) if area is not None else None
    if area is not None and after_store is not before_store:
        find_district(after_store, settings, area)
    before = _count_round("before", before_store, settings, res, area, before_period)
    after = _count_round("after", after_store, settings, res, area, after_period)
    cells = _compare_cells(before.cells, after.cells, settings, res)
    return Comparison(before, after, cells, res, settings.confidence, tuple(settings.operators), area,
                      selected.name if selected is not None else settings.name)


def _compare_cells(before: pd.DataFrame, after: pd.DataFrame, settings: Settings, res: int):
    import geopandas as gpd

    from surveyor.geo import cells as grid

    cols = ["cell", "operator", "status", "samples_effective", "negatives_effective", "share_negative",
            "enough_evidence", "sessions", "rsrp_median_dbm"]
    b = before[[c for c in cols if c in before.columns]].rename(columns={c: f"before_{c}" for c in cols[2:]})
    a = after[[c for c in cols if c in after.columns]].rename(columns={c: f"after_{c}" for c in cols[2:]})
    t = b.merge(a, on=["cell", "operator"], how="outer")
    t = t[t["operator"].isin(settings.operators)].reset_index(drop=True)
    for side in ("before", "after"):
        for c in ("samples_effective", "negatives_effective", "sessions"):
            t[f"{side}_{c}"] = t[f"{side}_{c}"].fillna(0).astype(np.int64)
        t[f"{side}_enough_evidence"] = t[f"{side}_enough_evidence"].fillna(False).astype(bool)
        t[f"{side}_status"] = t[f"{side}_status"].where(t[f"{side}_status"].notna(), "not_surveyed")
    p_up, p_down = change_tests(t["before_negatives_effective"], t["before_samples_effective"],
                                t["after_negatives_effective"], t["after_samples_effective"])
    t["p_improved"], t["p_worsened"] = p_up, p_down
    t["change"] = decide(t["before_enough_evidence"], t["after_enough_evidence"], p_up, p_down,
                         (1.0 - settings.confidence) / 2.0)
    cells = t["cell"].to_numpy(dtype=np.uint64)
    uniq, inv = np.unique(cells, return_inverse=True)
    lat, lon = grid.cell_centres(uniq)
    t["h3"] = grid.to_hex(uniq)[inv] if len(uniq) else np.array([], dtype=object)
    t["lat"], t["lon"] = (lat[inv], lon[inv]) if len(uniq) else (np.zeros(0), np.zeros(0))
    t["resolution"] = res
    order = np.lexsort((t["h3"].to_numpy(), t["operator"].to_numpy())) if len(t) else np.zeros(0, dtype=int)
    t = t.iloc[order].reset_index(drop=True)
    geoms = grid.cell_polygons(uniq)[inv][order] if len(uniq) else []
    t = t.drop(columns=["cell"])
    front = ["h3", "operator", "change", "p_improved", "p_worsened"]
    t = t[front + [c for c in t.columns if c not in front]]
    return gpd.GeoDataFrame(t, geometry=list(geoms), crs="EPSG:4326")
