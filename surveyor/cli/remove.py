"""``surveyor remove``: take merged data out again."""

from __future__ import annotations

import json

import click

from surveyor.cli.options import db_option


@click.command(name="remove")
@db_option
@click.option("--source", default=None, metavar="FILE", help="A merged source file (with all it brought).")
@click.option("--session", default=None, metavar="ID", help="All samples of one session.")
@click.option("--device", default=None, metavar="ID", help="All samples of one device.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def command(db, source, session, device, yes) -> None:
    """Remove merged data: one source file, one session or one device.

    A removed source can be merged again later. Samples removed by session or device stay out
    until their source is merged again with --replace.
    """
    from surveyor.ingest.remove import remove
    from surveyor.store import open_store

    chosen = [x for x in (source, session, device) if x is not None]
    if len(chosen) != 1:
        raise click.UsageError("Give exactly one of --source, --session or --device.")
    what = f"source {source}" if source else f"session {session}" if session else f"device {device}"
    if not yes and not click.confirm(f"Remove {what} from {db}?", err=True):
        raise click.Abort()
    with open_store(db) as store:
        removed = remove(store, source=source, session=session, device=device)
    click.echo(json.dumps(removed))
