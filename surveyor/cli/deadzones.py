"""``surveyor deadzones``: the dead zones of the last analysis, with their evidence."""

from __future__ import annotations

import json

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


@click.command(name="deadzones")
@db_option
@operator_option()
@area_option
@click.option("--format", "fmt", type=choice(["table", "csv", "json", "geojson"]), default="table",
              show_default=True, help="Output format (on stdout).")
@lang_option
@config_option
@all_data_option
def command(db: str, operator: str | None, area: str | None, fmt: str, lang: str | None, config: str | None,
            all_data: bool) -> None:
    """List the dead zones with their evidence (run `surveyor analyze` first).

    Each zone: ID, operator, area, dusun, effective and raw samples, sessions, days, devices, share
    of samples with no usable 4G and its one-sided 95% bounds, and the walk to the nearest covered
    cell and to the nearest known tower of that operator.
    """
    from surveyor.analyse.district import rows_in_area
    from surveyor.outputs import zones as output

    settings = survey_settings(db, config, all_data=all_data, language=lang or language())
    with open_survey(db) as store:
        zones = output.read_zones(store, operator, settings)
        zones = rows_in_area(store, settings, zones, area)
    if fmt == "geojson":
        click.echo(output.to_geojson(zones), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(output.to_records(zones), indent=1, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(output.to_csv(zones), nl=False)
    elif len(zones) == 0:
        click.echo(_("No dead zones for {operator}.").format(operator=operator) if operator
                   else _("No dead zones."), err=True)
    else:
        click.echo(output.zones_table(zones, settings.language), nl=False)
