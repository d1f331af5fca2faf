"""The printable coverage map: matplotlib/geopandas, no browser and no network.

A PDF has one page per operator: at village scale a 70 m cell is a few millimetres on A4, and
putting operators side by side would halve that, so each operator gets the full sheet. A PNG is
one image (the path named, nothing else): operators side by side in landscape, one above the other
in portrait. Classes carry hatching as well as colour so a greyscale photocopy still tells them
apart, and dead zones carry their IDs as text.

Drawing happens in the UTM zone of the area (EPSG:32749 for Lipursari), so the scale bar is in
true metres and grid north is within a degree of true north.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from surveyor.config import Settings
from surveyor.errors import InvalidRequest
from surveyor.files import atomic_path
from surveyor.render import style as st

log = logging.getLogger(__name__)

DOMAIN = "map"
PAPER_MM = {"A4": (297.0, 210.0), "A3": (420.0, 297.0)}  # landscape (width, height)
MM_PER_INCH = 25.4
PRINT_DPI = 200  # PNG at paper size
WHATSAPP_WIDTH_PX = 1600
WHATSAPP_DPI = 160


def _blend(colour: str, alpha: float) -> tuple[float, float, float]:
    """The solid colour of ``colour`` at ``alpha`` over white paper (PDFs print flat colours better)."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return (1 - alpha + alpha * r, 1 - alpha + alpha * g, 1 - alpha + alpha * b)


def print_colour(cls: st.CoverageClass) -> tuple[float, float, float]:
    """Face colour of a class on paper."""
    return _blend(cls.colour, cls.fill_opacity)


def _nice_length(max_m: float) -> float:
    """A round scale-bar length (1, 2, 2.5 or 5 times a power of ten) not longer than ``max_m``."""
    import math

    if max_m <= 0:
        return 1.0
    p = 10 ** math.floor(math.log10(max_m))
    for f in (5, 2.5, 2, 1):
        if f * p <= max_m:
            return f * p
    return p


def _scale_bar(ax, lang: str) -> None:
    from matplotlib.patches import Rectangle

    from surveyor.i18n import format_number

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length((x1 - x0) * 0.25)
    h = (y1 - y0) * 0.012
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    ax.add_patch(Rectangle((bx - length * 0.06, by - h * 1.5), length * 1.25, h * 5.2, facecolor="white",
                           edgecolor="none", alpha=0.85, zorder=20))
    for i in range(4):
        ax.add_patch(Rectangle((bx + i * length / 4, by), length / 4, h, facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.8, zorder=21))
    unit = "m" if length < 1000 else "km"
    shown = length if unit == "m" else length / 1000
    for frac, val in ((0, 0), (0.5, shown / 2), (1, shown)):
        ax.text(bx + frac * length, by + h * 1.6, format_number(val, lang, 0 if float(val).is_integer() else 1),
                ha="center", va="bottom", fontsize=7, zorder=22)
    ax.text(bx + length * 1.08, by + h * 0.5, unit, ha="left", va="center", fontsize=7, zorder=22)


def _north_arrow(ax, letter: str) -> None:
    ax.annotate(letter, xy=(0.95, 0.94), xytext=(0.95, 0.84), xycoords="axes fraction",
                ha="center", va="center", fontsize=12, fontweight="bold", zorder=22,
                arrowprops=dict(facecolor="black", edgecolor="black", width=4, headwidth=11, headlength=10),
                bbox=dict(boxstyle="circle,pad=0.15", facecolor="white", edgecolor="none", alpha=0.8))


def _polygons(geoms) -> list:
    """Exterior rings (N x 2 arrays) of polygon geometries, for a PolyCollection."""
    import numpy as np

    out = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        for part in getattr(g, "geoms", [g]):
            if part.geom_type == "Polygon":
                out.append(np.asarray(part.exterior.coords)[:, :2])
    return out


def _lines(geoms) -> list:
    """All rings/lines (N x 2 arrays) of geometries, for a LineCollection."""
    import numpy as np
    import shapely

    out = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        b = g.boundary if g.geom_type in ("Polygon", "MultiPolygon") else g
        for part in getattr(b, "geoms", [b]):
            out.append(np.asarray(shapely.get_coordinates(part)))
    return out


