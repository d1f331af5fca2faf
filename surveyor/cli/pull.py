"""``surveyor pull``: copy a village's data from the shared PostGIS database into a GeoPackage."""

from __future__ import annotations

import json

import click

from surveyor.cli.options import area_option, db_option, json_option
from surveyor.cli.texts import _


@click.command(name="pull")
@db_option
@click.option("--out", "out", required=True, metavar="FILE", help="GeoPackage to write (brought up to date "
              "when it is a surveyor geodatabase already).")
@area_option
@json_option
@click.pass_context
def command(ctx: click.Context, db, out, area, as_json) -> None:
    """Copy the shared PostGIS database --db (or one --area of it) into the GeoPackage --out.

    Merges are copied with their provenance, samples, quarantined rows, neighbours, tracks, towers
    and areas. Pulling again adds only what is new.

    \b
    Example:
      surveyor pull --db postgresql://lipursari@db.example.org/survey --out lipursari.gpkg --area 33.07.05.2002
    """
    from surveyor.store.sync import pull

    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    summary = pull(db, out, area=area, progress=None if (as_json or quiet) else lambda m: click.echo(m, err=True))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(_("{out}: {merges} merges pulled ({skipped} there already), {added} samples added, "
                 "{areas} areas.").format(out=out, **{k: summary[k] for k in ("merges", "skipped", "added", "areas")}))
