"""The printable coverage map: matplotlib, no browser and no network.

A PDF has one page per operator: at village scale a 70 m cell is a few millimetres on A4, and
putting operators side by side would halve that, so each operator gets the full sheet. A PNG is
one image (the path named, nothing else): operators side by side in landscape, one above the other
in portrait.

**Layout.** The sheet is divided before anything is drawn, and nothing is ever drawn over the map:
a header (title naming the operator, the dates, the district, and a SIMULASI mark on simulated
data), the map frame, and a panel (right of the map in landscape, under it in portrait) that holds
the legend, the scale bar and north arrow, the notes and the sources. Every block is measured with
matplotlib's renderer; when the panel's content does not fit, its type is made smaller step by step
(and, as a last resort, the method notes are left out: the report has them). Type sizes follow the
paper (A3 type is larger than A4 type by the ratio of the sheets). The map fills its frame edge to
edge: the extent grows to the frame's shape, so there are no empty bands. ``tests/render/
test_print_layout.py`` checks the geometry of every paper, orientation and the WhatsApp size.

**What is drawn** (:mod:`surveyor.render.mapdraw`): the relief and the OpenStreetMap ground under
semi-transparent classes that carry hatching as well as colour (a greyscale photocopy keeps "no
usable 4G" the most distinct class), the prediction as a light hatch, dead zones with their IDs
next to the road that leads to each, place names.

Drawing happens in the UTM zone of the area (EPSG:32749 for Lipursari), so the scale bar is in
true metres and grid north is within a degree of true north.
"""

from __future__ import annotations

import logging
import math
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from surveyor.config import Settings
from surveyor.errors import InvalidRequest
from surveyor.files import atomic_path
from surveyor.render import style as st
from surveyor.render.mapdraw import MapDrawer, fill_extent, legend_handles, print_colour

log = logging.getLogger(__name__)

__all__ = ["PAPER_MM", "figure_for", "print_colour", "render_print", "report_maps", "sheets"]

DOMAIN = "map"
PAPER_MM = {"A4": (297.0, 210.0), "A3": (420.0, 297.0)}  # landscape (width, height)
MM_PER_INCH = 25.4
PRINT_DPI = 200  # PNG at paper size
WHATSAPP_WIDTH_PX = 1600
WHATSAPP_DPI = 160
# Body type in points: A4 as a printed handout is read at arm's length; A3 on a wall from further
# (its type grows with the sheet); the WhatsApp image is read zoomed on a phone.
TYPE_PT = {"A4": 7.2, "A3": 7.2 * math.sqrt(2), "whatsapp": 8.6}
MIN_TYPE_FACTOR = 0.62  # the panel's type may shrink to this share of the body type, no further
SIM_MARK = "SIMULASI / SIMULATED DATA"
MAP_GID = "map"  # the map frames' axes (the layout tests find them by it)


def _nice_length(max_m: float) -> float:
    """A round scale-bar length (1, 2, 2.5 or 5 times a power of ten) not longer than ``max_m``."""
    if max_m <= 0:
        return 1.0
    p = 10 ** math.floor(math.log10(max_m))
    for f in (5, 2.5, 2, 1):
        if f * p <= max_m:
            return f * p
    return p


@dataclass
class Box:
    """A rectangle on the sheet in inches from the lower left corner."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def fig(self, fig) -> tuple[float, float, float, float]:
        """(left, bottom, width, height) as figure fractions, for ``fig.add_axes``."""
        w, h = fig.get_size_inches()
        return (self.x0 / w, self.y0 / h, self.width / w, self.height / h)


@dataclass
class Flow:
    """A column of blocks placed top-down in a box; every artist made is kept so a pass that does
    not fit can be taken back."""

    fig: Any
    box: Box
    y: float
    artists: list = field(default_factory=list)
    bottom: float | None = None  # the lowest edge drawn so far (the flow's y has a gap below it)

    def add(self, artist) -> Any:
        self.artists.append(artist)
        return artist

    def undo(self) -> None:
        for a in self.artists:
            try:
                a.remove()
            except (ValueError, NotImplementedError, AttributeError):
                pass
        self.artists.clear()


def _bbox_in(artist, fig, renderer) -> Any:
    """An artist's extent in inches."""
    return artist.get_window_extent(renderer).transformed(fig.dpi_scale_trans.inverted())


