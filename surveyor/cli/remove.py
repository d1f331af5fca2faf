"""``surveyor remove``: take merged data out again."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from surveyor.cli.options import db_option

if TYPE_CHECKING:
    from surveyor.ingest.remove import Removal


@click.command(name="remove")
@db_option
@click.option("--source", default=None, metavar="FILE", help="A merged source file (with all it brought).")
@click.option("--session", default=None, metavar="ID", help="All samples of one session.")
@click.option("--device", default=None, metavar="ID", help="All samples of one device.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def command(ctx: click.Context, db, source, session, device, yes) -> None:
    """Remove merged data: one source file, one session or one device.

    A removed source can be merged again later. Samples removed by session or device stay out
    until their source is merged again with --replace. Prints the rows removed per layer as JSON
    on stdout.
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
        shown_db = store.url  # a PostGIS URL comes back with its password masked
        removed = remove(store, source=source, session=session, device=device)
    click.echo(json.dumps(removed.to_dict()))
    if not (ctx.find_root().obj or {}).get("quiet", False):
        click.echo(removal_text(removed, shown_db), err=True)


def removal_text(r: Removal, db: str) -> str:
    """What was removed, for people (stdout carries it as JSON)."""
    rows = [(r.samples, "samples"), (r.quarantine, "quarantined rows"), (r.neighbours, "neighbour-cell rows"),
            (r.tracks, "GPS track points"), (r.towers, "towers")]
    parts = ", ".join(f"{n} {label}" for n, label in rows if n)
    merges = f" ({r.merges} merge{'s' if r.merges != 1 else ''})" if r.merges else ""
    return f"Removed {r.what}{merges} from {db}: {parts or 'nothing else'}."
