"""``surveyor analyze``: judge coverage per H3 cell and operator, find dead zones and site
suggestions, and write them back as layers (a thin layer over :func:`surveyor.analyse.analyze`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from surveyor.cli.options import area_option, config_option, db_option, json_option, load_settings

if TYPE_CHECKING:  # the analysis imports numpy and pandas: not at `--help` time
    from surveyor.analyse.summary import AnalysisSummary


def summary_text(summary: AnalysisSummary, db: str) -> str:
    """The short human summary printed after an analysis."""
    labels = {"indoor": "indoor", "accuracy": "GPS accuracy worse than the limit", "unplaced": "without a position",
              "excluded": "in exclusion zones", "no_time": "without a time", "no_operator": "without an operator"}
    parts = [f"{v:,} {labels.get(k, k)}" for k, v in summary.left_out.items() if v]
    lines = [f"Analysed {summary.samples_read:,} samples at H3 resolution {summary.resolution}: "
             f"{summary.samples_used:,} used ({summary.effective_samples:,} effective signal samples, "
             f"{summary.speed_tests:,} speed tests)" + (f"; left out {', '.join(parts)}" if parts else "") + "."]
    if summary.unknown_accuracy_share:
        lines.append(f"GPS accuracy unknown for {100 * summary.unknown_accuracy_share:.0f}% of signal samples (kept).")
    for op, n in summary.other_operators.items():
        lines.append(f"{n:,} samples of {op} not analysed (add it to operators in survey.toml).")
    for op, s in summary.operators.items():
        c = s.cells
        lines.append(f"{op}: {c['dead']} dead, {c['marginal']} marginal, {c['covered']} covered, "
                     f"{c['insufficient']} insufficient, {c['not_surveyed']} not surveyed cells; "
                     f"{s.dead_zones} dead zone{'s' if s.dead_zones != 1 else ''} ({s.dead_area_km2:.2f} km2)"
                     + (f": {', '.join(s.zone_ids)}" if s.zone_ids else "")
                     + f"; {s.sites} site suggestion{'s' if s.sites != 1 else ''}.")
    if summary.outside_area_cells:
        lines.append(f"{summary.outside_area_cells} surveyed cells lie outside the area boundary (kept, flagged).")
    lines.append(f"Layers cells, dead_zones, sites written to {db}. "
                 "Next: `surveyor deadzones`, `surveyor revisit`, `surveyor map`.")
    return "\n".join(lines) + "\n"


@click.command(name="analyze")
@db_option
@click.option("--resolution", type=int, default=None, metavar="N",
              help="H3 resolution of the cells, 5-12 (default: survey.toml's, 10 = cells of about 70 m).")
@area_option
@config_option
@json_option
def command(db: str, resolution: int | None, area: str | None, config: str | None, as_json: bool) -> None:
    """Judge coverage per H3 cell and operator; find dead zones and site suggestions.

    Writes the layers cells, dead_zones and sites into the geodatabase (replacing earlier ones;
    with --area only that area's rows) with the rules used. On a PostGIS database the samples are
    counted inside the server. Prints a short summary per operator, or JSON with --json.
    """
    from surveyor.analyse import analyze
    from surveyor.store import open_store

    settings = load_settings(config, required=config is not None, resolution=resolution)
    with open_store(db) as store:
        summary = analyze(store, settings, area=area)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=1))
    else:
        click.echo(summary_text(summary, db), nl=False)