def _wrap_to(fig, renderer, text: str, width_in: float, fontsize: float, **kw) -> str:
    """``text`` wrapped (paragraph by paragraph) so each line fits ``width_in`` at ``fontsize``."""
    probe = fig.text(0, 0, "abcdefghij klmnopqrst uvwxyz ABCDE 0123456789", fontsize=fontsize, **kw)
    per_char = _bbox_in(probe, fig, renderer).width / 46.0
    probe.remove()
    chars = max(int(width_in / per_char), 8)
    while True:
        wrapped = "\n".join(textwrap.fill(par, chars, break_long_words=True) if par else ""
                            for par in text.split("\n"))
        t = fig.text(0, 0, wrapped, fontsize=fontsize, **kw)
        w = _bbox_in(t, fig, renderer).width
        t.remove()
        if w <= width_in or chars <= 8:
            return wrapped
        chars = max(int(chars * 0.93), 8)


# -- the words ----------------------------------------------------------------------------------------

def _summary(layers: st.MapLayers, ops: list[str], _, lang: str) -> str:
    from surveyor.i18n import format_number
    from surveyor.render.words import count

    s = layers.summary
    lines = []
    for op in ops:
        counts = s.get("by_status", {}).get(op, {})
        zones = layers.dead_zones[layers.dead_zones["operator"].astype(str) == op] if len(layers.dead_zones) \
            else layers.dead_zones
        km2 = float(zones["area_km2"].sum()) if len(zones) else 0.0
        head = f"{op}: " + count(lang, DOMAIN, "{n} dead zone", "{n} dead zones", len(zones))
        if len(zones):
            head += f" ({format_number(km2, lang, 3)} km²)"
        cells = " · ".join(f"{st.CLASS_BY_KEY[k].label(lang)} {format_number(counts.get(k, 0), lang)}"
                           for k in ("dead", "marginal", "covered", "insufficient") if counts.get(k))
        lines.append(head + ". " + _("Cells") + ": " + cells + ".")
    lines.append(_("Measurements: {samples} · survey walks (sessions): {sessions} · days: {days}.").format(
        samples=format_number(s.get("samples"), lang), sessions=format_number(s.get("sessions"), lang),
        days=format_number(s.get("days"), lang)))
    return "\n".join(lines)


def _method(layers: st.MapLayers, settings: Settings, _, lang: str) -> str:
    import h3

    from surveyor.i18n import format_number
    from surveyor.i18n.glossary import meaning

    values = st.explain_values(settings, lang)
    edge = round(h3.average_hexagon_edge_length(layers.resolution, unit="m") * 2, -1)
    text = _("A place is a hexagon of about {size} m. A check is one measurement at least {gap_s} s and "
             "{dist_m} m from the previous one. No usable 4G means no signal, only 2G/3G, or signal "
             "(RSRP) below {rsrp_dbm} dBm. A place is judged with at least {min_samples} checks from "
             "{min_sessions} visits {gap_h} hours apart.").format(
        size=format_number(edge, lang), gap_s=format_number(settings.effective_min_gap_s, lang),
        dist_m=format_number(settings.effective_min_distance_m, lang),
        **{k: values[k] for k in ("rsrp_dbm", "min_samples", "min_sessions", "gap_h")})
    out = [text]
    if any(len(layers.predicted(op)) for op in layers.operators):
        from surveyor.i18n.glossary import label

        out.append(f"{label('predicted', lang)}: {meaning('predicted', lang)}")
    if layers.rolled_up:
        out.append(_("The area is large, so small cells are summarised into larger ones."))
    return "\n".join(out)


