"""A district at a glance: one row per village from the analysis layers.

An area code means the area and everything inside it, on every command and both stores
(:func:`surveyor.geo.areas.area_rows`): ``33.07`` is Kabupaten Wonosobo with all its kecamatan and
villages, ``33.07.05`` one kecamatan, ``33.07.05.2002`` one village. :func:`find_district` says
what a code selects (and refuses a code that selects nothing, naming what there is);
:func:`district_overview` makes the overview that ``surveyor report --district`` and
``surveyor map --district`` show: per village (an area of level ``desa``, or any area with no area
inside it), the surveyed share of its cells, its dead zones and the area without usable 4G
(*blank spot*: no operator serves; *lemah sinyal*: one operator fails where another serves) per
operator, and the date of its last survey.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from surveyor.config import Settings
from surveyor.geo.areas import Area, area_rows, find_area

__all__ = ["DistrictOverview", "VillageRow", "district_overview", "find_district"]

# Levels that are never a village of the overview (they lie inside one).
SUB_VILLAGE_LEVELS = ("dusun",)
# Levels above a village, for grouping the overview (the kecamatan is the parent of a village).
GROUP_LEVELS = ("kecamatan",)


def find_district(store, settings: Settings, code: str, *, areas=None) -> Area:
    """What the area code ``code`` selects in ``store`` (the area and everything inside it).

    A store without areas knows only the survey's own village (from ``survey.toml``).

    Raises
    ------
    surveyor.errors.InvalidRequest
        When the code selects nothing, naming the codes at the top of what the store holds.
    """
    from surveyor.errors import InvalidRequest
    from surveyor.geo.areas import select_area

    code = str(code).strip()
    areas = store.read_layer("areas") if areas is None else areas
    if areas is not None and len(areas) and "code" in areas.columns:
        found = find_area(areas, code)
        if found is not None:
            return select_area(areas, settings, code) if code == settings.code else found
    if code == settings.code:
        return select_area(None, settings, code)
    known = _top_codes(areas) if areas is not None and len(areas) and "code" in areas.columns else [settings.code]
    raise InvalidRequest(f"Area code {code!r} matches nothing in {store.url}: no area has that code or lies "
                         "inside it.", fix=f"Use a code the database holds, such as {', '.join(known)} "
                                          "(`surveyor status --json` lists the areas).")


def _top_codes(areas, limit: int = 6) -> list[str]:
    """The codes at the top of the areas' hierarchy (then a few below), for messages."""
    codes = sorted(set(areas["code"].astype(str)))
    tops = [c for c in codes if not any(c.startswith(o + ".") for o in codes if o != c)]
    out = tops[:limit]
    if len(tops) > limit:
        out.append(f"... ({len(tops)} in all)")
    return out


@dataclass
class VillageRow:
    """One village of the overview.

    Attributes
    ----------
    code, name, group, group_name
        The village and the area it lies in (its kecamatan).
    cells
        H3 cells of the village (its polygon at the analysis resolution).
    surveyed_cells
        Cells with at least one sample of any operator.
    surveyed_share
        ``surveyed_cells / cells`` (None without cells).
    dead_zones
        Dead zones per operator.
    dead_km2
        Area of the dead cells per operator (km2).
    blank_spot_km2
        Area where no operator has usable 4G: cells judged dead for every operator measured there
        (km2).
    weak_km2
        Area where an operator has no usable 4G (dead) or only weak signal while another operator
        serves it (covered), per operator (km2).
    last_survey
        The last time a sample was taken in the village (ISO 8601 UTC), None when never.
    """

    code: str
    name: str
    group: str | None
    group_name: str | None
    cells: int
    surveyed_cells: int
    surveyed_share: float | None
    dead_zones: dict[str, int] = field(default_factory=dict)
    dead_km2: dict[str, float] = field(default_factory=dict)
    blank_spot_km2: float = 0.0
    weak_km2: dict[str, float] = field(default_factory=dict)
    last_survey: str | None = None


