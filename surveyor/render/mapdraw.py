"""Drawing one operator's coverage on a matplotlib axes, over the ground it lies on.

Shared by the printed map (:mod:`surveyor.render.print_map`) and the report's maps (a full page
per operator, a zoomed map per dead zone). Everything is drawn in the area's UTM zone, so metres
are square and a scale bar is true; the axes is filled edge to edge (the extent grows to the
axes' shape: no empty bands beside the map).

Order, bottom to top: relief (hillshade, shadows only), water, houses, roads and paths, the
coverage classes (semi-transparent, so the ground shows through), the prediction (hatched only),
boundaries, dead-zone outlines, facilities, towers and sites, then the labels. Labels never
overlap each other: dead-zone labels are placed first, next to the road that leads to the zone
(from :func:`surveyor.render.basemap.zone_access`) with a leader line, then place names, dusun
names and site numbers wherever they fit (a name that would cover another is left out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from surveyor.render import style as st

LABEL_GID = "map-label"  # every text drawn inside a map carries this gid (the layout tests use it)


def print_colour(cls: st.CoverageClass) -> tuple[float, float, float]:
    """Face colour of a class on white paper (its colour at its print opacity)."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(cls.colour)
    a = cls.print_opacity
    return (1 - a + a * r, 1 - a + a * g, 1 - a + a * b)


def fill_extent(bounds_m: tuple[float, float, float, float], width_in: float, height_in: float,
                pad: float = 0.04) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1): ``bounds_m`` with a margin, grown in one direction to the axes' shape."""
    x0, y0, x1, y1 = bounds_m
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    x0, x1, y0, y1 = x0 - w * pad, x1 + w * pad, y0 - h * pad, y1 + h * pad
    w, h = x1 - x0, y1 - y0
    want = width_in / height_in
    if w / h < want:
        grow = (h * want - w) / 2
        x0, x1 = x0 - grow, x1 + grow
    else:
        grow = (w / want - h) / 2
        y0, y1 = y0 - grow, y1 + grow
    return x0, x1, y0, y1


def _rings(geoms) -> list:
    """Exterior rings (N x 2 arrays) of polygon geometries, for a PolyCollection."""
    out = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        for part in getattr(g, "geoms", [g]):
            if part.geom_type == "Polygon":
                out.append(np.asarray(part.exterior.coords)[:, :2])
    return out


def _lines(geoms) -> list:
    """All lines and polygon rings (N x 2 arrays) of geometries, for a LineCollection."""
    import shapely

    out = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        b = g.boundary if g.geom_type in ("Polygon", "MultiPolygon") else g
        for part in getattr(b, "geoms", [b]):
            out.append(np.asarray(shapely.get_coordinates(part)))
    return out


@dataclass
class Placed:
    """Labels placed so far on one axes (display-space boxes), and what labels should rather not
    cover (the dead zones themselves: ``soft``)."""

    boxes: list = field(default_factory=list)
    soft: list = field(default_factory=list)

    def free(self, bbox, frame, soft: bool = True) -> bool:
        if not (frame.x0 <= bbox.x0 and bbox.x1 <= frame.x1 and frame.y0 <= bbox.y0 and bbox.y1 <= frame.y1):
            return False
        if any(bbox.overlaps(b) for b in self.boxes):
            return False
        return not soft or not any(_hits(bbox, poly) for poly in self.soft)


def _hits(bbox, poly) -> bool:
    """Whether a display box meets a polygon given in display coordinates (shapely)."""
    import shapely

    return poly.intersects(shapely.box(bbox.x0, bbox.y0, bbox.x1, bbox.y1))


