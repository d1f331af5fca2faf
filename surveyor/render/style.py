"""What the interactive map and the printed map both show, and how: classes, palette, data selection.

The words of the classes are the glossary's (:mod:`surveyor.i18n.glossary`), in both languages,
so the legend, the popups, the printed notes and the report say the same thing.

The palette is Okabe-Ito (Okabe & Ito 2008, "Color Universal Design"), chosen so that the coverage
classes stay apart for people with red-green or blue-yellow colour blindness and, with the hatching
of the printed map, in greyscale photocopies too. ``tests/render/test_style.py`` checks this: it
simulates protanopia, deuteranopia and tritanopia (Machado, Oliveira & Fernandes 2009 matrices)
and requires every pair of class colours to stay at least 20 CIELAB units apart; and it renders
each class as printed (fill and hatch) in greyscale and requires "no usable 4G" to be the class
farthest in lightness from all the others, because that is the class a photocopied map is read for.

:func:`map_layers` reads everything a map needs from the store once, applies the area and operator
filters and the exclusion zones (always), rolls cells up to a coarser H3 resolution when the area is
larger than a village, and adds the cells nobody has surveyed yet so they can be drawn apart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from surveyor.config import Settings
from surveyor.errors import NothingToDo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoverageClass:
    """One coverage class: its key in the ``cells`` layer (and the glossary) and how maps draw it.

    ``fill_opacity`` is the interactive map's, over the basemap; ``print_opacity``, ``hatch`` and
    ``hatch_colour`` the printed map's, where the class must also survive a greyscale photocopy.
    """

    key: str
    colour: str  # fill colour (hex)
    fill_opacity: float  # interactive map
    print_opacity: float  # printed map (over the basemap, so roads and houses show through)
    hatch: str  # matplotlib hatch for the printed map (greyscale photocopies)
    hatch_colour: str
    edge: str  # outline colour
    dashed: bool = False

    def label(self, lang: str) -> str:
        """The class's word in the glossary (e.g. "Tidak ada 4G layak")."""
        from surveyor.i18n.glossary import label

        return label(self.key, lang)

    def meaning(self, lang: str) -> str:
        """What the class means, in the glossary's words."""
        from surveyor.i18n.glossary import meaning

        return meaning(self.key, lang)


# Okabe-Ito: vermillion, yellow, blue; neutral grey for "not enough evidence"; no fill for "not
# surveyed" so that the absence of data never looks like a verdict. "No usable 4G" is the most
# opaque and carries a dark cross-hatch: on a photocopy it is the darkest class by far.
CLASSES: tuple[CoverageClass, ...] = (
    CoverageClass("dead", "#D55E00", 0.65, 0.85, "xxxx", "#000000", "#8A3A00"),
    CoverageClass("marginal", "#F0E442", 0.6, 0.6, "///", "#8C8300", "#B8AD00"),
    CoverageClass("covered", "#0072B2", 0.55, 0.55, "", "#0072B2", "#0072B2"),
    CoverageClass("insufficient", "#888888", 0.55, 0.6, "...", "#555555", "#666666"),
    CoverageClass("not_surveyed", "#FFFFFF", 0.0, 0.0, "", "#777777", "#777777", dashed=True),
)
CLASS_BY_KEY = {c.key: c for c in CLASSES}
CLASS_ORDER = {c.key: i for i, c in enumerate(CLASSES)}
EVIDENCE_KEYS = ("dead", "marginal", "covered")

# The prediction from terrain ("perkiraan"): drawn in its own layer, only where a cell has no
# evidence class, as a light hatch in the predicted class's colour and never filled, so it can
# never be mistaken for what was measured.
PREDICTED_HATCH = "\\\\\\"
PREDICTED_OPACITY = 0.55

DEAD_ZONE_EDGE = "#000000"
SITE_COLOUR = "#CC79A7"  # Okabe-Ito reddish purple: not a coverage class colour
TOWER_COLOUR = "#000000"
BOUNDARY_COLOUR = "#222222"
DUSUN_COLOUR = "#555555"
ROUTE_COLOUR = "#555555"

