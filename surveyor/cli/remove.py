"""``surveyor remove``: take merged data out again."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from surveyor.cli.options import db_option, json_option

if TYPE_CHECKING:
    from surveyor.ingest.remove import Removal


@click.command(name="remove")
@db_option
@click.option("--source", default=None, metavar="FILE|FOLDER",
              help="A merged source file (with all it brought), or every source merged from a folder.")
@click.option("--session", default=None, metavar="ID", help="All samples of one session.")
@click.option("--device", default=None, metavar="ID", help="All samples of one device.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@click.pass_context
def command(ctx: click.Context, db, source, session, device, yes, as_json) -> None:
    """Remove merged data: one source file (or a folder of them), one session or one device.

    `surveyor sources` lists what was merged, each with its remove command. A GeoPackage is copied
    into backups/ beside it first (the message says where). A removed source can be merged again
    later. Samples removed by session or device stay out until their source is merged again with
    --replace. Prints what was removed; --json prints the rows removed per layer as JSON.
    """
    from surveyor.ingest.remove import remove
    from surveyor.store import open_store

    chosen = [x for x in (source, session, device) if x is not None]
    if len(chosen) != 1:
        raise click.UsageError("Give exactly one of --source, --session or --device (see `surveyor sources`).")
    what = f"source {source}" if source else f"session {session}" if session else f"device {device}"
    if not yes and not click.confirm(f"Remove {what} from {db}? (a backup is kept)", err=True):
        click.echo("Nothing removed.", err=True)
        return
    with open_store(db) as store:
        shown_db = store.url  # a PostGIS URL comes back with its password masked
        removed = remove(store, source=source, session=session, device=device)
    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    if as_json:
        click.echo(json.dumps(dict(removed.to_dict(), backup=removed.backup)))
    else:
        click.echo(removal_text(removed, shown_db))
    if not quiet:
        click.echo(f"A copy of the database as it was is kept in {removed.backup}." if removed.backup else
                   "No backup was made (a shared PostGIS database: back it up with pg_dump).", err=True)


def removal_text(r: Removal, db: str) -> str:
    """What was removed, for people."""
    rows = [(r.samples, "samples"), (r.quarantine, "quarantined rows"), (r.neighbours, "neighbour-cell rows"),
            (r.tracks, "GPS track points"), (r.towers, "towers")]
    parts = ", ".join(f"{n} {label}" for n, label in rows if n)
    merges = f" ({r.merges} merge{'s' if r.merges != 1 else ''})" if r.merges else ""
    return f"Removed {r.what}{merges} from {db}: {parts or 'nothing else'}."
