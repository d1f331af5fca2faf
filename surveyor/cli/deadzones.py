"""``surveyor deadzones``: the dead zones of the last analysis, with their evidence."""

from __future__ import annotations

import json

import click

from surveyor.cli.options import area_option, config_option, db_option, load_settings, operator_option


@click.command(name="deadzones")
@db_option
@operator_option()
@area_option
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "geojson"]), default="table",
              show_default=True, help="Output format (on stdout).")
def command(db: str, operator: str | None, area: str | None, config: str | None, fmt: str) -> None:
    """List the dead zones with their evidence (run `surveyor analyze` first).

    Each zone: ID, operator, area, dusun, effective and raw samples, sessions, days, devices, share
    of samples with no usable 4G and its one-sided 95% bounds, and the walk to the nearest covered
    cell and to the nearest known tower of that operator.
    """
    from surveyor.analyse.district import rows_in_area
    from surveyor.outputs import zones as output
    from surveyor.store import open_store

    with open_store(db) as store:
        zones = output.read_zones(store, operator)
        zones = rows_in_area(store, load_settings(config), zones, area)
    if fmt == "geojson":
        click.echo(output.to_geojson(zones), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(output.to_records(zones), indent=1, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(output.to_csv(zones), nl=False)
    elif len(zones) == 0:
        click.echo("No dead zones" + (f" for {operator}" if operator else "") + ".", err=True)
    else:
        click.echo(output.zones_table(zones), nl=False)
