"""Analysis: coverage per H3 cell and operator, dead zones and site suggestions (DESIGN section 4).

:func:`analyze` reads the samples of a store, runs the pure computation (:func:`compute`) and
writes the ``cells``, ``dead_zones`` and ``sites`` layers (docs/layers.md) with the rules, the time
and the summary in ``meta``. The pieces are usable on their own, on plain DataFrames:

- :func:`surveyor.analyse.coverage.prepare_evidence`, :func:`~surveyor.analyse.coverage.compute_cells`,
  :func:`~surveyor.analyse.coverage.dead_zones`
- :func:`surveyor.analyse.sites.suggest_sites`
- :func:`surveyor.analyse.rollup.rollup` (cells at resolution 9 or 8 for reports)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

from surveyor.analyse.coverage import STATUSES, Evidence, compute_cells, dead_zones, prepare_evidence
from surveyor.analyse.rollup import rollup
from surveyor.analyse.sites import suggest_sites
from surveyor.config import Settings

log = logging.getLogger(__name__)

__all__ = ["Analysis", "analyze", "compute", "compute_cells", "dead_zones", "prepare_evidence", "rollup",
           "suggest_sites", "summarize", "STATUSES"]


@dataclass
class Analysis:
    """The result of :func:`compute`: the three layers, the evidence and the summary."""

    cells: Any
    dead_zones: Any
    sites: Any
    evidence: Evidence
    summary: dict


def compute(samples, settings: Settings, boundary=None, dusun=None, towers=None,
            resolution: int | None = None) -> Analysis:
    """The whole analysis on a samples DataFrame, without a database.

    Cells and zones touching an exclusion zone are dropped (samples inside one are already left
    out), so no output shows them.

    Parameters
    ----------
    samples
        Samples as a DataFrame (the ``samples`` layer or journal rows).
    settings
        Rules, thresholds, operators.
    boundary, dusun
        Village boundary (shapely, lon/lat) and dusun polygons (GeoDataFrame), optional.
    towers
        The ``towers`` layer (operator, lat, lon), optional.
    resolution
        H3 resolution (``settings.resolution`` when None).

    Returns
    -------
    Analysis
    """
    from surveyor.geo.exclusion import drop_excluded_features

    ev = prepare_evidence(samples, settings, resolution)
    cells = compute_cells(ev, settings, boundary, dusun)
    cells = drop_excluded_features(cells, settings).reset_index(drop=True)
    zones = dead_zones(cells, towers, settings, evidence=ev)
    sites = suggest_sites(cells, settings, zones)
    summary = summarize(cells, zones, sites, ev, settings)
    return Analysis(cells, zones, sites, ev, summary)


def summarize(cells, zones, sites, ev: Evidence, settings: Settings) -> dict:
    """The summary printed by ``surveyor analyze`` and stored as ``analysis_summary``."""
    sig, sp = ev.sig, ev.sp
    n_sig, n_sp = len(sig["cell"]), len(sp["cell"])
    summary: dict[str, Any] = {
        "resolution": ev.resolution,
        "samples_read": ev.samples_read,
        "samples_used": n_sig + n_sp,
        "signal_samples": n_sig,
        "effective_samples": int(sig["effective"].sum()) if n_sig else 0,
        "speed_tests": n_sp,
        "left_out": {k: v for k, v in ev.left_out.items() if k != "other_operator"},
        "other_operators": ev.other_operators,
        "unknown_accuracy_share": float(sig["accuracy_unknown"].mean()) if n_sig else None,
        "outside_area_cells": int(cells.loc[cells["status"] != "not_surveyed", "h3"][
            cells["outside_area"]].nunique()) if len(cells) else 0,
        "operators": {},
    }
    c_op = cells["operator"].to_numpy() if len(cells) else np.array([], dtype=object)
    c_st = cells["status"].to_numpy() if len(cells) else np.array([], dtype=object)
    z_op = zones["operator"].to_numpy() if len(zones) else np.array([], dtype=object)
    s_op = sites["operator"].to_numpy() if len(sites) else np.array([], dtype=object)
    ops = list(ev.operators)
    for op in settings.operators:
        st_op = c_st[c_op == op]
        z = zones[z_op == op] if len(zones) else zones
        by_status = {st: int((st_op == st).sum()) for st in STATUSES}
        summary["operators"][op] = {
            "cells": by_status,
            "dead_zones": len(z),
            "dead_area_km2": round(float(z["area_km2"].sum()), 4) if len(z) else 0.0,
            "zone_ids": list(z["zone_id"]) if len(z) else [],
            "samples": int((sig["op"] == ops.index(op)).sum()) if n_sig and op in ops else 0,
            "sites": int((s_op == op).sum()),
        }
    return summary


def analyze(store, settings: Settings, resolution: int | None = None) -> dict:
    """Analyse the samples of ``store`` and write ``cells``, ``dead_zones`` and ``sites``.

    Parameters
    ----------
    store
        An open :class:`surveyor.store.base.Store`.
    settings
        Rules and thresholds (``survey.toml``).
    resolution
        H3 resolution; ``settings.resolution`` when None.

    Returns
    -------
    dict
        The summary (also stored in meta as ``analysis_summary``).

    Raises
    ------
    surveyor.errors.NothingToDo
        When the store holds no samples.
    surveyor.errors.InvalidRequest
        When the resolution is out of range.
    """
    from surveyor.geo import cells as grid
    from surveyor.analyse.coverage import SAMPLE_COLUMNS
    from surveyor.geo.areas import load_boundary, load_dusun
    from surveyor.geo.scope import in_scope
    from surveyor.errors import NothingToDo

    res = grid.check_resolution(resolution if resolution is not None else settings.resolution)
    samples = in_scope(store.read_samples(columns=SAMPLE_COLUMNS), settings)  # area, period, operators
    if len(samples) == 0:
        raise NothingToDo(f"The geodatabase {store.url} holds no samples to analyse.",
                          fix="Merge first: `surveyor merge FILES --db DB`.")
    boundary = load_boundary(settings)
    dusun = load_dusun(settings)
    towers = store.read_layer("towers")
    result = compute(samples, settings, boundary, dusun, towers, res)
    analysed_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    summary = dict(result.summary, analysed_at=analysed_at)
    store.write_layer("cells", result.cells)
    store.write_layer("dead_zones", result.dead_zones)
    store.write_layer("sites", result.sites)
    rules = dict(settings.rules(), resolution=res, effective_samples="per session and operator: >= "
                 f"{settings.effective_min_gap_s:g} s and >= {settings.effective_min_distance_m:g} m from the "
                 "last counted sample", bounds="one-sided Clopper-Pearson (scipy.stats.beta)")
    store.set_meta("analysis_rules", rules)
    store.set_meta("analysed_at", analysed_at)
    store.set_meta("analysis_summary", summary)
    log.info("analysed %d samples into %d cell rows", len(samples), len(result.cells))
    return summary


def _jsonable(obj):  # pragma: no cover - helper for callers that dump summaries
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
