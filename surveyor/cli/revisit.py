"""``surveyor revisit``: cells with too little evidence and what each still needs."""

from __future__ import annotations

import click

from surveyor.cli.options import all_data_option, config_option, db_option, operator_option, survey_settings


@click.command(name="revisit")
@db_option
@operator_option()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "gpx"]), default="table",
              show_default=True, help="Output format (on stdout); gpx gives waypoints for a phone.")
@config_option
@all_data_option
def command(db: str, operator: str | None, fmt: str, config: str | None, all_data: bool) -> None:
    """List the insufficient cells and what each still needs (run `surveyor analyze` first).

    A cell is judged only with enough evidence (by default 5 effective samples from 2 sessions at
    least 4 h apart). With --format gpx the cell centres become waypoints, e.g.
    `surveyor revisit --format gpx > revisit.gpx`, to load in OsmAnd or Organic Maps.
    """
    from surveyor.outputs import zones as output
    from surveyor.store import open_store

    settings = survey_settings(db, config, all_data=all_data)
    with open_store(db) as store:
        cells = output.read_revisit(store, operator, settings)
    if fmt == "gpx":
        click.echo(output.to_gpx(cells), nl=False)
    elif fmt == "csv":
        click.echo(output.to_csv(cells), nl=False)
    elif len(cells) == 0:
        click.echo("No cells need a revisit" + (f" for {operator}" if operator else "") + ".", err=True)
    else:
        click.echo(output.revisit_table(cells), nl=False)
