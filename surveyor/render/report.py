"""The advocacy report: a PDF (WeasyPrint) or a single HTML file from Jinja2 templates.

The village sends it to Diskominfo and the operators' regional offices, so every figure in it is
one a telco engineer can check: the rules and their sources, the devices and apps, the dates and
times of day, the sample counts and confidence bounds of each dead zone, and how to reproduce the
analysis. Text is in Bahasa Indonesia or English (gettext domain ``report``), with one way of
writing numbers per language, plural forms from the catalogue, the time zone on every time of
day, and the glossary's words (:mod:`surveyor.i18n.glossary`) for every class.

Pages: a cover; a summary with what the village asks for; coverage per operator; one full-width
map page per operator; one page per dead zone for the telco engineer (a zoomed map with roads and
place names, the way there from the nearest road, the evidence, the serving cells seen there (cell
id, PCI, EARFCN), the time-of-day spread of the samples, and why the terrain makes it dead); the
prediction from terrain, apart from the evidence; method; appendices. A survey marked as simulated
(``surveyor demo``) says "SIMULASI / SIMULATED DATA" on the cover and on every page.

Privacy is applied once, by :func:`surveyor.outputs.layers.load_layer` and the sample filter here:
exclusion zones are always left out; ``anonymize`` leaves out volunteers, device IDs, notes, file
names and sample positions. Without it the report says on its first page that it holds personal
data, and lists who walked which session.

WeasyPrint needs Pango (a system library). It is imported only when a PDF is asked for, and a
missing library becomes a message naming what to install (Windows laptops in village offices
usually lack it) and the HTML alternative.
"""

from __future__ import annotations

import ast
import base64
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from surveyor.config import SETTINGS, Settings
from surveyor.errors import InvalidRequest, PdfUnavailable
from surveyor.files import write_bytes
from surveyor.geo.bearing import COMPASS_POINTS
from surveyor.store.base import Store

TEMPLATE_DIR = Path(__file__).parent / "templates"
REPORT_TEMPLATE = "report.html.j2"
DOMAIN = "report"
RULE_SECTIONS = ("grid", "rules", "evidence", "sites")

TIME_OF_DAY = (("night", "night (before 05:00)", 0, 5), ("morning", "morning (05:00-11:00)", 5, 11),
               ("midday", "midday (11:00-15:00)", 11, 15), ("afternoon", "afternoon (15:00-18:00)", 15, 18),
               ("evening", "evening (after 18:00)", 18, 24))
CLASS_KEYS = ("dead", "marginal", "covered", "insufficient")
# Plural msgids the template and this module use (singular, plural): the catalogue test checks them.
PLURALS = (("{n} dead zone", "{n} dead zones"), ("{n} cell", "{n} cells"), ("{n} sample", "{n} samples"),
           ("{n} session", "{n} sessions"), ("{n} device", "{n} devices"), ("{n} day", "{n} days"),
           ("{n} house", "{n} houses"), ("{n} speed test", "{n} speed tests"))
ZONE_MAP_IN = (7.0, 3.0)  # width, height of a dead zone's map on its page (inches)
PAGE_MAP_IN = (7.0, 9.3)  # an operator's map page
REPORT_MAP_DPI = 170
STAMP = "%Y-%m-%d %H:%M"  # a time on a page; words.local_time adds its zone
TECH_LABELS = {"NR": "5G NR", "LTE": "4G LTE", "UMTS": "3G UMTS", "GSM": "2G GSM", "NONE": "no network",
               None: "unknown technology"}

