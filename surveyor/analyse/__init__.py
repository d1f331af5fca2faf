"""Analysis: coverage per H3 cell and operator, dead zones and site suggestions (docs/method.md).

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
from datetime import UTC, datetime
from typing import Any

from surveyor.analyse.cells import STATUSES, compute_cells
from surveyor.analyse.evidence import SAMPLE_COLUMNS, Evidence, prepare_evidence
from surveyor.analyse.rollup import rollup
from surveyor.analyse.sites import suggest_sites
from surveyor.analyse.summary import AnalysisSummary, OperatorSummary, summarize
from surveyor.analyse.zones import dead_zones
from surveyor.config import Settings

log = logging.getLogger(__name__)

__all__ = [
    "STATUSES",
    "Analysis",
    "AnalysisSummary",
    "OperatorSummary",
    "analyze",
    "compute",
    "compute_cells",
    "dead_zones",
    "prepare_evidence",
    "rollup",
    "suggest_sites",
    "summarize",
]


@dataclass
class Analysis:
    """The result of :func:`compute`.

    Attributes
    ----------
    cells, dead_zones, sites : geopandas.GeoDataFrame
        The three layers (docs/layers.md).
    evidence : Evidence or None
        The samples that count, as the cells and zones counted them; None when the database counted
        them (:mod:`surveyor.analyse.sql`).
    summary : AnalysisSummary
        What the analysis found, per operator.
    """

    cells: Any
    dead_zones: Any
    sites: Any
    evidence: Evidence | None
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


def analyze(store, settings: Settings, resolution: int | None = None, *, area: str | None = None) -> AnalysisSummary:
    """Analyse the samples of ``store`` and write ``cells``, ``dead_zones`` and ``sites``.

    On a PostGIS store the evidence is counted inside the database (:mod:`surveyor.analyse.sql`):
    only per-cell aggregates reach this process, so its memory does not grow with the samples. On a
    GeoPackage the samples are read and counted here (:func:`compute`). Both give the same layers.

    Parameters
    ----------
    store
        An open :class:`surveyor.store.base.Store`.
    settings
        Rules and thresholds (``survey.toml``).
    resolution
        H3 resolution; ``settings.resolution`` when None.
    area
        An area code: the samples of that area and everything inside it (a village, a kecamatan, a
        kabupaten); its polygon is the boundary (cells nobody surveyed inside it are
        ``not_surveyed``). The layers' rows of that area are replaced and the others kept. None:
        every sample of the store, the survey's own village as the boundary, the layers replaced.

    Returns
    -------
    AnalysisSummary
        The summary, with ``analysed_at``; its :meth:`~AnalysisSummary.to_dict` is stored in meta as
        ``analysis_summary``.

    Raises
    ------
    surveyor.errors.NothingToDo
        When the store (or the area) holds no samples.
    surveyor.errors.InvalidRequest
        When the resolution is out of range, or the area code selects nothing.
    """
    from surveyor.analyse import sql, terrain
    from surveyor.analyse.context import add_zone_context
    from surveyor.analyse.district import find_district
    from surveyor.analyse.zones import ZoneRegister, zone_changes
    from surveyor.errors import NothingToDo
    from surveyor.geo import cells as grid
    from surveyor.geo.areas import load_boundary, load_dusun
    from surveyor.geo.scope import Scope, in_scope

    res = grid.check_resolution(resolution if resolution is not None else settings.resolution)
    areas = store.read_layer("areas")
    selected = find_district(store, settings, area, areas=areas) if area is not None else None
    boundary = selected.boundary if selected is not None else load_boundary(settings)
    dusun = selected.dusun if selected is not None else load_dusun(settings)
    codes = selected.codes if selected is not None else None
    towers = store.read_layer("towers")
    previous = _previous_zones(store, settings, codes)
    register = ZoneRegister.from_meta(store.get_meta("zone_register"))
    # The survey's scope (docs/method.md): the area (the boundary grown by max_distance_m; with
    # --area the samples are those of the area already), the period and the operators.
    scope = Scope.of(settings, boundary) if settings.out_of_scope != "include" else None
    result = None
    if sql.supports(store, res):
        result = _in_database(store, settings, res, area, boundary, dusun, towers, codes=codes, scope=scope,
                              previous=previous, register=register)
    if result is None:
        samples = store.read_samples(columns=SAMPLE_COLUMNS, area=area)
        samples = in_scope(samples, settings, scope) if scope is not None else samples
        if len(samples) == 0:
            where = f"{store.url}" + (f" in area {area}" if area is not None else "")
            raise NothingToDo(f"The geodatabase {where} holds no samples to analyse.",
                              fix="Merge first: `surveyor merge FILES --db DB`" +
                                  (", or check the area code." if area is not None else "."))
        result = compute(samples, settings, boundary, dusun, towers, res, previous_zones=previous, register=register)
        del samples
    cells, zones, sites = _with_area_codes(result, areas, area or settings.code, codes)
    # Terrain (with an imported elevation model): each dead zone's verdict, and a prediction for
    # the cells nobody walked, kept apart from the evidence classes. Without a DEM: unchanged.
    cells, zones = terrain.apply(store, settings, cells, zones)
    zones = add_zone_context(store, zones)  # nearest place and road, buildings and facilities inside
    analysed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    summary = dataclasses.replace(result.summary, analysed_at=analysed_at)
    rules = dict(settings.rules(), resolution=res, effective_samples="per session and operator: >= "
                 f"{settings.effective_min_gap_s:g} s and >= {settings.effective_min_distance_m:g} m from the "
                 "last counted sample", bounds="one-sided Clopper-Pearson (scipy.stats.beta)")
    layers = {"cells": cells, "dead_zones": zones, "sites": sites}
    meta = {"analysis_rules": rules, "analysed_at": analysed_at, "analysis_summary": summary.to_dict(),
            "analysis_area": area,
            # The zone IDs given so far, and what changed since the previous analysis (docs/layers.md).
            "zone_register": register.to_meta(),
            "zone_changes": {"analysed_at": analysed_at, "previous_analysed_at": previous.attrs.get("analysed_at"),
                             "changes": zone_changes(previous, zones)}}
    # One transaction for the three layers and the rules they were made with: a failure (a server
    # that goes away) leaves the previous analysis whole. An area's analysis replaces that area's
    # rows only (PostGIS deletes them in that transaction; a GeoPackage is rewritten with the rest).
    if codes is not None and sql.supports(store, res):
        store.replace_layers(layers, meta, area_codes=sorted({str(area), *codes}))
    else:
        if codes is not None:
            layers = {name: _keep_other_areas(store, name, gdf, codes) for name, gdf in layers.items()}
        store.replace_layers(layers, meta)
    log.info("analysed %d samples into %d cell rows", summary.samples_read, len(result.cells))
    return summary


def _previous_zones(store, settings: Settings, codes=None):
    """The dead zones of the previous analysis of this village (of the areas ``codes``, when
    given), empty when there is none."""
    zones = store.read_layer("dead_zones") if store.get_meta("analysed_at") else None
    if zones is None or len(zones) == 0 or "zone_id" not in zones.columns:
        import geopandas as gpd

        zones = gpd.GeoDataFrame({"zone_id": [], "operator": []}, geometry=[], crs="EPSG:4326")
    elif "area_code" in zones.columns and (codes is not None or settings.code):
        mine = set(codes) if codes is not None else {settings.code}
        zones = zones[zones["area_code"].isna().to_numpy() | zones["area_code"].astype(str).isin(mine).to_numpy()]
    zones.attrs["analysed_at"] = store.get_meta("analysed_at")
    return zones


def _in_database(store, settings: Settings, res: int, area: str | None, boundary, dusun, towers, *,
                 codes=None, scope=None, previous=None, register=None) -> Analysis | None:
    """:func:`compute` with the evidence counted inside the database (None when it cannot be);
    ``scope`` the survey's scope (:class:`surveyor.geo.scope.Scope`), None to count everything."""
    from surveyor.analyse import sql
    from surveyor.analyse.summary import summarize
    from surveyor.geo.exclusion import drop_excluded_features

    try:
        with store.sql_sessions(2) as job:
            where = sql.scope_condition(store, settings, scope, area, codes, rows=job[0].rows)
            counted = sql.count_in_database(store, settings, res, area, job, codes=codes, where=where)
            cells = compute_cells(None, settings, boundary, dusun, res, table=counted.cells_table)
            cells = drop_excluded_features(cells, settings).reset_index(drop=True)
            zones = dead_zones(cells, towers, settings, previous=previous, register=register,
                               zone_counts=counted.zone_counts)
    except sql.NeedsPositions:
        log.warning("some placed samples have no stored H3 cell; analysing them in memory instead")
        return None
    sites = suggest_sites(cells, settings, zones)
    return Analysis(cells, zones, sites, None, summarize(cells, zones, sites, counted.totals, settings))