def _draw_operator(ax, layers: st.MapLayers, op: str, crs: str, _, lang: str) -> None:
    """One operator's coverage, dead zones, sites, towers and the boundary on ``ax`` (UTM).

    Plain matplotlib collections rather than GeoDataFrame.plot, which redraws the whole figure
    after every call (seconds per page).
    """
    import geopandas as gpd
    from matplotlib.collections import LineCollection, PolyCollection

    cells = layers.cells[layers.cells["operator"].astype(str) == op].to_crs(crs)
    for cls in reversed(st.CLASSES):
        part = cells[cells["status"] == cls.key]
        if len(part) == 0:
            continue
        ax.add_collection(PolyCollection(
            _polygons(part.geometry), facecolors=[print_colour(cls)],
            edgecolors=[cls.edge if cls.key != "dead" else "#5A2000"], hatch=cls.hatch or None,
            linewidths=0.5 if cls.dashed else 0.3, linestyles="--" if cls.dashed else "-", zorder=2))
    zones = layers.dead_zones
    if len(zones):
        zones = zones[zones["operator"].astype(str) == op].to_crs(crs)
        if len(zones):
            ax.add_collection(LineCollection(_lines(zones.geometry), colors=st.DEAD_ZONE_EDGE, linewidths=1.6,
                                             zorder=5))
            for row in zones.itertuples(index=False):
                p = row.geometry.representative_point()
                ax.text(p.x, p.y, str(row.zone_id), ha="center", va="center", fontsize=7, fontweight="bold",
                        zorder=9, clip_on=True, bbox=dict(boxstyle="round,pad=0.2", facecolor="white",
                                                          edgecolor="black", linewidth=0.6))
    if layers.boundary is not None and not layers.boundary.is_empty:
        b = gpd.GeoSeries([layers.boundary], crs="EPSG:4326").to_crs(crs)
        ax.add_collection(LineCollection(_lines(b), colors=st.BOUNDARY_COLOUR, linewidths=1.8, zorder=6))
    if len(layers.dusun):
        dus = layers.dusun.to_crs(crs)
        ax.add_collection(LineCollection(_lines(dus.geometry), colors=st.DUSUN_COLOUR, linewidths=0.8,
                                         linestyles=[(0, (5, 3))], zorder=6))
        for row in dus.itertuples(index=False):
            p = row.geometry.representative_point()
            ax.text(p.x, p.y, str(row.name), ha="center", va="center", fontsize=7, style="italic",
                    color="#222222", zorder=8, clip_on=True)
    sites = layers.sites
    if len(sites):
        sites = sites[sites["operator"].astype(str) == op].to_crs(crs)
        for row in sites.itertuples(index=False):
            ax.plot(row.geometry.x, row.geometry.y, marker="*", markersize=14, markerfacecolor=st.SITE_COLOUR,
                    markeredgecolor="black", markeredgewidth=0.8, zorder=10, linestyle="none")
            ax.annotate(f"S{int(row.rank)}", (row.geometry.x, row.geometry.y), xytext=(7, 5),
                        textcoords="offset points", fontsize=7, fontweight="bold", zorder=10)
    towers = layers.towers
    if len(towers):
        towers = towers[(towers["operator"].astype(str) == op) | towers["operator"].isna()].to_crs(crs)
        if len(towers):
            ax.plot(towers.geometry.x, towers.geometry.y, marker="^", markersize=7, markerfacecolor="white",
                    markeredgecolor="black", markeredgewidth=1.2, linestyle="none", zorder=10)


def _legend_handles(layers: st.MapLayers, op: str, _) -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    present = set(layers.cells.loc[layers.cells["operator"].astype(str) == op, "status"].astype(str))
    handles = []
    for cls in st.CLASSES:
        if cls.key not in present and cls.key != "not_surveyed":
            continue
        handles.append(Patch(facecolor=print_colour(cls), edgecolor=cls.edge if cls.key != "dead" else "#5A2000",
                             hatch=cls.hatch or None, linestyle="--" if cls.dashed else "-", label=_(cls.label)))
    handles.append(Patch(facecolor="white", edgecolor="black", linewidth=1.6, label=_("Dead zone outline with its ID")))
    handles.append(Line2D([], [], color=st.BOUNDARY_COLOUR, linewidth=1.8, label=_("Village boundary")))
    if len(layers.dusun):
        handles.append(Line2D([], [], color=st.DUSUN_COLOUR, linewidth=0.8, linestyle="--", label=_("Dusun boundary")))
    if len(layers.sites):
        handles.append(Line2D([], [], marker="*", markersize=11, markerfacecolor=st.SITE_COLOUR,
                              markeredgecolor="black", linestyle="none",
                              label=_("Suggested site for an operator to consider")))
    if len(layers.towers):
        handles.append(Line2D([], [], marker="^", markersize=7, markerfacecolor="white", markeredgecolor="black",
                              linestyle="none", label=_("Known tower (estimated position)")))
    return handles