class MapDrawer:
    """Draws the layers of one map (:class:`surveyor.render.style.MapLayers`) in a metric CRS.

    Parameters
    ----------
    layers
        What the map shows.
    crs
        The metric CRS to draw in (the area's UTM zone).
    lang
        Language of the few words drawn on the map.
    type_pt
        The base type size in points (labels are this size); line widths scale with it too.
    store
        The survey's store, for the hillshade (None: no relief).
    access
        Per zone ID, the way from the road (:func:`surveyor.render.basemap.zone_access`).
    """

    def __init__(self, layers: st.MapLayers, crs: str, lang: str, type_pt: float = 7.0, store=None,
                 access: dict[str, dict] | None = None):
        self.layers = layers
        self.crs = crs
        self.lang = lang
        self.type_pt = type_pt
        self.k = type_pt / 7.0  # line widths grow with the type
        self.store = store
        self.access = access or {}
        self._metric: dict[str, Any] = {}

    # -- data in the metric CRS, converted once ------------------------------------------------------
    def metric(self, name: str):
        if name not in self._metric:
            L = self.layers
            src = {"cells": L.cells, "dead_zones": L.dead_zones, "sites": L.sites, "towers": L.towers,
                   "dusun": L.dusun}.get(name)
            if src is None and L.basemap is not None:
                src = getattr(L.basemap, name, None)
            if src is None or len(src) == 0:
                self._metric[name] = src.iloc[0:0] if src is not None else None
            else:
                self._metric[name] = src.to_crs(self.crs)
        return self._metric[name]

    def boundary(self):
        import geopandas as gpd

        b = self.layers.boundary
        if b is None or b.is_empty:
            return None
        return gpd.GeoSeries([b], crs="EPSG:4326").to_crs(self.crs)

    def to_metric(self, lon: float, lat: float) -> tuple[float, float]:
        from pyproj import Transformer

        t = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        x, y = t.transform(lon, lat)
        return float(x), float(y)

    def area_bounds_m(self) -> tuple[float, float, float, float]:
        """The area's bounds in the metric CRS."""
        import geopandas as gpd
        from shapely.geometry import box

        return tuple(gpd.GeoSeries([box(*self.layers.bounds())], crs="EPSG:4326").to_crs(self.crs).total_bounds)

    # -- drawing ----------------------------------------------------------------------------------
    def draw(self, ax, op: str, extent: tuple[float, float, float, float], *, labels: bool = True,
             focus_zone: str | None = None) -> None:
        """Draw operator ``op`` on ``ax`` over ``extent`` (x0, x1, y0, y1 in the metric CRS)."""
        from matplotlib.collections import LineCollection, PolyCollection

        x0, x1, y0, y1 = extent
        ax.set_autoscale_on(False)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_facecolor("white")
        k = self.k
        self._relief(ax, extent)
        bm = self.layers.basemap
        if bm is not None and not bm.empty:
            water = self.metric("water")
            if water is not None and len(water):
                areas = water[water.geom_type.isin(["Polygon", "MultiPolygon"])]
                if len(areas):
                    ax.add_collection(PolyCollection(_rings(areas.geometry), facecolors=st.WATER_FILL,
                                                     edgecolors=st.WATER_COLOUR, linewidths=0.3 * k, zorder=1.2))
                lines = water[water.geom_type.isin(["LineString", "MultiLineString"])]
                if len(lines):
                    ax.add_collection(LineCollection(_lines(lines.geometry), colors=st.WATER_COLOUR,
                                                     linewidths=0.9 * k, zorder=1.3))
            houses = self.metric("buildings")
            if houses is not None and len(houses):
                ax.add_collection(PolyCollection(_rings(houses.geometry), facecolors=st.BUILDING_FILL,
                                                 edgecolors=st.BUILDING_EDGE, linewidths=0.2 * k, zorder=1.4))
            roads = self.metric("roads")
            if roads is not None and len(roads):
                for road_class in st.ROAD_ORDER:
                    part = roads[roads["class"].astype(str) == road_class]
                    if not len(part):
                        continue
                    colour, width_pt, _px, dash = st.ROAD_STYLE[road_class]
                    ls = (0, tuple(d * 2 for d in dash)) if dash else "solid"
                    ax.add_collection(LineCollection(_lines(part.geometry), colors=colour, linewidths=width_pt * k,
                                                     linestyles=[ls], capstyle="round", zorder=1.5))
        cells = self.metric("cells")
        cells = cells[cells["operator"].astype(str) == op] if cells is not None and len(cells) else cells
        for cls in reversed(st.CLASSES) if cells is not None and len(cells) else ():
            part = cells[cells["status"] == cls.key]
            if len(part) == 0:
                continue
            face = [_rgba(cls.colour, cls.print_opacity)] if cls.print_opacity else "none"
            ax.add_collection(PolyCollection(
                _rings(part.geometry), facecolors=face, edgecolors=[cls.edge], hatch=cls.hatch or None,
                hatchcolor=cls.hatch_colour, linewidths=(0.5 if cls.dashed else 0.35) * k,
                linestyles="--" if cls.dashed else "-", zorder=2))
        pred = self.layers.predicted(op)
        if len(pred):
            pred_m = pred.to_crs(self.crs)
            for key in st.EVIDENCE_KEYS:
                part = pred_m[pred_m["predicted_status"].astype(str) == key]
                if len(part):
                    colour = st.CLASS_BY_KEY[key].colour
                    ax.add_collection(PolyCollection(_rings(part.geometry), facecolors="none", edgecolors="none",
                                                     hatch=st.PREDICTED_HATCH, hatchcolor=colour,
                                                     linewidths=0, zorder=2.2, alpha=st.PREDICTED_OPACITY))
        b = self.boundary()
        if b is not None:
            ax.add_collection(LineCollection(_lines(b), colors=st.BOUNDARY_COLOUR, linewidths=1.6 * k, zorder=3))
        dus = self.metric("dusun")
        if dus is not None and len(dus):
            ax.add_collection(LineCollection(_lines(dus.geometry), colors=st.DUSUN_COLOUR, linewidths=0.7 * k,
                                             linestyles=[(0, (5, 3))], zorder=3))
        zones = self.metric("dead_zones")
        zones = zones[zones["operator"].astype(str) == op] if zones is not None and len(zones) else None
        if zones is not None and len(zones):
            widths = [(2.4 if str(z) == focus_zone else 1.5) * k for z in zones["zone_id"]]
            ax.add_collection(LineCollection(_lines(zones.geometry), colors=st.DEAD_ZONE_EDGE, linewidths=widths,
                                             zorder=4))
        marker = self.type_pt
        fac = self.metric("facilities")
        if fac is not None and len(fac):
            ax.plot(fac.geometry.x, fac.geometry.y, marker="o", markersize=0.75 * marker,
                    markerfacecolor=st.FACILITY_COLOUR, markeredgecolor="white", markeredgewidth=0.8 * k,
                    linestyle="none", zorder=5)
        towers = self.metric("towers")
        if towers is not None and len(towers):
            t = towers[(towers["operator"].astype(str) == op) | towers["operator"].isna()]
            if len(t):
                ax.plot(t.geometry.x, t.geometry.y, marker="^", markersize=marker, markerfacecolor="white",
                        markeredgecolor="black", markeredgewidth=1.1 * k, linestyle="none", zorder=6)
        sites = self.metric("sites")
        sites = sites[sites["operator"].astype(str) == op] if sites is not None and len(sites) else None
        if sites is not None and len(sites):
            ax.plot(sites.geometry.x, sites.geometry.y, marker="*", markersize=1.9 * marker,
                    markerfacecolor=st.SITE_COLOUR, markeredgecolor="black", markeredgewidth=0.7 * k,
                    linestyle="none", zorder=6)
        for spine in ax.spines.values():
            spine.set_linewidth(0.7 * k)
        if labels:
            self.labels(ax, op, zones, sites, focus_zone=focus_zone)

    def _relief(self, ax, extent) -> None:
        if self.store is None or not self.layers.has_dem:
            return
        from pyproj import Transformer

        from surveyor.outputs.terrain import hillshade_array

        x0, x1, y0, y1 = extent
        t = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        lons, lats = t.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
        got = hillshade_array(self.store, self.layers.area_code, self.crs,
                              (min(lons), min(lats), max(lons), max(lats)))
        if got is None:
            return
        rgba, (left, right, bottom, top) = got
        ax.imshow(rgba, extent=(left, right, bottom, top), origin="upper", interpolation="bilinear",
                  zorder=1.0, aspect="auto")

    # -- labels -----------------------------------------------------------------------------------
    def labels(self, ax, op: str, zones, sites, *, focus_zone: str | None = None) -> None:
        """Zone IDs next to their roads, then place names, dusun names and site numbers where they fit."""
        fig = ax.figure
        renderer = fig.canvas.get_renderer()
        frame = ax.get_window_extent(renderer)
        placed = Placed()
        # A light box behind names rather than a stroked halo: a halo turns the name into outlines
        # in a PDF, where it could no longer be searched or copied.
        halo = dict(boxstyle="round,pad=0.12", facecolor="white", edgecolor="none", alpha=0.72)
        size = self.type_pt
        # Labels keep off the dead zones they name when they can, so the zone stays visible; each
        # zone ID sits beside the road leading in, with a leader to the zone.
        if zones is not None and len(zones):
            import shapely

            to_disp = ax.transData.transform
            placed.soft = [shapely.transform(g, lambda a: to_disp(a)) for g in zones.geometry]
            order = sorted(range(len(zones)), key=lambda i: (str(zones["zone_id"].iloc[i]) != focus_zone, i))
            for i in order:
                z = zones.iloc[i]
                zid = str(z["zone_id"])
                target = z.geometry.representative_point()
                info = self.access.get(zid) or {}
                anchor = (target.x, target.y)
                if info.get("road_lat") is not None and info.get("road_distance_m") is not None \
                        and float(info["road_distance_m"]) <= 1200:
                    anchor = self.to_metric(float(info["road_lon"]), float(info["road_lat"]))
                self._place(ax, zid, anchor, (target.x, target.y), placed, frame, renderer, required=True,
                            fontsize=size * (1.15 if zid == focus_zone else 1.0), weight="bold",
                            bbox=dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor="black",
                                      linewidth=0.7 * self.k))
        bm = self.layers.basemap
        places = self.metric("places") if bm is not None else None
        if places is not None and len(places):
            big = places["place"].astype(str).isin(["village", "town", "city"]).to_numpy()
            for j in np.argsort(~big, kind="stable"):
                r = places.iloc[j]
                if not isinstance(r["name"], str) or not r["name"]:
                    continue
                p = r.geometry if r.geometry.geom_type == "Point" else r.geometry.representative_point()
                self._place(ax, r["name"], (p.x, p.y), None, placed, frame, renderer,
                            fontsize=size * (1.2 if big[j] else 1.0),
                            style="italic", weight="bold", bbox=halo, offsets=self.RING[:9])
        dus = self.metric("dusun")
        if dus is not None and len(dus) and "name" in dus.columns:
            for r in dus.itertuples(index=False):
                if isinstance(r.name, str) and r.name:
                    p = r.geometry.representative_point()
                    self._place(ax, r.name, (p.x, p.y), None, placed, frame, renderer, fontsize=size * 0.9,
                                style="italic", color="#333333", bbox=halo, offsets=self.RING[:9])
        if sites is not None and len(sites):
            for r in sites.itertuples(index=False):
                self._place(ax, f"S{int(r.rank)}", (r.geometry.x, r.geometry.y), None, placed, frame, renderer,
                            fontsize=size, weight="bold", bbox=halo, offsets=((1.1, 0.7), (-1.1, 0.7),
                                                                                      (1.1, -0.7), (-1.1, -0.7)))

    # Offsets tried around an anchor, in label heights (x, y); names (not zone IDs, which have a
    # leader line) try only the first nine: a name far from its place would mislead.
    RING = ((0, 0), (0, 1.3), (0, -1.3), (1.2, 0), (-1.2, 0), (1.0, 1.3), (-1.0, 1.3), (1.0, -1.3), (-1.0, -1.3),
            (0, 2.6), (0, -2.6), (2.2, 0), (-2.2, 0), (2.0, 2.6), (-2.0, 2.6), (2.0, -2.6), (-2.0, -2.6),
            (0, 4.0), (0, -4.0), (3.5, 0), (-3.5, 0))

    def _place(self, ax, text: str, anchor, target, placed: Placed, frame, renderer, *, required: bool = False,
               offsets=None, **style) -> Any:
        """Put ``text`` at the first offset around ``anchor`` where it overlaps no other label and
        stays inside the map; a required label goes where it overlaps least. A leader line joins a
        label moved off its anchor to ``target``."""
        from matplotlib.transforms import Bbox

        t = ax.text(anchor[0], anchor[1], text, ha="center", va="center", zorder=9, clip_on=False, gid=LABEL_GID,
                    **style)
        box0 = t.get_window_extent(renderer)
        if style.get("bbox"):  # the box drawn round the text reaches beyond the text
            pad = 0.35 * box0.height
            box0 = Bbox.from_extents(box0.x0 - pad, box0.y0 - pad, box0.x1 + pad, box0.y1 + pad)
        h = box0.height
        inv = ax.transData.inverted()
        ax_x, ax_y = ax.transData.transform(anchor)
        best, best_cost = None, None
        candidates = []
        for dx, dy in (offsets or self.RING):
            cx, cy = ax_x + dx * h * (box0.width / h / 2 + 0.6 if dx else 1), ax_y + dy * h
            candidates.append((cx, cy, Bbox.from_extents(cx - box0.width / 2, cy - h / 2, cx + box0.width / 2,
                                                         cy + h / 2)))
        for soft in (True, False):
            best = next(((cx, cy, box) for cx, cy, box in candidates if placed.free(box, frame, soft)), None)
            if best is not None:
                break
        for cx, cy, box in candidates if best is None else []:
            if required:
                inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
                cost = sum(1 for b in placed.boxes if box.overlaps(b)) + (0 if inside else 100)
                if best_cost is None or cost < best_cost:
                    best_cost, best = cost, (cx, cy, box)
        if best is None:
            t.remove()
            return None
        cx, cy, box = best
        x, y = inv.transform((cx, cy))
        t.set_position((x, y))
        placed.boxes.append(box.expanded(1.05, 1.1))
        tx, ty = target if target is not None else (x, y)
        sx, sy = ax.transData.transform((tx, ty))
        if target is not None and np.hypot(sx - cx, sy - cy) > h:
            ax.plot([x, tx], [y, ty], color="black", linewidth=0.8 * self.k, zorder=8.5, solid_capstyle="round")
            ax.plot([tx], [ty], marker="o", markersize=2.2 * self.k, color="black", zorder=8.5)
        return t