def _with_area_codes(result: Analysis, areas, default: str, codes) -> tuple[Any, Any, Any]:
    """The layers with each row's ``area_code``: the village (the smallest area that is not a
    dusun) holding the cell's centre, the zone's centroid or the site, when it is one of ``codes``
    (any, when None); ``default`` otherwise. So a district's analysis says which village each
    row belongs to, and a village's analysis keeps its own code on every row."""
    import numpy as np

    from surveyor.geo.areas import AreaIndex

    out = []
    index = None
    if areas is not None and len(areas) and "code" in areas.columns:
        level = areas["level"].astype(str) if "level" in areas.columns else None
        villages = areas[(level != "dusun").to_numpy()] if level is not None else areas
        index = AreaIndex.of(villages)
    allowed = set(codes) if codes is not None else None
    for gdf, lat, lon in ((result.cells, "lat", "lon"), (result.dead_zones, "centroid_lat", "centroid_lon"),
                          (result.sites, "lat", "lon")):
        gdf = gdf.copy()
        if len(gdf):
            found = (index.codes_at(gdf[lat].to_numpy(dtype=float), gdf[lon].to_numpy(dtype=float))
                     if index is not None else np.full(len(gdf), None, dtype=object))
            ok = np.array([c is not None and (allowed is None or c in allowed) for c in found], dtype=bool)
            gdf["area_code"] = np.where(ok, found, default).astype(object)
        out.append(gdf)
    return out[0], out[1], out[2]


def _keep_other_areas(store, layer: str, gdf, codes):
    """The layer to write after analysing one area: the new rows, and the stored rows of every
    other area."""
    import geopandas as gpd
    import pandas as pd

    old = store.read_layer(layer)
    if old is None or len(old) == 0 or "area_code" not in old.columns:
        return gdf
    keep = old[~old["area_code"].astype(str).isin(set(codes)).to_numpy()]
    if len(keep) == 0:
        return gdf
    if "fid" in keep.columns:
        keep = keep.drop(columns=["fid"])
    both = pd.concat([keep, gdf], ignore_index=True)
    return gpd.GeoDataFrame(both, geometry="geometry", crs="EPSG:4326")