def _summary_text(layers: st.MapLayers, ops: list[str], settings: Settings, _, lang: str) -> str:
    from surveyor.i18n import format_number

    s = layers.summary
    lines = []
    for op in ops:
        counts = s.get("by_status", {}).get(op, {})
        parts = [f"{_(st.CLASS_BY_KEY[k].label)}: {format_number(counts.get(k, 0), lang)}"
                 for k in ("dead", "marginal", "covered", "insufficient", "not_surveyed") if counts.get(k)]
        n_zones = int((layers.dead_zones["operator"].astype(str) == op).sum()) if len(layers.dead_zones) else 0
        lines.append(f"{op} — " + _("cells") + ": " + "; ".join(parts))
        lines.append("    " + _("Dead zones: {n}").format(n=format_number(n_zones, lang)))
    lines.append(_("Measurements: {samples} · survey walks: {sessions} · days: {days}.").format(
        samples=format_number(s.get("samples"), lang), sessions=format_number(s.get("sessions"), lang),
        days=format_number(s.get("days"), lang)))
    return "\n".join(lines)


def _method_text(layers: st.MapLayers, settings: Settings, _, lang: str) -> str:
    import textwrap

    from surveyor.i18n import format_number

    values = st.explain_values(settings, lang)
    import h3

    edge = round(h3.average_hexagon_edge_length(layers.resolution, unit="m") * 2, -1)
    text = _("A place is a hexagon of about {size} m. A check is one measurement at least {gap_s} s and "
             "{dist_m} m from the previous one. No usable 4G means no signal, only 2G/3G, or signal "
             "(RSRP) below {rsrp_dbm} dBm.").format(
        size=format_number(edge, lang), gap_s=format_number(settings.effective_min_gap_s, lang),
        dist_m=format_number(settings.effective_min_distance_m, lang), rsrp_dbm=values["rsrp_dbm"])
    classes = [f"{_(c.label)}: {_(c.explain).format(**values)}" for c in st.CLASSES]
    out = [textwrap.fill(text, 58)] + [textwrap.fill(c, 58, subsequent_indent="  ") for c in classes]
    if layers.rolled_up:
        out.append(textwrap.fill(_("The area is large, so small cells are summarised into larger ones."), 58))
    return "\n".join(out)