# The data dictionary printed in the appendix: (layer, column, meaning). Column meanings follow
# docs/layers.md; the English text is the msgid.
DATA_DICTIONARY: tuple[tuple[str, str, str], ...] = (
    ("cells", "h3", "H3 cell index (hexagon about 70 m across at resolution 10)"),
    ("cells", "operator", "operator the cell is judged for"),
    ("cells", "status", "dead, marginal, covered, insufficient or not_surveyed"),
    ("cells", "samples_raw", "signal samples in the cell after the indoor and GPS-accuracy filter"),
    ("cells", "samples_effective", "effective samples: at least 10 s and 20 m apart within a session"),
    ("cells", "negatives_effective", "effective samples without usable 4G"),
    ("cells", "share_negative", "negatives_effective divided by samples_effective"),
    ("cells", "lower_95, upper_95", "one-sided 95% Clopper-Pearson bounds of share_negative"),
    ("cells", "share_no_service, share_2g3g", "share of effective samples with no network, or only 2G/3G"),
    ("cells", "sessions, devices, days", "distinct survey sessions, devices and calendar days"),
    ("cells", "first_seen, last_seen", "first and last sample time (UTC)"),
    ("cells", "rsrp_median_dbm", "median signal (RSRP for 4G/5G) in dBm"),
    ("cells", "speed_tests, speed_failed", "speed tests, and those that failed (could not run or under 5/1 Mbit/s)"),
    ("cells", "weak_signal", "covered or marginal but median RSRP under -105 dBm or only 2G/3G (sinyal lemah)"),
    ("cells", "needs", "for insufficient cells: what evidence is still missing"),
    ("dead_zones", "zone_id", "dead zone ID: operator code and number, ordered by latitude"),
    ("dead_zones", "cells, area_km2", "number of adjacent dead cells and their area in km2"),
    ("dead_zones", "centroid_lat, centroid_lon", "centre of the zone (WGS84 decimal degrees)"),
    ("dead_zones", "nearest_signal_m, nearest_signal_direction",
     "distance and direction to the nearest covered cell of the same operator"),
    ("dead_zones", "nearest_tower_m", "distance to the nearest known tower of the operator"),
    ("sites", "rank, dead_cells_served, radius_m",
     "site suggestion rank per operator, dead cells within the assumed radius, the radius in metres"),
)

LIMITATIONS = (
    "Phones are not calibrated measuring instruments; models differ by a few dB.",
    "Samples follow the footpaths and roads volunteers walked; places off those paths are not surveyed.",
    "Signal varies with time of day, weather and network load; the survey covers the dates and times listed.",
    "Site suggestions count dead cells within a fixed radius; they are not a propagation model.",
)


def _t(lang: str):
    from surveyor.i18n import translator

    return translator(lang, DOMAIN)


# ---------------------------------------------------------------------------------------------
# WeasyPrint and fonts


INSTALL_HINT = (
    "Install the Pango text library that WeasyPrint needs: on Debian/Ubuntu "
    "`sudo apt install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core`; on "
    "Windows install MSYS2 (https://www.msys2.org) and run `pacman -S mingw-w64-x86_64-pango`, then "
    "set WEASYPRINT_DLL_DIRECTORIES=C:\\msys64\\mingw64\\bin; on macOS `brew install pango`. "
    "Or write the report as HTML (--out reports/report.html) and print it to PDF from a browser."
)


def load_weasyprint():
    """Import WeasyPrint, turning a missing system library into a message that names the fix.

    Raises
    ------
    PdfUnavailable
        When WeasyPrint or Pango cannot be loaded.
    """
    try:
        import weasyprint
    except OSError as exc:  # cffi cannot dlopen libpango / libgobject
        raise PdfUnavailable(f"Cannot make a PDF: a system library WeasyPrint needs is missing ({exc}).",
                            fix=INSTALL_HINT) from None
    except ImportError as exc:
        raise PdfUnavailable(f"Cannot make a PDF: WeasyPrint is not installed ({exc}).",
                            fix="Run `pip install weasyprint`, or write HTML with --out reports/report.html.") from None
    return weasyprint


