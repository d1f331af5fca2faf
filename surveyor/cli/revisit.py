"""``surveyor revisit``: the places that need more evidence, as a walk."""

from __future__ import annotations

import click

from surveyor.cli.options import (
    all_data_option,
    area_option,
    choice,
    config_option,
    db_option,
    lang_option,
    open_survey,
    operator_option,
    survey_settings,
)
from surveyor.cli.texts import _, language


@click.command(name="revisit")
@db_option
@operator_option()
@click.option("--from", "start", default=None, metavar="DUSUN|LAT,LON",
              help="Where the walk starts: a dusun (its centre) or a point, latitude first "
                   "(default: the village office of the basemap, else the middle of the village).")
@click.option("--format", "fmt", type=choice(["table", "csv", "gpx"]), default="table",
              show_default=True, help="Output format (on stdout); gpx gives waypoints for a phone.")
@area_option
@lang_option
@config_option
@all_data_option
def command(db: str, operator: str | None, start: str | None, fmt: str, area: str | None, lang: str | None,
            config: str | None, all_data: bool) -> None:
    """List the places inside the village that need more checks, in a walking order.

    A place (a cell of about 70 m) is judged only with enough evidence (by default 5 effective
    samples from 2 visits at least 4 h apart). Each stop is named by its dusun and the nearest
    place of the basemap, with what each operator still needs, the walk from the stop before and
    the distance so far. With --format gpx the stops become numbered waypoints, e.g.
    `surveyor revisit --format gpx > revisit.gpx`, for OsmAnd, Organic Maps or `surveyor log --web
    --targets revisit.gpx`.

    \b
    Examples:
      surveyor revisit --from Krajan
      surveyor revisit --from -7.4371,109.8580 --operator Telkomsel --format gpx > walk.gpx
    """
    from surveyor.i18n import format_count, format_distance
    from surveyor.outputs import zones as output

    settings = survey_settings(db, config, all_data=all_data, language=lang or language())
    lang = settings.language
    with open_survey(db) as store:
        stops = output.revisit_tour(store, settings, operator, start=start, lang=lang, area=area)
    if fmt == "gpx":
        click.echo(output.tour_gpx(stops, lang, f"surveyor revisit: {settings.name}"), nl=False)
    elif fmt == "csv":
        click.echo(output.to_csv(stops), nl=False)
    elif len(stops) == 0:
        click.echo((_("No place inside the village needs a revisit for {operator}.").format(operator=operator)
                    if operator else _("No place inside the village needs a revisit.")), err=True)
    else:
        click.echo(output.tour_table(stops, lang), nl=False)
        click.echo(_("{stops}, {distance} in all.").format(
            stops=format_count(len(stops), "{n} place to revisit", "{n} places to revisit", lang),
            distance=format_distance(float(stops["total_m"].iloc[-1]), lang)), err=True)