@dataclass
class DistrictOverview:
    """The overview of a district: its villages (:class:`VillageRow`), grouped by kecamatan."""

    code: str
    name: str
    operators: tuple[str, ...]
    resolution: int | None
    cell_km2: float
    villages: list[VillageRow]
    analysed_at: str | None = None

    def groups(self) -> list[tuple[str | None, str | None, list[VillageRow]]]:
        """(kecamatan code, name, villages) in code order."""
        out: dict[str | None, list[VillageRow]] = {}
        for v in self.villages:
            out.setdefault(v.group, []).append(v)
        return [(g, rows[0].group_name, rows) for g, rows in sorted(out.items(), key=lambda kv: str(kv[0]))]

    def frame(self) -> pd.DataFrame:
        """One row per village, plain columns (what the sheets and tables show)."""
        rows = []
        for v in self.villages:
            row: dict[str, Any] = {"code": v.code, "name": v.name, "kecamatan": v.group,
                                   "kecamatan_name": v.group_name, "cells": v.cells,
                                   "surveyed_cells": v.surveyed_cells, "surveyed_share": v.surveyed_share,
                                   "blank_spot_km2": v.blank_spot_km2, "last_survey": v.last_survey}
            for op in self.operators:
                row[f"dead_zones_{op}"] = v.dead_zones.get(op, 0)
                row[f"dead_km2_{op}"] = v.dead_km2.get(op, 0.0)
                row[f"weak_km2_{op}"] = v.weak_km2.get(op, 0.0)
            rows.append(row)
        return pd.DataFrame(rows)


def _villages(areas, selected: Area) -> pd.DataFrame:
    """The villages among the selected areas: level ``desa``/``kelurahan``, or (when levels are not
    known) the areas with no other selected area inside them; never a dusun."""
    rows = area_rows(areas, selected.code) if len(areas) else areas
    if len(rows) == 0:
        return rows
    level = rows["level"].astype(str).str.lower() if "level" in rows.columns else pd.Series("", index=rows.index)
    rows = rows[~level.isin(SUB_VILLAGE_LEVELS).to_numpy()]
    level = level[rows.index]
    named = rows[level.isin(["desa", "kelurahan", "village"]).to_numpy()]
    if len(named):
        return named
    codes = rows["code"].astype(str)
    leaf = [not any(o.startswith(c + ".") for o in codes if o != c) for c in codes]
    return rows[np.asarray(leaf, dtype=bool)]