def installed_font_families() -> list[str] | None:
    """Font families fontconfig knows, or None when that cannot be asked (no ``fc-list``)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        res = subprocess.run([fc_list, ":", "family"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return [line.strip() for line in res.stdout.splitlines() if line.strip()]


def check_fonts() -> None:
    """Raise when no font at all is installed: WeasyPrint would then print empty boxes.

    On systems without fontconfig tools (Windows, macOS) the check is skipped: they ship fonts.
    """
    families = installed_font_families()
    if families is not None and not families:
        raise PdfUnavailable("Cannot make a PDF: no fonts are installed, so the text would be empty boxes.",
                            fix="Install a font package: on Debian/Ubuntu `sudo apt install fonts-dejavu-core`.")


# ---------------------------------------------------------------------------------------------
# The numbers


def _local(ts, settings: Settings):
    import pandas as pd

    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return ts.tz_convert(settings.timezone)


def _report_samples(store: Store, settings: Settings, area: str | None):
    """Samples after the exclusion zones and the area filter (never leave the function raw)."""
    import shapely

    from surveyor.outputs.layers import area_of, visible_samples

    df = store.read_samples()
    df = visible_samples(df, settings)  # the survey's scope and the exclusion zones
    if area is not None and len(df):
        geom = area_of(store, settings, area).boundary
        df = df[shapely.contains_xy(geom, df["lon"].to_numpy(float), df["lat"].to_numpy(float))]
    return df.reset_index(drop=True)


def _signal_metric(row_tech: str | None) -> tuple[str, str]:
    if row_tech == "UMTS":
        return "rscp_dbm", "RSCP"
    if row_tech == "GSM":
        return "rssi_dbm", "RSSI"
    return "rsrp_dbm", "RSRP"


def _distinct(series) -> str:
    """Every distinct value of a column, joined (a session normally has one volunteer and device)."""
    return ", ".join(str(v) for v in series.dropna().unique())


def _median(series) -> float | None:
    s = series.dropna()
    return float(s.median()) if len(s) else None


def _status(store: Store, area: str | None):
    """The store's own counts (what ``surveyor status`` prints), of the area when one is named."""
    return store.status(area=area)


def _clean(value):
    return None if isinstance(value, float) and value != value else value


def _hour_bands(times_local: Any) -> list[dict[str, Any]]:
    """Samples per time-of-day band (local hours), with their share, for the spread of a zone."""
    import numpy as np

    n = len(times_local)
    hours = times_local.dt.hour.to_numpy() if n else np.zeros(0, dtype=int)
    out = []
    for key, label, h0, h1 in TIME_OF_DAY:
        k = int(np.count_nonzero((hours >= h0) & (hours < h1)))
        out.append({"key": key, "label": label, "samples": k, "share": (k / n) if n else None})
    return out


def _serving_cells(samples) -> list[dict[str, Any]]:
    """The serving cells phones reported in a zone: cell id, PCI, EARFCN (ARFCN), TAC or LAC,
    technology, how many samples and their median signal, most samples first.

    A cell is its cell id (apps that log no cell id: its PCI and EARFCN); the PCI and EARFCN shown
    are the ones most reported with it (some apps leave them out on some rows).
    """
    import pandas as pd

    if not len(samples):
        return []
    df = samples.copy()
    for c in ("cell_id", "pci", "arfcn", "tech", "tac", "lac", "rsrp_dbm"):
        if c not in df.columns:
            df[c] = None
    df = df[df["cell_id"].notna() | df["pci"].notna() | df["arfcn"].notna()]
    if not len(df):
        return []
    key = df["cell_id"].map(lambda v: f"c{int(v)}" if pd.notna(v) else None)
    key = key.fillna("p" + df["pci"].astype(str) + "/" + df["arfcn"].astype(str))

    def mode(series):
        s = series.dropna()
        return int(s.mode().iloc[0]) if len(s) else None

    out = []
    for _k, g in df.groupby(key, sort=False):
        tech = g["tech"].dropna()
        area_code = mode(g["tac"]) if g["tac"].notna().any() else mode(g["lac"])
        out.append({"cell_id": mode(g["cell_id"]), "pci": mode(g["pci"]), "arfcn": mode(g["arfcn"]),
                    "tech": str(tech.mode().iloc[0]) if len(tech) else None, "tac": area_code,
                    "samples": len(g), "rsrp_median_dbm": _median(g["rsrp_dbm"])})
    out.sort(key=lambda r: (-r["samples"], str(r["cell_id"])))
    return out


