"""``surveyor analyze``: judge coverage per H3 cell and operator, find dead zones and site
suggestions, and write them back as layers (a thin layer over :func:`surveyor.analyse.analyze`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from surveyor.cli.options import (
    all_data_option,
    area_option,
    check_flags,
    config_option,
    db_option,
    json_option,
    open_survey,
    survey_settings,
)
from surveyor.cli.texts import _, language, ngettext

if TYPE_CHECKING:  # the analysis imports numpy and pandas: not at `--help` time
    from surveyor.analyse.summary import AnalysisSummary


def summary_text(summary: AnalysisSummary, db: str, *, next_steps: bool = True) -> str:
    """The short human summary printed after an analysis; ``next_steps`` adds where the layers
    went and which commands come next (not when the caller runs those itself, as demo does)."""
    from surveyor.i18n import format_number, format_percent, glossary

    lang = language()

    def n(v):
        return format_number(v, lang)

    labels = {"indoor": _("indoor"), "accuracy": _("GPS accuracy worse than the limit"),
              "unplaced": _("without a position"), "excluded": _("in exclusion zones"),
              "no_time": _("without a time"), "no_operator": _("without an operator")}
    parts = [f"{n(v)} {labels.get(k, k)}" for k, v in summary.left_out.items() if v]
    lines = [_("Analysed {read} samples at H3 resolution {resolution}: {used} used ({effective} effective signal "
               "samples, {tests} speed tests)").format(read=n(summary.samples_read), resolution=summary.resolution,
                                                       used=n(summary.samples_used),
                                                       effective=n(summary.effective_samples),
                                                       tests=n(summary.speed_tests))
             + ("; " + _("left out {what}").format(what=", ".join(parts)) if parts else "") + "."]
    if summary.unknown_accuracy_share:
        lines.append(_("GPS accuracy unknown for {share} of signal samples (kept).").format(
            share=format_percent(summary.unknown_accuracy_share, lang)))
    for op, k in summary.other_operators.items():
        lines.append(_("{n} samples of {operator} not analysed (add it to operators in survey.toml).").format(
            n=n(k), operator=op))
    for op, s in summary.operators.items():
        c = s.cells
        classes = ", ".join(f"{glossary.label(key, lang)} {n(c[key])}" for key in glossary.CLASS_KEYS if key in c)
        zones = ngettext("{n} dead zone", "{n} dead zones", s.dead_zones).format(n=n(s.dead_zones))
        sites = ngettext("{n} site suggestion", "{n} site suggestions", s.sites).format(n=n(s.sites))
        lines.append(_("{operator}: cells: {classes}; {zones} ({area} km2){ids}; {sites}.").format(
            operator=op, classes=classes, zones=zones, area=format_number(s.dead_area_km2, lang, 2),
            ids=(": " + ", ".join(s.zone_ids)) if s.zone_ids else "", sites=sites))
    if summary.outside_area_cells:
        lines.append(_("{n} surveyed cells lie outside the area boundary (kept, flagged).").format(
            n=n(summary.outside_area_cells)))
    if next_steps:
        lines.append(_("Layers cells, dead_zones, sites written to {db}. Next: `surveyor deadzones`, "
                       "`surveyor revisit`, `surveyor map`.").format(db=db))
    return "\n".join(lines) + "\n"


@click.command(name="analyze")
@db_option
@click.option("--resolution", type=int, default=None, metavar="N",
              help="H3 resolution of the cells, 5-12 (default: survey.toml's, 10 = cells of about 70 m).")
@area_option
@config_option
@json_option
@all_data_option
def command(db: str, resolution: int | None, area: str | None, config: str | None, as_json: bool,
            all_data: bool) -> None:
    """Judge coverage per H3 cell and operator; find dead zones and site suggestions.

    Writes the layers cells, dead_zones and sites into the geodatabase (replacing earlier ones;
    with --area only that area's rows) with the rules used. On a PostGIS database the samples are
    counted inside the server. Prints a short summary per operator, or JSON with --json.
    """
    from surveyor.analyse import analyze
    from surveyor.store.survey import remember

    check_flags(resolution=resolution)
    # The analysis writes into the database only: without settings of its own it uses the
    # defaults and records them, as merge does (outputs then find them in the database).
    settings = survey_settings(db, config, required=False, resolution=resolution, all_data=all_data)
    with open_survey(db) as store:
        remember(store, settings)
        summary = analyze(store, settings, area=area)
        # What the scope left out, counted over the village's samples (an area of a district's
        # database is not read into memory for a message).
        outside = (None if as_json or area is not None or settings.out_of_scope == "include"
                   else _outside_scope(store, settings))
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=1))
    else:
        click.echo(summary_text(summary, db), nl=False)
        if outside:
            click.echo(_("Left out as outside the survey's scope: {what} (--all-data includes them).").format(
                what=outside), err=True)


def _outside_scope(store, settings) -> str:
    """What the survey's scope left out of the analysis, in words ('' when nothing)."""
    from surveyor.geo.scope import scope_masks

    samples = store.read_samples(["time", "lat", "lon", "operator"])
    if not len(samples):
        return ""
    masks = scope_masks(samples, settings)
    far = int(masks["far"].sum())
    old = int((masks["old"] & ~masks["far"]).sum())
    other = int((masks["other_operator"] & ~masks["far"] & ~masks["old"]).sum())
    parts = [ngettext("{n} sample far from the area", "{n} samples far from the area", far).format(n=far)
             if far else "",
             ngettext("{n} sample outside the period", "{n} samples outside the period", old).format(n=old)
             if old else "",
             ngettext("{n} sample of other operators", "{n} samples of other operators", other).format(n=other)
             if other else ""]
    return ", ".join(p for p in parts if p)