def _source(layers: st.MapLayers, settings: Settings, _, lang: str) -> str:
    from surveyor.i18n import format_date

    printed = format_date(st.local_date(datetime.now(UTC), settings), lang)
    analysed = layers.summary.get("analysed_at")
    text = _("Source: surveyor field survey; analysed {analysed}; printed {printed}.").format(
        analysed=format_date(st.local_date(analysed, settings), lang) if analysed else "-", printed=printed)
    credits = layers.credits()
    if credits:
        text += " " + _("Map data: {credits}.").format(credits="; ".join(credits))
    return text


# -- the sheet --------------------------------------------------------------------------------------

@dataclass
class SheetSpec:
    """One sheet: its size, type and arrangement."""

    width_in: float
    height_in: float
    type_pt: float
    landscape: bool
    compact: bool = False  # the WhatsApp image: notes cut to the summary

    @property
    def margin_in(self) -> float:
        return 0.30 * self.type_pt / 7.2

    @property
    def gap_in(self) -> float:
        return 0.14 * self.type_pt / 7.2


def figure_for(paper: str = "A4", orientation: str = "landscape", size: str | None = None) -> SheetSpec:
    """The sheet of a paper size and orientation, or of the WhatsApp image."""
    w_mm, h_mm = PAPER_MM[paper]
    landscape = orientation == "landscape"
    if not landscape:
        w_mm, h_mm = h_mm, w_mm
    if size == "whatsapp":
        w_in = WHATSAPP_WIDTH_PX / WHATSAPP_DPI
        return SheetSpec(w_in, w_in * h_mm / w_mm, TYPE_PT["whatsapp"], landscape, compact=True)
    return SheetSpec(w_mm / MM_PER_INCH, h_mm / MM_PER_INCH, TYPE_PT[paper], landscape)


def _header(fig, renderer, spec: SheetSpec, layers, ops, settings, _, lang) -> float:
    """Title, subtitle and the simulated-data mark; returns the header's lower edge (inches)."""
    W, H = spec.width_in, spec.height_in
    m, f = spec.margin_in, spec.type_pt
    inch = fig.dpi_scale_trans
    when = st.date_range(layers.summary, settings, lang)
    title = f"{_('4G coverage')}: {layers.area_name} · {', '.join(ops)}"
    fig.set_label(title)
    sub = f"{when} · {settings.district}" if not spec.compact else when
    right = W - m
    boxes = []
    if layers.simulated:
        mark = fig.text(right, H - m, SIM_MARK, transform=inch, ha="right", va="top", fontsize=1.35 * f,
                        fontweight="bold", color="white",
                        bbox=dict(boxstyle="square,pad=0.3", facecolor="#b00020", edgecolor="none"))
        mb = _bbox_in(mark, fig, renderer)
        boxes.append(mb)
        right = mb.x0 - spec.gap_in * 2
    width = right - m
    t1 = fig.text(m, H - m, _wrap_to(fig, renderer, title, width, 2.0 * f, fontweight="bold"), transform=inch,
                  va="top", fontsize=2.0 * f, fontweight="bold")
    b1 = _bbox_in(t1, fig, renderer)
    t2 = fig.text(m, b1.y0 - 0.25 * spec.gap_in, _wrap_to(fig, renderer, sub, width, 1.15 * f), transform=inch,
                  va="top", fontsize=1.15 * f)
    boxes += [b1, _bbox_in(t2, fig, renderer)]
    return min(b.y0 for b in boxes) - spec.gap_in


