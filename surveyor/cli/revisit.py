"""``surveyor revisit``: cells with too little evidence and what each still needs."""

from __future__ import annotations

import click

from surveyor.cli.options import area_option, config_option, db_option, load_settings, operator_option


@click.command(name="revisit")
@db_option
@operator_option()
@area_option
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "gpx"]), default="table",
              show_default=True, help="Output format (on stdout); gpx gives waypoints for a phone.")
def command(db: str, operator: str | None, area: str | None, config: str | None, fmt: str) -> None:
    """List the insufficient cells and what each still needs (run `surveyor analyze` first).

    A cell is judged only with enough evidence (by default 5 effective samples from 2 sessions at
    least 4 h apart). With --format gpx the cell centres become waypoints, e.g.
    `surveyor revisit --format gpx > revisit.gpx`, to load in OsmAnd or Organic Maps.
    """
    from surveyor.analyse.district import rows_in_area
    from surveyor.outputs import zones as output
    from surveyor.store import open_store

    with open_store(db) as store:
        cells = output.read_revisit(store, operator)
        cells = rows_in_area(store, load_settings(config), cells, area)
    if fmt == "gpx":
        click.echo(output.to_gpx(cells), nl=False)
    elif fmt == "csv":
        click.echo(output.to_csv(cells), nl=False)
    elif len(cells) == 0:
        click.echo("No cells need a revisit" + (f" for {operator}" if operator else "") + ".", err=True)
    else:
        click.echo(output.revisit_table(cells), nl=False)
