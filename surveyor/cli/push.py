"""``surveyor push``: copy a village GeoPackage into the shared PostGIS database."""

from __future__ import annotations

import json

import click

from surveyor.cli.options import area_option, db_option, json_option
from surveyor.cli.texts import _


@click.command(name="push")
@click.argument("source_db", metavar="SOURCE_DB")
@db_option
@area_option
@json_option
@click.pass_context
def command(ctx: click.Context, source_db, db, area, as_json) -> None:
    """Copy the village geodatabase SOURCE_DB (a .gpkg) into the shared PostGIS database --db.

    Every merge is copied with its provenance, samples, quarantined rows, neighbours, tracks and
    towers, and the village's areas. Pushing again adds nothing: merges already there are skipped
    and samples are deduplicated. --area copies only the samples inside that area.

    \b
    Examples:
      surveyor push survey.gpkg --db postgresql://lipursari@db.example.org/survey
      SURVEYOR_DB=postgresql://team@db.example.org/survey surveyor push survey.gpkg --area 33.07.05.2002
    """
    from surveyor.store.sync import push

    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    summary = push(source_db, db, area=area,
                   progress=None if (as_json or quiet) else lambda m: click.echo(m, err=True))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(_("{merges} merges pushed ({skipped} there already): {added} samples added, {duplicates} duplicates, "
                 "{quarantined} quarantined rows, {areas} areas.").format(**summary))