def zone_pages(store: Store, settings: Settings, zones, samples, *, lang: str, access: dict[str, dict]
               ) -> list[dict[str, Any]]:
    """What each dead zone's page shows, beside its map: place, way in, evidence, cells, times.

    ``samples`` are the report's samples (exclusion zones applied); those of the zone's operator
    inside its outline are the ones described.
    """
    import shapely

    from surveyor.render import words

    _ = _t(lang)
    out = []
    for z in zones.to_dict("records") if len(zones) else []:
        zid = str(z["zone_id"])
        mine = samples[(samples["operator"] == z["operator"]) & samples["lat"].notna()] if len(samples) else samples
        if len(mine):
            inside = shapely.contains_xy(z["geometry"], mine["lon"].to_numpy(float), mine["lat"].to_numpy(float))
            mine = mine[inside]
        sig = mine[mine["kind"].fillna("signal") != "speed"] if len(mine) else mine
        times = sig["time"].dt.tz_convert(settings.timezone) if len(sig) else sig.get("time")
        info = access.get(zid) or {}
        row = {k: _clean(v) for k, v in z.items() if k != "geometry"}
        out.append({
            "zone_id": zid, "operator": z["operator"],
            "way": words.access_sentence(info, _, lang),
            "road": words.road_label(info, _), "road_lat": info.get("road_lat"), "road_lon": info.get("road_lon"),
            "place": info.get("place_name"), "place_m": info.get("place_distance_m"),
            "houses": info.get("buildings"), "facilities": words.facilities_text(info.get("facilities"), lang),
            "access_source": info.get("source"),
            "terrain": words.terrain_sentence(row, _, lang),
            "cells_seen": _serving_cells(sig),
            "hours": [dict(b, label=_(b["label"])) for b in _hour_bands(times if times is not None else [])],
            "samples_here": len(sig),
            "first_time": words.local_time(sig["time"].min(), settings.timezone, STAMP) if len(sig) else None,
            "last_time": words.local_time(sig["time"].max(), settings.timezone, STAMP) if len(sig) else None,
        })
    return out