def _scale_and_north(flow: Flow, renderer, metres_per_inch: float, f: float, lang: str, north: str) -> None:
    """A scale bar in true metres of the map and a north arrow, side by side, at the flow's top."""
    from matplotlib.patches import FancyArrow, Rectangle

    from surveyor.i18n import format_number

    fig, box = flow.fig, flow.box
    inch = fig.dpi_scale_trans
    arrow_w = 0.55 * f / 7.2
    bar_room = box.width - arrow_w - 0.5 * f / 7.2
    length_m = _nice_length(bar_room * 0.8 * metres_per_inch)
    length_in = length_m / metres_per_inch
    h = 0.07 * f / 7.2
    label_gap = 0.03 * f / 7.2
    unit = "m" if length_m < 1000 else "km"
    shown = length_m if unit == "m" else length_m / 1000
    top = flow.y
    # Labels above the bar, the bar under them.
    texts = []
    for frac, val in ((0, 0), (0.5, shown / 2), (1, shown)):
        txt = format_number(val, lang, 0 if float(val).is_integer() else 1)
        if frac == 1:
            txt += f" {unit}"
        t = flow.add(fig.text(box.x0 + frac * length_in, top, txt, transform=inch,
                              ha="left" if frac == 0 else "center",
                              va="top", fontsize=0.9 * f))
        texts.append(t)
    # The last label must not pass the panel: shift it left when it would.
    last = _bbox_in(texts[-1], fig, renderer)
    if last.x1 > box.x0 + bar_room:
        texts[-1].set_ha("right")
        texts[-1].set_x(box.x0 + length_in + 0.02)
    lab_bottom = min(_bbox_in(t, fig, renderer).y0 for t in texts)
    bar_top = lab_bottom - label_gap
    for i in range(4):
        flow.add(fig.add_artist(Rectangle((box.x0 + i * length_in / 4, bar_top - h), length_in / 4, h,
                                          transform=inch, facecolor="black" if i % 2 == 0 else "white",
                                          edgecolor="black", linewidth=0.6, gid="scale-bar")))
    # North arrow at the panel's right edge, as tall as labels plus bar.
    ax_x = box.x1 - arrow_w / 2
    total = top - (bar_top - h)
    n = flow.add(fig.text(ax_x, top, north, transform=inch, ha="center", va="top", fontsize=1.1 * f,
                          fontweight="bold"))
    nb = _bbox_in(n, fig, renderer)
    arrow_len = max(nb.y0 - (bar_top - h) - 0.02, total * 0.4)
    flow.add(fig.add_artist(FancyArrow(ax_x, nb.y0 - 0.02 - arrow_len, 0, arrow_len, width=arrow_w * 0.18,
                                       head_width=arrow_w * 0.55, head_length=min(arrow_len * 0.45, arrow_w * 0.6),
                                       length_includes_head=True, transform=inch, color="black",
                                       gid="north-arrow")))
    flow.bottom = min(bar_top - h, nb.y0 - 0.02 - arrow_len)
    flow.y = flow.bottom - 0.12 * f / 7.2


def _legend(flow: Flow, renderer, handles, f: float, title: str, ncol: int = 1) -> None:
    fig, box = flow.fig, flow.box
    handle_in = 2.0 * f / 72.0
    col_w = box.width / ncol - handle_in - 0.14 * f / 7.2
    for h in handles:
        h.set_label(_wrap_to(fig, renderer, h.get_label().replace("\n", " "), col_w, f))
    while True:
        inch_to_fig = fig.dpi_scale_trans + fig.transFigure.inverted()
        leg = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=inch_to_fig.transform((box.x0, flow.y)),
                         bbox_transform=fig.transFigure, frameon=False, fontsize=f, title=title,
                         title_fontsize=1.15 * f, alignment="left", borderaxespad=0, borderpad=0,
                         handlelength=2.0, handleheight=1.1, labelspacing=0.45, ncols=ncol, columnspacing=1.0)
        b = _bbox_in(leg, fig, renderer)
        if b.width <= box.width + 1e-6 or col_w < 0.3:
            break
        leg.remove()
        col_w *= 0.92
        for h in handles:
            h.set_label(_wrap_to(fig, renderer, h.get_label().replace("\n", " "), col_w, f))
    flow.add(leg)
    flow.bottom = b.y0
    flow.y = b.y0 - 0.12 * f / 7.2


def _text_block(flow: Flow, renderer, text: str, f: float, **kw) -> None:
    fig, box = flow.fig, flow.box
    wrapped = _wrap_to(fig, renderer, text, box.width, f, **kw)
    t = flow.add(fig.text(box.x0, flow.y, wrapped, transform=fig.dpi_scale_trans, va="top", ha="left",
                          fontsize=f, linespacing=1.3, **kw))
    flow.bottom = _bbox_in(t, fig, renderer).y0
    flow.y = flow.bottom - 0.1 * f / 7.2