def _sheet(fig, layers: st.MapLayers, ops: list[str], settings: Settings, lang: str, landscape: bool,
           compact: bool = False) -> None:
    """Draw one sheet: title, one map panel per operator, legend, summary, method, source."""
    from surveyor.geo.areas import utm_crs
    from surveyor.i18n import format_date, translator

    _ = translator(lang, DOMAIN)
    minx, miny, maxx, maxy = layers.bounds()
    crs = utm_crs((minx + maxx) / 2, (miny + maxy) / 2)
    side = 0.0 if compact else 0.30
    n = len(ops)
    # Map panels: side by side in landscape, stacked in portrait; the text column on the right
    # (landscape) or at the bottom (portrait).
    top, bottom = 0.88, 0.04
    title_size = 16 if not compact else 13
    when = st.date_range(layers.summary, settings, lang)
    fig.text(0.02, 0.975, f"{_('4G coverage')}: {layers.area_name}", fontsize=title_size, fontweight="bold",
             va="top")
    fig.text(0.02, 0.975 - (0.045 if not compact else 0.05),
             f"{', '.join(ops)} · {when}" + ("" if compact else f" · {settings.district}"), fontsize=10, va="top")
    if landscape:
        width = (1 - side - 0.03) / n
        boxes = [(0.015 + i * width, bottom, width - 0.01, top - bottom) for i in range(n)]
        text_box = (1 - side + 0.005, bottom, side - 0.02, top - bottom)
    else:
        side_h = 0.0 if compact else 0.30
        height = (top - bottom - side_h) / n
        boxes = [(0.03, bottom + side_h + (n - 1 - i) * height, 0.94, height - 0.01) for i in range(n)]
        text_box = (0.03, bottom, 0.94, side_h - 0.01)
    for op, box in zip(ops, boxes):
        ax = fig.add_axes(box)
        _draw_operator(ax, layers, op, crs, _, lang)
        # Frame the village (with a margin), keeping metres square.
        import geopandas as gpd
        from shapely.geometry import box as sbox

        x0, y0, x1, y1 = gpd.GeoSeries([sbox(minx, miny, maxx, maxy)], crs="EPSG:4326").to_crs(crs).total_bounds
        pad = max(x1 - x0, y1 - y0) * 0.06
        ax.set_xlim(x0 - pad, x1 + pad)
        ax.set_ylim(y0 - pad, y1 + pad)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_linewidth(0.6)
        if n > 1 or compact:
            ax.set_title(op, fontsize=11, fontweight="bold", loc="left")
        _scale_bar(ax, lang)
        _north_arrow(ax, _("N"))
        if compact:
            ax.legend(handles=_legend_handles(layers, op, _), loc="lower right", fontsize=6.5, framealpha=0.9)
    printed = format_date(st.local_date(datetime.now(timezone.utc), settings), lang)  # same zone as analysed
    analysed = layers.summary.get("analysed_at")
    source = _("Source: surveyor field survey; analysed {analysed}; printed {printed}.").format(
        analysed=format_date(st.local_date(analysed, settings), lang) if analysed else "-", printed=printed)
    if compact:
        fig.text(0.02, 0.012, source + " " + _summary_text(layers, ops, settings, _, lang).splitlines()[-1],
                 fontsize=7, va="bottom")
        return
    tx = fig.add_axes(text_box)
    tx.axis("off")
    leg = tx.legend(handles=_legend_handles(layers, ops[0], _), loc="upper left", fontsize=8,
                    title=_("Legend"), title_fontsize=9, frameon=False, alignment="left")
    leg._legend_box.align = "left"
    body = _summary_text(layers, ops, settings, _, lang) + "\n\n" + _method_text(layers, settings, _, lang) + \
        "\n\n" + source
    import textwrap

    body = "\n".join(textwrap.fill(line, 62, subsequent_indent="  ") if len(line) > 62 else line
                     for line in body.splitlines())
    tx.text(0, 0, body, fontsize=6.6 if landscape else 6.8, va="bottom", ha="left", transform=tx.transAxes,
            linespacing=1.3)


def render_print(store, settings: Settings, out, *, paper="A4", orientation="landscape", operators=None,
                 lang="id", size=None, area=None) -> list[Path]:
    """Write the printable map: a PDF (one page per operator) or a PNG (one image), by suffix.

    Parameters
    ----------
    store
        An open store with an analysis (``surveyor analyze``).
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
        ``"whatsapp"``: a PNG about 1600 px wide and under 1 MB, for sending in a chat.
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
    layers = st.map_layers(store, settings, operators=operators, area=area)
    w_mm, h_mm = PAPER_MM[paper]
    landscape = orientation == "landscape"
    if not landscape:
        w_mm, h_mm = h_mm, w_mm
    figsize = (w_mm / MM_PER_INCH, h_mm / MM_PER_INCH)
    # parse_math off: a name with "$" from an app export is text, not a formula.
    rc = {"font.family": "DejaVu Sans", "hatch.linewidth": 0.5, "pdf.fonttype": 42, "text.parse_math": False}
    with plt.rc_context(rc), atomic_path(p) as tmp:
        if suffix == ".pdf":
            with PdfPages(tmp, metadata={"Title": f"4G coverage: {layers.area_name}", "Creator": "surveyor"}) as pdf:
                for op in layers.operators:
                    fig = plt.figure(figsize=figsize)
                    _sheet(fig, layers, [op], settings, lang, landscape)
                    pdf.savefig(fig)
                    plt.close(fig)
        else:
            if size == "whatsapp":
                w_in = WHATSAPP_WIDTH_PX / WHATSAPP_DPI
                fig = plt.figure(figsize=(w_in, w_in * (figsize[1] / figsize[0])))
                _sheet(fig, layers, layers.operators, settings, lang, landscape, compact=True)
                fig.savefig(tmp, dpi=WHATSAPP_DPI, pil_kwargs={"optimize": True})
            else:
                fig = plt.figure(figsize=figsize)
                _sheet(fig, layers, layers.operators, settings, lang, landscape)
                fig.savefig(tmp, dpi=PRINT_DPI, pil_kwargs={"optimize": True})
            plt.close(fig)
    log.info("wrote %s", p)
    return [p]