def build_context(store: Store, settings: Settings, *, lang: str, area: str | None = None,
                  anonymize: bool = False, maps: list[bytes] | None = None,
                  zone_maps: dict[str, bytes] | None = None, layers=None) -> dict[str, Any]:
    """Everything the template shows, as plain values (numbers still unformatted).

    Raises
    ------
    NothingToDo
        When the geodatabase has no analysis yet (the message says to run ``surveyor analyze``).
    """
    import h3
    import numpy as np
    import pandas as pd

    from surveyor import __version__
    from surveyor.analyse.rules import negative_reasons, speed_failed
    from surveyor.i18n.glossary import label, meaning
    from surveyor.outputs.layers import load_layer, require_analysis
    from surveyor.render import words
    from surveyor.render.style import is_simulated

    summary = require_analysis(store)
    _ = _t(lang)
    cells = load_layer(store, settings, "cells", area=area)
    zones = load_layer(store, settings, "dead_zones", area=area)
    sites = load_layer(store, settings, "sites", area=area)
    samples = _report_samples(store, settings, area)
    rules_used = store.get_meta("analysis_rules") or settings.rules()
    resolution = int(rules_used.get("resolution", settings.resolution))
    cell_km2 = h3.average_hexagon_area(resolution, unit="km^2")
    status = _status(store, area)
    tz_name = words.zone_name(settings.timezone)

    operators = [op for op in settings.operators]
    for frame in (cells, zones, samples):
        if len(frame) and "operator" in frame.columns:
            operators += [op for op in frame["operator"].dropna().unique() if op not in operators]

    # -- the samples: period, devices, apps, times of day, filters ---------------------------------
    sig = samples[samples["kind"].fillna("signal") != "speed"] if len(samples) else samples
    local_times = samples["time"].dt.tz_convert(settings.timezone) if len(samples) else pd.Series([], dtype=object)
    first = local_times.min() if len(samples) else None
    last = local_times.max() if len(samples) else None
    dates = sorted({t.date() for t in local_times}) if len(samples) else []
    session_starts = (samples.groupby(samples["session"].fillna("(none)"))["time"].min()
                      .dt.tz_convert(settings.timezone) if len(samples) else pd.Series([], dtype=object))
    times_of_day = []
    for _key, tod_label, h0, h1 in TIME_OF_DAY:
        n = int(((session_starts.dt.hour >= h0) & (session_starts.dt.hour < h1)).sum()) if len(session_starts) else 0
        if n:
            times_of_day.append({"label": _(tod_label), "sessions": n})
    models = []
    if len(samples):
        by_model = samples.groupby(samples["device_model"].fillna(_("unknown model")))
        for model, g in by_model:
            models.append({"model": model, "devices": int(g["device"].nunique()), "samples": len(g)})
        models.sort(key=lambda m: -m["samples"])
    sources = []
    if len(samples):
        for fmt, g in samples.groupby(samples["source_format"].fillna("?")):
            sources.append({"format": fmt, "samples": len(g), "sessions": int(g["session"].nunique())})
    n_indoor = int((sig["environment"] == "indoor").sum()) if len(sig) else 0
    max_acc = rules_used.get("max_accuracy_m", settings.max_accuracy_m)
    n_inaccurate = int((sig["accuracy_m"] > max_acc).sum()) if len(sig) else 0
    n_unplaced = int(sig["lat"].isna().sum()) if len(sig) else 0
    unknown_acc = float(sig["accuracy_m"].isna().mean()) if len(sig) else None

    # -- coverage per operator (cells) and signal/speed per technology (samples) -------------------
    coverage = []
    predicted = []
    for op in operators:
        c = cells[cells["operator"] == op] if len(cells) else cells
        surveyed = c[c["status"] != "not_surveyed"] if len(c) else c
        n = len(surveyed)
        counts = {k: int((surveyed["status"] == k).sum()) if n else 0 for k in CLASS_KEYS}
        z = zones[zones["operator"] == op] if len(zones) else zones
        coverage.append({
            "operator": op, "cells": n, "area_km2": n * cell_km2,
            "share": {k: (counts[k] / n if n else None) for k in counts}, "counts": counts,
            "dead_zones": len(z), "dead_km2": float(z["area_km2"].sum()) if len(z) else 0.0,
            "weak_cells": int((surveyed["weak_signal"].fillna(False).astype(bool)
                               & surveyed["status"].isin(["covered", "marginal"])).sum()) if n else 0,
        })
        if len(c) and "prediction_shown" in c.columns and "predicted_status" in c.columns:
            shown = c[c["prediction_shown"].fillna(False).astype(bool) & c["predicted_status"].notna()]
            if len(shown):
                predicted.append({"operator": op, "cells": len(shown), "area_km2": len(shown) * cell_km2,
                                  "counts": {k: int((shown["predicted_status"] == k).sum())
                                             for k in ("dead", "marginal", "covered")}})
    by_tech = []
    if len(samples):
        for (op, tech), g in samples.groupby([samples["operator"].fillna("?"), samples["tech"].fillna("?")]):
            s = g[g["kind"].fillna("signal") != "speed"]
            sp = g[g["kind"] == "speed"]
            column, metric = _signal_metric(tech)
            failed = speed_failed(sp, settings)
            by_tech.append({
                "operator": op, "tech": _(TECH_LABELS.get(None if tech == "?" else tech, str(tech))),
                "samples": len(s), "metric": metric if tech != "NONE" else None,
                "median_dbm": _median(s[column]) if tech != "NONE" else None,
                "speed_tests": len(sp), "speed_failed": int(np.sum(failed)),
                "download_mbps": _median(sp["download_mbps"]), "upload_mbps": _median(sp["upload_mbps"]),
                "latency_ms": _median(sp["latency_ms"]),
            })
    negative_share = None
    if len(sig):
        neg = negative_reasons(sig, settings)
        negative_share = float(neg.notna().mean())

    # -- dead zones, their pages, sites, requests --------------------------------------------------
    from surveyor.geo.areas import utm_crs
    from surveyor.render.basemap import load_basemap, zone_access

    access: dict[str, dict] = {}
    if len(zones):
        minx, miny, maxx, maxy = zones.total_bounds
        basemap = layers.basemap if layers is not None else load_basemap(
            store, (minx - 0.03, miny - 0.03, maxx + 0.03, maxy + 0.03))
        access = dict(zip(zones["zone_id"].astype(str),
                          zone_access(zones, basemap, utm_crs((minx + maxx) / 2, (miny + maxy) / 2))))
    zone_rows = []
    for z in zones.sort_values(["operator", "zone_id"]).to_dict("records") if len(zones) else []:
        lat, lon = float(z["centroid_lat"]), float(z["centroid_lon"])
        zone_rows.append({
            **{k: _clean(v) for k, v in z.items() if k != "geometry"},
            "lat": lat, "lon": lon, "coords": f"{lat:.6f}, {lon:.6f}",
            "maps_url": f"https://www.google.com/maps/search/?api=1&query={lat:.6f},{lon:.6f}",
            "signal": (words.format_distance(z.get("nearest_signal_m"), lang) + " " +
                       _(z["nearest_signal_direction"])) if isinstance(z.get("nearest_signal_direction"), str)
            and _clean(z.get("nearest_signal_m")) is not None else None,
            "tower": (words.format_distance(z.get("nearest_tower_m"), lang) + " " +
                      (_(z["nearest_tower_direction"]) if isinstance(z.get("nearest_tower_direction"), str) else ""))
            if _clean(z.get("nearest_tower_m")) is not None else None,
            "first_local": _local(z["first_seen"], settings).date() if z.get("first_seen") else None,
            "last_local": _local(z["last_seen"], settings).date() if z.get("last_seen") else None,
            "map": base64.b64encode(zone_maps[str(z["zone_id"])]).decode("ascii")
            if zone_maps and str(z["zone_id"]) in zone_maps else None,
        })
    details = {d["zone_id"]: d for d in zone_pages(store, settings, zones, samples, lang=lang, access=access)}
    for zr in zone_rows:
        zr["page"] = details.get(str(zr["zone_id"]))
    site_rows = []
    for s in sites.sort_values(["operator", "rank"]).to_dict("records") if len(sites) else []:
        lat, lon = float(s["lat"]), float(s["lon"])
        site_rows.append({**{k: _clean(v) for k, v in s.items() if k != "geometry"}, "lat": lat, "lon": lon,
                          "coords": f"{lat:.6f}, {lon:.6f}",
                          "radius": words.format_distance(s.get("radius_m"), lang),
                          "maps_url": f"https://www.google.com/maps/search/?api=1&query={lat:.6f},{lon:.6f}"})
    requests = [c for c in coverage if c["dead_zones"] or c["weak_cells"]]

    # -- method: rules with their sources --------------------------------------------------------------
    rules = []
    for s in SETTINGS:
        if s.section not in RULE_SECTIONS:
            continue
        value = rules_used.get(s.name, getattr(settings, s.name))
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        digits = (0 if float(value).is_integer() else 2) if numeric else None
        rules.append({"name": s.name, "value": value, "digits": digits, "help": _(s.help),
                      "source": _(s.source) if s.source else "",
                      "changed": s.name in rules_used and rules_used[s.name] != getattr(settings, s.name)})

    # -- personal data (only without --anonymize) -------------------------------------------------
    people, notes, source_files = [], [], []
    if not anonymize and len(samples):
        for session, g in samples.groupby(samples["session"].fillna("(none)")):
            people.append({"session": session, "volunteer": _distinct(g["volunteer"]), "device": _distinct(g["device"]),
                           "model": _distinct(g["device_model"]), "route": _distinct(g["route"]),
                           "start": words.local_time(g["time"].min(), settings.timezone, STAMP),
                           "samples": len(g), "t0": g["time"].min()})
        people.sort(key=lambda p: p["t0"])
        with_notes = samples[samples["note"].fillna("").str.strip() != ""]
        for r in with_notes.sort_values("time").head(200).to_dict("records"):
            notes.append({"time": words.local_time(r["time"], settings.timezone, STAMP),
                          "operator": r.get("operator"), "note": r["note"]})
    merges = store.merges()
    for m in merges:
        source_files.append({"file": None if anonymize else m.source_file, "format": m.format,
                             "read": m.counts.get("read", 0), "added": m.counts.get("added", 0),
                             "quarantined": m.counts.get("quarantined", 0)})

    analysed_at = store.get_meta("analysed_at")
    basemap_meta = store.get_meta("basemap") or {}
    credits = list(layers.credits()) if layers is not None else (
        [basemap_meta.get("attribution")] if basemap_meta.get("attribution") else [])
    return {
        "lang": lang, "settings": settings, "area": area or settings.code, "anonymize": anonymize,
        "village": settings.name, "code": area or settings.code, "district": settings.district,
        "operators": operators, "first": first.date() if first is not None else None,
        "last": last.date() if last is not None else None, "dates": dates, "tz": tz_name,
        "generated": _local(datetime.now(UTC), settings).date(),
        "analysed_at": words.local_time(analysed_at, settings.timezone, STAMP) if analysed_at else None,
        "version": __version__,
        # The survey's counts as ``surveyor status`` gives them (every sample merged), so the report,
        # the command line and the maps say the same numbers.
        "samples": status.samples, "sessions": status.sessions, "devices": status.devices, "days": status.days,
        "signal_samples": len(sig), "analysed_samples": summary.get("samples_used"),
        "speed_tests": int((samples["kind"] == "speed").sum()) if len(samples) else 0,
        "volunteers": int(samples["volunteer"].nunique()) if len(samples) else 0,
        "times_of_day": times_of_day, "models": models, "sources": sources,
        "n_indoor": n_indoor, "n_inaccurate": n_inaccurate, "n_unplaced": n_unplaced,
        "unknown_accuracy_share": unknown_acc, "negative_share": negative_share,
        "exclusion_zones": len(settings.exclusion_zones), "coverage": coverage, "predicted": predicted,
        "by_tech": by_tech, "zones": zone_rows, "sites": site_rows, "requests": requests, "rules": rules,
        "rules_used": rules_used, "resolution": resolution, "cell_km2": cell_km2, "people": people, "notes": notes,
        "source_files": source_files, "limitations": [_(x) for x in LIMITATIONS],
        "dictionary": [{"layer": layer, "column": c, "meaning": _(m)} for layer, c, m in DATA_DICTIONARY],
        "maps": [{"operator": op, "png": base64.b64encode(png).decode("ascii")}
                 for op, png in zip(operators, maps or [])],
        "class_label": {k: label(k, lang) for k in (*CLASS_KEYS, "not_surveyed", "predicted", "dead_zone",
                                                    "blank_spot", "weak_area", "no_service", "2g3g_only")},
        "class_meaning": {k: meaning(k, lang) for k in (*CLASS_KEYS, "not_surveyed", "predicted", "dead_zone")},
        "simulated": is_simulated(store), "credits": credits,
    }