# The basemap (OpenStreetMap), drawn under the classes in quiet colours so the coverage stays the
# figure and the basemap the ground: road class -> (colour, width in points on paper, width in
# pixels on screen, dash pattern or None).
ROAD_STYLE: dict[str, tuple[str, float, float, tuple | None]] = {
    "major": ("#1a1a1a", 1.6, 4.0, None),
    "minor": ("#262626", 1.1, 3.0, None),
    "track": ("#303030", 0.8, 2.2, (3.0, 1.5)),
    "path": ("#303030", 0.7, 2.0, (1.2, 1.2)),
}
ROAD_ORDER = ("path", "track", "minor", "major")  # drawn in this order: major roads on top
BUILDING_FILL = "#b9b1a6"
BUILDING_EDGE = "#8c8478"
WATER_COLOUR = "#3c8dc5"
WATER_FILL = "#b7d7ef"
PLACE_COLOUR = "#111111"
FACILITY_COLOUR = "#6a3d9a"
FACILITY_KINDS = ("village_office", "clinic", "school", "worship")

# A village's map stays under 3 MB when it draws at most about this many cells (each about 0.5 kB
# of geometry and popup); larger areas are rolled up to coarser H3 cells until they fit.
MAX_CELLS = 3000
# With --show-samples: at most this many sample points (one per small H3 cell) are drawn.
MAX_SAMPLE_POINTS = 2000
# Towers further than this from the area are left out (OpenCelliD lists cover whole provinces).
TOWER_MARGIN_DEG = 0.05


def explain_values(settings: Settings, lang: str) -> dict[str, str]:
    """The numbers the method notes mention, formatted in the language."""
    from surveyor.i18n import format_number, format_percent

    return {
        "dead_pct": format_percent(settings.dead_lower_bound, lang),
        "covered_pct": format_percent(settings.covered_upper_bound, lang),
        "rsrp_dbm": format_number(settings.rsrp_negative_below_dbm, lang),
        "min_samples": format_number(settings.min_effective_samples, lang),
        "min_sessions": format_number(settings.min_sessions, lang),
        "gap_h": format_number(settings.min_session_gap_h, lang,
                               0 if float(settings.min_session_gap_h).is_integer() else 1),
    }