def _panel(fig, renderer, spec: SheetSpec, boxes: list[Box], layers, ops, settings, _, lang,
           metres_per_inch: float) -> tuple[list[Flow], float]:
    """Fill the panel's columns (legend | scale, notes, sources), shrinking type until they fit.

    Returns the flows and the lowest point reached (inches from the bottom)."""
    base = spec.type_pt
    notes_all = [(_summary(layers, ops, _, lang), {}),
                 (_method(layers, settings, _, lang), {"color": "#222222"}),
                 (_source(layers, settings, _, lang), {"color": "#333333"})]
    if spec.compact:
        notes_all = [notes_all[0], notes_all[2]]
    attempts = []
    factor = 1.0
    drop_method = False
    while True:
        f = base * factor
        flows = [Flow(fig, b, b.y1) for b in boxes]
        handles = legend_handles(layers, ops, _, lang, type_pt=f)
        notes = [n for n in notes_all if not (drop_method and n is notes_all[1] and not spec.compact)]
        if len(flows) == 1:
            col = flows[0]
            _legend(col, renderer, handles, f, _("Legend"))
            _scale_and_north(col, renderer, metres_per_inch, f, lang, _("N"))
            for text, kw in notes:
                _text_block(col, renderer, text, 0.92 * f, **kw)
        else:
            _legend(flows[0], renderer, handles, f, _("Legend"))
            _scale_and_north(flows[1], renderer, metres_per_inch, f, lang, _("N"))
            for text, kw in notes:
                _text_block(flows[1], renderer, text, 0.92 * f, **kw)
        bottoms = [fl.bottom if fl.bottom is not None else fl.y for fl in flows]
        low = min(bottoms)
        fits = all(b >= fl.box.y0 - 1e-6 for b, fl in zip(bottoms, flows))
        attempts.append(f)
        if fits:
            return flows, low
        for fl in flows:
            fl.undo()
        if factor * 0.92 >= MIN_TYPE_FACTOR:
            factor *= 0.92
        elif not drop_method and not spec.compact:
            drop_method, factor = True, 1.0
        else:
            raise RuntimeError(f"the map's notes do not fit the sheet at {attempts[-1]:.1f} pt")  # pragma: no cover