# ---------------------------------------------------------------------------------------------
# Maps (drawn by the printed map's renderer)


def render_maps(store: Store, settings: Settings, *, lang: str, area: str | None,
                layers=None) -> tuple[list[bytes], dict[str, bytes]]:
    """PNG bytes of one full-page map per operator and of a zoomed map per dead zone.

    Drawn in memory by :mod:`surveyor.render.print_map`, so nothing is written beside the report.
    """
    from surveyor.render import print_map

    return print_map.report_maps(store, settings, lang=lang, area=area, layers=layers,
                                 page_in=PAGE_MAP_IN, zone_in=ZONE_MAP_IN, dpi=REPORT_MAP_DPI)



def environment(lang: str):
    """The Jinja2 environment: autoescaping on (input text is untrusted), ``_`` and number filters."""
    import jinja2

    from surveyor.i18n import format_date, format_number, format_percent

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    from surveyor.render import words

    env.globals["_"] = _t(lang)
    env.globals["count"] = lambda singular, plural, n, digits=0: words.count(lang, DOMAIN, singular, plural, n,
                                                                             digits)
    env.filters["dist"] = lambda v: words.format_distance(v, lang)
    env.filters["num"] = lambda v, digits=0: format_number(v, lang, digits)
    env.filters["pct"] = lambda v, digits=0: format_percent(v, lang, digits)
    env.filters["date"] = lambda v: format_date(v, lang) if v is not None else "-"
    return env