def district_overview(selected: Area, areas, cells, zones, settings: Settings, *, resolution: int,
                      analysed_at: str | None = None) -> DistrictOverview:
    """The overview of the villages of ``selected`` (from :func:`find_district`).

    Parameters
    ----------
    selected
        The district.
    areas
        The store's ``areas`` layer (empty: the district is one village).
    cells, zones
        The ``cells`` and ``dead_zones`` layers of the district, as outputs read them (exclusion
        zones left out).
    settings
        The operators, in the order the overview lists them.
    resolution
        The H3 resolution of the analysis (cells per village are counted at it).
    analysed_at
        When the analysis ran.
    """
    import h3

    from surveyor.geo import cells as grid
    from surveyor.geo.areas import AreaIndex

    if areas is None or len(areas) == 0 or "code" not in areas.columns:
        import geopandas as gpd

        areas = gpd.GeoDataFrame({"code": [selected.code], "name": [selected.name], "level": ["desa"],
                                  "parent_code": [None]}, geometry=[selected.boundary], crs="EPSG:4326")
    villages = _villages(areas, selected)
    res = int(resolution)
    cell_km2 = float(h3.average_hexagon_area(res, unit="km^2"))
    operators = tuple(settings.operators)
    names = dict(zip(areas["code"].astype(str), areas["name"].map(lambda v: "" if v is None else str(v))))
    parents = dict(zip(areas["code"].astype(str), areas["parent_code"])) if "parent_code" in areas.columns else {}
    # Each cell row belongs to the village holding its centre (found again from the centre, so the
    # rows of a dusun count for its village).
    index = AreaIndex.of(villages)
    c_village = (index.codes_at(cells["lat"].to_numpy(dtype=float), cells["lon"].to_numpy(dtype=float))
                 if len(cells) else np.zeros(0, dtype=object))
    z_village = (index.codes_at(zones["centroid_lat"].to_numpy(dtype=float),
                                zones["centroid_lon"].to_numpy(dtype=float))
                 if len(zones) else np.zeros(0, dtype=object))
    rows = []
    for vcode, vname, geom in zip(villages["code"].astype(str), villages["name"], villages.geometry):
        in_village = c_village == vcode
        mine = cells[in_village]
        n_cells = len(grid.area_cells(geom, res)) if geom is not None else 0
        surveyed = mine[mine["status"] != "not_surveyed"]
        n_surveyed = int(surveyed["h3"].nunique())
        row = VillageRow(code=vcode, name=str(vname or vcode), group=_group_of(vcode, parents, areas),
                         group_name=None, cells=n_cells, surveyed_cells=n_surveyed,
                         surveyed_share=(n_surveyed / n_cells) if n_cells else None)
        row.group_name = names.get(row.group) if row.group else None
        zmine = zones[z_village == vcode] if len(zones) else zones
        status = surveyed.pivot_table(index="h3", columns="operator", values="status", aggfunc="first") \
            if len(surveyed) else pd.DataFrame()
        for op in operators:
            row.dead_zones[op] = int((zmine["operator"] == op).sum()) if len(zmine) else 0
            st = status[op] if op in status.columns else pd.Series(dtype=object)
            row.dead_km2[op] = round(float((st == "dead").sum()) * cell_km2, 4)
            others = [o for o in operators if o != op and o in status.columns]
            served_by_other = ((status[others] == "covered").any(axis=1) if others
                               else pd.Series(False, index=status.index))
            weak = surveyed[(surveyed["operator"] == op)
                            & (surveyed["status"].isin(["dead", "marginal"])
                               | surveyed["weak_signal"].fillna(False).astype(bool))]
            weak_h3 = set(weak["h3"]) & set(served_by_other[served_by_other].index)
            row.weak_km2[op] = round(len(weak_h3) * cell_km2, 4)
        if len(status):
            # Blank spot: every operator measured in the cell is judged dead there (an operator with
            # too little evidence leaves the cell out: not proven).
            dead = status == "dead"
            blank = (dead | status.isna()).all(axis=1) & dead.any(axis=1)
            row.blank_spot_km2 = round(float(blank.sum()) * cell_km2, 4)
        last = mine["last_seen"].dropna() if "last_seen" in mine.columns else pd.Series(dtype=object)
        row.last_survey = str(max(last)) if len(last) else None
        rows.append(row)
    rows.sort(key=lambda r: (str(r.group), r.code))
    return DistrictOverview(code=selected.code, name=selected.name, operators=operators, resolution=res,
                            cell_km2=cell_km2, villages=rows, analysed_at=analysed_at)


def _group_of(code: str, parents: dict, areas) -> str | None:
    """The area a village lies in: its parent code, else the code without its last part."""
    parent = parents.get(code)
    if parent is not None and parent == parent and str(parent):
        return str(parent)
    return code.rsplit(".", 1)[0] if "." in code else None


def rows_in_area(store, settings: Settings, layer, code: str | None):
    """The rows of an analysis layer that belong to the area ``code`` selects (by their
    ``area_code``); all rows when ``code`` is None.

    Raises
    ------
    surveyor.errors.InvalidRequest
        When the code selects nothing.
    """
    if code is None:
        return layer
    selected = find_district(store, settings, code)
    if layer is None or len(layer) == 0:
        return layer
    if "area_code" in layer.columns:
        codes = set(selected.codes) | {str(code)}
        return layer[layer["area_code"].astype(str).isin(codes).to_numpy()].reset_index(drop=True)
    # Rows without a code (a listing of cells) belong to the area holding their centre.
    import shapely

    inside = shapely.intersects_xy(selected.boundary, layer["lon"].to_numpy(dtype=float),
                                   layer["lat"].to_numpy(dtype=float))
    return layer[inside].reset_index(drop=True)
