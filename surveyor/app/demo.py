"""``surveyor demo``: the whole job on the bundled, simulated Lipursari sample survey.

init -> merge -> status -> analyze -> dead-zone table -> interactive map -> printable maps ->
report (Indonesian and English) -> exports. Works offline. Every path written is returned (and
printed by the CLI), all inside the one folder the user named.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from surveyor.errors import OutputExists, PdfUnavailable

MARKER = ".surveyor-demo"


def run_demo(out_dir: str | Path = "surveyor-demo", *, lang: str = "id",
             say: Callable[[str], None] = lambda m: None) -> list[Path]:
    """Run every stage on the sample survey in ``out_dir``; returns the paths written.

    A folder made by an earlier demo (it holds the marker file) is emptied and reused; any other
    folder that is not empty is refused, so the demo never overwrites a real survey.
    """
    from surveyor.analyse import analyze
    from surveyor.outputs.zones import read_zones, zones_table
    from surveyor.config import load_settings
    from surveyor.export import export_layer
    from surveyor.ingest.merge import MergeOptions, merge_sources
    from surveyor.app.project import bundled_samples_dir, init_project
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
        say("merging the simulated Lipursari sample survey ...")
        merged = merge_sources(store, [str(samples)], MergeOptions(tz=settings.timezone),
                               progress=lambda r: say(f"{r.file} [{r.format}]: {r.read} rows, {r.added} added"))
        say(f"{merged.files} files, {merged.read} rows: {merged.added} samples added, "
            f"{merged.quarantined} quarantined")
        st = store.status()
        say(f"{st.samples} samples ({', '.join(f'{k} {v}' for k, v in st.by_operator.items())}) in "
            f"{st.sessions} sessions on {st.days} days, {st.first[:10]} .. {st.last[:10]}")
        say("analysing coverage ...")
        summary = analyze(store, settings)
        for op, s in summary.operators.items():
            say(f"{op}: {s.dead_zones} dead zones, {s.dead_area_km2:.3f} km2; cells "
                + ", ".join(f"{k} {v}" for k, v in s.cells.items()))
        zones = read_zones(store)
        if len(zones):
            say("\n" + zones_table(zones))
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
        written.append(export_layer(store, settings, root / "reports" / "blankspot-lipursari.xlsx",
                                    fmt="blankspot"))
        written.append(export_layer(store, settings, root / "reports" / "dead-zones.kml", layer="dead_zones",
                                    fmt="kml", lang=lang))
        written.append(export_layer(store, settings, root / "reports" / "cells.geojson", layer="cells",
                                    fmt="geojson"))
    return written