def _sheet(fig, spec: SheetSpec, layers: st.MapLayers, ops: list[str], settings: Settings, lang: str,
           store=None, header: bool = True) -> None:
    """Lay out and draw one sheet (see the module docstring); without ``header`` for a page of the
    report, which has its own heading."""
    from surveyor.geo.areas import utm_crs
    from surveyor.i18n import translator
    from surveyor.render.basemap import zone_access

    _ = translator(lang, DOMAIN)
    renderer = fig.canvas.get_renderer()
    W, H = spec.width_in, spec.height_in
    m, gap, f = spec.margin_in, spec.gap_in, spec.type_pt
    minx, miny, maxx, maxy = layers.bounds()
    crs = utm_crs((minx + maxx) / 2, (miny + maxy) / 2)
    access = {}
    if len(layers.dead_zones):
        access = dict(zip(layers.dead_zones["zone_id"].astype(str),
                          zone_access(layers.dead_zones, layers.basemap, crs)))
    drawer = MapDrawer(layers, crs, lang, type_pt=f, store=store, access=access)
    area_m = drawer.area_bounds_m()
    header_bottom = _header(fig, renderer, spec, layers, ops, settings, _, lang) if header else H - m
    n = len(ops)
    op_title = 1.45 * f / 72.0 + gap if n > 1 else 0.0  # room for each panel's operator name
    if spec.landscape:
        panel_w = min(max(0.27 * W, 2.3 * f / 7.2), 4.0 * f / 7.2)
        maps_box = Box(m, m, W - m - panel_w - 2 * gap, header_bottom)
        panel_boxes = [Box(W - m - panel_w, m, W - m, header_bottom)]
        map_boxes = _arrange(maps_box, n, area_m, gap, op_title)
        metres_per_inch = max(_metres_per_inch(area_m, b) for b in map_boxes)
        flows, _low = _panel(fig, renderer, spec, panel_boxes, layers, ops, settings, _, lang, metres_per_inch)
    else:
        # The panel's height is what its content needs: measured once at the top of the sheet,
        # then laid out for real at the bottom.
        col_w = (W - 2 * m - 2 * gap) / 2
        trial = [Box(m, m, m + col_w, H), Box(m + col_w + 2 * gap, m, W - m, H)]
        est_map = Box(m, m, W - m, header_bottom - 0.3 * H)
        flows, low = _panel(fig, renderer, spec, trial, layers, ops, settings, _, lang,
                            _metres_per_inch(area_m, est_map))
        need = H - low + 0.01  # the same blocks again must fit, float rounding included
        for fl in flows:
            fl.undo()
        panel_top = min(m + need, m + 0.5 * (header_bottom - m))
        panel_boxes = [Box(m, m, m + col_w, panel_top), Box(m + col_w + 2 * gap, m, W - m, panel_top)]
        maps_box = Box(m, panel_top + gap, W - m, header_bottom)
        map_boxes = _arrange(maps_box, n, area_m, gap, op_title)
        metres_per_inch = max(_metres_per_inch(area_m, b) for b in map_boxes)
        flows, _low = _panel(fig, renderer, spec, panel_boxes, layers, ops, settings, _, lang, metres_per_inch)
    for op, box in zip(ops, map_boxes):
        ax = fig.add_axes(box.fig(fig), gid=MAP_GID)
        extent = _extent_for(area_m, box, metres_per_inch)
        drawer.draw(ax, op, extent)
        if n > 1:
            fig.text(box.x0, box.y1 + gap * 0.5, op, transform=fig.dpi_scale_trans, va="bottom", ha="left",
                     fontsize=1.3 * f, fontweight="bold")


def _arrange(region: Box, n: int, area_m, gap: float, title_h: float) -> list[Box]:
    """Boxes for ``n`` maps in ``region``: the grid (columns x rows) that shows the area largest."""
    best: list[Box] = []
    best_scale: float | None = None
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        w = (region.width - (cols - 1) * gap) / cols
        h = (region.height - (rows - 1) * gap) / rows - title_h
        if w <= 0 or h <= 0:
            continue
        boxes = []
        for i in range(n):
            r, c = divmod(i, cols)
            x0 = region.x0 + c * (w + gap)
            top = region.y1 - r * (h + title_h + gap) - title_h
            boxes.append(Box(x0, top - h, x0 + w, top))
        scale = _metres_per_inch(area_m, boxes[0])
        if best_scale is None or scale < best_scale:
            best, best_scale = boxes, scale
    return best


def _metres_per_inch(area_m, box: Box) -> float:
    """The scale that frames the area (with its margin) in ``box``."""
    x0, x1, _y0, _y1 = fill_extent(area_m, box.width, box.height)
    return (x1 - x0) / box.width


def _extent_for(area_m, box: Box, metres_per_inch: float) -> tuple[float, float, float, float]:
    """The map extent of ``box`` at ``metres_per_inch``, centred on the area."""
    cx, cy = (area_m[0] + area_m[2]) / 2, (area_m[1] + area_m[3]) / 2
    hw, hh = box.width * metres_per_inch / 2, box.height * metres_per_inch / 2
    return cx - hw, cx + hw, cy - hh, cy + hh