def render_html(context: dict[str, Any]) -> str:
    """The report as one self-contained HTML document (maps embedded as data URIs)."""
    return environment(context["lang"]).get_template(REPORT_TEMPLATE).render(**context)


def _local_fetcher(weasyprint):
    """A WeasyPrint URL fetcher that reads only ``data:`` URLs (the maps embedded in the report).

    The report embeds everything it shows; a reference to anything else (a link in a note that a
    later template change lets through, say) must neither reach the network nor read local files.
    """
    import weasyprint.urls as urls

    if hasattr(urls, "URLFetcher"):  # newer WeasyPrint: a class with allowed protocols
        return urls.URLFetcher(allowed_protocols={"data"})

    def fetch(url: str, *args, **kwargs):  # older WeasyPrint: a fetcher is a function
        if url.startswith("data:"):
            return weasyprint.default_url_fetcher(url, *args, **kwargs)
        raise ValueError(f"the report loads nothing from outside itself ({url[:60]})")
    return fetch


def render_report(store: Store, settings: Settings, out: str | os.PathLike, *, lang: str | None = None,
                  area: str | None = None, anonymize: bool = False) -> Path:
    """Write the advocacy report to ``out`` (PDF, or HTML when the suffix is .html/.htm).

    Parameters
    ----------
    store, settings
        The analysed geodatabase and the survey settings.
    out
        The file to write.
    lang
        ``id`` or ``en`` (default: ``settings.language``).
    area
        Only this village (Kemendagri code), for shared databases.
    anonymize
        Leave out volunteers, device IDs, notes, source file names and sample positions.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    out = Path(out)
    lang = lang or settings.language
    if lang not in ("id", "en"):
        raise InvalidRequest(f"Unknown language {lang!r}.", fix="Use --lang id or --lang en.")
    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".html", ".htm"):
        raise InvalidRequest(f"Cannot tell the report format from {out.name!r}.",
                         fix="End --out with .pdf or .html.")
    weasyprint = None
    if suffix == ".pdf":
        # Before any work, so a laptop without Pango learns what to install straight away.
        weasyprint = load_weasyprint()
        check_fonts()
    from surveyor.render.style import map_layers

    layers = map_layers(store, settings, area=area)
    maps, zone_maps = render_maps(store, settings, lang=lang, area=area, layers=layers)
    context = build_context(store, settings, lang=lang, area=area, anonymize=anonymize, maps=maps,
                            zone_maps=zone_maps, layers=layers)
    html = render_html(context)
    data = html.encode("utf-8") if weasyprint is None else weasyprint.HTML(
        string=html, base_url=str(TEMPLATE_DIR), url_fetcher=_local_fetcher(weasyprint)).write_pdf()
    return write_bytes(out, data)


# ---------------------------------------------------------------------------------------------
# Messages, for the catalogue test


def _code_msgids(path: Path) -> set[str]:
    ids = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            ids.add(node.args[0].value)
    return ids


def _template_msgids() -> set[str]:
    import jinja2
    from jinja2 import nodes

    env = jinja2.Environment()
    ids = set()
    for tpl in TEMPLATE_DIR.glob("*.j2"):
        for call in env.parse(tpl.read_text(encoding="utf-8")).find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "_" and call.args \
                    and isinstance(call.args[0], nodes.Const) and isinstance(call.args[0].value, str):
                ids.add(call.args[0].value)
    return ids


def report_msgids() -> list[str]:
    """Every msgid the report (templates, this module) can ask for (exports have their own catalogue)."""
    ids = _template_msgids() | _code_msgids(Path(__file__))
    ids |= {s.help for s in SETTINGS if s.section in RULE_SECTIONS}
    ids |= {s.source for s in SETTINGS if s.section in RULE_SECTIONS and s.source}
    ids |= {label for _k, label, _a, _b in TIME_OF_DAY}
    ids |= _code_msgids(Path(__file__).parent / "words.py")
    from surveyor.render.words import ROAD_WORDS

    ids |= set(ROAD_WORDS.values())
    ids |= set(TECH_LABELS.values()) | set(COMPASS_POINTS) | set(LIMITATIONS)
    ids |= {m for _l, _c, m in DATA_DICTIONARY}
    return sorted(ids)


__all__ = [
    "build_context",
    "check_fonts",
    "load_weasyprint",
    "render_html",
    "render_maps",
    "render_report",
    "report_msgids",
]
