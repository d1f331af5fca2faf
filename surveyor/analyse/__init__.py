"""Analysis: coverage per H3 cell and operator, dead zones and site suggestions (DESIGN section 4).

:func:`analyze` reads the samples of a store, runs the pure computation (:func:`compute`) and
writes the ``cells``, ``dead_zones`` and ``sites`` layers (docs/layers.md) with the rules, the time
and the summary in ``meta``. The pieces are usable on their own, on plain DataFrames:

- :mod:`surveyor.analyse.rules`: the coverage rules (negative samples, failed speed tests, RSRP
  classes), the one implementation every output uses
- :mod:`surveyor.analyse.effective`: effective samples
- :func:`surveyor.analyse.evidence.prepare_evidence`: the samples that count, judged one by one
- :func:`surveyor.analyse.cells.compute_cells`: the ``cells`` layer
- :func:`surveyor.analyse.zones.dead_zones`: the ``dead_zones`` layer
- :func:`surveyor.analyse.sites.suggest_sites`: the ``sites`` layer
- :func:`surveyor.analyse.rollup.rollup`: cells at resolution 9 or 8 for reports
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from surveyor.analyse.cells import STATUSES, compute_cells
from surveyor.analyse.evidence import SAMPLE_COLUMNS, Evidence, prepare_evidence
from surveyor.analyse.rollup import rollup
from surveyor.analyse.sites import suggest_sites
from surveyor.analyse.summary import AnalysisSummary, OperatorSummary, summarize
from surveyor.analyse.zones import dead_zones
from surveyor.config import Settings

log = logging.getLogger(__name__)

__all__ = ["Analysis", "AnalysisSummary", "OperatorSummary", "analyze", "compute", "compute_cells", "dead_zones",
           "prepare_evidence", "rollup", "suggest_sites", "summarize", "STATUSES"]


@dataclass
class Analysis:
    """The result of :func:`compute`.

    Attributes
    ----------
    cells, dead_zones, sites : geopandas.GeoDataFrame
        The three layers (docs/layers.md).
    evidence : Evidence
        The samples that count, as the cells and zones counted them.
    summary : AnalysisSummary
        What the analysis found, per operator.
    """

    cells: Any
    dead_zones: Any
    sites: Any
    evidence: Evidence
    summary: AnalysisSummary


def compute(samples, settings: Settings, boundary=None, dusun=None, towers=None,
            resolution: int | None = None, previous_zones=None, register=None) -> Analysis:
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
    previous_zones, register
        The previous analysis's dead zones and the zone ID register (:class:`~surveyor.analyse.zones.ZoneRegister`,
        updated in place), so zones keep their IDs (see :func:`~surveyor.analyse.zones.dead_zones`).

    Returns
    -------
    Analysis
    """
    from surveyor.geo.exclusion import drop_excluded_features

    ev = prepare_evidence(samples, settings, resolution)
    cells = compute_cells(ev, settings, boundary, dusun)
    cells = drop_excluded_features(cells, settings).reset_index(drop=True)
    zones = dead_zones(cells, towers, settings, evidence=ev, previous=previous_zones, register=register)
    sites = suggest_sites(cells, settings, zones)
    summary = summarize(cells, zones, sites, ev, settings)
    return Analysis(cells, zones, sites, ev, summary)


def analyze(store, settings: Settings, resolution: int | None = None) -> AnalysisSummary:
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
    AnalysisSummary
        The summary, with ``analysed_at``; its :meth:`~AnalysisSummary.to_dict` is stored in meta as
        ``analysis_summary``.

    Raises
    ------
    surveyor.errors.NothingToDo
        When the store holds no samples.
    surveyor.errors.InvalidRequest
        When the resolution is out of range.
    """
    from surveyor.analyse import terrain
    from surveyor.analyse.context import add_zone_context
    from surveyor.analyse.zones import ZoneRegister, zone_changes
    from surveyor.errors import NothingToDo
    from surveyor.geo import cells as grid
    from surveyor.geo.areas import load_boundary, load_dusun
    from surveyor.geo.scope import in_scope

    res = grid.check_resolution(resolution if resolution is not None else settings.resolution)
    samples = in_scope(store.read_samples(columns=SAMPLE_COLUMNS), settings)  # area, period, operators
    if len(samples) == 0:
        raise NothingToDo(f"The geodatabase {store.url} holds no samples to analyse.",
                          fix="Merge first: `surveyor merge FILES --db DB`.")
    boundary = load_boundary(settings)
    dusun = load_dusun(settings)
    towers = store.read_layer("towers")
    previous = _previous_zones(store, settings)
    register = ZoneRegister.from_meta(store.get_meta("zone_register"))
    result = compute(samples, settings, boundary, dusun, towers, res, previous_zones=previous, register=register)
    # Terrain (with an imported elevation model): each dead zone's verdict, and a prediction for
    # the cells nobody walked, kept apart from the evidence classes. Without a DEM: unchanged.
    cells, zones = terrain.apply(store, settings, result.cells, result.dead_zones)
    zones = add_zone_context(store, zones)  # nearest place and road, buildings and facilities inside
    analysed_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    summary = dataclasses.replace(result.summary, analysed_at=analysed_at)
    store.write_layer("cells", cells)
    store.write_layer("dead_zones", zones)
    store.write_layer("sites", result.sites)
    rules = dict(settings.rules(), resolution=res, effective_samples="per session and operator: >= "
                 f"{settings.effective_min_gap_s:g} s and >= {settings.effective_min_distance_m:g} m from the "
                 "last counted sample", bounds="one-sided Clopper-Pearson (scipy.stats.beta)")
    store.set_meta("analysis_rules", rules)
    store.set_meta("analysed_at", analysed_at)
    store.set_meta("analysis_summary", summary.to_dict())
    # The zone IDs given so far, and what changed since the previous analysis (docs/layers.md).
    store.set_meta("zone_register", register.to_meta())
    store.set_meta("zone_changes", {"analysed_at": analysed_at, "previous_analysed_at": previous.attrs.get("analysed_at"),
                                    "changes": zone_changes(previous, zones)})
    log.info("analysed %d samples into %d cell rows", len(samples), len(result.cells))
    return summary


def _previous_zones(store, settings: Settings):
    """The dead zones of the previous analysis of this village (empty when there is none)."""
    zones = store.read_layer("dead_zones") if store.get_meta("analysed_at") else None
    if zones is None or len(zones) == 0 or "zone_id" not in zones.columns:
        import geopandas as gpd

        zones = gpd.GeoDataFrame({"zone_id": [], "operator": []}, geometry=[], crs="EPSG:4326")
    elif "area_code" in zones.columns and settings.code:
        zones = zones[zones["area_code"].isna() | (zones["area_code"].astype(str) == settings.code)]
    zones.attrs["analysed_at"] = store.get_meta("analysed_at")
    return zones