def _rgba(colour: str, alpha: float) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return (r, g, b, alpha)


def legend_handles(layers: st.MapLayers, ops: list[str], _, lang: str, type_pt: float = 7.0) -> list:
    """Legend entries of a printed map, in the glossary's words for the classes."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from surveyor.i18n.glossary import label

    k = type_pt / 7.0
    cells = layers.cells[layers.cells["operator"].astype(str).isin(ops)] if len(layers.cells) else layers.cells
    present = set(cells["status"].astype(str)) if len(cells) else set()
    handles: list[Any] = []
    for cls in st.CLASSES:
        if cls.key not in present and cls.key != "not_surveyed":
            continue
        face = _rgba(cls.colour, cls.print_opacity) if cls.print_opacity else "white"
        handles.append(Patch(facecolor=face, edgecolor=cls.edge, hatch=cls.hatch or None, hatchcolor=cls.hatch_colour,
                             linestyle="--" if cls.dashed else "-", linewidth=0.6 * k, label=cls.label(lang)))
    if any(len(layers.predicted(op)) for op in ops):
        handles.append(Patch(facecolor="white", edgecolor="#777777", hatch=st.PREDICTED_HATCH,
                             hatchcolor=st.CLASS_BY_KEY["dead"].colour, linewidth=0.4 * k,
                             label=label("predicted", lang)))
    handles.append(Patch(facecolor="none", edgecolor="black", linewidth=1.5 * k,
                         label=_("Dead zone outline with its ID")))
    handles.append(Line2D([], [], color=st.BOUNDARY_COLOUR, linewidth=1.6 * k, label=_("Village boundary")))
    if len(layers.dusun):
        handles.append(Line2D([], [], color=st.DUSUN_COLOUR, linewidth=0.7 * k, linestyle="--",
                              label=_("Dusun boundary")))
    bm = layers.basemap
    if bm is not None and not bm.empty:
        if len(bm.roads):
            colour, width, _px, _dash = st.ROAD_STYLE["minor"]
            handles.append(Line2D([], [], color=colour, linewidth=width * k, label=_("Road")))
            colour, width, _px, dash = st.ROAD_STYLE["path"]
            handles.append(Line2D([], [], color=colour, linewidth=width * k,
                                  linestyle=(0, tuple(d * 2 for d in dash or (1.0, 1.0))),
                                  label=_("Path or farm track")))
        if len(bm.buildings):
            handles.append(Patch(facecolor=st.BUILDING_FILL, edgecolor=st.BUILDING_EDGE, linewidth=0.3 * k,
                                 label=_("House or building")))
        if len(bm.water):
            handles.append(Line2D([], [], color=st.WATER_COLOUR, linewidth=1.0 * k, label=_("River or stream")))
        if len(bm.facilities):
            handles.append(Line2D([], [], marker="o", markersize=0.75 * type_pt, markerfacecolor=st.FACILITY_COLOUR,
                                  markeredgecolor="white", linestyle="none",
                                  label=_("School, clinic, place of worship or village office")))
    if layers.has_dem:
        handles.append(Patch(facecolor="#b5b5b5", edgecolor="none", label=_("Relief (shaded hills)")))
    if len(layers.sites) and (layers.sites["operator"].astype(str).isin(ops)).any():
        handles.append(Line2D([], [], marker="*", markersize=1.5 * type_pt, markerfacecolor=st.SITE_COLOUR,
                              markeredgecolor="black", linestyle="none",
                              label=_("Suggested site for an operator to consider")))
    if len(layers.towers):
        handles.append(Line2D([], [], marker="^", markersize=0.9 * type_pt, markerfacecolor="white",
                              markeredgecolor="black", linestyle="none", label=_("Known tower (estimated position)")))
    return handles
