"""The summary of an analysis: what ``surveyor analyze`` reports and stores as ``analysis_summary``.

:class:`AnalysisSummary` is typed; :meth:`AnalysisSummary.to_dict` gives the JSON form that
``surveyor analyze --json`` prints and that the ``meta`` entry holds (docs/layers.md), which maps,
prints and reports read back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from surveyor.analyse.cells import STATUSES
from surveyor.analyse.evidence import Evidence
from surveyor.config import Settings

__all__ = ["AnalysisSummary", "EvidenceTotals", "OperatorSummary", "summarize", "totals_of"]


@dataclass(frozen=True)
class OperatorSummary:
    """What the analysis found for one operator.

    Attributes
    ----------
    cells : dict of str to int
        Cells per status, every one of :data:`~surveyor.analyse.cells.STATUSES` (0 when none).
    dead_zones : int
        Dead zones.
    dead_area_km2 : float
        Their total area (km2, rounded to 4 decimals).
    zone_ids : list of str
        Their IDs (``DZ-TSEL-01``), in the order of the ``dead_zones`` layer.
    samples : int
        Signal and manual samples of the operator that were used.
    sites : int
        Site suggestions.
    """

    cells: dict[str, int]
    dead_zones: int
    dead_area_km2: float
    zone_ids: list[str]
    samples: int
    sites: int

    def to_dict(self) -> dict[str, Any]:
        return {"cells": dict(self.cells), "dead_zones": self.dead_zones, "dead_area_km2": self.dead_area_km2,
                "zone_ids": list(self.zone_ids), "samples": self.samples, "sites": self.sites}


@dataclass(frozen=True)
class AnalysisSummary:
    """The summary of one analysis.

    Attributes
    ----------
    resolution : int
        H3 resolution of the cells.
    samples_read : int
        Samples read, before any was left out.
    samples_used : int
        Samples used: signal and manual samples plus speed tests.
    signal_samples : int
        Signal and manual samples used (raw).
    effective_samples : int
        Effective samples among them.
    speed_tests : int
        Speed tests used.
    left_out : dict of str to int
        Samples left out, per reason (``unplaced``, ``excluded``, ``no_time``, ``indoor``,
        ``accuracy``, ``no_operator``).
    other_operators : dict of str to int
        Samples of operators that are not analysed, per operator.
    unknown_accuracy_share : float or None
        Share of the signal samples whose GPS accuracy is unknown; None without signal samples.
    outside_area_cells : int
        Surveyed cells whose centre lies outside the area boundary.
    operators : dict of str to OperatorSummary
        Per analysed operator, in the order of ``settings.operators``.
    analysed_at : str or None
        When :func:`surveyor.analyse.analyze` ran (ISO 8601 UTC); None for :func:`~surveyor.analyse.compute`.
    """

    resolution: int
    samples_read: int
    samples_used: int
    signal_samples: int
    effective_samples: int
    speed_tests: int
    left_out: dict[str, int]
    other_operators: dict[str, int]
    unknown_accuracy_share: float | None
    outside_area_cells: int
    operators: dict[str, OperatorSummary] = field(default_factory=dict)
    analysed_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values: what ``surveyor analyze --json`` prints and ``analysis_summary`` holds
        (``analysed_at`` only when set)."""
        out: dict[str, Any] = {
            "resolution": self.resolution, "samples_read": self.samples_read, "samples_used": self.samples_used,
            "signal_samples": self.signal_samples, "effective_samples": self.effective_samples,
            "speed_tests": self.speed_tests, "left_out": dict(self.left_out),
            "other_operators": dict(self.other_operators), "unknown_accuracy_share": self.unknown_accuracy_share,
            "outside_area_cells": self.outside_area_cells,
            "operators": {op: s.to_dict() for op, s in self.operators.items()},
        }
        if self.analysed_at is not None:
            out["analysed_at"] = self.analysed_at
        return out


@dataclass(frozen=True)
class EvidenceTotals:
    """What the summary tells of the evidence, in totals: from an :class:`Evidence` in memory
    (:func:`totals_of`) or counted in the database (:mod:`surveyor.analyse.sql`).

    Attributes
    ----------
    resolution, samples_read, left_out, other_operators
        As in :class:`AnalysisSummary`.
    signal_samples, effective_samples, speed_tests
        Signal and manual samples used, the effective ones among them, speed tests used.
    unknown_accuracy
        Signal samples whose GPS accuracy is unknown.
    by_operator
        Signal samples used per analysed operator.
    """

    resolution: int
    samples_read: int
    signal_samples: int
    effective_samples: int
    speed_tests: int
    unknown_accuracy: int
    left_out: dict[str, int]
    other_operators: dict[str, int]
    by_operator: dict[str, int]


def totals_of(ev: Evidence) -> EvidenceTotals:
    """The totals of an :class:`Evidence`."""
    sig = ev.signal
    n_sig = len(sig)
    return EvidenceTotals(
        resolution=ev.resolution, samples_read=ev.samples_read, signal_samples=n_sig,
        effective_samples=int(sig.effective.sum()) if n_sig else 0, speed_tests=len(ev.speed),
        unknown_accuracy=int(sig.accuracy_unknown.sum()) if n_sig else 0, left_out=dict(ev.left_out),
        other_operators=dict(ev.other_operators),
        by_operator={op: int((sig.op == i).sum()) if n_sig else 0 for i, op in enumerate(ev.operators)})


def summarize(cells, zones, sites, ev: Evidence | EvidenceTotals, settings: Settings) -> AnalysisSummary:
    """The summary of the three layers and the evidence they come from."""
    totals = ev if isinstance(ev, EvidenceTotals) else totals_of(ev)
    n_sig, n_sp = totals.signal_samples, totals.speed_tests
    c_op = cells["operator"].to_numpy() if len(cells) else np.array([], dtype=object)
    c_st = cells["status"].to_numpy() if len(cells) else np.array([], dtype=object)
    z_op = zones["operator"].to_numpy() if len(zones) else np.array([], dtype=object)
    s_op = sites["operator"].to_numpy() if len(sites) else np.array([], dtype=object)
    operators = {}
    for op in settings.operators:
        st_op = c_st[c_op == op]
        z = zones[z_op == op] if len(zones) else zones
        operators[op] = OperatorSummary(
            cells={st: int((st_op == st).sum()) for st in STATUSES},
            dead_zones=len(z),
            dead_area_km2=round(float(z["area_km2"].sum()), 4) if len(z) else 0.0,
            zone_ids=[str(i) for i in z["zone_id"]] if len(z) else [],
            samples=int(totals.by_operator.get(op, 0)),
            sites=int((s_op == op).sum()),
        )
    outside = (int(cells.loc[cells["status"] != "not_surveyed", "h3"][cells["outside_area"]].nunique())
               if len(cells) else 0)
    return AnalysisSummary(
        resolution=totals.resolution,
        samples_read=totals.samples_read,
        samples_used=n_sig + n_sp,
        signal_samples=n_sig,
        effective_samples=totals.effective_samples,
        speed_tests=n_sp,
        left_out={k: v for k, v in totals.left_out.items() if k != "other_operator"},
        other_operators=dict(totals.other_operators),
        unknown_accuracy_share=totals.unknown_accuracy / n_sig if n_sig else None,
        outside_area_cells=outside,
        operators=operators,
    )