def sheets(store, settings: Settings, *, paper: str = "A4", orientation: str = "landscape", operators=None,
           lang: str = "id", size: str | None = None, area: str | None = None, one_per_operator: bool = False):
    """The printed map's figures (one per operator for a PDF, one for a PNG), laid out and drawn.

    The figures are matplotlib Figures ready to save; the caller closes them. Used by
    :func:`render_print` and by the layout tests, which measure what is on them.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = figure_for(paper, orientation, size)
    layers = st.map_layers(store, settings, operators=operators, area=area)
    groups = [[op] for op in layers.operators] if one_per_operator else [layers.operators]
    figs = []
    with plt.rc_context(RC):
        for ops in groups:
            fig = plt.figure(figsize=(spec.width_in, spec.height_in), dpi=100)
            _sheet(fig, spec, layers, ops, settings, lang, store=store)
            figs.append(fig)
    return figs


def _zone_extent(drawer: MapDrawer, zone, info: dict, width_in: float, height_in: float,
                 min_span_m: float = 900.0) -> tuple[float, float, float, float]:
    """A dead zone's surroundings: the zone, the road point that leads to it, and room around."""
    import geopandas as gpd

    g = gpd.GeoSeries([zone.geometry], crs="EPSG:4326").to_crs(drawer.crs).iloc[0]
    x0, y0, x1, y1 = g.bounds
    if info.get("road_lat") is not None and info.get("road_distance_m") is not None \
            and float(info["road_distance_m"]) <= 1200:
        rx, ry = drawer.to_metric(float(info["road_lon"]), float(info["road_lat"]))
        x0, y0, x1, y1 = min(x0, rx), min(y0, ry), max(x1, rx), max(y1, ry)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = max(x1 - x0, y1 - y0, min_span_m) / 2 * 1.25
    return fill_extent((cx - half, cy - half, cx + half, cy + half), width_in, height_in, pad=0.0)


def _zone_figure(drawer: MapDrawer, layers: st.MapLayers, zone, info: dict, lang: str, size_in, type_pt: float):
    """A zoomed map of one dead zone, its scale bar and north arrow in a strip under the map."""
    import matplotlib.pyplot as plt

    from surveyor.i18n import translator

    _ = translator(lang, DOMAIN)
    w, h = size_in
    fig: Any = plt.figure(figsize=(w, h), dpi=100)
    renderer = fig.canvas.get_renderer()
    strip = 0.42 * type_pt / 7.2
    box = Box(0.02, strip, w - 0.02, h - 0.02)
    ax = fig.add_axes(box.fig(fig), gid=MAP_GID)
    extent = _zone_extent(drawer, zone, info, box.width, box.height)
    drawer.draw(ax, str(zone["operator"]), extent, focus_zone=str(zone["zone_id"]))
    flow = Flow(fig, Box(0.02, 0.0, min(w * 0.45, 3.2), strip - 0.04), strip - 0.04)
    _scale_and_north(flow, renderer, (extent[1] - extent[0]) / box.width, type_pt, lang, _("N"))
    credits = layers.credits()
    if credits:
        fig.text(w - 0.02, 0.04, "; ".join(credits), transform=fig.dpi_scale_trans, ha="right", va="bottom",
                 fontsize=0.8 * type_pt, color="#333333")
    return fig


def _png(fig, dpi: int) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"optimize": True})
    return buf.getvalue()


