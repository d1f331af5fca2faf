"""``surveyor analyze``: judge coverage per H3 cell and operator, find dead zones and site
suggestions, and write them back as layers (a thin layer over :func:`surveyor.analyse.analyze`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from surveyor.cli.options import all_data_option, check_flags, config_option, db_option, json_option, survey_settings

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
@config_option
@json_option
@all_data_option
def command(db: str, resolution: int | None, config: str | None, as_json: bool, all_data: bool) -> None:
    """Judge coverage per H3 cell and operator; find dead zones and site suggestions.

    Writes the layers cells, dead_zones and sites into the geodatabase (replacing earlier ones)
    with the rules used. Prints a short summary per operator, or JSON with --json.
    """
    from surveyor.analyse import analyze
    from surveyor.store import open_store
    from surveyor.store.survey import remember

    check_flags(resolution=resolution)
    # The analysis writes into the database only: without settings of its own it uses the
    # defaults and records them, as merge does (outputs then find them in the database).
    settings = survey_settings(db, config, required=False, resolution=resolution, all_data=all_data)
    with open_store(db) as store:
        remember(store, settings)
        summary = analyze(store, settings)
        outside = None if as_json or settings.out_of_scope == "include" else _outside_scope(store, settings)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=1))
    else:
        click.echo(summary_text(summary, db), nl=False)
        if outside:
            click.echo(f"Left out as outside the survey's scope: {outside} (--all-data includes them).", err=True)


def _outside_scope(store, settings) -> str:
    """What the survey's scope left out of the analysis, in words ('' when nothing)."""
    from surveyor.geo.scope import scope_masks

    samples = store.read_samples(["time", "lat", "lon", "operator"])
    if not len(samples):
        return ""
    masks = scope_masks(samples, settings)
    parts = [(int(masks["far"].sum()), "far from the area"),
             (int((masks["old"] & ~masks["far"]).sum()), "outside the period"),
             (int((masks["other_operator"] & ~masks["far"] & ~masks["old"]).sum()), "of other operators")]
    return ", ".join(f"{n} samples {what}" for n, what in parts if n)
