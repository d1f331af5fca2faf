"""``surveyor compare``: two survey rounds, cell by cell (a thin layer over
:func:`surveyor.analyse.compare.compare_rounds` and :mod:`surveyor.render.compare`)."""

from __future__ import annotations

import json

import click

from surveyor.cli.options import (
    area_option,
    check_flags,
    config_option,
    db_option,
    json_option,
    lang_option,
    open_survey,
    output_path,
    overwrite_option,
    survey_settings,
)
from surveyor.cli.texts import _


@click.command(name="compare")
@db_option
@click.option("--before", "before", required=True, metavar="PERIOD|DB",
              help="The first round: a period of --db (2026-07-01..2026-07-31, days included) or a database.")
@click.option("--after", "after", required=True, metavar="PERIOD|DB",
              help="The second round: a period of --db or a database.")
@area_option
@click.option("--out", "out", default="reports/compare.pdf", show_default=True, metavar="PATH",
              help="The report section \"before and after\": .pdf or .html.")
@click.option("--map", "map_out", default="maps/compare.html", show_default=True, metavar="PATH",
              help="The map of the changes: one HTML file that works offline.")
@lang_option
@json_option
@overwrite_option
@config_option
def command(db: str, before: str, after: str, area: str | None, out: str, map_out: str, lang: str | None,
            as_json: bool, overwrite: bool, config: str | None) -> None:
    """Compare two survey rounds: per cell and operator improved, worsened, no change shown, or not
    enough evidence (Fisher's exact test on the rounds' shares of samples without usable 4G).

    \b
    Examples:
      surveyor compare --before 2026-07-01..2026-07-31 --after 2027-03-01..2027-03-31
      surveyor compare --before juli.gpkg --after maret.gpkg --out reports/compare.html
      surveyor compare --db postgresql://analyst@gis/survey --area 33.07.05.2002 \\
                       --before 2026-07-01..2026-07-31 --after 2027-03-01..2027-03-31
    """
    from contextlib import ExitStack

    from surveyor.analyse.compare import compare_rounds, is_period, parse_period
    from surveyor.render.compare import render_compare_map, render_compare_report
    from surveyor.store import open_store

    check_flags(language=lang)
    settings = survey_settings(db, config, language=lang)
    periods = {name: parse_period(v, settings.timezone) if is_period(v) else None
               for name, v in (("before", before), ("after", after))}
    with ExitStack() as stack:
        opened: dict[str, object] = {}

        def store_of(name: str, value: str):
            target = db if periods[name] is not None else value
            if target not in opened:
                # A round of --db is the survey's own database (refused with what to do when there
                # is none); a round given as a database is opened as named.
                opened[target] = stack.enter_context(open_survey(target) if target == db else open_store(target))
            return opened[target]

        comparison = compare_rounds(store_of("before", before), store_of("after", after), settings,
                                    before_period=periods["before"], after_period=periods["after"], area=area)
    written = []
    with output_path(out, overwrite) as path:
        written.append(str(render_compare_report(comparison, settings, path, lang=settings.language)))
    with output_path(map_out, overwrite) as path:
        written.append(str(render_compare_map(comparison, settings, path, lang=settings.language)))
    if as_json:
        click.echo(json.dumps(dict(comparison.to_dict(), outputs=written), indent=1, ensure_ascii=False))
    else:
        for op, counts in comparison.counts().items():
            click.echo(_("{operator}: {improved} improved, {worsened} worsened, {unchanged} no change shown, "
                         "{not_enough} not enough evidence.").format(
                operator=op, improved=counts["improved"], worsened=counts["worsened"],
                unchanged=counts["unchanged"], not_enough=counts["not_enough_evidence"]), err=True)
        for name in written:
            click.echo(name)