def report_maps(store, settings: Settings, *, lang: str = "id", area: str | None = None, layers=None,
                page_in=(7.0, 9.3), zone_in=(7.0, 3.9), dpi: int = 170) -> tuple[list[bytes], dict[str, bytes]]:
    """The report's maps as PNG bytes: a full page per operator (map, legend, scale, notes), and a
    zoomed map per dead zone (with the roads and names around it and the way in from the road)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from surveyor.geo.areas import utm_crs
    from surveyor.render.basemap import zone_access

    layers = layers if layers is not None else st.map_layers(store, settings, area=area)
    pages: list[bytes] = []
    zone_pngs: dict[str, bytes] = {}
    type_pt = TYPE_PT["A4"]
    spec = SheetSpec(page_in[0], page_in[1], type_pt, landscape=False)
    with plt.rc_context(RC):
        for op in layers.operators:
            fig = plt.figure(figsize=page_in, dpi=100)
            try:
                _sheet(fig, spec, layers, [op], settings, lang, store=store, header=False)
                pages.append(_png(fig, dpi))
            finally:
                plt.close(fig)
        zones = layers.dead_zones
        if len(zones):
            minx, miny, maxx, maxy = layers.bounds()
            crs = utm_crs((minx + maxx) / 2, (miny + maxy) / 2)
            access = dict(zip(zones["zone_id"].astype(str), zone_access(zones, layers.basemap, crs)))
            drawer = MapDrawer(layers, crs, lang, type_pt=type_pt * 1.1, store=store, access=access)
            for i in range(len(zones)):
                z = zones.iloc[i]
                fig = _zone_figure(drawer, layers, z, access.get(str(z["zone_id"]), {}), lang, zone_in, type_pt)
                try:
                    zone_pngs[str(z["zone_id"])] = _png(fig, dpi)
                finally:
                    plt.close(fig)
    return pages, zone_pngs


RC: Any = {"font.family": "DejaVu Sans", "hatch.linewidth": 0.45, "pdf.fonttype": 42,
      # A name with "$" from an app export is text, not a formula.
      "text.parse_math": False}


def render_print(store, settings: Settings, out, *, paper="A4", orientation="landscape", operators=None,
                 lang="id", size=None, area=None) -> list[Path]:
    """Write the printable map: a PDF (one page per operator) or a PNG (one image), by suffix.

    Parameters
    ----------
    store
        An open store with an analysis (``surveyor analyze``); its basemap and elevation model are
        drawn when they are there.
    settings
        Survey settings: village, district, operators, thresholds, exclusion zones.
    out
        ``.pdf`` or ``.png`` path, written atomically (replaced if it exists: the command line
        checks ``--overwrite`` and creates missing folders); nothing else is written.
    paper
        ``"A4"`` or ``"A3"``.
    orientation
        ``"landscape"`` or ``"portrait"``.
    operators
        Operators to print (default: the settings' operators that have cells).
    lang
        ``"id"`` or ``"en"``.
    size
        ``"whatsapp"``: a PNG 1600 px wide and under 1 MB, for sending in a chat.
    area
        Village code, for databases that hold several villages.

    Returns
    -------
    list of pathlib.Path
        The files written (one).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    paper = str(paper).upper()
    if paper not in PAPER_MM:
        raise InvalidRequest(f"Unknown paper size {paper!r}.", fix="Use A4 or A3.")
    if orientation not in ("landscape", "portrait"):
        raise InvalidRequest(f"Unknown orientation {orientation!r}.", fix="Use landscape or portrait.")
    if lang not in ("id", "en"):
        raise InvalidRequest(f"Unknown language {lang!r}.", fix="Use id or en.")
    if size not in (None, "whatsapp"):
        raise InvalidRequest(f"Unknown size {size!r}.", fix="Use --size whatsapp or leave it out.")
    p = Path(out)
    suffix = p.suffix.lower()
    if size == "whatsapp" and suffix != ".png":
        raise InvalidRequest("--size whatsapp makes a PNG image.", fix="Give --out with .png, e.g. maps/coverage.png.")
    if suffix not in (".pdf", ".png"):
        raise InvalidRequest(f"{p}: the printed map is a PDF or a PNG.", fix="Give --out ending in .pdf or .png.")
    with plt.rc_context(RC), atomic_path(p) as tmp:
        figs = sheets(store, settings, paper=paper, orientation=orientation, operators=operators, lang=lang,
                      size=size, area=area, one_per_operator=suffix == ".pdf")
        try:
            if suffix == ".pdf":
                title = figs[0].get_label() if figs else "4G coverage"
                with PdfPages(tmp, metadata={"Title": title, "Creator": "surveyor"}) as pdf:
                    for fig in figs:
                        pdf.savefig(fig)
            else:
                dpi = WHATSAPP_DPI if size == "whatsapp" else PRINT_DPI
                figs[0].savefig(tmp, dpi=dpi, pil_kwargs={"optimize": True})
        finally:
            for fig in figs:
                plt.close(fig)
    log.info("wrote %s", p)
    return [p]
