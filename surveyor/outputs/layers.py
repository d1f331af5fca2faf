"""What may leave the village: layers read for maps, reports and exports, ready to be shown.

Every output goes through here, so the same rules hold for all of them: the exclusion zones are
dropped (always), samples outside the survey's scope (far from the area, outside its period, of
operators it does not list) are left out unless ``out_of_scope = "include"`` (``--all-data``), the
area filter has one meaning (the area code and everything inside it), an anonymised copy has no
personal fields, and a missing analysis gets one message.
"""

from __future__ import annotations

from surveyor.config import Settings
from surveyor.errors import InvalidRequest, NothingToDo
from surveyor.geo.areas import Area, select_area
from surveyor.store.base import Store

EXPORT_LAYERS = ("samples", "cells", "dead_zones", "sites")


def area_of(store: Store, settings: Settings, code: str | None = None) -> Area:
    """What an area code selects (see :func:`surveyor.geo.areas.select_area`), from the store."""
    return select_area(store.read_layer("areas"), settings, code)


def require_samples(store: Store) -> None:
    """Raise :class:`NothingToDo` saying to merge first when the store holds no samples."""
    if not store.status().samples:
        raise NothingToDo(f"{store.url} holds no survey samples yet, so there is nothing to show.",
                          fix="Merge the survey files first (`surveyor merge FILES`), then run "
                              "`surveyor analyze`.")


def require_analysis(store: Store) -> dict:
    """The stored analysis summary; :class:`NothingToDo` saying what to run when there is none."""
    if store.get_meta("analysed_at"):
        return store.get_meta("analysis_summary") or {}
    require_samples(store)
    raise NothingToDo(f"{store.url} has samples but no coverage analysis yet (no cells, dead zones or sites).",
                      fix="Run `surveyor analyze` first, then run this again.")


def load_layer(store: Store, settings: Settings, layer: str, *, area: str | None = None,
               anonymize: bool = False):
    """A layer ready to leave the village: exclusion zones dropped, area filtered, anonymised.

    Parameters
    ----------
    store, settings
        The geodatabase and the survey settings (exclusion zones, village code).
    layer
        ``samples``, ``cells``, ``dead_zones`` or ``sites``.
    area
        Kemendagri code: only that village (analysis layers by ``area_code``, samples by position).
    anonymize
        Samples: no volunteer, device, route, note or file names; positions moved to the centre of
        their H3 cell (cells touching an exclusion zone left out whole). Analysis layers hold
        aggregates only and are unchanged.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326; samples get point geometry from ``lat``/``lon`` (empty for unplaced samples).
    """
    import geopandas as gpd
    import shapely

    from surveyor.geo.exclusion import drop_excluded_features

    if layer not in EXPORT_LAYERS:
        raise InvalidRequest(f"Unknown layer {layer!r}.", fix=f"Use one of: {', '.join(EXPORT_LAYERS)}.")
    if layer == "samples":
        # The store selects an area it knows; one without areas knows only the survey's own village,
        # whose boundary comes from the settings.
        by_store = area is not None and store.area(area) is not None
        df = store.read_samples(area=area if by_store else None)
        if len(df) == 0 and not store.status().samples:
            raise NothingToDo("The geodatabase holds no samples.", fix="Run `surveyor merge FILES` first.")
        if area is not None and not by_store:
            geom = area_of(store, settings, area).boundary
            df = df[shapely.intersects_xy(geom, df["lon"].to_numpy(float), df["lat"].to_numpy(float))]
        return sample_points(visible_samples(df, settings), settings, anonymize=anonymize)
    require_analysis(store)
    gdf = store.read_layer(layer)
    if not isinstance(gdf, gpd.GeoDataFrame):
        gdf = gpd.GeoDataFrame(gdf, geometry=[], crs="EPSG:4326")
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    gdf = drop_excluded_features(gdf, settings)
    if area is not None:
        codes = area_of(store, settings, area).codes
        gdf = gdf[gdf["area_code"].astype(str).isin(codes)] if "area_code" in gdf.columns else gdf.iloc[0:0]
    if layer == "sites":
        gdf = sites_without_excluded_zones(store, settings, gdf)
    return gdf.reset_index(drop=True)


def sample_points(df, settings: Settings, *, anonymize: bool = False):
    """Samples already inside the scope and outside the exclusion zones (:func:`visible_samples`,
    or the same condition in the database) as points to write out; with ``anonymize`` the samples
    in cells touching an exclusion zone are left out and the rest lose what names a person."""
    import geopandas as gpd

    from surveyor.geo.exclusion import drop_samples_in_excluded_cells
    from surveyor.outputs.privacy import anonymize_samples

    if anonymize:
        df = drop_samples_in_excluded_cells(df, settings)
        df = anonymize_samples(df, positions="cell")
    df = df.reset_index(drop=True)
    geometry = gpd.points_from_xy(df["lon"], df["lat"]) if len(df) else []
    gdf = gpd.GeoDataFrame(df, geometry=geometry, crs="EPSG:4326")
    gdf.loc[gdf["lat"].isna(), "geometry"] = None
    return gdf


def visible_samples(df, settings: Settings):
    """Samples that may be shown: inside the survey's scope (unless ``--all-data``) and outside
    every exclusion zone."""
    from surveyor.geo.exclusion import drop_excluded_samples
    from surveyor.geo.scope import in_scope

    return drop_excluded_samples(in_scope(df, settings), settings)


def walk_samples(df, settings: Settings):
    """Samples for drawing walks: :func:`visible_samples`, with each walk cut where it enters an
    exclusion zone (the part after it gets a session of its own, so no line joins the two sides)."""
    from surveyor.geo.exclusion import cut_walks
    from surveyor.geo.scope import in_scope

    return cut_walks(in_scope(df, settings), settings)


def sites_without_excluded_zones(store: Store, settings: Settings, sites):
    """Sites with the IDs of excluded dead zones taken out; a site left serving none is dropped.

    Otherwise a site suggestion would still name (and point near) a zone that lies at a home.
    """
    from surveyor.geo.exclusion import drop_excluded_features

    if not settings.exclusion_zones or not len(sites) or "zone_ids" not in sites.columns:
        return sites

    zones = store.read_layer("dead_zones")
    if len(zones) == 0:
        return sites
    kept = set(drop_excluded_features(zones, settings)["zone_id"])
    gone = set(zones["zone_id"]) - kept
    if not gone:
        return sites
    sites = sites.copy()
    ids = sites["zone_ids"].fillna("").map(lambda v: [z.strip() for z in str(v).split(",") if z.strip()])
    served = ids.map(lambda zs: [z for z in zs if z not in gone])
    sites["zone_ids"] = served.map(",".join)
    return sites[(served.map(len) > 0) | (ids.map(len) == 0)]