@dataclass
class MapLayers:
    """Everything one map shows (all GeoDataFrames in EPSG:4326, already filtered)."""

    operators: list[str]
    cells: Any
    dead_zones: Any
    sites: Any
    towers: Any
    boundary: Any  # shapely geometry or None
    dusun: Any  # GeoDataFrame with name
    area_name: str
    area_code: str
    resolution: int
    rolled_up: bool
    summary: dict[str, Any] = field(default_factory=dict)
    basemap: Any = None  # surveyor.render.basemap.Basemap, or None without a stored basemap
    has_dem: bool = False  # an elevation model is stored (maps draw its hillshade)
    dem_credit: str | None = None
    simulated: bool = False  # made from simulated data (surveyor demo): every output says so

    def credits(self) -> list[str]:
        """The credit lines the data drawn asks for (OpenStreetMap's ODbL, the elevation model)."""
        out = []
        if self.basemap is not None and not self.basemap.empty and self.basemap.attribution:
            out.append(self.basemap.attribution)
        if self.has_dem and self.dem_credit:
            out.append(self.dem_credit)
        return out

    def frame(self, margin: float = 0.06) -> tuple[float, float, float, float]:
        """What a map frames (west, south, east, north): the area with a margin of its size."""
        minx, miny, maxx, maxy = self.bounds()
        dx, dy = (maxx - minx) * margin, (maxy - miny) * margin
        return (minx - dx, miny - dy, maxx + dx, maxy + dy)

    def predicted(self, operator: str):
        """The operator's cells that show a prediction (no evidence class there), or an empty frame."""
        c = self.cells
        if "prediction_shown" not in c.columns or "predicted_status" not in c.columns:
            return c.iloc[0:0]
        shown = c["prediction_shown"].fillna(False).astype(bool) & c["predicted_status"].notna()
        return c[shown & (c["operator"].astype(str) == operator)]

    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of what the map should frame."""
        if self.boundary is not None and not self.boundary.is_empty:
            return tuple(self.boundary.bounds)
        if len(self.cells):
            return tuple(self.cells.total_bounds)
        return (109.84, -7.45, 109.87, -7.42)


def _not_surveyed(boundary, resolution: int, operators: list[str], existing, code: str):
    """Rows for the cells inside the boundary that no operator row covers yet."""
    import geopandas as gpd
    import h3
    from shapely.geometry import Polygon

    if boundary is None or boundary.is_empty:
        return None
    inside = set(h3.geo_to_cells(boundary.__geo_interface__, resolution))
    rows, geoms = [], []
    have = set(zip(existing["operator"].astype(str), existing["h3"].astype(str))) if len(existing) else set()
    for op in operators:
        for c in sorted(inside):
            if (op, c) in have:
                continue
            lat, lon = h3.cell_to_latlng(c)
            rows.append({"h3": c, "resolution": resolution, "operator": op, "area_code": code,
                         "status": "not_surveyed", "samples_raw": 0, "samples_effective": 0,
                         "lat": lat, "lon": lon})
            geoms.append(Polygon([(x, y) for y, x in h3.cell_to_boundary(c)]))
    if not rows:
        return None
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def _count_cells_estimate(cells, boundary, resolution: int, n_ops: int) -> int:
    """How many cells a map at ``resolution`` would draw (surveyed plus not-surveyed)."""
    import h3

    surveyed = cells.loc[cells["status"] != "not_surveyed"]
    if len(surveyed) and int(surveyed["resolution"].iloc[0]) != resolution:
        from surveyor.geo.cells import from_hex, parent_cells

        parents = parent_cells(from_hex(surveyed["h3"]), resolution)
        n = len(set(zip(surveyed["operator"].astype(str), parents.tolist())))
    else:
        n = len(surveyed)
    if boundary is not None and not boundary.is_empty:
        from pyproj import Geod

        area_m2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(boundary)[0])
        n += int(area_m2 / (h3.average_hexagon_area(resolution, unit="m^2")) * n_ops)
    return n


def map_layers(store, settings: Settings, *, operators=None, area: str | None = None) -> MapLayers:
    """Read and prepare the layers of one map.

    Parameters
    ----------
    store
        An open :class:`surveyor.store.base.Store`.
    settings
        The survey settings (operators, thresholds, exclusion zones, boundary).
    operators
        Operators to show (default: the settings' operators that have cells, else all with cells).
    area
        Village code to show (default: the settings' village).

    Raises
    ------
    NothingToDo
        When the database holds no samples ("merge first") or no analysis ("analyze first").
    """
    import geopandas as gpd
    import pandas as pd

    from surveyor.geo.exclusion import drop_excluded_features
    from surveyor.outputs.layers import area_of, require_analysis, sites_without_excluded_zones

    require_analysis(store)
    db = store.url
    cells = store.read_layer("cells")
    code = area or settings.code
    where = area_of(store, settings, code)
    if area is not None:
        if "area_code" in cells.columns:
            cells = cells[cells["area_code"].astype(str).isin(where.codes)]
        if len(cells) == 0:
            raise NothingToDo(f"{db} has no analysed cells for area {area}.",
                              fix="Check the code with `surveyor status`, or leave out --area.")
    present = list(dict.fromkeys(cells["operator"].dropna().astype(str)))
    if operators:
        wanted = [str(o) for o in operators]
        lower = {p.lower(): p for p in present}
        chosen = [lower.get(o.lower(), o) for o in wanted]
        missing = [o for o in chosen if o not in present]
        if missing:
            raise NothingToDo(f"{db} has no analysed cells for {', '.join(missing)}.",
                              fix=f"Operators with cells: {', '.join(present) or 'none'}.")
    else:
        chosen = [o for o in settings.operators if o in present] or present
    cells = cells[cells["operator"].astype(str).isin(chosen)]
    boundary, dusun, name = where.boundary, where.dusun, where.name

    # Exclusion zones (e.g. around volunteers' homes) leave every output, always.
    cells = drop_excluded_features(cells, settings)
    resolution = int(cells["resolution"].max()) if len(cells) else settings.resolution
    rolled = False
    target = resolution
    while target > 7 and _count_cells_estimate(cells, boundary, target, len(chosen)) > MAX_CELLS:
        target -= 1
    if target != resolution and len(cells):
        from surveyor.analyse.rollup import rollup

        log.info("area too large for %d-resolution cells on one map: rolled up to resolution %d",
                 resolution, target)
        surveyed = cells[cells["status"] != "not_surveyed"]
        cells = rollup(surveyed, target, settings) if len(surveyed) else surveyed
        resolution, rolled = target, True
    cells = cells[cells["status"] != "not_surveyed"] if rolled else cells
    extra = _not_surveyed(boundary, resolution, chosen, cells, code)
    if extra is not None:
        extra = drop_excluded_features(extra, settings)
        cells = gpd.GeoDataFrame(pd.concat([cells, extra], ignore_index=True), crs="EPSG:4326")
    cells = cells.copy()
    cells["_order"] = cells["status"].map(CLASS_ORDER).fillna(len(CLASSES))
    # Not-surveyed first, so judged cells are drawn on top of their dashed outlines.
    cells = cells.sort_values(["operator", "_order"], ascending=[True, False]).drop(columns="_order")

    def layer(name_: str):
        g = store.read_layer(name_)
        if g is None or len(g) == 0 or "geometry" not in g.columns:
            return gpd.GeoDataFrame({"operator": []}, geometry=[], crs="EPSG:4326")
        if area is not None and "area_code" in g.columns:
            g = g[g["area_code"].astype(str).isin(where.codes)]
        if "operator" in g.columns:
            g = g[g["operator"].astype(str).isin(chosen) | g["operator"].isna()]
        return drop_excluded_features(g, settings)

    dead = layer("dead_zones")
    sites = sites_without_excluded_zones(store, settings, layer("sites"))  # popups name no excluded zone
    towers = layer("towers")
    if len(towers):
        minx, miny, maxx, maxy = (boundary.bounds if boundary is not None else cells.total_bounds)
        m = TOWER_MARGIN_DEG
        towers = towers.cx[minx - m:maxx + m, miny - m:maxy + m]
    layers = MapLayers(chosen, cells, dead, sites, towers, boundary, dusun, name, code, resolution, rolled,
                       summary=survey_summary(store, settings, cells), simulated=is_simulated(store))
    from surveyor.render.basemap import load_basemap
    from surveyor.store.dem import has_dem, meta_key

    # The basemap reaches a little beyond the frame, so roads leave the map's edge as they should.
    layers.basemap = load_basemap(store, layers.frame(0.3))
    layers.has_dem = has_dem(store, code)
    if layers.has_dem:
        from surveyor.outputs.terrain import dem_attribution

        layers.dem_credit = dem_attribution(store.get_meta(meta_key(store, code)))
    return layers


# The meta key ``surveyor demo`` sets on the survey it makes from simulated data.
SIMULATED_KEY = "simulated"


def is_simulated(store) -> bool:
    """Whether the survey holds simulated data (``surveyor demo``): its outputs then carry a mark."""
    return bool(store.get_meta(SIMULATED_KEY))


def survey_summary(store, settings: Settings, cells) -> dict[str, Any]:
    """Dates and counts for titles and the data summary (no personal data)."""
    st = store.status()
    out: dict[str, Any] = {
        "samples": st.samples,
        "sessions": st.sessions,
        "devices": st.devices,
        "days": st.days,
        "first": _parse_time(st.first),
        "last": _parse_time(st.last),
        "analysed_at": _parse_time(store.get_meta("analysed_at")),
        "by_status": {},
    }
    for op, g in cells.groupby("operator"):
        out["by_status"][op] = g["status"].value_counts().to_dict()
    return out


def _parse_time(value: Any) -> datetime | None:
    import pandas as pd

    if value is None or value == "":
        return None
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if t is pd.NaT:
        return None
    return t.to_pydatetime()


def local_date(value: datetime | None, settings: Settings):
    """The calendar date of a UTC time in the survey's time zone."""
    if value is None:
        return None
    from zoneinfo import ZoneInfo

    if value.tzinfo is None:

        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(ZoneInfo(settings.timezone)).date()
    except Exception:
        return value.date()


def local_time(value: Any, settings: Settings) -> str | None:
    """'14:05' in the survey's time zone, for sample popups."""
    t = _parse_time(value)
    if t is None:
        return None
    from zoneinfo import ZoneInfo

    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    try:
        t = t.astimezone(ZoneInfo(settings.timezone))
    except Exception:
        pass
    return t.strftime("%H:%M")


def date_range(summary: dict[str, Any], settings: Settings, lang: str) -> str:
    """'12 Juli 2026 - 14 Juli 2026' (or one date) for titles; '-' without samples."""
    from surveyor.i18n import format_date

    first = local_date(summary.get("first"), settings)
    last = local_date(summary.get("last"), settings)
    if first is None:
        return "-"
    if last is None or last == first:
        return format_date(first, lang)
    return f"{format_date(first, lang)} – {format_date(last, lang)}"
