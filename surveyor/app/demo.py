"""``surveyor demo``: the whole job on the bundled, simulated Lipursari sample survey.

init -> merge -> status -> analyze -> dead-zone table -> interactive map -> printable maps ->
report (Indonesian and English) -> exports. Works offline. Every path written is returned (and
printed by the CLI), all inside the one folder the user named.

The sample survey is simulated, but it walks Lipursari's real boundary and names real operators:
a map of it shown at a village meeting, or forwarded on WhatsApp, must not be taken for a
measurement. So the demo marks its survey as simulated (:func:`mark_simulated`, a ``meta`` key)
and every output made from it, now or later, carries "SIMULASI / SIMULATED DATA": the map's
header, the printed maps and PNG, the report's cover and every page, and the blank-spot sheet.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from surveyor.errors import OutputExists, PdfUnavailable

MARKER = ".surveyor-demo"
SIMULATED_MARK = "SIMULASI / SIMULATED DATA"


def mark_simulated(store, note: str = "surveyor demo: the bundled sample survey, simulated") -> None:
    """Mark a survey as simulated data: every map, print and report made from it says so."""
    from surveyor.render.style import SIMULATED_KEY

    store.set_meta(SIMULATED_KEY, {"note": note})


def mark_sheet(path: Path) -> None:
    """Put the simulated-data mark on the blank-spot sheet (XLSX): a first row in red over the
    table, and the sheet's name and header say it too."""
    from openpyxl import load_workbook
    from openpyxl.styles import Font, PatternFill

    wb = load_workbook(path)
    for ws in wb.worksheets:
        ws.insert_rows(1)
        cell = ws.cell(row=1, column=1, value=f"{SIMULATED_MARK}: "
                       "data simulasi dari contoh surveyor, bukan pengukuran / simulated sample data, "
                       "not a measurement")
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="B00020")
        ws.oddHeader.center.text = SIMULATED_MARK
        ws.title = ("SIMULASI " + ws.title)[:31]
    wb.save(path)


@dataclass(frozen=True)
class DemoTexts:
    """How the demo's progress is said: ``step("merge" | "analyze")``, each merged file, the merge's
    and the analysis's results, the dead-zone table. The defaults are plain English."""

    step: Callable[[str], str] = lambda key: {"merge": "merging the simulated Lipursari sample survey ...",
                                              "analyze": "analysing coverage ..."}[key]
    file: Callable[[Any], str] = lambda r: f"{r.file} [{r.format}]: {r.read} rows, {r.added} added"
    merged: Callable[[Any, str], str] = lambda m, db: (f"{m.files} files, {m.read} rows: {m.added} samples added, "
                                                       f"{m.quarantined} quarantined")
    analysed: Callable[[Any, str], str] = lambda a, db: "\n".join(
        f"{op}: dead zones {s.dead_zones} ({s.dead_area_km2:.3f} km2); cells "
        + ", ".join(f"{k} {v}" for k, v in s.cells.items()) for op, s in a.operators.items())
    zones: Callable[[Any], str] = lambda z: _zones_table(z)


def _zones_table(zones) -> str:
    from surveyor.outputs.zones import zones_table

    return zones_table(zones)


def run_demo(out_dir: str | Path = "surveyor-demo", *, lang: str = "id",
             say: Callable[[str], None] = lambda m: None, texts: DemoTexts | None = None) -> list[Path]:
    """Run every stage on the sample survey in ``out_dir``; returns the paths written.

    ``say`` gets the progress in words; ``texts`` says them (the command line passes its own, in
    its language; plain English otherwise).

    A folder made by an earlier demo (it holds the marker file) is emptied and reused; any other
    folder that is not empty is refused, so the demo never overwrites a real survey.
    """
    from surveyor.analyse import analyze
    from surveyor.app.project import bundled_samples_dir, init_project
    from surveyor.config import load_settings
    from surveyor.export import export_layer
    from surveyor.ingest.merge import MergeOptions, merge_sources
    from surveyor.outputs.zones import read_zones
    from surveyor.render.html_map import render_map
    from surveyor.render.print_map import render_print
    from surveyor.render.report import render_report
    from surveyor.store import open_store

    root = Path(out_dir)
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise OutputExists(str(root), fix="The demo writes into a new folder: give another --out.")
        shutil.rmtree(root)
    written = [p for p in init_project(root, language=lang) if p.is_file()]
    (root / MARKER).write_text("made by `surveyor demo`; the next demo empties this folder\n")
    settings = load_settings(root / "survey.toml")

    samples = root / "samples"
    shutil.copytree(bundled_samples_dir(), samples, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    db = str(root / "survey.gpkg")
    with open_store(db) as store:
        mark_simulated(store)
        t = texts or DemoTexts()
        say(t.step("merge"))
        merged = merge_sources(store, [str(samples)], MergeOptions(tz=settings.timezone),
                               progress=lambda r: say(t.file(r)))
        say(t.merged(merged, db))
        say(t.step("analyze"))
        summary = analyze(store, settings)
        say(t.analysed(summary, db))
        zones = read_zones(store)
        if len(zones):
            say("\n" + t.zones(zones))
        written.append(render_map(store, settings, root / "maps" / "coverage.html", lang=lang))
        written += render_print(store, settings, root / "maps" / "coverage-a3.pdf", paper="A3", lang=lang)
        written += render_print(store, settings, root / "maps" / "coverage-whatsapp.png", size="whatsapp",
                                lang=lang)
        for name, report_lang in (("laporan-lipursari", "id"), ("report-lipursari-en", "en")):
            try:
                written.append(render_report(store, settings, root / "reports" / f"{name}.pdf", lang=report_lang))
            except PdfUnavailable as exc:
                # A fresh machine may lack Pango; the same report as one HTML file still serves.
                say(f"{exc} Writing {name}.html instead.")
                written.append(render_report(store, settings, root / "reports" / f"{name}.html", lang=report_lang))
        sheet = export_layer(store, settings, root / "reports" / "blankspot-lipursari.xlsx", fmt="blankspot")
        mark_sheet(sheet)
        written.append(sheet)
        written.append(export_layer(store, settings, root / "reports" / "dead-zones.kml", layer="dead_zones",
                                    fmt="kml", lang=lang))
        written.append(export_layer(store, settings, root / "reports" / "cells.geojson", layer="cells",
                                    fmt="geojson"))
    return written
